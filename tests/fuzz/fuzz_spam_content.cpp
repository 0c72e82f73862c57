// libFuzzer target for what the spam stage reads from anybody's message: spam/content (the MIME walk,
// transfer decoding, HTML reduction, links, attachment names) and the rules over it, and the allow and
// deny list entries of spam/lists with wildcard matching, and the attachment policy (spam/attachments)
// with the message its stripping makes, and the client of a Received field (spam/received).
//
// Invariants: the reading stays within its limits (text, links, attachment names); every link host is
// lower-case; the score is the sum of the hits; a wildcard pattern matches itself when it has no '*';
// held parts lie inside the message, in order, without overlapping, and at most kMaxFindings of them.
// Any violation aborts.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "spam/attachments.hpp"
#include "spam/content.hpp"
#include "spam/lists.hpp"
#include "spam/received.hpp"
#include "invariant.hpp"

namespace {

using tern::fuzz::check_that;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = tern::spam::read_message(in);
  check_that(r.text.size() <= tern::spam::kMaxText, "text within kMaxText");
  check_that(r.url_hosts.size() <= tern::spam::kMaxUrls, "links within kMaxUrls");
  check_that(r.attachments.size() <= tern::spam::kMaxAttachments, "names within kMaxAttachments");
  for (const auto& h : r.url_hosts)
    for (char c : h) check_that(!(c >= 'A' && c <= 'Z'), "link hosts are lower-case");
  tern::spam::Report rep;
  tern::spam::content_rules(r, 1796342400, rep);
  double sum = 0;
  for (const auto& h : rep.hits) sum += h.score;
  check_that(std::fabs(sum - rep.score) < 1e-9, "the score is the sum of the hits");
  (void)tern::spam::html_text(in);
  // The input as a Received field's value (spam/received): a relay's address that reads as one, names
  // within their bound, the reverse name lower-case.
  if (auto relay = tern::spam::parse_received(in)) {
    check_that(!relay->ip.empty() && relay->ip.size() <= 64, "a relay's address is an address");
    check_that(relay->helo.size() <= 255 && relay->rdns.size() <= 255, "relay names within 255 octets");
    for (char c : relay->rdns) check_that(!(c >= 'A' && c <= 'Z'), "reverse names are lower-case");
  }

  tern::spam::AttachmentRules rules;
  rules.extensions = {"iso", "txt"};
  auto blocked = tern::spam::blocked_attachments(in, rules);
  check_that(blocked.size() <= tern::spam::kMaxFindings, "findings within kMaxFindings");
  std::size_t last_end = 0;
  for (const auto& b : blocked) {
    check_that(b.begin <= b.end && b.end <= in.size(), "a held part lies inside the message");
    check_that(b.whole_message || b.begin >= last_end, "held parts in order, never overlapping");
    last_end = b.end;
    check_that(!tern::spam::removal_note(b, "mx.test").empty(), "a note for every held part");
  }

  // The first line as a list entry, the rest as the text it is matched against.
  auto nl = in.find('\n');
  std::string entry(in.substr(0, nl == std::string_view::npos ? in.size() : nl));
  std::string_view text = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  if (entry.size() <= 256 && text.size() <= 1024) {
    (void)tern::spam::wildcard_match(entry, text);
    if (entry.find('*') == std::string::npos) check_that(tern::spam::wildcard_match(entry, entry), "a plain pattern matches itself");
    if (auto list = tern::spam::AddressList::parse({entry})) {
      (void)list->match_address(text);
      (void)list->match_domain(text);
    }
  }
  return 0;
}
