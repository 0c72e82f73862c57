// imap/proto/sequence: numbers, astrings and sequence sets (RFC 9051 9 number, nz-number, astring,
// sequence-set; RFC 5182 "$" for the saved search result).
#include <algorithm>
#include <limits>

#include "imap/proto/detail.hpp"
#include "imap/proto/proto.hpp"

namespace tern::imap::proto {

using detail::fail;

std::optional<std::string_view> astring_arg(const Arg& a) {
  if (a.kind == Arg::Kind::list) return std::nullopt;
  return std::string_view(a.text);
}

std::optional<std::string> mailbox_arg(const Arg& a) {
  auto s = astring_arg(a);
  if (!s) return std::nullopt;
  // RFC 9051 5.1: INBOX is case-insensitive; other names are taken as they are.
  if (detail::iequals(*s, "INBOX")) return std::string("INBOX");
  return std::string(*s);
}

std::optional<std::uint64_t> parse_number64(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!detail::is_digit(c)) return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  // RFC 9051 9: number64 is at most 2^63-1 (and so is a mod-sequence-value, RFC 7162 7).
  if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
  return v;
}

std::optional<std::uint32_t> parse_nz_number(std::string_view s) {
  if (s.empty() || s.size() > 10 || s[0] == '0') return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!detail::is_digit(c)) return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

namespace {

// seq-number = nz-number / "*"; 0 stands for "*".
std::optional<std::uint32_t> seq_number(std::string_view s) {
  if (s == "*") return 0u;
  return parse_nz_number(s);
}

}  // namespace

Parsed<SequenceSet> parse_sequence_set(std::string_view s) {
  SequenceSet set;
  if (s == "$") {
    set.saved = true;
    return detail::done(std::move(set));
  }
  if (s.empty()) return fail<SequenceSet>("Empty sequence set");
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t comma = s.find(',', i);
    if (comma == std::string_view::npos) comma = s.size();
    std::string_view item = s.substr(i, comma - i);
    std::size_t colon = item.find(':');
    SeqRange r;
    if (colon == std::string_view::npos) {
      auto n = seq_number(item);
      if (!n) return fail<SequenceSet>("Invalid sequence set");
      r.lo = r.hi = *n;
    } else {
      auto a = seq_number(item.substr(0, colon));
      auto b = seq_number(item.substr(colon + 1));
      if (!a || !b) return fail<SequenceSet>("Invalid sequence set");
      r.lo = *a;
      r.hi = *b;
    }
    set.ranges.push_back(r);
    i = comma + 1;
  }
  return detail::done(std::move(set));
}

bool SequenceSet::contains(std::uint32_t n, std::uint32_t star) const {
  for (const auto& r : ranges) {
    std::uint32_t a = r.lo ? r.lo : star, b = r.hi ? r.hi : star;
    if (a > b) std::swap(a, b);
    if (n >= a && n <= b) return true;
  }
  return false;
}

std::vector<SeqRange> SequenceSet::resolved(std::uint32_t star) const {
  std::vector<SeqRange> out;
  out.reserve(ranges.size());
  for (const auto& r : ranges) {
    std::uint32_t a = r.lo ? r.lo : star, b = r.hi ? r.hi : star;
    if (a > b) std::swap(a, b);
    if (a == 0) a = 1;
    if (b == 0) continue;
    out.push_back({a, b});
  }
  std::sort(out.begin(), out.end(), [](const SeqRange& x, const SeqRange& y) { return x.lo < y.lo; });
  std::vector<SeqRange> merged;
  for (const auto& r : out) {
    // Merge overlapping and touching ranges; hi + 1 done in 64 bits so 4294967295 cannot wrap.
    if (!merged.empty() && std::uint64_t{r.lo} <= std::uint64_t{merged.back().hi} + 1)
      merged.back().hi = std::max(merged.back().hi, r.hi);
    else
      merged.push_back(r);
  }
  return merged;
}

std::string format_sequence_set(std::span<const std::uint32_t> numbers) {
  std::vector<std::uint32_t> v(numbers.begin(), numbers.end());
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  if (!v.empty() && v.front() == 0) v.erase(v.begin());  // 0 is no message number
  std::string out;
  for (std::size_t i = 0; i < v.size();) {
    std::size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(v[i]);
    if (j > i) {
      out += ':';
      out += std::to_string(v[j]);
    }
    i = j + 1;
  }
  return out;
}

}  // namespace tern::imap::proto
