#include "spool/dsn.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"

namespace tern::spool {
namespace {

std::string_view action_name(DsnAction a) {
  switch (a) {
    case DsnAction::failed: return "failed";
    case DsnAction::delayed: return "delayed";
    case DsnAction::delivered: return "delivered";
    case DsnAction::relayed: return "relayed";
  }
  return "failed";
}

// The header block of a message (up to and including the empty line), or all of it.
std::string_view header_of(std::string_view msg) {
  auto end = msg.find("\r\n\r\n");
  return end == std::string_view::npos ? msg : msg.substr(0, end + 2);
}

bool is_8bit(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return true;
  return false;
}

}  // namespace

bool notify_wants(std::string_view notify, DsnAction action) {
  if (notify.empty()) return action == DsnAction::failed || action == DsnAction::delayed;
  auto upper = to_upper_ascii(notify);
  if (upper == "NEVER") return false;
  std::string_view want = action == DsnAction::failed    ? "FAILURE"
                          : action == DsnAction::delayed ? "DELAY"
                                                         : "SUCCESS";
  for (auto item : split(upper, ','))
    if (trim(item) == want) return true;
  return false;
}

std::string status_of(int code, std::string_view enhanced) {
  if (!enhanced.empty()) return std::string(enhanced);
  if (code >= 500) return "5.0.0";
  if (code >= 400 || code == 0) return "4.0.0";
  return "2.0.0";
}

std::string build_dsn(const DsnInput& in) {
  auto boundary = fmt::format("=_tern_{}", make_unique_id());
  bool any_failed = false, any_delayed = false, any_success = false;
  for (auto& r : in.recipients) {
    any_failed |= r.action == DsnAction::failed;
    any_delayed |= r.action == DsnAction::delayed;
    any_success |= r.action == DsnAction::delivered || r.action == DsnAction::relayed;
  }
  std::string subject = any_failed    ? "Undelivered Mail Returned to Sender"
                        : any_delayed ? "Delayed Mail (still being retried)"
                                      : "Successful Mail Delivery Report";
  std::string out;
  out += fmt::format("From: Mail Delivery System <MAILER-DAEMON@{}>\r\n", in.reporting_mta);
  out += fmt::format("To: <{}>\r\n", in.sender);
  out += fmt::format("Subject: {}\r\n", subject);
  out += fmt::format("Date: {}\r\n", rfc5322_date());
  out += fmt::format("Message-ID: <{}.dsn@{}>\r\n", make_unique_id(), in.reporting_mta);
  out += "Auto-Submitted: auto-replied\r\n";  // RFC 3834
  out += "MIME-Version: 1.0\r\n";
  out += fmt::format("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{}\"\r\n", boundary);
  out += "\r\nThis is a MIME-encapsulated message.\r\n\r\n";

  // 1. The human-readable part.
  out += fmt::format("--{}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", boundary);
  out += fmt::format("This is the mail system at host {}.\r\n\r\n", in.reporting_mta);
  if (any_failed) out += "Your message could not be delivered to one or more recipients.\r\n";
  if (any_delayed) out += "Your message has not been delivered yet; the mail system keeps trying.\r\n";
  if (any_success) out += "Your message was delivered to the following recipients.\r\n";
  out += "\r\n";
  for (auto& r : in.recipients) {
    out += fmt::format("<{}>: {}", r.address, action_name(r.action));
    if (!r.diagnostic.empty()) out += fmt::format(": {}", r.diagnostic);
    out += "\r\n";
  }

  // 2. message/delivery-status (RFC 3464 2.2 per-message fields, 2.3 per-recipient fields).
  out += fmt::format("\r\n--{}\r\nContent-Type: message/delivery-status\r\n\r\n", boundary);
  out += fmt::format("Reporting-MTA: dns; {}\r\n", in.reporting_mta);
  if (!in.envid.empty()) out += fmt::format("Original-Envelope-Id: {}\r\n", in.envid);
  out += fmt::format("Arrival-Date: {}\r\n", rfc5322_date(in.arrival));
  for (auto& r : in.recipients) {
    out += "\r\n";
    if (!r.orcpt.empty()) out += fmt::format("Original-Recipient: {}\r\n", r.orcpt);
    out += fmt::format("Final-Recipient: rfc822; {}\r\n", r.address);
    out += fmt::format("Action: {}\r\n", action_name(r.action));
    out += fmt::format("Status: {}\r\n", r.status);
    // RFC 3464 2.3.5: the host name only ("host[ip]:port" in the logs).
    if (!r.remote_mta.empty())
      out += fmt::format("Remote-MTA: dns; {}\r\n", std::string_view(r.remote_mta).substr(0, r.remote_mta.find('[')));
    if (!r.diagnostic.empty()) out += fmt::format("Diagnostic-Code: smtp; {}\r\n", r.diagnostic);
    out += fmt::format("Last-Attempt-Date: {}\r\n", rfc5322_date());
  }

  // 3. The original: whole for failures unless RET=HDRS; only its header in delay and success reports
  //    (RFC 3461 4.3 lets the MTA choose for those; the sender has the message already).
  bool full = any_failed && in.ret != "HDRS";
  auto part = full ? in.original : header_of(in.original);
  out += fmt::format("\r\n--{}\r\n", boundary);
  out += full ? "Content-Type: message/rfc822\r\n" : "Content-Type: text/rfc822-headers\r\n";
  if (is_8bit(part)) out += "Content-Transfer-Encoding: 8bit\r\n";
  out += "\r\n";
  out += part;
  if (!part.empty() && !std::string_view(part).ends_with("\r\n")) out += "\r\n";
  out += fmt::format("\r\n--{}--\r\n", boundary);
  return out;
}

}  // namespace tern::spool
