#include "mime/headers.hpp"

#include "base/strings.hpp"

namespace tern::mime {

std::vector<Field> parse_header(std::string_view msg, std::size_t max_fields) {
  std::vector<Field> out;
  std::size_t pos = 0;
  while (pos < msg.size() && out.size() <= max_fields) {
    auto eol = msg.find('\n', pos);
    auto line = msg.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header
    if ((line.front() == ' ' || line.front() == '\t') && !out.empty()) {
      out.back().value += " ";
      out.back().value += std::string(trim(line));
    } else {
      auto colon = line.find(':');
      if (colon != std::string_view::npos && colon > 0) {
        out.push_back(Field{std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1)))});
      } else if (out.empty()) {
        break;  // not a header at all
      }
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  if (out.size() > max_fields) out.resize(max_fields);
  return out;
}

std::string first_value(const std::vector<Field>& fields, std::string_view name) {
  for (auto& f : fields)
    if (iequals(f.name, name)) return f.value;
  return {};
}

std::size_t count_received(std::string_view msg) {
  std::size_t n = 0;
  for (auto& f : parse_header(msg, 100000))
    if (iequals(f.name, "Received")) ++n;
  return n;
}

}  // namespace tern::mime
