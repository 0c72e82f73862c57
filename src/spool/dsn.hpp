// spool/dsn: delivery status notifications (RFC 3464 multipart/report, RFC 3461 parameters).
//
// Pure: builds the message; the spool decides when one is due and queues it with the null sender
// (so a DSN can never cause another DSN: RFC 3461 6.2, RFC 5321 6.1), and never for a null sender.
#pragma once
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace tern::spool {

enum class DsnAction { failed, delayed, delivered, relayed };

struct DsnRecipient {
  std::string address;     // the recipient as queued
  std::string orcpt;       // RFC 3461 ORCPT ("rfc822;addr"), "" if none
  DsnAction action = DsnAction::failed;
  std::string status;      // RFC 3463 code: "5.1.1"
  std::string diagnostic;  // the remote reply ("550 5.1.1 no such user"), "" if none
  std::string remote_mta;  // the server that answered, "" if none
};

struct DsnInput {
  std::string reporting_mta;   // our host name
  std::string sender;          // the original envelope sender (the DSN's recipient)
  std::string envid;           // RFC 3461 ENVID, "" if none
  std::string ret;             // "FULL" | "HDRS" | "" (then: headers only for delays, full for failures)
  std::chrono::system_clock::time_point arrival;
  std::vector<DsnRecipient> recipients;
  std::string_view original;   // the original message (CRLF)
};

// Subject, human-readable part, message/delivery-status part and the original (or its header).
std::string build_dsn(const DsnInput& in);

// Whether the recipient's NOTIFY asks for this action. Absent NOTIFY: FAILURE and DELAY (RFC 3461 4.1).
bool notify_wants(std::string_view notify, DsnAction action);

// The RFC 3463 code of a reply ("550 5.1.1 ..." -> "5.1.1"), or a default from its class.
std::string status_of(int code, std::string_view enhanced);

}  // namespace tern::spool
