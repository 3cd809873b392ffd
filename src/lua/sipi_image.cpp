// The SipiImage class of SIPI's Lua API, on sipi's own stages (source → pipeline → encode):
//   ok, img = SipiImage.new(path | upload_index [, {region=, size=, reduce=}])
//   ok, {nx, ny, orientation} = img:dims()   /   SipiImage.dims(path)   (header only)
//   img:crop(region)  img:scale(size)  img:rotate(deg [, mirror])  img:topleft()  img:watermark(path)
//   ok, path = img:write(path | 'HTTP.<ext>' [, {quality=}])   img:send(ext)   tostring(img)
// Methods return true[, value] or false, message; nothing here raises a Lua error after a C++
// object has been constructed (Lua unwinds with longjmp).
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <tuple>
#include <new>
#include <optional>
#include <string>
#include <vector>
#include <sstream>
#include <map>

#include "convert/convert.h"
#include "convert/output_file.h"
#include "encode/encode.h"
#include "encode/jp2_writer.h"
#include "iiif/formats.h"
#include "iiif/region.h"
#include "iiif/size.h"
#include "core/media_types.h"
#include "lua/server_api.h"
#include "lua/sipi_image.h"
#include "metadata/metadata.h"
#include "pipeline/transform.h"
#include "source/codec.h"
#include "isolation/pool.h"
#include "isolation/supervise.h"

namespace sipi::lua {
namespace {

using namespace image;

int gc(lua_State* L) {
  check_image(L, 1)->~Image();
  return 0;
}

int to_string(lua_State* L) {
  Image* im = check_image(L, 1);
  std::string s = "SipiImage " + std::to_string(im->img.width()) + "x" + std::to_string(im->img.height()) + "x" +
                  std::to_string(im->img.bands()) + " from " + im->source;
  lua_pushstring(L, s.c_str());
  return 1;
}

// The path of server.uploads[index].tmpname, or "".
std::pair<std::string, std::string> upload_path(lua_State* L, lua_Integer index) {
  std::pair<std::string, std::string> out;
  lua_getglobal(L, "server");
  lua_getfield(L, -1, "uploads");
  if (lua_istable(L, -1)) {
    lua_rawgeti(L, -1, index);
    if (lua_istable(L, -1)) {
      lua_getfield(L, -1, "tmpname");
      if (lua_isstring(L, -1)) out.first = lua_tostring(L, -1);
      lua_getfield(L, -2, "origname");
      if (lua_isstring(L, -1)) out.second = lua_tostring(L, -1);
      lua_pop(L, 2);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
  return out;
}

std::optional<std::string> opt_string(lua_State* L, int table, const char* key) {
  std::optional<std::string> v;
  lua_getfield(L, table, key);
  if (lua_isstring(L, -1)) v = lua_tostring(L, -1);
  lua_pop(L, 1);
  return v;
}

// IIIF region / size applied to an image; "" or an error.
std::string apply_region(vips::VImage& v, const std::string& region) {
  auto spec = iiif::parse_region(region);
  if (!spec) return "bad region";
  auto r = iiif::resolve_region(*spec, {v.width(), v.height()});
  if (!r) return "bad region: " + r.error().detail;
  v = pipeline::crop(v, *r);
  return {};
}

std::string apply_size(vips::VImage& v, const std::string& size) {
  auto spec = iiif::parse_size(size);
  if (!spec) return "bad size";
  auto d = iiif::resolve_size(*spec, {v.width(), v.height()}, iiif::Limits::none());
  if (!d) return "bad size: " + d.error().detail;
  v = pipeline::scale(v, *d, ScalingQuality::high);
  return {};
}

// The level of `path` nearest to 1/2^reduce, decoded in a decode helper when the server
// isolates decoding (its pixels come back whole). `exact` says whether the level is that scale.
std::string load_reduced(const std::string& path, int reduce, vips::VImage& out, bool& exact) {
  if (auto pool = isolation::shared_pool()) {
    auto a = pool->call({{"op", "decode"}, {"path", path}, {"reduce", reduce}}, file_key(path));
    if (!a) return a.error().detail == "codec.crashed" ? "the image decoder crashed" : "not a readable image";
    const auto& m = a->meta;
    const std::size_t px = m.at("pixels").get<std::size_t>(), icc = m.at("icc").get<std::size_t>();
    if (px + icc != a->payload.size()) return "cannot decode the image";
    VipsImage* raw = vips_image_new_from_memory_copy(a->payload.data(), px, m.at("w").get<int>(), m.at("h").get<int>(),
                                                     m.at("bands").get<int>(),
                                                     static_cast<VipsBandFormat>(m.at("band_format").get<int>()));
    if (!raw) return "cannot decode the image";
    vips::VImage v(raw);
    v = v.copy(vips::VImage::option()
                   ->set("interpretation", static_cast<VipsInterpretation>(m.at("interpretation").get<int>()))
                   ->set("xres", m.at("xres").get<double>())
                   ->set("yres", m.at("yres").get<double>()));
    if (icc > 0) vips_image_set_blob_copy(v.get_image(), VIPS_META_ICC_NAME, a->payload.data() + px, icc);
    if (m.at("orientation").get<int>() != 1) v.set(VIPS_META_ORIENTATION, m.at("orientation").get<int>());
    out = v;
    exact = m.at("level").get<std::size_t>() != 0 || reduce == 0;
    return {};
  }
  auto shape = source::probe(path, 0);
  if (!shape) return "not a readable image";
  std::size_t level = source::reduce_level(*shape, reduce);
  auto img = source::load_level(path, *shape, level, false);
  if (!img) return "cannot decode the image";
  out = *img;
  exact = level != 0 || reduce == 0;
  return {};
}

int l_new(lua_State* L) {
  std::string path, origname;
  if (lua_isinteger(L, 1)) {
    std::tie(path, origname) = upload_path(L, lua_tointeger(L, 1));
    if (path.empty()) return fail(L, "no upload with that index");
  } else {
    path = luaL_checkstring(L, 1);
    origname = std::filesystem::path(path).filename().string();
  }
  std::optional<std::string> region, size;
  lua_Integer reduce = 0;
  if (lua_istable(L, 2)) {
    region = opt_string(L, 2, "region");
    size = opt_string(L, 2, "size");
    lua_getfield(L, 2, "reduce");
    reduce = lua_isinteger(L, -1) ? std::clamp<lua_Integer>(lua_tointeger(L, -1), 0, 16) : 0;
    lua_pop(L, 1);
    if (auto o = opt_string(L, 2, "original")) origname = *o;
  }
  vips::VImage result;
  std::string err = catch_vips([&]() -> std::string {
    bool exact = true;
    if (auto e = load_reduced(path, static_cast<int>(reduce), result, exact); !e.empty()) return e;
    if (!exact) result = result.resize(1.0 / static_cast<double>(1 << reduce));
    if (region) {
      if (auto e = apply_region(result, *region); !e.empty()) return e;
    }
    if (size) return apply_size(result, *size);
    return {};
  });
  if (!err.empty()) return fail(L, err);
  lua_pushboolean(L, 1);
  void* mem = lua_newuserdatauv(L, sizeof(Image), 0);
  new (mem) Image{std::move(result), origname, path, nullptr, region || size || reduce > 0};
  luaL_setmetatable(L, kMeta);
  return 2;
}

// Runs `op` on the image in place; VErrors become false, message.
template <class Op>
int transform(lua_State* L, Image* im, Op op) {
  std::string err;
  im->modified = true;
  try {
    err = op(im->img);
  } catch (const vips::VError& e) {
    vips_error_clear();
    err = e.what();
  }
  if (!err.empty()) return fail(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

int l_crop(lua_State* L) {
  Image* im = check_image(L, 1);
  std::string region = luaL_checkstring(L, 2);
  return transform(L, im, [&](vips::VImage& v) { return apply_region(v, region); });
}

int l_scale(lua_State* L) {
  Image* im = check_image(L, 1);
  std::string size = luaL_checkstring(L, 2);
  return transform(L, im, [&](vips::VImage& v) { return apply_size(v, size); });
}

int l_rotate(lua_State* L) {
  Image* im = check_image(L, 1);
  double deg = luaL_checknumber(L, 2);
  bool mirror = lua_toboolean(L, 3);
  return transform(L, im, [&](vips::VImage& v) -> std::string {
    if (deg < 0 || deg > 360) return "angle must be 0..360";
    v = pipeline::rotate(v, iiif::Rotation{mirror, deg}, true);
    return {};
  });
}

int l_topleft(lua_State* L) {
  Image* im = check_image(L, 1);
  return transform(L, im, [&](vips::VImage& v) -> std::string {
    v = v.autorot().copy();
    // The pixels are upright now: the tag says so too, or a writer keeps the old value and a
    // viewer turns the image a second time.
    v.set(VIPS_META_ORIENTATION, 1);
    return {};
  });
}

int l_watermark(lua_State* L) {
  Image* im = check_image(L, 1);
  std::string path = luaL_checkstring(L, 2);
  return transform(L, im, [&](vips::VImage& v) -> std::string {
    if (!std::filesystem::is_regular_file(path)) return "no such watermark";
    v = pipeline::watermark(v, vips::VImage::new_from_file(path.c_str()));
    return {};
  });
}

// Encodes into memory for HTTP.<ext>, or writes a file (atomically: temp name, then rename).
std::string write_image(const vips::VImage& img, const std::string& target, int quality, lua_State* L,
                        const encode::Jp2Params& jp = {}) {
  std::filesystem::path p(target);
  std::string ext = p.extension().string();
  if (!ext.empty()) ext.erase(0, 1);
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == "jpeg") ext = "jpg";
  if (ext == "tiff") ext = "tif";
  if (ext == "jpx" || ext == "j2k") ext = "jp2";
  auto fmt = iiif::parse_format(ext);
  if (!fmt) return "unknown format '" + ext + "'";
  vips::VImage out = pipeline::normalise_colour(img);
  std::string stem = p.stem().string();
  if (stem == "HTTP" || stem == "http") {
    auto bytes = encode::encode(out, *fmt, {quality});
    if (!bytes) return bytes.error().message;
    set_response_body(L, std::move(*bytes), std::string(iiif::format_info(*fmt).mime));
    return {};
  }
  convert::OutputFile file(p);  // written beside the target, renamed into place when complete
  if (*fmt == iiif::Format::jp2) {
    auto r = encode::write_jp2(out, file.temp(), jp, {});
    if (!r) return r.error().message;
  } else {
    auto bytes = encode::encode(out, *fmt, {quality});
    if (!bytes) return bytes.error().message;
    std::ofstream f(file.temp(), std::ios::binary);
    f.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
    f.close();
    if (!f) return "cannot write " + target;
  }
  return file.commit() ? std::string() : "cannot write " + target;
}

// A service file (lossless JP2 or pyramidal TIFF with the Essentials packet), made by the
// converter: from the source file itself when the pixels are untouched (so every metadata
// block is kept), else from a lossless temporary TIFF of the current pixels.
std::string write_service_file(const Image& im, const std::string& target, const std::string& origname,
                               const std::string& mimetype, bool htj2k) {
  std::string error;
  convert::ConvertOptions o;
  o.role = convert::Role::service;
  o.jp2.ht = htj2k;
  o.tiff_pyramid = true;
  o.output = target;
  o.original_name = origname;
  o.original_mime = mimetype;
  std::filesystem::path tmp;
  if (im.modified) {
    tmp = std::filesystem::path(target).parent_path() / ("." + std::filesystem::path(target).filename().string() + ".src.tif");
    try {
      im.img.tiffsave(tmp.c_str(), vips::VImage::option()->set("compression", VIPS_FOREIGN_TIFF_COMPRESSION_DEFLATE));
    } catch (const vips::VError& e) {
      vips_error_clear();
      return e.what();
    }
    o.input = tmp.string();
  } else {
    o.input = im.source;
  }
  int rc = 0;
  if (isolation::shared_pool()) {
    // The server isolates decoding: the converter (libraries and exiv2 on the upload) runs as
    // a child process, so a crash costs this call, not the server.
    std::vector<std::string> args{"sipi", "convert", "service-file", o.input, o.output, "--origname", origname,
                                  "--origmime", mimetype};
    if (htj2k) args.emplace_back("--htj2k");
    auto r = isolation::run_child(args);
    rc = r.signal != 0 ? 1 : r.exit_code;
    if (r.signal != 0) {
      error = "the image decoder crashed (" + isolation::signal_name(r.signal) + ")";
    } else if (rc != 0) {
      error = r.stderr_text.substr(0, r.stderr_text.find('\n'));
      if (auto colon = error.find(": "); error.rfind("Error ", 0) == 0 && colon != std::string::npos) error.erase(0, colon + 2);
    }
  } else {
    auto done = convert::run(o);
    rc = done ? 0 : 1;
    if (!done) {
      error = done.error().message;
      std::replace(error.begin(), error.end(), '\n', ' ');
    }
  }
  if (!tmp.empty()) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
  }
  return rc == 0 ? std::string() : (error.empty() ? "cannot write the service file" : error);
}


int l_write(lua_State* L) {
  Image* im = check_image(L, 1);
  std::string target = luaL_checkstring(L, 2);
  lua_Integer quality = 80;
  encode::Jp2Params jp;
  std::string bad;
  if (lua_istable(L, 3)) {
    // SIPI's write parameters: quality, and for JPEG 2000 Creversible, Clayers, Clevels, Corder,
    // Cprecincts, Cblk, Stiles, Cuse_sop, rates; Cmodes = "HT" for HTJ2K. Unknown keys are an error, as in SIPI.
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      std::string key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
      // Read the number before lua_tostring, which turns a number on the stack into a string.
      const bool is_number = lua_type(L, -1) == LUA_TNUMBER;
      const lua_Integer number = is_number ? static_cast<lua_Integer>(lua_tonumber(L, -1)) : 0;
      std::string val = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
      if (key == "quality" && (is_number || !val.empty())) quality = is_number ? number : std::atoi(val.c_str());
      else if (key == "Creversible") jp.lossless = val == "yes" || val == "true" || val == "1";
      else if (key == "Clayers") jp.layers = std::atoi(val.c_str());
      else if (key == "Clevels") jp.levels = std::atoi(val.c_str());
      else if (key == "Corder") jp.order = val;
      else if (key == "Cprecincts") encode::parse_pair(val, jp.precinct_w, jp.precinct_h);
      else if (key == "Cblk") encode::parse_pair(val, jp.cblk_w, jp.cblk_h);
      else if (key == "Stiles") encode::parse_pair(val, jp.tile_w, jp.tile_h);
      else if (key == "Cuse_sop") jp.sop = val == "yes" || val == "true";
      else if (key == "Cmodes") {
        if (!encode::parse_cmodes(val, jp.ht) && bad.empty()) bad = "Cmodes " + val;
      }
      else if (key == "rates") {
        for (std::size_t pos = 0; pos < val.size();) {
          auto sp = val.find_first_of(" ,", pos);
          std::string r = val.substr(pos, sp == std::string::npos ? std::string::npos : sp - pos);
          if (!r.empty()) jp.rates.push_back(r == "X" ? 0.0 : std::atof(r.c_str()));
          if (sp == std::string::npos) break;
          pos = sp + 1;
        }
        jp.lossless = jp.rates.empty() || jp.rates.back() == 0;
      } else if (key == "file_role" || key == "origname" || key == "mimetype") {
        // read below
      } else if (bad.empty()) bad = key;
      lua_pop(L, 1);
    }
  }
  if (!bad.empty()) return fail(L, "unknown write parameter: " + bad);
  std::string role, origname = im->origname, mimetype;
  if (lua_istable(L, 3)) {
    lua_getfield(L, 3, "file_role");
    if (lua_isstring(L, -1)) role = lua_tostring(L, -1);
    lua_getfield(L, 3, "origname");
    if (lua_isstring(L, -1)) origname = lua_tostring(L, -1);
    lua_getfield(L, 3, "mimetype");
    if (lua_isstring(L, -1)) mimetype = lua_tostring(L, -1);
    lua_pop(L, 3);
  }
  if (!role.empty()) {
    if (role != "service-file") return fail(L, "file_role must be service-file");
    std::string serr = write_service_file(*im, target, origname, mimetype, jp.ht);
    if (!serr.empty()) return fail(L, serr);
    lua_pushboolean(L, 1);
    lua_pushstring(L, target.c_str());
    return 2;
  }
  std::string err = catch_vips([&] { return write_image(im->img, target, static_cast<int>(std::clamp<lua_Integer>(quality, 1, 100)), L, jp); });
  if (!err.empty()) return fail(L, err);
  lua_pushboolean(L, 1);
  lua_pushstring(L, target.c_str());
  return 2;
}

int l_send(lua_State* L) {
  Image* im = check_image(L, 1);
  std::string ext = luaL_checkstring(L, 2);
  std::string err = catch_vips([&] { return write_image(im->img, "HTTP." + ext, 80, L); });
  if (!err.empty()) return fail(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

}  // namespace

void register_sipi_image(lua_State* L) {
  luaL_newmetatable(L, kMeta);
  const luaL_Reg meta[] = {{"__gc", gc}, {"__tostring", to_string}, {nullptr, nullptr}};
  luaL_setfuncs(L, meta, 0);
  lua_newtable(L);
  const luaL_Reg methods[] = {{"dims", l_dims},       {"crop", l_crop},     {"scale", l_scale},
                              {"exif", l_exif},       {"mimetype_consistency", l_mimetype_consistency},
                              {"rotate", l_rotate},   {"topleft", l_topleft}, {"watermark", l_watermark},
                              {"write", l_write},     {"send", l_send},     {"gps", l_gps},
                              {nullptr, nullptr}};
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_newtable(L);
  // Every method on the class too: SIPI's scripts call SipiImage.method(img, …) as well.
  const luaL_Reg cls[] = {{"new", l_new},         {"dims", l_dims},     {"crop", l_crop},
                          {"scale", l_scale},     {"exif", l_exif},     {"mimetype_consistency", l_mimetype_consistency},
                          {"rotate", l_rotate},   {"topleft", l_topleft}, {"watermark", l_watermark},
                          {"write", l_write},     {"send", l_send},     {"gps", l_gps},
                          {nullptr, nullptr}};
  luaL_setfuncs(L, cls, 0);
  lua_setglobal(L, "SipiImage");
}

}  // namespace sipi::lua
