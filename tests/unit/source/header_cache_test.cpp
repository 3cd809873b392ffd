#include "source/header_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace {

// Test files are written with the vips CLI (libvips-tools, installed by setup).
fs::path write_tiff(const fs::path& dir, const char* name, int w, int h) {
  fs::path p = dir / name;
  std::string cmd = "vips black '" + p.string() + "' " + std::to_string(w) + " " + std::to_string(h) + " >/dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  return p;
}

}  // namespace

TEST(HeaderCache, ProbesOncePerVersionOfAFile) {
  char tmpl[] = "/tmp/sipi-hc-XXXXXX";
  fs::path dir = ::mkdtemp(tmpl);
  auto a = write_tiff(dir, "a.tif", 30, 20);
  sipi::source::HeaderCache cache;
  auto h1 = cache.get(a, 0, 1, 100);
  ASSERT_TRUE(h1);
  EXPECT_EQ((*h1)->shape.size.w, 30);
  auto h2 = cache.get(a, 0, 1, 100);
  ASSERT_TRUE(h2);
  EXPECT_EQ(h1->get(), h2->get());
  EXPECT_EQ(cache.hits(), 1u);
  // Another version (mtime or size) of the file is probed again.
  write_tiff(dir, "a.tif", 40, 20);
  auto h3 = cache.get(a, 0, 2, 100);
  ASSERT_TRUE(h3);
  EXPECT_EQ((*h3)->shape.size.w, 40);
  EXPECT_EQ(cache.misses(), 2u);
  // Errors are reported, not cached.
  EXPECT_FALSE(cache.get(dir / "missing.tif", 0, 1, 1));
  EXPECT_FALSE(cache.get(dir / "missing.tif", 0, 1, 1));
  EXPECT_EQ(cache.misses(), 4u);
  fs::remove_all(dir);
}

TEST(HeaderCache, StaysWithinItsByteBound) {
  char tmpl[] = "/tmp/sipi-hc-XXXXXX";
  fs::path dir = ::mkdtemp(tmpl);
  auto a = write_tiff(dir, "a.tif", 10, 10);
  sipi::source::HeaderCache cache(2000);  // room for a handful of small headers
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(cache.get(a, 0, i, 1));
  // The most recent ones are still there; the first is long gone.
  auto before = cache.misses();
  ASSERT_TRUE(cache.get(a, 0, 99, 1));
  EXPECT_EQ(cache.misses(), before);
  ASSERT_TRUE(cache.get(a, 0, 0, 1));
  EXPECT_EQ(cache.misses(), before + 1);
  fs::remove_all(dir);
}
