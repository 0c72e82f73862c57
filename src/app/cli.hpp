// app/cli: the command line of CONTRACT.md. Every command works whether or not `tern serve` runs on
// the same configuration (they share tern.db through SQLite's locking). Errors go to stderr with exit
// code 1, usage errors exit with 2; --json prints machine-readable output.
#pragma once

namespace tern::app {
int run_cli(int argc, char** argv);
}
