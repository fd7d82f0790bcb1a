#ifndef DS_TOOLS_REFERENCE_LINEARATTENTION_H
#define DS_TOOLS_REFERENCE_LINEARATTENTION_H

// Linear attention with per-head decay in the recurrent form (ALGORITHMS.md §5), f64:
//   S_t = exp(-slope_h) S_{t-1} + k_t^T v_t,  o_t = q_t S_t.
#include "tools/reference/Reference.h"

namespace ds::ref {

/// Runs `tokens` steps of one request over all heads. q, k: [tokens, H, d], v: [tokens, H, e] as
/// 16-bit patterns; state: [H, d, e], updated; o: [tokens, H, e] (appended).
void linearAttnRecurrent(const uint16_t *q, const uint16_t *k, const uint16_t *v, int64_t tokens,
                         int64_t heads, int64_t d, int64_t e, const std::vector<float> &slopes,
                         Half type, std::vector<double> &state, std::vector<double> &o);

} // namespace ds::ref

#endif // DS_TOOLS_REFERENCE_LINEARATTENTION_H
