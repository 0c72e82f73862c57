// base/metrics: the histogram's exposition (cumulative buckets, +Inf equal to _count, _sum) and the
// labelled gauge going up and down.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "base/metrics.hpp"

namespace tern::metrics {
namespace {

using namespace std::chrono_literals;

TEST(Metrics, HistogramBucketsAreCumulative) {
  Histogram h("tern_test_seconds", "A test");
  h.observe(1ms);     // le 0.005
  h.observe(5ms);     // le 0.005 (bounds are inclusive)
  h.observe(300ms);   // le 0.5
  h.observe(90s);     // only +Inf
  auto text = h.render();
  EXPECT_NE(text.find("# HELP tern_test_seconds A test\n# TYPE tern_test_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("tern_test_seconds_bucket{le=\"0.005\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tern_test_seconds_bucket{le=\"0.25\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tern_test_seconds_bucket{le=\"0.5\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tern_test_seconds_bucket{le=\"60\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tern_test_seconds_bucket{le=\"+Inf\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tern_test_seconds_sum 90.306\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tern_test_seconds_count 4\n"), std::string::npos) << text;
}

TEST(Metrics, TimerObservesOnceAndDismissObservesNothing) {
  Histogram h("tern_t_seconds", "t");
  {
    Timer t(h);
    t.stop();
  }  // the end does not observe again
  {
    Timer t(h);
    t.dismiss();
  }
  { Timer t(h); }
  EXPECT_NE(h.render().find("tern_t_seconds_count 2\n"), std::string::npos);
}

TEST(Metrics, LabelledGaugeGoesUpAndDown) {
  LabelledGauge g("tern_g", "g", "listener");
  g.add("smtp", 1);
  g.add("smtp", 1);
  g.add("smtp", -1);
  g.add("imap", 1);
  auto v = g.values();
  EXPECT_EQ(v["smtp"], 1);
  EXPECT_EQ(v["imap"], 1);
}

TEST(Metrics, RenderHasEveryHistogram) {
  auto text = render();
  for (auto name : {"tern_smtp_transaction_seconds", "tern_delivery_attempt_seconds", "tern_http_request_seconds"})
    EXPECT_NE(text.find(std::string("# TYPE ") + name + " histogram\n"), std::string::npos) << name;
}

}  // namespace
}  // namespace tern::metrics
