// base/fault: TERN_FAULT=<point> makes the process SIGKILL itself at that point, and only there.
//
// TERN_FAULT is read once, before main, so the death tests run in the "threadsafe" style: the child is
// this binary executed again, with the variable set here beforehand in its environment.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>

#include "base/fault.hpp"

namespace tern {
namespace {

class FaultDeath : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
  void TearDown() override { ::unsetenv("TERN_FAULT"); }
};

TEST(Fault, UnarmedPointsDoNothing) {
  // The test binary runs without TERN_FAULT (ctest does not set it).
  ASSERT_EQ(std::getenv("TERN_FAULT"), nullptr);
  EXPECT_EQ(fault::armed_point(), "");
  fault::point("spool.after_queue_file_written");
  fault::point("");
  SUCCEED();
}

TEST_F(FaultDeath, TheNamedPointKills) {
  ::setenv("TERN_FAULT", "test.here", 1);
  EXPECT_EXIT(
      {
        fault::point("test.elsewhere");  // another point: goes on
        fault::point("test.her");        // a prefix is not the name
        fault::point("test.here.too");
        fault::point("test.here");
        std::exit(0);  // not reached
      },
      ::testing::KilledBySignal(SIGKILL), "fault injection: SIGKILL at test.here\n");
}

TEST_F(FaultDeath, AnotherPointDoesNotKill) {
  ::setenv("TERN_FAULT", "test.here", 1);
  EXPECT_EXIT(
      {
        if (fault::armed_point() != "test.here") std::exit(2);  // the child read the variable
        fault::point("test.other");
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(FaultDeath, EmptyVariableIsUnarmed) {
  ::setenv("TERN_FAULT", "", 1);
  EXPECT_EXIT(
      {
        fault::point("");
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace tern
