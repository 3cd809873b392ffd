// Shared by the libFuzzer harnesses: a private scratch directory and a check that turns a
// broken invariant into a crash libFuzzer records (with the message on stderr).
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

// UBSan reports stop the run (libFuzzer then saves the input), unless UBSAN_OPTIONS says otherwise.
// Each harness is a single translation unit, so this definition appears once per binary.
extern "C" const char* __ubsan_default_options() { return "halt_on_error=1:print_stacktrace=1"; }

namespace sipi_fuzz {

// FUZZ_CHECK(cond, what): abort with a message when an invariant of sipi's code does not hold.
#define FUZZ_CHECK(cond, what)                                                              \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s\n  at %s:%d\n  %s\n", #cond, __FILE__, \
                   __LINE__, std::string(what).c_str());                                    \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

// A directory of our own under $TMPDIR (scripts/fuzz.sh points TMPDIR at a directory it removes
// afterwards, so even a run killed by a crash or timeout leaves nothing behind). Removed at exit.
inline const std::filesystem::path& scratch_dir() {
  // Never destroyed, so that the atexit handler can still read it.
  static const std::filesystem::path* dir = [] {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sipi-fuzz-XXXXXX";
    if (!::mkdtemp(tmpl.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
    std::error_code ec;
    auto* p = new std::filesystem::path(std::filesystem::canonical(tmpl, ec));
    if (ec) *p = tmpl;
    std::atexit([] {
      std::error_code e;
      std::filesystem::remove_all(scratch_dir(), e);
    });
    return p;
  }();
  return *dir;
}

// Number of entries directly in `dir` (0 if it does not exist).
inline std::size_t entries(const std::filesystem::path& dir) {
  std::error_code ec;
  std::size_t n = 0;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    ++n;
  }
  return n;
}

}  // namespace sipi_fuzz
