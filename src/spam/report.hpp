// spam/report: what the spam checks found in one message: the rules that fired, each with its weight
// and a short detail, and their sum. The filter stage (filter/spam) turns the sum into a verdict with
// the thresholds of the configuration; the header field and the log line are written from here.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace tern::spam {

struct Hit {
  std::string rule;    // upper-case name, as SpamAssassin and rspamd write them: URL_RAW_IP
  double score = 0;    // the weight it added (negative: evidence of ham)
  std::string detail;  // what matched, for the log ("" when the name says it all)
};

struct Report {
  std::vector<Hit> hits;
  double score = 0;

  void add(std::string rule, double weight, std::string detail = {});
  bool fired(std::string_view rule) const;
  // The hits by falling weight, as "RULE=2.5" joined with commas (SpamAssassin's tests= list).
  std::string tests() const;
  // The `top` heaviest hits with their details, for the log line.
  std::string top(std::size_t top) const;
};

// A score as the header fields print it: one decimal.
std::string format_score(double score);

}  // namespace tern::spam
