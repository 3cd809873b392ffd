// Lua routes and docroot .lua pages: the request goes into `server`, the script answers with
// server.print / sendHeader / sendStatus.
#include <strings.h>

#include "core/form.h"
#include "http/access_check.h"
#include "http/handlers.h"
#include "http/multipart.h"
#include "http/respond.h"

namespace sipi::http {

Response handle_script(const AppContext& ctx, const RequestView& req, const std::filesystem::path& script,
                       bool docroot_page) {
  if (!ctx.lua) return error_response(Error::internal("lua.none", "no Lua runtime"));
  lua::RequestInfo info = request_info(req);
  auto q = req.target.find('?');
  if (q != std::string::npos) info.get = parse_urlencoded(std::string_view(req.target).substr(q + 1));
  std::string_view ctype = req.header("content-type");
  MultipartResult parts;  // its temporary files live until this function returns
  if (req.body_file) {
    std::string boundary = multipart_boundary(ctype);
    if (boundary.empty()) return error_response(Error::bad_request("http.multipart"));
    auto m = parse_multipart(req.body_file->path(), boundary, ctx.config->tmpdir);
    if (!m) return error_response(m.error());
    parts = std::move(*m);
    info.post = parts.fields;
    for (const auto& f : parts.files) {
      info.uploads.push_back({f.fieldname, f.origname, f.file->path().string(), f.mimetype, f.size});
    }
  } else if (ctype.starts_with("application/x-www-form-urlencoded")) {
    info.post = parse_urlencoded(req.body);
  } else if (!req.body.empty()) {
    info.content = req.body;
    info.content_type = std::string(ctype);
  }
  if (docroot_page) info.docroot = ctx.docroot.string();
  auto out = script.extension() == ".elua" ? ctx.lua->run_elua(script, info) : ctx.lua->run_script(script, info);
  if (!out) return error_response(out.error());
  Response r;
  r.status = static_cast<Status>(out->status);
  r.detail = docroot_page ? "page" : "route";
  bool has_type = false;
  for (auto& [k, v] : out->headers) {
    has_type = has_type || strcasecmp(k.c_str(), "content-type") == 0;
    r.set(k, v);
  }
  if (!has_type) r.set("Content-Type", "text/html; charset=utf-8");
  r.body = std::move(out->body);
  return r;
}

}  // namespace sipi::http
