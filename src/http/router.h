// Maps a request to the work that answers it, and says whether that work may block (image
// decoding, file reads) and so must run on the worker pool instead of an I/O thread.
#pragma once

#include <functional>

#include "http/admission.h"
#include "http/message.h"
#include "iiif/request.h"

namespace sipi::http {

struct Job {
  bool on_worker = false;
  std::function<Response()> run;
  Lane lane = Lane::cheap;     // admission lane when on_worker
  const char* route = "other";  // metrics label
  std::string lua_route;        // SIPI's route template of a matched Lua route ("" otherwise)
};

Job route(std::shared_ptr<const AppContext> ctx, RequestView req);

// Known before any file is opened: an image request is cheap when its output is bounded to a
// small size by the URL itself (w, | ,h | w,h | !w,h with the given sides ≤ 1024, or a pixel
// region within 1024² not upscaled). Everything else (max, pct:, large sizes) may decode a whole
// image and goes to the expensive lane.
Lane image_lane(const iiif::ImageRequest& r);

// The route template SIPI 7 labels its request-duration metric with (`http_route`): "/{*rest}"
// for IIIF and other paths, "/" for the root, a Lua route's path (or "<route>/{*rest}" below
// it, as the router found it), "<wwwroute>/{*rest}" for the docroot; "" for /health,
// /favicon.ico and /metrics, which are not recorded.
std::string http_route_template(const AppContext& ctx, const RequestView& req, const Job& job);

}  // namespace sipi::http
