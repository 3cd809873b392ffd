#include "cache/derivative_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using sipi::cache::DerivativeCache;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/sipi-cache-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::vector<fs::path> entries(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  return out;
}

std::unique_ptr<DerivativeCache> open(const fs::path& dir, std::uint64_t bytes, std::uint64_t files) {
  auto c = DerivativeCache::open(dir, {bytes, files});
  EXPECT_TRUE(c.has_value());
  return std::move(*c);
}

}  // namespace

TEST(DerivativeCache, HitReturnsTheStoredBytes) {
  TempDir d;
  auto c = open(d.path / "c", 0, 0);
  std::string body("\x00\xff binary \r\n body", 17);
  EXPECT_FALSE(c->get("k1"));
  c->put("k1", body);
  auto got = c->get("k1");
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, body);
  EXPECT_FALSE(c->get("k2"));
  auto s = c->stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.files, 1u);
}

TEST(DerivativeCache, TruncatedOrAlteredFileIsNotServedAndIsRemoved) {
  TempDir d;
  auto c = open(d.path, 0, 0);
  c->put("a", std::string(1000, 'a'));
  c->put("b", std::string(1000, 'b'));
  auto files = entries(d.path);
  ASSERT_EQ(files.size(), 2u);
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), {});
    if (all.back() == 'a') {
      fs::resize_file(f, fs::file_size(f) - 10);  // truncated
    } else {
      all[all.size() - 5] = 'x';  // same length, one byte changed
      std::ofstream(f, std::ios::binary | std::ios::trunc) << all;
    }
  }
  EXPECT_FALSE(c->get("a"));
  EXPECT_FALSE(c->get("b"));
  EXPECT_EQ(c->stats().corrupt, 2u);
  EXPECT_EQ(entries(d.path).size(), 0u);
  EXPECT_EQ(c->stats().files, 0u);
  EXPECT_EQ(c->stats().bytes, 0u);
}

TEST(DerivativeCache, EvictsLeastRecentlyUsedDownTo80PercentOfTheFileLimit) {
  TempDir d;
  auto c = open(d.path, 0, 10);
  for (int i = 0; i < 10; ++i) c->put("k" + std::to_string(i), "body" + std::to_string(i));
  ASSERT_TRUE(c->get("k0"));  // k0 becomes the most recent
  c->put("k10", "body10");    // 11 > 10 → down to 8
  EXPECT_EQ(c->stats().files, 8u);
  EXPECT_EQ(entries(d.path).size(), 8u);
  EXPECT_EQ(c->stats().evictions, 3u);
  EXPECT_TRUE(c->get("k0"));
  EXPECT_FALSE(c->get("k1"));
  EXPECT_FALSE(c->get("k2"));
  EXPECT_FALSE(c->get("k3"));
  EXPECT_TRUE(c->get("k4"));
  EXPECT_TRUE(c->get("k10"));
}

TEST(DerivativeCache, KeepsTheByteLimitAndSkipsBodiesLargerThanTheCache) {
  TempDir d;
  const std::uint64_t limit = 20000;
  auto c = open(d.path, limit, 0);
  for (int i = 0; i < 50; ++i) {
    c->put("key" + std::to_string(i), std::string(1500, static_cast<char>('a' + i % 26)));
    ASSERT_LE(c->stats().bytes, limit);
  }
  std::uint64_t on_disk = 0;
  for (const auto& f : entries(d.path)) on_disk += fs::file_size(f);
  EXPECT_EQ(on_disk, c->stats().bytes);
  EXPECT_TRUE(c->get("key49"));
  c->put("huge", std::string(limit + 1, 'h'));
  EXPECT_FALSE(c->get("huge"));
  EXPECT_EQ(c->stats().skips, 1u);
}

TEST(DerivativeCache, SurvivesARestartAndDropsInterruptedWrites) {
  TempDir d;
  {
    auto c = open(d.path, 0, 0);
    c->put("old", "old body");
    c->put("new", "new body");
  }
  std::ofstream(d.path / ".tmp-deadbeef-1-0") << "partial";
  std::ofstream(d.path / "README") << "not ours";  // left alone
  auto c = open(d.path, 0, 0);
  EXPECT_FALSE(fs::exists(d.path / ".tmp-deadbeef-1-0"));
  EXPECT_TRUE(fs::exists(d.path / "README"));
  EXPECT_EQ(c->stats().files, 2u);
  EXPECT_EQ(c->get("old").value_or(""), "old body");
  EXPECT_EQ(c->get("new").value_or(""), "new body");
}

TEST(DerivativeCache, ReopeningWithSmallerLimitsEvicts) {
  TempDir d;
  {
    auto c = open(d.path, 0, 0);
    for (int i = 0; i < 10; ++i) c->put("k" + std::to_string(i), "v");
  }
  auto c = open(d.path, 0, 5);
  EXPECT_EQ(c->stats().files, 4u);
  EXPECT_EQ(entries(d.path).size(), 4u);
}

TEST(DerivativeCache, ParsesSipiCacheSize) {
  std::optional<std::uint64_t> b;
  ASSERT_TRUE(sipi::cache::parse_cache_size("-1", b));
  EXPECT_EQ(b, std::optional<std::uint64_t>(0));  // unlimited
  ASSERT_TRUE(sipi::cache::parse_cache_size("0", b));
  EXPECT_FALSE(b);  // disabled
  ASSERT_TRUE(sipi::cache::parse_cache_size("200M", b));
  EXPECT_EQ(*b, 200ull * 1024 * 1024);
  EXPECT_FALSE(sipi::cache::parse_cache_size("lots", b));
}
