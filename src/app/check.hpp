// app/check: `tern check [--repair]`: verifies the data directory (tern.db, the outbox's queue files,
// every mailslot's index against its files) and reports. Exit 0 when healthy.
// --repair quarantines damaged queue files, removes temp files of a crash and rebuilds mailslot
// indexes; it refuses to run while `tern serve` holds the data directory (the server does the same
// repairs itself at start).
#pragma once
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "config/config.hpp"

namespace tern::app {
int run_check(const config::Config& cfg, bool repair, bool json);

// What `tern check` finds: problems make it fail; notes do not. in_server: called by the running
// server itself (POST /api/v1/check), which then counts as running: temp files are writes in progress
// and repair is refused (in_use), since the server repairs at start.
struct CheckOutcome {
  std::vector<std::string> problems, notes;
  std::size_t queued = 0, held = 0, lost = 0, mailslots = 0, messages = 0;
};
Result<CheckOutcome> check_data_dir(const config::Config& cfg, bool repair, bool in_server);

// The mail a data directory holds: mailslot folders and queued messages.
struct MailHeld {
  std::size_t mailslots = 0, queued = 0;
  bool any() const { return mailslots + queued > 0; }
};
MailHeld mail_held(const std::filesystem::path& data_dir);

// Why the server or a command cannot go on without the directory database, and what to do: a data
// directory that holds mail but no usable tern.db must never be served (its local mail would be
// routed as remote and bounced); one without mail needs `tern init`.
std::string directory_refusal(const config::Config& cfg, const Error& e, const std::string& config_file);
}
