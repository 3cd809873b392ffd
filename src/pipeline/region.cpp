#include "pipeline/transform.h"

namespace sipi::pipeline {

vips::VImage crop(const vips::VImage& in, Rect r) {
  if (r.x == 0 && r.y == 0 && r.w == in.width() && r.h == in.height()) return in;
  return in.extract_area(static_cast<int>(r.x), static_cast<int>(r.y), static_cast<int>(r.w),
                         static_cast<int>(r.h));
}

}  // namespace sipi::pipeline
