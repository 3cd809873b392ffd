// Maps a request to the work that answers it, and says whether that work may block (image
// decoding, file reads) and so must run on the worker pool instead of an I/O thread.
#pragma once

#include <functional>

#include "http/admission.h"
#include "http/message.h"

namespace sipi::http {

struct Job {
  bool on_worker = false;
  std::function<Response()> run;
  Lane lane = Lane::cheap;     // admission lane when on_worker
  const char* route = "other";  // metrics label
};

Job route(std::shared_ptr<const AppContext> ctx, RequestView req);

}  // namespace sipi::http
