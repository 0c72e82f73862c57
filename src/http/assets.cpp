#include "http/assets.hpp"

namespace tern::http {

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
    Response r = text_response(status::ok, std::string(a.body), std::string(a.content_type));
    r.headers.emplace_back("Cache-Control", a.immutable ? "public, max-age=31536000, immutable" : "no-store");
    return r;
  }
  return error_response(status::not_found, "not_found", "nothing here");
}

}  // namespace tern::http
