// base/fault: fault injection for crash tests. With the environment variable TERN_FAULT set to a point's
// name, the process kills itself with SIGKILL when execution reaches that point, exactly as a power cut
// or an OOM kill would stop it there (no destructors, no flush, no atexit). Crash tests start `tern`
// with it, then restart it without, and check that nothing acknowledged is lost or duplicated.
//
// The variable is read once, before main; when it is unset a point costs one load of a global and a
// predictable branch. Point names are "<module>.<where>"; docs/hacking.md lists them.
#pragma once
#include <string_view>

namespace tern::fault {

namespace detail {
extern const bool armed;                   // TERN_FAULT was set (to anything non-empty)
[[noreturn]] void kill_self(std::string_view name);
bool matches(std::string_view name);
}  // namespace detail

// SIGKILL here when TERN_FAULT names this point.
inline void point(std::string_view name) {
  if (detail::armed) [[unlikely]] {
    if (detail::matches(name)) detail::kill_self(name);
  }
}

// The armed point's name ("" when none), for a warning at start-up.
std::string_view armed_point();

}  // namespace tern::fault
