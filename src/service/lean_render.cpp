#include "service/lean_render.h"

#include "encode/encode.h"
#include "pipeline/resample.h"

namespace sipi::service {
namespace {

// Outputs up to this size (as encode's small JPEG path).
constexpr std::int64_t kLeanMaxPixels = 4 << 20;

// The samples of p.at in `v`, or nothing when `p` and `v` do not qualify.
std::optional<pipeline::Samples8> window(const PreparedImage& p, const vips::VImage& v) {
  const auto& rq = p.request;
  if (!plain_jpeg(p)) return std::nullopt;
  const int bands = v.bands();
  const auto interp = v.interpretation();
  const bool grey = bands == 1 && interp == VIPS_INTERPRETATION_B_W;
  const bool rgb = bands == 3 && interp == VIPS_INTERPRETATION_sRGB;
  if (v.format() != VIPS_FORMAT_UCHAR || !(grey || rgb) || v.get_typeof(VIPS_META_ICC_NAME) != 0) return std::nullopt;
  if (!(rq.quality == iiif::Quality::default_ || (rq.quality == iiif::Quality::color && rgb) ||
        (rq.quality == iiif::Quality::gray && grey))) {
    return std::nullopt;
  }
  const VipsImage* im = v.get_image();
  if (!im->data || (im->dtype != VIPS_IMAGE_SETBUF && im->dtype != VIPS_IMAGE_SETBUF_FOREIGN)) return std::nullopt;  // lazy
  const Rect at = p.at;
  if (p.size.w * p.size.h > kLeanMaxPixels || p.size.w > at.w || p.size.h > at.h ||
      static_cast<double>(at.w) > pipeline::kMaxLeanShrink * static_cast<double>(p.size.w) ||
      static_cast<double>(at.h) > pipeline::kMaxLeanShrink * static_cast<double>(p.size.h)) {
    return std::nullopt;
  }
  // `v` is either exactly p.at, or the level's pixels around it.
  const bool exact = v.width() == at.w && v.height() == at.h;
  const bool inside = at.x >= 0 && at.y >= 0 && at.x + at.w <= v.width() && at.y + at.h <= v.height();
  if (!exact && !inside) return std::nullopt;
  const auto stride = static_cast<std::size_t>(VIPS_IMAGE_SIZEOF_LINE(im));
  const std::int64_t x0 = exact ? 0 : at.x, y0 = exact ? 0 : at.y;
  return pipeline::Samples8{im->data + stride * static_cast<std::size_t>(y0) + static_cast<std::size_t>(x0 * bands),
                            at.w, at.h, bands, stride};
}

}  // namespace

std::optional<Result<std::string>> render_lean(const PreparedImage& p, const vips::VImage& decoded,
                                               ScalingQuality scaling, int jpeg_quality) {
  const auto in = window(p, decoded);
  if (!in) return std::nullopt;
  const int bands = in->bands;
  const auto w = static_cast<int>(p.size.w), h = static_cast<int>(p.size.h);
  const std::uint8_t* pixels = in->data;
  std::size_t row = in->stride;
  std::vector<std::uint8_t> resized;
  if (p.size.w != p.at.w || p.size.h != p.at.h) {
    resized = pipeline::resample8(*in, p.size, scaling);
    if (resized.empty()) return std::nullopt;
    pixels = resized.data();
    row = static_cast<std::size_t>(w * bands);
  }
  auto jpeg = encode::encode_jpeg_pixels(pixels, w, h, bands, row, jpeg_quality);
  if (!jpeg) return Result<std::string>(jpeg.error());
  if (!*jpeg) return std::nullopt;  // libjpeg failed: the pipeline's jpegsave tries and reports
  return Result<std::string>(std::move(**jpeg));
}

}  // namespace sipi::service
