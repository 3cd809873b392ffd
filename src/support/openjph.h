// OpenJPH glue shared by the HTJ2K writer (encode/) and, later, reader (source/): its message
// handlers are process-wide and by default print to stdout/stderr and throw a bare
// runtime_error; ours stay quiet and carry the message in the exception instead.
#pragma once

#include <openjph/ojph_arch.h>
#include <openjph/ojph_message.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <string>

namespace sipi::ojph_glue {

class ThrowingError : public ojph::message_error {
 public:
  void operator()(int code, const char*, int, const char* fmt, ...) override {
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char tail[32];
    std::snprintf(tail, sizeof tail, " (OpenJPH 0x%x)", static_cast<unsigned>(code));
    throw std::runtime_error(std::string(buf) + tail);
  }
};

class QuietWarning : public ojph::message_warning {
 public:
  void operator()(int, const char*, int, const char*, ...) override {}
};

class QuietInfo : public ojph::message_info {
 public:
  void operator()(int, const char*, int, const char*, ...) override {}
};

// Installs the handlers once per process (before any codestream object is used).
inline void configure() {
  static std::once_flag once;
  std::call_once(once, [] {
    static ThrowingError error;
    static QuietWarning warning;
    static QuietInfo info;
    ojph::configure_error(&error);
    ojph::configure_warning(&warning);
    ojph::configure_info(&info);
  });
}

}  // namespace sipi::ojph_glue
