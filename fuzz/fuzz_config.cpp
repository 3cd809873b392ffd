// Arbitrary bytes as SIPI's Lua configuration file: lua::load_config_file (which only takes a
// path, so the input is written to a scratch file), then what the server does next with the
// result: Config::validate(), worker_threads() and the IIIF limits it declares.
//
// The Lua states load_config_file creates come from luaL_newstate(), which this harness
// interposes (statically linked code resolves the symbol to this definition before
// liblua5.4.so's): they get a 64 MiB allocator cap (a config can otherwise allocate without
// bound at startup), and a panic handler that names an unprotected error before Lua aborts.
//
// The loader stops a config script after a 5 s deadline (a count hook; regress-hang-while-true
// in the corpus). So that looping inputs do not cost 5 s each, with SIPI_FUZZ_SKIP_KNOWN=1 (the
// timed runs of scripts/fuzz.sh) inputs with loops or functions are skipped; the replay of the
// regress-* seeds runs without it. Lua's own pattern functions (string.find/match/gsub/gmatch)
// can backtrack in C for a very long time: inputs that name them are always skipped.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/log.h"
#include "fuzz_util.h"
#include "iiif/size.h"
#include "lua/config_file.h"

extern "C" {
#include <lauxlib.h>
#include <lua.h>
}

namespace {

constexpr std::size_t kMemoryCap = 64u << 20;

struct Budget {
  std::size_t used = 0;
};
Budget g_budget;  // one state at a time: the fuzzer is single-threaded

bool skip_known() {
  static const bool skip = [] {
    const char* e = std::getenv("SIPI_FUZZ_SKIP_KNOWN");
    return e && *e && std::string_view(e) != "0";
  }();
  return skip;
}

void* capped_alloc(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
  auto* b = static_cast<Budget*>(ud);
  std::size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    std::free(ptr);
    b->used -= old;
    return nullptr;
  }
  if (nsize > old && b->used - old + nsize > kMemoryCap) return nullptr;  // Lua raises "not enough memory"
  void* p = std::realloc(ptr, nsize);
  if (p) b->used = b->used - old + nsize;
  return p;
}

int panic(lua_State* L) {
  const char* msg = lua_tostring(L, -1);
  std::fprintf(stderr, "PANIC: unprotected error in call to Lua API (%s)\n", msg ? msg : "?");
  return 0;  // Lua then calls abort(): a crash the fuzzer records
}

}  // namespace

// Replaces liblua's luaL_newstate for this binary (see the comment at the top).
extern "C" lua_State* luaL_newstate(void) {
  g_budget = Budget{};
  lua_State* L = lua_newstate(capped_alloc, &g_budget);
  if (L) {
    lua_atpanic(L, panic);
  }
  return L;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  sipi::log::set_level(sipi::log::Level::error);  // unknown keys are warnings: keep stderr quiet
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 16384) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (std::string_view slow : {"find", "match", "gsub"}) {
    if (text.find(slow) != std::string_view::npos) return 0;
  }
  if (skip_known()) {
    for (std::string_view slow : {"while", "repeat", "goto", "for", "function"}) {
      if (text.find(slow) != std::string_view::npos) return 0;
    }
  }
  static const std::string path = (sipi_fuzz::scratch_dir() / "sipi.config").string();
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  sipi::Config cfg;
  auto r = sipi::lua::load_config_file(path, cfg);
  if (r) {
    (void)cfg.worker_threads();
    if (cfg.validate()) {
      // What info.json declares from the configured limits.
      sipi::iiif::Limits lim{cfg.max_width, cfg.max_height, cfg.max_area};
      for (sipi::Dim region : {sipi::Dim{1, 1}, sipi::Dim{6000, 4000}, sipi::Dim{4294967295, 3}}) {
        (void)sipi::iiif::max_size(region, lim);
        (void)sipi::iiif::upscaled_max_size(region, lim);
      }
    }
  }
  ::unlink(path.c_str());
  return 0;
}
