#include "metadata/icc.h"

#include <lcms2.h>

#include <memory>

namespace sipi::metadata {
namespace {

struct ProfileCloser {
  void operator()(cmsHPROFILE p) const { cmsCloseProfile(p); }
};
struct CurveCloser {
  void operator()(cmsToneCurve* c) const { cmsFreeToneCurve(c); }
};
using ProfilePtr = std::unique_ptr<void, ProfileCloser>;

std::string save(cmsHPROFILE p, const char* description) {
  cmsMLU* mlu = cmsMLUalloc(nullptr, 1);
  cmsMLUsetASCII(mlu, "en", "US", description);
  cmsWriteTag(p, cmsSigProfileDescriptionTag, mlu);
  cmsMLUfree(mlu);
  cmsUInt32Number size = 0;
  cmsSaveProfileToMem(p, nullptr, &size);
  std::string out(size, '\0');
  cmsSaveProfileToMem(p, out.data(), &size);
  out.resize(size);
  return out;
}

// The sRGB transfer function as an ICC parametric curve (type 4).
std::unique_ptr<cmsToneCurve, CurveCloser> srgb_curve() {
  cmsFloat64Number params[5] = {2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045};
  return std::unique_ptr<cmsToneCurve, CurveCloser>(cmsBuildParametricToneCurve(nullptr, 4, params));
}

}  // namespace

std::string make_profile(IccTarget t) {
  switch (t) {
    case IccTarget::none:
      return {};
    case IccTarget::srgb: {
      ProfilePtr p(cmsCreate_sRGBProfile());
      return save(p.get(), "sRGB IEC61966-2.1");
    }
    case IccTarget::adobe_rgb: {
      cmsCIExyY d65 = {0.3127, 0.3290, 1.0};
      cmsCIExyYTRIPLE primaries = {{0.6400, 0.3300, 1.0}, {0.2100, 0.7100, 1.0}, {0.1500, 0.0600, 1.0}};
      std::unique_ptr<cmsToneCurve, CurveCloser> g(cmsBuildGamma(nullptr, 563.0 / 256.0));
      cmsToneCurve* curves[3] = {g.get(), g.get(), g.get()};
      ProfilePtr p(cmsCreateRGBProfile(&d65, &primaries, curves));
      return save(p.get(), "Compatible with Adobe RGB (1998)");
    }
    case IccTarget::gray: {
      auto curve = srgb_curve();
      ProfilePtr p(cmsCreateGrayProfile(cmsD50_xyY(), curve.get()));
      return save(p.get(), "Gray D50 sRGB TRC");
    }
  }
  return {};
}

std::string describe_profile(const std::string& bytes) {
  if (bytes.empty()) return {};
  ProfilePtr p(cmsOpenProfileFromMem(bytes.data(), static_cast<cmsUInt32Number>(bytes.size())));
  if (!p) return {};
  char buf[256] = {0};
  cmsGetProfileInfoASCII(p.get(), cmsInfoDescription, "en", "US", buf, sizeof buf);
  return buf;
}

}  // namespace sipi::metadata
