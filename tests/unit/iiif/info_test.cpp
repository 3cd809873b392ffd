#include "iiif/info.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sipi::iiif {
namespace {

TEST(ScaleFactors, UpToOneTile) {
  EXPECT_EQ(scale_factors({512, 512}, {512, 512}), (std::vector<int>{1}));
  EXPECT_EQ(scale_factors({513, 100}, {512, 512}), (std::vector<int>{1, 2}));
  EXPECT_EQ(scale_factors({20000, 10000}, {256, 256}), (std::vector<int>{1, 2, 4, 8, 16, 32, 64, 128}));
}

TEST(InfoJson, RequiredAndDeclaredFields) {
  InfoInput in{"https://example.org/iiif/img.tif", {3000, 2000}, {512, 512}, 1, {4000, 4000, 10000000}, {}};
  auto j = nlohmann::json::parse(info_json(in));
  EXPECT_EQ(j.begin().key(), "@context");  // SHOULD be first; nlohmann::json sorts, so check the text
  auto text = info_json(in);
  EXPECT_EQ(text.rfind("{\"@context\":\"http://iiif.io/api/image/3/context.json\"", 0), 0u);
  EXPECT_EQ(j["id"], "https://example.org/iiif/img.tif");
  EXPECT_EQ(j["type"], "ImageService3");
  EXPECT_EQ(j["protocol"], "http://iiif.io/api/image");
  EXPECT_EQ(j["profile"], "level2");
  EXPECT_EQ(j["width"], 3000);
  EXPECT_EQ(j["height"], 2000);
  EXPECT_EQ(j["maxWidth"], 4000);
  EXPECT_EQ(j["maxHeight"], 4000);
  EXPECT_EQ(j["maxArea"], 10000000);
  EXPECT_EQ(j["tiles"][0]["width"], 512);
  EXPECT_EQ(j["tiles"][0]["scaleFactors"], (std::vector<int>{1, 2, 4, 8}));
  // sizes ascending, ceil(W/f), all within limits
  std::vector<std::pair<int, int>> sizes;
  for (auto& s : j["sizes"]) sizes.emplace_back(s["width"], s["height"]);
  EXPECT_EQ(sizes, (std::vector<std::pair<int, int>>{{375, 250}, {750, 500}, {1500, 1000}, {3000, 2000}}));
  EXPECT_EQ(j["extraQualities"], (std::vector<std::string>{"color", "gray", "bitonal"}));
  EXPECT_EQ(j["extraFormats"], (std::vector<std::string>{"webp", "tif", "jp2", "gif", "pdf"}));
  EXPECT_EQ(j["extraFeatures"].size(), 17u);
  EXPECT_FALSE(j.contains("numpages"));
}

TEST(InfoJson, UndeclaredLimitsAreLeftOut) {
  Limits none{10'000'000, 10'000'000, 100'000'000'000'000};
  none.declared_width = none.declared_height = none.declared_area = false;
  InfoInput in{"http://h/x", {3000, 2000}, {512, 512}, 1, none, {}};
  auto j = nlohmann::json::parse(info_json(in));
  EXPECT_FALSE(j.contains("maxWidth") || j.contains("maxHeight") || j.contains("maxArea"));
  EXPECT_EQ(j["sizes"].back()["width"], 3000);
}

TEST(InfoJson, SizesRespectLimits) {
  InfoInput in{"http://h/x", {20000, 20000}, {256, 256}, 3, {4096, 4096, 16000000}, {}};
  auto j = nlohmann::json::parse(info_json(in));
  for (auto& s : j["sizes"]) {
    EXPECT_LE(s["width"].get<int>(), 4096);
    EXPECT_LE(s["width"].get<long long>() * s["height"].get<long long>(), 16000000);
  }
  EXPECT_EQ(j["numpages"], 3);
}

}  // namespace
}  // namespace sipi::iiif
