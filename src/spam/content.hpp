// spam/content: what a message says, read once for every content check: the decoded subject and
// sender, the text of its text parts (HTML with the tags taken out), the hosts its links point to and
// the names of its attachments; then the header and body rules over that reading.
//
// Limits: at most kMaxText octets of text are kept (the classifier and the rules read no further),
// kMaxUrls links and kMaxAttachments names; the MIME tree has its own limits (mime/tree). Never fails:
// a message without structure is read as one text part.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mime/tree.hpp"
#include "spam/report.hpp"

namespace tern::spam {

inline constexpr std::size_t kMaxText = 256 * 1024;
inline constexpr std::size_t kMaxUrls = 200;
inline constexpr std::size_t kMaxAttachments = 100;

struct Reading {
  bool has_from = false, has_date = false, has_message_id = false;
  bool date_valid = false;
  bool date_zone = false;  // the Date ends in a zone, as RFC 5322 3.3 requires ("+0200", "GMT", "EST")
  std::string empty_field;  // "To" or "Cc": such a field without any address (RFC 5322 3.6.3 asks for one or more)
  std::int64_t date = 0;  // unix seconds, when date_valid
  // The date of the newest Received field (the time after its last ';'), when there is one and it
  // reads: when the nearest relay took the message, the reference for a Date in the future.
  std::optional<std::int64_t> received;
  bool msmail_without_mimeole = false;
  bool invalid_mid = false;  // a Message-ID that is not one "<left@right>"
  // an Outlook-shaped Message-ID whose embedded time matches neither the Date nor the newest Received
  bool outlook_mid_time_wrong = false;  // X-MSMail-Priority without the X-MimeOLE Microsoft's programs add with it
  std::string subject;    // decoded (UTF-8)
  std::string from_name;  // the From display name, decoded
  std::string from_address;  // local@domain of the first From mailbox, lower-case domain
  std::string forged_mua;    // "Outlook" or "Eudora": X-Mailer names it, the Message-ID is not of its making
  std::string text;          // the text parts, decoded, HTML reduced to its words
  bool has_plain = false;    // a text/plain part
  bool has_html = false;     // a text/html part
  bool hidden_html = false;  // HTML text styled invisible (display:none, font-size:0, visibility:hidden)
  std::vector<std::string> url_hosts;   // lower-case host of each http(s) link, in order
  std::string url_text;                 // the paths and queries of those links, for the classifier
  std::vector<std::string> attachments;  // file names (decoded), lower-case
  // What the header says about the sending software and the message's shape, for the classifier:
  // "mailer:outlook", "type:multipart/alternative", "charset:koi8-r", "cte:base64", "mid:example.org",
  // "replyto:other" (a Reply-To domain that is not the From domain), "to:many", the shapes of the Date
  // and Message-ID fields ("date:Aaa, 9 Aaa 9999 ...", digits and letters folded). Never Received fields:
  // the stored copy has Tern's own, the one the SMTP stage judges has not yet.
  std::vector<std::string> header_tokens;
};

Reading read_message(std::string_view message);

// HTML reduced to its text: tags, comments, <script> and <style> removed, the common entities
// decoded, block tags as line breaks. `hidden` is set when some text sits in an invisible element.
std::string html_text(std::string_view html, bool* hidden = nullptr);

// The header and body rules (docs/spam.md lists them with their weights); `now` in unix seconds.
void content_rules(const Reading& r, std::int64_t now, Report& out);

// True for a name ending in an extension that runs code on Windows or a desktop (exe, scr, js, ...).
bool executable_name(std::string_view name);

// What an attachment's name says it is: a program (exe, scr, js, ...), a program dressed as a document
// ("invoice.pdf.exe"), an Office file with macros (docm, xlsm, ...), or something else.
enum class FileKind { other, executable, double_extension, macro };
FileKind file_kind(std::string_view name);
// The file name a part carries (Content-Disposition filename, else Content-Type name; RFC 2231 and
// RFC 2047 decoded), lower-case; "" when none.
std::string file_name(const mime::Part& part);
// A part with a file name, or with Content-Disposition: attachment.
bool is_attachment(const mime::Part& part, std::string_view name);

}  // namespace tern::spam
