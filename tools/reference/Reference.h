#ifndef DS_TOOLS_REFERENCE_REFERENCE_H
#define DS_TOOLS_REFERENCE_REFERENCE_H

// CPU reference of the ds ops (shared/ALGORITHMS.md), f64 accumulation, on host arrays. The GPU
// tests, ds-run and ds-bench check generated kernels against it. No MLIR, no CUDA.
#include <cstdint>
#include <vector>

namespace ds::ref {

enum class Half { BF16, F16 };

float toFloat(uint16_t bits, Half type);
uint16_t fromFloat(float value, Half type); // round to nearest even

/// A paged KV cache in NHD layout, [num_pages, P, Hkv, d], data as 16-bit patterns.
struct PagedKV {
  int64_t numPages = 0, pageSize = 1, kvHeads = 0, headDim = 0;
  std::vector<uint16_t> k, v;
  Half type = Half::BF16;
  int64_t rowOffset(int64_t page, int64_t slot, int64_t head) const {
    return ((page * pageSize + slot) * kvHeads + head) * headDim;
  }
};

/// The paging of a decode batch: page_table [B, max_pages], seq_lens [B].
struct Paging {
  int64_t batch = 0, maxPages = 0;
  std::vector<int32_t> pageTable, seqLens;
  /// n_b clamped to [0, max_pages * P].
  int64_t length(int64_t b, int64_t pageSize) const;
  /// Physical page of token t of request b, or -1 when out of [0, numPages).
  int64_t page(int64_t b, int64_t t, int64_t pageSize, int64_t numPages) const;
};

/// labels[n, h, j] = x[n, h, channels[h / g, j]] (0 for an out-of-range channel).
std::vector<uint16_t> labelGather(const std::vector<uint16_t> &x, int64_t rows, int64_t heads,
                                  int64_t headDim, const std::vector<int32_t> &channels,
                                  int64_t kvHeads, int64_t labelDim);

/// cache [Hkv, S, r] updated with k [T, Hkv, d] at slot_mapping (out-of-range slots skipped).
void labelAppend(std::vector<uint16_t> &cache, int64_t slots, const std::vector<uint16_t> &k,
                 int64_t tokens, int64_t kvHeads, int64_t headDim,
                 const std::vector<int32_t> &channels, int64_t labelDim,
                 const std::vector<int32_t> &slotMapping);

enum class GroupReduce { None, Sum, Max };

/// scores [B, Hs, N] (f64, -inf past n_b or for out-of-range slots), ds.label_score semantics.
std::vector<double> labelScore(const std::vector<uint16_t> &qLabel, int64_t heads,
                               const std::vector<uint16_t> &cache, int64_t kvHeads, int64_t slots,
                               int64_t labelDim, const Paging &paging, int64_t pageSize,
                               int64_t n, double scale, GroupReduce reduce, Half type);
/// The same over real-valued query labels [B, Hq, r] and cache [Hkv, S, r] (a low-bit cache's
/// dequantized labels).
std::vector<double> labelScore(const std::vector<double> &qLabel, int64_t heads,
                               const std::vector<double> &cache, int64_t kvHeads, int64_t slots,
                               int64_t labelDim, const Paging &paging, int64_t pageSize,
                               int64_t n, double scale, GroupReduce reduce);

/// The k largest of row[0..n) (ds.topk semantics, -1 padded to k), ties by lower index.
std::vector<int32_t> topk(const double *row, int64_t n, int64_t k, bool keepLast);

/// Decode attention of one query head over a list of tokens (positions of request b); tokens
/// that are -1, >= n_b or on an out-of-range page are skipped; out[d] in f64. Nothing valid -> 0.
void attend(const double *q, const PagedKV &kv, const Paging &paging, int64_t b, int64_t kvHead,
            const std::vector<int64_t> &tokens, const std::vector<double> *logWeights,
            double scale, double softCap, double *out);

/// Dense decode of every (b, h): o [B, Hq, d] in f64.
std::vector<double> denseDecode(const std::vector<uint16_t> &q, int64_t heads, const PagedKV &kv,
                                const Paging &paging, double scale, double softCap);

/// Max |a - b| / (atol + rtol * |b|) over the arrays; <= 1 means within tolerance.
double toleranceRatio(const std::vector<double> &got, const std::vector<double> &want,
                      double atol, double rtol);

/// Deterministic pseudo-random data (splitmix64), so CPU and GPU runs see the same inputs.
class Rng {
public:
  explicit Rng(uint64_t seed) : state(seed) {}
  uint64_t next();
  double uniform(double lo, double hi);
  int64_t below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }

private:
  uint64_t state;
};

} // namespace ds::ref

#endif // DS_TOOLS_REFERENCE_REFERENCE_H
