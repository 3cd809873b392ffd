#include "core/media_types.h"

#include <gtest/gtest.h>

TEST(MediaTypes, ByExtensionAnyCase) {
  EXPECT_EQ(sipi::media_type_for_extension(".JPG"), "image/jpeg");
  EXPECT_EQ(sipi::media_type_for_extension(".jp2"), "image/jp2");
  EXPECT_EQ(sipi::media_type_for_extension(".j2c"), "image/x-jp2-codestream");
  EXPECT_EQ(sipi::media_type_for_extension(".j2k"), "image/x-jp2-codestream");
  EXPECT_EQ(sipi::media_type_for_extension(".html"), "text/html; charset=utf-8");
  EXPECT_EQ(sipi::media_type_for_extension(".csv"), "text/csv; charset=utf-8");
  EXPECT_EQ(sipi::media_type_for_extension(".exe"), "application/octet-stream");
  EXPECT_EQ(sipi::media_type_for_extension(""), "application/octet-stream");
  EXPECT_EQ(sipi::media_type_for_extension("."), "application/octet-stream");
}

TEST(MediaTypes, ExtensionFitsItsTypesOnly) {
  EXPECT_TRUE(sipi::extension_fits("image/jpeg", ".jpeg"));
  EXPECT_TRUE(sipi::extension_fits("image/tiff", ".TIF"));
  EXPECT_TRUE(sipi::extension_fits("image/jp2", ".j2k"));  // SIPI accepts a codestream name for JP2
  EXPECT_TRUE(sipi::extension_fits("image/x-jp2-codestream", ".j2c"));
  EXPECT_TRUE(sipi::extension_fits("text/plain", ".csv"));  // libmagic's name for many CSV files
  EXPECT_FALSE(sipi::extension_fits("image/png", ".jpg"));
  EXPECT_FALSE(sipi::extension_fits("image/png", ""));
  EXPECT_FALSE(sipi::extension_fits("application/x-unknown", ".png"));
}
