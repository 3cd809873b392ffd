// A decoded buffer handed to libvips without a copy, for the codecs that decode regions
// themselves (tiff/region.cpp, jp2/region.cpp, jp2/ht_region.cpp), and the sample
// conversion they share.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vips/vips8>

namespace sipi::source {

// One component's decoded samples (`prec` bits, signed or not) as 8 or 16 bits (`wide`), the
// conversion both JPEG 2000 decoders (OpenJPEG's and OpenJPH's) need: unsigned, clamped to
// `prec` bits, then scaled up or down to the target depth.
struct SampleScale {
  std::int32_t offset, max;
  int shift;
  SampleScale(int prec, bool sgnd, bool wide)
      : offset(sgnd ? (1 << (prec - 1)) : 0), max((1 << prec) - 1), shift((wide ? 16 : 8) - prec) {}
  std::uint32_t operator()(std::int32_t v) const {
    const auto u = static_cast<std::uint32_t>(std::clamp(v + offset, 0, max));
    return shift >= 0 ? u << shift : u >> -shift;
  }
};

// Stores sample `i` of an interleaved 8- or 16-bit buffer.
inline void put_sample(void* pixels, std::size_t i, std::uint32_t v, bool wide) {
  if (wide) {
    static_cast<std::uint16_t*>(pixels)[i] = static_cast<std::uint16_t>(v);
  } else {
    static_cast<std::uint8_t*>(pixels)[i] = static_cast<std::uint8_t>(v);
  }
}

// The interpretation of decoded bands: grey or RGB (8 or 16 bits), CMYK when the header said so.
inline VipsInterpretation interpretation_of(int bands, bool wide, bool cmyk) {
  if (cmyk && bands == 4) return VIPS_INTERPRETATION_CMYK;
  if (bands >= 3) return wide ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB;
  return wide ? VIPS_INTERPRETATION_GREY16 : VIPS_INTERPRETATION_B_W;
}

// Wraps `pixels` (g_malloc'ed, interleaved, `bands` of 8 or 16 bits) as an image that owns them
// and frees them when libvips closes it; sets the interpretation and the ICC profile if any.
// Nothing (and `pixels` freed) when libvips refuses the geometry.
inline std::optional<vips::VImage> adopt_pixels(void* pixels, std::size_t bytes, int w, int h, int bands, bool wide,
                                                VipsInterpretation interpretation, const std::string& icc) {
  VipsImage* raw = vips_image_new_from_memory(pixels, bytes, w, h, bands, wide ? VIPS_FORMAT_USHORT : VIPS_FORMAT_UCHAR);
  if (!raw) {
    g_free(pixels);
    return std::nullopt;
  }
  g_signal_connect(raw, "postclose", G_CALLBACK(+[](VipsImage*, gpointer data) { g_free(data); }), pixels);
  // Set on the fresh image, not through copy(): a copy is a lazy image that hides the address of
  // the pixels from the lean path (service/lean_render.h).
  raw->Type = interpretation;
  vips::VImage v(raw);
  if (!icc.empty()) vips_image_set_blob_copy(v.get_image(), VIPS_META_ICC_NAME, icc.data(), icc.size());
  return v;
}

// Decoded samples before libvips owns them: interleaved, `bands` of 8 or 16 bits, g_malloc'ed
// (so that adopt() hands them over without a copy).
struct Pixels {
  std::unique_ptr<void, decltype(&g_free)> data{nullptr, &g_free};
  std::int64_t w = 0, h = 0;
  int bands = 0;
  bool wide = false;

  static Pixels allocate(std::int64_t w, std::int64_t h, int bands, bool wide) {
    Pixels p;
    p.w = w, p.h = h, p.bands = bands, p.wide = wide;
    p.data.reset(g_malloc(p.bytes()));
    return p;
  }
  std::size_t pixel_bytes() const { return static_cast<std::size_t>(bands) * (wide ? 2 : 1); }
  std::size_t row_bytes() const { return static_cast<std::size_t>(w) * pixel_bytes(); }
  std::size_t bytes() const { return row_bytes() * static_cast<std::size_t>(h); }
  unsigned char* row(std::int64_t y) const { return static_cast<unsigned char*>(data.get()) + row_bytes() * static_cast<std::size_t>(y); }
};

// `p` as an image (grey, RGB or CMYK by `cmyk`), without a copy; nothing when libvips refuses it.
inline std::optional<vips::VImage> adopt(Pixels&& p, bool cmyk, const std::string& icc) {
  const std::size_t n = p.bytes();
  return adopt_pixels(p.data.release(), n, static_cast<int>(p.w), static_cast<int>(p.h), p.bands, p.wide,
                      interpretation_of(p.bands, p.wide, cmyk), icc);
}

}  // namespace sipi::source
