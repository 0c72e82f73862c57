// http/assets: files embedded in the binary at build time (web/, bundled by esbuild and turned into a
// generated .cpp by web/embed.cmake) and served under a prefix: the console under /admin/.
//
// Caching (issue 15): an asset whose name carries its content's hash ("app-1a2b3c4d.js") never
// changes, so it is cached for a year as immutable; index.html, which names them, is `no-store`, so
// a new binary's console is loaded at once.
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

}  // namespace tern::http

namespace tern::web {
// The console's files (generated at build time into build/web/console_assets.cpp).
std::span<const http::Asset> console_assets();
}  // namespace tern::web
