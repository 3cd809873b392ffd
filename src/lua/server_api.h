// Internal glue shared by the files that implement the `server` table.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
}

namespace sipi::lua {

nlohmann::json lua_to_json(lua_State* L, int idx);  // throws std::runtime_error on unsupported values
void json_to_lua(lua_State* L, const nlohmann::json& j);
long remaining_ms(lua_State* L);                     // until this call's deadline
void add_response_header(lua_State* L, const std::string& name, const std::string& value);  // appends
void register_response_functions(lua_State* L);      // print, sendHeader, sendStatus, setBuffer
void register_json_functions(lua_State* L);          // table_to_json, json_to_table (into the table on top)
void register_net_functions(lua_State* L);           // into the table on top of the stack
void register_fs_functions(lua_State* L);            // uuid62, base62, parse_mimetype, server.fs
void register_helper(lua_State* L);                  // the global `helper`
void register_sipi_image(lua_State* L);              // the global `SipiImage`
void register_sqlite(lua_State* L);                  // the global `sqlite`
void register_magic_functions(lua_State* L);         // file_mimetype, file_mimeconsistency
// The response body and Content-Type of a route or page (HTTP.<ext> writes); no-op in hooks.
void set_response_body(lua_State* L, std::string body, const std::string& content_type);

}  // namespace sipi::lua
