// Arbitrary bytes as a source image file, opened the way the server opens one: source::sniff and
// source::probe (every page-selection path), load_level's sizes against probe's, then IIIF
// requests through service::prepare_image (header cache: probe, stored tile tables, JPEG 2000 index; planning),
// decode_memory_estimate and stored_tile, whatever size the headers claim; and, for images of at
// most 4 MP (to keep memory bounded), service::render_image:
//   A: one tile-sized region at full resolution, default.jpg — the stored-JPEG-tile path, the
//      direct JPEG 2000 index decode (decode_jp2_region), the direct tiled-TIFF read
//      (decode_tiff_region), or libvips' loader (load_level + crop);
//   B: full/max, a reduced level (!64,64), rotations, qualities, other output formats — all prepared,
//      one of them (chosen by a hash of the input) rendered: the pipeline and the other encoders.
// libvips is set up as `sipi server` does (no operation cache, concurrency 1, quiet codecs);
// the loaders set fail_on=error themselves.
//
// Known findings (reproducers in fuzz/crashes/) would stop every run at once; with
// SIPI_FUZZ_SKIP_KNOWN=1 (scripts/fuzz.sh sets it for the timed runs, and replays the
// reproducers without it) the inputs that reach them are skipped, so the fuzzer looks for new ones.
//
// Each input gets a file name of its own (the header cache and libtiff handle cache are keyed
// by path and modification time, whose granularity is a clock tick) and a fresh Context; the
// file is removed after the run.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include <openjpeg.h>
#include <vips/vips8>

#include "core/log.h"
#include "fuzz_util.h"
#include "iiif/request.h"
#include "metadata/metadata.h"
#include "service/context.h"
#include "service/image_service.h"
#include "source/codec.h"

namespace fs = std::filesystem;
using namespace sipi;

namespace {

constexpr std::int64_t kMaxArea = 4 << 20;  // 4 MP

bool skip_known() {
  static const bool skip = [] {
    const char* e = std::getenv("SIPI_FUZZ_SKIP_KNOWN");
    return e && *e && std::string_view(e) != "0";
  }();
  return skip;
}

// fuzz_image-plan-overflow.tif: pipeline::region_at_level computes (x + w) * level.w in 64 bits,
// which overflows for sides above ~3.04e9 px (TIFF and JPEG 2000 headers can claim up to 2^32-1);
// decode_memory_estimate, stored_tile and render_image all go through it.
bool known_plan_overflow(const source::ImageShape& s) {
  if (!skip_known()) return false;
  for (const auto& l : s.levels) {
    if (l.size.w > 3037000499 || l.size.h > 3037000499) return true;
  }
  return s.size.w > 3037000499 || s.size.h > 3037000499;
}

// Asserts inside Debian's libraries that sipi cannot fix and contains instead (the server
// decodes in helper processes; tests/e2e/test_isolation.py replays fuzz/crashes/fuzz_image-lib-*
// against it). Only these known ones are skipped: any other abort still stops the run.
constexpr const char* kKnownLibraryAsserts[] = {
    "ht_dec.c:319: mel_init",  // OpenJPEG 2.5.0, fuzz_image-lib-ht-mel-abort.jp2
};

// An HTJ2K codestream: a CAP marker (FF50, Part 15) in the main header.
bool is_htj2k(const std::uint8_t* data, std::size_t size) {
  for (std::size_t i = 0; i + 1 < std::min<std::size_t>(size, 4096); ++i) {
    if (data[i] == 0xff && data[i + 1] == 0x50) return true;
  }
  return false;
}

// Decodes `path` whole with OpenJPEG alone in a forked child and tells whether that dies on a
// known library assert; the parent then skips the render (and otherwise runs it itself, so
// coverage still counts). OpenJPEG only, single-threaded: a forked copy of this process may
// not use libvips, whose threads did not come along (OpenJPEG starts its own).
bool hits_known_library_assert(const fs::path& path) {
  int fds[2];
  if (::pipe(fds) != 0) return false;
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    ::signal(SIGABRT, SIG_DFL);  // not libFuzzer's handler: no crash artifact from the child
    ::dup2(fds[1], 2);
    ::alarm(5);
    bool jp2 = false;
    if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
      unsigned char m[4] = {};
      jp2 = std::fread(m, 1, 4, f) == 4 && m[0] == 0 && m[3] == 12;
      std::fclose(f);
    }
    // One thread stops at the first malformed HT code-block; with threads (as libvips' loader
    // decodes) the code-blocks behind it may be reached too, depending on scheduling
    // (fuzz_image-lib-ht-mel-abort-mt.j2k): one plain decode, then several threaded ones.
    for (int attempt = 0; attempt < 12; ++attempt) {
      opj_stream_t* st = opj_stream_create_default_file_stream(path.c_str(), OPJ_TRUE);
      opj_codec_t* codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
      opj_set_error_handler(codec, [](const char*, void*) {}, nullptr);
      opj_set_warning_handler(codec, [](const char*, void*) {}, nullptr);
      opj_dparameters_t params;
      opj_set_default_decoder_parameters(&params);
      opj_image_t* image = nullptr;
      if (st && codec && opj_setup_decoder(codec, &params) && opj_codec_set_threads(codec, attempt == 0 ? 1 : 4) &&
          opj_read_header(st, codec, &image)) {
        (void)opj_decode(codec, st, image);
      }
      if (image) opj_image_destroy(image);
      if (codec) opj_destroy_codec(codec);
      if (st) opj_stream_destroy(st);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string err;
  char buf[1024];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) err.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT) return false;
  for (const char* known : kKnownLibraryAsserts) {
    if (err.find(known) != std::string::npos) return true;
  }
  return false;
}

// decoder.h's contract: load_level(i) yields an image of the size probe declared for level i
// (render_image crops level coordinates out of it). Headers only: no pixel is decoded.
void check_levels(const fs::path& path, const source::ImageShape& s) {
  for (std::size_t i = 0; i < s.levels.size(); ++i) {
    auto img = source::load_level(path, s, i, false);
    if (!img) continue;
    const Dim want = s.levels[i].size;
    FUZZ_CHECK(img->width() == want.w && img->height() == want.h,
               "level " + std::to_string(i) + " (index " + std::to_string(s.levels[i].index) + ") declared " +
                   std::to_string(want.w) + "x" + std::to_string(want.h) + ", loads as " +
                   std::to_string(img->width()) + "x" + std::to_string(img->height()));
  }
}

const fs::path& image_dir() {
  static const fs::path d = [] {
    fs::path p = sipi_fuzz::scratch_dir() / "images";
    fs::create_directories(p);
    return fs::canonical(p);
  }();
  return d;
}

std::uint32_t fnv(const std::uint8_t* data, std::size_t size) {
  std::uint32_t h = 2166136261u;
  for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 16777619u;
  return h;
}

// "/{id}/{region}/{size}/{rotation}/{quality}.{format}" through the real classifier.
void request(const service::Context& ctx, const std::string& id, const std::string& params, bool render) {
  auto req = iiif::classify("/" + id + "/" + params);
  FUZZ_CHECK(req.has_value() && std::holds_alternative<iiif::ImageRequest>(*req), "harness request " + params);
  auto p = service::prepare_image(ctx, std::get<iiif::ImageRequest>(*req));
  if (!p || known_plan_overflow(p->shape)) return;
  FUZZ_CHECK(p->region.x >= 0 && p->region.y >= 0 && p->region.x + p->region.w <= p->shape.size.w &&
                 p->region.y + p->region.h <= p->shape.size.h,
             "prepared region outside the image");
  (void)service::decode_memory_estimate(*p);
  if (auto tile = service::stored_tile(*p)) {
    FUZZ_CHECK(tile->size() >= 4 && static_cast<unsigned char>((*tile)[0]) == 0xff &&
                   static_cast<unsigned char>((*tile)[1]) == 0xd8,
               "stored tile is not a JPEG");
  }
  if (!render) return;
  auto out = service::render_image(ctx, *p);
  if (out) FUZZ_CHECK(!out->empty(), "empty encoded image for " + params);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char*** argv) {
  if (VIPS_INIT((*argv)[0])) {
    std::fprintf(stderr, "cannot initialise libvips\n");
    std::abort();
  }
  vips_cache_set_max(0);
  vips_concurrency_set(1);
  source::init_codecs();
  metadata::init();
  g_log_set_handler("VIPS", static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE),
                    [](const gchar*, GLogLevelFlags, const gchar*, gpointer) {}, nullptr);
  log::set_level(log::Level::error);
  (void)image_dir();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > (2u << 20)) return 0;
  static std::uint64_t counter = 0;
  const std::string id = "i" + std::to_string(++counter);
  const fs::path path = image_dir() / id;
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }

  auto fmt = source::sniff(path);
  auto shape = fmt ? source::probe(path, 0) : Result<source::ImageShape>(fmt.error());
  if (fmt && *fmt == source::SourceFormat::tiff) (void)source::probe(path, 2);
  if (shape) {
    const auto& s = *shape;
    FUZZ_CHECK(!s.levels.empty(), "probe returned no level");
    FUZZ_CHECK(s.size.w >= 1 && s.size.h >= 1, "probe returned an empty image");
    (void)source::reduce_level(s, 1);
    (void)source::reduce_level(s, 3);
    {
      // Inputs that reach a known library assert (see kKnownLibraryAsserts) are only probed;
      // checked last, for the inputs that would be rendered (a fork each).
      const bool render = s.size.w <= kMaxArea && s.size.h <= kMaxArea && s.size.w * s.size.h <= kMaxArea &&
                          !(skip_known() && is_htj2k(data, size) && hits_known_library_assert(path));
      if (render) check_levels(path, s);
      service::Context ctx;  // a fresh header cache per input
      ctx.root = {image_dir(), true};
      // A: one tile (or 256²) at full resolution.
      std::int64_t tw = s.tile.w >= 1 && s.tile.w <= 1024 ? s.tile.w : 256;
      std::int64_t th = s.tile.h >= 1 && s.tile.h <= 1024 ? s.tile.h : 256;
      std::uint32_t h = fnv(data, size);
      std::int64_t col = s.size.w > tw ? (h >> 8) % ((s.size.w + tw - 1) / tw) : 0;
      std::int64_t row = s.size.h > th ? (h >> 16) % ((s.size.h + th - 1) / th) : 0;
      std::int64_t x = col * tw, y = row * th;
      if (x > 999999999) x = 0;  // a IIIF region holds at most 9 digits per number
      if (y > 999999999) y = 0;
      request(ctx, id,
              std::to_string(x) + "," + std::to_string(y) + "," + std::to_string(tw) + "," +
                  std::to_string(th) + "/max/0/default.jpg",
              render);
      // B: every other path prepared (headers are cached in ctx), one of them rendered.
      static const char* const kVariants[] = {
          "full/!64,64/0/default.jpg",       "full/!64,64/0/default.png",
          "square/32,/90/gray.png",          "pct:10,10,50,50/!40,40/!22.5/color.webp",
          "full/pct:3/180/bitonal.tif",      "0,0,100,100/,20/0/default.jp2",
          "full/!32,32/270/default.gif",     "full/^!80,80/!0/default.jpg",
          "full/max/0/default.jpg",
      };
      constexpr std::size_t kN = sizeof kVariants / sizeof *kVariants;
      for (std::size_t i = 0; i < kN; ++i) request(ctx, id, kVariants[i], render && i == h % kN);
    }
  }
  std::error_code ec;
  fs::remove(path, ec);
  return 0;
}
