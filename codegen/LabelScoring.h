#ifndef DS_CODEGEN_LABELSCORING_H
#define DS_CODEGEN_LABELSCORING_H

// The per-token part of label scoring (ALGORITHMS.md §1), shared by the label_score kernel
// (which stores the scores) and the score_topk kernel (which selects from them on chip).
//
// A CTA scores tokens of one (request b, score row). The query-label row(s), pre-multiplied by
// `scale`, stay in registers (with group_reduce = sum the g heads are summed first: one row); for
// group_reduce = max with g * r > kMaxQRegs floats they are kept in shared memory and read as
// broadcast vectors (each q vector once per batch of tokens). Per batch of U tokens a thread
// issues its U page-table loads, then all U * r / W label vectors (W elements, 16 bytes for r a
// multiple of 8), then the math. A token's labels are the r contiguous elements at
// `(hk * S + slot) * r` of the head-major cache.
#include "codegen/KernelBuilder.h"
#include "dialect/DSAttrs.h"

namespace mlir {
namespace ds {

/// The static facts of a label-scoring op (label_score, score_topk).
struct LabelScoreShape {
  int64_t hq, hkv, r, pageSize;
  GroupReduce reduce;
  float scale;

  int64_t groupSize() const { return hq / hkv; }
  /// Score rows per request: Hq, or Hkv when a group shares one row.
  int64_t rows() const { return reduce == GroupReduce::none ? hq : hkv; }
  /// Query rows whose dot products are kept apart (max); sum folds the group into one.
  int64_t qRows() const { return reduce == GroupReduce::max ? groupSize() : 1; }
  /// The config pass's choice of elements per label vector load: 16 bytes of bf16/f16 when r
  /// allows (the kernels read the config's vector_width).
  int64_t vectorWidth() const;
  /// The query rows live in shared memory: the kernel then takes g as an i64 parameter (a loop
  /// bound, so the q vectors are not all hoisted into registers).
  bool qShared() const;

  /// The shape of `op` (LabelScoreOp or ScoreTopKOp).
  template <typename OpTy> static LabelScoreShape of(OpTy op);
};

/// Kernel values the scoring reads: the q_label (or q) , label_cache and page_table buffers, the
/// cache's slot count S, max_pages, (qShared only) the g parameter and (gathering only) channels.
struct LabelScoreArgs {
  Value qLabel, labelCache, pageTable;
  Value slots, maxPages;
  Value groupSize;
  /// score_topk with channels: qLabel is q [B, Hq, headDim], gathered through channels [Hkv, r].
  Value channels = Value();
  int64_t headDim = 0;
};

class LabelScorer {
public:
  /// Call after KernelBuilder::begin(); adds the q rows' shared memory when shape.qShared().
  LabelScorer(KernelBuilder &kb, const LabelScoreShape &shape, const LabelScoreArgs &args,
              int64_t threads, int64_t vectorWidth);
  /// Loads the scaled query labels of request `bIdx`, score row `row` (indices). With shared
  /// q rows it ends with a barrier, so every thread of the CTA calls it.
  void loadQuery(Value bIdx, Value row);
  /// Scores of the request's tokens `pos` (indices; one batch of U): -inf where pos >= `nb` or
  /// the token's slot is outside [0, S).
  SmallVector<Value> score(llvm::ArrayRef<Value> pos, Value nb);

private:
  KernelBuilder &kb;
  LabelScoreShape shape;
  LabelScoreArgs args;
  int64_t threads, w, vecs;
  VectorType vecTy;
  Value negInf, zeroVec;
  Value bIdx, hk;
  SmallVector<SmallVector<Value>> qv; ///< registers: qv[j][c] = vector c of q row j
  Value qSmem;                        ///< shared: the qRows * r scaled floats
};

/// Config check shared by label_score and score_topk: `vector_width` divides r and fits 16 bytes.
LogicalResult verifyLabelVectorWidth(Operation *op, KernelConfigAttr cfg, int64_t r,
                                     int64_t elemBytes);

} // namespace ds
} // namespace mlir

#endif // DS_CODEGEN_LABELSCORING_H
