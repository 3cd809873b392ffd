// Decoded codestream tiles kept in memory and shared by the requests that follow: a viewer asks
// for the 256² tiles of a window at once, and four (or sixteen) of them lie in one 512² (1024²)
// codestream tile, which is then decoded once instead of four (sixteen) times. Bytes-bounded LRU
// per process (each decode helper has its own; the pool sends a file's jobs to the helper that
// served it last: isolation/pool.h), its capacity taken from the decode-memory budget at start.
//
// HT tiles are decoded whole anyway and kept from their first decode. Classic (EBCOT) tiles are
// kept from a second request inside the same tile: a whole 512² lossless tile costs about 1.3×
// one 256² quarter of it (measured: bench/results/2026-12-05-*-tilecache-nocache.md), which a
// walk that never comes back (a random scan of a large image) must not pay for every tile. A
// region across several classic tiles decodes only its parts unless all are kept already.
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/geometry.h"
#include "core/result.h"
#include "source/jp2/index.h"
#include "source/pixels.h"

namespace sipi::source::jp2 {

class TileCache {
 public:
  // 0 turns the cache off (and empties it).
  void set_capacity(std::uint64_t bytes);
  std::uint64_t capacity() const;
  // A tile worth keeping: at most an eighth of the capacity.
  bool fits(std::uint64_t bytes) const;

  std::shared_ptr<const Pixels> find(const std::string& key);
  // Records a touch of `key`; true when it was touched before, recently (second-touch admission).
  bool touched_before(const std::string& key);
  void insert(const std::string& key, std::shared_ptr<const Pixels> tile);

  struct Stats {
    std::uint64_t hits = 0, misses = 0, bytes = 0, entries = 0;
  };
  Stats stats() const;

 private:
  void evict_locked();

  mutable std::mutex mu_;
  std::uint64_t capacity_ = 0, bytes_ = 0, hits_ = 0, misses_ = 0;
  using Lru = std::list<std::pair<std::string, std::shared_ptr<const Pixels>>>;
  Lru lru_;  // most recent first
  std::unordered_map<std::string, Lru::iterator> index_;
  std::deque<std::string> touched_order_;  // keys touched once, oldest first (bounded)
  std::unordered_set<std::string> touched_;
};

// The largest level kept whole (1 Mpx: 1250×800 of a 10000×8000 image, 3 MB of RGB samples).
constexpr std::int64_t kWholeLevelPixels = 1 << 20;

// The process's cache of decoded JPEG 2000 tiles.
TileCache& decoded_tiles();

// The cache key of a codestream tile at a level of one version of a file.
std::string tile_key(const std::string& path, std::int64_t mtime_ns, int reduce, std::uint64_t tile);

// Decodes `rect` of the level `reduce` from whole codestream tiles, through the cache (tiles.cpp).
// Nothing when the request takes the plain path: the cache is off, the region covers its tiles,
// a tile (or an HT region's tiles together) is too big to keep, the region spans more than four
// classic tiles on a level larger than kWholeLevelPixels, a classic tile is touched the first
// time, or the region spans classic tiles not all kept.
// `threads` as for decode_jp2_pixels.
std::optional<Result<vips::VImage>> decode_from_tiles(const std::filesystem::path& path, std::int64_t mtime_ns,
                                                      const Jp2Index& ix, const ImageShape& shape, int reduce,
                                                      Rect rect, int threads = 1);

}  // namespace sipi::source::jp2
