#include "http/reader.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

namespace tern::http {
namespace beast_http = boost::beast::http;

struct RequestReader::Parser {
  beast_http::request_parser<beast_http::string_body> p;
};

RequestReader::RequestReader(ReaderLimits limits) : limits_(limits) { reset(); }
RequestReader::~RequestReader() = default;

void RequestReader::reset() {
  parser_ = std::make_unique<Parser>();
  parser_->p.header_limit(static_cast<std::uint32_t>(limits_.header));
  parser_->p.body_limit(limits_.body);
  parser_->p.eager(true);
  started_ = false;
}

RequestReader::State RequestReader::feed(std::string& in) {
  if (error_status_) return State::error;
  auto& p = parser_->p;
  while (!in.empty() && !p.is_done()) {
    started_ = true;
    boost::system::error_code ec;
    auto used = p.put(boost::asio::buffer(in.data(), in.size()), ec);
    in.erase(0, used);
    if (ec == beast_http::error::need_more) {
      // The header is incomplete: Beast consumes none of it until it is whole, and checks the limit
      // itself; a body part was consumed (eager) and more may follow.
      if (used == 0) return State::need_more;
      continue;
    }
    if (ec == beast_http::error::header_limit) {
      error_status_ = status::header_fields_too_large;
      error_text_ = "the request's header is too large";
    } else if (ec == beast_http::error::body_limit) {
      error_status_ = status::payload_too_large;
      error_text_ = "the request's body is too large";
    } else if (ec) {
      error_status_ = status::bad_request;
      error_text_ = "malformed request: " + ec.message();
    }
    if (error_status_) return State::error;
  }
  return p.is_done() ? State::done : State::need_more;
}

Request RequestReader::take() {
  auto msg = parser_->p.release();
  Request r;
  r.method = std::string(msg.method_string());
  r.target = std::string(msg.target());
  for (auto& f : msg) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  r.keep_alive = msg.keep_alive();
  r.body = std::move(msg.body());
  reset();
  return r;
}

}  // namespace tern::http
