#include "spam/attachments.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "base/strings.hpp"
#include "mime/tree.hpp"
#include "spam/content.hpp"

namespace tern::spam {
namespace {

std::string kind_of(std::string_view name, const AttachmentRules& rules) {
  switch (file_kind(name)) {
    case FileKind::executable:
      if (rules.executables) return "executable";
      break;
    case FileKind::double_extension:
      if (rules.executables) return "double extension";
      break;
    case FileKind::macro:
      if (rules.macros) return "macro";
      break;
    case FileKind::other: break;
  }
  auto trimmed = name;
  while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '.')) trimmed.remove_suffix(1);
  auto dot = trimmed.rfind('.');
  if (dot == std::string_view::npos) return {};
  auto ext = trimmed.substr(dot + 1);
  for (const auto& e : rules.extensions)
    if (iequals(ext, e)) return fmt::format("extension .{}", e);
  return {};
}

}  // namespace

std::vector<Blocked> blocked_attachments(std::string_view message, const AttachmentRules& rules) {
  std::vector<Blocked> out;
  auto root = mime::parse_tree(message);
  // Encapsulated messages included: a forwarded message's attachment is as much a file.
  mime::for_each_leaf(root, [&](const mime::Part& p) {
    auto name = file_name(p);
    if (!is_attachment(p, name) || name.empty()) return true;
    auto kind = kind_of(name, rules);
    if (!kind.empty()) out.push_back(Blocked{name, kind, p.begin, p.body_end, &p == &root});
    return out.size() < kMaxFindings;
  });
  return out;
}

std::string removal_note(const Blocked& b, std::string_view hostname) {
  return fmt::format(
      "Content-Type: text/plain; charset=us-ascii\r\n"
      "Content-Disposition: inline\r\n"
      "\r\n"
      "{} removed the attachment \"{}\" from this message ({}): the organisation does not take such files\r\n"
      "by mail. Ask the sender to share it another way.",
      hostname, ascii_safe(b.name), b.kind);
}

}  // namespace tern::spam
