#include "tools/reference/LinearAttention.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace ds::ref {

void linearAttnRecurrent(const uint16_t *q, const uint16_t *k, const uint16_t *v, int64_t tokens,
                         int64_t heads, int64_t d, int64_t e, const std::vector<float> &slopes,
                         Half type, std::vector<double> &state, std::vector<double> &o) {
  std::vector<double> vd(e), out(e);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t h = 0; h < heads; ++h) {
      double lambda = std::exp(-static_cast<double>(slopes[h]));
      double *S = &state[h * d * e];
      const uint16_t *qt = q + (t * heads + h) * d, *kt = k + (t * heads + h) * d,
                     *vt = v + (t * heads + h) * e;
      // v converted once per row so the inner loop is plain f64 arithmetic (the GPU tests run
      // this over ~10^9 state elements).
      for (int64_t j = 0; j < e; ++j)
        vd[j] = toFloat(vt[j], type);
      std::fill(out.begin(), out.end(), 0.0);
      for (int64_t i = 0; i < d; ++i) {
        double ki = toFloat(kt[i], type), qi = toFloat(qt[i], type);
        double *Si = S + i * e;
        for (int64_t j = 0; j < e; ++j) {
          Si[j] = lambda * Si[j] + ki * vd[j];
          out[j] += qi * Si[j];
        }
      }
      o.insert(o.end(), out.begin(), out.end());
    }
}

std::pair<int64_t, int64_t> LinearAttnBatch::span(int64_t b) const {
  int64_t start = std::clamp<int64_t>(cuSeqlens[b], 0, tokens);
  int64_t end = std::clamp<int64_t>(cuSeqlens[b + 1], start, tokens);
  return {start, end};
}

void linearAttnPrefill(const LinearAttnBatch &batch, std::vector<double> &states,
                       std::vector<double> &o, std::vector<double> *intermediate) {
  const int64_t T = batch.tokens, H = batch.heads, d = batch.d, e = batch.e;
  const int64_t stateSize = H * d * e, slots = static_cast<int64_t>(states.size()) / stateSize;
  assert(static_cast<int64_t>(batch.cuSeqlens.size()) == batch.batch() + 1 &&
         batch.hasInitialState.size() == batch.stateIndices.size());
  o.assign(T * H * e, 0.0);
  if (intermediate)
    intermediate->assign(T * stateSize, 0.0);
  std::vector<double> state, out;
  for (int64_t b = 0; b < batch.batch(); ++b) {
    const int64_t s = batch.stateIndices[b];
    if (s < 0 || s >= slots)
      continue;
    auto [start, end] = batch.span(b);
    double *slot = &states[s * stateSize];
    if (batch.hasInitialState[b] != 0)
      state.assign(slot, slot + stateSize);
    else
      state.assign(stateSize, 0.0);
    // One token at a time, so the state after each token can be kept.
    for (int64_t t = start; t < end; ++t) {
      out.clear();
      linearAttnRecurrent(&batch.q[t * H * d], &batch.k[t * H * d], &batch.v[t * H * e], 1, H, d, e,
                          batch.slopes, batch.type, state, out);
      std::copy(out.begin(), out.end(), o.begin() + t * H * e);
      if (intermediate)
        std::copy(state.begin(), state.end(), intermediate->begin() + t * stateSize);
    }
    std::copy(state.begin(), state.end(), slot);
  }
}

} // namespace ds::ref
