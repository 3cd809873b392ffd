// /{prefix}/{id}/file: the stored file as it is, after file_pre_flight (allow or restrict serve
// it; anything else is 401). Supports byte ranges; the name goes into Content-Disposition.
#include "http/access_check.h"
#include "http/file_response.h"
#include "http/handlers.h"
#include "http/respond.h"
#include "source/codec.h"
#include "source/resolver.h"

namespace sipi::http {
namespace {

std::string content_disposition(const std::string& name) {
  bool ascii = true;
  for (unsigned char c : name) ascii = ascii && c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  if (ascii) return "inline; filename=\"" + name + "\"";
  // RFC 6266 / 8187: UTF-8, percent-encoded.
  std::string enc;
  static const char* kHex = "0123456789ABCDEF";
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') enc.push_back(static_cast<char>(c));
    else {
      enc.push_back('%');
      enc.push_back(kHex[c >> 4]);
      enc.push_back(kHex[c & 15]);
    }
  }
  return "inline; filename*=UTF-8''" + enc;
}

std::string sniffed_mime(const std::filesystem::path& p) {
  auto f = source::sniff(p);
  return f ? source::mime_type(*f) : mime_for(p);
}

}  // namespace

Response handle_file(const AppContext& ctx, const RequestView& req, const iiif::FileRequest& fr) {
  std::filesystem::path serve;
  if (ctx.lua && ctx.lua->has_file_pre_flight()) {
    // The hook sees where the file would be before anyone looks for it: DSP's moves it to
    // prefix/xx/yy/name, so nothing exists at the default path.
    auto where = source::candidate(ctx.iiif.root, fr.ref.prefix, fr.ref.identifier);
    if (!where) return error_response(where.error());
    auto r = ctx.lua->file_pre_flight(where->string(), std::string(req.header("cookie")), request_info(req));
    if (!r) return error_response(r.error());
    if (r->permission == "allow" || r->permission == "restrict") {
      auto p = r->path ? source::resolve_hook_path(ctx.iiif.root, *r->path)
                       : source::resolve(ctx.iiif.root, fr.ref.prefix, fr.ref.identifier);
      if (!p) return error_response(p.error());
      serve = *p;
    } else if (r->permission == "deny" || r->permission == "login") {
      return error_response({Status::unauthorized, "access." + r->permission, {}});
    } else {
      return error_response({Status::internal_error, "lua.hook_return", "file_pre_flight: " + r->permission});
    }
  } else {
    auto p = source::resolve(ctx.iiif.root, fr.ref.prefix, fr.ref.identifier);
    if (!p) return error_response(p.error());
    serve = *p;
  }
  Response resp = file_response(req, serve, sniffed_mime(serve));
  if (resp.status == Status::ok || resp.status == Status::partial_content) {
    resp.set("Content-Disposition", content_disposition(serve.filename().string()));
    resp.set("Cache-Control", "private, must-revalidate, max-age=0");
    add_cors(resp, req, true);
  }
  return resp;
}

}  // namespace sipi::http
