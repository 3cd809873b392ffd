// The IIIF image use case, after prepare_image (image_service.h) has checked the request against
// the image: the bytes by the cheapest way that gives them. A JPEG tile stored in the source as
// it is; else the derivative cache; else, within the decode-memory budget, the pipeline (decode
// the level and region the codec chose, transform, encode), whose result then goes to the cache.
// Large outputs are encoded into a spool file and sent from there, never held whole.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "core/spooled.h"
#include "service/context.h"
#include "service/image_service.h"

namespace sipi::service {

struct ImageBody {
  std::string bytes;
  std::shared_ptr<SpooledBody> spooled;  // instead of `bytes`, for large outputs (spool.h)
  const char* how = "image";  // for the access log: "image stored tile", "image cached", "image"
};

// Errors: those of render_image; 413 decode.too_large (more than the whole decode budget) and
// 503 decode.memory_busy (the budget stayed full for a second: the caller may retry).
Result<ImageBody> serve_image(const Context& ctx, const PreparedImage& p);

}  // namespace sipi::service
