// server.table_to_json and server.json_to_table with SIPI's conventions (0-based array keys,
// integral numbers as integers, SIPI's 3-space layout), and the conversions other server
// functions share (lua_to_json, json_to_lua).
#include <cmath>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "lua/server_api.h"

namespace sipi::lua {
namespace {

nlohmann::json to_json(lua_State* L, int idx, int depth);

// SIPI's conversion: string keys make an object, number keys an array (in iteration order),
// mixing them is an error; integral numbers become integers; an empty nested table is {}.
nlohmann::json table_to_json_value(lua_State* L, int idx, int depth) {
  idx = lua_absindex(L, idx);
  std::optional<nlohmann::json> out;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    const int kt = lua_type(L, -2);
    if (kt == LUA_TSTRING) {
      if (out && out->is_array()) throw std::runtime_error("'server.table_to_json(table)': Cannot mix int and strings as key");
      if (!out) out = nlohmann::json::object();
      (*out)[lua_tostring(L, -2)] = to_json(L, -1, depth + 1);
    } else if (kt == LUA_TNUMBER) {
      if (out && out->is_object()) throw std::runtime_error("'server.table_to_json(table)': Cannot mix int and strings as key");
      if (!out) out = nlohmann::json::array();
      out->push_back(to_json(L, -1, depth + 1));
    } else {
      throw std::runtime_error("'server.table_to_json(table)': Cannot convert key to JSON object field");
    }
    lua_pop(L, 1);
  }
  return out ? std::move(*out) : nlohmann::json::object();
}

nlohmann::json to_json(lua_State* L, int idx, int depth) {
  if (depth > 64) throw std::runtime_error("table nested too deeply");
  switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN: return lua_toboolean(L, idx) != 0;
    case LUA_TNUMBER: {
      if (lua_isinteger(L, idx)) return static_cast<long long>(lua_tointeger(L, idx));
      const double d = lua_tonumber(L, idx);
      if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.2e18) return static_cast<long long>(d);
      return d;
    }
    case LUA_TSTRING: return std::string(lua_tostring(L, idx));
    case LUA_TTABLE: return table_to_json_value(L, idx, depth);
    default: throw std::runtime_error("server.table_to_json(table): datatype inconsistency");
  }
}

// JSON to Lua as SIPI gives it to scripts: arrays with 0-based keys, null values left out.
void push_json_sipi(lua_State* L, const nlohmann::json& j) {
  if (j.is_boolean()) lua_pushboolean(L, j.get<bool>());
  else if (j.is_number_integer()) lua_pushinteger(L, j.get<long long>());
  else if (j.is_number()) lua_pushnumber(L, j.get<double>());
  else if (j.is_string()) lua_pushstring(L, j.get<std::string>().c_str());
  else if (j.is_array()) {
    lua_createtable(L, 0, static_cast<int>(j.size()));
    lua_Integer i = 0;
    for (const auto& v : j) {
      if (!v.is_null()) {
        push_json_sipi(L, v);
        lua_rawseti(L, -2, i);
      }
      ++i;
    }
  } else if (j.is_object()) {
    lua_createtable(L, 0, static_cast<int>(j.size()));
    for (const auto& [k, v] : j.items()) {
      if (v.is_null()) continue;
      push_json_sipi(L, v);
      lua_setfield(L, -2, k.c_str());
    }
  } else {
    lua_pushnil(L);
  }
}

// SIPI's convention: true, value — or false, message. The C++ work happens in an inner scope
// so no object with a destructor is alive when Lua unwinds (lua_error uses longjmp).
int l_table_to_json(lua_State* L) {
  std::string out, err;
  bool empty = false;
  {
    try {
      if (lua_type(L, 1) != LUA_TTABLE) throw std::runtime_error("'server.table_to_json(table)': table is not a lua-table");
      lua_pushnil(L);
      empty = lua_next(L, 1) == 0;
      if (!empty) lua_pop(L, 2);
      // SIPI's layout: indented by three spaces.
      if (!empty) out = to_json(L, 1, 0).dump(3);
    } catch (const std::exception& e) {
      err = e.what();
    }
  }
  lua_pushboolean(L, err.empty());
  if (!err.empty()) lua_pushstring(L, err.c_str());
  else if (empty) lua_pushnil(L);  // SIPI: an empty table gives (true, nil)
  else lua_pushstring(L, out.c_str());
  return 2;
}

int l_json_to_table(lua_State* L) {
  size_t len = 0;
  const char* s = luaL_checklstring(L, 1, &len);
  nlohmann::json j;
  std::string err;
  {
    try {
      j = nlohmann::json::parse(std::string(s, len));
    } catch (const std::exception& e) {
      err = e.what();
    }
  }
  if (err.empty() && !j.is_object() && !j.is_array()) err = "'server.json_to_table(jsonstr)': Not a valid json string";
  if (!err.empty()) {
    lua_pushboolean(L, 0);
    lua_pushstring(L, err.c_str());
    return 2;
  }
  lua_pushboolean(L, 1);
  push_json_sipi(L, j);
  return 2;
}

}  // namespace

nlohmann::json lua_to_json(lua_State* L, int idx) { return to_json(L, idx, 0); }
void json_to_lua(lua_State* L, const nlohmann::json& j) { push_json_sipi(L, j); }

void register_json_functions(lua_State* L) {
  const luaL_Reg fns[] = {{"table_to_json", l_table_to_json}, {"json_to_table", l_json_to_table}, {nullptr, nullptr}};
  luaL_setfuncs(L, fns, 0);
}

}  // namespace sipi::lua
