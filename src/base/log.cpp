#include "base/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace tern::log {
void init(std::string_view level) {
  spdlog::drop("tern");  // init may run twice (the CLI first, then `serve` with the configured level)
  auto logger = spdlog::stderr_color_mt("tern");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");  // ISO 8601 with the UTC offset
  logger->set_level(level == "debug"  ? spdlog::level::debug
                    : level == "warn" ? spdlog::level::warn
                    : level == "error" ? spdlog::level::err
                                      : spdlog::level::info);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}
}  // namespace tern::log
