#include "tools/reference/LinearAttention.h"

#include <cmath>

namespace ds::ref {

void linearAttnRecurrent(const uint16_t *q, const uint16_t *k, const uint16_t *v, int64_t tokens,
                         int64_t heads, int64_t d, int64_t e, const std::vector<float> &slopes,
                         Half type, std::vector<double> &state, std::vector<double> &o) {
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t h = 0; h < heads; ++h) {
      double lambda = std::exp(-static_cast<double>(slopes[h]));
      double *S = &state[h * d * e];
      const uint16_t *qt = q + (t * heads + h) * d, *kt = k + (t * heads + h) * d,
                     *vt = v + (t * heads + h) * e;
      std::vector<double> out(e, 0.0);
      for (int64_t i = 0; i < d; ++i) {
        double ki = toFloat(kt[i], type), qi = toFloat(qt[i], type);
        for (int64_t j = 0; j < e; ++j) {
          S[i * e + j] = lambda * S[i * e + j] + ki * toFloat(vt[j], type);
          out[j] += qi * S[i * e + j];
        }
      }
      o.insert(o.end(), out.begin(), out.end());
    }
}

} // namespace ds::ref
