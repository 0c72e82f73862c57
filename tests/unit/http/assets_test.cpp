// http/assets: the embedded files' table served under a prefix, their caching, and nothing else.
#include <gtest/gtest.h>

#include <zlib.h>

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

std::string gunzip(const std::string& gz) {
  z_stream z{};
  inflateInit2(&z, 15 + 16);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&z, Z_FINISH);
  out.resize(rc == Z_STREAM_END ? z.total_out : 0);
  inflateEnd(&z);
  return out;
}

TEST(Assets, AcceptEncoding) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("gzip, deflate, br"));
  EXPECT_TRUE(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_TRUE(accepts_gzip("x-gzip"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("deflate, br"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip; q=0.000, *"));  // named and refused: "*" does not bring it back
  EXPECT_FALSE(accepts_gzip("*;q=0"));
  EXPECT_FALSE(accepts_gzip("gzipx"));
}

TEST(Assets, TextGoesGzippedWhenAllowedAndDecompressesToTheSameBytes) {
  const std::string big(5000, 'a');
  const Asset t[] = {{"index.html", "text/html; charset=utf-8", big, false},
                     {"logo.png", "image/png", big, true}};
  auto req = get({"admin"});
  auto plain = serve_asset(req, 1, t);
  EXPECT_EQ(plain.body, big);
  EXPECT_EQ(header(plain, "Content-Encoding"), "");
  EXPECT_EQ(header(plain, "Vary"), "Accept-Encoding");
  req.headers.emplace_back("Accept-Encoding", "gzip, deflate");
  auto gz = serve_asset(req, 1, t);
  EXPECT_EQ(gz.status, status::ok);
  EXPECT_EQ(header(gz, "Content-Encoding"), "gzip");
  EXPECT_EQ(header(gz, "Vary"), "Accept-Encoding");
  EXPECT_LT(gz.body.size(), big.size() / 10);
  EXPECT_EQ(gunzip(gz.body), big);
  EXPECT_EQ(serve_asset(req, 1, t).body, gz.body);  // made once, the same each time
  auto png = serve_asset(get({"admin", "logo.png"}), 1, t);
  EXPECT_EQ(header(png, "Vary"), "");  // not text: never compressed
  EXPECT_TRUE(compressible("application/json"));
  EXPECT_TRUE(compressible("text/javascript; charset=utf-8"));
  EXPECT_FALSE(compressible("image/png"));
}

}  // namespace
}  // namespace tern::http
