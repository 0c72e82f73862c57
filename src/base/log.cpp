#include "base/log.hpp"

#include <chrono>

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "base/log_ring.hpp"

namespace tern::log {
namespace {

// Feeds log::ring() (base/log_ring), which locks for itself: no sink mutex.
class RingSink : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    Level level = msg.level >= spdlog::level::err    ? Level::error
                  : msg.level == spdlog::level::warn ? Level::warn
                  : msg.level == spdlog::level::info ? Level::info
                                                     : Level::debug;
    auto time = std::chrono::duration_cast<std::chrono::seconds>(msg.time.time_since_epoch()).count();
    ring().add(level, time, std::string_view(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}
};

}  // namespace

void init(std::string_view level) {
  spdlog::drop("tern");  // init may run twice (the CLI first, then `serve` with the configured level)
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  console->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");  // ISO 8601 with the UTC offset
  auto logger = std::make_shared<spdlog::logger>("tern", spdlog::sinks_init_list{console, std::make_shared<RingSink>()});
  logger->set_level(level == "debug"  ? spdlog::level::debug
                    : level == "warn" ? spdlog::level::warn
                    : level == "error" ? spdlog::level::err
                                      : spdlog::level::info);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}
}  // namespace tern::log
