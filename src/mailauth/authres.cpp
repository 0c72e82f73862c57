#include "mailauth/authres.hpp"

#include <algorithm>
#include <cctype>

#include "base/strings.hpp"

namespace tern::mailauth {

namespace {

bool token_char(unsigned char c) {
  // RFC 2045 5.1: any CHAR except SPACE, CTLs and tspecials; '@' and '.' are allowed in pvalue's
  // domain and local-part forms.
  if (c <= 0x20 || c >= 0x7f) return false;
  return std::string_view("()<>,;:\\\"/[]?=").find(static_cast<char>(c)) == std::string_view::npos;
}

std::string quoted(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\r' || c == '\n') continue;
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string pvalue(std::string_view v) {
  if (v.empty()) return "\"\"";
  for (unsigned char c : v)
    if (!token_char(c)) return quoted(v);
  return std::string(v);
}

std::string authentication_results(std::string_view authserv_id, const std::vector<MethodResult>& results) {
  std::string out = "Authentication-Results: " + std::string(authserv_id);
  if (results.empty()) return out + "; none\r\n";
  for (const auto& r : results) {
    out += ";\r\n\t" + r.method + "=" + r.result;
    if (!r.reason.empty()) out += " reason=" + quoted(r.reason);
    for (const auto& [name, value] : r.properties) out += " " + name + "=" + pvalue(value);
  }
  return out + "\r\n";
}

std::string authserv_id_of(std::string_view value) {
  std::size_t i = 0;
  // CFWS: white space, line ends and (nested) comments.
  for (;;) {
    while (i < value.size() && std::isspace(static_cast<unsigned char>(value[i]))) ++i;
    if (i < value.size() && value[i] == '(') {
      int depth = 0;
      for (; i < value.size(); ++i) {
        if (value[i] == '\\') {
          ++i;
          continue;
        }
        if (value[i] == '(') ++depth;
        if (value[i] == ')' && --depth == 0) {
          ++i;
          break;
        }
      }
      i = std::min(i, value.size());  // a comment that ends in a lone '\' (found by fuzz_spf_dmarc)
      continue;
    }
    break;
  }
  std::size_t start = i;
  while (i < value.size() && value[i] != ';' && value[i] != '(' && !std::isspace(static_cast<unsigned char>(value[i]))) ++i;
  return to_lower(value.substr(start, i - start));
}

}  // namespace tern::mailauth
