#include "source/resolver.h"

#include <gtest/gtest.h>

#include <fstream>

namespace sipi::source {
namespace {
namespace fs = std::filesystem;

class ResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("sipi-resolver-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    fs::create_directories(base_ / "root/pre/sub");
    std::ofstream(base_ / "root/img.tif") << "x";
    std::ofstream(base_ / "root/pre/img.tif") << "x";
    std::ofstream(base_ / "root/pre/sub/deep.tif") << "x";
    std::ofstream(base_ / "secret.txt") << "secret";
    fs::create_symlink(base_ / "secret.txt", base_ / "root/link_out");
    fs::create_symlink(base_ / "root/img.tif", base_ / "root/link_in");
    fs::create_directories(base_ / "root/adir");
    root_ = {fs::canonical(base_ / "root"), true};
  }
  void TearDown() override { fs::remove_all(base_); }
  fs::path base_;
  ImageRoot root_;
};

TEST_F(ResolverTest, PrefixAsPath) {
  auto r = resolve(root_, "pre", "img.tif");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, fs::canonical(base_ / "root/pre/img.tif"));
  auto deep = resolve(root_, "pre", "sub/deep.tif");
  ASSERT_TRUE(deep);
}

TEST_F(ResolverTest, PrefixIgnoredWhenNotAPath) {
  root_.prefix_as_path = false;
  auto r = resolve(root_, "pre", "img.tif");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, fs::canonical(base_ / "root/img.tif"));
}

TEST_F(ResolverTest, Missing) {
  auto r = resolve(root_, "", "nope.tif");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, Status::not_found);
}

TEST_F(ResolverTest, DirectoryIsNotAnImage) {
  auto r = resolve(root_, "", "adir");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, Status::not_found);
}

TEST_F(ResolverTest, Traversal) {
  for (auto [prefix, id] : std::vector<std::pair<std::string, std::string>>{
           {"", "../secret.txt"}, {"..", "secret.txt"}, {"pre/..", "img.tif"}, {"", "./img.tif"},
           {"", "a//b"}, {"", std::string("img.tif\0", 8)}, {"", ""}}) {
    auto r = resolve(root_, prefix, id);
    ASSERT_FALSE(r) << prefix << "/" << id;
    EXPECT_EQ(r.error().status, Status::bad_request) << prefix << "/" << id;
  }
}

TEST_F(ResolverTest, SymlinkOutOfRootRefused) {
  auto r = resolve(root_, "", "link_out");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, Status::bad_request);
  EXPECT_EQ(r.error().detail, "path.outside_root");
}

TEST_F(ResolverTest, SymlinkInsideRootAllowed) {
  auto r = resolve(root_, "", "link_in");
  ASSERT_TRUE(r);
}

}  // namespace
}  // namespace sipi::source
