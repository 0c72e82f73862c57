#include "base/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace tern::log {
void init(bool verbose) {
  auto logger = spdlog::stderr_color_mt("tern");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(verbose ? spdlog::level::debug : spdlog::level::info);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}
}  // namespace tern::log
