// One-page PDF of an image (IIIF's optional `pdf` format): the image is encoded as JPEG and
// cairo's PDF surface embeds that JPEG stream as it is (DCTDecode), so the PDF costs a JPEG
// encode plus a few hundred bytes. The page is the image's size at 72 dpi (1 px = 1 pt).
#include "encode/encode.h"

#include <cairo-pdf.h>
#include <cairo.h>

#include <memory>

namespace sipi::encode {
namespace {

cairo_status_t append(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

struct SurfaceFree {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct CairoFree {
  void operator()(cairo_t* c) const { cairo_destroy(c); }
};

}  // namespace

Result<std::string> encode_pdf(const vips::VImage& rgb8, const std::string& jpeg) {
  const int w = rgb8.width(), h = rgb8.height();
  // The pixels as cairo wants them (x8r8g8b8): only used if the JPEG cannot be embedded.
  std::unique_ptr<cairo_surface_t, SurfaceFree> image(cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h));
  if (cairo_surface_status(image.get()) != CAIRO_STATUS_SUCCESS) return Error::internal("codec.encode", "cairo image");
  cairo_surface_flush(image.get());
  std::size_t n = 0;
  std::unique_ptr<unsigned char, decltype(&g_free)> px(static_cast<unsigned char*>(rgb8.write_to_memory(&n)), g_free);
  unsigned char* dst = cairo_image_surface_get_data(image.get());
  const int stride = cairo_image_surface_get_stride(image.get());
  const int bands = rgb8.bands();
  for (int y = 0; y < h; ++y) {
    auto* row = reinterpret_cast<std::uint32_t*>(dst + static_cast<std::size_t>(y) * stride);
    const unsigned char* s = px.get() + static_cast<std::size_t>(y) * w * bands;
    for (int x = 0; x < w; ++x, s += bands) {
      const std::uint32_t r = s[0], g = bands >= 3 ? s[1] : s[0], b = bands >= 3 ? s[2] : s[0];
      row[x] = (r << 16) | (g << 8) | b;
    }
  }
  cairo_surface_mark_dirty(image.get());
  // cairo keeps its own reference to the JPEG bytes until the surface is done with them.
  auto* copy = new std::string(jpeg);
  cairo_surface_set_mime_data(image.get(), CAIRO_MIME_TYPE_JPEG, reinterpret_cast<const unsigned char*>(copy->data()),
                              copy->size(), [](void* p) { delete static_cast<std::string*>(p); }, copy);
  std::string out;
  {
    std::unique_ptr<cairo_surface_t, SurfaceFree> pdf(cairo_pdf_surface_create_for_stream(append, &out, w, h));
    std::unique_ptr<cairo_t, CairoFree> cr(cairo_create(pdf.get()));
    cairo_set_source_surface(cr.get(), image.get(), 0, 0);
    cairo_paint(cr.get());
    cairo_show_page(cr.get());
    cr.reset();
    cairo_surface_finish(pdf.get());
    if (cairo_surface_status(pdf.get()) != CAIRO_STATUS_SUCCESS) {
      return Error::internal("codec.encode", cairo_status_to_string(cairo_surface_status(pdf.get())));
    }
  }
  return out;
}

}  // namespace sipi::encode
