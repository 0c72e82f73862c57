// What every fuzz target does when one of its invariants fails: say which, and abort, so that
// libFuzzer (and the corpus replay under ctest) reports the input as a crash.
#pragma once
#include <cstdio>
#include <cstdlib>

namespace tern::fuzz {

inline void check_that(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace tern::fuzz
