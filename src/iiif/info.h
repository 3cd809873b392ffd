// The info.json document (IIIF 3.0 §5).
#pragma once

#include <string>
#include <vector>

#include "core/geometry.h"
#include "iiif/size.h"

namespace sipi::iiif {

struct InfoInput {
  std::string id;     // base URI as the client used it (scheme, host, port, prefix, identifier)
  Dim size;           // full-resolution size of the page
  Dim tile;           // tile edge to declare
  int pages = 1;      // > 1 adds SIPI's "numpages"
  Limits limits;
  std::string service_json;  // a JSON array for "service" (IIIF Auth), "" for none
};

// Powers of two from 1 up to the first factor at which the whole image fits in one tile.
std::vector<int> scale_factors(Dim size, Dim tile);

// Serialised info.json: "@context" first, then the required keys, sizes, tiles, limits and
// the extra* lists. `sizes` are ceil(W/f) × ceil(H/f) for each scale factor, within limits.
std::string info_json(const InfoInput& in);

}  // namespace sipi::iiif
