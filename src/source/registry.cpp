// The codec registry: magic bytes → codec. Only these loaders are ever called; libvips' generic
// "load anything" entry point is not used, so its untrusted loaders stay unreachable.
// Adding a format: a folder with its codec, and one line in kCodecs.
#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "source/codec.h"
#include "source/header_cache.h"

namespace sipi::source {

// Defined in each codec's folder.
const Codec& tiff_codec();
const Codec& jp2_codec();
const Codec& jpeg_codec();
const Codec& png_codec();
const Codec& webp_codec();
void init_tiff();

namespace {

using Head = std::array<unsigned char, 16>;

struct Magic {
  std::size_t offset;
  std::vector<unsigned char> bytes;
};

bool has(const Head& m, std::streamsize n, const Magic& g) {
  if (static_cast<std::streamsize>(g.offset + g.bytes.size()) > n) return false;
  return std::equal(g.bytes.begin(), g.bytes.end(), m.begin() + static_cast<long>(g.offset));
}

struct Entry {
  SourceFormat format;
  const Codec& (*codec)();
  // Any one of these signatures identifies the format; `and_also`, when set, must match too.
  std::vector<Magic> any;
  Magic and_also{0, {}};
};

const std::vector<Entry> kCodecs = {
    {SourceFormat::tiff, tiff_codec, {{0, {'I', 'I', 42, 0}}, {0, {'M', 'M', 0, 42}}, {0, {'I', 'I', 43, 0}}, {0, {'M', 'M', 0, 43}}}},
    {SourceFormat::jp2, jp2_codec, {{0, {0, 0, 0, 12, 'j', 'P', ' ', ' ', 13, 10, 0x87, 10}}, {0, {0xff, 0x4f, 0xff, 0x51}}}},
    {SourceFormat::jpeg, jpeg_codec, {{0, {0xff, 0xd8, 0xff}}}},
    {SourceFormat::png, png_codec, {{0, {0x89, 'P', 'N', 'G', 13, 10, 26, 10}}}},
    {SourceFormat::webp, webp_codec, {{0, {'R', 'I', 'F', 'F'}}}, {8, {'W', 'E', 'B', 'P'}}},
};

}  // namespace

const Codec& codec_for(SourceFormat f) {
  for (const auto& e : kCodecs) {
    if (e.format == f) return e.codec();
  }
  std::abort();  // every SourceFormat has a line in kCodecs
}

bool is_image_type(std::string_view mime) {
  if (mime.empty()) return false;
  const std::string padded = " " + std::string(mime) + " ";
  return std::any_of(kCodecs.begin(), kCodecs.end(),
                     [&](const Entry& e) { return e.codec().mime_names().find(padded) != std::string_view::npos; });
}

std::optional<SourceFormat> format_from_number(int n) {
  for (const auto& e : kCodecs) {
    if (static_cast<int>(e.format) == n) return e.format;
  }
  return std::nullopt;
}

const char* mime_type(SourceFormat f) { return codec_for(f).mime().data(); }

Result<SourceFormat> sniff(const std::filesystem::path& path) {
  Head m{};
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::not_found("source.not_found", "cannot open " + path.string());
  in.read(reinterpret_cast<char*>(m.data()), m.size());
  const auto n = in.gcount();
  for (const auto& e : kCodecs) {
    bool any = std::any_of(e.any.begin(), e.any.end(), [&](const Magic& g) { return has(m, n, g); });
    if (any && has(m, n, e.and_also)) return e.format;
  }
  return Error::not_found("source.unsupported_format", path.string() + ": unknown format");
}

Result<ImageShape> probe(const std::filesystem::path& path, int page) {
  auto fmt = sniff(path);
  if (!fmt) return fmt.error();
  const Codec& codec = codec_for(*fmt);
  if (page > 1 && !codec.capabilities().pages) {
    return Error::not_found("source.page_not_found", std::string(codec.name()) + " has no pages");
  }
  auto shape = codec.probe(path, page);
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

Result<vips::VImage> load_level(const std::filesystem::path& path, const ImageShape& shape, std::size_t level,
                                bool sequential) {
  if (level >= shape.levels.size()) return Error::internal("source.level", "no such level");
  try {
    return codec_for(shape.format).load(path, shape, shape.levels[level], sequential);
  } catch (const vips::VError& e) {
    vips_error_clear();
    return Error::internal("codec.load", path.string() + ": " + e.what());
  }
}

// --- what codecs share unless they know better ---

Result<vips::VImage> Codec::decode(const SourceHeader& h, const DecodeRequest& r) const {
  return load_level(h.path, h.shape, r.level, r.sequential);
}

std::uint64_t Codec::decode_memory(const ImageShape& s, const DecodeRequest& r) const {
  const Dim lv = s.levels[r.level].size;
  const auto px = [](std::int64_t w, std::int64_t h) { return static_cast<std::uint64_t>(w) * static_cast<std::uint64_t>(h); };
  if (s.tile.w > 0) return px(lv.w, 2 * s.tile.h) * kBytesPerPixel;  // libvips streams rows of tiles
  return px(lv.w, lv.h) * kBytesPerPixel;  // strips or one level: libvips may hold the whole level
}

void init_codecs() { init_tiff(); }

}  // namespace sipi::source
