// The IIIF service's untrusted work as decode-helper jobs (isolation/): reading headers and
// stored-tile tables, and rendering (decode, transform, encode). The server sends a job and
// gets back the shape, the tables or the encoded image; the helper runs the same functions the
// server runs when decode_isolation = "none".
#pragma once

#include <map>
#include <memory>
#include <string>

#include "isolation/helper.h"
#include "isolation/pool.h"
#include "metadata/essentials.h"
#include "service/image_service.h"

namespace sipi::service {

// Header loaders that probe through `pool` (for the server's header cache).
source::HeaderLoaders isolated_loaders(std::shared_ptr<isolation::Pool> pool);

// render_image's work in a helper. Errors: those of render_image, and 500 codec.crashed.
Result<std::string> render_isolated(isolation::Pool& pool, const Context& ctx, const PreparedImage& p, int out_fd = -1,
                                    double* cost_ms = nullptr);

// The Essentials packet of a service file (exiv2 reads TIFF tags): in a helper when `pool` is set.
Result<std::optional<metadata::Essentials>> read_essentials(isolation::Pool* pool, const SourceFile& f);

// The jobs a helper answers: probe, stored, essentials, exif, decode (a whole level's pixels,
// for Lua) as JSON; render (every image request) as a binary job.
isolation::Handlers helper_handlers();

}  // namespace sipi::service
