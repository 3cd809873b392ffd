// One handler per route kind. Each maps a RequestView to a Response; none touches a socket.
#pragma once

#include "http/message.h"
#include "iiif/request.h"

namespace sipi::http {

Response handle_image(const AppContext& ctx, const RequestView& req, const iiif::ImageRequest& ir);
Response handle_info(const AppContext& ctx, const RequestView& req, const iiif::InfoRequest& ir);
Response handle_redirect(const AppContext& ctx, const RequestView& req, const iiif::RedirectRequest& rr);
Response handle_static(const AppContext& ctx, const RequestView& req);
// GET /favicon.ico: a small icon (image/x-icon), as SIPI answers, instead of a 404 per page view.
Response favicon_response(const RequestView& req);
Response handle_health(const AppContext& ctx, const RequestView& req);
// 200 {"status":"ready"} while the server takes new work; 503 {"status":"draining"} from SIGTERM on.
Response handle_ready();
Response handle_metrics(const AppContext& ctx, const RequestView& req);
Response handle_preflight(const RequestView& req);
Response handle_file(const AppContext& ctx, const RequestView& req, const iiif::FileRequest& fr);
Response handle_knora(const AppContext& ctx, const RequestView& req, const iiif::KnoraRequest& kr);
// SIPI's info.json for a file that is not an image (CSV, MP4, PDF, …): @context, id,
// internalMimeType, fileSize, and for video the duration, fps, width and height of its sidecar.
std::string bitstream_info(const std::filesystem::path& path, const std::string& id);
// MIME type from a file name's extension (the docroot's table).
std::string mime_for(const std::filesystem::path& p);
// A Lua script (route or docroot page) answering the request.
Response handle_script(const AppContext& ctx, const RequestView& req, const std::filesystem::path& script,
                       bool docroot_page);  // .lua; .elua pages when the name ends so

}  // namespace sipi::http
