// RFC 5256 2.1: the base subject, for SORT SUBJECT and THREAD.
#include "imap/message/subject.hpp"

#include "base/strings.hpp"
#include "mime/text.hpp"
#include "imap/message/message.hpp"

namespace tern::imap::message {

namespace detail {

namespace {

bool starts_ci(std::string_view s, std::size_t pos, std::string_view prefix) {
  return s.size() - pos >= prefix.size() && iequals(s.substr(pos, prefix.size()), prefix);
}

// subj-blob = "[" *BLOBCHAR "]" *WSP; the length matched at `pos`, or 0.
std::size_t blob(std::string_view s, std::size_t pos) {
  if (pos >= s.size() || s[pos] != '[') return 0;
  auto i = pos + 1;
  while (i < s.size() && s[i] != '[' && s[i] != ']') ++i;
  if (i >= s.size() || s[i] != ']') return 0;
  ++i;
  while (i < s.size() && s[i] == ' ') ++i;
  return i - pos;
}

// subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
std::size_t refwd(std::string_view s, std::size_t pos) {
  for (std::string_view word : {"fwd", "fw", "re"}) {
    if (!starts_ci(s, pos, word)) continue;
    auto i = pos + word.size();
    while (i < s.size() && s[i] == ' ') ++i;
    i += blob(s, i);
    if (i < s.size() && s[i] == ':') return i + 1 - pos;
  }
  return 0;
}

// subj-leader = (*subj-blob subj-refwd) / WSP
std::size_t leader(std::string_view s, bool& refwd_seen) {
  if (!s.empty() && s[0] == ' ') return 1;
  std::size_t i = 0;
  while (auto b = blob(s, i)) i += b;
  if (auto r = refwd(s, i)) {
    refwd_seen = true;
    return i + r;
  }
  return 0;
}

}  // namespace

BaseSubject extract_base_subject(std::string_view raw) {
  BaseSubject out;
  // (1) RFC 2047 words decoded to UTF-8, tabs and continuations to a space, runs of spaces to one.
  auto decoded = mime::decode_header(raw);
  std::string s;
  for (char c : decoded) {
    if (c == '\t' || c == '\r' || c == '\n') c = ' ';
    if (c == ' ' && !s.empty() && s.back() == ' ') continue;
    s += c;
  }
  // The steps only take from the ends: a view moves inward, the string is never copied or erased from
  // the front (a subject of many markers would make that quadratic).
  std::string_view v = s;
  for (;;) {
    // (2) Trailing "(fwd)" and white space.
    for (;;) {
      if (!v.empty() && v.back() == ' ') {
        v.remove_suffix(1);
      } else if (v.size() >= 5 && iequals(v.substr(v.size() - 5), "(fwd)")) {
        v.remove_suffix(5);
        out.reply_or_forward = true;
      } else {
        break;
      }
    }
    // (3), (4), (5): leaders, then one blob if something is left after it, until nothing changes. Once
    // no leader matches, none matches after a blob is removed either (a leader's blobs before its
    // subj-refwd are the same run, ending at the same place; blobs take their trailing spaces), so the
    // blobs then go one after the other without scanning the run again.
    while (auto n = leader(v, out.reply_or_forward)) v.remove_prefix(n);
    for (auto b = blob(v, 0); b && b < v.size(); b = blob(v, 0)) v.remove_prefix(b);
    // (6) "[fwd:" ... "]" around the whole subject.
    if (starts_ci(v, 0, "[fwd:") && v.back() == ']') {
      v = v.substr(5, v.size() - 6);
      out.reply_or_forward = true;
      continue;
    }
    break;
  }
  out.text = std::string(v);
  return out;
}

}  // namespace detail

std::string base_subject(std::string_view raw_subject) {
  return detail::extract_base_subject(raw_subject).text;
}

}  // namespace tern::imap::message
