// libFuzzer target for smtp/proto.
//
// The input is a whole client side of an SMTP session. It is replayed through a small session model
// (CommandReader; after DATA a DataReader; after BDAT a BdatReader; MAIL, RCPT and BDAT arguments
// parsed) three times: all at once, one byte at a time, and in pieces of sizes drawn from a generator
// seeded by the input. The three transcripts must be equal. Along the way it checks invariants:
// consumed never exceeds what was offered, a reader that is not done takes everything, a DATA
// message re-stuffed and re-read gives itself back, reply texts never carry a bare CR or LF, parsed
// mailboxes re-parse to themselves, xtext round-trips. Any violation aborts.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "smtp/proto/proto.hpp"

namespace {

using namespace tern::smtp::proto;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

// Piece sizes: 0 = everything at once, 1 = byte by byte, otherwise xorshift-drawn sizes 1..64.
class Splitter {
 public:
  Splitter(int mode, std::uint64_t seed) : mode_(mode), state_(seed | 1) {}
  std::size_t next(std::size_t left) {
    if (mode_ == 0) return left;
    if (mode_ == 1) return 1;
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return std::min<std::size_t>(left, 1 + state_ % 64);
  }

 private:
  int mode_;
  std::uint64_t state_;
};

void check_reply(const Reply& r) {
  std::string f = r.format();
  check(f.size() >= 5 && f.ends_with("\r\n"), "reply ends with CRLF");
  check(!has_bare_line_end(f), "reply has no bare CR or LF");
  check(r.code >= 400 && r.code <= 599, "error reply code is 4xx or 5xx");
}

std::string dot_stuff(std::string_view message) {
  std::string out;
  bool line_start = true;
  for (char c : message) {
    if (line_start && c == '.') out += '.';
    out += c;
    line_start = c == '\n';
  }
  return out;
}

// What a finished DATA read must satisfy. `raw` is every octet the reader consumed.
void check_data(const DataReader& dr, std::string_view raw, std::uint64_t max_size) {
  check(raw.size() >= 3 && raw.ends_with(".\r\n"), "DATA ends with .CRLF");
  check(raw.size() == 3 || raw.ends_with("\r\n.\r\n"), "DATA ends with CRLF.CRLF");
  check(dr.bare_line_end() == has_bare_line_end(raw), "bare line end matches the raw input");
  bool high = false;
  for (char c : raw) high = high || static_cast<unsigned char>(c) >= 0x80;
  check(dr.eight_bit() == high, "eight_bit matches the raw input");
  check(dr.size() >= dr.message().size(), "size counts at least what is stored");
  if (dr.too_big()) {
    check(dr.message().empty(), "a too-big message is not kept");
    return;
  }
  check(dr.size() == dr.message().size(), "size is the stored size");
  check(dr.size() <= max_size, "a kept message is within max_size");
  if (dr.bare_line_end()) return;
  const std::string& m = dr.message();
  check(!has_bare_line_end(m), "a clean message has no bare line end");
  check(m.empty() || m.ends_with("\r\n"), "a clean message ends with CRLF");
  std::string again = dot_stuff(m) + ".\r\n";
  DataReader reread(max_size);
  check(reread.feed(again) == again.size() && reread.done(), "re-stuffed message reads to its end");
  check(reread.message() == m, "re-stuffed message reads back the same");
}

void check_mailbox(const Mailbox& m, bool utf8) {
  if (m.domain.empty()) return;  // "<postmaster>"
  check(m.local.size() <= max_local_part && m.domain.size() <= max_domain, "mailbox within limits");
  auto again = parse_mailbox(m.str(), utf8);
  check(again.ok(), "a parsed mailbox parses again");
  check(again->str() == m.str(), "a parsed mailbox is already normalised");
}

void check_arg_parsers(std::string_view arg) {
  auto mail = parse_mail(arg);
  if (mail.value) {
    if (mail.value->sender) check_mailbox(*mail.value->sender, mail.value->smtputf8);
  } else {
    check_reply(mail.err.reply);
  }
  for (bool u : {false, true}) {
    auto rcpt = parse_rcpt(arg, u);
    if (rcpt.value) check_mailbox(rcpt.value->recipient, u);
    else check_reply(rcpt.err.reply);
  }
  auto bdat = parse_bdat(arg);
  if (!bdat.value) check_reply(bdat.err.reply);
  check(xtext_decode(xtext_encode(arg)) == std::string(arg), "xtext round trip");
  if (auto decoded = xtext_decode(arg)) check(xtext_decode(xtext_encode(*decoded)) == *decoded, "xtext re-encodes");
  check(!has_bare_line_end(Reply{250, "2.0.0", std::string(arg)}.format()), "reply text cannot inject");
}

// Replays the session; returns its transcript.
std::string run_session(std::string_view input, Splitter split, std::uint64_t max_size) {
  std::string transcript;
  CommandReader commands;
  std::optional<DataReader> data;
  std::string data_raw;
  std::string bdat_message;
  std::optional<BdatReader> bdat;
  bool bdat_last = false;
  bool utf8 = false;
  std::string buffer;
  std::size_t pos = 0;

  while (pos < input.size()) {
    std::size_t n = split.next(input.size() - pos);
    buffer.append(input.substr(pos, n));
    pos += n;
    while (!buffer.empty()) {
      if (data) {
        std::size_t c = data->feed(buffer);
        check(c <= buffer.size(), "DATA consumed within input");
        data_raw.append(buffer, 0, c);
        buffer.erase(0, c);
        if (!data->done()) {
          check(buffer.empty(), "DATA not done takes everything");
          break;
        }
        check_data(*data, data_raw, max_size);
        transcript += "data size=" + std::to_string(data->size()) + " big=" + std::to_string(data->too_big()) +
                      " bare=" + std::to_string(data->bare_line_end()) + " 8bit=" +
                      std::to_string(data->eight_bit()) + " [" + data->message() + "]\n";
        data.reset();
        data_raw.clear();
      } else if (bdat) {
        std::size_t c = bdat->feed(buffer);
        check(c <= buffer.size(), "BDAT consumed within input");
        buffer.erase(0, c);
        check(bdat_message.size() <= max_size, "BDAT message within max_size");
        if (!bdat->done()) {
          check(buffer.empty(), "BDAT not done takes everything");
          break;
        }
        transcript += "bdat big=" + std::to_string(bdat->too_big()) + "\n";
        bdat.reset();
        if (bdat_last) {
          transcript += "bdat message [" + bdat_message + "]\n";
          bdat_message.clear();
        }
      } else {
        std::size_t c = 0;
        CommandEvent ev = commands.feed(buffer, c);
        check(c > 0 && c <= buffer.size(), "command consumed within input, and progress");
        buffer.erase(0, c);
        if (ev.kind == CommandEvent::need_more) {
          check(buffer.empty(), "need_more takes everything");
          break;
        }
        if (ev.kind == CommandEvent::error) {
          check(ev.err.reply.code == 500, "command line errors are 500");
          check_reply(ev.err.reply);
          transcript += "error " + ev.err.reply.format();
          continue;
        }
        const Command& cmd = ev.cmd;
        check(cmd.verb_text.size() + cmd.arg.size() <= max_command_line, "command within the line limit");
        check(cmd.verb_text.find(' ') == std::string::npos, "verb has no space");
        transcript += "cmd " + cmd.verb_text + "|" + cmd.arg + "\n";
        switch (cmd.verb) {
          case Verb::mail: {
            auto r = parse_mail(cmd.arg);
            utf8 = r.value && r.value->smtputf8;
            transcript += r.value ? "mail ok\n" : r.err.reply.format();
            break;
          }
          case Verb::rcpt: {
            auto r = parse_rcpt(cmd.arg, utf8);
            transcript += r.value ? "rcpt " + r.value->recipient.str() + "\n" : r.err.reply.format();
            break;
          }
          case Verb::data:
            data.emplace(max_size);
            break;
          case Verb::bdat: {
            auto r = parse_bdat(cmd.arg);
            if (!r.value) {
              transcript += r.err.reply.format();
              break;
            }
            bdat_last = r.value->last;
            bdat.emplace(r.value->size, bdat_message, max_size);
            if (bdat->done()) {  // BDAT 0
              bdat.reset();
              transcript += "bdat empty\n";
            }
            break;
          }
          default:
            break;
        }
      }
    }
  }
  // Where the input stopped matters too: inside DATA, inside BDAT, or between commands.
  transcript += data ? "end in data\n" : bdat ? "end in bdat\n" : "end\n";
  return transcript;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(bytes), size);
  std::uint64_t h = fnv1a(input);
  std::uint64_t max_size = (h & 1) ? (1u << 20) : (h >> 1) % 200;

  std::string whole = run_session(input, Splitter(0, h), max_size);
  check(run_session(input, Splitter(1, h), max_size) == whole, "byte by byte gives the same transcript");
  check(run_session(input, Splitter(2, h), max_size) == whole, "random pieces give the same transcript");

  // The argument parsers on their own, on the first line and on the whole input.
  check_arg_parsers(input.substr(0, input.find('\n')));
  if (input.size() <= 2 * max_command_line) check_arg_parsers(input);

  // A DATA reader fed the raw input directly (not just after a DATA command).
  DataReader direct(max_size);
  std::size_t c = direct.feed(input);
  check(c <= input.size(), "DATA consumed within input");
  if (direct.done()) check_data(direct, input.substr(0, c), max_size);
  else check(c == input.size(), "DATA not done takes everything");
  return 0;
}
