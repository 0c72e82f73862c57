// imap/message/summary: the writers behind Summary, shared with Parsed.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "imap/message/message.hpp"
#include "imap/message/tree.hpp"

namespace tern::imap::message::detail {

// References a Summary keeps (Summary::decode refuses more): the first and the most recent.
inline constexpr std::size_t kMaxReferences = 100000;

void append_envelope(std::string& out, const Part& message);
void append_body(std::string& out, std::string_view raw, const Part& part, bool extensible);
std::string transfer_encoding_name(const Part& part);  // "" when absent, comments removed
std::vector<std::string> msg_ids(std::string_view value);  // every "<...>" in order
Summary summarize(std::string_view raw, const Part& root);

}  // namespace tern::imap::message::detail
