// What the IIIF service needs from the configuration, extracted once at startup.
#pragma once

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>

#include "core/config.h"
#include "iiif/size.h"
#include "isolation/pool.h"
#include "source/header_cache.h"
#include "source/resolver.h"

namespace sipi::cache {
class DerivativeCache;
}

namespace sipi::service {

class MemoryBudget;

struct Context {
  source::ImageRoot root;
  iiif::Limits limits;
  int jpeg_quality = 80;
  ScalingQualities scaling;
  int tile_size = 512;
  // Bytes of decoded codestream tiles each decoding process keeps (source::set_decoded_tile_cache);
  // sent with every render job, so that the helpers size theirs.
  std::uint64_t tile_cache_per_process = 0;
  // Shared by every worker; a pointer so that the Context stays copyable.
  std::shared_ptr<source::HeaderCache> headers = std::make_shared<source::HeaderCache>();
  // Decode helpers (decode_isolation = "all"); null = decode in this process.
  std::shared_ptr<isolation::Pool> isolation;
  // Encoded images already served; null when cache_size is 0.
  std::shared_ptr<cache::DerivativeCache> cache;
  // Where large outputs are encoded (spool.h): the system's temporary directory.
  std::filesystem::path spool_dir = "/tmp";
  // Bounds what decodes in flight may hold; null when max_decode_memory is 0.
  std::shared_ptr<MemoryBudget> memory;

  static Context from_config(const Config& c, std::filesystem::path canonical_imgroot);
};

// The file behind an identifier, with what makes its validators (ETag, Last-Modified).
struct SourceFile {
  std::filesystem::path path;
  std::int64_t bytes = 0;
  std::time_t mtime = 0;
  std::int64_t mtime_ns = 0;
};

// What an access decision changes: the file, a size cap, a watermark. `fingerprint` names them
// for validators (a restricted response never shares an ETag with a full one).
struct AccessOptions {
  std::optional<std::string> path;
  std::optional<std::string> max_size;   // IIIF size
  std::optional<std::string> watermark;  // file path
  std::string fingerprint;
};

// `path`'s size and modification time. Errors: 404 source.not_found.
Result<SourceFile> stat_source(std::filesystem::path path);

// The parsed header of `f` (page 0 or 1-based), from the header cache.
Result<std::shared_ptr<const source::SourceHeader>> read_header(const Context& ctx, const SourceFile& f, int page);

// FNV-1a of `parts`, as a strong ETag value ("…" included).
std::string make_etag(const std::string& parts);

}  // namespace sipi::service
