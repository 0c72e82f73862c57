// smtp/proto: the message body receivers, DATA (RFC 5321 4.1.1.4, 4.5.2) and BDAT (RFC 3030).
//
// DataReader is a byte-driven state machine: every decision depends on one octet and the state, and
// nothing is decided on "the rest of this buffer", so any split of the input gives the same result.
// SMTP smuggling defence: the message ends only at CRLF "." CRLF; "\n.\n", "\r.\r", "\n.\r\n" and
// "\r\n.\n" are message content, and any bare CR or LF marks the message as one to refuse, so a
// receiver that would end the message elsewhere can never be handed a second, smuggled message.
// Memory is bounded by max_size: past it the reader keeps reading to the end but stores nothing. A line
// has no limit of its own: a long line is stored whole, as it came.
#include "smtp/proto/proto.hpp"

#include <algorithm>
#include <string>

namespace tern::smtp::proto {
namespace {

enum State : int {
  line_start,    // after CRLF, or at the start of the body
  mid_line,      // inside a line
  after_cr,      // a CR not yet known to be part of CRLF
  after_dot,     // a "." at the start of a line
  after_dot_cr,  // "." CR at the start of a line: the end, if an LF follows
};

}  // namespace

std::size_t DataReader::feed(std::string_view in) {
  if (done_) return 0;
  // Adds octets to the message: counted always, stored only while within max_size. Lines of any length
  // are kept as they came (see proto.hpp: no line limit).
  auto emit = [this](std::string_view s) {
    size_ += s.size();
    if (too_big_) return;
    if (size_ > max_size_) {
      too_big_ = true;
      std::string().swap(out_);  // the message will be refused: give its memory back now
      return;
    }
    out_.append(s);
  };
  auto bare = [&](char c) {  // a lone CR or LF: kept in the message, which must be refused
    bare_ = true;
    emit(std::string_view(&c, 1));
  };

  std::size_t i = 0;
  while (i < in.size()) {
    char c = in[i];
    switch (state_) {
      case line_start:
        if (c == '.') {
          state_ = after_dot;
          ++i;
        } else {
          state_ = mid_line;
        }
        break;
      case mid_line:
        if (c == '\r') {
          state_ = after_cr;
          ++i;
        } else if (c == '\n') {
          bare('\n');
          ++i;
        } else {
          // The common case: copy the run of octets up to the next CR or LF at once.
          std::size_t end = i;
          while (end < in.size() && in[end] != '\r' && in[end] != '\n') {
            if (static_cast<unsigned char>(in[end]) >= 0x80) eight_bit_ = true;
            ++end;
          }
          emit(in.substr(i, end - i));
          i = end;
        }
        break;
      case after_cr:
        if (c == '\n') {
          emit("\r\n");
          state_ = line_start;
          ++i;
        } else {
          bare('\r');  // the CR before c; c is looked at again
          state_ = c == '\r' ? after_cr : mid_line;
          if (c == '\r') ++i;
        }
        break;
      case after_dot:
        // RFC 5321 4.5.2: the leading dot of a line is removed. "." LF is not the end.
        if (c == '\r') {
          state_ = after_dot_cr;
          ++i;
        } else {
          state_ = mid_line;
        }
        break;
      case after_dot_cr:
        if (c == '\n') {
          done_ = true;
          return i + 1;  // pipelined bytes after ".\r\n" belong to the command reader
        }
        bare('\r');
        state_ = c == '\r' ? after_cr : mid_line;
        if (c == '\r') ++i;
        break;
    }
  }
  return i;
}

std::size_t BdatReader::feed(std::string_view in) {
  std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(in.size(), left_));
  left_ -= n;
  if (!too_big_) {
    std::uint64_t room = message_.size() >= max_size_ ? 0 : max_size_ - message_.size();
    if (n > room) {
      // Fill up to max_size, then store nothing more: a later chunk of this message cannot fit
      // either, so it reports too_big too.
      message_.append(in.substr(0, static_cast<std::size_t>(room)));
      too_big_ = true;
    } else {
      message_.append(in.substr(0, n));
    }
  }
  return n;
}

bool has_bare_line_end(std::string_view message) {
  for (std::size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '\r' && (i + 1 == message.size() || message[i + 1] != '\n')) return true;
    if (message[i] == '\n' && (i == 0 || message[i - 1] != '\r')) return true;
  }
  return false;
}

}  // namespace tern::smtp::proto
