// imap/message/subject: RFC 5256 2.1 base subject extraction.
#pragma once
#include <string>
#include <string_view>

namespace tern::imap::message::detail {

struct BaseSubject {
  std::string text;               // UTF-8, case kept
  bool reply_or_forward = false;  // a subj-refwd, "(fwd)" trailer or "[fwd: ...]" was removed
};

// `raw`: the Subject: value as stored (unfolded or not; RFC 2047 words still encoded).
BaseSubject extract_base_subject(std::string_view raw);

}  // namespace tern::imap::message::detail
