#include "iiif/region.h"

#include <gtest/gtest.h>

namespace sipi::iiif {
namespace {

struct RegionCase {
  const char* text;
  Dim image;
  Rect expected;
};

class RegionValid : public ::testing::TestWithParam<RegionCase> {};

TEST_P(RegionValid, ResolvesToPixels) {
  const auto& c = GetParam();
  auto spec = parse_region(c.text);
  ASSERT_TRUE(spec) << c.text;
  auto r = resolve_region(*spec, c.image);
  ASSERT_TRUE(r) << c.text << " " << r.error().detail;
  EXPECT_EQ(*r, c.expected) << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    Table, RegionValid,
    ::testing::Values(RegionCase{"full", {300, 200}, {0, 0, 300, 200}},
                      RegionCase{"square", {300, 200}, {50, 0, 200, 200}},
                      RegionCase{"square", {200, 301}, {0, 50, 200, 200}},
                      RegionCase{"square", {5, 5}, {0, 0, 5, 5}},
                      RegionCase{"0,0,10,10", {300, 200}, {0, 0, 10, 10}},
                      RegionCase{"10,20,30,40", {300, 200}, {10, 20, 30, 40}},
                      RegionCase{"250,150,100,100", {300, 200}, {250, 150, 50, 50}},  // clipped at edge
                      RegionCase{"299,199,1,1", {300, 200}, {299, 199, 1, 1}},
                      RegionCase{"0,0,999999,999999", {300, 200}, {0, 0, 300, 200}},
                      RegionCase{"pct:0,0,100,100", {300, 200}, {0, 0, 300, 200}},
                      RegionCase{"pct:10,10,50,50", {300, 200}, {30, 20, 150, 100}},
                      RegionCase{"pct:50,50,100,100", {300, 200}, {150, 100, 150, 100}},
                      RegionCase{"pct:33.3,0,33.4,100", {300, 200}, {100, 0, 100, 200}},
                      RegionCase{"pct:0.5,0.5,1.5,1.5", {1000, 1000}, {5, 5, 15, 15}}));

struct RegionError {
  const char* text;
  Dim image;
  const char* detail;
};

class RegionInvalid : public ::testing::TestWithParam<RegionError> {};

TEST_P(RegionInvalid, GivesBadRequest) {
  const auto& c = GetParam();
  auto spec = parse_region(c.text);
  if (spec) {
    auto r = resolve_region(*spec, c.image);
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().status, Status::bad_request);
    EXPECT_EQ(r.error().detail, c.detail) << c.text;
  } else {
    EXPECT_EQ(spec.error().status, Status::bad_request);
    EXPECT_EQ(spec.error().detail, c.detail) << c.text;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, RegionInvalid,
    ::testing::Values(RegionError{"", {10, 10}, "iiif.region.syntax"},
                      RegionError{"Full", {10, 10}, "iiif.region.syntax"},
                      RegionError{"0,0,10", {10, 10}, "iiif.region.syntax"},
                      RegionError{"0,0,10,10,10", {10, 10}, "iiif.region.syntax"},
                      RegionError{"-1,0,10,10", {10, 10}, "iiif.region.syntax"},
                      RegionError{"0,0,1.5,10", {10, 10}, "iiif.region.syntax"},
                      RegionError{"0,0,,10", {10, 10}, "iiif.region.syntax"},
                      RegionError{"0, 0,10,10", {10, 10}, "iiif.region.syntax"},
                      RegionError{"+1,0,10,10", {10, 10}, "iiif.region.syntax"},
                      RegionError{"1e3,0,10,10", {10, 10}, "iiif.region.syntax"},
                      RegionError{"pct:", {10, 10}, "iiif.region.syntax"},
                      RegionError{"pct:1,2,3", {10, 10}, "iiif.region.syntax"},
                      RegionError{"pct:-1,0,10,10", {10, 10}, "iiif.region.syntax"},
                      RegionError{"pct:.5,0,10,10", {10, 10}, "iiif.region.syntax"},
                      RegionError{"pct:5.,0,10,10", {10, 10}, "iiif.region.syntax"},
                      RegionError{"0,0,0,10", {10, 10}, "iiif.region.zero"},
                      RegionError{"0,0,10,0", {10, 10}, "iiif.region.zero"},
                      RegionError{"pct:0,0,0,10", {10, 10}, "iiif.region.zero"},
                      RegionError{"10,0,5,5", {10, 10}, "iiif.region.outside_image"},
                      RegionError{"0,10,5,5", {10, 10}, "iiif.region.outside_image"},
                      RegionError{"pct:100,0,5,5", {10, 10}, "iiif.region.outside_image"},
                      RegionError{"pct:0,0,0.01,50", {10, 10}, "iiif.region.empty"},
                      RegionError{"99999999999,0,1,1", {10, 10}, "iiif.region.syntax"}));

TEST(RegionCanonical, FullWhenWholeImage) {
  EXPECT_EQ(canonical_region({0, 0, 300, 200}, {300, 200}), "full");
  EXPECT_EQ(canonical_region({0, 0, 300, 199}, {300, 200}), "0,0,300,199");
  EXPECT_EQ(canonical_region({50, 0, 200, 200}, {300, 200}), "50,0,200,200");
}

}  // namespace
}  // namespace sipi::iiif
