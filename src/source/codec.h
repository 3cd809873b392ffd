// A codec: everything sipi knows about reading one source format, behind one fixed set of
// operations, in the manner of libvips' foreign loaders (header, load) and iipsrv's IIPImage
// (regionDecoding(), …). The registry (registry.cpp) maps sniffed magic bytes to codecs; adding a
// format is one folder here and one line in that table. Nothing outside source/ names a format.
//
// libvips types appear here because source/ and pipeline/ share the pixel representation.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vips/vips8>

#include "core/result.h"
#include "source/shape.h"
#include "source/stored_tiles.h"

namespace sipi::source {

struct SourceHeader;

// What a codec can do, for the planner and for the reader of the registry.
struct Capabilities {
  bool levels = false;           // stores (or decodes cheaply) reduced resolutions
  bool region_decoding = false;  // decodes a rectangle without decoding the rest of its level
  bool stored_tiles = false;     // may hold tiles a browser can display as they are (JPEG)
  bool pages = false;            // documents of several pages ("id@N")
  bool scaled_levels = false;    // levels are scales of one stored image (verifying level 0 covers all)
};

// Bytes per decoded pixel counted by the memory estimates: up to 4 bands of 16 bits.
constexpr std::uint64_t kBytesPerPixel = 4 * 2;

// One decode: `at` in pixels of level `level`; `region` is the same area at full resolution.
struct DecodeRequest {
  std::size_t level = 0;
  Rect at;
  Rect region;
  bool sequential = false;  // the pipeline reads the whole level top to bottom, once
  int threads = 1;          // cores the decode may use (more than 1 only when they are idle)
};

// Per-file data a codec builds once and the header cache keeps (a JPEG 2000 tile index).
struct FileIndex {
  virtual ~FileIndex() = default;
  virtual std::size_t bytes() const = 0;
};

class Codec {
 public:
  virtual ~Codec() = default;
  virtual SourceFormat format() const = 0;
  virtual std::string_view name() const = 0;  // "TIFF", as `sipi query` prints it
  virtual std::string_view mime() const = 0;  // what libmagic, and so SIPI, reports
  // The MIME types a client may call this format, space-separated with a space at both ends
  // (SIPI's mimetype_consistency; the extensions of each are in core/media_types).
  virtual std::string_view mime_names() const = 0;
  virtual Capabilities capabilities() const = 0;

  // Geometry and levels from headers only. `page` is 0 (default) or 1-based from "id@N".
  virtual Result<ImageShape> probe(const std::filesystem::path& path, int page) const = 0;
  // A lazily-decoded whole level: pixels are decoded only as a later crop asks for them.
  virtual vips::VImage load(const std::filesystem::path& path, const ImageShape& shape, const Level& level,
                            bool sequential) const = 0;
  // The pixels of `r.at`, or of a larger area containing it at its top left (the caller crops).
  // The default loads the level; codecs that decode regions themselves do better.
  virtual Result<vips::VImage> decode(const SourceHeader& h, const DecodeRequest& r) const;
  // Peak bytes decode() may hold for `r`, rounded up (the decode-memory budget's unit).
  virtual std::uint64_t decode_memory(const ImageShape& shape, const DecodeRequest& r) const;

  // Per-file index for decode(), built on first use in the process that decodes.
  virtual std::shared_ptr<const FileIndex> index(const std::filesystem::path&) const { return nullptr; }
  // Tables of the tiles stored as JPEG, per level; nothing when none qualifies.
  virtual std::optional<StoredTiles> stored_tiles(const std::filesystem::path&, const ImageShape&) const {
    return std::nullopt;
  }
  // Whether the file is what a client asking for this format's MIME type expects byte for byte
  // (SIPI's "send the source as is"); a bare JPEG 2000 codestream is not an image/jp2 file.
  virtual bool is_interchange_file(const std::filesystem::path&) const { return true; }
};

// --- the registry ---

// The codec of a sniffed format.
const Codec& codec_for(SourceFormat f);

// True when a codec reads files of this MIME type (one of its mime_names()).
bool is_image_type(std::string_view mime);

// The format whose enumerator has this number (as a shape travels between processes), if any.
std::optional<SourceFormat> format_from_number(int n);

// Reads the file's magic bytes. Errors: 404 source.unsupported_format (not an image format
// sipi reads), 404 source.not_found (unreadable).
Result<SourceFormat> sniff(const std::filesystem::path& path);

// Sniff, then the codec's probe, then the sanity limits every codec shares. Errors: 404
// source.page_not_found, 500 codec.header (a file that claims a format but whose header is broken).
Result<ImageShape> probe(const std::filesystem::path& path, int page);

// The level that is exactly 1/2^n of full resolution (±1 px of rounding), or 0 when the source
// stores no such level (the caller then scales).
std::size_t reduce_level(const ImageShape& shape, int n);

// The codec's load(), with libvips' exceptions turned into 500 codec.load.
Result<vips::VImage> load_level(const std::filesystem::path& path, const ImageShape& shape, std::size_t level,
                                bool sequential);

// The decoded-tile cache of this process (bytes; 0 = off): whole codestream tiles shared by
// neighbouring requests (JPEG 2000; jp2/tile_cache.h).
void set_decoded_tile_cache(std::uint64_t bytes);
// What the decodes on this thread found in and missed from that cache since the last call.
struct TileCacheCounts {
  std::uint64_t hits = 0, misses = 0;
};
TileCacheCounts take_tile_cache_counts();

// Installs quiet handlers in the codecs' libraries (libtiff otherwise prints from any thread).
void init_codecs();

}  // namespace sipi::source
