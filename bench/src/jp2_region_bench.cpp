// Cost of one JPEG 2000 tile decode, the two ways sipi can do it: through the file's tile index
// (source/jp2_index) and through libvips' jp2kload. Random aligned tiles of the given level.
//   ninja -C build bench_jp2 && build/bench_jp2 FILE.jp2 [reduce=0] [tile=256] [count=50]
#include <chrono>
#include <cstdio>
#include <random>
#include <vips/vips8>

#include "source/codec.h"
#include "source/jp2/index.h"

int main(int argc, char** argv) {
  if (argc < 2 || VIPS_INIT(argv[0])) return 2;
  vips_cache_set_max(0);
  vips_concurrency_set(1);
  const char* file = argv[1];
  int reduce = argc > 2 ? std::atoi(argv[2]) : 0;
  int tile = argc > 3 ? std::atoi(argv[3]) : 256;
  int count = argc > 4 ? std::atoi(argv[4]) : 50;
  auto shape = sipi::source::probe(file, 0);
  if (!shape) return std::fprintf(stderr, "%s\n", shape.error().message.c_str()), 1;
  auto t0 = std::chrono::steady_clock::now();
  auto ix = sipi::source::index_jp2(file);
  auto t1 = std::chrono::steady_clock::now();
  if (!ix) return std::fprintf(stderr, "not indexable\n"), 1;
  std::printf("index: %zu tiles%s, %.2f ms, %zu bytes\n", ix->tiles.size(), ix->high_throughput ? " (HTJ2K)" : "",
              std::chrono::duration<double, std::milli>(t1 - t0).count(), ix->bytes());
  const auto lv = shape->levels[static_cast<std::size_t>(reduce)].size;
  std::mt19937 rng(1);
  std::vector<sipi::Rect> rects;
  for (int i = 0; i < count; ++i) {
    std::int64_t x = std::uniform_int_distribution<std::int64_t>(0, lv.w / tile - 1)(rng) * tile;
    std::int64_t y = std::uniform_int_distribution<std::int64_t>(0, lv.h / tile - 1)(rng) * tile;
    rects.push_back({x, y, tile, tile});
  }
  auto time = [&](const char* name, auto&& decode) {
    auto a = std::chrono::steady_clock::now();
    double sum = 0;
    for (const auto& r : rects) sum += decode(r).avg();
    auto b = std::chrono::steady_clock::now();
    std::printf("%-8s %.2f ms per %dx%d tile (checksum %.1f)\n", name,
                std::chrono::duration<double, std::milli>(b - a).count() / count, tile, tile, sum);
  };
  time("index", [&](const sipi::Rect& r) { return *sipi::source::decode_jp2_region(file, *ix, *shape, reduce, r); });
  time("libvips", [&](const sipi::Rect& r) {
    return vips::VImage::jp2kload(file, vips::VImage::option()->set("page", reduce))
        .crop(static_cast<int>(r.x), static_cast<int>(r.y), tile, tile);
  });
  return 0;
}
