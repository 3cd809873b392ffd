#include "encode/encode.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/fd_io.h"
#include "pipeline/transform.h"

namespace sipi::encode {
namespace {

using vips::VImage;

// Outputs up to this size are computed in one piece on the worker thread (4 MP RGB = 12 MB).
constexpr std::int64_t kSmallPixels = 4 << 20;

VImage without_alpha(const VImage& img) {
  if (!pipeline::has_alpha(img)) return img;
  return img.flatten(VImage::option()->set("background", std::vector<double>{255.0})).cast(VIPS_FORMAT_UCHAR);
}

// apply_quality(bitonal) marks its output; a 1-bit PNG is far smaller than an 8-bit one.
bool is_bilevel(const VImage& img) { return img.bands() == 1 && img.get_typeof(pipeline::kBitonalMark) != 0; }

std::string take(VipsBlob* blob) {
  std::size_t len = 0;
  const void* data = vips_blob_get(blob, &len);
  std::string out(static_cast<const char*>(data), len);
  vips_area_unref(VIPS_AREA(blob));
  return out;
}

}  // namespace

bool encoder_streams(iiif::Format f) { return f == iiif::Format::jpg || f == iiif::Format::png; }

Result<Ok> encode_to(const VImage& in, iiif::Format f, const Options& opts, int fd) {
  const bool small = static_cast<std::int64_t>(in.width()) * in.height() <= kSmallPixels;
  try {
    // Small outputs take encode()'s way, so that a body is the same bytes whichever way it went.
    if (encoder_streams(f) && !small) {
      vips::VTarget target = vips::VTarget::new_to_descriptor(fd);
      if (f == iiif::Format::jpg) {
        without_alpha(in).jpegsave_target(target, VImage::option()->set("Q", opts.quality)->set("strip", true));
      } else {
        in.pngsave_target(target, VImage::option()->set("compression", 6)->set("strip", true)->set(
            "bitdepth", is_bilevel(in) ? 1 : 8));
      }
      return Ok{};
    }
  } catch (const vips::VError& e) {
    std::string msg = e.what();
    vips_error_clear();
    return Error::internal("codec.encode", msg);
  }
  auto whole = encode(in, f, opts);
  if (!whole) return whole.error();
  if (!write_all(fd, whole->data(), whole->size())) return Error::internal("codec.encode", std::string("spool write: ") + std::strerror(errno));
  return Ok{};
}

Result<std::string> encode(const VImage& in, iiif::Format f, const Options& opts) {
  try {
    switch (f) {
      case iiif::Format::jpg:
        if (static_cast<std::int64_t>(in.width()) * in.height() <= kSmallPixels) {
          auto small = encode_small_jpeg(without_alpha(in), opts.quality);
          if (!small) return small.error();
          if (*small) return std::move(**small);
        }
        return take(without_alpha(in).jpegsave_buffer(VImage::option()->set("Q", opts.quality)->set("strip", true)));
      case iiif::Format::png:
        return take(in.pngsave_buffer(VImage::option()->set("compression", 6)->set("strip", true)->set(
            "bitdepth", is_bilevel(in) ? 1 : 8)));
      case iiif::Format::webp:
        return take(in.webpsave_buffer(VImage::option()->set("Q", opts.quality)->set("strip", true)));
      case iiif::Format::tif:
        return take(in.tiffsave_buffer(
            VImage::option()->set("compression", VIPS_FOREIGN_TIFF_COMPRESSION_DEFLATE)->set("strip", true)));
      case iiif::Format::jp2:
        return take(without_alpha(in).jp2ksave_buffer(VImage::option()->set("Q", opts.quality)));
      case iiif::Format::gif:
        return take(in.gifsave_buffer(VImage::option()->set("strip", true)));
      case iiif::Format::pdf: {
        VImage flat = without_alpha(in);
        auto jpeg = encode(flat, iiif::Format::jpg, opts);
        if (!jpeg) return jpeg.error();
        return encode_pdf(flat, *jpeg);
      }
    }
    return Error::internal("codec.encode", "unknown format");
  } catch (const vips::VError& e) {
    std::string msg = e.what();
    vips_error_clear();
    return Error::internal("codec.encode", msg);
  }
}

}  // namespace sipi::encode
