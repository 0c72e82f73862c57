// libFuzzer target for spool/queue_file: a file dropped into mail/pending/ is untrusted input, read by
// parse() (and every queue file of the outbox is read again by it at each start).
//
// The input is a whole file. When parse() accepts it, the result must be usable as the spool uses it:
// the message starts within the file and is not empty; there is at least one recipient; each
// recipient's line_offset points at its own keyword (RCPT:/DONE:/FAIL:, the 5 bytes patched in place)
// before the message; addresses are bare (no brackets, no white space, at most 320 octets); values are
// trimmed and carry no LF. Then what the spool writes from it must read back the same: format() of
// the envelope and message (as a queue file is written), and of the message with a Received field in
// front (as a pending file is stamped, spool/outbox.cpp stamp_pending), must parse to the same
// envelope and message, and that file minus its last octet must be refused (SIZE:). A refusal must
// say why. Any violation aborts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "spool/queue_file.hpp"

namespace {

using namespace tern::spool;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

void check_address(std::string_view a, bool may_be_empty) {
  if (a.empty()) {
    check(may_be_empty, "a recipient address is not empty");
    return;
  }
  check(a.size() <= 320, "an address is at most 320 octets");
  for (unsigned char c : a) check(c > ' ' && c != '<' && c != '>' && c != 0x7f, "an address is bare");
}

void check_value(std::string_view v) {
  check(v.find('\n') == std::string_view::npos, "an envelope value has no line end");
  check(v.empty() || (v.front() != ' ' && v.back() != ' ' && v.front() != '\t' && v.back() != '\t'),
        "an envelope value is trimmed");
}

void check_accepted(std::string_view data, const QueueFile& q) {
  const Envelope& env = q.envelope;
  check(q.message_offset < data.size(), "the message starts within the file and is not empty");
  check(!env.recipients.empty(), "at least one recipient");
  check_address(env.from, true);
  for (const auto& r : env.recipients) {
    check_address(r.address, false);
    check(r.line_offset + 5 <= q.message_offset, "a recipient line lies in the envelope");
    check(data.substr(r.line_offset, 5) == keyword(r.state), "line_offset points at the recipient's keyword");
    check_value(r.notify);
    check_value(r.orcpt);
  }
  for (auto* v : {&env.envid, &env.ret, &env.body, &env.auth, &env.client}) check_value(*v);
}

bool same_envelope(const Envelope& a, const Envelope& b) {
  if (a.from != b.from || a.envid != b.envid || a.ret != b.ret || a.body != b.body || a.auth != b.auth ||
      a.client != b.client || a.smtputf8 != b.smtputf8 || a.arrived != b.arrived ||
      a.recipients.size() != b.recipients.size())
    return false;
  for (std::size_t i = 0; i < a.recipients.size(); ++i) {
    const auto& x = a.recipients[i];
    const auto& y = b.recipients[i];
    if (x.address != y.address || x.state != y.state || x.notify != y.notify || x.orcpt != y.orcpt) return false;
  }
  return true;
}

// What the spool writes from an accepted file reads back the same.
void check_rewrite(const Envelope& parsed, std::string_view message) {
  Envelope env = parsed;
  std::string file = format(env, message);
  auto again = parse(file);
  if (!again) std::fprintf(stderr, "re-read: %s\n", again.error().message.c_str());
  check(again.ok(), "a formatted file parses");
  check(same_envelope(again->envelope, parsed), "a formatted file gives the same envelope");
  check(std::string_view(file).substr(again->message_offset) == message, "a formatted file gives the same message");
  for (std::size_t i = 0; i < env.recipients.size(); ++i)
    check(env.recipients[i].line_offset == again->envelope.recipients[i].line_offset,
          "format() and parse() agree on line offsets");
  check(!parse(std::string_view(file).substr(0, file.size() - 1)).ok(), "a cut file is refused");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  std::string_view data(reinterpret_cast<const char*>(bytes), size);
  auto q = parse(data);
  if (!q) {
    check(!q.error().message.empty(), "a refusal says why");
    return 0;
  }
  check_accepted(data, *q);
  auto message = data.substr(q->message_offset);
  check_rewrite(q->envelope, message);
  // A pending file without ARRIVED: is stamped: a Received field in front, the arrival time set.
  Envelope stamped = q->envelope;
  stamped.arrived = 1795872005;
  std::string received =
      "Received: by mx.example.test (Tern) via pending id x;\r\n\tFri, 1 Dec 2026 10:00:05 +0000\r\n";
  check_rewrite(stamped, received + std::string(message));
  return 0;
}
