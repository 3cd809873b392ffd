#include "iiif/size.h"

#include <algorithm>
#include <cmath>

#include "iiif/number.h"

namespace sipi::iiif {
namespace {

// round(a * b / c) for non-negative integers, half up, without floating point.
std::int64_t mul_div_round(std::int64_t a, std::int64_t b, std::int64_t c) {
  return (2 * a * b + c) / (2 * c);
}

// The size of `region` scaled so that its width is `w` (the height rounded), or the reverse.
Dim by_width(Dim region, std::int64_t w) { return {w, std::max<std::int64_t>(1, mul_div_round(region.h, w, region.w))}; }
Dim by_height(Dim region, std::int64_t h) { return {std::max<std::int64_t>(1, mul_div_round(region.w, h, region.h)), h}; }

// Largest size with the region's aspect ratio that fits the limits (scale may exceed 1). The
// binding side is set exactly to its limit and the other side rounded, as `w,` / `,h` would.
Dim fit_limits(Dim region, const Limits& L) {
  // Which of maxWidth / maxHeight binds: compare MW/rw with MH/rh without division.
  Dim d = (L.max_width * region.h <= L.max_height * region.w) ? by_width(region, L.max_width)
                                                              : by_height(region, L.max_height);
  d.w = std::min(d.w, L.max_width);
  d.h = std::min(d.h, L.max_height);
  if (d.w * d.h <= L.max_area) return d;
  // maxArea binds: start from the real-valued answer, then settle on the largest whole size.
  double s = std::sqrt(static_cast<double>(L.max_area) / (static_cast<double>(region.w) * static_cast<double>(region.h)));
  bool wide = region.w >= region.h;  // step along the longer side for the finest steps
  std::int64_t major = static_cast<std::int64_t>(std::floor(static_cast<double>(wide ? region.w : region.h) * s));
  major = std::max<std::int64_t>(1, major);
  auto make = [&](std::int64_t m) { return wide ? by_width(region, m) : by_height(region, m); };
  while (major > 1 && make(major).w * make(major).h > L.max_area) --major;
  auto fits = [&](Dim c) { return c.w <= L.max_width && c.h <= L.max_height && c.w * c.h <= L.max_area; };
  while (fits(make(major + 1))) ++major;
  return make(major);
}

bool within_limits(Dim d, const Limits& L) {
  return d.w <= L.max_width && d.h <= L.max_height && d.w * d.h <= L.max_area;
}

}  // namespace

Result<SizeSpec> parse_size(std::string_view s) {
  SizeSpec spec;
  if (s.starts_with("^")) {
    spec.upscale = true;
    s.remove_prefix(1);
  }
  if (s == "max") return spec;
  if (s.starts_with("pct:")) {
    auto d = parse_decimal(s.substr(4));
    if (!d) return Error::bad_request("iiif.size.syntax");
    if (d->num == 0) return Error::bad_request("iiif.size.zero");
    spec.kind = SizeSpec::Kind::percent;
    spec.pct = *d;
    return spec;
  }
  bool confined = s.starts_with("!");
  if (confined) s.remove_prefix(1);
  auto parts = split_commas(s);
  if (parts.size() != 2) return Error::bad_request("iiif.size.syntax");
  std::optional<std::int64_t> w, h;
  if (!parts[0].empty()) {
    w = parse_uint(parts[0]);
    if (!w) return Error::bad_request("iiif.size.syntax");
  }
  if (!parts[1].empty()) {
    h = parse_uint(parts[1]);
    if (!h) return Error::bad_request("iiif.size.syntax");
  }
  if (!w && !h) return Error::bad_request("iiif.size.syntax");
  if (confined && (!w || !h)) return Error::bad_request("iiif.size.syntax");
  if ((w && *w == 0) || (h && *h == 0)) return Error::bad_request("iiif.size.zero");
  spec.w = w.value_or(0);
  spec.h = h.value_or(0);
  if (confined) spec.kind = SizeSpec::Kind::confined;
  else if (w && h) spec.kind = SizeSpec::Kind::exact;
  else if (w) spec.kind = SizeSpec::Kind::width;
  else spec.kind = SizeSpec::Kind::height;
  return spec;
}

Dim max_size(Dim region, const Limits& limits) {
  if (within_limits(region, limits)) return region;
  return fit_limits(region, limits);
}

Dim upscaled_max_size(Dim region, const Limits& limits) {
  Limits e = limits;
  if (!limits.declared_width) e.max_width = std::min(limits.max_width, region.w);
  if (!limits.declared_height) e.max_height = std::min(limits.max_height, region.h);
  if (!limits.declared_area) e.max_area = std::min(limits.max_area, region.w * region.h);
  return fit_limits(region, e);
}

Result<Dim> resolve_size(const SizeSpec& spec, Dim region, const Limits& limits) {
  if (region.w < 1 || region.h < 1) return Error::bad_request("iiif.size.too_small");
  Dim d;
  switch (spec.kind) {
    case SizeSpec::Kind::max:
      return spec.upscale ? upscaled_max_size(region, limits) : max_size(region, limits);
    case SizeSpec::Kind::width:
      d = {spec.w, mul_div_round(region.h, spec.w, region.w)};
      break;
    case SizeSpec::Kind::height:
      d = {mul_div_round(region.w, spec.h, region.h), spec.h};
      break;
    case SizeSpec::Kind::percent:
      if (!spec.upscale && spec.pct.num > 100 * spec.pct.den) {
        return Error::bad_request("iiif.size.upscale_without_caret");
      }
      d = {scale_round(region.w, spec.pct, 100), scale_round(region.h, spec.pct, 100)};
      break;
    case SizeSpec::Kind::exact:
      d = {spec.w, spec.h};
      break;
    case SizeSpec::Kind::confined:
      // Which side binds: compare w/rw with h/rh without division.
      if (spec.w * region.h <= spec.h * region.w) {
        d = {spec.w, mul_div_round(region.h, spec.w, region.w)};
      } else {
        d = {mul_div_round(region.w, spec.h, region.h), spec.h};
      }
      break;
  }
  if (!spec.upscale && (d.w > region.w || d.h > region.h)) {
    return Error::bad_request("iiif.size.upscale_without_caret");
  }
  if (d.w < 1 || d.h < 1) return Error::bad_request("iiif.size.too_small");
  if (!within_limits(d, limits)) return Error::bad_request("iiif.size.over_limits");
  return d;
}

std::string canonical_size(Dim size, Dim region, const Limits& limits) {
  bool up = size.w > region.w || size.h > region.h;
  if (!up && size == max_size(region, limits)) return "max";
  if (up && size == upscaled_max_size(region, limits)) return "^max";
  return std::string(up ? "^" : "") + std::to_string(size.w) + "," + std::to_string(size.h);
}

}  // namespace sipi::iiif
