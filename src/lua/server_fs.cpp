// server.fs.*, server.uuid62 and base62 helpers, server.parse_mimetype, helper.filename_hash.
// SIPI's convention throughout: true, value — or false, message.
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>
#include <random>
#include <string>

#include "lua/server_api.h"

namespace sipi::lua {
namespace fs = std::filesystem;
namespace {

constexpr const char* kBase62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

int ok_string(lua_State* L, const std::string& s) {
  lua_pushboolean(L, 1);
  lua_pushlstring(L, s.data(), s.size());
  return 2;
}
int ok_bool(lua_State* L, bool b) {
  lua_pushboolean(L, 1);
  lua_pushboolean(L, b);
  return 2;
}
int fail(lua_State* L, const std::string& msg) {
  lua_pushboolean(L, 0);
  lua_pushstring(L, msg.c_str());
  return 2;
}

// 128-bit value as two 64-bit halves, for base62 arithmetic.
std::string to_base62(unsigned __int128 v) {
  std::string out;
  do {
    out.insert(out.begin(), kBase62[static_cast<int>(v % 62)]);
    v /= 62;
  } while (v > 0);
  return out;
}

bool uuid_to_u128(const std::string& uuid, unsigned __int128& v) {
  v = 0;
  int digits = 0;
  for (char c : uuid) {
    if (c == '-') continue;
    int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
    if (d < 0 || d > 15) return false;
    v = (v << 4) | static_cast<unsigned>(d);
    ++digits;
  }
  return digits == 32;
}

std::string u128_to_uuid(unsigned __int128 v) {
  char hex[33];
  for (int i = 31; i >= 0; --i) {
    hex[i] = "0123456789abcdef"[static_cast<int>(v & 0xF)];
    v >>= 4;
  }
  std::string s(hex, 32);
  return s.substr(0, 8) + "-" + s.substr(8, 4) + "-" + s.substr(12, 4) + "-" + s.substr(16, 4) + "-" + s.substr(20);
}

int l_uuid62(lua_State* L) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  unsigned __int128 v = (static_cast<unsigned __int128>(rng()) << 64) | rng();
  v &= ~(static_cast<unsigned __int128>(0xF) << 76);
  v |= static_cast<unsigned __int128>(0x4) << 76;  // version 4
  v &= ~(static_cast<unsigned __int128>(0x3) << 62);
  v |= static_cast<unsigned __int128>(0x2) << 62;  // RFC 4122 variant
  return ok_string(L, to_base62(v));
}

int l_uuid_to_base62(lua_State* L) {
  unsigned __int128 v;
  if (!uuid_to_u128(luaL_checkstring(L, 1), v)) return fail(L, "not a UUID");
  return ok_string(L, to_base62(v));
}

int l_base62_to_uuid(lua_State* L) {
  std::string s = luaL_checkstring(L, 1);
  unsigned __int128 v = 0;
  for (char c : s) {
    const char* p = std::strchr(kBase62, c);
    if (!p || c == '\0') return fail(L, "not base62");
    unsigned __int128 next = v * 62 + static_cast<unsigned>(p - kBase62);
    if (next / 62 != v) return fail(L, "too large");
    v = next;
  }
  return ok_string(L, u128_to_uuid(v));
}

int l_parse_mimetype(lua_State* L) {
  std::string s = luaL_checkstring(L, 1);
  auto semi = s.find(';');
  std::string mime = s.substr(0, semi), charset;
  auto trim = [](std::string& x) {
    while (!x.empty() && x.front() == ' ') x.erase(0, 1);
    while (!x.empty() && x.back() == ' ') x.pop_back();
  };
  trim(mime);
  if (semi != std::string::npos) {
    auto cs = s.find("charset=", semi);
    if (cs != std::string::npos) {
      charset = s.substr(cs + 8);
      charset = charset.substr(0, charset.find(';'));
      trim(charset);
    }
  }
  lua_pushboolean(L, 1);
  lua_newtable(L);
  lua_pushstring(L, mime.c_str());
  lua_setfield(L, -2, "mimetype");
  if (!charset.empty()) {
    lua_pushstring(L, charset.c_str());
    lua_setfield(L, -2, "charset");
  }
  return 2;
}

// ---- server.fs ----
int l_ftype(lua_State* L) {
  struct stat st {};
  if (::lstat(luaL_checkstring(L, 1), &st) != 0) return fail(L, "no such file");
  const char* t = S_ISREG(st.st_mode) ? "FILE" : S_ISDIR(st.st_mode) ? "DIRECTORY" : S_ISCHR(st.st_mode) ? "CHARDEV"
                : S_ISBLK(st.st_mode) ? "BLOCKDEV" : S_ISLNK(st.st_mode) ? "LINK" : S_ISFIFO(st.st_mode) ? "FIFO"
                : S_ISSOCK(st.st_mode) ? "SOCKET" : "UNKNOWN";
  return ok_string(L, t);
}
int l_modtime(lua_State* L) {
  struct stat st {};
  if (::stat(luaL_checkstring(L, 1), &st) != 0) return fail(L, "no such file");
  lua_pushboolean(L, 1);
  lua_pushinteger(L, static_cast<lua_Integer>(st.st_mtime));
  return 2;
}
int l_exists(lua_State* L) { return ok_bool(L, ::access(luaL_checkstring(L, 1), F_OK) == 0); }
int l_is_readable(lua_State* L) { return ok_bool(L, ::access(luaL_checkstring(L, 1), R_OK) == 0); }
int l_is_writeable(lua_State* L) { return ok_bool(L, ::access(luaL_checkstring(L, 1), W_OK) == 0); }
int l_is_executable(lua_State* L) { return ok_bool(L, ::access(luaL_checkstring(L, 1), X_OK) == 0); }
int l_unlink(lua_State* L) {
  if (::unlink(luaL_checkstring(L, 1)) != 0) return fail(L, std::strerror(errno));
  lua_pushboolean(L, 1);
  return 1;
}
int l_mkdir(lua_State* L) {
  const char* p = luaL_checkstring(L, 1);
  lua_Integer mode = luaL_optinteger(L, 2, 0755);
  if (::mkdir(p, static_cast<mode_t>(mode)) != 0) return fail(L, std::strerror(errno));
  lua_pushboolean(L, 1);
  return 1;
}
int l_rmdir(lua_State* L) {
  if (::rmdir(luaL_checkstring(L, 1)) != 0) return fail(L, std::strerror(errno));
  lua_pushboolean(L, 1);
  return 1;
}
int l_getcwd(lua_State* L) {
  char buf[4096];
  if (!::getcwd(buf, sizeof buf)) return fail(L, std::strerror(errno));
  return ok_string(L, buf);
}
int l_readdir(lua_State* L) {
  std::vector<std::string> names;
  std::string err;
  {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(luaL_checkstring(L, 1), ec)) names.push_back(e.path().filename().string());
    if (ec) err = ec.message();
  }
  if (!err.empty()) return fail(L, err);
  lua_pushboolean(L, 1);
  lua_createtable(L, static_cast<int>(names.size()), 0);
  for (std::size_t i = 0; i < names.size(); ++i) {
    lua_pushstring(L, names[i].c_str());
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  return 2;
}
int l_copy_file(lua_State* L) {
  std::string err;
  {
    std::error_code ec;
    fs::copy_file(luaL_checkstring(L, 1), luaL_checkstring(L, 2), fs::copy_options::overwrite_existing, ec);
    if (ec) err = ec.message();
  }
  if (!err.empty()) return fail(L, err);
  lua_pushboolean(L, 1);
  return 1;
}
int l_move_file(lua_State* L) {
  std::string err;
  {
    std::error_code ec;
    fs::rename(luaL_checkstring(L, 1), luaL_checkstring(L, 2), ec);
    if (ec == std::errc::cross_device_link) {  // another file system: copy, then remove
      fs::copy_file(luaL_checkstring(L, 1), luaL_checkstring(L, 2), fs::copy_options::overwrite_existing, ec);
      if (!ec) fs::remove(luaL_checkstring(L, 1), ec);
    }
    if (ec) err = ec.message();
  }
  if (!err.empty()) return fail(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

// server.copyTmpfile(upload_index, destination): keeps an upload beyond the request.
int l_copy_tmpfile(lua_State* L) {
  lua_Integer index = luaL_checkinteger(L, 1);
  std::string dest = luaL_checkstring(L, 2);
  lua_getglobal(L, "server");
  lua_getfield(L, -1, "uploads");
  if (!lua_istable(L, -1)) return fail(L, "no uploads");
  lua_rawgeti(L, -1, index);
  if (!lua_istable(L, -1)) return fail(L, "no upload with that index");
  lua_getfield(L, -1, "tmpname");
  std::string src = lua_tostring(L, -1) ? lua_tostring(L, -1) : "";
  lua_pop(L, 4);
  std::string err;
  {
    std::error_code ec;
    fs::copy_file(src, dest, fs::copy_options::overwrite_existing, ec);
    if (ec) err = ec.message();
  }
  if (!err.empty()) return fail(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

// helper.filename_hash(name): SIPI 7 stores files flat (subdir_levels is gone), so the hashed
// path is the name itself.
int l_filename_hash(lua_State* L) { return ok_string(L, luaL_checkstring(L, 1)); }

}  // namespace

void register_fs_functions(lua_State* L) {
  const luaL_Reg fns[] = {{"uuid62", l_uuid62}, {"uuid_to_base62", l_uuid_to_base62},
                          {"base62_to_uuid", l_base62_to_uuid}, {"parse_mimetype", l_parse_mimetype},
                          {"copyTmpfile", l_copy_tmpfile},
                          {nullptr, nullptr}};
  luaL_setfuncs(L, fns, 0);
  const luaL_Reg fsfns[] = {{"ftype", l_ftype}, {"modtime", l_modtime}, {"exists", l_exists},
                            {"is_readable", l_is_readable}, {"is_writeable", l_is_writeable},
                            {"is_executable", l_is_executable}, {"unlink", l_unlink}, {"mkdir", l_mkdir},
                            {"rmdir", l_rmdir}, {"getcwd", l_getcwd}, {"readdir", l_readdir},
                            {"copyFile", l_copy_file}, {"moveFile", l_move_file}, {nullptr, nullptr}};
  lua_newtable(L);
  luaL_setfuncs(L, fsfns, 0);
  lua_setfield(L, -2, "fs");
}

void register_helper(lua_State* L) {
  lua_newtable(L);
  lua_pushcfunction(L, l_filename_hash);
  lua_setfield(L, -2, "filename_hash");
  lua_setglobal(L, "helper");
}

}  // namespace sipi::lua
