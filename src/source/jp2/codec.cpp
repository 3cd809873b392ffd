// JPEG 2000 (.jp2, .jpx, .j2k): the codestream header, read with OpenJPEG, gives the number of
// resolution levels and the tiling; libvips' jp2kload then decodes one level ("page" n halves
// n times), touching only the code-blocks of the tiles a region covers.
#include <algorithm>
#include <fstream>
#include <memory>

#include "metadata/metadata.h"
#include "source/codec.h"
#include "source/header_cache.h"
#include "source/jp2/ht_region.h"
#include "source/jp2/index.h"
#include "source/jp2/tile_cache.h"
#include "support/openjpeg.h"

namespace sipi::source {

bool is_raw_codestream(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char m[2] = {0, 0};
  in.read(reinterpret_cast<char*>(m), 2);
  return m[0] == 0xff && m[1] == 0x4f;
}

namespace {

Result<ImageShape> probe_jp2(const std::filesystem::path& path) {
  opj::Stream stream(
      opj_stream_create_default_file_stream(path.c_str(), OPJ_TRUE));
  if (!stream) return Error::internal("codec.header", path.string() + ": cannot open");
  opj::Codec codec(
      opj_create_decompress(is_raw_codestream(path) ? OPJ_CODEC_J2K : OPJ_CODEC_JP2));
  opj_set_info_handler(codec.get(), opj::quiet, nullptr);
  opj_set_warning_handler(codec.get(), opj::quiet, nullptr);
  opj_set_error_handler(codec.get(), opj::quiet, nullptr);
  opj_dparameters_t params;
  opj_set_default_decoder_parameters(&params);
  if (!opj_setup_decoder(codec.get(), &params)) return Error::internal("codec.header", "openjpeg setup");
  opj_image_t* raw = nullptr;
  if (!opj_read_header(stream.get(), codec.get(), &raw)) {
    return Error::internal("codec.header", path.string() + ": bad JPEG 2000 header");
  }
  opj::Image image(raw);
  opj_codestream_info_v2_t* info = opj_get_cstr_info(codec.get());
  if (!info) return Error::internal("codec.header", "no codestream info");
  int resolutions = 1;
  bool ht = false;
  Dim tile{static_cast<std::int64_t>(info->tdx), static_cast<std::int64_t>(info->tdy)};
  std::uint32_t ntiles = info->tw * info->th;
  if (info->m_default_tile_info.tccp_info) {
    resolutions = static_cast<int>(info->m_default_tile_info.tccp_info[0].numresolutions);
    ht = (info->m_default_tile_info.tccp_info[0].cblksty & 0x40) != 0;  // HT code-blocks
  }
  opj_destroy_cstr_info(&info);

  ImageShape s;
  if (!is_raw_codestream(path)) {
    auto colour = metadata::read_jp2_colour(path);
    s.icc = std::move(colour.icc);
    s.cmyk = colour.cmyk && image->numcomps >= 4;
  }
  s.format = SourceFormat::jp2;
  s.size = {static_cast<std::int64_t>(image->x1 - image->x0), static_cast<std::int64_t>(image->y1 - image->y0)};
  if (s.size.w < 1 || s.size.h < 1 || resolutions < 1) return Error::internal("codec.header", "empty JPEG 2000");
  s.tile = ntiles > 1 ? tile : Dim{0, 0};
  s.origin = {static_cast<std::int64_t>(image->x0), static_cast<std::int64_t>(image->y0)};
  s.ht = ht;
  for (int k = 0; k < resolutions && k < 32; ++k) {
    // A level spans ceil(x1 / 2^k) - ceil(x0 / 2^k) samples on the reference grid's terms.
    std::int64_t f = std::int64_t{1} << k;
    auto up = [f](std::int64_t v) { return (v + f - 1) / f; };
    Dim d{up(s.origin.w + s.size.w) - up(s.origin.w), up(s.origin.h + s.size.h) - up(s.origin.h)};
    if (d.w < 1 || d.h < 1) break;  // an offset image can vanish at a level: the smallest is the one before
    s.levels.push_back({d, k, -1});
    if (d.w == 1 && d.h == 1) break;
  }
  return s;
}

// A region up to this size is decoded in one go through the file's tile index (its samples are
// held as 32-bit integers while decoding: 8 MP RGB is 96 MB); larger ones go through libvips,
// which decodes tile by tile.
constexpr std::int64_t kDirectMaxPixels = 8 << 20;

// An image offset on the reference grid (SIZ XOsiz, YOsiz): rare (some geospatial and cropped
// files), and beyond libvips 8.14's loader (a crash on tiled files, shifted pixels on others) and
// the tile index, so OpenJPEG decodes such files from the file itself.
bool has_origin(const ImageShape& s) { return s.origin.w != 0 || s.origin.h != 0; }

Result<vips::VImage> decode_offset(const std::filesystem::path& path, const ImageShape& s, int reduce, Rect at, int threads) {
  auto px = decode_jp2_file_pixels(path, s, reduce, at, threads);
  if (!px) return px.error();
  auto img = adopt(std::move(*px), s.cmyk, s.icc);
  if (!img) return Error::internal("codec.decode", path.string() + ": cannot wrap pixels");
  return *img;
}

class Jp2Codec final : public Codec {
 public:
  SourceFormat format() const override { return SourceFormat::jp2; }
  std::string_view name() const override { return "JPEG 2000"; }
  std::string_view mime() const override { return "image/jp2"; }
  std::string_view mime_names() const override { return " image/jp2 image/jpx image/x-jp2-codestream "; }
  Capabilities capabilities() const override { return {true, true, false, false}; }

  Result<ImageShape> probe(const std::filesystem::path& path, int) const override { return probe_jp2(path); }

  vips::VImage load(const std::filesystem::path& path, const ImageShape& s, const Level& l, bool) const override {
    if (has_origin(s)) {
      // libvips 8.14 crashes on such files or returns wrong pixels: OpenJPEG, the whole level.
      auto v = decode_offset(path, s, l.index, {0, 0, l.size.w, l.size.h}, 1);
      if (!v) throw vips::VError(v.error().message);
      return *v;
    }
    vips::VImage img = vips::VImage::jp2kload(
        path.c_str(), vips::VImage::option()->set("page", l.index)->set("fail_on", VIPS_FAIL_ON_ERROR));
    if (s.cmyk) img = img.copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_CMYK));
    if (!s.icc.empty()) {
      img = img.copy();
      vips_image_set_blob_copy(img.get_image(), VIPS_META_ICC_NAME, s.icc.data(), s.icc.size());
    }
    return img;
  }

  Result<vips::VImage> decode(const SourceHeader& h, const DecodeRequest& r) const override {
    if (has_origin(h.shape)) return decode_offset(h.path, h.shape, h.shape.levels[r.level].index, r.at, r.threads);
    const auto* ix = dynamic_cast<const Jp2Index*>(h.index());
    if (ix && r.at.w * r.at.h <= kDirectMaxPixels) {
      const int reduce = h.shape.levels[r.level].index;
      // Part of a codestream tile its neighbours will want too: from the decoded-tile cache.
      if (auto v = jp2::decode_from_tiles(h.path, h.mtime_ns, *ix, h.shape, reduce, r.at, r.threads)) return std::move(*v);
      if (ix->high_throughput) {
        // OpenJPH, several times OpenJPEG's speed on HT code-blocks; OpenJPEG for what it skips.
        if (auto v = decode_ht_region(h.path, *ix, h.shape, reduce, r.at, r.threads)) return std::move(*v);
      }
      auto v = decode_jp2_region(h.path, *ix, h.shape, reduce, r.at, r.threads);
      if (v) return v;  // otherwise libvips' loader tries, and reports
    }
    return Codec::decode(h, r);
  }

  std::uint64_t decode_memory(const ImageShape& s, const DecodeRequest& r) const override {
    const auto px = [](std::int64_t w, std::int64_t h) { return static_cast<std::uint64_t>(w) * static_cast<std::uint64_t>(h); };
    if (has_origin(s) && s.ht && r.level < s.levels.size()) {
      // OpenJPEG on the whole file, the whole level (decode_jp2_file_pixels), with its structures.
      const auto& lv = s.levels[r.level].size;
      return px(lv.w, lv.h) * (4 * 4 + kBytesPerPixel) + px(s.size.w, s.size.h) / 4;
    }
    std::uint64_t in = px(r.at.w, r.at.h) <= static_cast<std::uint64_t>(kDirectMaxPixels)
                           ? px(r.at.w, r.at.h) * (4 * 4 + kBytesPerPixel)  // OpenJPEG's 32-bit samples, then ours
                           : Codec::decode_memory(s, r);
    // OpenJPEG builds its precinct and code-block structures for every tile it touches, at full
    // size whatever the decoded area: about 0.1 byte per pixel of tile (measured on a 100000²
    // single-tile file: 2.8 GB). Counted generously, so such a file is refused, not tried.
    const Dim tile = s.tile.w > 0 ? s.tile : s.size;
    const std::uint64_t touched =
        s.tile.w > 0 ? static_cast<std::uint64_t>((r.region.w + tile.w - 1) / tile.w + 1) *
                           static_cast<std::uint64_t>((r.region.h + tile.h - 1) / tile.h + 1)
                     : 1;
    if (s.tile.w > 0 && r.level < s.levels.size()) {
      // Through the decoded-tile cache (tile_cache.h) a region touching up to 4 codestream
      // tiles may decode them whole, at the level's resolution.
      const auto across = static_cast<std::uint64_t>((r.region.x + r.region.w - 1) / tile.w - r.region.x / tile.w + 1);
      const auto down = static_cast<std::uint64_t>((r.region.y + r.region.h - 1) / tile.h - r.region.y / tile.h + 1);
      const std::int64_t f = std::int64_t{1} << s.levels[r.level].index;
      if (across * down <= 4) in = std::max(in, px((tile.w + f - 1) / f, (tile.h + f - 1) / f) * across * down * (4 * 4 + kBytesPerPixel));
      // A small level may be decoded whole for the cache.
      const auto& lv = s.levels[r.level].size;
      if (lv.w * lv.h <= jp2::kWholeLevelPixels) in = std::max(in, px(lv.w, lv.h) * (4 * 4 + kBytesPerPixel));
    }
    return in + px(tile.w, tile.h) / 4 * std::min<std::uint64_t>(touched, 64);
  }

  std::shared_ptr<const FileIndex> index(const std::filesystem::path& path) const override {
    auto ix = index_jp2(path);
    if (!ix) return nullptr;
    return std::make_shared<Jp2Index>(std::move(*ix));
  }

  // image/jp2 is the JP2 file format: a bare codestream (.j2k) goes through the encoder.
  bool is_interchange_file(const std::filesystem::path& path) const override {
    static const unsigned char kSignature[12] = {0, 0, 0, 12, 'j', 'P', ' ', ' ', 13, 10, 0x87, 10};
    unsigned char head[12] = {0};
    std::ifstream in(path, std::ios::binary);
    return in.read(reinterpret_cast<char*>(head), sizeof head) && std::equal(head, head + 12, kSignature);
  }
};

}  // namespace

const Codec& jp2_codec() {
  static const Jp2Codec c;
  return c;
}

}  // namespace sipi::source
