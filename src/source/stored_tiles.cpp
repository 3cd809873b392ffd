#include "source/stored_tiles.h"

#include <fcntl.h>
#include <unistd.h>

namespace sipi::source {
namespace {

// Tiles larger than this are not sent as stored: a hostile TIFF could claim anything.
constexpr std::uint64_t kMaxTileBytes = 16 << 20;

}  // namespace

std::size_t StoredTiles::bytes() const {
  std::size_t b = sizeof(*this);
  for (const auto& l : levels) {
    if (l) b += sizeof(*l) + l->offsets.size() * 16 + l->tables.size();
  }
  return b;
}

Result<std::string> read_stored_tile(const std::filesystem::path& path, const StoredJpegLevel& level,
                                     std::int64_t col, std::int64_t row) {
  if (col < 0 || row < 0 || col >= level.across || row >= level.down) {
    return Error::internal("codec.stored_tile", "tile outside the grid");
  }
  const auto i = static_cast<std::size_t>(row * level.across + col);
  const std::uint64_t off = level.offsets[i], n = level.counts[i];
  if (n < 4 || n > kMaxTileBytes) return Error::internal("codec.stored_tile", path.string() + ": bad tile length");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error::internal("codec.stored_tile", path.string() + ": cannot open");
  std::string tile(n, '\0');
  ssize_t got = ::pread(fd, tile.data(), n, static_cast<off_t>(off));
  ::close(fd);
  if (got != static_cast<ssize_t>(n) || static_cast<unsigned char>(tile[0]) != 0xFF ||
      static_cast<unsigned char>(tile[1]) != 0xD8) {
    return Error::internal("codec.stored_tile", path.string() + ": tile is not a JPEG stream");
  }
  // SOI; for RGB components an Adobe APP14 segment with transform 0, without which a decoder
  // takes three components for YCbCr; the tables without their SOI and EOI; the tile after SOI.
  static const char kAdobeRgb[] = {'\xFF', '\xEE', 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0};
  std::string out;
  out.reserve(level.tables.size() + n + sizeof kAdobeRgb);
  out.append("\xFF\xD8", 2);
  if (level.rgb) out.append(kAdobeRgb, sizeof kAdobeRgb);
  if (!level.tables.empty()) out.append(level.tables, 2, level.tables.size() - 4);
  out.append(tile, 2, std::string::npos);
  return out;
}

}  // namespace sipi::source
