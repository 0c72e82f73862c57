#include "http/assets.hpp"

#include <map>
#include <mutex>

#include "base/codec.hpp"
#include "base/strings.hpp"

namespace tern::http {

namespace {

// The gzip form of a static body, made once: keyed by where the body lives in the binary.
std::string_view gzipped(std::string_view body) {
  static std::mutex mu;
  static std::map<std::pair<const char*, std::size_t>, std::string> made;
  std::lock_guard lock(mu);
  auto key = std::make_pair(body.data(), body.size());
  auto it = made.find(key);
  if (it == made.end()) it = made.emplace(key, gzip(body)).first;
  return it->second;
}

}  // namespace

bool accepts_gzip(std::string_view accept_encoding) {
  bool gzip_seen = false, gzip_ok = false, star_ok = false;
  for (auto item : split(accept_encoding, ',')) {
    auto parts = split(item, ';');
    auto coding = trim(parts.empty() ? std::string_view() : parts[0]);
    bool ok = true;
    for (std::size_t i = 1; i < parts.size(); ++i) {
      auto p = trim(parts[i]);
      if (p.size() >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
        auto q = trim(p.substr(2));
        // q=0, 0.0, 0.00, 0.000: not acceptable (RFC 9110 12.4.2)
        ok = !(q.starts_with('0') && q.find_first_not_of("0.") == std::string_view::npos);
      }
    }
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
      gzip_seen = true;
      gzip_ok = ok;
    } else if (coding == "*") {
      star_ok = ok;
    }
  }
  return gzip_seen ? gzip_ok : star_ok;
}

bool compressible(std::string_view content_type) {
  auto media = trim(content_type.substr(0, content_type.find(';')));
  return media.starts_with("text/") || media == "application/javascript" || media == "application/json" ||
         media == "application/xml" || media == "application/yaml" || media.ends_with("+json") ||
         media.ends_with("+xml");
}

void send_static_text(const Request& req, Response& r, std::string_view body) {
  r.body.assign(body);
  if (!compressible(r.content_type)) return;
  r.headers.emplace_back("Vary", "Accept-Encoding");
  if (!accepts_gzip(req.header("Accept-Encoding"))) return;
  auto gz = gzipped(body);
  if (gz.size() >= body.size()) return;
  r.body.assign(gz);
  r.headers.emplace_back("Content-Encoding", "gzip");
}

Response serve_asset(const Request& req, std::size_t prefix_segments, std::span<const Asset> assets) {
  if (req.method != "GET" && req.method != "HEAD") {
    auto r = error_response(status::method_not_allowed, "method_not_allowed", "only GET and HEAD");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  std::string_view name = "index.html";
  if (req.path.size() == prefix_segments + 1)
    name = req.path.back();
  else if (req.path.size() != prefix_segments)
    return error_response(status::not_found, "not_found", "nothing here");
  for (auto& a : assets) {
    if (a.name != name) continue;
    Response r = text_response(status::ok, {}, std::string(a.content_type));
    send_static_text(req, r, a.body);
    r.headers.emplace_back("Cache-Control", a.immutable ? "public, max-age=31536000, immutable" : "no-store");
    return r;
  }
  return error_response(status::not_found, "not_found", "nothing here");
}

}  // namespace tern::http
