#include "spool/queue_file.hpp"

#include <chrono>

#include <fmt/format.h>

#include "base/checksum.hpp"
#include "base/strings.hpp"

namespace tern::spool {
namespace {

constexpr std::string_view keywords[] = {"FROM", "RCPT", "DONE", "FAIL", "NOTIFY", "ORCPT", "ENVID", "RET",
                                         "BODY", "SMTPUTF8", "AUTH", "ARRIVED", "CLIENT", "SIZE", "CHECKSUM",
                                         "JUNK", "QUARANTINE"};

// "KEYWORD: value" with a known keyword -> keyword, value; else nullopt (the envelope has ended).
std::optional<std::pair<std::string_view, std::string_view>> envelope_line(std::string_view line) {
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto kw = line.substr(0, colon);
  for (auto k : keywords) {
    if (kw == k) return std::make_pair(kw, trim(line.substr(colon + 1)));
  }
  return std::nullopt;
}

// ARRIVED: becomes a std::chrono::system_clock time (the delay, the expiry, the DSN's Arrival-Date),
// nanoseconds in 64 bits with libstdc++: a later value would overflow there (and one past 2^63 would
// not even be written back as read, the field being signed). 9223372036 is 2262-04-11.
constexpr std::uint64_t max_arrived = 9'223'372'036;
static_assert(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::duration::max()).count() >=
              static_cast<std::int64_t>(max_arrived));

bool plausible_address(std::string_view a) {
  if (a.empty() || a.size() > 320) return false;
  for (unsigned char c : a)
    if (c <= ' ' || c == '<' || c == '>' || c == 0x7f) return false;
  return true;
}

// Envelope addresses may be written "<a@b>" by hand; store them bare.
std::string_view strip_brackets(std::string_view a) {
  if (a.size() >= 2 && a.front() == '<' && a.back() == '>') return a.substr(1, a.size() - 2);
  return a;
}

}  // namespace

std::string_view keyword(RcptState s) {
  switch (s) {
    case RcptState::done: return "DONE:";
    case RcptState::failed: return "FAIL:";
    default: return "RCPT:";
  }
}

std::string format(Envelope& env, std::string_view message) {
  std::string out;
  out.reserve(message.size() + 256 + env.recipients.size() * 64);
  out += "FROM: " + env.from + "\r\n";
  // SIZE right after FROM: a file cut anywhere after this line no longer matches it, and one cut before
  // it has no recipient; either way it is refused (with SIZE last, a cut in the envelope went unseen).
  out += fmt::format("SIZE: {}\r\n", message.size());
  out += fmt::format("CHECKSUM: {}\r\n", checksum_text(crc32_of(message)));
  for (auto& r : env.recipients) {
    r.line_offset = out.size();
    out += keyword(r.state);
    out += " " + r.address + "\r\n";
    if (!r.notify.empty()) out += "NOTIFY: " + r.notify + "\r\n";
    if (!r.orcpt.empty()) out += "ORCPT: " + r.orcpt + "\r\n";
  }
  if (!env.envid.empty()) out += "ENVID: " + env.envid + "\r\n";
  if (!env.ret.empty()) out += "RET: " + env.ret + "\r\n";
  if (!env.body.empty()) out += "BODY: " + env.body + "\r\n";
  if (env.smtputf8) out += "SMTPUTF8: yes\r\n";
  if (!env.auth.empty()) out += "AUTH: " + env.auth + "\r\n";
  if (!env.client.empty()) out += "CLIENT: " + env.client + "\r\n";
  if (!env.junk.empty()) out += "JUNK: " + env.junk + "\r\n";
  if (!env.quarantine.empty()) out += "QUARANTINE: " + env.quarantine + "\r\n";
  out += fmt::format("ARRIVED: {}\r\n", env.arrived);
  out += message;
  return out;
}

Result<QueueFile> parse(std::string_view data) {
  QueueFile q;
  auto& env = q.envelope;
  std::size_t pos = 0;
  bool have_from = false;
  std::optional<std::uint64_t> size;
  std::optional<std::uint32_t> checksum;
  std::size_t line_no = 0;
  while (pos < data.size()) {
    auto eol = data.find('\n', pos);
    if (eol == std::string_view::npos) break;  // an envelope line always ends with a line end
    auto line = data.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto el = envelope_line(line);
    if (!el) break;
    ++line_no;
    auto [kw, value] = *el;
    if (line_no == 1 && kw != "FROM") return Error{"the first line is not FROM:"};
    if (kw == "FROM") {
      if (have_from) return Error{fmt::format("line {}: a second FROM:", line_no)};
      have_from = true;
      value = strip_brackets(value);
      if (!value.empty() && !plausible_address(value)) return Error{fmt::format("line {}: bad sender address", line_no)};
      env.from = std::string(value);
    } else if (kw == "RCPT" || kw == "DONE" || kw == "FAIL") {
      value = strip_brackets(value);
      if (!plausible_address(value)) return Error{fmt::format("line {}: bad recipient address", line_no)};
      Recipient r;
      r.address = std::string(value);
      r.state = kw == "RCPT" ? RcptState::pending : kw == "DONE" ? RcptState::done : RcptState::failed;
      r.line_offset = pos;
      env.recipients.push_back(std::move(r));
    } else if (kw == "NOTIFY" || kw == "ORCPT") {
      if (env.recipients.empty()) return Error{fmt::format("line {}: {} before any recipient", line_no, kw)};
      (kw == "NOTIFY" ? env.recipients.back().notify : env.recipients.back().orcpt) = std::string(value);
    } else if (kw == "ENVID") {
      env.envid = std::string(value);
    } else if (kw == "RET") {
      env.ret = std::string(value);
    } else if (kw == "BODY") {
      env.body = std::string(value);
    } else if (kw == "SMTPUTF8") {
      env.smtputf8 = value == "yes";
    } else if (kw == "AUTH") {
      env.auth = std::string(value);
    } else if (kw == "CLIENT") {
      env.client = std::string(value);
    } else if (kw == "JUNK") {
      env.junk = std::string(value);
    } else if (kw == "QUARANTINE") {
      env.quarantine = std::string(value);
    } else if (kw == "ARRIVED") {
      auto v = parse_u64(value);
      if (!v) return Error{fmt::format("line {}: bad ARRIVED: value", line_no)};
      if (*v > max_arrived) return Error{fmt::format("line {}: bad ARRIVED: value (past the year 2262)", line_no)};
      env.arrived = static_cast<std::int64_t>(*v);
    } else if (kw == "SIZE") {
      size = parse_u64(value);
      if (!size) return Error{fmt::format("line {}: bad SIZE: value", line_no)};
    } else if (kw == "CHECKSUM") {
      checksum = parse_checksum(value);
      if (!checksum) return Error{fmt::format("line {}: bad CHECKSUM: value (expected crc32: and 8 hex digits)", line_no)};
    }
    pos = eol + 1;
  }
  if (!have_from) return Error{"no FROM: line (not a queue file)"};
  if (env.recipients.empty()) return Error{"no RCPT: line"};
  q.message_offset = pos;
  auto message_size = data.size() - pos;
  if (size && *size != message_size)
    return Error{fmt::format("truncated or damaged: SIZE: says {} octets, the file holds {}", *size, message_size)};
  if (message_size == 0) return Error{"the message after the envelope is empty"};
  if (checksum) {
    auto actual = crc32_of(data.substr(pos));
    if (actual != *checksum)
      return Error{fmt::format("damaged: CHECKSUM: says {}, the message's is {}", checksum_text(*checksum),
                               checksum_text(actual))};
  }
  return q;
}

}  // namespace tern::spool
