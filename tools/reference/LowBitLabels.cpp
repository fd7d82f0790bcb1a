#include "tools/reference/LowBitLabels.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ds::ref {

double e4m3Value(uint8_t code) {
  int e = (code >> 3) & 0xF, m = code & 7;
  if (e == 15 && m == 7)
    return std::numeric_limits<double>::quiet_NaN();
  double mag = e == 0 ? std::ldexp(m / 8.0, -6) : std::ldexp(1.0 + m / 8.0, e - 7);
  return code & 0x80 ? -mag : mag;
}

uint8_t e4m3Code(float v) {
  // The finite non-negative codes 0 .. 0x7e, whose values increase with the code.
  static const std::vector<double> values = [] {
    std::vector<double> out;
    for (int c = 0; c <= 0x7E; ++c)
      out.push_back(e4m3Value(static_cast<uint8_t>(c)));
    return out;
  }();
  const double a = std::min(std::fabs(static_cast<double>(v)), 448.0);
  // The nearest of the two values around a; a tie goes to the even code.
  size_t hi = std::lower_bound(values.begin(), values.end(), a) - values.begin();
  size_t best = hi;
  if (hi > 0) {
    double below = a - values[hi - 1], above = values[hi] - a;
    if (below < above || (below == above && (hi - 1) % 2 == 0))
      best = hi - 1;
  }
  return std::signbit(v) ? static_cast<uint8_t>(best | 0x80) : static_cast<uint8_t>(best);
}

namespace {
uint16_t f16Bits(float v) { return fromFloat(v, Half::F16); }
float f16Value(uint32_t bits) { return toFloat(static_cast<uint16_t>(bits), Half::F16); }

/// Asymmetric int4 labels of one row (ds.label_append's description): the scale's f16 bits (the
/// zero point in the low 4) and the codes.
void int4Row(const float *x, int64_t r, uint16_t &scaleBits, uint8_t *bytes) {
  float mn = 0, mx = 0;
  for (int64_t j = 0; j < r; ++j)
    mn = std::min(mn, x[j]), mx = std::max(mx, x[j]);
  auto codeOf = [](float v, float s, float z) {
    return std::clamp(std::nearbyint(v / (s == 0 ? 1.0f : s)) + z, 0.0f, 15.0f);
  };
  const float step = (mx - mn) / 15.0f;
  float bestErr = std::numeric_limits<float>::infinity();
  uint32_t best = 0;
  for (int i = 0; i < 9; ++i) {
    const float want = step * (1.0f - 0.025f * static_cast<float>(i));
    uint32_t bits = f16Bits(want);
    if (f16Value(bits) < want)
      ++bits; // up to the next f16
    bits = std::min<uint32_t>((bits + 15) & 0xFFF0, 0x7BF0);
    const float base = f16Value(bits);
    const float z0 = std::nearbyint(-mn / (base == 0 ? 1.0f : base));
    for (float dz : {-1.0f, 0.0f, 1.0f}) {
      const float z = std::clamp(z0 + dz, 0.0f, 15.0f);
      const uint32_t cand = bits | static_cast<uint32_t>(z);
      const float s = f16Value(cand);
      float err = 0;
      for (int64_t j = 0; j < r; ++j) {
        const float e = x[j] - (codeOf(x[j], s, z) - z) * s;
        err = err + e * e;
      }
      if (err < bestErr)
        bestErr = err, best = cand;
    }
  }
  const float s = f16Value(best), z = static_cast<float>(best & 0xF);
  for (int64_t j = 0; j < r; ++j) {
    const int c = s == 0 ? 0 : static_cast<int>(codeOf(x[j], s, z));
    bytes[j / 2] |= static_cast<uint8_t>(j % 2 ? c << 4 : c);
  }
  scaleBits = static_cast<uint16_t>(best);
}
} // namespace

LowBitLabels quantizeLabels(const std::vector<float> &labels, int64_t rows, int64_t r,
                            LabelFormat format) {
  const bool fp8 = format == LabelFormat::FP8;
  LowBitLabels q;
  q.data.assign(rows * (fp8 ? r : r / 2), 0);
  q.scales.assign(rows, 0);
  for (int64_t row = 0; row < rows; ++row) {
    const float *x = &labels[row * r];
    if (!fp8) {
      int4Row(x, r, q.scales[row], &q.data[row * (r / 2)]);
      continue;
    }
    float amax = 0;
    for (int64_t j = 0; j < r; ++j)
      amax = std::max(amax, std::fabs(x[j]));
    // f32 division, then the f16 rounding: the stored scale is the one everything uses.
    uint16_t s16 = fromFloat(amax / 448.0f, Half::F16);
    float s = toFloat(s16, Half::F16);
    q.scales[row] = s16;
    for (int64_t j = 0; j < r; ++j)
      q.data[row * r + j] = s == 0 ? 0 : e4m3Code(x[j] / s);
  }
  return q;
}

LowBitLabels quantizeLabels(const std::vector<uint16_t> &labels, int64_t rows, int64_t r, Half type,
                            LabelFormat format) {
  std::vector<float> x(labels.size());
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = toFloat(labels[i], type);
  return quantizeLabels(x, rows, r, format);
}

std::vector<double> dequantizeLabels(const LowBitLabels &q, int64_t rows, int64_t r,
                                     LabelFormat format) {
  std::vector<double> out(rows * r);
  for (int64_t row = 0; row < rows; ++row) {
    const bool fp8 = format == LabelFormat::FP8;
    // int4: the zero point in the scale's low 4 bits.
    const int z = fp8 ? 0 : q.scales[row] & 0xF;
    double s = toFloat(q.scales[row], Half::F16);
    for (int64_t j = 0; j < r; ++j) {
      double v;
      if (fp8)
        v = e4m3Value(q.data[row * r + j]);
      else
        v = ((q.data[row * (r / 2) + j / 2] >> (j % 2 ? 4 : 0)) & 0xF) - z;
      out[row * r + j] = s * v;
    }
  }
  return out;
}

} // namespace ds::ref
