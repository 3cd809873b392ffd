#include <cmath>

#include "pipeline/transform.h"

namespace sipi::pipeline {
namespace {

VipsKernel kernel_for(ScalingQuality q) {
  switch (q) {
    case ScalingQuality::low: return VIPS_KERNEL_NEAREST;
    case ScalingQuality::medium: return VIPS_KERNEL_LINEAR;
    case ScalingQuality::high: return VIPS_KERNEL_LANCZOS3;
  }
  return VIPS_KERNEL_LANCZOS3;
}

}  // namespace

vips::VImage scale(const vips::VImage& in, Dim out, ScalingQuality quality) {
  if (in.width() == out.w && in.height() == out.h) return in;
  double hs = static_cast<double>(out.w) / in.width();
  double vs = static_cast<double>(out.h) / in.height();
  // vips works in premultiplied alpha only when told; without it, transparent pixels' colour
  // bleeds into the edges of visible ones.
  bool alpha = has_alpha(in);
  vips::VImage src = alpha ? in.premultiply() : in;
  vips::VImage r = src.resize(hs, vips::VImage::option()->set("vscale", vs)->set("kernel", kernel_for(quality)));
  if (alpha) r = r.unpremultiply().cast(in.format());
  // libvips rounds the output size itself; make it exact.
  if (r.width() != out.w || r.height() != out.h) {
    r = r.embed(0, 0, static_cast<int>(out.w), static_cast<int>(out.h),
                vips::VImage::option()->set("extend", VIPS_EXTEND_COPY));
  }
  return r;
}

}  // namespace sipi::pipeline
