#include "service/isolated.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include <vips/vips.h>

#include "core/clock.h"
#include "core/metrics.h"
#include "source/codec.h"

namespace sipi::service {
namespace {

using nlohmann::json;

isolation::FileKey key_of(const std::filesystem::path& p, std::int64_t mtime_ns, std::int64_t bytes) {
  return {p.string(), mtime_ns, bytes};
}

// The shape without its ICC profile (binary: it travels as the payload).
json shape_json(const source::ImageShape& s) {
  json levels = json::array();
  for (const auto& l : s.levels) levels.push_back({l.size.w, l.size.h, l.index, l.subifd});
  return {{"format", static_cast<int>(s.format)}, {"w", s.size.w}, {"h", s.size.h}, {"pages", s.pages},
          {"page_index", s.page_index}, {"levels", levels}, {"tile", {s.tile.w, s.tile.h}}, {"cmyk", s.cmyk},
          {"origin", {s.origin.w, s.origin.h}}, {"ht", s.ht}};
}

source::ImageShape shape_from(const json& j, std::string icc) {
  source::ImageShape s;
  auto format = source::format_from_number(j.at("format").get<int>());
  if (!format) throw std::runtime_error("unknown source format");
  s.format = *format;
  s.size = {j.at("w").get<std::int64_t>(), j.at("h").get<std::int64_t>()};
  s.pages = j.at("pages").get<int>();
  s.page_index = j.at("page_index").get<int>();
  for (const auto& l : j.at("levels")) {
    s.levels.push_back({{l.at(0).get<std::int64_t>(), l.at(1).get<std::int64_t>()}, l.at(2).get<int>(), l.at(3).get<int>()});
  }
  s.tile = {j.at("tile").at(0).get<std::int64_t>(), j.at("tile").at(1).get<std::int64_t>()};
  s.cmyk = j.at("cmyk").get<bool>();
  s.origin = {j.at("origin").at(0).get<std::int64_t>(), j.at("origin").at(1).get<std::int64_t>()};
  s.ht = j.at("ht").get<bool>();
  s.icc = std::move(icc);
  return s;
}

// Stored-tile tables as flat bytes: they can hold tens of thousands of offsets.
void put_u64(std::string& out, std::uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }

struct Reader {
  const std::string& in;
  std::size_t at = 0;
  std::uint64_t u64() {
    if (at + 8 > in.size()) throw std::runtime_error("short stored-tile table");
    std::uint64_t v;
    std::memcpy(&v, in.data() + at, 8);
    at += 8;
    return v;
  }
  std::string bytes(std::size_t n) {
    if (n > in.size() - at) throw std::runtime_error("short stored-tile table");
    at += n;
    return in.substr(at - n, n);
  }
};

std::string tables_bytes(const source::StoredTiles& t) {
  std::string out;
  put_u64(out, t.levels.size());
  for (const auto& l : t.levels) {
    put_u64(out, l ? 1 : 0);
    if (!l) continue;
    for (std::uint64_t v : {std::uint64_t(l->tile.w), std::uint64_t(l->tile.h), std::uint64_t(l->rgb),
                            std::uint64_t(l->across), std::uint64_t(l->down), std::uint64_t(l->offsets.size()),
                            std::uint64_t(l->tables.size())}) {
      put_u64(out, v);
    }
    for (std::size_t i = 0; i < l->offsets.size(); ++i) {
      put_u64(out, l->offsets[i]);
      put_u64(out, l->counts[i]);
    }
    out += l->tables;
  }
  return out;
}

source::StoredTiles tables_from(const std::string& in) {
  Reader r{in};
  source::StoredTiles t;
  const std::uint64_t n = r.u64();
  if (n > 64) throw std::runtime_error("bad stored-tile table");
  for (std::uint64_t i = 0; i < n; ++i) {
    if (r.u64() == 0) {
      t.levels.emplace_back();
      continue;
    }
    source::StoredJpegLevel l;
    l.tile = {static_cast<std::int64_t>(r.u64()), static_cast<std::int64_t>(r.u64())};
    l.rgb = r.u64() != 0;
    l.across = static_cast<std::int64_t>(r.u64());
    l.down = static_cast<std::int64_t>(r.u64());
    const std::uint64_t tiles = r.u64(), tables = r.u64();
    if (tiles > (in.size() - r.at) / 16) throw std::runtime_error("bad stored-tile table");
    for (std::uint64_t k = 0; k < tiles; ++k) {
      l.offsets.push_back(r.u64());
      l.counts.push_back(r.u64());
    }
    l.tables = r.bytes(tables);
    t.levels.push_back(std::move(l));
  }
  return t;
}

// --- the helper's side ---

// One job at a time per helper: its context (and header cache) is its own, shared by its jobs.
Context& helper_context() {
  static Context ctx;
  return ctx;
}

Result<isolation::Answer> do_probe(const json& job) {
  // Through the helper's header cache: the render that follows for this file (sent to this
  // helper by the pool's affinity) finds the header read.
  SourceFile f;
  f.path = job.at("path").get<std::string>();
  f.mtime_ns = job.value("mtime_ns", std::int64_t{0});
  f.bytes = job.value("bytes", std::int64_t{-1});
  auto header = read_header(helper_context(), f, job.at("page").get<int>());
  if (!header) return header.error();
  const source::ImageShape& shape = (*header)->shape;
  return isolation::Answer{shape_json(shape), shape.icc};
}

Result<isolation::Answer> do_stored(const json& job) {
  auto shape = shape_from(job.at("shape"), {});
  auto t = source::codec_for(shape.format).stored_tiles(job.at("path").get<std::string>(), shape);
  if (!t) return isolation::Answer{{{"none", true}}, {}};
  return isolation::Answer{{{"none", false}}, tables_bytes(*t)};
}

// A render job on the wire: fixed fields, then the path and the watermark. Both ends are the
// same binary, so the struct's layout is shared; the sizes are checked before use.
struct RenderWire {
  std::int64_t mtime_ns, bytes, region[4], at[4], size[2];
  std::uint64_t level, tile_cache;
  double degrees;
  std::int32_t page, format, quality, jpeg_quality, scaling, threads;
  std::uint8_t mirror, has_watermark;
  std::uint32_t path_len, watermark_len;
};
static_assert(std::is_trivially_copyable_v<RenderWire>);

std::string render_job(const Context& ctx, const PreparedImage& p) {
  RenderWire w{};
  const std::string path = p.file.path.string();
  w.mtime_ns = p.file.mtime_ns;
  w.bytes = p.file.bytes;
  auto put = [](std::int64_t out[4], const Rect& r) {
    out[0] = r.x, out[1] = r.y, out[2] = r.w, out[3] = r.h;
  };
  put(w.region, p.region);
  put(w.at, p.at);
  w.size[0] = p.size.w;
  w.size[1] = p.size.h;
  w.level = p.level;
  w.tile_cache = ctx.tile_cache_per_process;
  w.threads = idle_cores();  // the server knows who else runs
  w.degrees = p.request.rotation.degrees;
  w.page = p.request.ref.page;
  w.format = static_cast<std::int32_t>(p.request.format);
  w.quality = static_cast<std::int32_t>(p.request.quality);
  w.jpeg_quality = ctx.jpeg_quality;
  w.scaling = static_cast<std::int32_t>(scaling_for(ctx, p.request.format));
  w.mirror = p.request.rotation.mirror ? 1 : 0;
  w.has_watermark = p.watermark ? 1 : 0;
  w.path_len = static_cast<std::uint32_t>(path.size());
  w.watermark_len = p.watermark ? static_cast<std::uint32_t>(p.watermark->size()) : 0;
  std::string out(reinterpret_cast<const char*>(&w), sizeof w);
  out += path;
  if (p.watermark) out += *p.watermark;
  return out;
}

Result<isolation::Answer> do_render(std::string_view body, int spool_fd) {
  RenderWire w;
  if (body.size() < sizeof w) return Error::internal("codec.helper", "short render job");
  std::memcpy(&w, body.data(), sizeof w);
  if (body.size() != sizeof w + std::size_t{w.path_len} + w.watermark_len) {
    return Error::internal("codec.helper", "bad render job");
  }
  Context& ctx = helper_context();
  ctx.jpeg_quality = w.jpeg_quality;
  if (ctx.tile_cache_per_process != w.tile_cache) {
    ctx.tile_cache_per_process = w.tile_cache;
    source::set_decoded_tile_cache(w.tile_cache);
  }
  auto q = static_cast<ScalingQuality>(w.scaling);
  ctx.scaling = {q, q, q, q};
  SourceFile f;
  f.path = std::string(body.substr(sizeof w, w.path_len));
  f.mtime_ns = w.mtime_ns;
  f.bytes = w.bytes;
  auto header = read_header(ctx, f, w.page);
  if (!header) return header.error();
  PreparedImage p;
  p.file = f;
  p.header = *header;
  p.shape = (*header)->shape;
  p.request.format = static_cast<iiif::Format>(w.format);
  p.request.quality = static_cast<iiif::Quality>(w.quality);
  p.request.rotation.degrees = w.degrees;
  p.request.rotation.mirror = w.mirror != 0;
  p.region = {w.region[0], w.region[1], w.region[2], w.region[3]};
  p.at = {w.at[0], w.at[1], w.at[2], w.at[3]};
  p.size = {w.size[0], w.size[1]};
  p.level = w.level;
  p.threads = std::max(1, w.threads);
  if (w.has_watermark) p.watermark = std::string(body.substr(sizeof w + w.path_len, w.watermark_len));
  if (p.level >= p.shape.levels.size()) return Error::internal("codec.changed", f.path.string() + ": the file changed");
  // Idle cores for this one request: libvips' threads (pipelines fed by our own decoders;
  // render_image drops to one when a libvips loader feeds it) as well as the JPEG 2000
  // decoders'. Global to libvips, so only here, where one job at a time runs; back to one for
  // the next.
  vips_concurrency_set(p.threads);
  const double start = clock_ms(CLOCK_PROCESS_CPUTIME_ID);  // one job at a time: the whole process is this render
  auto out = render_image(ctx, p, spool_fd);
  const double cpu_ms = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - start;
  vips_concurrency_set(1);
  const auto counts = source::take_tile_cache_counts();
  if (!out) return out.error();
  return isolation::Answer{json{{"tile_hits", counts.hits}, {"tile_misses", counts.misses}, {"cpu_ms", cpu_ms}},
                           std::move(*out)};
}

// A whole level's pixels (Lua's SipiImage.new): the server wraps them as an image again.
Result<isolation::Answer> do_decode(const json& job) {
  const std::string path = job.at("path").get<std::string>();
  auto shape = source::probe(path, 0);
  if (!shape) return shape.error();
  std::size_t level = source::reduce_level(*shape, job.at("reduce").get<int>());
  auto img = source::load_level(path, *shape, level, false);
  if (!img) return img.error();
  vips::VImage v = *img;
  std::size_t n = 0;
  void* mem = v.write_to_memory(&n);
  isolation::Answer a;
  a.payload.assign(static_cast<const char*>(mem), n);
  g_free(mem);
  std::string icc = shape->icc;
  if (icc.empty() && v.get_typeof(VIPS_META_ICC_NAME)) {
    std::size_t len = 0;
    const void* data = v.get_blob(VIPS_META_ICC_NAME, &len);
    icc.assign(static_cast<const char*>(data), len);
  }
  a.meta = {{"w", v.width()}, {"h", v.height()}, {"bands", v.bands()}, {"band_format", static_cast<int>(v.format())},
            {"interpretation", static_cast<int>(v.interpretation())}, {"level", level},
            {"xres", v.xres()}, {"yres", v.yres()}, {"pixels", n}, {"icc", icc.size()},
            {"orientation", v.get_typeof(VIPS_META_ORIENTATION) ? v.get_int(VIPS_META_ORIENTATION) : 1}};
  a.payload += icc;
  return a;
}

Result<isolation::Answer> do_essentials(const json& job) {
  auto e = metadata::read_essentials(job.at("path").get<std::string>());
  if (!e) return e.error();
  if (!*e) return isolation::Answer{{{"present", false}}, {}};
  return isolation::Answer{{{"present", true}}, metadata::encode_packet(**e)};
}

// EXIF values (Lua's img:exif, img:gps, SipiImage.dims) read with exiv2: the present ones of
// "tags", in meta.values.
Result<isolation::Answer> do_exif(const json& job) {
  const auto bundle = metadata::read(job.at("path").get<std::string>());
  json values = json::object();
  for (const auto& t : job.at("tags")) {
    if (auto v = bundle.exif_value(t.get<std::string>())) values[t.get<std::string>()] = *v;
  }
  return isolation::Answer{{{"values", values}}, {}};
}

}  // namespace

Result<std::optional<metadata::Essentials>> read_essentials(isolation::Pool* pool, const SourceFile& f) {
  if (!pool) return metadata::read_essentials(f.path);
  auto a = pool->call({{"op", "essentials"}, {"path", f.path.string()}}, key_of(f.path, f.mtime_ns, f.bytes));
  if (!a) return a.error();
  if (!a->meta.value("present", false)) return std::optional<metadata::Essentials>();
  auto e = metadata::decode_packet(a->payload);
  if (!e) return Error::internal("metadata.essentials", "undecodable Essentials packet from a decode helper");
  return std::optional<metadata::Essentials>(std::move(*e));
}

source::HeaderLoaders isolated_loaders(std::shared_ptr<isolation::Pool> pool) {
  source::HeaderLoaders l;
  l.probe = [pool](const std::filesystem::path& path, int page, std::int64_t mtime_ns,
                   std::int64_t bytes) -> Result<source::ImageShape> {
    auto a = pool->call({{"op", "probe"}, {"path", path.string()}, {"page", page}, {"mtime_ns", mtime_ns}, {"bytes", bytes}},
                        key_of(path, mtime_ns, bytes));
    if (!a) return a.error();
    try {
      return shape_from(a->meta, std::move(a->payload));
    } catch (const std::exception& e) {
      return Error::internal("codec.helper", std::string("bad shape from a decode helper: ") + e.what());
    }
  };
  l.stored = [pool](const source::SourceHeader& h) -> std::optional<source::StoredTiles> {
    if (!source::codec_for(h.shape.format).capabilities().stored_tiles || h.shape.tile.w <= 0) return std::nullopt;
    auto a = pool->call({{"op", "stored"}, {"path", h.path.string()}, {"shape", shape_json(h.shape)}},
                        key_of(h.path, h.mtime_ns, h.bytes));
    if (!a || a->meta.value("none", true)) return std::nullopt;
    try {
      return tables_from(a->payload);
    } catch (const std::exception&) {
      return std::nullopt;  // the pipeline serves the tiles instead
    }
  };
  return l;
}

Result<std::string> render_isolated(isolation::Pool& pool, const Context& ctx, const PreparedImage& p, int out_fd,
                                    double* cost_ms) {
  // JPEG 2000 renders go through the helper's decoded-tile cache (source/jp2/tile_cache.h).
  const auto affinity = p.shape.format == source::SourceFormat::jp2 ? isolation::Affinity::pixels : isolation::Affinity::header;
  auto a = pool.call("render", render_job(ctx, p), key_of(p.file.path, p.file.mtime_ns, p.file.bytes), affinity, out_fd);
  if (!a) return a.error();
  metrics().tile_cache(a->meta.value("tile_hits", std::uint64_t{0}), a->meta.value("tile_misses", std::uint64_t{0}));
  if (cost_ms) *cost_ms = a->meta.value("cpu_ms", 0.0);
  return std::move(a->payload);
}

isolation::Handlers helper_handlers() {
  isolation::Handlers h;
  h.json = {{"probe", do_probe}, {"stored", do_stored}, {"essentials", do_essentials}, {"exif", do_exif},
            {"decode", do_decode}};
  h.binary.emplace("render", do_render);
  return h;
}

}  // namespace sipi::service
