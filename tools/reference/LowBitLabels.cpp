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

LowBitLabels quantizeLabels(const std::vector<float> &labels, int64_t rows, int64_t r,
                            LabelFormat format) {
  const bool fp8 = format == LabelFormat::FP8;
  LowBitLabels q;
  q.data.assign(rows * (fp8 ? r : r / 2), 0);
  q.scales.assign(rows, 0);
  for (int64_t row = 0; row < rows; ++row) {
    const float *x = &labels[row * r];
    float amax = 0;
    for (int64_t j = 0; j < r; ++j)
      amax = std::max(amax, std::fabs(x[j]));
    // f32 division, then the f16 rounding: the stored scale is the one everything uses.
    uint16_t s16 = fromFloat(amax / (fp8 ? 448.0f : 7.0f), Half::F16);
    float s = toFloat(s16, Half::F16);
    q.scales[row] = s16;
    for (int64_t j = 0; j < r; ++j) {
      float v = s == 0 ? 0.0f : x[j] / s;
      if (fp8) {
        q.data[row * r + j] = s == 0 ? 0 : e4m3Code(v);
      } else {
        int n = static_cast<int>(std::clamp(std::nearbyint(std::clamp(v, -16.0f, 16.0f)), -8.0f, 7.0f));
        uint8_t nib = static_cast<uint8_t>(n & 0xF);
        q.data[row * (r / 2) + j / 2] |= static_cast<uint8_t>(j % 2 ? nib << 4 : nib);
      }
    }
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
    double s = toFloat(q.scales[row], Half::F16);
    for (int64_t j = 0; j < r; ++j) {
      double v;
      if (format == LabelFormat::FP8) {
        v = e4m3Value(q.data[row * r + j]);
      } else {
        int nib = (q.data[row * (r / 2) + j / 2] >> (j % 2 ? 4 : 0)) & 0xF;
        v = nib >= 8 ? nib - 16 : nib;
      }
      out[row * r + j] = s * v;
    }
  }
  return out;
}

} // namespace ds::ref
