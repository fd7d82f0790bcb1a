#ifndef DS_TOOLS_REFERENCE_SAMPLING_H
#define DS_TOOLS_REFERENCE_SAMPLING_H

// Twilight's top-p pruning and vAttention's sampled selection on the host (shared/ALGORITHMS.md
// §3, §4). Used by the GPU tests and ds-bench.
#include <cstdint>
#include <vector>

#include "tools/reference/Reference.h"

namespace ds::ref {

/// Top-p over one candidate row (f64): candidates are the entries with idx[i] >= 0; returns the
/// smallest number of them, taken by decreasing logit, whose softmax mass reaches top_p.
int64_t toppMinimalCount(const float *logits, const int32_t *idx, int64_t k, double topP);

/// Softmax mass (f64) of the candidates at `positions` of a row (positions into logits/idx).
double toppMass(const float *logits, const int32_t *idx, int64_t k,
                const std::vector<int64_t> &positions);

/// Philox4x32-10 (Salmon et al.): the block of counter `ctr` under `key`.
void philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/// ds.sample_residual for one row: `fixed` (K entries), a request of n tokens, the row's index
/// (b * H + h) and philox = [seed, offset]; writes sinks + window + K + numSamples indices and
/// log-weights (as the op documents; -1 / -inf unused) exactly as the kernel draws them.
void sampleResidualRow(const int32_t *fixed, int64_t k, int64_t n, int64_t sinks, int64_t window,
                       int64_t numSamples, uint64_t seed, uint64_t offset, uint32_t row,
                       int32_t *indices, double *logWeights);

/// i32 words of an int4 key record (ds.int4_append): d / 8 of 4-bit values, then four of f16
/// scales (group g in half g % 2 of word d / 8 + g / 2, zeros past the d / 32 scales).
inline int64_t int4RecordWords(int64_t headDim) { return headDim / 8 + 4; }

/// ds.int4_append: the records kq [S, Hkv, int4RecordWords(d)] i32 updated with the new keys
/// k [T, Hkv, d] (16-bit patterns of `type`) at slot_mapping; bit-exact with the kernel.
void int4Append(std::vector<int32_t> &kq, int64_t slots, const std::vector<uint16_t> &k,
                int64_t tokens, int64_t kvHeads, int64_t headDim,
                const std::vector<int32_t> &slotMapping, Half type);

/// The f16 scale (bits) of group g in record `rec` (its first word's index in kq).
inline uint16_t int4Scale(const std::vector<int32_t> &kq, int64_t rec, int64_t headDim, int64_t g) {
  return static_cast<uint16_t>(static_cast<uint32_t>(kq[rec + headDim / 8 + g / 2]) >> (16 * (g % 2)));
}

/// ds.int4_score (f64 over the int4 values): logits [B, rows, K] of candidates [B, rows, K].
std::vector<double> int4Score(const std::vector<uint16_t> &q, int64_t heads,
                              const std::vector<int32_t> &kq, int64_t kvHeads, int64_t slots,
                              int64_t headDim, const Paging &paging, int64_t pageSize,
                              const std::vector<int32_t> &candidates, int64_t k, double scale,
                              GroupReduce reduce, Half type);

} // namespace ds::ref

#endif // DS_TOOLS_REFERENCE_SAMPLING_H
