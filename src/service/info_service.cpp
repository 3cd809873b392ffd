#include "service/info_service.h"

#include "iiif/info.h"
#include "service/image_service.h"
#include "source/codec.h"

namespace sipi::service {
namespace {

// Declare the source's own tiles when they are a sensible request size; otherwise the default.
Dim declared_tile(const Context& ctx, const source::ImageShape& s) {
  auto ok = [](std::int64_t t) { return t >= 128 && t <= 2048; };
  if (ok(s.tile.w) && ok(s.tile.h)) return s.tile;
  return {ctx.tile_size, ctx.tile_size};
}

}  // namespace

Result<PreparedInfo> prepare_info(const Context& ctx, const iiif::ImageRef& ref, const AccessOptions& access) {
  auto file = open_source(ctx, ref, access);
  if (!file) return file.error();
  auto header = read_header(ctx, *file, ref.page);
  if (!header) return header.error();
  return PreparedInfo{std::move(*file), (*header)->shape};
}

std::string info_document(const Context& ctx, const PreparedInfo& p, const std::string& id,
                          const std::string& service_json) {
  iiif::InfoInput in;
  in.id = id;
  in.size = p.shape.size;
  in.tile = declared_tile(ctx, p.shape);
  in.pages = p.shape.pages;
  in.limits = ctx.limits;
  in.service_json = service_json;
  return iiif::info_json(in);
}

std::string info_etag(const Context& ctx, const PreparedInfo& p, const std::string& id) {
  return make_etag("info|" + id + "|" + p.file.path.string() + "|" + std::to_string(p.file.mtime_ns) + "|" +
                   std::to_string(p.file.bytes) + "|" + std::to_string(ctx.limits.max_width) + "," +
                   std::to_string(ctx.limits.max_height) + "," + std::to_string(ctx.limits.max_area) + "|" +
                   std::to_string(ctx.tile_size));
}

}  // namespace sipi::service
