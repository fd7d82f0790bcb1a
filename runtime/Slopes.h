// Per-head decay slopes of Lightning-Attention-style linear attention (ALGORITHMS.md §5), for the
// `slopes` argument of ds.linear_attn_prefill / ds.linear_attn_decode (decay = exp(-slope)).
#pragma once

#include <cmath>
#include <vector>

namespace ds::rt {

/// ALiBi slopes for `heads` heads: 2^(-8 (i + 1) / n) when n is a power of two; otherwise the
/// closest lower power of two's slopes followed by every other slope of twice that count. With
/// `numLayers` > 1, scaled for layer `layer` by (1 - layer / (numLayers - 1) + 1e-5).
inline std::vector<float> lightningSlopes(int heads, int layer = 0, int numLayers = 1) {
  auto pow2 = [](int n) {
    std::vector<double> s(n);
    for (int i = 0; i < n; ++i)
      s[i] = std::pow(2.0, -8.0 * (i + 1) / n);
    return s;
  };
  std::vector<double> s;
  if (heads > 0) {
    int p = 1;
    while (p * 2 <= heads)
      p *= 2;
    s = pow2(p);
    if (p != heads) {
      std::vector<double> twice = pow2(2 * p);
      for (int i = 0; static_cast<int>(s.size()) < heads; i += 2)
        s.push_back(twice[i]);
    }
  }
  double scale = numLayers > 1 ? 1.0 - static_cast<double>(layer) / (numLayers - 1) + 1e-5 : 1.0;
  std::vector<float> out(s.size());
  for (size_t i = 0; i < s.size(); ++i)
    out[i] = static_cast<float>(s[i] * scale);
  return out;
}

} // namespace ds::rt
