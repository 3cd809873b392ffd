#include "http/router.h"

#include "http/handlers.h"
#include "http/respond.h"
#include "iiif/request.h"

namespace sipi::http {
namespace {

Job now(Response r) {
  return {false, [r = std::move(r)]() { return r; }};
}

bool under(std::string_view path, const std::string& route) {
  return !route.empty() && path.starts_with(route) && (path.size() == route.size() || path[route.size()] == '/');
}

}  // namespace

Job route(std::shared_ptr<const AppContext> ctx, RequestView req) {
  const Config& cfg = *ctx->config;
  if (req.target.size() > static_cast<std::size_t>(cfg.max_url_length)) {
    return now(error_response({Status::uri_too_long, "http.uri_too_long", {}}));
  }
  // Lua routes first: any method they declare, path equal to the route or below it.
  for (const auto& r : cfg.routes) {
    if (r.method == req.method && under(req.path(), r.route)) {
      auto script = std::filesystem::path(cfg.scriptdir) / r.script;
      return {true, [ctx, req = std::move(req), script]() { return handle_script(*ctx, req, script, false); }};
    }
  }
  if (req.method == "OPTIONS") return now(handle_preflight(req));
  if (req.method == "POST" && !ctx->docroot.empty() && under(req.path(), ctx->wwwroute) && (req.path().ends_with(".lua") || req.path().ends_with(".elua"))) {
    return {true, [ctx, req = std::move(req)]() { return handle_static(*ctx, req); }};
  }
  if (req.method != "GET" && req.method != "HEAD") {
    Response r = error_response({Status::method_not_allowed, "http.method", {}});
    r.set("Allow", "GET, HEAD, OPTIONS");
    return now(std::move(r));
  }
  std::string_view path = req.path();
  if (path.empty() || path[0] != '/') return now(error_response(Error::bad_request("http.target")));
  if (path == "/health") return now(handle_health(*ctx, req));
  // Browsers ask for it on every page; it is not an IIIF base URI to redirect.
  if (path == "/favicon.ico") return now(error_response(Error::not_found("http.no_favicon")));
  if (!ctx->docroot.empty()) {
    if (path == "/") {
      Response r;
      r.status = Status::see_other;
      r.detail = "redirect";
      r.set("Location", ctx->wwwroute + "/");
      return now(std::move(r));
    }
    if (under(path, ctx->wwwroute)) {
      return {true, [ctx, req = std::move(req)]() { return handle_static(*ctx, req); }};
    }
  }

  auto classified = iiif::classify(path);
  if (!classified) return now(error_response(classified.error()));
  return std::visit(
      [&](auto&& r) -> Job {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, iiif::RedirectRequest>) {
          return now(handle_redirect(*ctx, req, r));
        } else if constexpr (std::is_same_v<T, iiif::KnoraRequest>) {
          return {true, [ctx, req, r]() { return handle_knora(*ctx, req, r); }};
        } else if constexpr (std::is_same_v<T, iiif::FileRequest>) {
          return {true, [ctx, req, r]() { return handle_file(*ctx, req, r); }};
        } else if constexpr (std::is_same_v<T, iiif::InfoRequest>) {
          return {true, [ctx, req, r]() { return handle_info(*ctx, req, r); }};
        } else {
          return {true, [ctx, req, r]() { return handle_image(*ctx, req, r); }};
        }
      },
      *classified);
}

}  // namespace sipi::http
