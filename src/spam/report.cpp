#include "spam/report.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace tern::spam {

void Report::add(std::string rule, double weight, std::string detail) {
  score += weight;
  if (detail.size() > 80) {  // often the sender's words (a file name)
    detail.resize(80);
    detail.append("...");
  }
  hits.push_back({std::move(rule), weight, std::move(detail)});
}

bool Report::fired(std::string_view rule) const {
  return std::any_of(hits.begin(), hits.end(), [&](const Hit& h) { return h.rule == rule; });
}

namespace {

std::vector<const Hit*> by_weight(const std::vector<Hit>& hits) {
  std::vector<const Hit*> out;
  for (const auto& h : hits) out.push_back(&h);
  std::stable_sort(out.begin(), out.end(),
                   [](const Hit* a, const Hit* b) { return std::fabs(a->score) > std::fabs(b->score); });
  return out;
}

}  // namespace

std::string Report::tests() const {
  std::string out;
  for (const Hit* h : by_weight(hits)) {
    if (!out.empty()) out += ',';
    out += fmt::format("{}={}", h->rule, format_score(h->score));
  }
  return out.empty() ? "none" : out;
}

std::string Report::top(std::size_t n) const {
  std::string out;
  auto sorted = by_weight(hits);
  for (std::size_t i = 0; i < sorted.size() && i < n; ++i) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{}({}){}", sorted[i]->rule, format_score(sorted[i]->score),
                       sorted[i]->detail.empty() ? "" : " " + sorted[i]->detail);
  }
  return out.empty() ? "no rule fired" : out;
}

std::string format_score(double score) {
  double r = std::round(score * 10) / 10;
  if (r == 0) r = 0;  // no "-0.0"
  return fmt::format("{:.1f}", r);
}

}  // namespace tern::spam
