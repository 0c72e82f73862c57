// spam/attachments: which parts the attachment policy holds, where they lie in the message, and the
// note that takes a stripped part's place.
#include <gtest/gtest.h>

#include "spam/attachments.hpp"

namespace tern::spam {
namespace {

std::string mixed(std::string parts) {
  return "From: a@example.test\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
         parts + "--b--\r\n";
}

std::string part(std::string_view header, std::string_view body) {
  return "--b\r\n" + std::string(header) + "\r\n" + std::string(body) + "\r\n";
}

TEST(Attachments, ProgramsDoubleExtensionsMacrosAndNamedExtensions) {
  auto m = mixed(part("Content-Type: text/plain\r\n", "hello") +
                 part("Content-Type: application/octet-stream; name=\"Setup.EXE\"\r\n", "MZ") +
                 part("Content-Disposition: attachment; filename=\"invoice.pdf.scr \"\r\n", "MZ") +
                 part("Content-Disposition: attachment; filename=\"budget.xlsm\"\r\n", "PK") +
                 part("Content-Disposition: attachment; filename=\"backup.7Z\"\r\n", "7z") +
                 part("Content-Disposition: attachment; filename=\"report.pdf\"\r\n", "%PDF"));
  AttachmentRules rules;
  rules.extensions = {"7z"};
  auto b = blocked_attachments(m, rules);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[0].name, "setup.exe");
  EXPECT_EQ(b[0].kind, "executable");
  EXPECT_EQ(b[1].kind, "double extension");
  EXPECT_EQ(b[2].kind, "macro");
  EXPECT_EQ(b[3].kind, "extension .7z");
  for (const auto& x : b) EXPECT_FALSE(x.whole_message);
  // The span is the part's header and body, up to (not with) the CRLF before the next boundary.
  EXPECT_EQ(m.substr(b[0].begin, b[0].end - b[0].begin), "Content-Type: application/octet-stream; name=\"Setup.EXE\"\r\n\r\nMZ");

  rules.executables = false;
  rules.macros = false;
  rules.extensions.clear();
  EXPECT_TRUE(blocked_attachments(m, rules).empty());
}

TEST(Attachments, RFC2231NamesAndEncapsulatedMessages) {
  auto inner = "Subject: fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n"
               "--c\r\nContent-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.js\r\n\r\nx\r\n--c--\r\n";
  auto m = mixed(part("Content-Type: message/rfc822\r\n", inner));
  auto b = blocked_attachments(m, {});
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].name, "r\xC3\xA9sum\xC3\xA9.js");
  EXPECT_EQ(m.substr(b[0].end - 1, 1), "x");
}

TEST(Attachments, AMessageThatIsTheFileAndAnInlineTextWithoutName) {
  auto whole = std::string("Subject: x\r\nContent-Type: application/octet-stream; name=run.exe\r\n\r\nMZ");
  auto b = blocked_attachments(whole, {});
  ASSERT_EQ(b.size(), 1u);
  EXPECT_TRUE(b[0].whole_message);
  EXPECT_TRUE(blocked_attachments(mixed(part("Content-Disposition: attachment\r\n", "text")), {}).empty());
  EXPECT_TRUE(blocked_attachments("", {}).empty());
}

TEST(Attachments, TheNoteIsAsciiAndNamesTheFile) {
  Blocked b{"\xC3\xA9vil\".exe\r\n", "executable", 0, 0, false};
  auto note = removal_note(b, "mx.tern.test");
  EXPECT_TRUE(note.starts_with("Content-Type: text/plain; charset=us-ascii\r\n"));
  EXPECT_NE(note.find("mx.tern.test removed the attachment \"??vil\".exe??\" from this message (executable)"),
            std::string::npos)
      << note;
  for (unsigned char c : note) EXPECT_TRUE(c < 0x80);
  EXPECT_FALSE(note.ends_with("\r\n"));  // the CRLF before the next boundary is the message's own
}

}  // namespace
}  // namespace tern::spam
