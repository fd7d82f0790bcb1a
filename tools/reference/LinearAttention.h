#ifndef DS_TOOLS_REFERENCE_LINEARATTENTION_H
#define DS_TOOLS_REFERENCE_LINEARATTENTION_H

// Linear attention with per-head decay in the recurrent form (ALGORITHMS.md §5), f64:
//   S_t = exp(-slope_h) S_{t-1} + k_t^T v_t,  o_t = q_t S_t.
#include "tools/reference/Reference.h"

#include <utility>

namespace ds::ref {

/// Runs `tokens` steps of one request over all heads. q, k: [tokens, H, d], v: [tokens, H, e] as
/// 16-bit patterns; state: [H, d, e], updated; o: [tokens, H, e] (appended).
void linearAttnRecurrent(const uint16_t *q, const uint16_t *k, const uint16_t *v, int64_t tokens,
                         int64_t heads, int64_t d, int64_t e, const std::vector<float> &slopes,
                         Half type, std::vector<double> &state, std::vector<double> &o);

/// The arguments of ds.linear_attn_prefill: a packed ragged batch of B = stateIndices.size()
/// requests over T = tokens tokens.
struct LinearAttnBatch {
  int64_t tokens = 0, heads = 0, d = 0, e = 0;
  Half type = Half::BF16;
  std::vector<uint16_t> q, k, v;                      ///< [T, H, d], [T, H, d], [T, H, e]
  std::vector<float> slopes;                          ///< [H]
  std::vector<int32_t> cuSeqlens;                     ///< [B + 1]
  std::vector<int32_t> stateIndices, hasInitialState; ///< [B] each

  int64_t batch() const { return static_cast<int64_t>(stateIndices.size()); }
  /// Request b's tokens [start, end): start = clamp(cu_seqlens[b], 0, T),
  /// end = clamp(cu_seqlens[b + 1], start, T).
  std::pair<int64_t, int64_t> span(int64_t b) const;
};

/// ds.linear_attn_prefill in the recurrent form. states: [slots, H, d, e], updated in place.
/// Request b with slot s = state_indices[b] in [0, slots) starts from states[s] when
/// has_initial_state[b] != 0, else from zero, and writes its final state (after its last token;
/// for an empty request, the starting state) back to states[s]. A request whose slot is out of
/// range reads and writes no state. o: [T, H, e], resized; intermediate (when given):
/// [T, H, d, e], resized, the state after each token. Both are 0 for the tokens of a request with
/// an out-of-range slot and for tokens no request owns.
void linearAttnPrefill(const LinearAttnBatch &batch, std::vector<double> &states,
                       std::vector<double> &o, std::vector<double> *intermediate = nullptr);

} // namespace ds::ref

#endif // DS_TOOLS_REFERENCE_LINEARATTENTION_H
