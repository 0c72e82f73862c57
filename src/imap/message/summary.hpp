// imap/message/summary: the writers behind Summary, shared with Parsed.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "imap/message/message.hpp"
#include "mime/address.hpp"
#include "mime/tree.hpp"

namespace tern::imap::message::detail {

// The MIME tree and address lists (mime/tree, mime/address), used throughout this module.
using mime::Address;
using mime::FieldView;
using mime::find_field;
using mime::find_part;
using mime::kMissingDomain;
using mime::kMissingMailbox;
using mime::param;
using mime::Param;
using mime::parse_addresses;
using mime::parse_fields;
using mime::parse_params;
using mime::parse_tree;
using mime::Part;
using mime::unfold;

// References a Summary keeps (Summary::decode refuses more): the first and the most recent.
inline constexpr std::size_t kMaxReferences = 100000;

void append_envelope(std::string& out, const Part& message);
void append_body(std::string& out, std::string_view raw, const Part& part, bool extensible);
std::string transfer_encoding_name(const Part& part);  // "" when absent, comments removed
std::vector<std::string> msg_ids(std::string_view value);  // every "<...>" in order
Summary summarize(std::string_view raw, const Part& root);

}  // namespace tern::imap::message::detail
