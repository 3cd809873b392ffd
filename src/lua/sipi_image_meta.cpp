// SipiImage's read-only queries: dims (also from a path, header only), EXIF values, GPS
// position, and SIPI's MIME type consistency check.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/geometry.h"
#include "core/media_types.h"
#include "lua/server_api.h"
#include "lua/sipi_image.h"
#include "source/codec.h"

namespace sipi::lua::image {
namespace {

// EXIF values of `path` by tag (the present ones), read by exiv2 — in a decode helper when the
// server isolates decoding, else in process (the bundle kept in `cache` when one is given).
std::map<std::string, std::string> exif_values(const std::string& path, const std::vector<std::string>& tags,
                                               std::shared_ptr<metadata::Bundle>* cache = nullptr) {
  std::map<std::string, std::string> out;
  if (auto pool = isolation::shared_pool()) {
    auto a = pool->call({{"op", "exif"}, {"path", path}, {"tags", tags}}, file_key(path));
    if (!a) return out;
    const nlohmann::json values = a->meta.value("values", nlohmann::json::object());  // kept alive while iterated
    for (const auto& [k, v] : values.items()) {
      if (v.is_string()) out[k] = v.get<std::string>();
    }
    return out;
  }
  std::shared_ptr<metadata::Bundle> local;
  auto& bundle = cache ? *cache : local;
  if (!bundle) bundle = std::make_shared<metadata::Bundle>(metadata::read(path));
  for (const auto& t : tags) {
    if (auto v = bundle->exif_value(t)) out[t] = *v;
  }
  return out;
}

// The size of `path` from its header: in a decode helper when the server isolates decoding.
std::optional<Dim> header_size(const std::string& path) {
  if (auto pool = isolation::shared_pool()) {
    auto a = pool->call({{"op", "probe"}, {"path", path}, {"page", 0}}, file_key(path));
    if (!a) return std::nullopt;
    return Dim{a->meta.value("w", std::int64_t{0}), a->meta.value("h", std::int64_t{0})};
  }
  auto shape = source::probe(path, 0);
  if (!shape) return std::nullopt;
  return shape->size;
}

void push_dims(lua_State* L, std::int64_t w, std::int64_t h, int orientation) {
  lua_pushboolean(L, 1);
  lua_newtable(L);
  lua_pushinteger(L, w);
  lua_setfield(L, -2, "nx");
  lua_pushinteger(L, h);
  lua_setfield(L, -2, "ny");
  lua_pushinteger(L, orientation);
  lua_setfield(L, -2, "orientation");
}

}  // namespace

int l_dims(lua_State* L) {
  if (lua_isstring(L, 1) && !luaL_testudata(L, 1, kMeta)) {  // SipiImage.dims(path): header only
    std::string path = lua_tostring(L, 1);
    Dim d;
    bool ok = false;
    if (auto size = header_size(path)) {
      d = *size;
      ok = true;
    }
    if (!ok) return fail(L, "not a readable image");
    // As SIPI: the size as shown, after the EXIF/TIFF orientation (exiv2 reads it, in a
    // decode helper when the server isolates decoding).
    int orientation = 1;
    std::string err = catch_vips([&] {
      auto v = exif_values(path, {"Exif.Image.Orientation"});
      if (!v.empty()) orientation = std::atoi(v.begin()->second.c_str());
      return std::string();
    });
    if (orientation < 1 || orientation > 8) orientation = 1;
    if (orientation >= 5) std::swap(d.w, d.h);
    push_dims(L, d.w, d.h, orientation);
    return 2;
  }
  Image* im = check_image(L, 1);
  int orientation = im->img.get_typeof(VIPS_META_ORIENTATION) ? im->img.get_int(VIPS_META_ORIENTATION) : 1;
  push_dims(L, im->img.width(), im->img.height(), orientation);
  return 2;
}

namespace {

// "a/b c/d e/f" (exiv2's rationals) as numbers; missing or zero denominators give 0.
std::vector<double> rationals(const std::string& text) {
  std::vector<double> out;
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    auto slash = word.find('/');
    double num = std::atof(word.substr(0, slash).c_str());
    double den = slash == std::string::npos ? 1.0 : std::atof(word.substr(slash + 1).c_str());
    out.push_back(den != 0.0 ? num / den : 0.0);
  }
  return out;
}

// ok, {GPSLatitudeRef=, GPSLatitude={[0]=d, m, s}, …} = img:gps(): SIPI's fixed GPS block (absent
// fields are "" or 0; coordinate triples keep SIPI's 0-based indices).
}  // namespace

int l_gps(lua_State* L) {
  Image* im = check_image(L, 1);
  static const char* kRefs[] = {"GPSLatitudeRef", "GPSLongitudeRef", "GPSAltitudeRef", "GPSSpeedRef", "GPSTrackRef",
                                "GPSImgDirectionRef", "GPSDestLatitudeRef", "GPSDestLongitudeRef",
                                "GPSDestBearingRef", "GPSDestDistanceRef"};
  static const char* kTriples[] = {"GPSLatitude", "GPSLongitude", "GPSTimeStamp", "GPSDestLatitude", "GPSDestLongitude"};
  static const char* kNumbers[] = {"GPSAltitude", "GPSSpeed", "GPSTrack", "GPSImgDirection", "GPSDestBearing",
                                   "GPSDestDistance", "GPSHPositioningError"};
  std::vector<std::string> tags;
  for (const char* n : kRefs) tags.push_back(std::string("Exif.GPSInfo.") + n);
  for (const char* n : kTriples) tags.push_back(std::string("Exif.GPSInfo.") + n);
  for (const char* n : kNumbers) tags.push_back(std::string("Exif.GPSInfo.") + n);
  std::map<std::string, std::string> v;
  std::string err = catch_vips([&] {
    v = exif_values(im->source, tags, &im->meta);
    return std::string();
  });
  if (!err.empty()) return fail(L, err);
  if (v.empty()) return fail(L, "SipiImage.gps(): no exif data available");
  auto value = [&](const char* n) {
    auto it = v.find(std::string("Exif.GPSInfo.") + n);
    return it == v.end() ? std::string() : it->second;
  };
  lua_pushboolean(L, 1);
  lua_newtable(L);
  for (const char* n : kRefs) {
    lua_pushstring(L, value(n).c_str());
    lua_setfield(L, -2, n);
  }
  for (const char* n : kTriples) {
    auto r = rationals(value(n));
    lua_newtable(L);
    for (int i = 0; i < 3; ++i) {
      lua_pushnumber(L, i < static_cast<int>(r.size()) ? r[static_cast<std::size_t>(i)] : 0.0);
      lua_rawseti(L, -2, i);
    }
    lua_setfield(L, -2, n);
  }
  for (const char* n : kNumbers) {
    auto r = rationals(value(n));
    lua_pushnumber(L, r.empty() ? 0.0 : r[0]);
    lua_setfield(L, -2, n);
  }
  return 2;
}

// img:exif(tag) → true, value (a number when the value is one) or false, message.
int l_exif(lua_State* L) {
  Image* im = check_image(L, 1);
  std::string tag = luaL_checkstring(L, 2);
  auto values = exif_values(im->source, {tag}, &im->meta);
  std::optional<std::string> v;
  if (!values.empty()) v = values.begin()->second;
  if (!v) return fail(L, "no such EXIF tag: " + tag);
  lua_pushboolean(L, 1);
  if (lua_stringtonumber(L, v->c_str()) == 0) lua_pushstring(L, v->c_str());
  return 2;
}

// img:mimetype_consistency(mimetype, origname) → true, bool: the image's real format, the
// declared MIME type and the name's extension all agree.
int l_mimetype_consistency(lua_State* L) {
  Image* im = check_image(L, 1);
  std::string mime = luaL_checkstring(L, 2);
  std::string name = luaL_optstring(L, 3, im->origname.c_str());
  bool ok = false;
  {
    auto fmt = source::sniff(im->source);
    std::string ext = std::filesystem::path(name).extension().string();
    for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (fmt) {
      const source::Codec& codec = source::codec_for(*fmt);
      ok = codec.mime_names().find(" " + mime + " ") != std::string_view::npos && extension_fits(mime, ext);
    }
  }
  lua_pushboolean(L, 1);
  lua_pushboolean(L, ok);
  return 2;
}

}  // namespace sipi::lua::image
