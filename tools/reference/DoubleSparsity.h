#ifndef DS_TOOLS_REFERENCE_DOUBLESPARSITY_H
#define DS_TOOLS_REFERENCE_DOUBLESPARSITY_H

// A Double Sparsity decode problem on the host (random paged KV cache, channels, label cache as
// label_append writes it, ragged paging) and the check of a pipeline's outputs against the CPU
// reference. Shared by the GPU tests, the example program and ds-bench.
#include "tools/reference/LowBitLabels.h"
#include "tools/reference/Reference.h"

#include <string>

namespace ds::ref {

struct DSShape {
  std::vector<int32_t> lens;
  int64_t hq = 32, hkv = 32, d = 128, r = 16, k = 256, pageSize = 1;
  Half type = Half::BF16;
  bool shared = false; ///< one selection per kv head, scores summed over the group
  int64_t denseBelow = 0;
  double softCap = 0;
};

struct DSProblem {
  DSShape shape;
  Paging paging;
  PagedKV kv;
  std::vector<uint16_t> q, labels; ///< labels: [Hkv, slots, r]
  std::vector<int32_t> channels;   ///< [Hkv, r]
  /// A low-bit label cache (quantized from `labels` by setLabelFormat): the pipeline reads it
  /// and checkDS scores with its dequantized values.
  LabelFormat labelFormat = LabelFormat::Plain;
  LowBitLabels lowBit;
  void setLabelFormat(LabelFormat f);
  bool lowBitLabels() const { return labelFormat != LabelFormat::Plain; }
  /// The label cache's last dim: r labels, or r / 8 words of int4 labels.
  int64_t labelCacheDim() const { return labelFormat == LabelFormat::Int4 ? shape.r / 8 : shape.r; }
  int64_t slots() const { return kv.numPages * kv.pageSize; }
  int64_t selRows() const { return shape.shared ? shape.hkv : shape.hq; }
  double scale() const;
};

/// Paging of a ragged batch: each request gets distinct random pages of a pool of `numPages`;
/// page-table entries past a request's pages hold out-of-range page numbers.
Paging makePaging(Rng &rng, const std::vector<int32_t> &lens, int64_t pageSize, int64_t &numPages);

DSProblem makeDSProblem(const DSShape &shape, uint64_t seed);

/// Checks heavy_tokens [B, Hsel, k] (a top-k of the reference scores within tolerance, exactly
/// min(k, n_b) distinct valid indices then -1) and o [B, Hq, d] (attention over the selected
/// tokens, or all tokens below dense_below). Returns "" when both hold, else what is wrong.
std::string checkDS(const DSProblem &p, const std::vector<int32_t> &heavyTokens,
                    const std::vector<uint16_t> &o);

} // namespace ds::ref

#endif // DS_TOOLS_REFERENCE_DOUBLESPARSITY_H
