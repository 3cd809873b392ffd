// The IIIF image use-case, split in two so that HTTP can answer HEAD and conditional requests
// from the cheap half: prepare() resolves the file, reads headers and checks every parameter
// against the image (no pixels); render() decodes, transforms and encodes.
#pragma once

#include <string>

#include "core/result.h"
#include "iiif/request.h"
#include "service/context.h"
#include "source/shape.h"

namespace sipi::service {

struct PreparedImage {
  iiif::ImageRequest request;
  SourceFile file;
  source::ImageShape shape;
  std::shared_ptr<const source::SourceHeader> header;  // shape's origin, with stored tile tables
  Rect region;           // full-resolution pixels
  Dim size;              // after scaling, before rotation
  std::string canonical; // canonical path: /{prefix}/{id}/{region}/{size}/{rotation}/{quality}.{format}
  std::string etag;
  std::string cache_key; // everything the bytes depend on: canonical request, source version, access
  std::optional<std::string> watermark;
  // The decode plan, chosen once: the level to decode and the region in that level's pixels.
  std::size_t level = 0;
  Rect at;
  int threads = 0;  // cores the decode may use; 0 = idle_cores() when it is rendered
};

// Cores a decode starting now may use besides its own: those no other request runs on, when no
// request waits for a worker (1 otherwise).
int idle_cores();

// Errors: those of the resolver, probe, region and size resolution, and 400
// iiif.format.too_large when the output exceeds what the format can store.
Result<PreparedImage> prepare_image(const Context& ctx, const iiif::ImageRequest& req,
                                    const AccessOptions& access = {});

// The encoded image, from a decode helper when ctx.isolation is set. With `out_fd` (a spool
// file, spool.h) the image is written there as it is encoded and the result is empty. Errors:
// 500 codec.* (codec.crashed: the helper died on this file, now or before).
// `cost_ms`, when given, gets what the render cost (the derivative cache weighs a second render
// by it): a helper's process CPU time for it (libvips' threads included), or the elapsed time
// of a render in the server process.
Result<std::string> render_image(const Context& ctx, const PreparedImage& p, int out_fd = -1, double* cost_ms = nullptr);

// The resampling kernel the configuration chooses for an output format.
ScalingQuality scaling_for(const Context& ctx, iiif::Format f);

// Peak memory render_image may need for `p`, from what prepare_image knows (the level and
// region to decode, the output size and format), rounded up: the decode-memory budget's unit.
std::uint64_t decode_memory_estimate(const PreparedImage& p);

// The response body when it is a JPEG tile stored in the source (sent without decoding), or
// nothing when the request needs the pipeline: not a whole stored tile at a stored level, a
// scale, rotation, quality or watermark, or a format other than JPEG.
std::optional<std::string> stored_tile(const PreparedImage& p);

// A JPEG of the region's pixels with nothing done to them but scaling: no rotation, mirror or
// watermark (the callers check the quality they can give). The stored-tile and lean paths.
bool plain_jpeg(const PreparedImage& p);

// True when the answer is the source file itself, as SIPI sends it: the whole image at its full
// size, unrotated, default quality, no watermark, one page, in the source's own format (a JP2
// file, not a bare codestream). The caller also checks that access was not restricted.
bool serves_source_as_is(const PreparedImage& p);

// Shared by image and info: resolve and stat the file.
Result<SourceFile> open_source(const Context& ctx, const iiif::ImageRef& ref, const AccessOptions& access = {});

}  // namespace sipi::service
