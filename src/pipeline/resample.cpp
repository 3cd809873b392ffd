#include "pipeline/resample.h"

#include <algorithm>
#include <cmath>

#include <immintrin.h>

namespace sipi::pipeline {

namespace detail {
bool resample_simd = true;
}

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
  if (n == 2) {  // bilinear: one pass, no accumulator row
    const std::uint8_t *a = src[0], *b = src[1];
    const std::int32_t wa = weight[0], wb = weight[1];
    for (std::size_t i = 0; i < len; ++i) out[i] = clamp8(kOne / 2 + a[i] * wa + b[i] * wb);
    return;
  }
  for (std::size_t i = 0; i < len; ++i) acc[i] = kOne / 2;
  for (int k = 0; k < n; ++k) {
    const std::uint8_t* s = src[k];
    const std::int32_t w = weight[k];
    for (std::size_t i = 0; i < len; ++i) acc[i] += s[i] * w;
  }
  for (std::size_t i = 0; i < len; ++i) out[i] = clamp8(acc[i]);
}

// One output row across: `Taps` > 0: exactly that many taps (unrolled); 0: t.n of them.
template <int Bands, int Taps_ = 0>
void horizontal(const std::uint8_t* row, const Taps& t, std::int64_t out_w, std::uint8_t* o) {
  const int n = Taps_ > 0 ? Taps_ : t.n;
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

// The horizontal pass for RGB with two non-negative taps per output pixel (bilinear), eight
// pixels at a time: the gathers fetch each tap's RGB as one 32-bit word. Same arithmetic as
// horizontal<3, 2>, so the same bytes. `row` must have 4 readable bytes past its last pixel,
// and `o` room for 4 bytes past the pixels this writes (it stops two pixels early for that).
__attribute__((target("avx2"))) std::int64_t across_rgb_2tap_avx2(const std::uint8_t* row, const std::int32_t* at0,
                                                                  const std::int32_t* at1, const std::int32_t* w0,
                                                                  const std::int32_t* w1, std::int64_t out_w,
                                                                  std::uint8_t* o) {
  const __m256i half = _mm256_set1_epi32(kOne / 2), byte = _mm256_set1_epi32(0xff);
  // Per 128-bit lane: the low three bytes of each of four words, then four spare bytes.
  const __m256i pack = _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1,  //
                                        0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
  const auto* base = reinterpret_cast<const int*>(row);
  std::int64_t x = 0;
  for (; x + 10 <= out_w; x += 8) {
    const __m256i a = _mm256_i32gather_epi32(base, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at0 + x)), 1);
    const __m256i b = _mm256_i32gather_epi32(base, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at1 + x)), 1);
    const __m256i wa = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w0 + x));
    const __m256i wb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w1 + x));
    __m256i rgb = _mm256_setzero_si256();
    for (int band = 0; band < 3; ++band) {
      const __m256i ca = _mm256_and_si256(_mm256_srli_epi32(a, 8 * band), byte);
      const __m256i cb = _mm256_and_si256(_mm256_srli_epi32(b, 8 * band), byte);
      __m256i acc = _mm256_add_epi32(_mm256_add_epi32(_mm256_mullo_epi32(ca, wa), _mm256_mullo_epi32(cb, wb)), half);
      acc = _mm256_srai_epi32(acc, kBits);  // 0..255: the weights are non-negative and sum to kOne
      rgb = _mm256_or_si256(rgb, _mm256_slli_epi32(acc, 8 * band));
    }
    const __m256i packed = _mm256_shuffle_epi8(rgb, pack);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 3 * x), _mm256_castsi256_si128(packed));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 3 * x + 12), _mm256_extracti128_si256(packed, 1));
  }
  return x;  // the rest is the caller's
}

// horizontal<3, 2>, eight pixels at a time where the CPU has AVX2: the taps as byte offsets
// and weights in four arrays, made once per image and used for every row.
class AcrossRgb2Tap {
 public:
  explicit AcrossRgb2Tap(const Taps& t, std::int64_t out_w) : t_(t), out_w_(out_w) {
    simd_ = t.n == 2 && detail::resample_simd && __builtin_cpu_supports("avx2") &&
            std::all_of(t.weight.begin(), t.weight.end(), [](std::int32_t w) { return w >= 0; });
    if (!simd_) return;
    const auto n = static_cast<std::size_t>(out_w);
    at0_.resize(n), at1_.resize(n), w0_.resize(n), w1_.resize(n);
    for (std::size_t x = 0; x < n; ++x) {
      at0_[x] = 3 * t.index[2 * x], at1_[x] = 3 * t.index[2 * x + 1];
      w0_[x] = t.weight[2 * x], w1_[x] = t.weight[2 * x + 1];
    }
  }
  // `row` with 4 readable bytes past its end (the gathers').
  void operator()(const std::uint8_t* row, std::uint8_t* o) const {
    if (!simd_) return horizontal<3, 2>(row, t_, out_w_, o);
    // The vector part leaves the last two pixels or more, so its spare bytes stay in the row.
    const std::int64_t done = across_rgb_2tap_avx2(row, at0_.data(), at1_.data(), w0_.data(), w1_.data(), out_w_, o);
    for (auto x = static_cast<std::size_t>(done); x < at0_.size(); ++x) {
      for (int b = 0; b < 3; ++b) o[3 * x + b] = clamp8(kOne / 2 + row[at0_[x] + b] * w0_[x] + row[at1_[x] + b] * w1_[x]);
    }
  }

 private:
  const Taps& t_;
  std::int64_t out_w_;
  bool simd_;
  std::vector<std::int32_t> at0_, at1_, w0_, w1_;
};

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
  // Each output row: down (whole source rows, vectorised) into one row, then across it. One
  // row at a time, not a whole intermediate image: for `2000,` of a 2500-px level that was
  // 15 MB more per request.
  const Taps th = taps_for(in.w, out.w, quality), tv = taps_for(in.h, out.h, quality);
  const auto in_row = static_cast<std::size_t>(in.w * in.bands);
  const auto out_row = static_cast<std::size_t>(out.w * in.bands);
  std::vector<std::uint8_t> line(in_row + 4);  // + the gathers' spare bytes
  std::vector<std::int32_t> acc(in_row);
  std::vector<const std::uint8_t*> rows(static_cast<std::size_t>(tv.n));
  std::vector<std::int32_t> weights(static_cast<std::size_t>(tv.n));
  std::vector<std::uint8_t> result(out_row * static_cast<std::size_t>(out.h));
  const AcrossRgb2Tap across_2tap(th, out.w);
  for (std::int64_t y = 0; y < out.h; ++y) {
    int n = 0;
    for (int k = 0; k < tv.n; ++k) {
      const std::size_t at = static_cast<std::size_t>(y * tv.n + k);
      if (tv.weight[at] == 0) continue;
      rows[static_cast<std::size_t>(n)] = in.data + in.stride * static_cast<std::size_t>(tv.index[at]);
      weights[static_cast<std::size_t>(n++)] = tv.weight[at];
    }
    rows_down(rows.data(), weights.data(), n, in_row, acc.data(), line.data());
    std::uint8_t* o = result.data() + out_row * static_cast<std::size_t>(y);
    if (in.bands == 1) {
      horizontal<1>(line.data(), th, out.w, o);
    } else if (th.n == 2) {  // bilinear
      across_2tap(line.data(), o);
    } else {
      horizontal<3>(line.data(), th, out.w, o);
    }
  }
  return result;
}

}  // namespace sipi::pipeline
