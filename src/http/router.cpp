#include "http/router.h"

#include "http/handlers.h"
#include "http/respond.h"
#include "iiif/request.h"

namespace sipi::http {
namespace {

Job now(Response r, const char* route = "other") {
  return {false, [r = std::move(r)]() { return r; }, Lane::cheap, route, {}};
}

// Work on a worker thread, in a lane, with a metrics label.
Job work(Lane lane, const char* route, std::function<Response()> run) { return {true, std::move(run), lane, route, {}}; }

}  // namespace

Lane image_lane(const iiif::ImageRequest& r) {
  constexpr std::int64_t kSmall = 1024;
  using K = iiif::SizeSpec::Kind;
  const auto& s = r.size;
  // A small pixel region bounds the output too, unless the size upscales it.
  if (r.region.kind == iiif::RegionSpec::Kind::pixels && !s.upscale && r.region.w.value() <= kSmall &&
      r.region.h.value() <= kSmall) {
    return Lane::cheap;
  }
  switch (s.kind) {
    case K::width: return s.w <= kSmall ? Lane::cheap : Lane::expensive;
    case K::height: return s.h <= kSmall ? Lane::cheap : Lane::expensive;
    case K::exact:
    case K::confined: return s.w <= kSmall && s.h <= kSmall ? Lane::cheap : Lane::expensive;
    default: return Lane::expensive;
  }
}

namespace {

bool under(std::string_view path, const std::string& route) {
  return !route.empty() && path.starts_with(route) && (path.size() == route.size() || path[route.size()] == '/');
}

}  // namespace

std::string http_route_template(const AppContext& ctx, const RequestView& req, const Job& job) {
  const std::string_view path = req.path();
  const std::string_view label = job.route;
  // SIPI records neither /health nor /favicon.ico, and has no /metrics (scrapes stay out too).
  if (label == "health" || label == "favicon" || label == "metrics") return {};
  if (!job.lua_route.empty()) return job.lua_route;
  if (!ctx.docroot.empty() && under(path, ctx.wwwroute)) {
    return path == ctx.wwwroute ? ctx.wwwroute : ctx.wwwroute + "/{*rest}";
  }
  return path == "/" ? "/" : "/{*rest}";
}

Job route(std::shared_ptr<const AppContext> ctx, RequestView req) {
  const Config& cfg = *ctx->config;
  if (req.target.size() > static_cast<std::size_t>(cfg.max_url_length)) {
    return now(error_response({Status::uri_too_long, "http.uri_too_long", {}}));
  }
  // Lua routes first: any method they declare, path equal to the route or below it.
  std::string route_methods;  // of routes on this path that take other methods
  for (const auto& r : cfg.routes) {
    if (!under(req.path(), r.route)) continue;
    if (r.method == req.method) {
      auto script = std::filesystem::path(cfg.scriptdir) / r.script;
      std::string tmpl = req.path() == r.route ? r.route : r.route + "/{*rest}";
      Job j = work(Lane::expensive, "lua", [ctx, req = std::move(req), script]() { return handle_script(*ctx, req, script, false); });
      j.lua_route = std::move(tmpl);
      return j;
    }
    if (route_methods.find(r.method) == std::string::npos) route_methods += (route_methods.empty() ? "" : ", ") + r.method;
  }
  if (req.method == "OPTIONS") return now(handle_preflight(req), "options");
  // A route's path asked with a method it does not take: 405, not an IIIF redirect to an
  // identifier that does not exist.
  if (!route_methods.empty()) {
    Response r = error_response({Status::method_not_allowed, "http.method", {}});
    r.set("Allow", route_methods + ", OPTIONS");
    return now(std::move(r));
  }
  if (req.method == "POST" && !ctx->docroot.empty() && under(req.path(), ctx->wwwroute) && (req.path().ends_with(".lua") || req.path().ends_with(".elua"))) {
    return work(Lane::expensive, "lua", [ctx, req = std::move(req)]() { return handle_static(*ctx, req); });
  }
  if (req.method != "GET" && req.method != "HEAD") {
    Response r = error_response({Status::method_not_allowed, "http.method", {}});
    r.set("Allow", "GET, HEAD, OPTIONS");
    return now(std::move(r));
  }
  std::string_view path = req.path();
  if (path.empty() || path[0] != '/') return now(error_response(Error::bad_request("http.target")));
  if (path == "/health") return now(handle_health(*ctx, req), "health");
  if (path == "/health/ready") return now(handle_ready(), "health");
  if (path == "/metrics") return work(Lane::cheap, "metrics", [ctx, req]() { return handle_metrics(*ctx, req); });
  // Browsers ask for it on every page; it is not an IIIF base URI to redirect.
  if (path == "/favicon.ico") return now(favicon_response(req), "favicon");
  if (!ctx->docroot.empty()) {
    if (path == "/") {
      Response r;
      r.status = Status::see_other;
      r.detail = "redirect";
      r.set("Location", ctx->wwwroute + "/");
      return now(std::move(r));
    }
    if (under(path, ctx->wwwroute)) {
      bool script = path.ends_with(".lua") || path.ends_with(".elua");
      return work(script ? Lane::expensive : Lane::cheap, script ? "lua" : "static",
                  [ctx, req = std::move(req)]() { return handle_static(*ctx, req); });
    }
  }

  auto classified = iiif::classify(path);
  if (!classified) return now(error_response(classified.error()));
  return std::visit(
      [&](auto&& r) -> Job {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, iiif::RedirectRequest>) {
          return now(handle_redirect(*ctx, req, r), "redirect");
        } else if constexpr (std::is_same_v<T, iiif::KnoraRequest>) {
          return work(Lane::expensive, "knora", [ctx, req, r]() { return handle_knora(*ctx, req, r); });
        } else if constexpr (std::is_same_v<T, iiif::FileRequest>) {
          return work(Lane::cheap, "file", [ctx, req, r]() { return handle_file(*ctx, req, r); });
        } else if constexpr (std::is_same_v<T, iiif::InfoRequest>) {
          return work(Lane::cheap, "info", [ctx, req, r]() { return handle_info(*ctx, req, r); });
        } else {
          return work(image_lane(r), "image", [ctx, req, r]() { return handle_image(*ctx, req, r); });
        }
      },
      *classified);
}

}  // namespace sipi::http
