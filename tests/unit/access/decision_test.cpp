#include "access/decision.h"

#include <gtest/gtest.h>

namespace sipi::access {
namespace {

lua::HookReturn str(const std::string& p, std::optional<std::string> path = "/img/x.tif") {
  lua::HookReturn r;
  r.permission = p;
  r.path = std::move(path);
  return r;
}

lua::HookReturn table(std::map<std::string, std::string> fields, std::optional<std::string> path = "/img/x.tif") {
  lua::HookReturn r;
  r.is_table = true;
  r.fields = std::move(fields);
  r.permission = r.fields.count("type") ? r.fields["type"] : "";
  r.path = std::move(path);
  return r;
}

TEST(Decision, AllowNeedsPath) {
  auto d = interpret(str("allow"));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, Decision::Kind::allow);
  EXPECT_EQ(*d->path, "/img/x.tif");
  EXPECT_FALSE(interpret(str("allow", std::nullopt)));
}

TEST(Decision, DenyNeedsNoPath) {
  auto d = interpret(str("deny", std::nullopt));
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->serves());
}

TEST(Decision, RestrictNeedsSizeOrWatermark) {
  EXPECT_FALSE(interpret(table({{"type", "restrict"}})));
  auto d = interpret(table({{"type", "restrict"}, {"size", "!128,128"}}));
  ASSERT_TRUE(d);
  EXPECT_EQ(*d->size, "!128,128");
  EXPECT_TRUE(d->serves());
  EXPECT_NE(d->fingerprint(), interpret(str("allow"))->fingerprint());
  d = interpret(table({{"type", "restrict"}, {"watermark", "/wm.tif"}}));
  ASSERT_TRUE(d);
  EXPECT_EQ(*d->watermark, "/wm.tif");
}

TEST(Decision, AuthKindsNeedCookieAndTokenUrls) {
  for (const char* k : {"login", "clickthrough", "kiosk", "external"}) {
    EXPECT_FALSE(interpret(table({{"type", k}, {"cookieUrl", "c"}}))) << k;
    auto d = interpret(table({{"type", k}, {"cookieUrl", "c"}, {"tokenUrl", "t"}, {"label", "L"}}));
    ASSERT_TRUE(d) << k;
    EXPECT_TRUE(d->is_auth());
    EXPECT_FALSE(d->serves());
    EXPECT_EQ(d->auth.at("label"), "L");
    EXPECT_EQ(d->auth.count("type"), 0u);
  }
}

TEST(Decision, RejectsUnknownAndNonStringValues) {
  EXPECT_FALSE(interpret(str("maybe")));
  EXPECT_FALSE(interpret(str("")));
  EXPECT_FALSE(interpret(str("restrict:size=!128,128")));  // old comment syntax, never valid
  auto r = table({{"type", "restrict"}, {"size", "!1,1"}});
  r.bad_fields.push_back("size");
  auto d = interpret(r);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().detail, "lua.hook_return");
}

}  // namespace
}  // namespace sipi::access
