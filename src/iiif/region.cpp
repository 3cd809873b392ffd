#include "iiif/region.h"

#include <algorithm>
#include <cmath>

#include "iiif/number.h"

namespace sipi::iiif {

Result<RegionSpec> parse_region(std::string_view s) {
  RegionSpec spec;
  if (s == "full") return spec;
  if (s == "square") {
    spec.kind = RegionSpec::Kind::square;
    return spec;
  }
  bool pct = s.starts_with("pct:");
  if (pct) s.remove_prefix(4);
  auto parts = split_commas(s);
  if (parts.size() != 4) return Error::bad_request("iiif.region.syntax");
  Decimal v[4];
  for (int i = 0; i < 4; ++i) {
    if (pct) {
      auto d = parse_decimal(parts[i]);
      if (!d) return Error::bad_request("iiif.region.syntax");
      v[i] = *d;
    } else {
      auto n = parse_uint(parts[i]);
      if (!n) return Error::bad_request("iiif.region.syntax");
      v[i] = Decimal{*n, 1};
    }
  }
  if (v[2].num == 0 || v[3].num == 0) return Error::bad_request("iiif.region.zero");
  spec.kind = pct ? RegionSpec::Kind::percent : RegionSpec::Kind::pixels;
  spec.x = v[0];
  spec.y = v[1];
  spec.w = v[2];
  spec.h = v[3];
  return spec;
}

Result<Rect> resolve_region(const RegionSpec& spec, Dim image) {
  const std::int64_t W = image.w, H = image.h;
  switch (spec.kind) {
    case RegionSpec::Kind::full:
      return Rect{0, 0, W, H};
    case RegionSpec::Kind::square: {
      std::int64_t side = std::min(W, H);
      return Rect{(W - side) / 2, (H - side) / 2, side, side};
    }
    case RegionSpec::Kind::pixels: {
      std::int64_t x = spec.x.num, y = spec.y.num, w = spec.w.num, h = spec.h.num;
      if (x >= W || y >= H) return Error::bad_request("iiif.region.outside_image");
      return Rect{x, y, std::min(w, W - x), std::min(h, H - y)};
    }
    case RegionSpec::Kind::percent: {
      // Edges are rounded, not the width, so that adjacent pct regions tile without gaps.
      auto sum = [](const Decimal& a, const Decimal& b) {  // a + b, capped at 100 %
        std::int64_t den = std::max(a.den, b.den);
        Decimal s{a.num * (den / a.den) + b.num * (den / b.den), den};
        if (s.num > 100 * s.den) s = Decimal{100, 1};
        return s;
      };
      std::int64_t x0 = scale_round(W, spec.x, 100), y0 = scale_round(H, spec.y, 100);
      std::int64_t x1 = scale_round(W, sum(spec.x, spec.w), 100), y1 = scale_round(H, sum(spec.y, spec.h), 100);
      if (x0 >= W || y0 >= H) return Error::bad_request("iiif.region.outside_image");
      if (x1 <= x0 || y1 <= y0) return Error::bad_request("iiif.region.empty");
      return Rect{x0, y0, x1 - x0, y1 - y0};
    }
  }
  return Error::internal("iiif.region.kind");
}

std::string canonical_region(const Rect& r, Dim image) {
  if (r.x == 0 && r.y == 0 && r.w == image.w && r.h == image.h) return "full";
  return std::to_string(r.x) + "," + std::to_string(r.y) + "," + std::to_string(r.w) + "," +
         std::to_string(r.h);
}

}  // namespace sipi::iiif
