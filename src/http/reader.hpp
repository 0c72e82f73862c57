// http/reader: bytes in, requests out (DESIGN.md principle 4), on Boost.Beast's HTTP/1.1 parser. No
// sockets here: the session feeds what it read, and the reader says "need more", "a request", or "an
// error, answer with this status and close" (a request that broke the grammar or a limit cannot be
// resynchronised: where its body ends is unknown).
//
// Limits (named, as every parser's): the request line and headers together at most `header` octets
// (431 beyond, RFC 6585 5), the body at most `body` octets (413, known from Content-Length before a
// byte of it is read, or counted while a chunked body arrives).
#pragma once
#include <cstddef>
#include <memory>
#include <string>

#include "http/message.hpp"

namespace tern::http {

struct ReaderLimits {
  std::size_t header = 16 * 1024;
  std::size_t body = 1024 * 1024;
};

class RequestReader {
 public:
  enum class State { need_more, done, error };

  explicit RequestReader(ReaderLimits limits = {});
  ~RequestReader();

  // Parses what `in` holds and removes what was used from its front (octets after a complete request,
  // a pipelined next one, stay in `in`).
  State feed(std::string& in);
  // After done: the request (the reader then waits for the next one).
  Request take();
  // After error: the status to answer with (400, 413, 431) and why, for the log and the client.
  unsigned error_status() const { return error_status_; }
  const std::string& error_text() const { return error_text_; }
  // Octets of a request have been parsed (the session's "a request is under way" for its deadlines).
  bool started() const { return started_; }

 private:
  struct Parser;
  void reset();

  ReaderLimits limits_;
  std::unique_ptr<Parser> parser_;
  bool started_ = false;
  unsigned error_status_ = 0;
  std::string error_text_;
};

}  // namespace tern::http
