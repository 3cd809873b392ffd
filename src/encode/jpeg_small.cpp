// JPEG output for small images (tiles, thumbnails), evaluated and encoded on the calling thread.
// libvips' jpegsave runs every save through its thread pool (a worker thread plus a write-behind
// thread, with a handoff per strip); for a 256² tile those handoffs cost more than the encoding.
// Here the pipeline is computed with one vips_region_prepare on this thread, and libjpeg-turbo
// encodes the pixels with the settings jpegsave uses (JFIF, 4:2:0 below Q 90, 4:4:4 from 90).
#include <cstddef>
#include <cstdio>
#include <jpeglib.h>

#include <csetjmp>
#include <cstdlib>
#include <memory>

#include "encode/encode.h"

namespace sipi::encode {
namespace {

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
};

[[noreturn]] void on_error(j_common_ptr c) {
  auto* e = reinterpret_cast<ErrorManager*>(c->err);
  std::longjmp(e->jump, 1);
}

struct RegionUnref {
  void operator()(VipsRegion* r) const { g_object_unref(r); }
};

}  // namespace

Result<std::optional<std::string>> encode_small_jpeg(const vips::VImage& img, int quality) {
  const int w = img.width(), h = img.height(), bands = img.bands();
  if (img.format() != VIPS_FORMAT_UCHAR || (bands != 1 && bands != 3)) return std::optional<std::string>();
  std::unique_ptr<VipsRegion, RegionUnref> region(vips_region_new(img.get_image()));
  VipsRect all{0, 0, w, h};
  if (!region || vips_region_prepare(region.get(), &all) != 0) {
    // The pixels did not compute (a damaged source). Not retried through jpegsave: a loader's
    // tile cache may hand the second evaluation the failed tiles as black, and report success.
    std::string why = vips_error_buffer();
    vips_error_clear();
    return Error::internal("codec.decode", why);
  }
  return encode_jpeg_pixels(reinterpret_cast<const unsigned char*>(VIPS_REGION_ADDR(region.get(), 0, 0)), w, h, bands,
                            VIPS_REGION_LSKIP(region.get()), quality);
}

Result<std::optional<std::string>> encode_jpeg_pixels(const unsigned char* pixels, int w, int h, int bands,
                                                      std::size_t stride, int quality) {
  jpeg_compress_struct cinfo{};
  ErrorManager err{};
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  unsigned char* out = nullptr;
  unsigned long out_len = 0;
  // Nothing below may own C++ resources across a longjmp.
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&cinfo);
    std::free(out);
    return std::optional<std::string>();  // jpegsave will try, and report
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, &out, &out_len);
  cinfo.image_width = static_cast<JDIMENSION>(w);
  cinfo.image_height = static_cast<JDIMENSION>(h);
  cinfo.input_components = bands;
  cinfo.in_color_space = bands == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  if (bands == 3 && quality >= 90) {
    for (int c = 0; c < 3; ++c) cinfo.comp_info[c].h_samp_factor = cinfo.comp_info[c].v_samp_factor = 1;
  }
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(pixels + stride * cinfo.next_scanline);  // libjpeg only reads it
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string body(reinterpret_cast<const char*>(out), out_len);
  std::free(out);
  return std::optional<std::string>(std::move(body));
}

}  // namespace sipi::encode
