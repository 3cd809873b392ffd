// The HTJ2K region decoder (OpenJPH, one codestream tile at a time) against a reference decode
// of the same level by OpenJPEG's opj_decompress (the whole image: libvips' loader decodes HT
// files area by area, where OpenJPEG 2.5.0 returns wrong pixels): every pixel of every region
// must match for lossless files, within 1 for lossy ones. Files from three writers: OpenJPH's ojph_compress,
// Grok's grk_compress and sipi's own writer. What OpenJPH 0.9 skips (a COC marker here) must
// come back as "not mine", so that OpenJPEG decodes it.
#include <fstream>
#include <iterator>
#include <vips/vips8>

#include "encode/htj2k_writer.h"
#include "source/codec.h"
#include "source/jp2/ht_region.h"
#include "source/jp2/index.h"
#include "jp2_samples.h"

namespace fs = std::filesystem;
using sipi::Rect;

namespace {

std::string codestream(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

class HtRegion : public sipi::test::Jp2Samples {
 protected:
  static void SetUpTestSuite() { make_samples(11); }

  // Every region at the first levels: OpenJPH's answer equals OpenJPEG's full-level decode.
  static void check(const fs::path& file, double tolerance) {
    auto shape = sipi::source::probe(file, 0);
    ASSERT_TRUE(shape) << shape.error().message;
    auto ix = sipi::source::index_jp2(file);
    ASSERT_TRUE(ix) << file << " not indexable";
    ASSERT_TRUE(ix->high_throughput);
    ASSERT_TRUE(ix->openjph_main_header);
    for (std::size_t li = 0; li < shape->levels.size() && li < 4; ++li) {
      const auto lv = shape->levels[li];
      const std::string ref = p("ref-" + file.stem().string() + "-" + std::to_string(lv.index) + ".ppm");
      run("opj_decompress -i '" + file.string() + "' -o '" + ref + "' -r " + std::to_string(lv.index));
      vips::VImage full = vips::VImage::new_from_file(ref.c_str(), vips::VImage::option()->set("access", VIPS_ACCESS_RANDOM));
      for (const Rect& r : probe_rects(lv.size.w, lv.size.h)) {
        auto got = sipi::source::decode_ht_region(file, *ix, *shape, lv.index, r);
        ASSERT_TRUE(got.has_value()) << file.filename() << ": OpenJPH declined";
        ASSERT_TRUE(*got) << got->error().message;
        expect_region(**got, full, r, tolerance, file.filename().string() + " level " + std::to_string(li));
      }
      // The whole level again with tiles decoded on three threads: the same pixels.
      const Rect all{0, 0, lv.size.w, lv.size.h};
      auto threaded = sipi::source::decode_ht_region(file, *ix, *shape, lv.index, all, 3);
      ASSERT_TRUE(threaded.has_value() && *threaded);
      expect_region(**threaded, full, all, tolerance, file.filename().string() + " threaded, level " + std::to_string(li));
    }
  }

  // ojph_compress's lossless codestream of the sample in 256² tiles, 4 levels, written to `path`.
  static std::string lossless_256(const std::string& path) {
    run("ojph_compress -i '" + p("rgb.ppm") + "' -o '" + path + "' -reversible true -num_decomps 4 -tile_size '{256,256}'");
    return codestream(path);
  }

  // A file whose first tile-part header holds a marker OpenJPH 0.9 would skip: that tile goes
  // to OpenJPEG, with the source's pixels, and the others stay OpenJPH's.
  static void tile_part_marker_goes_to_openjpeg(const std::string& cs, const std::string& name);
};

// A COC segment repeating COD's own values for component 0 (so the pixels do not change): Lcoc 9,
// component 0, Scoc 0, then COD's SPcod (levels, xcb, ycb, style, transform). "" without COD.
std::string coc_like_cod(const std::string& cs) {
  const std::size_t cod = cs.find("\xFF\x52");
  if (cod == std::string::npos) return "";
  return std::string("\xFF\x53\x00\x09\x00\x00", 6) + cs.substr(cod + 9, 5);
}

// `cs` with `segment` put first in the first tile-part header (its Psot grown to match).
std::string with_tile_part_segment(std::string cs, const std::string& segment) {
  const std::size_t sot = cs.find("\xFF\x90");
  if (sot == std::string::npos) return "";
  cs.insert(sot + 12, segment);
  auto psot = static_cast<std::uint32_t>((static_cast<unsigned char>(cs[sot + 6]) << 24) |
                                         (static_cast<unsigned char>(cs[sot + 7]) << 16) |
                                         (static_cast<unsigned char>(cs[sot + 8]) << 8) | static_cast<unsigned char>(cs[sot + 9]));
  psot += static_cast<std::uint32_t>(segment.size());
  for (int i = 0; i < 4; ++i) cs[sot + 6 + static_cast<std::size_t>(i)] = static_cast<char>(psot >> (24 - 8 * i));
  return cs;
}

// An RGN segment that shifts nothing: Lrgn 5, component 0, implicit style, shift 0.
const std::string kNeutralRgn("\xFF\x5E\x00\x05\x00\x00\x00", 7);

// A POC segment with one entry that repeats COD's own progression over every resolution,
// component and layer, so the packets come in the same order. "" without COD.
std::string poc_like_cod(const std::string& cs) {
  const std::size_t cod = cs.find("\xFF\x52");
  if (cod == std::string::npos) return "";
  const char order = cs[cod + 5], layers_hi = cs[cod + 6], layers_lo = cs[cod + 7];
  const char levels = cs[cod + 9];
  // RSpoc 0, CSpoc 0, LYEpoc = the layers, REpoc = levels + 1, CEpoc 3, Ppoc = COD's order.
  return std::string("\xFF\x5F\x00\x09\x00\x00", 6) + layers_hi + layers_lo + static_cast<char>(levels + 1) + '\x03' + order;
}

}  // namespace

TEST_F(HtRegion, OpenJphLossless256) {
  run("ojph_compress -i '" + p("rgb.ppm") + "' -o '" + p("a.j2c") +
      "' -reversible true -num_decomps 4 -tile_size '{256,256}'");
  check(dir_ / "a.j2c", 0);
}

TEST_F(HtRegion, OpenJphLosslessUntiled) {
  run("ojph_compress -i '" + p("rgb.ppm") + "' -o '" + p("b.j2c") + "' -reversible true -num_decomps 5");
  check(dir_ / "b.j2c", 0);
}

TEST_F(HtRegion, OpenJphLossy) {
  run("ojph_compress -i '" + p("rgb.ppm") + "' -o '" + p("c.j2c") + "' -qstep 0.01 -num_decomps 4 -tile_size '{300,200}'");
  check(dir_ / "c.j2c", 1);
}

TEST_F(HtRegion, GrokHt) {
  run("grk_compress -i '" + p("rgb.ppm") + "' -o '" + p("d.jp2") + "' -M 64 -t 256,256 -n 5");
  check(dir_ / "d.jp2", 0);
}

TEST_F(HtRegion, SipiWriterLosslessAndLossy) {
  vips::VImage img = vips::VImage::new_from_file(p("rgb.v").c_str());
  sipi::encode::Jp2Params lossless;
  lossless.ht = true;
  ASSERT_TRUE(sipi::encode::write_htj2k(img, dir_ / "e.jp2", lossless, {}));
  check(dir_ / "e.jp2", 0);
  sipi::encode::Jp2Params lossy = lossless;
  lossy.lossless = false;
  lossy.quality = 60;
  lossy.tile_w = lossy.tile_h = 512;
  ASSERT_TRUE(sipi::encode::write_htj2k(img, dir_ / "f.jp2", lossy, {}));
  check(dir_ / "f.jp2", 1);
}

// A COC marker (here repeating COD's own values for component 0, so the pixels do not change) in
// a tile-part header: OpenJPH 0.9 would skip it, so the decoder declines and OpenJPEG decodes.
TEST_F(HtRegion, CocMarkerGoesToOpenJpeg) {
  const std::string cs = lossless_256(p("g.j2c"));
  const std::string coc = coc_like_cod(cs);
  ASSERT_FALSE(coc.empty());
  tile_part_marker_goes_to_openjpeg(with_tile_part_segment(cs, coc), "h.j2c");
}

// The other tile-part markers OpenJPH 0.9 skips, each harmless here (so OpenJPEG's pixels are
// the source's): a region of interest shifted by nothing, and a progression change to the same order.
TEST_F(HtRegion, RgnAndPocMarkersGoToOpenJpeg) {
  const std::string cs = lossless_256(p("k.j2c"));
  const std::string poc = poc_like_cod(cs);
  ASSERT_FALSE(poc.empty());
  tile_part_marker_goes_to_openjpeg(with_tile_part_segment(cs, kNeutralRgn), "rgn.j2c");
  tile_part_marker_goes_to_openjpeg(with_tile_part_segment(cs, poc), "poc.j2c");
}

void HtRegion::tile_part_marker_goes_to_openjpeg(const std::string& cs, const std::string& name) {
  ASSERT_FALSE(cs.empty());
  std::ofstream(p(name), std::ios::binary) << cs;
  SCOPED_TRACE(name);
  const fs::path file = dir_ / name;
  auto shape = sipi::source::probe(file, 0);
  ASSERT_TRUE(shape);
  auto ix = sipi::source::index_jp2(file);
  ASSERT_TRUE(ix);
  EXPECT_TRUE(ix->openjph_main_header);  // the marker is in a tile-part header only
  const Rect first{0, 0, 256, 256}, second{256, 0, 256, 256};
  EXPECT_FALSE(sipi::source::decode_ht_region(file, *ix, *shape, 0, first).has_value());
  // Tiles without the marker are still OpenJPH's; the one with it decodes through OpenJPEG.
  EXPECT_TRUE(sipi::source::decode_ht_region(file, *ix, *shape, 0, second).has_value());
  auto via_openjpeg = sipi::source::decode_jp2_region(file, *ix, *shape, 0, first);
  ASSERT_TRUE(via_openjpeg) << via_openjpeg.error().message;
  vips::VImage want = vips::VImage::new_from_file(p("rgb.v").c_str()).crop(0, 0, 256, 256);
  EXPECT_EQ((via_openjpeg->cast(VIPS_FORMAT_INT) - want.cast(VIPS_FORMAT_INT)).abs().max(), 0.0);
}

// The same COC in the main header: OpenJPH would skip it for every tile, so the index marks the
// file as OpenJPEG's (scanned once, not per request) and the decoder declines every region.
TEST_F(HtRegion, CocMarkerInTheMainHeaderGoesToOpenJpeg) {
  std::string cs = lossless_256(p("i.j2c"));
  const std::size_t cod = cs.find("\xFF\x52");
  ASSERT_NE(cod, std::string::npos);
  const std::string coc = coc_like_cod(cs);
  const std::size_t after_cod = cod + 2 + ((static_cast<unsigned char>(cs[cod + 2]) << 8) | static_cast<unsigned char>(cs[cod + 3]));
  cs.insert(after_cod, coc);
  std::ofstream(p("j.j2c"), std::ios::binary) << cs;

  const fs::path file = dir_ / "j.j2c";
  auto shape = sipi::source::probe(file, 0);
  ASSERT_TRUE(shape);
  auto ix = sipi::source::index_jp2(file);
  ASSERT_TRUE(ix);
  EXPECT_FALSE(ix->openjph_main_header);
  EXPECT_FALSE(sipi::source::decode_ht_region(file, *ix, *shape, 0, {256, 256, 256, 256}).has_value());
  auto via_openjpeg = sipi::source::decode_jp2_region(file, *ix, *shape, 0, {256, 256, 256, 256});
  ASSERT_TRUE(via_openjpeg) << via_openjpeg.error().message;
  vips::VImage want = vips::VImage::new_from_file(p("rgb.v").c_str()).crop(256, 256, 256, 256);
  EXPECT_EQ((via_openjpeg->cast(VIPS_FORMAT_INT) - want.cast(VIPS_FORMAT_INT)).abs().max(), 0.0);
}
