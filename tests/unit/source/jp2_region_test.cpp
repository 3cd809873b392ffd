// The JPEG 2000 region decoder (tile index + virtual codestream) against a full decode of the
// same level by libvips' own loader: every pixel must match. Files come from opj_compress and
// vips with the layouts that matter: tiles, several tile-parts per tile, TLM/PLT markers,
// precincts, progression orders, lossy, untiled, raw codestream, 16-bit, grey, alpha.
#include "source/codec.h"
#include "source/jp2/index.h"
#include "jp2_samples.h"

namespace fs = std::filesystem;
using sipi::Rect;

namespace {

class Jp2Region : public sipi::test::Jp2Samples {
 protected:
  static void SetUpTestSuite() { make_samples(7); }

  // Every region, at every level, decoded through the index equals libvips' full-level decode.
  static void check(const fs::path& file, int expect_min_tiles) {
    auto shape = sipi::source::probe(file, 0);
    ASSERT_TRUE(shape) << shape.error().message;
    auto ix = sipi::source::index_jp2(file);
    ASSERT_TRUE(ix) << file << " not indexable";
    EXPECT_GE(static_cast<int>(ix->tiles.size()), expect_min_tiles);
    for (std::size_t li = 0; li < shape->levels.size() && li < 4; ++li) {
      const auto lv = shape->levels[li];
      vips::VImage full = vips::VImage::jp2kload(file.c_str(), vips::VImage::option()->set("page", lv.index));
      ASSERT_EQ(full.width(), lv.size.w);
      for (const Rect& r : probe_rects(lv.size.w, lv.size.h)) {
        auto got = sipi::source::decode_jp2_region(file, *ix, *shape, lv.index, r);
        ASSERT_TRUE(got) << got.error().message;
        expect_region(*got, full, r, 0, file.filename().string() + " level " + std::to_string(li));
      }
      // The whole level with OpenJPEG's threads (used for regions of 512² and more).
      const Rect all{0, 0, lv.size.w, lv.size.h};
      auto threaded = sipi::source::decode_jp2_region(file, *ix, *shape, lv.index, all, 2);
      ASSERT_TRUE(threaded) << threaded.error().message;
      expect_region(*threaded, full, all, 0, file.filename().string() + " threaded, level " + std::to_string(li));
    }
  }
  static fs::path opj(const std::string& name, const std::string& input, const std::string& args) {
    fs::path out = dir_ / name;
    run("opj_compress -i '" + (dir_ / input).string() + "' -o '" + out.string() + "' " + args);
    return out;
  }
};

}  // namespace

TEST_F(Jp2Region, LosslessTiled) { check(opj("a.jp2", "rgb.ppm", "-t 256,256 -n 4"), 12); }
TEST_F(Jp2Region, SeveralTilePartsPerTileWithTlmAndPlt) {
  check(opj("b.jp2", "rgb.ppm", "-t 256,256 -n 4 -TP R -TLM -PLT -p RPCL"), 12);
}
TEST_F(Jp2Region, LossyLayersAndPrecincts) {
  check(opj("c.jp2", "rgb.ppm", "-t 512,512 -r 40,10,4 -I -c [128,128],[64,64] -b 32,32 -p PCRL"), 4);
}
TEST_F(Jp2Region, UntiledRawCodestream) { check(opj("d.j2k", "rgb.ppm", "-n 5"), 1); }
TEST_F(Jp2Region, OddTileSize) { check(opj("e.jp2", "rgb.ppm", "-t 300,200 -n 3"), 16); }
TEST_F(Jp2Region, ImageOffsetIsLeftToTheGeneralDecoder) {
  EXPECT_FALSE(sipi::source::index_jp2(opj("i.jp2", "rgb.ppm", "-d 10,20 -t 256,256")));
}
// HTJ2K (Part 15), written by Grok: OpenJPEG 2.5.0 decodes sub-tile regions of these as flat
// grey, so the decoder must take whole tiles; this test fails if it does not.
TEST_F(Jp2Region, HighThroughputFromGrok) {
  fs::path out = dir_ / "ht.jp2";
  run("grk_compress -i '" + (dir_ / "rgb.ppm").string() + "' -o '" + out.string() + "' -M 64 -t 256,256 -n 4");
  auto ix = sipi::source::index_jp2(out);
  ASSERT_TRUE(ix);
  EXPECT_TRUE(ix->high_throughput);
  check(out, 12);
}
TEST_F(Jp2Region, Grey) { check(opj("f.jp2", "grey.pgm", "-t 256,256 -n 3"), 12); }
TEST_F(Jp2Region, SixteenBitAndAlphaFromLibvips) {
  run("vips cast '" + (dir_ / "rgb.v").string() + "' '" + (dir_ / "u16.v").string() + "' ushort");
  run("vips linear '" + (dir_ / "u16.v").string() + "' '" + (dir_ / "u16b.v").string() + "' 257 3");
  run("vips cast '" + (dir_ / "u16b.v").string() + "' '" + (dir_ / "u16.png").string() + "' ushort");
  run("vips jp2ksave '" + (dir_ / "u16.png").string() + "' '" + (dir_ / "g.jp2").string() +
      "' --lossless --tile-width 256 --tile-height 256");
  check(dir_ / "g.jp2", 12);
  run("vips bandjoin_const '" + (dir_ / "rgb.v").string() + "' '" + (dir_ / "rgba.png").string() + "' 200");
  run("vips jp2ksave '" + (dir_ / "rgba.png").string() + "' '" + (dir_ / "h.jp2").string() + "' --Q 60");
  check(dir_ / "h.jp2", 1);
}
