#include "core/percent.h"

#include <gtest/gtest.h>

namespace sipi {
namespace {

TEST(PercentDecode, DecodesOnce) {
  EXPECT_EQ(percent_decode("a%2Fb").value(), "a/b");
  EXPECT_EQ(percent_decode("a%252Fb").value(), "a%2Fb");
  EXPECT_EQ(percent_decode("%41%42c").value(), "ABc");
  EXPECT_EQ(percent_decode("a+b").value(), "a+b");
  EXPECT_EQ(percent_decode("").value(), "");
}

TEST(PercentDecode, RejectsMalformedAndNul) {
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("%4"));
  EXPECT_FALSE(percent_decode("%g0"));
  EXPECT_FALSE(percent_decode("a%00"));
}

}  // namespace
}  // namespace sipi
