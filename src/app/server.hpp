// app/server: `tern serve`: wires configuration, directory, mailstore, spool and listeners together,
// runs the event loop on one thread per core, and handles SIGTERM/SIGINT (graceful stop) and SIGHUP
// (reload).
#pragma once
#include <filesystem>

namespace tern::app {

// Returns the process exit code.
int serve(const std::filesystem::path& config_file);

}  // namespace tern::app
