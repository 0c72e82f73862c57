// http/assets: files embedded in the binary at build time (web/, bundled by esbuild and turned into a
// generated .cpp by web/embed.cmake) and served under a prefix: the console under /admin/.
//
// Caching (issue 15): an asset whose name carries its content's hash ("app-1a2b3c4d.js") never
// changes, so it is cached for a year as immutable; index.html, which names them, is `no-store`, so
// a new binary's console is loaded at once.
//
// Compression (issue 15): a text asset (HTML, JavaScript, CSS, JSON, XML, YAML) goes gzipped to a
// client whose Accept-Encoding allows gzip, with Content-Encoding: gzip; every text asset's answer
// says Vary: Accept-Encoding, so caches keep both forms apart. Each body is compressed once, at its
// first request, and kept for the life of the process (the bodies are the binary's own).
#pragma once
#include <span>
#include <string_view>

#include "http/message.hpp"

namespace tern::http {

struct Asset {
  std::string_view name;  // "index.html", "app-1a2b3c4d.js"
  std::string_view content_type;
  std::string_view body;
  bool immutable;  // the name holds the hash of the body
};

// GET or HEAD of PREFIX/NAME: the asset NAME; PREFIX and PREFIX/ give index.html. 404 for any other
// name (nothing is read from disk: no path can reach outside the table), 405 for other methods.
Response serve_asset(const Request& req, std::size_t prefix_segments, std::span<const Asset> assets);

// RFC 9110 12.5.3: true when the Accept-Encoding value accepts gzip (by name or "*", with q above 0).
bool accepts_gzip(std::string_view accept_encoding);
// Text worth compressing, by media type.
bool compressible(std::string_view content_type);
// Answers `body` (a static text of the binary, of `content_type`) compressed when the request allows
// it: Vary, and Content-Encoding when gzipped (only when that is smaller). For any static text
// served, such as the console's assets or an OpenAPI document.
void send_static_text(const Request& req, Response& r, std::string_view body);

}  // namespace tern::http

namespace tern::web {
// The console's files (generated at build time into build/web/console_assets.cpp).
std::span<const http::Asset> console_assets();
}  // namespace tern::web
