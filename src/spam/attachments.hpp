// spam/attachments: the attachment policy ([attachments], docs/spam.md): which parts of a message carry
// a file the organisation does not take by mail (programs, programs dressed as documents, Office files
// with macros, extensions the administrator names), and the message with such parts taken out.
//
// Reads the MIME tree by offsets (mime/tree), so stripping replaces exactly the bytes of each held part
// and leaves every other byte as it came. Limits: mime/tree's (depth, parts); at most kMaxFindings
// parts are reported.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tern::spam {

inline constexpr std::size_t kMaxFindings = 100;

struct AttachmentRules {
  bool executables = true;  // programs, and programs with a document's extension before theirs
  bool macros = true;       // Office files with macros
  std::vector<std::string> extensions;  // more, lower-case without the dot: "iso", "7z"
};

struct Blocked {
  std::string name;  // the file name, decoded, lower-case
  std::string kind;  // "executable", "double extension", "macro", "extension .iso"
  std::size_t begin = 0, end = 0;  // the part's bytes (its header's first to its body's last)
  bool whole_message = false;      // the message itself is the file: it cannot be stripped alone
};

std::vector<Blocked> blocked_attachments(std::string_view message, const AttachmentRules& rules);

// The text that takes a stripped part's place: a text/plain part saying what was removed and why.
std::string removal_note(const Blocked& b, std::string_view hostname);

}  // namespace tern::spam
