// Logging: spdlog to stderr, one logger for the whole program; every line is also kept in memory
// (base/log_ring) for the console's live log.
#pragma once
#include <string_view>

#include <spdlog/spdlog.h>

namespace tern::log {
// level: "debug", "info", "warn" or "error". May be called again to change it.
void init(std::string_view level);
using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::warn;
}  // namespace tern::log
