#include "service/isolated.h"

#include "source/decoder.h"

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
          {"page_index", s.page_index}, {"levels", levels}, {"tile", {s.tile.w, s.tile.h}}, {"cmyk", s.cmyk}};
}

source::ImageShape shape_from(const json& j, std::string icc) {
  source::ImageShape s;
  s.format = static_cast<source::SourceFormat>(j.at("format").get<int>());
  s.size = {j.at("w").get<std::int64_t>(), j.at("h").get<std::int64_t>()};
  s.pages = j.at("pages").get<int>();
  s.page_index = j.at("page_index").get<int>();
  for (const auto& l : j.at("levels")) {
    s.levels.push_back({{l.at(0).get<std::int64_t>(), l.at(1).get<std::int64_t>()}, l.at(2).get<int>(), l.at(3).get<int>()});
  }
  s.tile = {j.at("tile").at(0).get<std::int64_t>(), j.at("tile").at(1).get<std::int64_t>()};
  s.cmyk = j.at("cmyk").get<bool>();
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

Result<isolation::Answer> do_probe(const json& job) {
  auto shape = source::probe(job.at("path").get<std::string>(), job.at("page").get<int>());
  if (!shape) return shape.error();
  return isolation::Answer{shape_json(*shape), shape->icc};
}

Result<isolation::Answer> do_stored(const json& job) {
  auto shape = shape_from(job.at("shape"), {});
  auto t = source::read_stored_tiles(job.at("path").get<std::string>(), shape);
  if (!t) return isolation::Answer{{{"none", true}}, {}};
  return isolation::Answer{{{"none", false}}, tables_bytes(*t)};
}

Result<isolation::Answer> do_render(const json& job) {
  // One job at a time per helper: its context (and header cache) is its own.
  static Context ctx;
  ctx.jpeg_quality = job.at("jpeg_quality").get<int>();
  auto q = static_cast<ScalingQuality>(job.at("scaling").get<int>());
  ctx.scaling = {q, q, q, q};
  SourceFile f;
  f.path = job.at("path").get<std::string>();
  f.mtime_ns = job.at("mtime_ns").get<std::int64_t>();
  f.bytes = job.at("bytes").get<std::int64_t>();
  auto header = read_header(ctx, f, job.at("page").get<int>());
  if (!header) return header.error();
  PreparedImage p;
  p.file = f;
  p.header = *header;
  p.shape = (*header)->shape;
  p.request.format = static_cast<iiif::Format>(job.at("format").get<int>());
  p.request.quality = static_cast<iiif::Quality>(job.at("quality").get<int>());
  p.request.rotation.degrees = job.at("degrees").get<double>();
  p.request.rotation.mirror = job.at("mirror").get<bool>();
  auto rect = [&](const char* k) {
    const auto& a = job.at(k);
    return Rect{a.at(0).get<std::int64_t>(), a.at(1).get<std::int64_t>(), a.at(2).get<std::int64_t>(), a.at(3).get<std::int64_t>()};
  };
  p.region = rect("region");
  p.at = rect("at");
  p.size = {job.at("size").at(0).get<std::int64_t>(), job.at("size").at(1).get<std::int64_t>()};
  p.level = job.at("level").get<std::size_t>();
  if (job.contains("watermark")) p.watermark = job.at("watermark").get<std::string>();
  if (p.level >= p.shape.levels.size()) return Error::internal("codec.changed", f.path.string() + ": the file changed");
  auto body = render_image(ctx, p);
  if (!body) return body.error();
  return isolation::Answer{json::object(), std::move(*body)};
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

// One EXIF value (Lua's img:exif) read with exiv2.
Result<isolation::Answer> do_exif(const json& job) {
  auto v = metadata::read(job.at("path").get<std::string>()).exif_value(job.at("tag").get<std::string>());
  if (!v) return isolation::Answer{{{"present", false}}, {}};
  return isolation::Answer{{{"present", true}}, *v};
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
    auto a = pool->call({{"op", "probe"}, {"path", path.string()}, {"page", page}}, key_of(path, mtime_ns, bytes));
    if (!a) return a.error();
    try {
      return shape_from(a->meta, std::move(a->payload));
    } catch (const std::exception& e) {
      return Error::internal("codec.helper", std::string("bad shape from a decode helper: ") + e.what());
    }
  };
  l.stored = [pool](const source::SourceHeader& h) -> std::optional<source::StoredTiles> {
    if (h.shape.format != source::SourceFormat::tiff || h.shape.tile.w <= 0) return std::nullopt;
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

Result<std::string> render_isolated(isolation::Pool& pool, const Context& ctx, const PreparedImage& p) {
  auto r4 = [](const Rect& r) { return json::array({r.x, r.y, r.w, r.h}); };
  json job = {{"op", "render"},
              {"path", p.file.path.string()},
              {"mtime_ns", p.file.mtime_ns},
              {"bytes", p.file.bytes},
              {"page", p.request.ref.page},
              {"format", static_cast<int>(p.request.format)},
              {"quality", static_cast<int>(p.request.quality)},
              {"degrees", p.request.rotation.degrees},
              {"mirror", p.request.rotation.mirror},
              {"region", r4(p.region)},
              {"at", r4(p.at)},
              {"size", {p.size.w, p.size.h}},
              {"level", p.level},
              {"jpeg_quality", ctx.jpeg_quality},
              {"scaling", static_cast<int>(scaling_for(ctx, p.request.format))}};
  if (p.watermark) job["watermark"] = *p.watermark;
  auto a = pool.call(job, key_of(p.file.path, p.file.mtime_ns, p.file.bytes));
  if (!a) return a.error();
  return std::move(a->payload);
}

std::map<std::string, isolation::Handler> helper_handlers() {
  return {{"probe", do_probe}, {"stored", do_stored}, {"render", do_render}, {"essentials", do_essentials},
          {"exif", do_exif},
          {"decode", do_decode}};
}

}  // namespace sipi::service
