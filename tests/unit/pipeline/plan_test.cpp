#include "pipeline/plan.h"

#include <gtest/gtest.h>

namespace sipi::pipeline {
namespace {

const std::vector<Dim> kPyramid{{20000, 20000}, {10000, 10000}, {5000, 5000}, {2500, 2500}, {1250, 1250}};

TEST(Plan, FullResolutionTile) {
  EXPECT_EQ(choose_level(kPyramid, {0, 0, 256, 256}, {256, 256}), 0u);
}

TEST(Plan, TileAtScaleFactor) {
  EXPECT_EQ(choose_level(kPyramid, {0, 0, 512, 512}, {256, 256}), 1u);
  EXPECT_EQ(choose_level(kPyramid, {4096, 4096, 4096, 4096}, {256, 256}), 4u);
}

TEST(Plan, NeverDecodesBelowOutputSize) {
  // 2000-wide output of the full image: level 3 (2500) is the smallest that is not smaller.
  EXPECT_EQ(choose_level(kPyramid, {0, 0, 20000, 20000}, {2000, 2000}), 3u);
  EXPECT_EQ(choose_level(kPyramid, {0, 0, 20000, 20000}, {2501, 2501}), 2u);
}

TEST(Plan, RegionAtLevelRoundsOutwards) {
  EXPECT_EQ(region_at_level({0, 0, 512, 512}, {20000, 20000}, {10000, 10000}), (Rect{0, 0, 256, 256}));
  EXPECT_EQ(region_at_level({1, 1, 3, 3}, {20000, 20000}, {10000, 10000}), (Rect{0, 0, 2, 2}));
  // Odd sizes: level sizes are ceil(W/2).
  EXPECT_EQ(region_at_level({1000, 0, 1001, 10}, {2001, 10}, {1001, 5}), (Rect{500, 0, 501, 5}));
}

TEST(Plan, RegionAtLevelNeverLeavesTheLevel) {
  for (std::int64_t x = 0; x < 997; x += 13) {
    Rect r = region_at_level({x, 0, 997 - x, 5}, {997, 5}, {125, 1});
    EXPECT_GE(r.x, 0);
    EXPECT_GE(r.w, 1);
    EXPECT_LE(r.x + r.w, 125);
  }
}

}  // namespace
}  // namespace sipi::pipeline
