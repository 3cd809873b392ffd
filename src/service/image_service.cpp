#include "service/image_service.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "core/clock.h"
#include "encode/encode.h"
#include "pipeline/plan.h"
#include "pipeline/transform.h"
#include "service/isolated.h"
#include "service/lean_render.h"
#include "service/spool.h"
#include "core/metrics.h"
#include "source/codec.h"
#include "source/stored_tiles.h"

namespace sipi::service {

ScalingQuality scaling_for(const Context& ctx, iiif::Format f) {
  switch (f) {
    case iiif::Format::jpg:
    case iiif::Format::pdf: return ctx.scaling.jpeg;  // a PDF page carries a JPEG
    case iiif::Format::tif: return ctx.scaling.tiff;
    case iiif::Format::jp2: return ctx.scaling.j2k;
    default: return ctx.scaling.png;
  }
}

namespace {

// Output size after rotation: the bounding box of the rotated rectangle.
Dim rotated(Dim d, const iiif::Rotation& r) {
  double deg = r.effective();
  if (deg == 90.0 || deg == 270.0) return {d.h, d.w};
  if (r.is_right_angle()) return d;
  double rad = deg * M_PI / 180.0;
  double c = std::abs(std::cos(rad)), s = std::abs(std::sin(rad));
  return {static_cast<std::int64_t>(std::ceil(d.w * c + d.h * s)),
          static_cast<std::int64_t>(std::ceil(d.w * s + d.h * c))};
}

// What the codec is asked to decode for `p`.
source::DecodeRequest decode_request(const PreparedImage& p) {
  // Sequential access (less memory, read-ahead) only suits a pipeline that consumes the level
  // top to bottom: the whole image and no rotation (rotations read out of order).
  const bool sequential =
      p.region == Rect{0, 0, p.shape.size.w, p.shape.size.h} && p.request.rotation.effective() == 0.0;
  return {p.level, p.at, p.region, sequential, p.threads};
}

}  // namespace

Result<SourceFile> open_source(const Context& ctx, const iiif::ImageRef& ref, const AccessOptions& access) {
  auto path = access.path ? source::resolve_hook_path(ctx.root, *access.path)
                          : source::resolve(ctx.root, ref.prefix, ref.identifier);
  if (!path) return path.error();
  auto f = stat_source(std::move(*path));
  if (!f) return f.error();
  // A file that crashed a decode helper is answered at once, for every URL form.
  if (ctx.isolation && ctx.isolation->poisoned({f->path.string(), f->mtime_ns, f->bytes})) {
    return Error::internal("codec.crashed", f->path.string() + ": poisoned (an earlier decode crashed)");
  }
  return f;
}

Result<PreparedImage> prepare_image(const Context& ctx, const iiif::ImageRequest& req, const AccessOptions& access) {
  auto file = open_source(ctx, req.ref, access);
  if (!file) return file.error();
  auto header = read_header(ctx, *file, req.ref.page);
  if (!header) return header.error();
  const source::ImageShape* shape = &(*header)->shape;
  auto region = iiif::resolve_region(req.region, shape->size);
  if (!region) return region.error();
  auto size = iiif::resolve_size(req.size, {region->w, region->h}, ctx.limits);
  if (!size) return size.error();
  if (access.max_size) {
    // A restricted view: never more than the hook's size (SIPI: min(requested, restricted)).
    auto spec = iiif::parse_size(*access.max_size);
    if (!spec) return Error::internal("access.restrict_size", "bad size from pre_flight: " + *access.max_size);
    auto cap = iiif::resolve_size(*spec, {region->w, region->h}, ctx.limits);
    if (cap && (size->w > cap->w || size->h > cap->h)) *size = *cap;
  }
  Dim out = rotated(*size, req.rotation);
  if (out.w > iiif::format_info(req.format).max_side || out.h > iiif::format_info(req.format).max_side) {
    return Error::bad_request("iiif.format.too_large");
  }

  PreparedImage p{req, std::move(*file), *shape, *header, *region, *size, {}, {}, {}, access.watermark, 0, {}};
  const auto& fi = iiif::format_info(req.format);
  p.canonical = iiif::base_path(req.ref) + "/" + iiif::canonical_region(p.region, p.shape.size) + "/" +
                iiif::canonical_size(p.size, {p.region.w, p.region.h}, ctx.limits) + "/" +
                iiif::canonical_rotation(req.rotation) + "/" + std::string(iiif::quality_name(req.quality)) +
                "." + std::string(fi.ext);
  p.cache_key = p.canonical + "|" + p.file.path.string() + "|" + std::to_string(p.file.mtime_ns) + "|" +
                std::to_string(p.file.bytes) + "|" + std::to_string(ctx.jpeg_quality) + "|" +
                std::to_string(static_cast<int>(scaling_for(ctx, req.format))) + "|" SIPI_VERSION "|" + access.fingerprint;
  p.etag = make_etag(p.cache_key);
  std::vector<Dim> levels;
  for (const auto& l : p.shape.levels) levels.push_back(l.size);
  p.level = pipeline::choose_level(levels, p.region, p.size);
  p.at = pipeline::region_at_level(p.region, p.shape.size, levels[p.level]);
  return p;
}

std::uint64_t decode_memory_estimate(const PreparedImage& p) {
  const std::uint64_t in = source::codec_for(p.shape.format).decode_memory(p.shape, decode_request(p));
  const auto px = [](std::int64_t w, std::int64_t h) { return static_cast<std::uint64_t>(w) * static_cast<std::uint64_t>(h); };
  // Output: small ones are computed in one piece; large ones stream through the pipeline. A
  // large JPEG or PNG is encoded into a spool file as it streams (spool.h), so only strips of
  // it are memory; other encoders hold the whole result (at worst about the raw pixels).
  const std::uint64_t out = px(p.size.w, p.size.h);
  const std::uint64_t rotated = p.request.rotation.is_right_angle() ? 1 : 2;
  std::uint64_t held = out * 4 * (out <= (4u << 20) ? 2 : 1);
  if (should_spool(p) && encode::encoder_streams(p.request.format)) held = std::min<std::uint64_t>(held, 32u << 20);
  return in + held * rotated + (1u << 20);
}

bool serves_source_as_is(const PreparedImage& p) {
  const auto& rq = p.request;
  if (rq.quality != iiif::Quality::default_ || rq.rotation.effective() != 0.0 || rq.rotation.mirror || p.watermark ||
      p.shape.pages > 1) {
    return false;
  }
  const Dim full = p.shape.size;
  if (p.region.x != 0 || p.region.y != 0 || p.region.w != full.w || p.region.h != full.h || p.size.w != full.w ||
      p.size.h != full.h) {
    return false;
  }
  const source::Codec& codec = source::codec_for(p.shape.format);
  return iiif::format_info(rq.format).mime == codec.mime() && codec.is_interchange_file(p.file.path);
}

bool plain_jpeg(const PreparedImage& p) {
  const auto& rq = p.request;
  return rq.format == iiif::Format::jpg && !p.watermark && rq.rotation.effective() == 0.0 && !rq.rotation.mirror;
}

std::optional<std::string> stored_tile(const PreparedImage& p) {
  const auto q = p.request.quality;
  if (!plain_jpeg(p) || (q != iiif::Quality::default_ && q != iiif::Quality::color)) return std::nullopt;
  // Only a request of one native tile's size, unscaled, can be a stored tile: anything else
  // (a `2000,` download) must not load the tile tables (half a megabyte for a 40000² pyramid,
  // kept in the header cache).
  if (p.shape.tile.w <= 0 || p.at.w > p.shape.tile.w || p.at.h > p.shape.tile.h || p.at.w != p.size.w ||
      p.at.h != p.size.h) {
    return std::nullopt;
  }
  const auto& all = p.header->stored();
  if (!all) return std::nullopt;
  const auto& stored = all->levels[p.level];
  if (!stored) return std::nullopt;
  // The region must land exactly on one whole tile of that level, with nothing to scale: the
  // level's pixels times its scale must be the requested full-resolution edges.
  const Dim full = p.shape.size, lv = p.shape.levels[p.level].size;
  const Rect at = p.at;
  bool exact = at.x * full.w == p.region.x * lv.w && at.y * full.h == p.region.y * lv.h &&
               (at.x + at.w) * full.w == (p.region.x + p.region.w) * lv.w &&
               (at.y + at.h) * full.h == (p.region.y + p.region.h) * lv.h;
  if (!exact || at.w != p.size.w || at.h != p.size.h || at.w != stored->tile.w || at.h != stored->tile.h ||
      at.x % stored->tile.w != 0 || at.y % stored->tile.h != 0 || at.x + at.w > lv.w || at.y + at.h > lv.h) {
    return std::nullopt;
  }
  auto body = source::read_stored_tile(p.file.path, *stored, at.x / stored->tile.w, at.y / stored->tile.h);
  if (!body) return std::nullopt;  // the pipeline will decode it, or report the damage itself
  return std::move(*body);
}

int idle_cores() {
  const auto& m = metrics();
  if (m.queue_depth[0].load() + m.queue_depth[1].load() > 0) return 1;
  const auto cores = static_cast<std::int64_t>(std::max(1u, std::thread::hardware_concurrency()));
  const std::int64_t others = m.in_flight[0].load() + m.in_flight[1].load() - 1;  // this one runs too
  return static_cast<int>(std::clamp<std::int64_t>(cores - std::max<std::int64_t>(others, 0), 1, cores));
}

namespace {
Result<std::string> render_here(const Context& ctx, const PreparedImage& p, int out_fd);
}  // namespace

Result<std::string> render_image(const Context& ctx, const PreparedImage& p, int out_fd, double* cost_ms) {
  if (ctx.isolation) return render_isolated(*ctx.isolation, ctx, p, out_fd, cost_ms);
  // In the server process (decode_isolation = "none") neither this thread's CPU time (libvips
  // encodes on its own worker threads) nor the process's (other requests) measures this render:
  // the elapsed time does, at worst too high under load, when the cache then stores more.
  const double start = clock_ms(CLOCK_MONOTONIC);
  auto out = render_here(ctx, p, out_fd);
  if (cost_ms) *cost_ms = clock_ms(CLOCK_MONOTONIC) - start;
  return out;
}

namespace {
Result<std::string> render_here(const Context& ctx, const PreparedImage& p, int out_fd) {
  if (!p.header) return Error::internal("source.header", "render without a source header");
  const Rect at = p.at;
  source::DecodeRequest request = decode_request(p);
  if (request.threads <= 0) request.threads = idle_cores();
  auto decoded = source::codec_for(p.shape.format).decode(*p.header, request);
  if (!decoded) return decoded.error();
  // libvips 8.14 can lose a loader's error when several of its threads read from it: a damaged
  // file then renders black and is answered 200 (a truncated JPEG 2000 thumbnail did, about one
  // request in fifty under load). Its threads (a decode helper's idle cores) only for pixels our
  // own decoders put in memory; a libvips loader upstream runs on one.
  // (Only a helper raises it; the server's threads never write the global.)
  if (vips_concurrency_get() > 1 && decoded->get_image()->dtype != VIPS_IMAGE_SETBUF_FOREIGN) vips_concurrency_set(1);
  try {
    vips::VImage v = *decoded;
    if (out_fd < 0) {
      if (auto lean = render_lean(p, v, scaling_for(ctx, p.request.format), ctx.jpeg_quality)) return std::move(*lean);
    }
    if (v.width() != at.w || v.height() != at.h) v = pipeline::crop(v, at);
    v = pipeline::normalise_colour(v);
    v = pipeline::scale(v, p.size, scaling_for(ctx, p.request.format));
    v = pipeline::rotate(v, p.request.rotation, iiif::format_info(p.request.format).alpha);
    v = pipeline::apply_quality(v, p.request.quality);
    if (p.watermark) v = pipeline::watermark(v, vips::VImage::new_from_file(p.watermark->c_str()));
    if (out_fd >= 0) {
      auto done = encode::encode_to(v, p.request.format, {ctx.jpeg_quality}, out_fd);
      if (!done) return done.error();
      return std::string();
    }
    return encode::encode(v, p.request.format, {ctx.jpeg_quality});
  } catch (const vips::VError& e) {
    std::string msg = e.what();
    vips_error_clear();
    return Error::internal("codec.decode", p.file.path.string() + ": " + msg);
  }
}
}  // namespace

}  // namespace sipi::service
