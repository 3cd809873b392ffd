// Plain pixel geometry shared by every stage.
#pragma once

#include <cstdint>

namespace sipi {

struct Dim {
  std::int64_t w = 0;
  std::int64_t h = 0;
  friend bool operator==(const Dim&, const Dim&) = default;
};

struct Rect {
  std::int64_t x = 0;
  std::int64_t y = 0;
  std::int64_t w = 0;
  std::int64_t h = 0;
  friend bool operator==(const Rect&, const Rect&) = default;
};

}  // namespace sipi
