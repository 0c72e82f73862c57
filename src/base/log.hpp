// Logging: spdlog to stderr, one logger for the whole program.
#pragma once
#include <spdlog/spdlog.h>

namespace tern::log {
void init(bool verbose);
using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::warn;
}  // namespace tern::log
