// JPEG 2000 (.jp2, .jpx, .j2k): the codestream header, read with OpenJPEG, gives the number of
// resolution levels and the tiling; libvips' jp2kload then decodes one level ("page" n halves
// n times), touching only the code-blocks of the tiles a region covers.
#include "source/openjpeg_handles.h"

#include <fstream>
#include <memory>

#include "metadata/metadata.h"
#include "source/decoder.h"

namespace sipi::source {
namespace {



bool is_raw_codestream(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char m[2] = {0, 0};
  in.read(reinterpret_cast<char*>(m), 2);
  return m[0] == 0xff && m[1] == 0x4f;
}

}  // namespace

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
  Dim tile{static_cast<std::int64_t>(info->tdx), static_cast<std::int64_t>(info->tdy)};
  std::uint32_t ntiles = info->tw * info->th;
  if (info->m_default_tile_info.tccp_info) {
    resolutions = static_cast<int>(info->m_default_tile_info.tccp_info[0].numresolutions);
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
  for (int k = 0; k < resolutions && k < 32; ++k) {
    std::int64_t f = std::int64_t{1} << k;
    Dim d{(s.size.w + f - 1) / f, (s.size.h + f - 1) / f};
    s.levels.push_back({d, k, -1});
    if (d.w == 1 && d.h == 1) break;
  }
  return s;
}

vips::VImage load_jp2(const std::filesystem::path& path, const Level& l, const std::string& icc, bool cmyk) {
  vips::VImage img = vips::VImage::jp2kload(
      path.c_str(), vips::VImage::option()->set("page", l.index)->set("fail_on", VIPS_FAIL_ON_ERROR));
  if (cmyk) img = img.copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_CMYK));
  if (!icc.empty()) {
    img = img.copy();
    vips_image_set_blob_copy(img.get_image(), VIPS_META_ICC_NAME, icc.data(), icc.size());
  }
  return img;
}

}  // namespace sipi::source
