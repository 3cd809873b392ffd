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

TEST(PercentEncode, EscapesIiifSet) {
  EXPECT_EQ(percent_encode_identifier("a/b?c#d[e]f@g%h"), "a%2Fb%3Fc%23d%5Be%5Df%40g%25h");
  EXPECT_EQ(percent_decode(percent_encode_identifier("x/y z")).value(), "x/y z");
}

}  // namespace
}  // namespace sipi
