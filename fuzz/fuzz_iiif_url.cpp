// Arbitrary bytes as a request path (what follows the host, query string already removed):
// the URL classifier, every IIIF parameter parser, resolution against fixed image sizes and
// limits, canonical forms, and the resolver that turns prefix + identifier into a file.
//
// Invariants checked (a failure aborts, so libFuzzer keeps the input):
//  - a resolved region lies inside the image, a resolved size is within the limits;
//  - canonical region / size / rotation parse back to the same pixels (IIIF 3.0 §4.7);
//  - the canonical image path and base_path()+"/info.json" classify back to the same image;
//  - resolve() never returns a file outside the image root (traversal, %2F, symlinks).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <variant>

#include "core/form.h"
#include "core/percent.h"
#include "fuzz_util.h"
#include "iiif/formats.h"
#include "iiif/number.h"
#include "iiif/region.h"
#include "iiif/request.h"
#include "iiif/rotation.h"
#include "iiif/size.h"
#include "source/resolver.h"

namespace fs = std::filesystem;
using namespace sipi;
using namespace sipi::iiif;

namespace {

// Image sizes a probe can report: TIFF and JPEG 2000 headers hold 32-bit sizes.
constexpr Dim kImages[] = {{1, 1}, {7, 5}, {5, 7}, {6000, 4000}, {999999999, 3}, {4294967295, 4294967295}};
// Server limits: the defaults and a small configuration. (Limits::none() is for offline
// conversion and Lua, not for URLs.)
const Limits kLimits[] = {Limits{}, Limits{400, 300, 100000}};

constexpr std::int64_t kVipsMaxCoord = 10000000;

bool parsable(std::int64_t v) { return v >= 0 && v <= 999999999; }  // parse_uint: at most 9 digits

std::string rect_str(Rect r) {
  return std::to_string(r.x) + "," + std::to_string(r.y) + "," + std::to_string(r.w) + "," + std::to_string(r.h);
}
std::string dim_str(Dim d) { return std::to_string(d.w) + "x" + std::to_string(d.h); }

// The region, resolved on each image; its canonical form must resolve to the same pixels.
void check_region(const RegionSpec& spec, std::string_view input) {
  for (Dim image : kImages) {
    auto r = resolve_region(spec, image);
    if (!r) continue;
    FUZZ_CHECK(r->x >= 0 && r->y >= 0 && r->w >= 1 && r->h >= 1 && r->x + r->w <= image.w && r->y + r->h <= image.h,
               "region " + std::string(input) + " on " + dim_str(image) + " -> " + rect_str(*r));
    std::string canon = canonical_region(*r, image);
    if (parsable(r->x) && parsable(r->y) && parsable(r->w) && parsable(r->h)) {
      auto again = parse_region(canon);
      FUZZ_CHECK(again.has_value(), "canonical region does not parse: " + canon);
      auto r2 = resolve_region(*again, image);
      FUZZ_CHECK(r2.has_value() && *r2 == *r, "canonical region " + canon + " of " + std::string(input) + " on " +
                                                  dim_str(image) + " resolves differently");
    }
  }
}

// The size, resolved on regions of several shapes; its canonical form must give the same size.
void check_size(const SizeSpec& spec, std::string_view input) {
  for (Dim region : kImages) {
    for (const Limits& lim : kLimits) {
      auto d = resolve_size(spec, region, lim);
      if (!d) continue;
      FUZZ_CHECK(d->w >= 1 && d->h >= 1 && d->w <= lim.max_width && d->h <= lim.max_height &&
                     d->w * d->h <= lim.max_area,
                 "size " + std::string(input) + " of " + dim_str(region) + " -> " + dim_str(*d));
      FUZZ_CHECK(spec.upscale || (d->w <= region.w && d->h <= region.h),
                 "size " + std::string(input) + " upscales without ^: " + dim_str(*d));
      std::string canon = canonical_size(*d, region, lim);
      auto again = parse_size(canon);
      FUZZ_CHECK(again.has_value(), "canonical size does not parse: " + canon);
      auto d2 = resolve_size(*again, region, lim);
      FUZZ_CHECK(d2.has_value() && *d2 == *d, "canonical size " + canon + " of " + std::string(input) + " on " +
                                                  dim_str(region) + " resolves differently");
    }
    // Offline limits (Lua's SipiImage, `sipi convert`): only arithmetic (UBSan), no canonical
    // form. Those callers pass the size of a decoded VImage, at most VIPS_MAX_COORD a side.
    if (region.w <= kVipsMaxCoord && region.h <= kVipsMaxCoord) (void)resolve_size(spec, region, Limits::none());
  }
}

void check_rotation(const Rotation& r, std::string_view input) {
  FUZZ_CHECK(r.degrees >= 0 && r.degrees <= 360, "rotation " + std::string(input));
  std::string canon = canonical_rotation(r);
  auto again = parse_rotation(canon);
  FUZZ_CHECK(again.has_value(), "canonical rotation does not parse: " + canon);
  FUZZ_CHECK(canonical_rotation(*again) == canon && again->mirror == r.mirror,
             "canonical rotation " + canon + " is not a fixed point");
  (void)r.is_right_angle();
}

bool same_ref(const ImageRef& a, const ImageRef& b) {
  return a.prefix == b.prefix && a.identifier == b.identifier && a.page == b.page;
}
std::string ref_str(const ImageRef& r) {
  return "prefix='" + r.prefix + "' id='" + r.identifier + "' page=" + std::to_string(r.page);
}

// A small image root with a file, a subdirectory and a symlink that leads out of it.
struct Roots {
  source::ImageRoot as_path, flat;
  fs::path base;
};
const Roots& roots() {
  static const Roots r = [] {
    Roots out;
    out.base = sipi_fuzz::scratch_dir();
    fs::path root = out.base / "root";
    fs::create_directories(root / "dir");
    fs::create_directories(out.base / "secret");
    for (const fs::path& f : {root / "img.jpg", root / "dir" / "img2.jpg", out.base / "secret" / "s.jpg",
                              out.base / "rootsibling.jpg"}) {
      std::ofstream(f) << "x";
    }
    std::error_code ec;
    fs::create_directory_symlink("../secret", root / "escape", ec);
    fs::create_symlink("../secret/s.jpg", root / "link.jpg", ec);
    out.as_path = {fs::canonical(root), true};
    out.flat = {fs::canonical(root), false};
    return out;
  }();
  return r;
}

void check_resolve(const ImageRef& ref) {
  for (const auto* root : {&roots().as_path, &roots().flat}) {
    auto p = source::resolve(*root, ref.prefix, ref.identifier);
    if (!p) continue;
    const std::string& s = p->native();
    const std::string& r = root->root.native();
    FUZZ_CHECK(s.size() > r.size() + 1 && s.compare(0, r.size(), r) == 0 && s[r.size()] == '/',
               "resolved outside the root: " + s + " for " + ref_str(ref));
  }
}

// What the redirect (303) and info.json "id" point at must name the same image again.
void check_base_path(const ImageRef& ref) {
  std::string info = base_path(ref) + "/info.json";
  auto again = classify(info);
  FUZZ_CHECK(again.has_value() && std::holds_alternative<InfoRequest>(*again),
             "base_path does not classify as info.json: " + info);
  FUZZ_CHECK(same_ref(std::get<InfoRequest>(*again).ref, ref),
             info + " names " + ref_str(std::get<InfoRequest>(*again).ref) + ", not " + ref_str(ref));
}

// The canonical path (Link header, cache key) must classify back to the same request.
void check_canonical_image(const ImageRequest& req) {
  for (Dim image : kImages) {
    if (!parsable(image.w) || !parsable(image.h)) continue;
    auto region = resolve_region(req.region, image);
    if (!region) continue;
    const Limits& lim = kLimits[0];
    auto size = resolve_size(req.size, {region->w, region->h}, lim);
    if (!size) continue;
    std::string canon = base_path(req.ref) + "/" + canonical_region(*region, image) + "/" +
                        canonical_size(*size, {region->w, region->h}, lim) + "/" + canonical_rotation(req.rotation) +
                        "/" + std::string(quality_name(req.quality)) + "." + std::string(format_info(req.format).ext);
    auto again = classify(canon);
    FUZZ_CHECK(again.has_value() && std::holds_alternative<ImageRequest>(*again),
               "canonical path does not classify as an image request: " + canon);
    const auto& r2 = std::get<ImageRequest>(*again);
    FUZZ_CHECK(same_ref(r2.ref, req.ref), "canonical path " + canon + " names " + ref_str(r2.ref));
    auto region2 = resolve_region(r2.region, image);
    FUZZ_CHECK(region2.has_value() && *region2 == *region, "canonical path " + canon + ": other region");
    auto size2 = resolve_size(r2.size, {region->w, region->h}, lim);
    FUZZ_CHECK(size2.has_value() && *size2 == *size, "canonical path " + canon + ": other size");
    FUZZ_CHECK(r2.quality == req.quality && r2.format == req.format, "canonical path " + canon + ": other quality/format");
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)roots();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 8192) return 0;  // the server answers 414 above max_url_length (4096 by default)
  std::string_view in(reinterpret_cast<const char*>(data), size);

  // Each parameter parser on the whole input, as if it were that segment.
  if (auto r = parse_region(in)) check_region(*r, in);
  if (auto s = parse_size(in)) check_size(*s, in);
  if (auto r = parse_rotation(in)) check_rotation(*r, in);
  (void)parse_quality(in);
  (void)parse_format(in);
  (void)parse_uint(in);
  (void)parse_udecimal(in);
  if (auto d = parse_decimal(in)) (void)d->value();
  (void)split_commas(in);
  if (auto dec = percent_decode(in)) FUZZ_CHECK(dec->find('\0') == std::string::npos, "NUL in a decoded segment");
  (void)form_decode(in);
  (void)parse_urlencoded(in);

  // The whole input as a request path.
  auto req = classify(in);
  if (!req) return 0;
  std::visit(
      [&](const auto& r) {
        const ImageRef& ref = r.ref;
        FUZZ_CHECK(!ref.identifier.empty(), "empty identifier from " + std::string(in));
        FUZZ_CHECK(ref.page >= 0, "negative page");
        check_base_path(ref);
        check_resolve(ref);
        if constexpr (std::is_same_v<std::decay_t<decltype(r)>, ImageRequest>) {
          check_region(r.region, in);
          check_size(r.size, in);
          check_rotation(r.rotation, in);
          check_canonical_image(r);
        }
      },
      *req);
  return 0;
}
