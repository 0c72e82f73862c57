#include "imapd/util.hpp"

#include <array>

#include "base/strings.hpp"

namespace tern::imapd {

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    auto j = s.find(' ', i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool has_flag(std::string_view flags, std::string_view flag) {
  for (auto f : split_words(flags))
    if (iequals(f, flag)) return true;
  return false;
}

}  // namespace tern::imapd
