// tern: one program for the whole mail system. See README.md and ../shared/CONTRACT.md.
#include "app/cli.hpp"
#include "net/memory.hpp"

int main(int argc, char** argv) {
  tern::net::limit_allocator_caches();  // before any thread: see net/memory.hpp
  return tern::app::run_cli(argc, argv);
}
