#include "iiif/size.h"

#include <gtest/gtest.h>

namespace sipi::iiif {
namespace {

const Limits kLimits{1000, 800, 500000};

struct SizeCase {
  const char* text;
  Dim region;
  Dim expected;
  const char* canonical;
};

class SizeValid : public ::testing::TestWithParam<SizeCase> {};

TEST_P(SizeValid, ResolvesAndCanonicalises) {
  const auto& c = GetParam();
  auto spec = parse_size(c.text);
  ASSERT_TRUE(spec) << c.text;
  auto d = resolve_size(*spec, c.region, kLimits);
  ASSERT_TRUE(d) << c.text << " " << d.error().detail;
  EXPECT_EQ(*d, c.expected) << c.text;
  EXPECT_EQ(canonical_size(*d, c.region, kLimits), c.canonical) << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    Table, SizeValid,
    ::testing::Values(SizeCase{"max", {300, 200}, {300, 200}, "max"},
                      SizeCase{"max", {2000, 1000}, {1000, 500}, "max"},     // limited by maxWidth
                      SizeCase{"max", {1000, 1000}, {707, 707}, "max"},      // limited by maxArea
                      SizeCase{"^max", {100, 50}, {1000, 500}, "^max"},
                      SizeCase{"^max", {300, 200}, {866, 577}, "^max"},      // area-bound
                      SizeCase{"150,", {300, 200}, {150, 100}, "150,100"},
                      SizeCase{"300,", {300, 200}, {300, 200}, "max"},
                      SizeCase{",100", {300, 200}, {150, 100}, "150,100"},
                      SizeCase{"100,", {300, 201}, {100, 67}, "100,67"},    // 67.0 rounded
                      SizeCase{"1,", {300, 200}, {1, 1}, "1,1"},            // 0.67 rounds to 1
                      SizeCase{"pct:50", {300, 200}, {150, 100}, "150,100"},
                      SizeCase{"pct:100", {300, 200}, {300, 200}, "max"},
                      SizeCase{"pct:33.3", {300, 200}, {100, 67}, "100,67"},
                      SizeCase{"150,50", {300, 200}, {150, 50}, "150,50"},   // distorts
                      SizeCase{"300,200", {300, 200}, {300, 200}, "max"},
                      SizeCase{"!150,150", {300, 200}, {150, 100}, "150,100"},
                      SizeCase{"!300,50", {300, 200}, {75, 50}, "75,50"},
                      SizeCase{"!300,200", {300, 200}, {300, 200}, "max"},
                      SizeCase{"!500,200", {300, 200}, {300, 200}, "max"},    // one axis binds at 1:1
                      SizeCase{"^600,", {300, 200}, {600, 400}, "^600,400"},
                      SizeCase{"^,400", {300, 200}, {600, 400}, "^600,400"},
                      SizeCase{"^pct:200", {300, 200}, {600, 400}, "^600,400"},
                      SizeCase{"^pct:50", {300, 200}, {150, 100}, "150,100"},
                      SizeCase{"^600,100", {300, 200}, {600, 100}, "^600,100"},
                      SizeCase{"^!600,600", {300, 200}, {600, 400}, "^600,400"},
                      SizeCase{"^150,", {300, 200}, {150, 100}, "150,100"}));

struct SizeError {
  const char* text;
  Dim region;
  const char* detail;
};

class SizeInvalid : public ::testing::TestWithParam<SizeError> {};

TEST_P(SizeInvalid, GivesBadRequest) {
  const auto& c = GetParam();
  auto spec = parse_size(c.text);
  const Error* e = nullptr;
  Result<Dim> d = Dim{};
  if (spec) {
    d = resolve_size(*spec, c.region, kLimits);
    ASSERT_FALSE(d) << c.text;
    e = &d.error();
  } else {
    e = &spec.error();
  }
  EXPECT_EQ(e->status, Status::bad_request);
  EXPECT_EQ(e->detail, c.detail) << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    Table, SizeInvalid,
    ::testing::Values(SizeError{"full", {300, 200}, "iiif.size.syntax"},  // IIIF 2.x form
                      SizeError{"", {300, 200}, "iiif.size.syntax"},
                      SizeError{",", {300, 200}, "iiif.size.syntax"},
                      SizeError{"!150,", {300, 200}, "iiif.size.syntax"},
                      SizeError{"!,150", {300, 200}, "iiif.size.syntax"},
                      SizeError{"!pct:50", {300, 200}, "iiif.size.syntax"},
                      SizeError{"^^max", {300, 200}, "iiif.size.syntax"},
                      SizeError{"pct:", {300, 200}, "iiif.size.syntax"},
                      SizeError{"pct:-5", {300, 200}, "iiif.size.syntax"},
                      SizeError{"150.5,", {300, 200}, "iiif.size.syntax"},
                      SizeError{"1,2,3", {300, 200}, "iiif.size.syntax"},
                      SizeError{"MAX", {300, 200}, "iiif.size.syntax"},
                      SizeError{"0,", {300, 200}, "iiif.size.zero"},
                      SizeError{",0", {300, 200}, "iiif.size.zero"},
                      SizeError{"pct:0", {300, 200}, "iiif.size.zero"},
                      SizeError{"301,", {300, 200}, "iiif.size.upscale_without_caret"},
                      SizeError{",201", {300, 200}, "iiif.size.upscale_without_caret"},
                      SizeError{"pct:101", {300, 200}, "iiif.size.upscale_without_caret"},
                      SizeError{"300,201", {300, 200}, "iiif.size.upscale_without_caret"},
                      SizeError{"!600,600", {300, 200}, "iiif.size.upscale_without_caret"},
                      SizeError{"pct:0.1", {300, 200}, "iiif.size.too_small"},
                      SizeError{"^1001,", {300, 200}, "iiif.size.over_limits"},
                      SizeError{"^900,700", {300, 200}, "iiif.size.over_limits"},  // area
                      SizeError{"1001,", {2000, 200}, "iiif.size.over_limits"}));

TEST(SizeUndeclared, UpscaledMaxIsTheRegionItself) {
  // IIIF: ^max is the largest size the declared limits allow; with none declared, sipi (as the
  // issue asks of a SIPI drop-in) answers the region at its own size rather than 10 million px.
  Limits none{10'000'000, 10'000'000, 100'000'000'000'000};
  none.declared_width = none.declared_height = none.declared_area = false;
  auto up = parse_size("^max");
  ASSERT_TRUE(up);
  EXPECT_EQ(*resolve_size(*up, {300, 200}, none), (Dim{300, 200}));
  EXPECT_EQ(*resolve_size(*parse_size("max"), {30000, 20000}, none), (Dim{30000, 20000}));
  EXPECT_EQ(*resolve_size(*parse_size("^600,"), {300, 200}, none), (Dim{600, 400}));  // explicit sizes still upscale
}

}  // namespace
}  // namespace sipi::iiif
