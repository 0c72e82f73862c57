// http/assets: the embedded files' table served under a prefix, their caching, and nothing else.
#include <gtest/gtest.h>

#include "http/assets.hpp"

namespace tern::http {
namespace {

const Asset table[] = {
    {"index.html", "text/html; charset=utf-8", "<p>hi</p>", false},
    {"app-0123456789ab.js", "text/javascript; charset=utf-8", "x()", true},
};

Request get(std::vector<std::string> path, std::string method = "GET") {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

std::string header(const Response& r, std::string_view name) {
  for (auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

TEST(Assets, IndexForThePrefixAndHashedNamesCachedForever) {
  for (auto path : {std::vector<std::string>{"admin"}, {"admin", "index.html"}}) {
    auto r = serve_asset(get(path), 1, table);
    EXPECT_EQ(r.status, status::ok);
    EXPECT_EQ(r.body, "<p>hi</p>");
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
    EXPECT_EQ(header(r, "Cache-Control"), "no-store");
  }
  auto js = serve_asset(get({"admin", "app-0123456789ab.js"}), 1, table);
  EXPECT_EQ(js.status, status::ok);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(header(js, "Cache-Control"), "public, max-age=31536000, immutable");
  // serialize() adds no second Cache-Control
  auto wire = serialize(js, true, true);
  EXPECT_EQ(wire.find("no-store"), std::string::npos);
  EXPECT_NE(wire.find("Cache-Control: public, max-age=31536000, immutable\r\n"), std::string::npos);
}

TEST(Assets, NothingOutsideTheTable) {
  for (auto path : {std::vector<std::string>{"admin", "app.js"}, {"admin", ".."}, {"admin", "..", "tern.toml"},
                    {"admin", "x", "index.html"}, {"admin", "/etc/passwd"}})
    EXPECT_EQ(serve_asset(get(path), 1, table).status, status::not_found);
  auto post = serve_asset(get({"admin"}, "POST"), 1, table);
  EXPECT_EQ(post.status, status::method_not_allowed);
  EXPECT_EQ(header(post, "Allow"), "GET, HEAD");
}

}  // namespace
}  // namespace tern::http
