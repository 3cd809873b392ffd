// OpenJPH glue shared by the HTJ2K writer (encode/) and reader (source/jp2/ht_region.cpp).
// OpenJPH prints its errors, warnings and information to stderr and stdout (which would break
// `sipi convert --json`'s one document) and then throws a bare runtime_error("ojph error").
// Version 0.9.0's configure_error/warning/info are empty functions (their disassembly is a
// single `ret`), so its handlers cannot be replaced: its streams are pointed at a sink instead,
// and a failure is known only as "OpenJPH rejected the codestream".
#pragma once

#include <openjph/ojph_arch.h>
#include <openjph/ojph_message.h>

#include <cstdio>
#include <mutex>

namespace sipi::ojph_glue {

// Installs the sink once per process, before any codestream object is used. A cookie stream
// needs no file: it also works in a locked-down decode helper.
inline void configure() {
  static std::once_flag once;
  std::call_once(once, [] {
    cookie_io_functions_t discard{};
    discard.write = [](void*, const char*, size_t n) -> ssize_t { return static_cast<ssize_t>(n); };
    static std::FILE* sink = fopencookie(nullptr, "w", discard);
    if (!sink) return;
    ojph::set_error_stream(sink);
    ojph::set_warning_stream(sink);
    ojph::set_info_stream(sink);
  });
}

}  // namespace sipi::ojph_glue
