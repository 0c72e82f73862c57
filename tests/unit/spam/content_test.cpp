// spam/content: reading a message (subject, sender, text of plain and HTML parts, links, attachment
// names) and the header and body rules over it.
#include <gtest/gtest.h>

#include "spam/content.hpp"
#include "spam/report.hpp"

namespace tern::spam {
namespace {

constexpr std::int64_t kNow = 1796385600;  // 2026-12-04 12:00 UTC

std::string plain(std::string extra_header, std::string body) {
  return "From: Alice <alice@example.test>\r\nTo: bob@tern.test\r\nSubject: Lunch\r\n"
         "Date: Fri, 04 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@example.test>\r\n" +
         extra_header + "\r\n" + body;
}

Report rules_of(std::string_view message) {
  Report r;
  content_rules(read_message(message), kNow, r);
  return r;
}

TEST(Read, HeaderFieldsAndPlainText) {
  auto r = read_message(plain("", "See https://www.Example.org/a?b and http://192.0.2.7:8080/x\r\n"));
  EXPECT_EQ(r.subject, "Lunch");
  EXPECT_EQ(r.from_name, "Alice");
  EXPECT_EQ(r.from_address, "alice@example.test");
  EXPECT_TRUE(r.has_date && r.date_valid && r.has_message_id && r.has_from);
  EXPECT_TRUE(r.has_plain);
  EXPECT_FALSE(r.has_html);
  ASSERT_EQ(r.url_hosts.size(), 2u);
  EXPECT_EQ(r.url_hosts[0], "www.example.org");
  EXPECT_EQ(r.url_hosts[1], "192.0.2.7");
  EXPECT_NE(r.text.find("See https://"), std::string::npos);
}

TEST(Read, EncodedSubjectAndQuotedPrintableBody) {
  auto r = read_message(plain("Subject: =?UTF-8?B?w4ljbGFpcg==?=\r\nContent-Transfer-Encoding: quoted-printable\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\n",
                              "caf=C3=A9 cr=C3=\r\n=A8me\r\n"));
  EXPECT_EQ(r.subject, "Lunch");  // the first Subject field counts
  EXPECT_NE(r.text.find("café crème"), std::string::npos) << "[" << r.text << "]";
}

TEST(Read, HtmlIsReducedToItsWordsAndHiddenTextIsSeen) {
  std::string html =
      "<html><head><style>p{color:red}</style><script>var x='<b>';</script></head><body>"
      "<p>Hello&nbsp;&amp; welcome</p><div style=\"display: none\">cheap pills</div>"
      "<a href=\"http://203.0.113.9/login\">click</a><!-- a comment --></body></html>";
  auto r = read_message(plain("Content-Type: text/html\r\n", html));
  EXPECT_TRUE(r.has_html);
  EXPECT_FALSE(r.has_plain);
  EXPECT_TRUE(r.hidden_html);
  EXPECT_NE(r.text.find("Hello & welcome"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("cheap pills"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("color:red"), std::string::npos);
  EXPECT_EQ(r.text.find("var x"), std::string::npos);
  ASSERT_EQ(r.url_hosts.size(), 1u);
  auto rep = rules_of(plain("Content-Type: text/html\r\n", html));
  EXPECT_TRUE(rep.fired("HTML_ONLY"));
  EXPECT_TRUE(rep.fired("HTML_HIDDEN_TEXT"));
  EXPECT_TRUE(rep.fired("URL_RAW_IP"));
}

TEST(Read, AttachmentNamesFromEveryForm) {
  std::string msg = plain(
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n",
      "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
      "--b\r\nContent-Type: application/octet-stream; name=\"Invoice.PDF.exe\"\r\n\r\nMZ\r\n"
      "--b\r\nContent-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.docm\r\n\r\nx\r\n"
      "--b\r\nContent-Disposition: attachment; filename=\"=?utf-8?q?notes.txt?=\"\r\n\r\ny\r\n--b--\r\n");
  auto r = read_message(msg);
  ASSERT_EQ(r.attachments.size(), 3u);
  EXPECT_EQ(r.attachments[0], "invoice.pdf.exe");
  EXPECT_EQ(r.attachments[1], "résumé.docm");
  EXPECT_EQ(r.attachments[2], "notes.txt");
  EXPECT_EQ(r.text.find("MZ"), std::string::npos);  // attachments are not text
  auto rep = rules_of(msg);
  EXPECT_TRUE(rep.fired("EXECUTABLE_ATTACHMENT"));
  EXPECT_TRUE(rep.fired("DOUBLE_EXTENSION"));
}

TEST(Read, NestedMessageAndNoStructure) {
  auto r = read_message(plain("Content-Type: message/rfc822\r\n",
                              "Subject: inner\r\nContent-Type: text/plain\r\n\r\ninner words\r\n"));
  EXPECT_NE(r.text.find("inner words"), std::string::npos);
  auto bare = read_message("no header at all, just words");
  EXPECT_FALSE(bare.has_from);
  EXPECT_TRUE(read_message("").text.empty());
}

TEST(Rules, AWellFormedMessageFiresNothing) {
  auto rep = rules_of(plain("", "Shall we meet at noon?\r\n"));
  EXPECT_TRUE(rep.hits.empty()) << rep.tests();
  EXPECT_EQ(rep.score, 0);
  EXPECT_EQ(rep.tests(), "none");
}

TEST(Rules, HeaderRules) {
  auto rep = rules_of("To: bob@tern.test\r\nSubject: BUY NOW CHEAP WATCHES\r\n\r\nx\r\n");
  EXPECT_TRUE(rep.fired("MISSING_FROM"));
  EXPECT_TRUE(rep.fired("MISSING_DATE"));
  EXPECT_TRUE(rep.fired("MISSING_MID"));
  EXPECT_TRUE(rep.fired("SUBJ_ALL_CAPS"));
  EXPECT_DOUBLE_EQ(rep.score, 2.0 + 1.2 + 0.5 + 0.5);

  auto future = rules_of("From: a@b.test\r\nDate: Sat, 01 Jan 2028 00:00:00 +0000\r\nMessage-ID: <x@y>\r\n\r\nx\r\n");
  EXPECT_TRUE(future.fired("DATE_IN_FUTURE"));
  auto bad = rules_of("From: a@b.test\r\nDate: yesterday-ish\r\nMessage-ID: <x@y>\r\n\r\nx\r\n");
  EXPECT_TRUE(bad.fired("INVALID_DATE"));

  auto spoof = rules_of(plain("From: \"service@paypal.com\" <x@cheap.example>\r\n", "x\r\n"));
  EXPECT_FALSE(spoof.fired("FROM_NAME_SPOOF"));  // the first From field is Alice's
  auto spoof2 = rules_of("From: \"service@paypal.com\" <x@cheap.example>\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
                         "Message-ID: <1@x>\r\n\r\nx\r\n");
  EXPECT_TRUE(spoof2.fired("FROM_NAME_SPOOF"));
  auto same = rules_of("From: \"news@shop.example\" <news@mail.shop.example>\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
                       "Message-ID: <1@x>\r\n\r\nx\r\n");
  EXPECT_FALSE(same.fired("FROM_NAME_SPOOF"));
}

TEST(Rules, DateWithoutZoneAndEmptyAddressFields) {
  const std::string tail = "From: a@b.test\r\nMessage-ID: <1@x>\r\n";
  auto no_zone = rules_of(tail + "To:\r\nDate: Wed, 17 Jul 2002 19:09:57\r\n\r\nx\r\n");
  EXPECT_TRUE(no_zone.fired("DATE_NO_ZONE"));
  EXPECT_TRUE(no_zone.fired("EMPTY_ADDRESS_FIELD"));
  EXPECT_TRUE(rules_of(tail + "To: c@d.test\r\nCc: \r\n\r\nx\r\n").fired("EMPTY_ADDRESS_FIELD"));
  for (const char* zone : {"+0200", "-0000", "GMT", "EST", "-0700 (PDT)", "Z"}) {
    auto zoned = rules_of(tail + "To: c@d.test\r\nDate: Wed, 17 Jul 2002 19:09:57 " + zone + "\r\n\r\nx\r\n");
    EXPECT_FALSE(zoned.fired("DATE_NO_ZONE")) << zone;
    EXPECT_FALSE(zoned.fired("EMPTY_ADDRESS_FIELD"));
  }
}

TEST(Rules, ForgedMailProgram) {
  auto with = [](std::string mailer, std::string mid, std::string more = "") {
    return rules_of("From: a@b.test\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\nX-Mailer: " + mailer +
                    "\r\nMessage-ID: " + mid + "\r\n" + more + "\r\nx\r\n")
        .fired("FORGED_MUA");
  };
  const std::string oe = "Microsoft Outlook Express 6.00.2600.0000";
  EXPECT_FALSE(with(oe, "<001501c23b3d$ab12cd34$0a00a8c0@home>"));
  EXPECT_TRUE(with(oe, "<00c701c200d9a14b$a14bd540$5db8869f@r60qn>"));  // 16 hex digits first: not OE's
  EXPECT_TRUE(with(oe, "<200208281704.g7SH48Z01928@relay.example>"));  // written by a relay
  EXPECT_FALSE(with(oe, "<ABC123@hotmail.com>"));                       // Hotmail rewrites them
  const std::string imo = "Microsoft Outlook IMO, Build 9.0.2416 (9.0.2911.0)";
  EXPECT_FALSE(with(imo, "<OFEGLPGPCHPACFLJPAILIECKECAA.macarthy@iol.ie>"));
  EXPECT_TRUE(with(imo, "<E17k2hm-00016W-00@byron.example>"));
  EXPECT_TRUE(with("Microsoft Outlook IMO Build 9.0.2416 (9.0.2910.0)", "<E17k2hm-00016W-00@byron.example>"));
  const std::string eudora = "QUALCOMM Windows Eudora Version 5.1";
  EXPECT_FALSE(with(eudora, "<5.1.0.14.2.20020412221717.00a96a60@pop.example>"));
  EXPECT_TRUE(with(eudora, "<200204122115.g3CLFMD27461@mandark.example>"));
  EXPECT_FALSE(with(eudora, "<LYRIS-2424157-1370323-2002.08.14@lists.example>"));
  EXPECT_FALSE(with(eudora, "<x@lists.example>", "List-Id: <l.example>\r\n"));
  EXPECT_FALSE(with("Mutt/1.5", "<x@y>"));
  EXPECT_FALSE(with(oe, "no angle brackets"));
}

TEST(Rules, MessageIds) {
  auto with = [](std::string mid, std::string more = "") {
    return rules_of("From: a@b.test\r\nDate: Wed, 17 Jul 2002 19:09:57 +0000\r\nMessage-ID: " + mid + "\r\n" + more +
                    "\r\nx\r\n");
  };
  // 01c22dc5 is the upper half of 17 Jul 2002 19:09:57 UTC as a FILETIME: what Outlook writes
  EXPECT_FALSE(with("<000801c22dc5$4f8c4f60$6401a8c0@home>").fired("MID_OUTLOOK_TIME"));
  EXPECT_FALSE(with("<000801c22dc5$4f8c4f60$6401a8c0@home>").fired("INVALID_MID"));
  EXPECT_FALSE(with("<000801c22e6c$4f8c4f60$6401a8c0@home>").fired("MID_OUTLOOK_TIME"));  // 20 hours off: a clock
  EXPECT_TRUE(with("<00001f24bd33$00002e1a$00006ea3@mail.example>").fired("MID_OUTLOOK_TIME"));  // made up
  EXPECT_DOUBLE_EQ(with("<00001f24bd33$00002e1a$00006ea3@mail.example>").score, 3.0);
  // a Date gone wrong, but the newest Received field agrees with the ID
  EXPECT_FALSE(rules_of("From: a@b.test\r\nReceived: from x by y; Wed, 17 Jul 2002 20:00:00 +0000\r\n"
                        "Date: Sat, 01 Jan 2000 00:00:00 +0000\r\nMessage-ID: <000801c22dc5$4f8c4f60$6401a8c0@home>\r\n\r\nx\r\n")
                   .fired("MID_OUTLOOK_TIME"));
  EXPECT_FALSE(with("<1234.5678@host.example>").fired("MID_OUTLOOK_TIME"));  // not Outlook's shape

  for (const char* bad : {"<000018e94cd4$0000220a$000063aa@>", "PM200011:12:45 AM", "<E9D312B69C2346E800C76D2E9BC3F4A8>",
                          "<a@b> (added by postmaster)", "<@b>", "<a@b@c>", "<a b@c>"})
    EXPECT_TRUE(with(bad).fired("INVALID_MID")) << bad;
  for (const char* good : {"<x@y>", "<200208281704.g7SH48Z01928@relay.example>", " <a.b@[192.0.2.1]> "})
    EXPECT_FALSE(with(good).fired("INVALID_MID")) << good;
}

TEST(Rules, DateAheadOfTheNewestReceivedField) {
  auto with = [](std::string received) {
    return rules_of("From: a@b.test\r\nReceived: from x by y; " + received +
                    "\r\nReceived: from w by x; Wed, 17 Jul 2002 01:00:00 +0000\r\n"
                    "Date: Wed, 17 Jul 2002 19:09:57 +0000\r\nMessage-ID: <1@x>\r\n\r\nx\r\n");
  };
  EXPECT_TRUE(with("Wed, 17 Jul 2002 15:00:00 +0000").fired("DATE_IN_FUTURE"));  // 4 hours ahead of the relay
  EXPECT_FALSE(with("Wed, 17 Jul 2002 17:00:00 +0000").fired("DATE_IN_FUTURE"));  // 2: clocks
  EXPECT_FALSE(with("garbled").fired("DATE_IN_FUTURE"));  // no relay time: against now, 2002 is past
}

TEST(Rules, MicrosoftPriorityWithoutMimeOle) {
  const std::string head = "From: a@b.test\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@x>\r\nX-MSMail-Priority: Normal\r\n";
  EXPECT_TRUE(rules_of(head + "\r\nx\r\n").fired("MISSING_MIMEOLE"));
  EXPECT_FALSE(rules_of(head + "X-MimeOLE: Produced By Microsoft MimeOLE V6.00.2600.0000\r\n\r\nx\r\n").fired("MISSING_MIMEOLE"));
}

TEST(Rules, ExecutableNames) {
  EXPECT_TRUE(executable_name("setup.EXE"));
  EXPECT_TRUE(executable_name("a.js."));
  EXPECT_FALSE(executable_name("report.pdf"));
  EXPECT_FALSE(executable_name("exe"));
}

TEST(Report, TestsAndTopAreOrderedByWeight) {
  Report r;
  r.add("SMALL", 0.5);
  r.add("BIG", 3.0, "detail");
  r.add("HAM", -1.0);
  EXPECT_EQ(r.tests(), "BIG=3.0,HAM=-1.0,SMALL=0.5");
  EXPECT_EQ(r.top(2), "BIG(3.0) detail, HAM(-1.0)");
  EXPECT_DOUBLE_EQ(r.score, 2.5);
  EXPECT_EQ(format_score(-0.04), "0.0");
}

TEST(Limits, HugeInputIsBounded) {
  std::string big = plain("", std::string(kMaxText * 3, 'a') + "\r\n");
  auto r = read_message(big);
  EXPECT_LE(r.text.size(), kMaxText);
  std::string links;
  for (int i = 0; i < 1000; ++i) links += "http://h" + std::to_string(i) + ".test/ ";
  EXPECT_EQ(read_message(plain("", links)).url_hosts.size(), kMaxUrls);
  std::string deep = "<div>";
  for (int i = 0; i < 100000; ++i) deep += "<b>";
  EXPECT_NO_THROW(html_text(deep));
}

}  // namespace
}  // namespace tern::spam
