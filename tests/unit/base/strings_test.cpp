// base/strings: durations, integers, unique ids, case-insensitive compare, split, RFC 5322 dates.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/strings.hpp"

namespace tern {
namespace {

using std::chrono::seconds;

// --- parse_duration -------------------------------------------------------------------------------

TEST(ParseDuration, Units) {
  EXPECT_EQ(parse_duration("30s"), seconds(30));
  EXPECT_EQ(parse_duration("5m"), seconds(300));
  EXPECT_EQ(parse_duration("4h"), seconds(4 * 3600));
  EXPECT_EQ(parse_duration("4d"), seconds(4 * 86400));
  EXPECT_EQ(parse_duration("1m"), seconds(60));
  EXPECT_EQ(parse_duration("0s"), seconds(0));
}

TEST(ParseDuration, BareNumberIsSeconds) {
  EXPECT_EQ(parse_duration("90"), seconds(90));
  EXPECT_EQ(parse_duration("0"), seconds(0));
  EXPECT_EQ(parse_duration("007m"), seconds(420));
}

TEST(ParseDuration, Malformed) {
  for (const char* s : {"", "s", "m", "h", "d", "5x", "x5", "-5m", "+5m", "5 m", " 5m", "5m ", "1.5h", "5ms",
                        "5mm", "m5", "1e3", "5S", "5M", "0x10"})
    EXPECT_EQ(parse_duration(s), std::nullopt) << "'" << s << "'";
}

TEST(ParseDuration, LargeValuesWithoutOverflow) {
  EXPECT_EQ(parse_duration("3650d"), seconds(3650ll * 86400));
  // Values whose product with the unit would overflow 64 bits must be refused, not wrap around.
  EXPECT_EQ(parse_duration("9999999999999999999d"), std::nullopt);
  EXPECT_EQ(parse_duration("999999999999999999h"), std::nullopt);
  EXPECT_EQ(parse_duration("18446744073709551615s"), std::nullopt);
  EXPECT_EQ(parse_duration("99999999999999999999"), std::nullopt);
  auto big = parse_duration("1000000d");
  EXPECT_TRUE(!big || big->count() == 1000000ll * 86400);  // refused or exact, never wrapped
}

// --- parse_u64 ------------------------------------------------------------------------------------

TEST(ParseU64, Values) {
  EXPECT_EQ(parse_u64("0"), 0u);
  EXPECT_EQ(parse_u64("1"), 1u);
  EXPECT_EQ(parse_u64("65535"), 65535u);
  EXPECT_EQ(parse_u64("0042"), 42u);
  EXPECT_EQ(parse_u64("4294967296"), 4294967296ull);
}

TEST(ParseU64, Limits) {
  EXPECT_EQ(parse_u64("9999999999999999999"), 9999999999999999999ull);      // 19 digits
  EXPECT_EQ(parse_u64("18446744073709551615"), 18446744073709551615ull);    // UINT64_MAX, 20 digits
  EXPECT_EQ(parse_u64("18446744073709551614"), 18446744073709551614ull);
  EXPECT_EQ(parse_u64("18446744073709551616"), std::nullopt);               // UINT64_MAX + 1
  EXPECT_EQ(parse_u64("18446744073709551620"), std::nullopt);
  EXPECT_EQ(parse_u64("20000000000000000000"), std::nullopt);
  EXPECT_EQ(parse_u64("99999999999999999999"), std::nullopt);
  EXPECT_EQ(parse_u64("184467440737095516150"), std::nullopt);              // 21 digits
  EXPECT_EQ(parse_u64(std::string(200, '9')), std::nullopt);
}

TEST(ParseU64, NonDigits) {
  for (const char* s : {"", " ", "-1", "+1", " 1", "1 ", "1a", "a1", "0x1f", "1.0", "1,000", "١"})
    EXPECT_EQ(parse_u64(s), std::nullopt) << "'" << s << "'";
  EXPECT_EQ(parse_u64(std::string_view("12\0" "3", 4)), std::nullopt);
}

// --- make_unique_id -------------------------------------------------------------------------------

TEST(MakeUniqueId, SafeInFileNames) {
  auto id = make_unique_id();
  EXPECT_GE(id.size(), 12u);
  EXPECT_LE(id.size(), 64u);
  for (char c : id) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << id;
  EXPECT_NE(id.front(), '.');
}

TEST(MakeUniqueId, UniqueAndOrderedInSequence) {
  std::vector<std::string> ids;
  for (int i = 0; i < 20000; ++i) ids.push_back(make_unique_id());
  for (std::size_t i = 1; i < ids.size(); ++i) ASSERT_LT(ids[i - 1], ids[i]) << "at " << i;
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
}

TEST(MakeUniqueId, OrderedAcrossTime) {
  auto a = make_unique_id();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto b = make_unique_id();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto c = make_unique_id();
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

TEST(MakeUniqueId, UniqueAcrossThreads) {
  constexpr int threads = 4, per_thread = 5000;
  std::vector<std::vector<std::string>> out(threads);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&out, t] {
      for (int i = 0; i < per_thread; ++i) out[t].push_back(make_unique_id());
    });
  for (auto& t : ts) t.join();
  std::set<std::string> all;
  for (auto& v : out) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(threads * per_thread));
}

// --- iequals, istarts_with, to_lower, trim ----------------------------------------------------------

TEST(IEquals, AsciiCaseFolding) {
  EXPECT_TRUE(iequals("", ""));
  EXPECT_TRUE(iequals("EHLO", "ehlo"));
  EXPECT_TRUE(iequals("Example.TEST", "example.test"));
  EXPECT_TRUE(iequals("a1-_@", "A1-_@"));
  EXPECT_FALSE(iequals("ehlo", "ehl"));
  EXPECT_FALSE(iequals("ehl", "ehlo"));
  EXPECT_FALSE(iequals("ehlo", "helo"));
  EXPECT_FALSE(iequals("a", ""));
  EXPECT_FALSE(iequals("[", "{"));  // 0x5b and 0x7b differ by 0x20 but are not letters
  EXPECT_FALSE(iequals("@", "`"));
  EXPECT_TRUE(iequals("\xc3\xa9", "\xc3\xa9"));
  EXPECT_FALSE(iequals("\xc3\xa9", "\xc3\x89"));  // é vs É: bytes, not Unicode folding
}

TEST(IStartsWith, Prefixes) {
  EXPECT_TRUE(istarts_with("MAIL FROM:<a@b>", "mail from:"));
  EXPECT_TRUE(istarts_with("abc", ""));
  EXPECT_FALSE(istarts_with("ma", "mail"));
  EXPECT_FALSE(istarts_with("rcpt to:", "mail"));
}

TEST(ToLower, OnlyAscii) {
  EXPECT_EQ(to_lower("Alice@Example.TEST"), "alice@example.test");
  EXPECT_EQ(to_lower("\xc3\x89"), "\xc3\x89");
  EXPECT_EQ(to_upper_ascii("ehlo x"), "EHLO X");
}

TEST(Trim, WhiteSpaceBothEnds) {
  EXPECT_EQ(trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(trim("\r\n"), "");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim("x"), "x");
}

// --- split ----------------------------------------------------------------------------------------

TEST(Split, KeepsEmptyFields) {
  EXPECT_EQ(split("a,b,,c", ','), (std::vector<std::string_view>{"a", "b", "", "c"}));
  EXPECT_EQ(split("a,", ','), (std::vector<std::string_view>{"a", ""}));
  EXPECT_EQ(split(",a", ','), (std::vector<std::string_view>{"", "a"}));
  EXPECT_EQ(split(",", ','), (std::vector<std::string_view>{"", ""}));
}

TEST(Split, NoSeparator) {
  EXPECT_EQ(split("abc", ','), (std::vector<std::string_view>{"abc"}));
  EXPECT_EQ(split("", ','), (std::vector<std::string_view>{""}));
}

TEST(Split, Lines) {
  auto parts = split("uidvalidity 17\nname INBOX\n", '\n');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0], "uidvalidity 17");
  EXPECT_EQ(parts[1], "name INBOX");
  EXPECT_EQ(parts[2], "");
}

// --- rfc5322_date ---------------------------------------------------------------------------------

std::chrono::system_clock::time_point at(std::int64_t unix_seconds) {
  return std::chrono::system_clock::time_point(seconds(unix_seconds));
}

TEST(Rfc5322Date, FixedTimes) {
  EXPECT_EQ(rfc5322_date(at(1795872005)), "Sat, 28 Nov 2026 13:20:05 +0000");
  EXPECT_EQ(rfc5322_date(at(951782400)), "Tue, 29 Feb 2000 00:00:00 +0000");
  EXPECT_EQ(rfc5322_date(at(946684799)), "Fri, 31 Dec 1999 23:59:59 +0000");
  EXPECT_EQ(rfc5322_date(at(0)), "Thu, 01 Jan 1970 00:00:00 +0000");
}

TEST(Rfc5322Date, SubSecondPartIgnored) {
  auto t = at(1795872005) + std::chrono::milliseconds(999);
  EXPECT_EQ(rfc5322_date(t), "Sat, 28 Nov 2026 13:20:05 +0000");
}

TEST(Rfc5322Date, NowHasTheRfc5322Shape) {
  // RFC 5322 3.3: day-of-week "," day month year hour ":" minute ":" second zone
  static const std::regex shape(
      R"(^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-3][0-9] (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) )"
      R"(20[0-9]{2} [0-2][0-9]:[0-5][0-9]:[0-6][0-9] \+0000$)");
  auto d = rfc5322_date();
  EXPECT_TRUE(std::regex_match(d, shape)) << d;
}

}  // namespace
}  // namespace tern
