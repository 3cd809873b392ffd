#include "source/header_cache.h"

#include "source/codec.h"

namespace sipi::source {

Result<std::shared_ptr<const SourceHeader>> HeaderCache::get(const std::filesystem::path& path, int page,
                                                             std::int64_t mtime_ns, std::int64_t bytes) {
  std::string key = path.string() + '\0' + std::to_string(page) + '\0' + std::to_string(mtime_ns) + '\0' +
                    std::to_string(bytes);
  {
    std::lock_guard lock(mu_);
    auto it = map_.find(key);
    if (it != map_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      ++hits_;
      return it->second.header;
    }
    ++misses_;
  }
  // Probed outside the lock: two threads may probe the same file once each, which is cheaper
  // than making every other file wait.
  auto shape = loaders_.probe ? loaders_.probe(path, page, mtime_ns, bytes) : probe(path, page);
  if (!shape) return shape.error();
  auto h = std::make_shared<SourceHeader>();
  h->path = path;
  h->mtime_ns = mtime_ns;
  h->bytes = bytes;
  h->load_stored = loaders_.stored;
  h->shape = std::move(*shape);
  // Tile tables come later and are counted by an estimate from the shape: 16 bytes per tile.
  std::uint64_t tiles = 0;
  if (h->shape.tile.w > 0 && h->shape.tile.h > 0) {
    for (const auto& l : h->shape.levels) {
      tiles += static_cast<std::uint64_t>((l.size.w + h->shape.tile.w - 1) / h->shape.tile.w) *
               static_cast<std::uint64_t>((l.size.h + h->shape.tile.h - 1) / h->shape.tile.h);
    }
  }
  std::size_t size = sizeof(SourceHeader) + key.size() + h->shape.icc.size() +
                     h->shape.levels.size() * sizeof(Level) + static_cast<std::size_t>(tiles * 16);
  std::shared_ptr<const SourceHeader> result = h;
  std::lock_guard lock(mu_);
  if (size > max_bytes_ || map_.count(key)) return result;
  lru_.push_front(key);
  map_.emplace(key, Entry{result, size, lru_.begin()});
  used_ += size;
  while (used_ > max_bytes_ && !lru_.empty()) {
    auto victim = map_.find(lru_.back());
    used_ -= victim->second.bytes;
    map_.erase(victim);
    lru_.pop_back();
  }
  return result;
}

std::uint64_t HeaderCache::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}

std::uint64_t HeaderCache::misses() const {
  std::lock_guard lock(mu_);
  return misses_;
}

}  // namespace sipi::source
