#include "source/jp2/tile_cache.h"

#include "source/codec.h"

namespace sipi::source {
namespace {

// Per decoding thread: what the current job found and missed (a job runs on one thread).
thread_local TileCacheCounts t_counts;

// How many once-touched keys are remembered: far more than a viewer's window, a few hundred KB.
constexpr std::size_t kTouchedKeys = 8192;

}  // namespace

void set_decoded_tile_cache(std::uint64_t bytes) { jp2::decoded_tiles().set_capacity(bytes); }

TileCacheCounts take_tile_cache_counts() {
  TileCacheCounts c = t_counts;
  t_counts = {};
  return c;
}

namespace jp2 {

void TileCache::set_capacity(std::uint64_t bytes) {
  std::lock_guard lock(mu_);
  capacity_ = bytes;
  evict_locked();
  if (bytes == 0) {
    touched_.clear();
    touched_order_.clear();
  }
}

std::uint64_t TileCache::capacity() const {
  std::lock_guard lock(mu_);
  return capacity_;
}

bool TileCache::fits(std::uint64_t bytes) const {
  std::lock_guard lock(mu_);
  return bytes > 0 && bytes <= capacity_ / 8;
}

std::shared_ptr<const Pixels> TileCache::find(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) {
    ++misses_;
    ++t_counts.misses;
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  ++hits_;
  ++t_counts.hits;
  return it->second->second;
}

bool TileCache::touched_before(const std::string& key) {
  std::lock_guard lock(mu_);
  if (touched_.erase(key) > 0) return true;  // its order entry ages out harmlessly
  touched_.insert(key);
  touched_order_.push_back(key);
  while (touched_order_.size() > kTouchedKeys) {
    touched_.erase(touched_order_.front());
    touched_order_.pop_front();
  }
  return false;
}

void TileCache::insert(const std::string& key, std::shared_ptr<const Pixels> tile) {
  std::lock_guard lock(mu_);
  if (!tile || tile->bytes() > capacity_ / 8 || index_.count(key)) return;
  lru_.emplace_front(key, std::move(tile));
  index_[key] = lru_.begin();
  bytes_ += lru_.front().second->bytes();
  evict_locked();
}

void TileCache::evict_locked() {
  while (bytes_ > capacity_ && !lru_.empty()) {
    bytes_ -= lru_.back().second->bytes();
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

TileCache::Stats TileCache::stats() const {
  std::lock_guard lock(mu_);
  return {hits_, misses_, bytes_, static_cast<std::uint64_t>(index_.size())};
}

TileCache& decoded_tiles() {
  static TileCache cache;
  return cache;
}

std::string tile_key(const std::string& path, std::int64_t mtime_ns, int reduce, std::uint64_t tile) {
  std::string k = path;
  k += '\0';
  k += std::to_string(mtime_ns);
  k += '\0';
  k += std::to_string(reduce);
  k += '\0';
  k += std::to_string(tile);
  return k;
}

}  // namespace jp2
}  // namespace sipi::source
