#include "service/context.h"

#include <sys/stat.h>

#include <cstdio>

#include "core/hash.h"

namespace sipi::service {

Context Context::from_config(const Config& c, std::filesystem::path canonical_imgroot) {
  Context ctx;
  ctx.root = {std::move(canonical_imgroot), c.prefix_as_path};
  // 0 leaves a limit undeclared: libvips' largest side (and its square) still bound the sizes.
  constexpr std::int64_t kMaxSide = 10'000'000;
  ctx.limits.max_width = c.max_width > 0 ? c.max_width : kMaxSide;
  ctx.limits.max_height = c.max_height > 0 ? c.max_height : kMaxSide;
  ctx.limits.max_area = c.max_area > 0 ? c.max_area : kMaxSide * kMaxSide;
  ctx.limits.declared_width = c.max_width > 0;
  ctx.limits.declared_height = c.max_height > 0;
  ctx.limits.declared_area = c.max_area > 0;
  ctx.jpeg_quality = c.jpeg_quality;
  ctx.scaling = c.scaling_quality;
  ctx.tile_size = c.tile_size;
  // Like the decode helpers' scratch: the system's temporary directory ($TMPDIR), not SIPI's
  // tmpdir, whose uploads Lua scripts list and clean.
  std::error_code ec;
  ctx.spool_dir = std::filesystem::temp_directory_path(ec);
  if (ec) ctx.spool_dir = "/tmp";
  return ctx;
}

Result<SourceFile> stat_source(std::filesystem::path path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Error::not_found("source.not_found", path.string());
  SourceFile f;
  f.path = std::move(path);
  f.bytes = st.st_size;
  f.mtime = st.st_mtim.tv_sec;
  f.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return f;
}

Result<std::shared_ptr<const source::SourceHeader>> read_header(const Context& ctx, const SourceFile& f, int page) {
  return ctx.headers->get(f.path, page, f.mtime_ns, f.bytes);
}

std::string make_etag(const std::string& parts) {
  const std::uint64_t h = fnv1a(parts);
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace sipi::service
