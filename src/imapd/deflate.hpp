// imapd/deflate: COMPRESS=DEFLATE (RFC 4978): raw deflate both ways (zlib, window bits -15), a sync
// flush after each burst of output so the client can read every response at once.
#pragma once
#include <zlib.h>

#include <string>
#include <string_view>

#include "imapd/session.hpp"

namespace tern::imapd {

struct Session::Deflate {
  z_stream in{};
  z_stream out{};
  std::string raw;  // compressed bytes read but not yet inflated
  Deflate() {
    inflateInit2(&in, -15);
    deflateInit2(&out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  }
  ~Deflate() {
    inflateEnd(&in);
    deflateEnd(&out);
  }
  // false: the client's stream is not valid deflate data.
  bool inflate_into(std::string& plain) {
    char buf[16384];
    in.next_in = reinterpret_cast<Bytef*>(raw.data());
    in.avail_in = static_cast<uInt>(raw.size());
    while (in.avail_in > 0) {
      in.next_out = reinterpret_cast<Bytef*>(buf);
      in.avail_out = sizeof buf;
      int rc = ::inflate(&in, Z_SYNC_FLUSH);
      if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) return false;
      plain.append(buf, sizeof buf - in.avail_out);
      if (rc == Z_BUF_ERROR || (in.avail_out != 0 && in.avail_in == 0)) break;
    }
    raw.erase(0, raw.size() - in.avail_in);
    return true;
  }
  std::string compress(std::string_view plain) {
    std::string outbuf;
    char buf[16384];
    out.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
    out.avail_in = static_cast<uInt>(plain.size());
    do {
      out.next_out = reinterpret_cast<Bytef*>(buf);
      out.avail_out = sizeof buf;
      ::deflate(&out, Z_SYNC_FLUSH);
      outbuf.append(buf, sizeof buf - out.avail_out);
    } while (out.avail_out == 0);
    return outbuf;
  }
};

}  // namespace tern::imapd
