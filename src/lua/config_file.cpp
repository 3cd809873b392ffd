#include "lua/config_file.h"

#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <type_traits>
#include <set>
#include <string_view>

#include "core/log.h"
#include "lua/state.h"

namespace sipi::lua {
namespace {

Error fail(std::string msg) { return Error{Status::internal_error, "config.invalid", std::move(msg)}; }

// Globals and fields are read raw: the file may set metatables whose handlers would raise
// errors outside a protected call.
void raw_global(lua_State* L, const char* name) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  lua_pushstring(L, name);
  lua_rawget(L, -2);
  lua_remove(L, -2);
}

void raw_field(lua_State* L, int index, const char* name) {
  index = lua_absindex(L, index);
  lua_pushstring(L, name);
  lua_rawget(L, index);
}


// The value on top of the stack, converted or an error naming `key`.
struct Reader {
  lua_State* L;
  std::string table;

  std::string name(std::string_view key) const { return table + "." + std::string(key); }

  Result<long long> integer(std::string_view key) {
    if (!lua_isinteger(L, -1)) {
      if (lua_type(L, -1) == LUA_TNUMBER) {
        double d = lua_tonumber(L, -1);
        // In range before the cast (1e20, 2^63 and NaN would be undefined behaviour).
        if (d >= -9.2e18 && d <= 9.2e18 && d == std::floor(d)) return static_cast<long long>(d);
      }
      return fail("Integer expected for " + name(key));
    }
    return static_cast<long long>(lua_tointeger(L, -1));
  }
  Result<std::string> string(std::string_view key) {
    if (lua_type(L, -1) != LUA_TSTRING) return fail("String expected for " + name(key));
    return std::string(lua_tostring(L, -1));
  }
  // SIPI accepts sizes such as cache_size as a string ("200M") or a number.
  Result<std::string> string_or_number(std::string_view key) {
    int t = lua_type(L, -1);
    if (t == LUA_TSTRING) return std::string(lua_tostring(L, -1));
    if (t == LUA_TNUMBER) {
      auto i = integer(key);
      if (!i) return i.error();
      return std::to_string(*i);
    }
    return fail("String or integer expected for " + name(key));
  }
  Result<double> number(std::string_view key) {
    if (lua_type(L, -1) != LUA_TNUMBER) return fail("Number expected for " + name(key));
    return static_cast<double>(lua_tonumber(L, -1));
  }
  Result<bool> boolean(std::string_view key) {
    if (!lua_isboolean(L, -1)) return fail("Boolean expected for " + name(key));
    return lua_toboolean(L, -1) != 0;
  }
};

using Setter = std::function<Result<Ok>(Reader&, Config&)>;

template <class T, class Get>
Setter set(T Config::*field, Get get, std::string_view key) {
  return [field, get, key](Reader& r, Config& c) -> Result<Ok> {
    auto v = (r.*get)(key);
    if (!v) return v.error();
    if constexpr (std::is_integral_v<T>) {
      if (*v < std::numeric_limits<T>::min() || *v > std::numeric_limits<T>::max()) {
        return fail("Value out of range for " + r.name(key));
      }
    }
    c.*field = static_cast<T>(*v);
    return Ok{};
  };
}

Setter int_key(int Config::*f, std::string_view k) { return set(f, &Reader::integer, k); }
Setter int64_key(std::int64_t Config::*f, std::string_view k) { return set(f, &Reader::integer, k); }
Setter str_key(std::string Config::*f, std::string_view k) { return set(f, &Reader::string, k); }
Setter size_key(std::string Config::*f, std::string_view k) { return set(f, &Reader::string_or_number, k); }
Setter bool_key(bool Config::*f, std::string_view k) { return set(f, &Reader::boolean, k); }
Setter number_key(double Config::*f, std::string_view k) { return set(f, &Reader::number, k); }

Result<Ok> read_scaling(Reader& r, Config& c) {
  lua_State* L = r.L;
  if (!lua_istable(L, -1)) return fail("Table expected for sipi.scaling_quality");
  struct Entry {
    const char* key;
    ScalingQuality ScalingQualities::*field;
  };
  for (auto e : {Entry{"jpeg", &ScalingQualities::jpeg}, Entry{"tiff", &ScalingQualities::tiff},
                 Entry{"png", &ScalingQualities::png}, Entry{"j2k", &ScalingQualities::j2k}}) {
    raw_field(L, -1, e.key);
    if (!lua_isnil(L, -1)) {
      if (lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 1);
        return fail(std::string("String expected for sipi.scaling_quality.") + e.key);
      }
      bool ok = false;
      auto q = parse_scaling_quality(lua_tostring(L, -1), ok);
      if (!ok) {
        lua_pop(L, 1);
        return fail(std::string("sipi.scaling_quality.") + e.key + " must be high, medium or low");
      }
      c.scaling_quality.*e.field = q;
    }
    lua_pop(L, 1);
  }
  return Ok{};
}

// Declared once: every key sipi reads from the `sipi` table, with its type.
const std::vector<std::pair<std::string_view, Setter>>& sipi_keys() {
  static const std::vector<std::pair<std::string_view, Setter>> keys = {
      {"port", int_key(&Config::port, "port")},
      {"hostname", str_key(&Config::hostname, "hostname")},
      {"imgroot", str_key(&Config::imgroot, "imgroot")},
      {"prefix_as_path", bool_key(&Config::prefix_as_path, "prefix_as_path")},
      {"jpeg_quality", int_key(&Config::jpeg_quality, "jpeg_quality")},
      {"scaling_quality", read_scaling},
      {"nthreads", int_key(&Config::nthreads, "nthreads")},
      {"drain_timeout", int_key(&Config::drain_timeout, "drain_timeout")},
      {"drain_grace", int_key(&Config::drain_grace, "drain_grace")},
      {"trusted_proxies", str_key(&Config::trusted_proxies, "trusted_proxies")},
      {"loglevel", str_key(&Config::loglevel, "loglevel")},
      {"initscript", str_key(&Config::initscript, "initscript")},
      {"scriptdir", str_key(&Config::scriptdir, "scriptdir")},
      {"cache_dir", str_key(&Config::cache_dir, "cache_dir")},
      {"cachedir", str_key(&Config::cache_dir, "cachedir")},
      {"cache_size", size_key(&Config::cache_size, "cache_size")},
      {"cachesize", size_key(&Config::cache_size, "cachesize")},
      {"cache_nfiles", int_key(&Config::cache_nfiles, "cache_nfiles")},
      {"thumb_size", str_key(&Config::thumb_size, "thumb_size")},
      {"max_post_size", size_key(&Config::max_post_size, "max_post_size")},
      {"tmpdir", str_key(&Config::tmpdir, "tmpdir")},
      {"max_temp_file_age", int_key(&Config::max_temp_file_age, "max_temp_file_age")},
      {"jwt_secret", str_key(&Config::jwt_secret, "jwt_secret")},
      {"knora_path", str_key(&Config::knora_path, "knora_path")},
      {"knora_port", size_key(&Config::knora_port, "knora_port")},
      {"bind_address", str_key(&Config::bind_address, "bind_address")},
      {"max_width", int64_key(&Config::max_width, "max_width")},
      {"max_height", int64_key(&Config::max_height, "max_height")},
      {"max_area", int64_key(&Config::max_area, "max_area")},
      {"max_url_length", int_key(&Config::max_url_length, "max_url_length")},
      {"max_header_bytes", int_key(&Config::max_header_bytes, "max_header_bytes")},
      {"header_timeout", int_key(&Config::header_timeout, "header_timeout")},
      {"keep_alive_timeout", int_key(&Config::keep_alive_timeout, "keep_alive_timeout")},
      {"write_timeout", int_key(&Config::write_timeout, "write_timeout")},
      {"tile_size", int_key(&Config::tile_size, "tile_size")},
      {"max_waiting", int_key(&Config::max_waiting, "max_waiting")},
      {"queue_timeout", number_key(&Config::queue_timeout, "queue_timeout")},
      {"max_decode_memory", size_key(&Config::max_decode_memory, "max_decode_memory")},
      {"decoded_tile_cache", size_key(&Config::decoded_tile_cache, "decoded_tile_cache")},
      {"decode_isolation", str_key(&Config::decode_isolation, "decode_isolation")},
      {"decode_cpu_seconds", int_key(&Config::decode_cpu_seconds, "decode_cpu_seconds")},
      {"cache_control", str_key(&Config::cache_control, "cache_control")},
      {"cache_control_restricted", str_key(&Config::cache_control_restricted, "cache_control_restricted")},
  };
  return keys;
}

// Keys of SIPI's past versions: still found in configs, meaningless now.
const std::set<std::string_view>& retired_keys() {
  static const std::set<std::string_view> keys = {
      "ssl_port", "ssl_certificate", "ssl_key", "keep_alive", "max_waiting_connections",
      "logfile", "subdir_levels", "subdir_excludes", "userid", "max_pixel_limit",
      "decode_memory_mode", "rate_limit_mode", "rate_limit_max_pixels", "rate_limit_window",
      "rate_limit_pixel_threshold", "memory_limit", "admission_mode", "cache_hysteresis", "sslport",
      "tiles_thread_ratio"};
  return keys;
}

// The config file runs at startup before anything else: a loop in it must not hang the server.
void config_deadline(lua_State* L, lua_Debug*) {
  lua_getfield(L, LUA_REGISTRYINDEX, "sipi.config_deadline");
  auto deadline = static_cast<double>(lua_tonumber(L, -1));
  lua_pop(L, 1);
  auto now = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  if (now > deadline) luaL_error(L, "the configuration file ran longer than 5 s");
}

Result<Ok> read_table(lua_State* L, const char* global, Config& cfg,
                      const std::vector<std::pair<std::string_view, Setter>>& keys,
                      const std::set<std::string_view>& retired) {
  raw_global(L, global);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return Ok{};
  }
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return fail(std::string("Table expected for ") + global);
  }
  Reader r{L, global};
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      lua_pop(L, 1);
      continue;
    }
    std::string key = lua_tostring(L, -2);
    bool known = false;
    for (const auto& [name, setter] : keys) {
      if (name == key) {
        known = true;
        auto res = setter(r, cfg);
        if (!res) {
          lua_pop(L, 3);
          return res.error();
        }
      }
    }
    if (!known && !retired.contains(key)) {
      log::warning("unknown configuration key ignored", {{"key", std::string(global) + "." + key}});
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return Ok{};
}

}  // namespace

Result<Ok> load_config_file(const std::string& path, Config& cfg) {
  auto L = new_sandboxed_state();
  if (!L) return fail("cannot create a Lua state");
  // Text only: a precompiled chunk could bypass the sandbox.
  auto now = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  lua_pushnumber(L.get(), now + 5.0);
  lua_setfield(L.get(), LUA_REGISTRYINDEX, "sipi.config_deadline");
  lua_sethook(L.get(), config_deadline, LUA_MASKCOUNT, 10000);
  if (luaL_loadfilex(L.get(), path.c_str(), "t") != LUA_OK || lua_pcall(L.get(), 0, 0, 0) != LUA_OK) {
    std::string msg = lua_tostring(L.get(), -1) ? lua_tostring(L.get(), -1) : "unknown Lua error";
    return fail("config file: " + msg);
  }
  lua_sethook(L.get(), nullptr, 0, 0);
  raw_global(L.get(), "sipi");
  bool has_sipi = lua_istable(L.get(), -1);
  lua_pop(L.get(), 1);
  if (!has_sipi) return fail(path + ": Table expected for sipi");
  auto r = read_table(L.get(), "sipi", cfg, sipi_keys(), retired_keys());
  if (!r) return r;
  static const std::vector<std::pair<std::string_view, Setter>> fileserver = {
      {"docroot", str_key(&Config::docroot, "docroot")},
      {"wwwroute", str_key(&Config::wwwroute, "wwwroute")},
  };
  r = read_table(L.get(), "fileserver", cfg, fileserver, {});
  if (!r) return r;
  raw_global(L.get(), "routes");
  if (!lua_isnil(L.get(), -1)) {
    if (!lua_istable(L.get(), -1)) return fail("Table expected for routes");
    lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L.get(), -1));
    for (lua_Integer i = 1; i <= n; ++i) {
      lua_rawgeti(L.get(), -1, i);
      if (!lua_istable(L.get(), -1)) return fail("routes[" + std::to_string(i) + "]: table expected");
      Route route;
      for (auto [key, field] : {std::pair{"method", &Route::method}, std::pair{"route", &Route::route},
                                std::pair{"script", &Route::script}}) {
        raw_field(L.get(), -1, key);
        if (lua_type(L.get(), -1) != LUA_TSTRING) {
          return fail("String expected for routes[" + std::to_string(i) + "]." + key);
        }
        route.*field = lua_tostring(L.get(), -1);
        lua_pop(L.get(), 1);
      }
      cfg.routes.push_back(std::move(route));
      lua_pop(L.get(), 1);
    }
  }
  lua_pop(L.get(), 1);
  cfg.config_file = path;
  return Ok{};
}

}  // namespace sipi::lua
