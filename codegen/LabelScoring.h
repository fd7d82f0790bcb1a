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
//
// Low-bit caches (fp8 e4m3, int4 in i32 words; ds.label_append) are read as 32-bit words, W
// labels (W * bits / 32 words, up to 16 bytes) per load, plus the token's f16 scale. The query
// row is normalized to its largest magnitude and kept as f16 pairs laid out as the words decode:
// fp8 bytes (0, 1) and (2, 3) of a word become an f16 pair each by a byte permute and two masks
// (the e4m3 bits moved into f16 fields: the value times 2^-8); int4 nibbles (j, j + 4) of a word
// by a shift, a mask with 1024.0's f16 bits and a subtraction of the token's 1024 + z (z the
// zero point in the scale's low 4 bits). Each load's pairs are
// multiplied and summed in f16 pairs (fma.rn.f16x2), then added in f32; the dot product is
// scaled by the row's magnitude and the token's scale.
#include "codegen/KernelBuilder.h"
#include "dialect/DSAttrs.h"
#include "dialect/DSOps.h"

namespace mlir {
namespace ds {

/// The static facts of a label-scoring op (label_score, score_topk).
struct LabelScoreShape {
  int64_t hq, hkv, r, pageSize; ///< r: labels per token (int4: 8 per word of the cache)
  GroupReduce reduce;
  float scale;
  LabelFormat format = LabelFormat::Plain;
  int64_t qBits = 16; ///< bits of a q_label / q element

  /// Bits of one stored label: the q type's for bf16/f16 caches, 8 (fp8) or 4 (int4).
  int64_t labelBits() const {
    return format == LabelFormat::FP8 ? 8 : format == LabelFormat::Int4 ? 4 : qBits;
  }
  bool lowBit() const { return format != LabelFormat::Plain; }

  int64_t groupSize() const { return hq / hkv; }
  /// Score rows per request: Hq, or Hkv when a group shares one row.
  int64_t rows() const { return reduce == GroupReduce::none ? hq : hkv; }
  /// Query rows whose dot products are kept apart (max); sum folds the group into one.
  int64_t qRows() const { return reduce == GroupReduce::max ? groupSize() : 1; }
  /// The config pass's choice of labels per vector load: 16 bytes when r allows (the kernels
  /// read the config's vector_width).
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
  /// Low-bit caches: the f16 scales [Hkv, S]; labelCache is then viewed as i32 words.
  Value labelScales = Value();
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
  /// The page-table entries (i32; -1 where pos >= nb) of tokens `pos`: score()'s first loads,
  /// which a caller may issue a step ahead (score_topk), then score(pos, nb, entries) (an empty
  /// `pageOf` reads them in place).
  SmallVector<Value> pages(llvm::ArrayRef<Value> pos, Value nb);
  SmallVector<Value> score(llvm::ArrayRef<Value> pos, Value nb, llvm::ArrayRef<Value> pageOf);

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
  /// Low-bit caches: qh[j][p] = f16 pair p of normalized q row j (in decode order), rowScale[j]
  /// = the row's magnitude times the decode's factor.
  SmallVector<SmallVector<Value>> qh;
  SmallVector<Value> rowScale;

  void packLowBitQuery();
  /// page_table[b, t / P] where `inRow`, else -1 (i32).
  Value loadPage(Value t, Value inRow);
  SmallVector<Value> scoreLowBit(llvm::ArrayRef<Value> valid, llvm::ArrayRef<Value> slotIdx);
};

/// Labels (within one load) of the f16 pairs a 32-bit word of a low-bit cache decodes into, in
/// decode order: fp8 (0, 1), (2, 3); int4 (0, 4), (1, 5), (2, 6), (3, 7).
llvm::SmallVector<std::pair<int64_t, int64_t>> lowBitPairs(LabelFormat format);

/// The label cache as a kernel buffer: low-bit caches are viewed as i32 words.
class PlanContext;
BufferRef labelCacheRef(PlanContext &ctx, const LabelScoreShape &shape, Value cache);

/// Config check shared by label_score and score_topk: `vector_width` divides r and fits 16 bytes
/// (low-bit caches: whole 32-bit words); a low-bit cache needs the query rows in registers.
LogicalResult verifyLabelConfig(Operation *op, KernelConfigAttr cfg, const LabelScoreShape &shape);

} // namespace ds
} // namespace mlir

#endif // DS_CODEGEN_LABELSCORING_H
