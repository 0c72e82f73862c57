// http: the request reader (Beast's parser behind Tern's limits), the route table, target parsing,
// the serialized response's headers, and the http listener's redirect.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <string>
#include <vector>

#include "http/message.hpp"
#include "http/reader.hpp"
#include "http/router.hpp"
#include "http/session.hpp"

namespace tern::http {
namespace {

using State = RequestReader::State;

// Feeds `input` cut at `cut`; returns the requests read and the final state.
std::pair<std::vector<Request>, State> read_all(const std::string& input, std::size_t cut, ReaderLimits limits = {}) {
  RequestReader reader(limits);
  std::vector<Request> out;
  std::string in;
  State st = State::need_more;
  for (auto part : {input.substr(0, cut), input.substr(cut)}) {
    in += part;
    while ((st = reader.feed(in)) == State::done) out.push_back(reader.take());
    if (st == State::error) break;
  }
  return {out, st};
}

TEST(RequestReader, SameRequestsAtEverySplit) {
  const std::string input =
      "POST /api/v1/domains?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n"
      "{\"name\":\"a.test\"}"
      "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    auto [reqs, st] = read_all(input, cut);
    ASSERT_EQ(st, State::need_more) << cut;
    ASSERT_EQ(reqs.size(), 2u) << cut;
    EXPECT_EQ(reqs[0].method, "POST");
    EXPECT_EQ(reqs[0].target, "/api/v1/domains?x=1");
    EXPECT_EQ(reqs[0].body, "{\"name\":\"a.test\"}");
    EXPECT_EQ(reqs[0].header("content-type"), "application/json");
    EXPECT_TRUE(reqs[0].keep_alive);
    EXPECT_EQ(reqs[1].method, "GET");
    EXPECT_EQ(reqs[1].body, "");
    EXPECT_FALSE(reqs[1].keep_alive);
  }
}

TEST(RequestReader, ChunkedBody) {
  auto [reqs, st] = read_all("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 40);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].body, "abcde");
}

TEST(RequestReader, HeaderLimitIs431) {
  std::string big = "GET / HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n";
  RequestReader reader;
  std::string in = big;
  EXPECT_EQ(reader.feed(in), State::error);
  EXPECT_EQ(reader.error_status(), status::header_fields_too_large);
  // incomplete, but already past the limit: refused without waiting for the end
  RequestReader again;
  std::string part = big.substr(0, 17000);
  EXPECT_EQ(again.feed(part), State::error);
  EXPECT_EQ(again.error_status(), status::header_fields_too_large);
  // just under it: fine
  std::string fits = "GET / HTTP/1.1\r\nX: " + std::string(16000, 'a') + "\r\n\r\n";
  RequestReader ok;
  EXPECT_EQ(ok.feed(fits), State::done);
}

TEST(RequestReader, BodyLimitIs413FromContentLengthOrChunks) {
  RequestReader reader(ReaderLimits{16 * 1024, 10});
  std::string in = "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n";
  EXPECT_EQ(reader.feed(in), State::error);
  EXPECT_EQ(reader.error_status(), status::payload_too_large);
  auto [reqs, st] = read_all("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nabcdef\r\n0\r\n\r\n",
                             50, ReaderLimits{16 * 1024, 10});
  EXPECT_EQ(st, State::error);
  EXPECT_TRUE(reqs.empty());
}

TEST(RequestReader, GarbageIs400AndStaysAnError) {
  RequestReader reader;
  std::string in = "HELLO\r\n\r\n";
  EXPECT_EQ(reader.feed(in), State::error);
  EXPECT_EQ(reader.error_status(), status::bad_request);
  std::string more = "GET / HTTP/1.1\r\n\r\n";
  EXPECT_EQ(reader.feed(more), State::error);
}

TEST(RequestReader, StartedOnlyOnceOctetsArrive) {
  RequestReader reader;
  std::string in;
  EXPECT_EQ(reader.feed(in), State::need_more);
  EXPECT_FALSE(reader.started());
  in = "GE";
  EXPECT_EQ(reader.feed(in), State::need_more);
  EXPECT_TRUE(reader.started());
}

TEST(Router, MatchesSegmentsAndParameters) {
  Router<int> r;
  r.add("GET", "/api/v1/queue", 1);
  r.add("POST", "/api/v1/queue/retry", 2);
  r.add("GET", "/api/v1/queue/{id}", 3);
  r.add("POST", "/api/v1/queue/{id}/{action}", 4);
  auto m = r.match("POST", {"api", "v1", "queue", "q1", "hold"});
  ASSERT_TRUE(m.handler);
  EXPECT_EQ(*m.handler, 4);
  EXPECT_EQ(m.params, (std::vector<std::string>{"q1", "hold"}));
  m = r.match("POST", {"api", "v1", "queue", "retry"});
  ASSERT_TRUE(m.handler);
  EXPECT_EQ(*m.handler, 2);
  m = r.match("HEAD", {"api", "v1", "queue", "retry"});  // HEAD is GET: the {id} route
  ASSERT_TRUE(m.handler);
  EXPECT_EQ(*m.handler, 3);
  EXPECT_EQ(m.params, (std::vector<std::string>{"retry"}));
}

TEST(Router, TellsUnknownPathFromUnknownMethod) {
  Router<int> r;
  r.add("GET", "/api/v1/users", 1);
  r.add("POST", "/api/v1/users", 2);
  r.add("DELETE", "/api/v1/users/{address}", 3);
  auto m = r.match("PUT", {"api", "v1", "users"});
  EXPECT_FALSE(m.handler);
  EXPECT_EQ(m.allow, "GET, HEAD, POST");
  m = r.match("GET", {"api", "v1", "users", "a@b", "c"});
  EXPECT_FALSE(m.handler);
  EXPECT_EQ(m.allow, "");
  m = r.match("DELETE", {"api", "v1", "users", ""});  // a parameter is never empty
  EXPECT_FALSE(m.handler);
}

TEST(Target, DecodesSegmentsAndQuery) {
  std::vector<std::string> path;
  std::map<std::string, std::string> query;
  ASSERT_TRUE(parse_target("/api/v1/users/a%40b.test/?purge=true&x=%20y", path, query));
  EXPECT_EQ(path, (std::vector<std::string>{"api", "v1", "users", "a@b.test"}));
  EXPECT_EQ(query.at("purge"), "true");
  EXPECT_EQ(query.at("x"), " y");
  ASSERT_TRUE(parse_target("/", path, query));
  EXPECT_TRUE(path.empty());
  // an encoded slash stays inside its segment: it can never reach another route or a file
  ASSERT_TRUE(parse_target("/api/v1/queue/..%2Ftern.db", path, query));
  EXPECT_EQ(path.back(), "../tern.db");
  EXPECT_FALSE(parse_target("http://x/", path, query));
  EXPECT_FALSE(parse_target("/a b", path, query));
}

TEST(Serialize, SecurityHeadersAlwaysHstsOnlyOverTls) {
  auto r = error_response(status::not_found, "not_found", "nothing here");
  auto plain = serialize(r, false, true);
  EXPECT_TRUE(plain.starts_with("HTTP/1.1 404 Not Found\r\n")) << plain;
  for (auto h : {"Content-Security-Policy: default-src 'self'; script-src 'self'; object-src 'none'; "
                 "frame-ancestors 'none'; base-uri 'none'\r\n",
                 "X-Frame-Options: DENY\r\n", "Referrer-Policy: no-referrer\r\n", "X-Content-Type-Options: nosniff\r\n",
                 "Connection: keep-alive\r\n"})
    EXPECT_NE(plain.find(h), std::string::npos) << h;
  EXPECT_EQ(plain.find("Strict-Transport-Security"), std::string::npos);
  EXPECT_TRUE(plain.ends_with("\r\n\r\n{\"error\":{\"code\":\"not_found\",\"message\":\"nothing here\"}}\n")) << plain;
  auto tls = serialize(r, true, false, true);
  EXPECT_NE(tls.find("Strict-Transport-Security: max-age=31536000\r\n"), std::string::npos);
  EXPECT_NE(tls.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(tls.ends_with("\r\n\r\n")) << tls;  // HEAD: no body, the length of the GET's
  EXPECT_NE(tls.find(fmt::format("Content-Length: {}\r\n", r.body.size())), std::string::npos);
}

TEST(Site, RedirectKeepsTargetAndChecksHost) {
  Services svc;
  auto cfg = std::make_shared<config::Config>();
  cfg->hostname = "mx.example.test";
  cfg->listen["https"] = {config::Endpoint{"127.0.0.1", 8443}};
  svc.config = cfg;
  Site site(ListenerKind::http, svc);
  Request req;
  req.target = "/a?b=c";
  req.headers = {{"Host", "mail.example.test:8080"}};
  EXPECT_EQ(site.redirect(req).headers.at(0).second, "https://mail.example.test:8443/a?b=c");
  req.headers = {{"Host", "[::1]:8080"}};
  EXPECT_EQ(site.redirect(req).headers.at(0).second, "https://[::1]:8443/a?b=c");
  req.headers = {{"Host", "x\"y"}};
  EXPECT_EQ(site.redirect(req).headers.at(0).second, "https://mx.example.test:8443/a?b=c");
  cfg->listen["https"] = {config::Endpoint{"0.0.0.0", 443}};
  req.headers = {};
  EXPECT_EQ(site.redirect(req).headers.at(0).second, "https://mx.example.test/a?b=c");
}

}  // namespace
}  // namespace tern::http
