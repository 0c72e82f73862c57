// mime/headers: RFC 5322 header fields of a message, read without a full MIME parse.
//
// Used where only a few fields are needed (Received count for the hop limit, From and Subject for the
// index). RFC 2047 decoding of their values is mime/text's decode_header (GMime, every charset).
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tern::mime {

struct Field {
  std::string name;   // as written
  std::string value;  // unfolded (RFC 5322 2.2.3), leading/trailing white space removed
};

// The header fields before the first empty line (CRLF or LF line ends). Stops after `max_fields`.
std::vector<Field> parse_header(std::string_view message, std::size_t max_fields = 1000);

// The value of the first field named `name` (case-insensitive), or "".
std::string first_value(const std::vector<Field>& fields, std::string_view name);

// How many Received: fields the header holds (RFC 5321 6.3 loop detection).
std::size_t count_received(std::string_view message);


}  // namespace tern::mime
