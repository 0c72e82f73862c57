// app/check: `tern check [--repair]`: verifies the data directory (tern.db, the outbox's queue files,
// every mailslot's index against its files) and reports. Exit 0 when healthy.
// --repair quarantines damaged queue files, removes temp files of a crash and rebuilds mailslot
// indexes; it refuses to run while `tern serve` holds the data directory (the server does the same
// repairs itself at start).
#pragma once
#include "config/config.hpp"

namespace tern::app {
int run_check(const config::Config& cfg, bool repair, bool json);
}
