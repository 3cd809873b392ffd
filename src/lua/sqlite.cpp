// SIPI's SQLite binding: db = sqlite(path [, 'RO'|'RW'|'CRW']); stmt = db << 'SQL ?'; row =
// stmt(args…) (binds, then steps) or stmt() (next row) → table with 0-based columns (NULL
// absent), nil at the end; ~stmt and ~db close. Errors raise Lua errors, as in SIPI. Only C
// objects live in these frames, so raising (longjmp) is safe here.
#include <sqlite3.h>

#include <cstring>

#include "lua/server_api.h"

namespace sipi::lua {
namespace {

constexpr const char* kDb = "SipiSqliteDb";
constexpr const char* kStmt = "SipiSqliteStmt";

struct Db {
  sqlite3* db;
};
struct Stmt {
  sqlite3_stmt* stmt;
};

Db* check_db(lua_State* L, int i) { return static_cast<Db*>(luaL_checkudata(L, i, kDb)); }
Stmt* check_stmt(lua_State* L, int i) { return static_cast<Stmt*>(luaL_checkudata(L, i, kStmt)); }

int l_open(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  const char* mode = luaL_optstring(L, 2, "RW");
  int flags = 0;
  if (std::strcmp(mode, "RO") == 0) flags = SQLITE_OPEN_READONLY;
  else if (std::strcmp(mode, "RW") == 0) flags = SQLITE_OPEN_READWRITE;
  else if (std::strcmp(mode, "CRW") == 0) flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  else return luaL_error(L, "sqlite: mode must be RO, RW or CRW");
  Db* d = static_cast<Db*>(lua_newuserdatauv(L, sizeof(Db), 0));
  d->db = nullptr;
  luaL_setmetatable(L, kDb);
  if (sqlite3_open_v2(path, &d->db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    const char* msg = d->db ? sqlite3_errmsg(d->db) : "cannot open";
    lua_pushfstring(L, "sqlite: %s", msg);
    sqlite3_close(d->db);
    d->db = nullptr;
    return lua_error(L);
  }
  sqlite3_busy_timeout(d->db, static_cast<int>(remaining_ms(L)));  // never past the deadline
  return 1;
}

int l_db_gc(lua_State* L) {
  Db* d = check_db(L, 1);
  if (d->db) sqlite3_close_v2(d->db);
  d->db = nullptr;
  return 0;
}

int l_db_close(lua_State* L) {
  l_db_gc(L);
  lua_pushnil(L);
  return 1;
}

// db << "SQL"
int l_prepare(lua_State* L) {
  Db* d = check_db(L, 1);
  const char* sql = luaL_checkstring(L, 2);
  if (!d->db) return luaL_error(L, "sqlite: database is closed");
  Stmt* s = static_cast<Stmt*>(lua_newuserdatauv(L, sizeof(Stmt), 1));
  s->stmt = nullptr;
  luaL_setmetatable(L, kStmt);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);  // the statement keeps its database alive
  if (sqlite3_prepare_v2(d->db, sql, -1, &s->stmt, nullptr) != SQLITE_OK) {
    return luaL_error(L, "sqlite: %s", sqlite3_errmsg(d->db));
  }
  return 1;
}

int l_stmt_gc(lua_State* L) {
  Stmt* s = check_stmt(L, 1);
  if (s->stmt) sqlite3_finalize(s->stmt);
  s->stmt = nullptr;
  return 0;
}

int l_stmt_close(lua_State* L) {
  l_stmt_gc(L);
  lua_pushnil(L);
  return 1;
}

// stmt(args…): bind and run from the start; stmt(): the next row.
int l_stmt_call(lua_State* L) {
  Stmt* s = check_stmt(L, 1);
  if (!s->stmt) return luaL_error(L, "sqlite: statement is closed");
  int nargs = lua_gettop(L) - 1;
  if (nargs > 0) {
    sqlite3_reset(s->stmt);
    sqlite3_clear_bindings(s->stmt);
    for (int i = 1; i <= nargs; ++i) {
      int idx = i + 1, rc = SQLITE_OK;
      switch (lua_type(L, idx)) {
        case LUA_TNIL: rc = sqlite3_bind_null(s->stmt, i); break;
        case LUA_TBOOLEAN: rc = sqlite3_bind_int(s->stmt, i, lua_toboolean(L, idx)); break;
        case LUA_TNUMBER:
          rc = lua_isinteger(L, idx) ? sqlite3_bind_int64(s->stmt, i, lua_tointeger(L, idx))
                                     : sqlite3_bind_double(s->stmt, i, lua_tonumber(L, idx));
          break;
        case LUA_TSTRING: {
          size_t len = 0;
          const char* v = lua_tolstring(L, idx, &len);
          rc = sqlite3_bind_text(s->stmt, i, v, static_cast<int>(len), SQLITE_TRANSIENT);
          break;
        }
        default: return luaL_error(L, "sqlite: cannot bind a %s", luaL_typename(L, idx));
      }
      if (rc != SQLITE_OK) return luaL_error(L, "sqlite: %s", sqlite3_errmsg(sqlite3_db_handle(s->stmt)));
    }
  }
  int rc = sqlite3_step(s->stmt);
  if (rc == SQLITE_DONE) {
    sqlite3_reset(s->stmt);
    lua_pushnil(L);
    return 1;
  }
  if (rc != SQLITE_ROW) return luaL_error(L, "sqlite: %s", sqlite3_errmsg(sqlite3_db_handle(s->stmt)));
  int n = sqlite3_column_count(s->stmt);
  lua_createtable(L, 0, n);
  for (int c = 0; c < n; ++c) {
    switch (sqlite3_column_type(s->stmt, c)) {
      case SQLITE_NULL: continue;  // absent, as in SIPI
      case SQLITE_INTEGER: lua_pushinteger(L, sqlite3_column_int64(s->stmt, c)); break;
      case SQLITE_FLOAT: lua_pushnumber(L, sqlite3_column_double(s->stmt, c)); break;
      default:
        lua_pushlstring(L, reinterpret_cast<const char*>(sqlite3_column_blob(s->stmt, c)),
                        static_cast<size_t>(sqlite3_column_bytes(s->stmt, c)));
    }
    lua_rawseti(L, -2, c);  // 0-based, as in SIPI
  }
  return 1;
}

}  // namespace

void register_sqlite(lua_State* L) {
  luaL_newmetatable(L, kDb);
  const luaL_Reg db_meta[] = {{"__gc", l_db_gc}, {"__shl", l_prepare}, {"__bnot", l_db_close}, {nullptr, nullptr}};
  luaL_setfuncs(L, db_meta, 0);
  lua_pop(L, 1);
  luaL_newmetatable(L, kStmt);
  const luaL_Reg st_meta[] = {{"__gc", l_stmt_gc}, {"__call", l_stmt_call}, {"__bnot", l_stmt_close}, {nullptr, nullptr}};
  luaL_setfuncs(L, st_meta, 0);
  lua_pop(L, 1);
  lua_register(L, "sqlite", l_open);
}

}  // namespace sipi::lua
