#include "cache/derivative_cache.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

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

std::unique_ptr<DerivativeCache> open(const fs::path& dir, std::uint64_t bytes, std::uint64_t files,
                                      std::chrono::seconds rescan = std::chrono::seconds(60)) {
  auto c = DerivativeCache::open(dir, {bytes, files, rescan});
  EXPECT_TRUE(c.has_value());
  return std::move(*c);
}

// Sets a file's modification time to `ago` before now.
void age(const fs::path& f, std::chrono::seconds ago) {
  timespec t[2];
  ::clock_gettime(CLOCK_REALTIME, &t[0]);
  t[0].tv_sec -= ago.count();
  t[1] = t[0];
  ASSERT_EQ(::utimensat(AT_FDCWD, f.c_str(), t, 0), 0);
}

std::time_t mtime(const fs::path& f) {
  struct stat st {};
  EXPECT_EQ(::stat(f.c_str(), &st), 0);
  return st.st_mtim.tv_sec;
}

// The entry file of `key`, found by its contents.
fs::path file_of(const fs::path& dir, const std::string& key) {
  for (const auto& f : entries(dir)) {
    std::ifstream in(f, std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), {});
    if (all.find(key) != std::string::npos) return f;
  }
  return {};
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

// Admission once the cache is full: a cheap derivative asked for once never displaces what is
// there; asked again within as many misses as the cache holds, it is stored; an expensive one
// is stored at once.
constexpr double kCheap = 1.0, kExpensive = DerivativeCache::kAlwaysStoreMs;

std::unique_ptr<DerivativeCache> full_cache_of_ten(const fs::path& dir) {
  auto c = open(dir, 0, 10);
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(c->get("k" + std::to_string(i)));
    c->put("k" + std::to_string(i), "body", kCheap);  // room: stored at the first request
  }
  EXPECT_EQ(c->stats().files, 10u);
  return c;
}

TEST(DerivativeCacheAdmission, AWalkOfCheapOneOffDerivativesLeavesAFullCacheAlone) {
  TempDir d;
  auto c = full_cache_of_ten(d.path);
  for (int pass = 0; pass < 3; ++pass) {  // a walk larger than the cache, over and over
    for (int i = 0; i < 40; ++i) {
      const std::string key = "walk" + std::to_string(i);
      ASSERT_FALSE(c->get(key));
      c->put(key, "body", kCheap);
    }
  }
  const auto s = c->stats();
  EXPECT_EQ(s.declined, 120u);
  EXPECT_EQ(s.writes, 10u);
  EXPECT_EQ(s.evictions, 0u);
  EXPECT_EQ(entries(d.path).size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(c->get("k" + std::to_string(i)));
}

TEST(DerivativeCacheAdmission, ACheapDerivativeAskedAgainSoonIsStored) {
  TempDir d;
  auto c = full_cache_of_ten(d.path);
  EXPECT_FALSE(c->get("new"));
  c->put("new", "body", kCheap);
  EXPECT_EQ(c->stats().declined, 1u);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(c->get("other" + std::to_string(i)));
  EXPECT_FALSE(c->get("new"));
  c->put("new", "body", kCheap);  // its second miss: stored, and the cache evicts down to 8
  EXPECT_TRUE(c->get("new"));
  EXPECT_EQ(c->stats().files, 8u);
  EXPECT_EQ(c->stats().evictions, 3u);
}

TEST(DerivativeCacheAdmission, ACheapDerivativeAskedAgainOnlyAfterManyOtherMissesIsNot) {
  TempDir d;
  auto c = full_cache_of_ten(d.path);
  EXPECT_FALSE(c->get("new"));
  // More misses than the window holds (the cache's 10 entries, at least 16): forgotten.
  for (int i = 0; i < 16; ++i) EXPECT_FALSE(c->get("other" + std::to_string(i)));
  EXPECT_FALSE(c->get("new"));
  c->put("new", "body", kCheap);
  EXPECT_FALSE(c->get("new"));
  EXPECT_EQ(c->stats().files, 10u);
}

TEST(DerivativeCacheAdmission, AnExpensiveDerivativeIsStoredAtItsFirstRequest) {
  TempDir d;
  auto c = full_cache_of_ten(d.path);
  EXPECT_FALSE(c->get("2000,"));
  c->put("2000,", "body", kExpensive);
  EXPECT_TRUE(c->get("2000,"));
  EXPECT_EQ(c->stats().declined, 0u);
  EXPECT_EQ(c->stats().files, 8u);
}

TEST(DerivativeCacheAdmission, UnderTheByteLimitTheWindowFollowsTheMeanEntrySize) {
  TempDir d;
  auto c = open(d.path, 100 * 1000, 0);  // room for ~50 entries of 2000 bytes
  for (int i = 0; i < 49; ++i) c->put("k" + std::to_string(i), std::string(1900, 'x'), kCheap);
  ASSERT_EQ(c->stats().files, 49u);
  EXPECT_FALSE(c->get("new"));
  c->put("new", std::string(6000, 'x'), kCheap);  // would pass the byte limit: declined
  EXPECT_EQ(c->stats().declined, 1u);
  for (int i = 0; i < 30; ++i) EXPECT_FALSE(c->get("other" + std::to_string(i)));  // < ~50 misses
  EXPECT_FALSE(c->get("new"));
  c->put("new", std::string(6000, 'x'), kCheap);
  EXPECT_TRUE(c->get("new"));
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
  std::ofstream(d.path / ".tmp-deadbeef-h-1-0") << "partial";
  age(d.path / ".tmp-deadbeef-h-1-0", std::chrono::hours(2));   // a crash left it
  std::ofstream(d.path / ".tmp-cafe-other-2-0") << "partial";  // another instance is writing it
  std::ofstream(d.path / "README") << "not ours";               // left alone
  auto c = open(d.path, 0, 0);
  EXPECT_FALSE(fs::exists(d.path / ".tmp-deadbeef-h-1-0"));
  EXPECT_TRUE(fs::exists(d.path / ".tmp-cafe-other-2-0"));
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

// Several instances on one directory (shared storage): here two caches in one process.

TEST(SharedDerivativeCache, AnEntryOneInstanceWroteIsAHitForAnother) {
  TempDir d;
  auto a = open(d.path, 0, 0), b = open(d.path, 0, 0);
  a->put("k", "from a");
  EXPECT_EQ(b->get("k").value_or(""), "from a");
  EXPECT_EQ(b->stats().hits, 1u);
  EXPECT_EQ(b->stats().files, 1u);  // indexed from now on
  EXPECT_FALSE(b->get("other"));
}

TEST(SharedDerivativeCache, ConcurrentWritersOfOneKeyNeverLeaveATornOrMixedEntry) {
  TempDir d;
  auto a = open(d.path, 0, 0), b = open(d.path, 0, 0);
  const std::string body_a(300000, 'a'), body_b(200000, 'b');
  std::atomic<bool> stop{false};
  std::atomic<int> served{0}, wrong{0};
  std::thread reader([&] {
    while (!stop) {
      for (auto* c : {a.get(), b.get()}) {
        auto got = c->get("same");
        if (!got) continue;
        served += 1;
        if (*got != body_a && *got != body_b) wrong += 1;
      }
    }
  });
  std::thread wa([&] {
    for (int i = 0; i < 200; ++i) a->put("same", body_a);
  });
  std::thread wb([&] {
    for (int i = 0; i < 200; ++i) b->put("same", body_b);
  });
  wa.join();
  wb.join();
  stop = true;
  reader.join();
  EXPECT_GT(served.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(a->stats().corrupt + b->stats().corrupt, 0u);
  ASSERT_EQ(entries(d.path).size(), 1u);  // one entry, no temporary file left
  const auto last = a->get("same");
  ASSERT_TRUE(last);
  EXPECT_TRUE(*last == body_a || *last == body_b);
}

TEST(SharedDerivativeCache, ADamagedEntryIsDetectedByTheOtherInstance) {
  TempDir d;
  auto a = open(d.path, 0, 0), b = open(d.path, 0, 0);
  a->put("k", std::string(5000, 'x'));
  const auto f = file_of(d.path, "k");
  ASSERT_FALSE(f.empty());
  fs::resize_file(f, fs::file_size(f) - 1);
  EXPECT_FALSE(b->get("k"));
  EXPECT_EQ(b->stats().corrupt, 1u);
  EXPECT_FALSE(fs::exists(f));
  EXPECT_FALSE(a->get("k"));  // gone for the writer too, and out of its index
  EXPECT_EQ(a->stats().files, 0u);
}

TEST(SharedDerivativeCache, TheLimitsHoldForTheDirectoryAsAWhole) {
  TempDir d;
  auto a = open(d.path, 0, 10, std::chrono::seconds(0)), b = open(d.path, 0, 10, std::chrono::seconds(0));
  for (int i = 0; i < 8; ++i) a->put("a" + std::to_string(i), "body");
  for (int i = 0; i < 8; ++i) {
    b->put("b" + std::to_string(i), "body");
    ASSERT_LE(entries(d.path).size(), 10u);
  }
  EXPECT_TRUE(b->get("b7"));  // the newest survives its own eviction
  EXPECT_TRUE(a->get("b7"));
}

TEST(SharedDerivativeCache, AHitInOneInstanceKeepsTheEntryFromTheOthersEviction) {
  TempDir d;
  auto a = open(d.path, 0, 5, std::chrono::seconds(0)), b = open(d.path, 0, 5, std::chrono::seconds(0));
  for (int i = 0; i < 5; ++i) a->put("k" + std::to_string(i), "body");
  for (int i = 0; i < 5; ++i) age(file_of(d.path, "k" + std::to_string(i)), std::chrono::seconds(7200 - i));
  const auto k0 = file_of(d.path, "k0");
  ASSERT_TRUE(b->get("k0"));  // the oldest, used now: its time says so
  EXPECT_GT(mtime(k0), std::time(nullptr) - 60);
  a->put("k5", "body");  // 6 > 5: a re-reads the directory and evicts down to 4
  EXPECT_EQ(entries(d.path).size(), 4u);
  EXPECT_TRUE(fs::exists(k0));
  EXPECT_FALSE(a->get("k1"));
  EXPECT_FALSE(a->get("k2"));
  EXPECT_TRUE(a->get("k3"));
  EXPECT_TRUE(a->get("k5"));
}

TEST(SharedDerivativeCache, TheOthersEntriesAreCountedAfterABackgroundReRead) {
  TempDir d;
  auto a = open(d.path, 0, 0, std::chrono::seconds(1)), b = open(d.path, 0, 0);
  for (int i = 0; i < 5; ++i) b->put("b" + std::to_string(i), "body");
  a->put("a0", "body");
  EXPECT_EQ(a->stats().files, 1u);  // not due yet
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  a->put("a1", "body");  // due: re-read in the background
  for (int i = 0; i < 200 && a->stats().files != 7u; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(a->stats().files, 7u);
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

namespace {

// A spool-like file holding `prefix` then `body`; its descriptor.
int spool_with(const fs::path& dir, const std::string& prefix, const std::string& body) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR, 0600);
  EXPECT_GE(fd, 0);
  const std::string all = prefix + body;
  EXPECT_EQ(::write(fd, all.data(), all.size()), static_cast<ssize_t>(all.size()));
  return fd;
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 12345;
  for (auto& c : s) {
    x = x * 1664525 + 1013904223;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

// Stores `body` under `key` the way a spooled render does: from a file holding `prefix` first.
void put_spooled(DerivativeCache& c, const fs::path& dir, const std::string& key, const std::string& prefix,
                 const std::string& body) {
  int fd = spool_with(dir, prefix, body);
  c.put_file(key, fd, prefix.size(), body.size());
  ::close(fd);
}

std::string read_spooled(const sipi::SpooledBody& f) {
  std::string out(f.length, '\0');
  EXPECT_EQ(::pread(f.fd, out.data(), out.size(), static_cast<off_t>(f.offset)), static_cast<ssize_t>(out.size()));
  return out;
}

}  // namespace

TEST(DerivativeCache, ASpooledBodyIsStoredFromItsFileRange) {
  TempDir d;
  auto c = open(d.path / "c", 0, 0);
  const std::string body = pattern(100000);
  put_spooled(*c, d.path, "k", "ignored prefix", body);
  auto hit = c->lookup("k");
  ASSERT_TRUE(hit);
  EXPECT_FALSE(hit->file);  // small: in memory
  EXPECT_EQ(hit->bytes, body);
  EXPECT_EQ(c->stats().writes, 1u);
}

TEST(DerivativeCache, ALargeHitIsTheOpenEntryFileNotMemory) {
  TempDir d;
  auto c = open(d.path / "c", 0, 0);
  const std::string body = pattern(DerivativeCache::kInMemory + 4096);
  put_spooled(*c, d.path, "big", "", body);
  auto hit = c->lookup("big");
  ASSERT_TRUE(hit);
  ASSERT_TRUE(hit->file);
  EXPECT_TRUE(hit->bytes.empty());
  EXPECT_EQ(hit->file->length, body.size());
  // Evicted while a response still reads it: the open file keeps its bytes.
  fs::remove(file_of(d.path / "c", "big"));
  EXPECT_EQ(read_spooled(*hit->file), body);
  EXPECT_EQ(c->get("big"), std::nullopt);
}

TEST(DerivativeCache, ADamagedLargeEntryIsAMissAndRemoved) {
  TempDir d;
  auto c = open(d.path / "c", 0, 0);
  const std::string body = pattern(DerivativeCache::kInMemory + 1);
  put_spooled(*c, d.path, "big", "", body);
  const fs::path f = file_of(d.path / "c", "big");
  ASSERT_FALSE(f.empty());
  {
    // One byte in the middle of the body changes: same length, wrong checksum.
    int w = ::open(f.c_str(), O_WRONLY);
    const off_t at = static_cast<off_t>(fs::file_size(f) - body.size() / 2);
    char b = static_cast<char>(body[body.size() - body.size() / 2] ^ 1);
    ASSERT_EQ(::pwrite(w, &b, 1, at), 1);
    ::close(w);
  }
  EXPECT_FALSE(c->lookup("big"));
  EXPECT_FALSE(fs::exists(f));
  EXPECT_EQ(c->stats().corrupt, 1u);
}

TEST(DerivativeCache, ASpooledBodyOverTheByteLimitIsSkipped) {
  TempDir d;
  auto c = open(d.path / "c", 1000, 0);
  const std::string body = pattern(2000);
  put_spooled(*c, d.path, "k", "", body);
  EXPECT_FALSE(c->lookup("k"));
  EXPECT_EQ(c->stats().skips, 1u);
}
