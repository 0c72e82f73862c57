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

bool known_command(std::string_view name) {
  static constexpr std::array names = {
      "CAPABILITY", "NOOP", "LOGOUT", "ID", "STARTTLS", "LOGIN", "AUTHENTICATE", "ENABLE", "SELECT",
      "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "LIST", "LSUB", "NAMESPACE",
      "STATUS", "APPEND", "IDLE", "GETQUOTA", "GETQUOTAROOT", "SETQUOTA", "COMPRESS", "CHECK", "CLOSE",
      "UNSELECT", "EXPUNGE", "UID EXPUNGE", "FETCH", "UID FETCH", "SEARCH", "UID SEARCH", "SORT", "UID SORT",
      "THREAD", "UID THREAD", "STORE", "UID STORE", "COPY", "UID COPY", "MOVE", "UID MOVE"};
  for (auto n : names)
    if (name == n) return true;
  return false;
}


bool has_flag(std::string_view flags, std::string_view flag) {
  for (auto f : split_words(flags))
    if (iequals(f, flag)) return true;
  return false;
}

}  // namespace tern::imapd
