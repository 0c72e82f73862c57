// The fault-injection hook (see fault.hpp).
#include "base/fault.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <string>

namespace tern::fault {

namespace {

// Read once, during static initialisation (no fault point runs before main); never written again, so
// threads read it without a lock.
const std::string& name() {
  static const std::string n = [] {
    const char* v = std::getenv("TERN_FAULT");
    return std::string(v ? v : "");
  }();
  return n;
}

}  // namespace

namespace detail {

const bool armed = !name().empty();

bool matches(std::string_view point) { return point == name(); }

void kill_self(std::string_view point) {
  // One line on stderr (the server log) with write(2): unbuffered, so it is there before the kill,
  // and no logger lock that another thread could hold.
  std::string line = "fault injection: SIGKILL at ";
  line.append(point);
  line += '\n';
  auto written = ::write(STDERR_FILENO, line.data(), line.size());
  (void)written;  // nothing to do if stderr is gone: the kill is what matters
  std::raise(SIGKILL);
  std::abort();  // not reached: SIGKILL cannot be caught
}

}  // namespace detail

std::string_view armed_point() { return name(); }

}  // namespace tern::fault
