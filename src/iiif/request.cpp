#include "iiif/request.h"

#include <vector>

#include "core/percent.h"
#include "iiif/number.h"

namespace sipi::iiif {
namespace {

struct Segment {
  std::string_view raw;
  std::string decoded;
};

// A decoded segment may contain '/' (from %2F). None of its parts may be empty, "." or "..".
bool safe_segment(const std::string& s) {
  std::size_t start = 0;
  while (true) {
    auto pos = s.find('/', start);
    std::string_view part(s.data() + start, (pos == std::string::npos ? s.size() : pos) - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (pos == std::string::npos) return true;
    start = pos + 1;
  }
}

std::string join(const std::vector<Segment>& segs, std::size_t end, bool raw) {
  std::string out;
  for (std::size_t i = 0; i < end; ++i) {
    if (i) out += '/';
    out += raw ? std::string(segs[i].raw) : segs[i].decoded;
  }
  return out;
}

Result<ImageRef> make_ref(const std::vector<Segment>& segs, std::size_t id_index) {
  ImageRef ref;
  ref.prefix = join(segs, id_index, false);
  ref.raw_prefix = join(segs, id_index, true);
  ref.identifier = segs[id_index].decoded;
  ref.raw_identifier = std::string(segs[id_index].raw);
  // "name@N" selects page N of a multi-page image.
  auto at = ref.identifier.rfind('@');
  if (at != std::string::npos && at + 1 < ref.identifier.size()) {
    auto n = parse_uint(std::string_view(ref.identifier).substr(at + 1));
    if (n) {
      if (*n < 1 || *n > 100000) return Error::bad_request("iiif.identifier.page");
      ref.page = static_cast<int>(*n);
      ref.identifier.resize(at);
      if (ref.identifier.empty()) return Error::bad_request("iiif.identifier.empty");
    }
  }
  return ref;
}

// "quality.format" → true if the part before the last dot names a quality.
bool looks_like_quality_format(std::string_view s) {
  auto dot = s.rfind('.');
  return dot != std::string_view::npos && parse_quality(s.substr(0, dot)).has_value();
}

// The path's segments, each percent-decoded and checked for traversal.
Result<std::vector<Segment>> split_segments(std::string_view path) {
  std::vector<Segment> segs;
  std::size_t start = 0;
  while (true) {
    auto pos = path.find('/', start);
    std::string_view raw = path.substr(start, pos == std::string_view::npos ? pos : pos - start);
    if (raw.empty()) return Error::bad_request("iiif.path.empty_segment");
    auto decoded = percent_decode(raw);
    if (!decoded) return Error::bad_request("iiif.path.encoding");
    if (!safe_segment(*decoded)) return Error::bad_request("iiif.path.traversal");
    segs.push_back({raw, std::move(*decoded)});
    if (pos == std::string_view::npos) return segs;
    start = pos + 1;
  }
}

// The last five segments (at least) as identifier/region/size/rotation/quality.format.
Result<Request> image_request(const std::vector<Segment>& segs) {
  const std::size_t n = segs.size();
  const std::string& last = segs[n - 1].decoded;
  auto region = parse_region(segs[n - 4].decoded);
  if (!region) return region.error();
  auto size = parse_size(segs[n - 3].decoded);
  if (!size) return size.error();
  auto rotation = parse_rotation(segs[n - 2].decoded);
  if (!rotation) return rotation.error();
  auto dot = last.rfind('.');
  auto quality = parse_quality(std::string_view(last).substr(0, dot));
  auto format = parse_format(std::string_view(last).substr(dot + 1));
  if (!format) return Error::bad_request("iiif.format.unsupported");
  auto ref = make_ref(segs, n - 5);
  if (!ref) return ref.error();
  return Request{ImageRequest{std::move(*ref), *region, *size, *rotation, *quality, *format}};
}

}  // namespace

Result<Request> classify(std::string_view path) {
  if (path.empty() || path[0] != '/') return Error::bad_request("iiif.path.syntax");
  path.remove_prefix(1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.empty()) return Error::bad_request("iiif.path.empty");

  auto split = split_segments(path);
  if (!split) return split.error();
  const std::vector<Segment>& segs = *split;
  const std::size_t n = segs.size();
  const std::string& last = segs[n - 1].decoded;

  if (last == "knora.json" && n >= 2) {
    auto ref = make_ref(segs, n - 2);
    if (!ref) return ref.error();
    return Request{KnoraRequest{std::move(*ref)}};
  }
  if (last == "file" && n >= 2) {
    auto ref = make_ref(segs, n - 2);
    if (!ref) return ref.error();
    return Request{FileRequest{std::move(*ref)}};
  }
  if (last == "info.json" && n >= 2) {
    auto ref = make_ref(segs, n - 2);
    if (!ref) return ref.error();
    return Request{InfoRequest{std::move(*ref)}};
  }

  // "{quality}.{format}" at the end makes an image request only if the segments before it look
  // like IIIF parameters; otherwise it is an identifier that happens to be named "gray.png".
  bool params_before = false;
  if (n >= 5) {
    params_before = parse_region(segs[n - 4].decoded) || parse_size(segs[n - 3].decoded) ||
                    parse_rotation(segs[n - 2].decoded);
  } else if (n >= 2) {
    const std::string& prev = segs[n - 2].decoded;
    params_before = parse_region(prev) || parse_size(prev) || parse_rotation(prev);
  }
  if (looks_like_quality_format(last) && params_before) {
    if (n < 5) return Error::bad_request("iiif.path.incomplete");
    return image_request(segs);
  }

  // A tail that parses as region/size/rotation is a broken image request (an unknown quality or
  // a missing extension), not an identifier to redirect to.
  if (n >= 4 && parse_region(segs[n - 3].decoded) && parse_size(segs[n - 2].decoded) &&
      parse_rotation(segs[n - 1].decoded)) {
    return Error::bad_request("iiif.quality.syntax");
  }
  if (n >= 5 && parse_region(segs[n - 4].decoded) && parse_size(segs[n - 3].decoded) &&
      parse_rotation(segs[n - 2].decoded)) {
    return Error::bad_request("iiif.quality.syntax");
  }

  // Four segments after an identifier ending in a quality.format are an image request with bad
  // parameters (SIPI answers 400 too), not an identifier to redirect to.
  if (n >= 5 && looks_like_quality_format(last)) return Error::bad_request("iiif.path.syntax");
  // "…/default.jpg/extra": a quality.format segment before the end is a mangled image request.
  for (std::size_t i = n >= 5 ? n - 5 : 0; i + 1 < n; ++i) {
    if (looks_like_quality_format(segs[i].decoded)) return Error::bad_request("iiif.path.syntax");
  }
  auto ref = make_ref(segs, n - 1);
  if (!ref) return ref.error();
  return Request{RedirectRequest{std::move(*ref)}};
}

std::string base_path(const ImageRef& ref) {
  std::string out = "/";
  if (!ref.raw_prefix.empty()) {
    out += ref.raw_prefix;
    out += '/';
  }
  out += ref.raw_identifier;
  return out;
}

}  // namespace sipi::iiif
