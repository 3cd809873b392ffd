// ICC profiles sipi can embed, built with lcms2 so that no profile file must be installed.
#pragma once

#include <string>

#include "core/result.h"

namespace sipi::metadata {

enum class IccTarget { none, srgb, adobe_rgb, gray };

// Profile bytes for a target (empty for none). sRGB: IEC 61966-2.1 primaries and curve;
// Adobe RGB (1998) compatible: its primaries, D65, gamma 563/256; gray: D50, sRGB curve.
std::string make_profile(IccTarget t);

// The profile's description ("sRGB IEC61966-2.1", …), or "" when it cannot be parsed.
std::string describe_profile(const std::string& bytes);

}  // namespace sipi::metadata
