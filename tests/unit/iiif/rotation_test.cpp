#include "iiif/rotation.h"

#include <gtest/gtest.h>

namespace sipi::iiif {
namespace {

struct RotCase {
  const char* text;
  bool mirror;
  double degrees;
  const char* canonical;
};

class RotationValid : public ::testing::TestWithParam<RotCase> {};

TEST_P(RotationValid, Parses) {
  const auto& c = GetParam();
  auto r = parse_rotation(c.text);
  ASSERT_TRUE(r) << c.text;
  EXPECT_EQ(r->mirror, c.mirror);
  EXPECT_DOUBLE_EQ(r->degrees, c.degrees);
  EXPECT_EQ(canonical_rotation(*r), c.canonical);
}

INSTANTIATE_TEST_SUITE_P(Table, RotationValid,
                         ::testing::Values(RotCase{"0", false, 0, "0"}, RotCase{"90", false, 90, "90"},
                                           RotCase{"180", false, 180, "180"}, RotCase{"270", false, 270, "270"},
                                           RotCase{"360", false, 360, "360"}, RotCase{"!0", true, 0, "!0"},
                                           RotCase{"!90", true, 90, "!90"}, RotCase{"22.5", false, 22.5, "22.5"},
                                           RotCase{"90.0", false, 90, "90"}, RotCase{"0.50", false, 0.5, "0.5"},
                                           RotCase{"007", false, 7, "7"}, RotCase{"!359.99", true, 359.99, "!359.99"}));

class RotationInvalid : public ::testing::TestWithParam<const char*> {};

TEST_P(RotationInvalid, GivesBadRequest) {
  auto r = parse_rotation(GetParam());
  ASSERT_FALSE(r) << GetParam();
  EXPECT_EQ(r.error().status, Status::bad_request);
}

INSTANTIATE_TEST_SUITE_P(Table, RotationInvalid,
                         ::testing::Values("", "-90", "361", "360.5", "!!90", "90!", "abc", "1e2", "+90", " 90",
                                           "90.", ".5", "!", "0x10"));

TEST(Rotation, RightAngles) {
  EXPECT_TRUE(parse_rotation("360")->is_right_angle());
  EXPECT_DOUBLE_EQ(parse_rotation("360")->effective(), 0.0);
  EXPECT_FALSE(parse_rotation("45")->is_right_angle());
}

}  // namespace
}  // namespace sipi::iiif
