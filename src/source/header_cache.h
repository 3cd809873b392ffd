// Parsed source headers kept between requests: a viewer asks for hundreds of tiles of the same
// file, and re-reading a large TIFF's directories and tile tables for each would cost more than
// the tile itself. Keyed by path, page, modification time and size, so an edited file is
// re-read; bounded in bytes, least recently used first out.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/result.h"
#include "source/codec.h"
#include "source/shape.h"
#include "source/stored_tiles.h"

namespace sipi::source {

// The shape is read when the header is cached; the tile tables only when a request first needs
// them (an info.json of a 40000² TIFF must not read 33 000 tile offsets).
struct SourceHeader;

// How headers are read: in this process by default, or by a decode helper (service/).
struct HeaderLoaders {
  std::function<Result<ImageShape>(const std::filesystem::path&, int page, std::int64_t mtime_ns, std::int64_t bytes)> probe;
  std::function<std::optional<StoredTiles>(const SourceHeader&)> stored;
};

struct SourceHeader {
  std::filesystem::path path;
  std::int64_t mtime_ns = 0, bytes = 0;
  ImageShape shape;
  std::function<std::optional<StoredTiles>(const SourceHeader&)> load_stored;  // empty = in process
  // Levels whose JPEG tiles can be sent as stored.
  const std::optional<StoredTiles>& stored() const {
    std::call_once(stored_once_, [this] {
      if (load_stored) {
        stored_ = load_stored(*this);
      } else if (codec_for(shape.format).capabilities().stored_tiles) {
        stored_ = codec_for(shape.format).stored_tiles(path, shape);
      }
    });
    return stored_;
  }
  // The codec's per-file index (e.g. where each JPEG 2000 tile lies), or null.
  const FileIndex* index() const {
    std::call_once(index_once_, [this] { index_ = codec_for(shape.format).index(path); });
    return index_.get();
  }

 private:
  mutable std::once_flag stored_once_, index_once_;
  mutable std::optional<StoredTiles> stored_;
  mutable std::shared_ptr<const FileIndex> index_;
};

class HeaderCache {
 public:
  explicit HeaderCache(std::size_t max_bytes = 64 << 20, HeaderLoaders loaders = {})
      : max_bytes_(max_bytes), loaders_(std::move(loaders)) {}

  // The header of `path` as of (mtime_ns, bytes); probes it on a miss. Errors are not cached.
  Result<std::shared_ptr<const SourceHeader>> get(const std::filesystem::path& path, int page,
                                                  std::int64_t mtime_ns, std::int64_t bytes);

  std::uint64_t hits() const;
  std::uint64_t misses() const;

 private:
  struct Entry {
    std::shared_ptr<const SourceHeader> header;
    std::size_t bytes;
    std::list<std::string>::iterator lru;
  };
  std::size_t max_bytes_;
  HeaderLoaders loaders_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> map_;
  std::list<std::string> lru_;  // front = most recent
  std::size_t used_ = 0;
  std::uint64_t hits_ = 0, misses_ = 0;
};

}  // namespace sipi::source
