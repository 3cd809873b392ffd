#include "pipeline/resample.h"

#include <algorithm>
#include <cmath>

namespace sipi::pipeline {
namespace {

constexpr int kBits = 14;  // fixed-point weights: sums of up to 2^17 × 255 fit in 32 bits
constexpr int kOne = 1 << kBits;

double kernel(ScalingQuality q, double x) {
  x = std::fabs(x);
  if (q == ScalingQuality::medium) return x < 1 ? 1 - x : 0;
  if (x < 1e-9) return 1;
  if (x >= 3) return 0;
  const double px = M_PI * x;
  return 3 * std::sin(px) * std::sin(px / 3) / (px * px);
}

// For each output position, `n` source indices and weights summing to kOne.
struct Taps {
  int n = 0;
  std::vector<std::int32_t> index, weight;
};

// The same taps without the zero weights at either end (bilinear's window of three has one
// for almost every position): fewer multiplications in the horizontal pass.
Taps trimmed(Taps t, std::int64_t out) {
  int span = 1;
  std::vector<int> lead(static_cast<std::size_t>(out));
  for (std::int64_t x = 0; x < out; ++x) {
    const std::int32_t* w = &t.weight[static_cast<std::size_t>(x * t.n)];
    int a = 0, b = t.n - 1;
    while (a < b && w[a] == 0) ++a;
    while (b > a && w[b] == 0) --b;
    lead[static_cast<std::size_t>(x)] = a;
    span = std::max(span, b - a + 1);
  }
  if (span == t.n) return t;
  Taps r;
  r.n = span;
  for (std::int64_t x = 0; x < out; ++x) {
    const auto at = static_cast<std::size_t>(x * t.n);
    for (int k = lead[static_cast<std::size_t>(x)], e = k + span; k < e; ++k) {
      const bool inside = k < t.n;  // past the end: a zero weight on the last index
      r.index.push_back(t.index[at + static_cast<std::size_t>(inside ? k : t.n - 1)]);
      r.weight.push_back(inside ? t.weight[at + static_cast<std::size_t>(k)] : 0);
    }
  }
  return r;
}

Taps taps_for(std::int64_t in, std::int64_t out, ScalingQuality q) {
  Taps t;
  const double scale = static_cast<double>(out) / static_cast<double>(in);
  if (q == ScalingQuality::low) {
    t.n = 1;
    for (std::int64_t x = 0; x < out; ++x) {
      t.index.push_back(static_cast<std::int32_t>(std::min<std::int64_t>(in - 1, static_cast<std::int64_t>((x + 0.5) / scale))));
      t.weight.push_back(kOne);
    }
    return t;
  }
  // Lanczos is widened by the shrink so that every source pixel counts; bilinear is not (as
  // SIPI's and IIPImage's): the box shrink before it (resample8) keeps its shrink below 2.
  const double f = q == ScalingQuality::medium ? 1.0 : std::max(1.0, 1 / scale);
  const double radius = (q == ScalingQuality::medium ? 1.0 : 3.0) * f;
  t.n = static_cast<int>(std::ceil(2 * radius)) + 1;
  std::vector<double> w(static_cast<std::size_t>(t.n));
  for (std::int64_t x = 0; x < out; ++x) {
    const double centre = (static_cast<double>(x) + 0.5) / scale - 0.5;
    const auto first = static_cast<std::int64_t>(std::ceil(centre - radius));
    double sum = 0;
    for (int k = 0; k < t.n; ++k) sum += (w[k] = kernel(q, (static_cast<double>(first + k) - centre) / f));
    int given = 0, biggest = 0;
    for (int k = 0; k < t.n; ++k) {
      const auto fixed = static_cast<std::int32_t>(std::lround(w[k] / sum * kOne));
      t.index.push_back(static_cast<std::int32_t>(std::clamp<std::int64_t>(first + k, 0, in - 1)));  // edges repeat
      t.weight.push_back(fixed);
      given += fixed;
      if (w[k] > w[biggest]) biggest = k;
    }
    t.weight[t.weight.size() - t.n + biggest] += kOne - given;  // rounding goes to the centre tap
  }
  return trimmed(std::move(t), out);
}

std::uint8_t clamp8(std::int32_t acc) { return static_cast<std::uint8_t>(std::clamp(acc >> kBits, 0, 255)); }

// One output row of the vertical pass: the weighted sum of `n` source rows.
__attribute__((target_clones("avx2", "default"))) void rows_down(const std::uint8_t* const* src,
                                                                 const std::int32_t* weight, int n, std::size_t len,
                                                                 std::int32_t* acc, std::uint8_t* out) {
  for (std::size_t i = 0; i < len; ++i) acc[i] = kOne / 2;
  for (int k = 0; k < n; ++k) {
    const std::uint8_t* s = src[k];
    const std::int32_t w = weight[k];
    for (std::size_t i = 0; i < len; ++i) acc[i] += s[i] * w;
  }
  for (std::size_t i = 0; i < len; ++i) out[i] = clamp8(acc[i]);
}

// `Taps` > 0: exactly that many taps (unrolled); 0: t.n of them.
template <int Bands, int Taps_ = 0>
void horizontal(const std::uint8_t* src, std::int64_t in_w, std::int64_t rows, const Taps& t, std::int64_t out_w,
                std::uint8_t* dst) {
  const int n = Taps_ > 0 ? Taps_ : t.n;
  for (std::int64_t y = 0; y < rows; ++y) {
    const std::uint8_t* row = src + static_cast<std::size_t>(y * in_w * Bands);
    std::uint8_t* o = dst + static_cast<std::size_t>(y * out_w * Bands);
    for (std::int64_t x = 0; x < out_w; ++x) {
      std::int32_t acc[Bands];
      for (int b = 0; b < Bands; ++b) acc[b] = kOne / 2;
      const std::int32_t* idx = &t.index[static_cast<std::size_t>(x * n)];
      const std::int32_t* wt = &t.weight[static_cast<std::size_t>(x * n)];
      for (int k = 0; k < n; ++k) {
        const std::uint8_t* p = row + static_cast<std::size_t>(idx[k]) * Bands;
        for (int b = 0; b < Bands; ++b) acc[b] += p[b] * wt[k];
      }
      for (int b = 0; b < Bands; ++b) *o++ = clamp8(acc[b]);
    }
  }
}

// Averages kx×ky blocks (the integer part of a large shrink), rows packed.
std::vector<std::uint8_t> box_shrink(const Samples8& in, int kx, int ky, std::int64_t& w, std::int64_t& h) {
  w = in.w / kx, h = in.h / ky;
  const auto row = static_cast<std::size_t>(w * in.bands);
  std::vector<std::uint8_t> out(row * static_cast<std::size_t>(h));
  std::vector<std::uint32_t> sum(static_cast<std::size_t>(in.w * in.bands));
  const std::uint32_t n = static_cast<std::uint32_t>(kx * ky);
  for (std::int64_t y = 0; y < h; ++y) {
    std::fill(sum.begin(), sum.end(), 0u);
    for (int dy = 0; dy < ky; ++dy) {
      const std::uint8_t* r = in.data + in.stride * static_cast<std::size_t>(y * ky + dy);
      for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += r[i];
    }
    std::uint8_t* o = out.data() + row * static_cast<std::size_t>(y);
    for (std::int64_t x = 0; x < w; ++x) {
      for (int b = 0; b < in.bands; ++b) {
        std::uint32_t s = 0;
        for (int dx = 0; dx < kx; ++dx) s += sum[static_cast<std::size_t>((x * kx + dx) * in.bands + b)];
        *o++ = static_cast<std::uint8_t>((s + n / 2) / n);
      }
    }
  }
  return out;
}

}  // namespace

std::vector<std::uint8_t> resample8(const Samples8& given, Dim out, ScalingQuality quality) {
  if (!given.data || (given.bands != 1 && given.bands != 3) || out.w < 1 || out.h < 1 || out.w > given.w ||
      out.h > given.h || static_cast<double>(given.w) > kMaxLeanShrink * static_cast<double>(out.w) ||
      static_cast<double>(given.h) > kMaxLeanShrink * static_cast<double>(out.h)) {
    return {};
  }
  // The integer part of a large shrink as a box average (as libvips' resize does before its
  // kernel): bilinear keeps a shrink below 2, Lanczos below 4 (libvips' gap of 2).
  const double limit = quality == ScalingQuality::high ? 2.0 : 1.0;
  const int kx = quality == ScalingQuality::low ? 1 : std::max(1, static_cast<int>(given.w / out.w / limit));
  const int ky = quality == ScalingQuality::low ? 1 : std::max(1, static_cast<int>(given.h / out.h / limit));
  std::vector<std::uint8_t> boxed;
  Samples8 in = given;
  if (kx > 1 || ky > 1) {
    boxed = box_shrink(given, kx, ky, in.w, in.h);
    in.data = boxed.data();
    in.stride = static_cast<std::size_t>(in.w * in.bands);
  }
  // Down first (whole rows, vectorised), then across the fewer rows.
  const Taps th = taps_for(in.w, out.w, quality), tv = taps_for(in.h, out.h, quality);
  const auto in_row = static_cast<std::size_t>(in.w * in.bands);
  std::vector<std::uint8_t> down(in_row * static_cast<std::size_t>(out.h));
  std::vector<std::int32_t> acc(in_row);
  std::vector<const std::uint8_t*> rows(static_cast<std::size_t>(tv.n));
  std::vector<std::int32_t> weights(static_cast<std::size_t>(tv.n));
  for (std::int64_t y = 0; y < out.h; ++y) {
    int n = 0;
    for (int k = 0; k < tv.n; ++k) {
      const std::size_t at = static_cast<std::size_t>(y * tv.n + k);
      if (tv.weight[at] == 0) continue;
      rows[static_cast<std::size_t>(n)] = in.data + in.stride * static_cast<std::size_t>(tv.index[at]);
      weights[static_cast<std::size_t>(n++)] = tv.weight[at];
    }
    rows_down(rows.data(), weights.data(), n, in_row, acc.data(), down.data() + in_row * static_cast<std::size_t>(y));
  }
  std::vector<std::uint8_t> result(static_cast<std::size_t>(out.w * in.bands * out.h));
  if (in.bands == 1) {
    horizontal<1>(down.data(), in.w, out.h, th, out.w, result.data());
  } else if (th.n == 2) {  // bilinear
    horizontal<3, 2>(down.data(), in.w, out.h, th, out.w, result.data());
  } else {
    horizontal<3>(down.data(), in.w, out.h, th, out.w, result.data());
  }
  return result;
}

}  // namespace sipi::pipeline
