#include "service/lean_render.h"

#include "encode/encode.h"
#include "pipeline/resample.h"

namespace sipi::service {
namespace {

// Outputs up to this size (as encode's small JPEG path).
constexpr std::int64_t kLeanMaxPixels = 4 << 20;

bool qualifies(const PreparedImage& p, const vips::VImage& v) {
  const auto& rq = p.request;
  if (!plain_jpeg(p)) return false;
  const int bands = v.bands();
  const auto interp = v.interpretation();
  const bool grey = bands == 1 && interp == VIPS_INTERPRETATION_B_W;
  const bool rgb = bands == 3 && interp == VIPS_INTERPRETATION_sRGB;
  if (v.format() != VIPS_FORMAT_UCHAR || !(grey || rgb) || v.get_typeof(VIPS_META_ICC_NAME) != 0) return false;
  if (!(rq.quality == iiif::Quality::default_ || (rq.quality == iiif::Quality::color && rgb) ||
        (rq.quality == iiif::Quality::gray && grey))) {
    return false;
  }
  const VipsImage* im = v.get_image();
  if (!im->data || (im->dtype != VIPS_IMAGE_SETBUF && im->dtype != VIPS_IMAGE_SETBUF_FOREIGN)) return false;  // lazy
  const Rect at = p.at;
  const bool inside = at.x >= 0 && at.y >= 0 && at.x + at.w <= v.width() && at.y + at.h <= v.height();
  const bool exact = v.width() == at.w && v.height() == at.h;
  return (inside || exact) && p.size.w * p.size.h <= kLeanMaxPixels && p.size.w <= at.w && p.size.h <= at.h &&
         static_cast<double>(at.w) <= pipeline::kMaxLeanShrink * static_cast<double>(p.size.w) &&
         static_cast<double>(at.h) <= pipeline::kMaxLeanShrink * static_cast<double>(p.size.h);
}

}  // namespace

std::optional<Result<std::string>> render_lean(const PreparedImage& p, const vips::VImage& decoded,
                                               ScalingQuality scaling, int jpeg_quality) {
  if (!qualifies(p, decoded)) return std::nullopt;
  const VipsImage* im = decoded.get_image();
  const int bands = decoded.bands();
  const auto stride = static_cast<std::size_t>(VIPS_IMAGE_SIZEOF_LINE(im));
  const bool exact = decoded.width() == p.at.w && decoded.height() == p.at.h;
  const std::int64_t x0 = exact ? 0 : p.at.x, y0 = exact ? 0 : p.at.y;
  const pipeline::Samples8 in{im->data + stride * static_cast<std::size_t>(y0) + static_cast<std::size_t>(x0 * bands),
                              p.at.w, p.at.h, bands, stride};
  const auto w = static_cast<int>(p.size.w), h = static_cast<int>(p.size.h);
  const std::uint8_t* pixels = in.data;
  std::size_t row = stride;
  std::vector<std::uint8_t> resized;
  if (p.size.w != p.at.w || p.size.h != p.at.h) {
    resized = pipeline::resample8(in, p.size, scaling);
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
