// Format registry: magic bytes → decoder. Only these five loaders are ever called; libvips'
// generic "load anything" entry point is not used, so its untrusted loaders stay unreachable.
#include <array>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "source/decoder.h"

namespace sipi::source {

const char* mime_type(SourceFormat f) {
  switch (f) {
    case SourceFormat::tiff: return "image/tiff";
    case SourceFormat::jp2: return "image/jp2";
    case SourceFormat::jpeg: return "image/jpeg";
    case SourceFormat::png: return "image/png";
    case SourceFormat::webp: return "image/webp";
  }
  return "application/octet-stream";
}

Result<SourceFormat> sniff(const std::filesystem::path& path) {
  std::array<unsigned char, 16> m{};
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::not_found("source.not_found", "cannot open " + path.string());
  in.read(reinterpret_cast<char*>(m.data()), m.size());
  auto n = in.gcount();
  auto is = [&](std::size_t off, std::initializer_list<unsigned char> bytes) {
    if (static_cast<std::streamsize>(off + bytes.size()) > n) return false;
    return std::equal(bytes.begin(), bytes.end(), m.begin() + static_cast<long>(off));
  };
  if (is(0, {'I', 'I', 42, 0}) || is(0, {'M', 'M', 0, 42}) || is(0, {'I', 'I', 43, 0}) ||
      is(0, {'M', 'M', 0, 43})) {
    return SourceFormat::tiff;
  }
  if (is(0, {0, 0, 0, 12, 'j', 'P', ' ', ' ', 13, 10, 0x87, 10}) || is(0, {0xff, 0x4f, 0xff, 0x51})) {
    return SourceFormat::jp2;
  }
  if (is(0, {0xff, 0xd8, 0xff})) return SourceFormat::jpeg;
  if (is(0, {0x89, 'P', 'N', 'G', 13, 10, 26, 10})) return SourceFormat::png;
  if (is(0, {'R', 'I', 'F', 'F'}) && is(8, {'W', 'E', 'B', 'P'})) return SourceFormat::webp;
  return Error::not_found("source.unsupported_format", path.string() + ": unknown format");
}

Result<ImageShape> probe(const std::filesystem::path& path, int page) {
  auto fmt = sniff(path);
  if (!fmt) return fmt.error();
  if (page > 1 && *fmt != SourceFormat::tiff) {
    return Error::not_found("source.page_not_found", "only TIFF has pages");
  }
  Result<ImageShape> shape = Error::internal("source.format");
  switch (*fmt) {
    case SourceFormat::tiff: shape = probe_tiff(path, page); break;
    case SourceFormat::jp2: shape = probe_jp2(path); break;
    case SourceFormat::jpeg: shape = probe_jpeg(path); break;
    case SourceFormat::png:
    case SourceFormat::webp: shape = probe_single_level(path, *fmt); break;
  }
  // libvips handles no side above 10 million pixels; a header claiming more is refused here,
  // before any arithmetic on it.
  constexpr std::int64_t kMaxSide = 10'000'000;
  if (shape && (shape->size.w > kMaxSide || shape->size.h > kMaxSide)) {
    return Error::internal("codec.header", path.string() + ": a side above 10 million pixels");
  }
  return shape;
}

std::size_t reduce_level(const ImageShape& s, int n) {
  if (n <= 0 || n > 30) return 0;
  std::int64_t f = std::int64_t{1} << n;
  Dim want{(s.size.w + f - 1) / f, (s.size.h + f - 1) / f};
  for (std::size_t i = 0; i < s.levels.size(); ++i) {
    const Dim& d = s.levels[i].size;
    if (std::abs(d.w - want.w) <= 1 && std::abs(d.h - want.h) <= 1) return i;
  }
  return 0;
}

Result<vips::VImage> load_level(const std::filesystem::path& path, const ImageShape& shape,
                                std::size_t level, bool sequential) {
  if (level >= shape.levels.size()) return Error::internal("source.level", "no such level");
  const Level& l = shape.levels[level];
  try {
    switch (shape.format) {
      case SourceFormat::tiff: return load_tiff(path, l, sequential);
      case SourceFormat::jp2: return load_jp2(path, l, shape.icc, shape.cmyk);
      case SourceFormat::jpeg: return load_jpeg(path, l, sequential);
      case SourceFormat::png:
      case SourceFormat::webp: return load_single_level(path, shape.format, sequential);
    }
  } catch (const vips::VError& e) {
    vips_error_clear();
    return Error::internal("codec.load", path.string() + ": " + e.what());
  }
  return Error::internal("source.format");
}

}  // namespace sipi::source
