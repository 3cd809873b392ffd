// IIIF image, info and base-URI redirect responses (IIIF 3.0 §2, §5, §7).
#include <nlohmann/json.hpp>

#include "core/metrics.h"
#include "http/file_response.h"
#include "http/access_check.h"
#include "http/handlers.h"
#include "http/respond.h"
#include "iiif/features.h"
#include "service/image_service.h"
#include "service/serve_image.h"
#include "source/codec.h"
#include "service/info_service.h"

namespace sipi::http {
namespace {

const std::string kLdJson = "application/ld+json;profile=\"http://iiif.io/api/image/3/context.json\"";

// IIIF Image 3.0 §5.2: application/json (with the context in a Link header) unless the client
// asks for application/ld+json. SIPI answers JSON-LD by default; the spec's "must" wins.
bool wants_plain_json(const RequestView& req) {
  return req.header("accept").find("application/ld+json") == std::string_view::npos;
}

// Cache-Control from the config: restricted views are never shared. With a pre_flight hook the
// decision may depend on the caller's credentials, so shared caches must key on them.
void add_cache_headers(Response& r, const AppContext& ctx, const std::optional<access::Decision>& d) {
  bool restricted = d && d->kind == access::Decision::Kind::restrict;
  const std::string& cc = restricted ? ctx.config->cache_control_restricted : ctx.config->cache_control;
  if (!cc.empty()) r.set("Cache-Control", cc);
  if (ctx.lua && ctx.lua->has_pre_flight()) add_vary(r, "Cookie, Authorization");
}

}  // namespace

Response handle_image(const AppContext& ctx, const RequestView& req, const iiif::ImageRequest& ir) {
  auto decision = run_pre_flight(ctx, req, ir.ref);
  if (!decision) return error_response(decision.error());
  if (*decision && (*decision)->response) return hook_response(*(*decision)->response);
  if (*decision && !(*decision)->serves()) {
    // deny and the IIIF Auth kinds: the image is not served (SIPI answers 401 for all).
    return error_response({Status::unauthorized, std::string("access.") + access::kind_name((*decision)->kind), {}});
  }
  auto p = service::prepare_image(ctx.iiif, ir, access_options(*decision));
  if (!p) return error_response(p.error());
  const std::string origin = origin_of(req, *ctx.config);
  const bool restricted = *decision && (*decision)->kind == access::Decision::Kind::restrict;
  if (!restricted && service::serves_source_as_is(*p)) {
    // SIPI's shortcut: the stored file itself, metadata included, streamed with ranges.
    Response r = file_response(req, p->file.path, std::string(iiif::format_info(ir.format).mime));
    r.detail = "image source as is";
    if (r.status == Status::ok || r.status == Status::partial_content || r.status == Status::not_modified) {
      r.set("Link", "<" + origin + p->canonical + ">;rel=\"canonical\", <" + std::string(iiif::kProfileUri) +
                        ">;rel=\"profile\"");
      add_cors(r, req, true);
      add_cache_headers(r, ctx, *decision);
    }
    return r;
  }
  if (not_modified(req, p->etag, p->file.mtime)) {
    Response r = not_modified_response(p->etag, p->file.mtime);
    add_cache_headers(r, ctx, *decision);
    return r;
  }

  Response r;
  r.detail = "image";
  if (!req.is_head()) {
    auto body = service::serve_image(ctx.iiif, *p);
    if (!body) {
      Response e = error_response(body.error());
      if (body.error().status == Status::unavailable) e.set("Retry-After", "5");  // memory budget busy (SIPI: 5)
      return e;
    }
    r.detail = body->how;
    r.body = std::move(body->bytes);
    r.spooled = std::move(body->spooled);
  }
  r.set("Content-Type", std::string(iiif::format_info(ir.format).mime));
  r.set("Link", "<" + origin + p->canonical + ">;rel=\"canonical\", <" + std::string(iiif::kProfileUri) +
                    ">;rel=\"profile\"");
  r.set("ETag", p->etag);
  r.set("Last-Modified", http_date(p->file.mtime));
  add_cors(r, req, true);
  add_cache_headers(r, ctx, *decision);
  return r;
}

Response handle_info(const AppContext& ctx, const RequestView& req, const iiif::InfoRequest& ir) {
  auto decision = run_pre_flight(ctx, req, ir.ref);
  if (!decision) return error_response(decision.error());
  if (*decision && (*decision)->response) return hook_response(*(*decision)->response);
  // A plain deny gates the pixels only: info.json is answered, from the path the hook gave or the
  // default one, as SIPI does (DSP's viewer reads the size of images it may not show).
  auto p = service::prepare_info(ctx.iiif, ir.ref, access_options(*decision));
  const std::string id = origin_of(req, *ctx.config) + iiif::base_path(ir.ref);
  if (!p && p.error().detail == "source.unsupported_format") {
    // A file that is not an image (CSV, MP4, PDF): SIPI's bitstream description.
    auto f = service::open_source(ctx.iiif, ir.ref, access_options(*decision));
    if (!f) return error_response(f.error());
    // Named like an image but not one: a damaged image, not a bitstream.
    if (source::is_image_type(mime_for(f->path))) return error_response(p.error());
    Response r;
    r.detail = "info bitstream";
    r.body = bitstream_info(f->path, id);
    r.set("Content-Type", "application/json");
    add_cache_headers(r, ctx, *decision);
    add_cors(r, req, false);
    return r;
  }
  if (!p) return error_response(p.error());
  if (*decision && (*decision)->is_auth()) {
    // IIIF Auth 1.0: 401 with the description and the service the viewer uses to log in.
    Response r;
    r.status = Status::unauthorized;
    r.detail = std::string("access.") + access::kind_name((*decision)->kind);
    r.body = service::info_document(ctx.iiif, *p, id, auth_service_json(**decision));
    r.set("Content-Type", kLdJson);
    r.set("Cache-Control", "no-store");
    add_cors(r, req, false);
    return r;
  }
  bool plain = wants_plain_json(req);
  std::string etag = service::info_etag(ctx.iiif, *p, id + (plain ? "|json" : "|ld"));
  if (not_modified(req, etag, p->file.mtime)) {
    Response r = not_modified_response(etag, p->file.mtime);
    add_vary(r, "Accept");
    add_cache_headers(r, ctx, *decision);
    return r;
  }

  Response r;
  r.detail = "info";
  r.body = service::info_document(ctx.iiif, *p, id);
  std::string link = "<" + std::string(iiif::kProfileUri) + ">;rel=\"profile\"";
  if (plain) {
    r.set("Content-Type", "application/json");
    link = "<" + std::string(iiif::kContext) +
           ">;rel=\"http://www.w3.org/ns/json-ld#context\";type=\"application/ld+json\", " + link;
  } else {
    r.set("Content-Type", kLdJson);
  }
  r.set("Link", link);
  add_vary(r, "Accept");
  add_cache_headers(r, ctx, *decision);
  r.set("ETag", etag);
  r.set("Last-Modified", http_date(p->file.mtime));
  add_cors(r, req, false);
  if (req.is_head()) {
    r.content_length = static_cast<std::int64_t>(r.body.size());
    r.body.clear();
  }
  return r;
}

Response handle_redirect(const AppContext& ctx, const RequestView& req, const iiif::RedirectRequest& rr) {
  Response r;
  r.status = Status::see_other;
  r.detail = "redirect";
  std::string location = origin_of(req, *ctx.config) + iiif::base_path(rr.ref) + "/info.json";
  r.set("Location", location);
  r.set("Content-Type", "text/plain; charset=utf-8");
  add_cors(r, req, false);
  r.body = "See " + std::string("info.json") + "\n";
  return r;
}

Response handle_preflight(const RequestView& req) {
  Response r;
  r.status = Status::no_content;
  r.detail = "preflight";
  auto origin = req.header("origin");
  if (!origin.empty() && origin.find_first_of("\r\n") == std::string_view::npos) {
    r.set("Access-Control-Allow-Origin", std::string(origin));
    r.set("Access-Control-Allow-Credentials", "true");
    r.set("Vary", "Origin");
  } else {
    r.set("Access-Control-Allow-Origin", "*");
  }
  // SIPI's list: Lua routes take POST, PUT and DELETE from browsers too (HEAD and OPTIONS are
  // never preflighted).
  r.set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE");
  auto asked = req.header("access-control-request-headers");
  if (!asked.empty() && asked.size() < 1024 && asked.find_first_of("\r\n") == std::string_view::npos) {
    r.set("Access-Control-Allow-Headers", std::string(asked));
  }
  r.set("Access-Control-Max-Age", "86400");
  r.set("Allow", "GET, HEAD, OPTIONS");
  return r;
}

Response handle_health(const AppContext& ctx, const RequestView&) {
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - ctx.started);
  nlohmann::ordered_json j;
  j["status"] = "ok";
  j["version"] = SIPI_VERSION;
  j["uptime_seconds"] = uptime.count();
  Response r;
  r.detail = "health";
  r.body = j.dump();
  r.set("Content-Type", "application/json");
  r.set("Cache-Control", "no-store");
  return r;
}

Response handle_ready() {
  const bool ready = metrics().ready.load();
  Response r;
  r.status = ready ? Status::ok : Status::unavailable;
  r.detail = ready ? "ready" : "draining";
  r.body = ready ? R"({"status":"ready"})" : R"({"status":"draining"})";
  r.set("Content-Type", "application/json");
  r.set("Cache-Control", "no-store");
  return r;
}

}  // namespace sipi::http
