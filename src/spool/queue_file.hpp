// spool/queue_file: the queue file format of CONTRACT.md (Mailtraq's envelope, then the message).
//
//   FROM: sender@host            (nothing after "FROM:" for the null sender)
//   SIZE: 1234                   octets of the message after the envelope; detects truncation (second,
//                                so that a file cut anywhere is refused)
//   CHECKSUM: crc32:1a2b3c4d     CRC-32 of the same octets; detects damage at the same size (optional:
//                                files without it, older or written by hand, still load)
//   RCPT: recipient@host         one per recipient still to deliver
//   DONE: recipient@host         a delivered recipient: its RCPT line rewritten in place
//   FAIL: recipient@host         a recipient that failed for good (rewritten in place likewise)
//   NOTIFY: SUCCESS,FAILURE      RFC 3461 parameters of the recipient line just above
//   ORCPT: rfc822;addr
//   ENVID: / RET: / BODY: / SMTPUTF8: / AUTH: / ARRIVED: / CLIENT:   message-wide, Tern's own
//   JUNK: why                    the SMTP filters judged it junk: local mailboxes file it into Junk
//   QUARANTINE: 1733300000 why   the filters held it in the server's quarantine at that unix time
//                                (spool/quarantine); kept after a release as the message's history
//   <the RFC 5322 message>
//
// The envelope ends at the first line that is not "KEYWORD: ..." with a keyword above. Only FROM and at
// least one RCPT/DONE/FAIL are required (files written by hand or by Mailtraq). Line ends CRLF or LF.
// RCPT, DONE and FAIL have the same length, so marking a recipient is a 5-byte write in place.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace tern::spool {

enum class RcptState { pending, done, failed };

struct Recipient {
  std::string address;
  RcptState state = RcptState::pending;
  std::string notify;  // RFC 3461 NOTIFY, "" if none
  std::string orcpt;   // RFC 3461 ORCPT, "" if none
  std::size_t line_offset = 0;  // where its "RCPT:" keyword starts in the file (set by parse)
};

struct Envelope {
  std::string from;  // "" = null sender
  std::vector<Recipient> recipients;
  std::string envid, ret, body, auth, client;
  std::string junk;  // why the filters judged it junk ("dmarc: quarantine"); "" when not
  std::string quarantine;  // "<unix seconds> <why>" when the filters held it (spool/quarantine)
  bool smtputf8 = false;
  std::int64_t arrived = 0;  // unix seconds
};

struct QueueFile {
  Envelope envelope;
  std::size_t message_offset = 0;  // the message starts here in the file's bytes
};

// Serialises envelope + message (CRLF envelope lines). Sets each recipient's line_offset.
std::string format(Envelope& env, std::string_view message);
// Parses a queue or pending file; an Error says what is wrong (for the lost+found note).
Result<QueueFile> parse(std::string_view data);
// The 5 bytes that replace "RCPT:" for a state.
std::string_view keyword(RcptState s);

}  // namespace tern::spool
