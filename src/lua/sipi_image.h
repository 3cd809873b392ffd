// SipiImage's parts shared by sipi_image.cpp (construction, transforms, writing) and
// sipi_image_meta.cpp (dims, EXIF, GPS, MIME consistency). Internal to lua/.
#pragma once

#include <sys/stat.h>

#include <memory>
#include <string>
#include <vips/vips8>

#include "isolation/pool.h"
#include "lua/server_api.h"
#include "metadata/metadata.h"

namespace sipi::lua::image {

constexpr const char* kMeta = "SipiImage";

struct Image {
  vips::VImage img;
  std::string origname;
  std::string source;
  std::shared_ptr<metadata::Bundle> meta;  // read on first img:exif()
  bool modified = false;                   // pixels differ from `source`
};

inline Image* check_image(lua_State* L, int idx) { return static_cast<Image*>(luaL_checkudata(L, idx, kMeta)); }

inline int fail(lua_State* L, const std::string& msg) {
  lua_pushboolean(L, 0);
  lua_pushstring(L, msg.c_str());
  return 2;
}

// Runs `f` (returning "" or an error), turning libvips exceptions into error text.
template <class F>
std::string catch_vips(F f) {
  try {
    return f();
  } catch (const vips::VError& e) {
    vips_error_clear();
    return e.what();
  }
}

// The decode helpers' affinity key of a file: path, modification time, size.
inline isolation::FileKey file_key(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {path, 0, 0};
  return {path, static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, st.st_size};
}

// The methods implemented in sipi_image_meta.cpp.
int l_dims(lua_State* L);
int l_gps(lua_State* L);
int l_exif(lua_State* L);
int l_mimetype_consistency(lua_State* L);

}  // namespace sipi::lua::image
