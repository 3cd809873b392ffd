// Classifies a request path into one of the IIIF request kinds (IIIF 3.0 §2, SIPI URL forms):
//   /{prefix…}/{id}/{region}/{size}/{rotation}/{quality}.{format}  → ImageRequest
//   /{prefix…}/{id}/info.json                                      → InfoRequest
//   /{prefix…}/{id}                                                → RedirectRequest (303)
// Each segment is percent-decoded exactly once, so "%2F" in an identifier becomes '/', and
// "%252F" becomes the literal "%2F". Parsing never throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/result.h"
#include "iiif/formats.h"
#include "iiif/region.h"
#include "iiif/rotation.h"
#include "iiif/size.h"

namespace sipi::iiif {

struct ImageRef {
  std::string prefix;          // decoded segments before the identifier, joined with '/'
  std::string identifier;      // decoded, without any "@N" page selector
  std::string raw_prefix;      // as received (still percent-encoded)
  std::string raw_identifier;  // as received, with the page selector
  int page = 0;                // 0 = none given; N ≥ 1 from "id@N" (1 = first page)
};

struct ImageRequest {
  ImageRef ref;
  RegionSpec region;
  SizeSpec size;
  Rotation rotation;
  Quality quality = Quality::default_;
  Format format = Format::jpg;
};

struct InfoRequest {
  ImageRef ref;
};

struct RedirectRequest {
  ImageRef ref;
};

// /{prefix…}/{id}/file: the file itself (SIPI's raw download).
struct FileRequest {
  ImageRef ref;
};

// /{prefix…}/{id}/knora.json: DaSCH's file description (SIPI compatibility).
struct KnoraRequest {
  ImageRef ref;
};

using Request = std::variant<ImageRequest, InfoRequest, RedirectRequest, FileRequest, KnoraRequest>;

// `path` is the request target without its query string. Errors are 400 with details
// iiif.path.* (empty segment, bad escape, traversal), iiif.region.*, iiif.size.*,
// iiif.rotation.*, iiif.quality.syntax, iiif.format.unsupported.
Result<Request> classify(std::string_view path);

// "/{raw_prefix}/{raw_identifier}" (no trailing slash): the path of the IIIF base URI.
std::string base_path(const ImageRef& ref);

}  // namespace sipi::iiif
