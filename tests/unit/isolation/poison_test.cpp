#include "isolation/poison.h"

#include <gtest/gtest.h>

#include <thread>

namespace sipi::isolation {
namespace {

TEST(PoisonList, RemembersByPathTimeAndSize) {
  PoisonList p;
  p.add({"/img/a.jp2", 100, 12000});
  EXPECT_TRUE(p.contains({"/img/a.jp2", 100, 12000}));
  EXPECT_FALSE(p.contains({"/img/a.jp2", 101, 12000}));  // replaced: a new chance
  EXPECT_FALSE(p.contains({"/img/a.jp2", 100, 12001}));
  EXPECT_FALSE(p.contains({"/img/b.jp2", 100, 12000}));
  EXPECT_EQ(p.size(), 1u);
}

TEST(PoisonList, BoundedOldestForgottenFirst) {
  PoisonList p(3);
  for (int i = 0; i < 5; ++i) p.add({"/f" + std::to_string(i), 1, 1});
  EXPECT_EQ(p.size(), 3u);
  EXPECT_FALSE(p.contains({"/f0", 1, 1}));
  EXPECT_FALSE(p.contains({"/f1", 1, 1}));
  EXPECT_TRUE(p.contains({"/f4", 1, 1}));
  // Adding an entry again refreshes it: it is no longer the oldest.
  p.add({"/f2", 1, 1});
  p.add({"/f5", 1, 1});
  EXPECT_TRUE(p.contains({"/f2", 1, 1}));
  EXPECT_FALSE(p.contains({"/f3", 1, 1}));
}

TEST(PoisonList, EntriesExpire) {
  PoisonList p(10, std::chrono::seconds(1));
  p.add({"/a", 1, 1});
  EXPECT_TRUE(p.contains({"/a", 1, 1}));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_FALSE(p.contains({"/a", 1, 1}));
  EXPECT_EQ(p.size(), 0u);
  p.add({"/a", 1, 1});  // poisoned again later: counted once
  EXPECT_TRUE(p.contains({"/a", 1, 1}));
  EXPECT_EQ(p.size(), 1u);
}

}  // namespace
}  // namespace sipi::isolation
