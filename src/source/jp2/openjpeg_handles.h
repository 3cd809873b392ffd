// OpenJPEG handles as unique_ptrs, and a message handler that drops OpenJPEG's chatter; shared
// by the header probe (codec.cpp) and the region decoder (region.cpp).
#pragma once

#include <openjpeg.h>

#include <memory>

namespace sipi::source::opj {

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

}  // namespace sipi::source::opj
