// server.fs.*, server.uuid62 and base62 helpers, server.parse_mimetype, helper.filename_hash.
// SIPI's convention throughout: true, value — or false, message.
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
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

// A UUID as SIPI (and the sole library before it) writes it in base62: each 64-bit half in
// base62, most significant digit first, joined by '-'. DSP's resource IRIs use this form, so it
// must match to the character (golden vectors in tests/unit/lua).
std::string half_to_base62(std::uint64_t v) {
  std::string out;
  do {
    out.insert(out.begin(), kBase62[v % 62]);
    v /= 62;
  } while (v > 0);
  return out;
}

std::string uuid_base62(std::uint64_t hi, std::uint64_t lo) { return half_to_base62(hi) + "-" + half_to_base62(lo); }

// The hyphenated form only (8-4-4-4-12 hex digits).
bool parse_uuid(const std::string& s, std::uint64_t& hi, std::uint64_t& lo) {
  if (s.size() != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') return false;
  hi = lo = 0;
  int n = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) continue;
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    std::uint64_t& half = n < 16 ? hi : lo;
    half = (half << 4) | static_cast<std::uint64_t>(d);
    ++n;
  }
  return n == 32;
}

bool base62_half(const std::string& part, std::uint64_t& v) {
  if (part.empty() || part.size() > 11) return false;
  v = 0;
  for (char c : part) {
    const char* p = c ? std::strchr(kBase62, c) : nullptr;
    if (!p) return false;
    const auto d = static_cast<std::uint64_t>(p - kBase62);
    if (v > (UINT64_MAX - d) / 62) return false;
    v = v * 62 + d;
  }
  return true;
}

std::string hyphenated(std::uint64_t hi, std::uint64_t lo) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx", static_cast<unsigned long long>(hi >> 32),
                static_cast<unsigned long long>((hi >> 16) & 0xFFFF), static_cast<unsigned long long>(hi & 0xFFFF),
                static_cast<unsigned long long>(lo >> 48), static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return buf;
}

int l_uuid62(lua_State* L) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::uint64_t hi = (rng() & 0xFFFFFFFFFFFF0FFFULL) | 0x4000ULL;           // version 4
  const std::uint64_t lo = (rng() & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  return ok_string(L, uuid_base62(hi, lo));
}

int l_uuid_to_base62(lua_State* L) {
  std::uint64_t hi, lo;
  if (!parse_uuid(luaL_checkstring(L, 1), hi, lo)) return fail(L, "'server.uuid_to_base62(uuid)': not a UUID");
  return ok_string(L, uuid_base62(hi, lo));
}

int l_base62_to_uuid(lua_State* L) {
  const std::string s = luaL_checkstring(L, 1);
  const auto dash = s.find('-');
  std::uint64_t hi, lo;
  if (dash == std::string::npos || s.find('-', dash + 1) != std::string::npos || !base62_half(s.substr(0, dash), hi) ||
      !base62_half(s.substr(dash + 1), lo)) {
    return fail(L, "'server.base62_to_uuid(b62)': not a base62 UUID");
  }
  return ok_string(L, hyphenated(hi, lo));
}

// SIPI's parse: "type/subtype" and an optional "; charset=…", both lower-cased; anything else
// (an empty type, a second ';' without charset, an empty charset) is an error.
int l_parse_mimetype(lua_State* L) {
  const std::string s = luaL_checkstring(L, 1);
  auto lower = [](std::string x) {
    for (auto& c : x) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return x;
  };
  const auto semi = s.find(';');
  std::string mime = s.substr(0, semi), charset;
  bool ok = !mime.empty();
  if (ok && semi != std::string::npos) {
    std::string rest = s.substr(semi + 1);
    rest.erase(0, rest.find_first_not_of(" \t"));
    ok = rest.size() > 8 && lower(rest.substr(0, 8)) == "charset=";
    if (ok) {
      charset = rest.substr(8);
      while (!charset.empty() && charset.front() == '"') charset.erase(0, 1);
      while (!charset.empty() && charset.back() == '"') charset.pop_back();
      ok = !charset.empty();
    }
  }
  if (!ok) return fail(L, "server.parse_mimetype() failed: Could not parse MIME type: " + s);
  lua_pushboolean(L, 1);
  lua_newtable(L);
  lua_pushstring(L, lower(mime).c_str());
  lua_setfield(L, -2, "mimetype");
  if (!charset.empty()) {
    lua_pushstring(L, lower(charset).c_str());
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
