// Verifiers of the ds ops. ODS checks element types; these check ranks, the dims that must
// agree across operands, and attribute ranges, naming the operand or attribute at fault.
#include "dialect/DSOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;
using namespace mlir::ds;

#define GET_OP_CLASSES
#include "dialect/DSOps.cpp.inc"

namespace {
/// Collects shape facts of one op and reports the first violation.
class ShapeCheck {
public:
  explicit ShapeCheck(Operation *op) : op(op) {}

  /// `value` named `name` must have rank `rank`.
  ShapeCheck &rank(Value value, StringRef name, int64_t rank) {
    if (failed_ || cast<RankedTensorType>(value.getType()).getRank() == rank)
      return *this;
    (void)(fail() << name << " must have rank " << rank << ", got "
                  << cast<RankedTensorType>(value.getType()).getRank());
    return *this;
  }
  /// Dim `i` of `a` and dim `j` of `b` must agree where both are static.
  ShapeCheck &same(Value a, StringRef na, unsigned i, Value b, StringRef nb, unsigned j) {
    if (failed_)
      return *this;
    int64_t x = dim(a, i), y = dim(b, j);
    if (ShapedType::isDynamic(x) || ShapedType::isDynamic(y) || x == y)
      return *this;
    (void)(fail() << na << " dim " << i << " (" << x << ") must equal " << nb << " dim " << j
                  << " (" << y << ")");
    return *this;
  }
  /// Dim `i` of `a` must be static and equal `expected`; `what` says what it stands for.
  ShapeCheck &is(Value a, StringRef na, unsigned i, int64_t expected, StringRef what) {
    if (failed_)
      return *this;
    int64_t x = dim(a, i);
    if (x == expected)
      return *this;
    InFlightDiagnostic d = fail();
    d << na << " dim " << i << " must be " << what << " (" << expected << "), got ";
    if (ShapedType::isDynamic(x))
      d << "?";
    else
      d << x;
    return *this;
  }
  /// Dim `i` of `a`, where static, must be at most `max` (the compiler unrolls over it).
  ShapeCheck &atMost(Value a, StringRef na, unsigned i, int64_t max, StringRef what) {
    int64_t x = dim(a, i);
    if (failed_ || ShapedType::isDynamic(x) || x <= max)
      return *this;
    (void)(fail() << na << " dim " << i << " (" << what << ", " << x << ") must be at most "
                  << max);
    return *this;
  }
  /// Dim `i` of `a` must be static, at least 1 and at most `max` (head counts, head, key,
  /// value and label dims, page sizes: the kernels divide and unroll by them, and multiply
  /// them into 64-bit offsets, which a dim past 65536 could overflow).
  ShapeCheck &staticDim(Value a, StringRef na, unsigned i, StringRef what,
                        int64_t max = kMaxStructuralDim) {
    const int64_t x = dim(a, i);
    if (failed_ || (!ShapedType::isDynamic(x) && x >= 1 && x <= max))
      return *this;
    if (ShapedType::isDynamic(x))
      (void)(fail() << na << " dim " << i << " (" << what << ") must be static");
    else if (x < 1)
      (void)(fail() << na << " dim " << i << " (" << what << ") must be at least 1, got " << x);
    else
      (void)(fail() << na << " dim " << i << " (" << what << ") must be at most " << max
                    << ", got " << x);
    return *this;
  }
  ShapeCheck &sameElementType(Value a, StringRef na, Value b, StringRef nb) {
    if (failed_ || elem(a) == elem(b))
      return *this;
    (void)(fail() << nb << " element type " << elem(b) << " must match " << na << " ("
                  << elem(a) << ")");
    return *this;
  }
  /// A free-form condition.
  ShapeCheck &require(bool ok, const Twine &message) {
    if (!failed_ && !ok)
      fail() << message;
    return *this;
  }
  LogicalResult result() const { return failure(failed_); }

  static int64_t dim(Value v, unsigned i) {
    auto t = cast<RankedTensorType>(v.getType());
    return i < t.getRank() ? t.getDimSize(i) : ShapedType::kDynamic;
  }
  static Type elem(Value v) { return cast<RankedTensorType>(v.getType()).getElementType(); }

private:
  InFlightDiagnostic fail() {
    failed_ = true;
    return op->emitOpError();
  }
  Operation *op;
  bool failed_ = false;
};

/// Heads of a query-side tensor must be a multiple of the kv heads.
ShapeCheck &checkGroups(ShapeCheck &c, Value q, StringRef nq, unsigned iq, Value kv, StringRef nkv,
                        unsigned ikv) {
  // Head counts are static and bounded: kernels unroll over a group's heads.
  c.staticDim(q, nq, iq, "query heads", kMaxQueryHeads)
      .staticDim(kv, nkv, ikv, "kv heads", kMaxQueryHeads);
  int64_t hq = ShapeCheck::dim(q, iq), hkv = ShapeCheck::dim(kv, ikv);
  if (!ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hkv))
    c.require(hkv > 0 && hq % hkv == 0, Twine(nq) + " heads (" + Twine(hq) +
                                            ") must be a multiple of " + nkv + " heads (" +
                                            Twine(hkv) + ")");
  return c;
}

/// Rows of a selection-producing op: Hq, or Hkv when a group shares one row.
int64_t selectionRows(GroupReduce reduce, int64_t hq, int64_t hkv) {
  return reduce == GroupReduce::none ? hq : hkv;
}

ShapeCheck &checkPaging(ShapeCheck &c, Value pageTable, Value seqLens, Value batchRef,
                        StringRef batchName) {
  c.rank(pageTable, "page_table", 2).rank(seqLens, "seq_lens", 1);
  c.same(seqLens, "seq_lens", 0, pageTable, "page_table", 0);
  c.same(seqLens, "seq_lens", 0, batchRef, batchName, 0);
  return c;
}

/// K or V cache [num_pages, P, Hkv, d].
ShapeCheck &checkKVCache(ShapeCheck &c, Value q, Value k, Value v) {
  c.rank(q, "q", 3).rank(k, "k_cache", 4).rank(v, "v_cache", 4);
  c.staticDim(q, "q", 2, "head dim").staticDim(k, "k_cache", 1, "page size");
  for (unsigned i = 0; i < 4; ++i)
    c.same(k, "k_cache", i, v, "v_cache", i);
  c.same(q, "q", 2, k, "k_cache", 3);
  checkGroups(c, q, "q", 1, k, "k_cache", 2);
  c.sameElementType(q, "q", k, "k_cache").sameElementType(q, "q", v, "v_cache");
  return c;
}

LogicalResult checkScaleAndCap(Operation *op, float scale, float softCap) {
  if (!(scale > 0.0f) || !std::isfinite(scale))
    return op->emitOpError() << "attribute 'scale' must be a positive finite number, got "
                             << scale;
  if (!(softCap >= 0.0f) || !std::isfinite(softCap))
    return op->emitOpError() << "attribute 'soft_cap' must be >= 0 (0 disables it), got "
                             << softCap;
  return success();
}
} // namespace

LogicalResult LabelGatherOp::verify() {
  ShapeCheck c(*this);
  c.rank(getX(), "x", 3).rank(getChannels(), "channels", 2).rank(getLabels(), "result", 3);
  c.staticDim(getChannels(), "channels", 1, "label dim");
  c.same(getX(), "x", 0, getLabels(), "result", 0).same(getX(), "x", 1, getLabels(), "result", 1);
  c.same(getChannels(), "channels", 1, getLabels(), "result", 2);
  checkGroups(c, getX(), "x", 1, getChannels(), "channels", 0);
  c.staticDim(getX(), "x", 2, "head dim");
  c.require(ShapeCheck::dim(getChannels(), 1) <= ShapeCheck::dim(getX(), 2) ||
                ShapedType::isDynamic(ShapeCheck::dim(getX(), 2)),
            "label dim (channels dim 1) must be <= head dim (x dim 2)");
  c.sameElementType(getX(), "x", getLabels(), "result");
  return c.result();
}

LabelFormat mlir::ds::labelFormatOf(Type t) {
  if (isa<Float8E4M3FNType>(t))
    return LabelFormat::FP8;
  if (t.isInteger(32))
    return LabelFormat::Int4;
  return LabelFormat::Plain;
}

/// A label cache [Hkv, S, r / labelsPerElement] of `r` labels per slot (dynamic: unchecked) and,
/// for the low-bit formats only, its scales [Hkv, S].
static void checkLabelCache(ShapeCheck &c, Value cache, Value scales, int64_t r) {
  c.rank(cache, "label_cache", 3).staticDim(cache, "label_cache", 2, "labels per slot");
  LabelFormat f = labelFormatOf(ShapeCheck::elem(cache));
  if (f == LabelFormat::Plain) {
    c.require(!scales, "label_scales are only for fp8 (f8E4M3FN) and int4 (i32) label caches");
    if (!ShapedType::isDynamic(r))
      c.is(cache, "label_cache", 2, r, "the label dim");
    return;
  }
  c.require(static_cast<bool>(scales),
            "an fp8 (f8E4M3FN) or int4 (i32) label cache needs its label_scales [Hkv, S] (f16)");
  if (failed(c.result()))
    return;
  c.rank(scales, "label_scales", 2);
  c.same(scales, "label_scales", 0, cache, "label_cache", 0)
      .same(scales, "label_scales", 1, cache, "label_cache", 1);
  if (ShapedType::isDynamic(r))
    return;
  if (f == LabelFormat::Int4) {
    c.require(r % 8 == 0, "an int4 label cache needs a label dim that is a multiple of 8, got " +
                              Twine(r));
    c.is(cache, "label_cache", 2, r / 8, "the label dim / 8 (i32 words of 8 int4 labels)");
  } else {
    c.require(r % 4 == 0, "an fp8 label cache needs a label dim that is a multiple of 4 (whole "
                          "32-bit words of labels), got " + Twine(r));
    c.is(cache, "label_cache", 2, r, "the label dim");
  }
}

LogicalResult LabelAppendOp::verify() {
  ShapeCheck c(*this);
  Value cache = getLabelCache(), k = getK(), ch = getChannels(), slots = getSlotMapping();
  c.rank(k, "k", 3).rank(ch, "channels", 2).rank(slots, "slot_mapping", 1)
      .rank(getResult(), "result", 3);
  c.staticDim(k, "k", 1, "kv heads", kMaxQueryHeads).staticDim(k, "k", 2, "head dim");
  c.staticDim(ch, "channels", 1, "label dim");
  if (failed(c.result()))
    return failure();
  checkLabelCache(c, cache, getLabelScales(), ShapeCheck::dim(ch, 1));
  c.same(cache, "label_cache", 0, k, "k", 1).same(cache, "label_cache", 0, ch, "channels", 0);
  c.same(slots, "slot_mapping", 0, k, "k", 0);
  for (unsigned i = 0; i < 3; ++i)
    c.same(cache, "label_cache", i, getResult(), "result", i);
  c.require(ShapeCheck::dim(ch, 1) <= ShapeCheck::dim(k, 2),
            "label dim (channels dim 1) must be <= head dim (k dim 2)");
  if (labelFormatOf(ShapeCheck::elem(cache)) == LabelFormat::Plain)
    c.sameElementType(cache, "label_cache", k, "k");
  c.sameElementType(cache, "label_cache", getResult(), "result");
  Value scales = getLabelScales(), newScales = getNewLabelScales();
  c.require(static_cast<bool>(scales) == static_cast<bool>(newScales),
            "label_scales and the updated scales (result 1) come together");
  if (scales && newScales && succeeded(c.result()))
    for (unsigned i = 0; i < 2; ++i)
      c.same(scales, "label_scales", i, newScales, "result 1", i);
  return c.result();
}

/// Label scoring operands (label_score, score_topk) and the batch and row dims of `out`.
static LogicalResult checkLabelScoring(Operation *op, ShapeCheck &c, Value ql, Value cache,
                                       Value scales, Value pageTable, Value seqLens, Value out,
                                       GroupReduce reduce, float scale,
                                       Value channels = Value()) {
  // With channels, the first operand is q [B, Hq, d] whose labels are gathered on the fly.
  StringRef qn = channels ? "q" : "q_label";
  c.rank(ql, qn, 3).rank(out, "result", 3);
  Value labels = channels ? channels : ql; // its dim `labelDim` is r
  unsigned labelDim = channels ? 1 : 2;
  if (channels) {
    c.rank(channels, "channels", 2).staticDim(channels, "channels", 1, "label dim");
    c.staticDim(ql, qn, 2, "head dim");
    c.same(channels, "channels", 0, cache, "label_cache", 0);
    if (succeeded(c.result()))
      c.require(ShapeCheck::dim(channels, 1) <= ShapeCheck::dim(ql, 2),
                "label dim (channels dim 1) must be <= head dim (q dim 2)");
  } else {
    c.staticDim(ql, qn, 2, "label dim");
  }
  if (failed(c.result()))
    return failure();
  // The kernels unroll over the label dim and the group: bounded, so compile time is too.
  c.atMost(labels, channels ? "channels" : qn, labelDim, 256, "label dim");
  checkLabelCache(c, cache, scales, ShapeCheck::dim(labels, labelDim));
  checkGroups(c, ql, qn, 1, cache, "label_cache", 0);
  checkPaging(c, pageTable, seqLens, ql, qn);
  c.same(ql, qn, 0, out, "result", 0);
  if (labelFormatOf(ShapeCheck::elem(cache)) == LabelFormat::Plain)
    c.sameElementType(ql, qn, cache, "label_cache");
  if (succeeded(c.result()))
    c.is(out, "result", 1,
         selectionRows(reduce, ShapeCheck::dim(ql, 1), ShapeCheck::dim(cache, 0)),
         reduce == GroupReduce::none ? "query heads" : "kv heads (group_reduce)");
  if (failed(c.result()))
    return failure();
  return checkScaleAndCap(op, scale, 0.0f);
}

LogicalResult LabelScoreOp::verify() {
  ShapeCheck c(*this);
  if (failed(checkLabelScoring(*this, c, getQLabel(), getLabelCache(), getLabelScales(),
                               getPageTable(), getSeqLens(), getScores(), getGroupReduce(),
                               getScale().convertToFloat())))
    return failure();
  if (Value cand = getCandidates()) {
    c.rank(cand, "candidates", 3);
    for (unsigned i = 0; i < 3; ++i)
      c.same(cand, "candidates", i, getScores(), "result", i);
  }
  return c.result();
}

LogicalResult ScoreTopKOp::verify() {
  ShapeCheck c(*this);
  if (failed(checkLabelScoring(*this, c, getQLabel(), getLabelCache(), getLabelScales(),
                               getPageTable(), getSeqLens(), getIndices(), getGroupReduce(),
                               getScale().convertToFloat(), getChannels())))
    return failure();
  c.is(getIndices(), "result", 2, getK(), "k");
  return c.result();
}

static LogicalResult verifySummaryPair(ShapeCheck &c, Value kmin, Value kmax, Value newMin,
                                       Value newMax) {
  c.rank(kmin, "kmin", 3).rank(kmax, "kmax", 3).rank(newMin, "result 0", 3)
      .rank(newMax, "result 1", 3);
  for (unsigned i = 0; i < 3; ++i)
    c.same(kmin, "kmin", i, kmax, "kmax", i)
        .same(kmin, "kmin", i, newMin, "result 0", i)
        .same(kmin, "kmin", i, newMax, "result 1", i);
  c.sameElementType(kmin, "kmin", kmax, "kmax")
      .sameElementType(kmin, "kmin", newMin, "result 0")
      .sameElementType(kmin, "kmin", newMax, "result 1");
  return c.result();
}

LogicalResult PageSummaryOp::verify() {
  ShapeCheck c(*this);
  (void)verifySummaryPair(c, getKmin(), getKmax(), getNewKmin(), getNewKmax());
  c.rank(getK(), "k", 4).staticDim(getK(), "k", 1, "page size");
  c.same(getKmin(), "kmin", 0, getK(), "k", 0).same(getKmin(), "kmin", 1, getK(), "k", 2)
      .same(getKmin(), "kmin", 2, getK(), "k", 3);
  c.sameElementType(getKmin(), "kmin", getK(), "k");
  c.rank(getPageTable(), "page_table", 2).rank(getSeqLens(), "seq_lens", 1);
  c.same(getSeqLens(), "seq_lens", 0, getPageTable(), "page_table", 0);
  return c.result();
}

LogicalResult PageSummaryAppendOp::verify() {
  ShapeCheck c(*this);
  (void)verifySummaryPair(c, getKmin(), getKmax(), getNewKmin(), getNewKmax());
  c.rank(getK(), "k", 3).rank(getSlotMapping(), "slot_mapping", 1);
  c.same(getKmin(), "kmin", 1, getK(), "k", 1).same(getKmin(), "kmin", 2, getK(), "k", 2);
  c.same(getSlotMapping(), "slot_mapping", 0, getK(), "k", 0);
  c.sameElementType(getKmin(), "kmin", getK(), "k");
  return c.result();
}

/// page_score's operand checks and its result's batch and row dims (`out` is the scores or the
/// fused op's indices).
static void checkPageScoring(ShapeCheck &c, Value q, Value kmin, Value kmax, Value pageTable,
                             Value seqLens, Value out, GroupReduce reduce) {
  c.rank(q, "q", 3).rank(kmin, "kmin", 3).rank(kmax, "kmax", 3).rank(out, "result", 3);
  for (unsigned i = 0; i < 3; ++i)
    c.same(kmin, "kmin", i, kmax, "kmax", i);
  c.staticDim(q, "q", 2, "head dim").same(q, "q", 2, kmin, "kmin", 2);
  checkGroups(c, q, "q", 1, kmin, "kmin", 1);
  checkPaging(c, pageTable, seqLens, q, "q");
  c.same(q, "q", 0, out, "result", 0);
  c.sameElementType(q, "q", kmin, "kmin").sameElementType(q, "q", kmax, "kmax");
  if (succeeded(c.result()))
    c.is(out, "result", 1, selectionRows(reduce, ShapeCheck::dim(q, 1), ShapeCheck::dim(kmin, 1)),
         reduce == GroupReduce::none ? "query heads" : "kv heads (group_reduce)");
}

LogicalResult PageScoreTopKOp::verify() {
  ShapeCheck c(*this);
  checkPageScoring(c, getQ(), getKmin(), getKmax(), getPageTable(), getSeqLens(), getIndices(),
                   getGroupReduce());
  c.is(getIndices(), "result", 2, getK(), "k");
  return c.result();
}

LogicalResult PageScoreOp::verify() {
  ShapeCheck c(*this);
  checkPageScoring(c, getQ(), getKmin(), getKmax(), getPageTable(), getSeqLens(), getScores(),
                   getGroupReduce());
  c.same(getPageTable(), "page_table", 1, getScores(), "result", 2);
  return c.result();
}

LogicalResult TopKOp::verify() {
  ShapeCheck c(*this);
  c.rank(getScores(), "scores", 3).rank(getLens(), "lens", 1).rank(getIndices(), "result", 3);
  c.same(getScores(), "scores", 0, getLens(), "lens", 0)
      .same(getScores(), "scores", 0, getIndices(), "result", 0)
      .same(getScores(), "scores", 1, getIndices(), "result", 1);
  c.is(getIndices(), "result", 2, getK(), "k");
  int64_t n = ShapeCheck::dim(getScores(), 2);
  c.require(ShapedType::isDynamic(n) || static_cast<int64_t>(getK()) <= n,
            "attribute 'k' (" + Twine(getK()) + ") must be <= scores dim 2 (" + Twine(n) + ")");
  return c.result();
}

LogicalResult TopPOp::verify() {
  ShapeCheck c(*this);
  c.rank(getLogits(), "logits", 3).rank(getIndices(), "indices", 3).rank(getKept(), "result 0", 3)
      .rank(getCounts(), "result 1", 2);
  for (unsigned i = 0; i < 3; ++i)
    c.same(getLogits(), "logits", i, getIndices(), "indices", i)
        .same(getLogits(), "logits", i, getKept(), "result 0", i);
  c.same(getLogits(), "logits", 0, getCounts(), "result 1", 0)
      .same(getLogits(), "logits", 1, getCounts(), "result 1", 1);
  float p = getTopP().convertToFloat();
  c.require(p > 0.0f && p <= 1.0f, "attribute 'top_p' must be in (0, 1], got " + Twine(std::to_string(p)));
  return c.result();
}

LogicalResult SampleResidualOp::verify() {
  ShapeCheck c(*this);
  c.rank(getFixed(), "fixed", 3).rank(getSeqLens(), "seq_lens", 1).rank(getPhilox(), "philox", 1)
      .rank(getIndices(), "result 0", 3).rank(getLogWeights(), "result 1", 3);
  c.is(getPhilox(), "philox", 0, 2, "[seed, offset]");
  c.same(getFixed(), "fixed", 0, getSeqLens(), "seq_lens", 0);
  for (unsigned i = 0; i < 2; ++i)
    c.same(getFixed(), "fixed", i, getIndices(), "result 0", i);
  for (unsigned i = 0; i < 3; ++i)
    c.same(getIndices(), "result 0", i, getLogWeights(), "result 1", i);
  int64_t k = ShapeCheck::dim(getFixed(), 2);
  c.require(!ShapedType::isDynamic(k), "fixed dim 2 must be static (it sizes the result)");
  if (succeeded(c.result()))
    c.is(getIndices(), "result 0", 2,
         static_cast<int64_t>(getSinks() + getWindow() + getNumSamples()) + k,
         "sinks + window + fixed dim 2 + num_samples");
  return c.result();
}

LogicalResult ExpandPagesOp::verify() {
  ShapeCheck c(*this);
  Value pages = getPages(), tokens = getTokens();
  c.rank(pages, "pages", 3).rank(getSeqLens(), "seq_lens", 1).rank(tokens, "result", 3);
  c.same(pages, "pages", 0, getSeqLens(), "seq_lens", 0)
      .same(pages, "pages", 0, tokens, "result", 0)
      .same(pages, "pages", 1, tokens, "result", 1);
  int64_t kp = ShapeCheck::dim(pages, 2);
  if (succeeded(c.result()) && !ShapedType::isDynamic(kp))
    c.is(tokens, "result", 2, kp * static_cast<int64_t>(getPageSize()), "pages dim 2 * page_size");
  return c.result();
}

/// int4 records [S, Hkv, d / 8 + 4] (values, then scales) for a head dim `d`.
static void checkInt4Keys(ShapeCheck &c, Value kq, int64_t d) {
  c.rank(kq, "kq", 3);
  c.require(ShapedType::isDynamic(d) || (d % 32 == 0 && d >= 32 && d <= 256),
            "head dim must be a multiple of 32 (groups of 32 channels) up to 256, got " + Twine(d));
  if (succeeded(c.result()) && !ShapedType::isDynamic(d))
    c.is(kq, "kq", 2, int4RecordWords(d), "head dim / 8 + 4 (the values, then four words of scales)");
}

LogicalResult Int4AppendOp::verify() {
  ShapeCheck c(*this);
  Value k = getK();
  c.rank(k, "k", 3).rank(getSlotMapping(), "slot_mapping", 1);
  c.staticDim(k, "k", 1, "kv heads").staticDim(k, "k", 2, "head dim");
  if (failed(c.result()))
    return failure();
  checkInt4Keys(c, getKq(), ShapeCheck::dim(k, 2));
  c.same(getKq(), "kq", 1, k, "k", 1).same(getSlotMapping(), "slot_mapping", 0, k, "k", 0);
  for (unsigned i = 0; i < 3; ++i)
    c.same(getKq(), "kq", i, getNewKq(), "result", i);
  return c.result();
}

LogicalResult Int4ScoreOp::verify() {
  ShapeCheck c(*this);
  Value q = getQ(), cand = getCandidates();
  c.rank(q, "q", 3).rank(cand, "candidates", 3).rank(getLogits(), "result", 3);
  c.staticDim(q, "q", 2, "head dim");
  if (failed(c.result()))
    return failure();
  int64_t d = ShapeCheck::dim(q, 2);
  c.require(d == 32 || d == 64 || d == 128 || d == 256,
            "head dim (q dim 2) must be 32, 64, 128 or 256, got " + Twine(d));
  checkInt4Keys(c, getKq(), d);
  checkGroups(c, q, "q", 1, getKq(), "kq", 1);
  checkPaging(c, getPageTable(), getSeqLens(), q, "q");
  c.same(q, "q", 0, cand, "candidates", 0);
  for (unsigned i = 0; i < 3; ++i)
    c.same(cand, "candidates", i, getLogits(), "result", i);
  if (succeeded(c.result()))
    c.is(cand, "candidates", 1,
         selectionRows(getGroupReduce(), ShapeCheck::dim(q, 1), ShapeCheck::dim(getKq(), 1)),
         getGroupReduce() == GroupReduce::none ? "query heads" : "kv heads (group_reduce)");
  if (failed(c.result()))
    return failure();
  return checkScaleAndCap(*this, getScale().convertToFloat(), 0.0f);
}

LogicalResult SparseDecodeOp::verify() {
  ShapeCheck c(*this);
  Value q = getQ(), idx = getIndices();
  checkKVCache(c, q, getKCache(), getVCache());
  checkPaging(c, getPageTable(), getSeqLens(), q, "q");
  c.rank(idx, "indices", 3).rank(getO(), "result", 3);
  c.same(q, "q", 0, idx, "indices", 0);
  for (unsigned i = 0; i < 3; ++i)
    c.same(q, "q", i, getO(), "result", i);
  c.sameElementType(q, "q", getO(), "result");
  if (succeeded(c.result())) {
    int64_t hsel = ShapeCheck::dim(idx, 1), hq = ShapeCheck::dim(q, 1),
            hkv = ShapeCheck::dim(getKCache(), 2);
    c.require(hsel == hq || hsel == hkv,
              "indices dim 1 must be the query heads (" + Twine(hq) + ") or the kv heads (" +
                  Twine(hkv) + "), got " +
                  (ShapedType::isDynamic(hsel) ? Twine("?") : Twine(hsel)));
  }
  if (Value w = getLogWeights()) {
    c.rank(w, "log_weights", 3);
    for (unsigned i = 0; i < 3; ++i)
      c.same(idx, "indices", i, w, "log_weights", i);
  }
  // I64Attr getters return uint64_t: read the signed value.
  int64_t denseBelow = getDenseBelowAttr().getInt();
  c.require(denseBelow >= 0, "attribute 'dense_below' must be >= 0, got " + Twine(denseBelow));
  if (failed(c.result()))
    return failure();
  return checkScaleAndCap(*this, getScale().convertToFloat(), getSoftCap().convertToFloat());
}

LogicalResult DenseDecodeOp::verify() {
  ShapeCheck c(*this);
  Value q = getQ();
  checkKVCache(c, q, getKCache(), getVCache());
  checkPaging(c, getPageTable(), getSeqLens(), q, "q");
  c.rank(getO(), "result", 3);
  for (unsigned i = 0; i < 3; ++i)
    c.same(q, "q", i, getO(), "result", i);
  c.sameElementType(q, "q", getO(), "result");
  if (failed(c.result()))
    return failure();
  return checkScaleAndCap(*this, getScale().convertToFloat(), getSoftCap().convertToFloat());
}

LogicalResult DecodePartialOp::verify() {
  ShapeCheck c(*this);
  Value q = getQ(), acc = getAcc(), ml = getMl();
  checkKVCache(c, q, getKCache(), getVCache());
  checkPaging(c, getPageTable(), getSeqLens(), q, "q");
  c.rank(acc, "acc", 4).rank(ml, "ml", 4);
  for (unsigned i = 0; i < 2; ++i)
    c.same(q, "q", i, acc, "acc", i).same(q, "q", i, ml, "ml", i);
  c.same(q, "q", 2, acc, "acc", 3).same(acc, "acc", 2, ml, "ml", 2).is(ml, "ml", 3, 2, "(m, l)");
  if (Value idx = getIndices()) {
    c.rank(idx, "indices", 3).same(q, "q", 0, idx, "indices", 0);
    if (succeeded(c.result())) {
      int64_t hsel = ShapeCheck::dim(idx, 1), hq = ShapeCheck::dim(q, 1),
              hkv = ShapeCheck::dim(getKCache(), 2);
      c.require(hsel == hq || hsel == hkv,
                "indices dim 1 must be the query heads or the kv heads");
      c.staticDim(idx, "indices", 2, "selection size", kMaxTopK);
    }
    if (Value w = getLogWeights()) {
      c.rank(w, "log_weights", 3);
      for (unsigned i = 0; i < 3; ++i)
        c.same(idx, "indices", i, w, "log_weights", i);
    }
  } else {
    c.require(!getLogWeights(), "log_weights need indices");
  }
  c.require(getDenseBelowAttr().getInt() >= 0, "attribute 'dense_below' must be >= 0");
  if (failed(c.result()))
    return failure();
  return checkScaleAndCap(*this, getScale().convertToFloat(), getSoftCap().convertToFloat());
}

LogicalResult DecodeMergeOp::verify() {
  ShapeCheck c(*this);
  Value acc = getAcc(), ml = getMl(), o = getO();
  c.rank(acc, "acc", 4).rank(ml, "ml", 4).rank(o, "result", 3);
  for (unsigned i = 0; i < 3; ++i)
    c.same(acc, "acc", i, ml, "ml", i);
  c.is(ml, "ml", 3, 2, "(m, l)");
  c.same(acc, "acc", 0, o, "result", 0).same(acc, "acc", 1, o, "result", 1)
      .same(acc, "acc", 3, o, "result", 2);
  c.staticDim(acc, "acc", 3, "head dim");
  return c.result();
}

/// Shared by prefill and decode: q, k [N, H, d], v [N, H, e], slopes [H], states [S, H, d, e].
static void checkLinearOperands(ShapeCheck &c, Value q, Value k, Value v, Value slopes,
                                Value states, Value o) {
  c.rank(q, "q", 3).rank(k, "k", 3).rank(v, "v", 3).rank(slopes, "slopes", 1)
      .rank(states, "states", 4).rank(o, "result 0", 3);
  for (unsigned i = 0; i < 3; ++i)
    c.same(q, "q", i, k, "k", i);
  c.same(q, "q", 0, v, "v", 0).same(q, "q", 1, v, "v", 1);
  c.staticDim(q, "q", 1, "heads").staticDim(q, "q", 2, "key dim").staticDim(v, "v", 2, "value dim");
  c.same(q, "q", 1, slopes, "slopes", 0).same(q, "q", 1, states, "states", 1)
      .same(q, "q", 2, states, "states", 2).same(v, "v", 2, states, "states", 3);
  c.same(v, "v", 0, o, "result 0", 0).same(v, "v", 1, o, "result 0", 1)
      .same(v, "v", 2, o, "result 0", 2);
  c.sameElementType(q, "q", k, "k").sameElementType(q, "q", v, "v")
      .sameElementType(q, "q", o, "result 0");
}

LogicalResult LinearAttnPrefillOp::verify() {
  ShapeCheck c(*this);
  checkLinearOperands(c, getQ(), getK(), getV(), getSlopes(), getStates(), getO());
  c.rank(getCuSeqlens(), "cu_seqlens", 1).rank(getStateIndices(), "state_indices", 1)
      .rank(getHasInitialState(), "has_initial_state", 1).rank(getNewStates(), "result 1", 4);
  for (unsigned i = 0; i < 4; ++i)
    c.same(getStates(), "states", i, getNewStates(), "result 1", i);
  c.same(getStateIndices(), "state_indices", 0, getHasInitialState(), "has_initial_state", 0);
  int64_t nb = ShapeCheck::dim(getStateIndices(), 0), nc = ShapeCheck::dim(getCuSeqlens(), 0);
  c.require(ShapedType::isDynamic(nb) || ShapedType::isDynamic(nc) || nc == nb + 1,
            "cu_seqlens dim 0 (" + Twine(nc) + ") must be state_indices dim 0 + 1 (" +
                Twine(nb + 1) + ")");
  Value inter = getIntermediate();
  c.require(static_cast<bool>(inter) == getKeepIntermediate(),
            "result 'intermediate' is present exactly when 'keep_intermediate' is set");
  if (inter) {
    c.rank(inter, "intermediate", 4).same(inter, "intermediate", 0, getQ(), "q", 0);
    for (unsigned i = 1; i < 4; ++i)
      c.same(inter, "intermediate", i, getStates(), "states", i);
  }
  return c.result();
}

LogicalResult LinearAttnDecodeOp::verify() {
  ShapeCheck c(*this);
  checkLinearOperands(c, getQ(), getK(), getV(), getSlopes(), getStates(), getO());
  c.rank(getStateIndices(), "state_indices", 1).rank(getNewStates(), "result 1", 4);
  c.same(getQ(), "q", 0, getStateIndices(), "state_indices", 0);
  for (unsigned i = 0; i < 4; ++i)
    c.same(getStates(), "states", i, getNewStates(), "result 1", i);
  return c.result();
}

//===----------------------------------------------------------------------===//
// Plan and launch
//===----------------------------------------------------------------------===//

LogicalResult PlanOp::verify() {
  for (Operation &op : getBody().front())
    if (!isa<LaunchOp>(op))
      return op.emitOpError("is not allowed in a ds.plan (only ds.launch)");
  return success();
}

LogicalResult LaunchOp::verify() {
  if (getGrid().size() != 3)
    return emitOpError("grid must have 3 expressions, got ") << getGrid().size();
  ArrayRef<int64_t> block = getBlock();
  if (block.size() != 3)
    return emitOpError("block must have 3 sizes, got ") << block.size();
  int64_t threads = 1;
  for (int64_t v : block) {
    if (v < 1 || v > 1024)
      return emitOpError("block sizes must be in [1, 1024]");
    threads *= v;
  }
  if (threads > 1024)
    return emitOpError("a block has at most 1024 threads, got ") << threads;
  for (Attribute a : getParams()) {
    StringRef p = cast<StringAttr>(a).getValue();
    if (!p.starts_with("ptr arg ") && !p.starts_with("ptr ws ") && !p.starts_with("i64 ") &&
        !p.starts_with("i32 ") && !p.starts_with("f32 "))
      return emitOpError("parameter '") << p << "' must be 'ptr arg <i>', 'ptr ws <offset>', "
                                               "'i64 <expr>', 'i32 <expr>' or 'f32 <value>'";
  }
  return success();
}

LogicalResult LaunchOp::verifySymbolUses(SymbolTableCollection &symbols) {
  Operation *kernel = symbols.lookupNearestSymbolFrom(*this, getKernel());
  if (!kernel) {
    // After gpu-module-to-binary the kernels are a compiled object: nothing left to match.
    Operation *container =
        symbols.lookupNearestSymbolFrom(*this, FlatSymbolRefAttr::get(getKernel().getRootReference()));
    if (container && container->getName().getStringRef() == "gpu.binary")
      return success();
    return emitOpError("kernel ") << getKernel() << " not found";
  }
  auto fn = dyn_cast<FunctionOpInterface>(kernel);
  if (!fn)
    return emitOpError("kernel ") << getKernel() << " is not a function";
  ArrayRef<Type> args = fn.getArgumentTypes();
  if (args.size() != getParams().size())
    return emitOpError("kernel ") << getKernel() << " takes " << args.size()
                                  << " parameters, the launch passes " << getParams().size();
  for (auto [i, pair] : llvm::enumerate(llvm::zip(args, getParams()))) {
    Type t = std::get<0>(pair);
    StringRef p = cast<StringAttr>(std::get<1>(pair)).getValue();
    // Buffers are memrefs in a gpu.func and !llvm.ptr once the kernels are in the LLVM dialect.
    bool ok = p.starts_with("ptr ") ? isa<MemRefType>(t) || t.getDialect().getNamespace() == "llvm"
              : p.starts_with("i64 ") ? t.isInteger(64)
              : p.starts_with("i32 ") ? t.isInteger(32)
                                      : t.isF32();
    if (!ok)
      return emitOpError("parameter ") << i << " ('" << p << "') does not match the kernel's "
                                       << t << " argument";
  }
  if (auto known = kernel->getAttrOfType<DenseI32ArrayAttr>("known_block_size")) {
    for (unsigned i = 0; i < 3 && i < known.size(); ++i)
      if (known[i] != getBlock()[i])
        return emitOpError("block size does not match the kernel's known_block_size");
  }
  return success();
}
