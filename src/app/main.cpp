// tern: one program for the whole mail system. See README.md and ../shared/CONTRACT.md.
#include "app/cli.hpp"

int main(int argc, char** argv) { return tern::app::run_cli(argc, argv); }
