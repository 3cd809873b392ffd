// OpenJPEG handles as unique_ptrs, and a message handler that drops OpenJPEG's chatter; shared
// by the JPEG 2000 codec (source/jp2/) and writer (encode/jp2_writer.cpp). support/ holds such
// header-only glue to a field library that more than one stage needs.
#pragma once

#include <openjpeg.h>

#include <memory>
#include <string>

namespace sipi::opj {

struct CodecCloser {
  void operator()(opj_codec_t* c) const { opj_destroy_codec(c); }
};
struct StreamCloser {
  void operator()(opj_stream_t* s) const { opj_stream_destroy(s); }
};
struct ImageCloser {
  void operator()(opj_image_t* i) const { opj_image_destroy(i); }
};
using Codec = std::unique_ptr<opj_codec_t, CodecCloser>;
using Stream = std::unique_ptr<opj_stream_t, StreamCloser>;
using Image = std::unique_ptr<opj_image_t, ImageCloser>;

inline void quiet(const char*, void*) {}

// An error handler that keeps OpenJPEG's first message (without its line end) in the
// std::string passed as user data, for the error that follows a failed call.
inline void remember_first_error(const char* msg, void* user) {
  auto* s = static_cast<std::string*>(user);
  if (s->empty() && msg) {
    *s = msg;
    while (!s->empty() && (s->back() == '\n' || s->back() == '\r')) s->pop_back();
  }
}

}  // namespace sipi::opj
