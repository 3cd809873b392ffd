// A decoded buffer handed to libvips without a copy, for the codecs that decode regions
// themselves (tiff/region.cpp, jp2/region.cpp).
#pragma once

#include <optional>
#include <string>
#include <vips/vips8>

namespace sipi::source {

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
  vips::VImage v(raw);
  v = v.copy(vips::VImage::option()->set("interpretation", interpretation));
  if (!icc.empty()) vips_image_set_blob_copy(v.get_image(), VIPS_META_ICC_NAME, icc.data(), icc.size());
  return v;
}

}  // namespace sipi::source
