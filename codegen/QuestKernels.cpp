// Kernels of the Quest family (shared/ALGORITHMS.md §2): page summaries and page criticality.
//
// - page_summary_append: a thread per (new token, kv head, vector of `w` channels). Tokens of one
//   page are appended consecutively in slot_mapping (each engine writes a request's tokens in
//   order); the first token of such a run owns the page for the whole run: it starts from the
//   page's summary (or from its own key at offset 0), folds the run's later tokens in order (a
//   token at offset 0 restarts the page) and writes once. No atomics, no races; a decode step
//   (one token per request) is one run per token. Slots outside [0, num_pages * P) are skipped.
// - page_summary: a thread per (request, page of the request, kv head, vector of channels) folds
//   the page's present tokens (i * P + t < n_b) from the paged K cache.
// - page_score: a CTA per (request, score row) and block of pages; the row's query heads (one,
//   or the g heads of a group) are staged in shared memory as f32 (loaded first, stored once the
//   summary loads are issued); d / w lanes share a page, each reading w channels of its summary
//   rows (coalesced), and each lane group bounds 4 pages with all loads issued first:
//   u = sum_j max(q_j kmin_j, q_j kmax_j) (lanes summed by shuffles), summed or maxed over the
//   group; -inf past cdiv(n_b, P) and for page numbers outside [0, num_pages).
// - page_score_topk (page_score fused with Quest's top-k, made by ds-fuse-score-topk when its
//   page-score option is on): a row's bounds go straight into shared memory, split over a
//   thread-block cluster, and the cluster's first CTA runs the radix select over them
//   (lowerScoreTopK below).
// Each kernel's block is `warps * 32` threads and its loads `vector_width` channels wide;
// page_score's `occupancy` caps its registers for that many CTAs per SM.
#include "codegen/Lowering.h"
#include "codegen/RadixSelect.h"
#include "dialect/DSOps.h"
#include "dialect/DSTarget.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>
#include <type_traits>

using namespace mlir;
using namespace mlir::ds;

namespace {
int64_t elemBytes(Value v) {
  return cast<RankedTensorType>(v.getType()).getElementTypeBitWidth() / 8;
}

/// Pages one lane group of page_score bounds, their loads issued together.
constexpr int64_t kPagesPerGroup = 4;

struct Geometry {
  int64_t threads, w; // threads per block, channels per vector
};

Geometry geometry(Operation *op) {
  auto cfg = configOf(op);
  return {cfg.getWarps() * 32, cfg.getVectorWidth()};
}

Value splat(KernelBuilder &kb, int64_t w, float v) {
  auto ty = VectorType::get({w}, kb.b().getF32Type());
  return arith::ConstantOp::create(kb.b(), DenseElementsAttr::get(ty, v));
}

LogicalResult lowerAppend(PageSummaryAppendOp op, PlanContext &ctx) {
  const Geometry g = geometry(op);
  Value kmin = op.getKmin(), k = op.getK();
  const int64_t hkv = dimOf(kmin, 1), d = dimOf(kmin, 2), P = op.getPageSize();
  const int64_t vecs = d / g.w;
  BufferRef mn = ctx.alias(op.getNewKmin(), kmin);
  BufferRef mx = ctx.alias(op.getNewKmax(), op.getKmax());
  const std::string tokens = dimExpr(ctx, k, 0), pages = mn.dims[0];

  KernelBuilder kb(ctx.kernels, ctx.kernelName("page_summary_append"), op->getLoc());
  kb.addBuffer(ctx.buffer(k));
  kb.addBuffer(ctx.buffer(op.getSlotMapping()));
  kb.addBuffer(mn);
  kb.addBuffer(mx);
  kb.addI64(tokens);
  kb.addI64(pages);
  kb.begin(g.threads, cdiv(PlanExpr::symbol(tokens) * (hkv * vecs), g.threads).text());
  ImplicitLocOpBuilder &b = kb.b();
  Value kA = kb.arg(0), slotsA = kb.arg(1), mnA = kb.arg(2), mxA = kb.arg(3);
  Value T = kb.toIndex(kb.arg(4)), slotBound = kb.mul(kb.toIndex(kb.arg(5)), kb.c(P));
  Value i = kb.add(kb.mul(kb.blockId(gpu::Dimension::x), kb.c(g.threads)), kb.threadId());
  kb.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, kb.mul(T, kb.c(hkv * vecs))),
         [&] {
           Value jv = kb.rem(i, kb.c(vecs));
           Value hk = kb.rem(kb.div(i, kb.c(vecs)), kb.c(hkv));
           Value t = kb.div(i, kb.c(hkv * vecs));
           Value slot = memref::LoadOp::create(b, slotsA, ValueRange{t});
           Value valid = kb.inRange(slot, slotBound);
           Value slotIdx = arith::SelectOp::create(b, valid, kb.toIndex(slot), kb.c(0));
           Value page = kb.div(slotIdx, kb.c(P));
           // Not the first token of its run: the previous token (same page) owns the page.
           Value hasPrev = arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, t, kb.c(0));
           Value prevT = arith::SelectOp::create(b, hasPrev, kb.sub(t, kb.c(1)), kb.c(0));
           Value prevSlot = memref::LoadOp::create(b, slotsA, ValueRange{prevT});
           Value prevValid = kb.inRange(prevSlot, slotBound);
           Value prevPage = kb.div(
               arith::SelectOp::create(b, prevValid, kb.toIndex(prevSlot), kb.c(0)), kb.c(P));
           Value samePrev = arith::AndIOp::create(
               b, arith::AndIOp::create(b, hasPrev, prevValid),
               arith::CmpIOp::create(b, arith::CmpIPredicate::eq, prevPage, page));
           Value leader = arith::AndIOp::create(
               b, valid, arith::XOrIOp::create(b, samePrev, arith::ConstantIntOp::create(b, 1, 1)));
           kb.ifThen(leader, [&] {
             Value col = kb.add(kb.mul(hk, kb.c(d)), kb.mul(jv, kb.c(g.w)));
             Value dst = kb.add(kb.mul(page, kb.c(hkv * d)), col);
             auto keyAt = [&](Value tok) {
               return kb.loadVecF32(kA, kb.add(kb.mul(tok, kb.c(hkv * d)), col), g.w);
             };
             Value v = keyAt(t);
             Value starts = arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                                  kb.rem(slotIdx, kb.c(P)), kb.c(0));
             Value lo = arith::SelectOp::create(
                 b, starts, v, arith::MinimumFOp::create(b, kb.loadVecF32(mnA, dst, g.w), v));
             Value hi = arith::SelectOp::create(
                 b, starts, v, arith::MaximumFOp::create(b, kb.loadVecF32(mxA, dst, g.w), v));
             // The run's later tokens, in order (at most P - 1 of them for distinct slots).
             Value end = kb.minIdx(T, kb.add(t, kb.c(P)));
             Value inRun = arith::ConstantIntOp::create(b, 1, 1);
             auto loop = scf::ForOp::create(b, kb.add(t, kb.c(1)), end, kb.c(1),
                                            ValueRange{lo, hi, inRun});
             {
               OpBuilder::InsertionGuard guard(b);
               b.setInsertionPointToStart(loop.getBody());
               Value t2 = loop.getInductionVar();
               Value s2 = memref::LoadOp::create(b, slotsA, ValueRange{t2});
               Value ok = kb.inRange(s2, slotBound);
               Value s2Idx = arith::SelectOp::create(b, ok, kb.toIndex(s2), kb.c(0));
               Value same = arith::AndIOp::create(
                   b, ok,
                   arith::CmpIOp::create(b, arith::CmpIPredicate::eq, kb.div(s2Idx, kb.c(P)), page));
               Value still = arith::AndIOp::create(b, loop.getRegionIterArgs()[2], same);
               Value v2 = keyAt(t2);
               Value restart = arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                                     kb.rem(s2Idx, kb.c(P)), kb.c(0));
               Value curLo = loop.getRegionIterArgs()[0], curHi = loop.getRegionIterArgs()[1];
               Value nLo = arith::SelectOp::create(b, restart, v2,
                                                   arith::MinimumFOp::create(b, curLo, v2));
               Value nHi = arith::SelectOp::create(b, restart, v2,
                                                   arith::MaximumFOp::create(b, curHi, v2));
               scf::YieldOp::create(b, ValueRange{arith::SelectOp::create(b, still, nLo, curLo),
                                                  arith::SelectOp::create(b, still, nHi, curHi),
                                                  still});
             }
             kb.storeVecF32(loop.getResult(0), mnA, dst);
             kb.storeVecF32(loop.getResult(1), mxA, dst);
           });
         });
  ctx.addLaunch(kb.finish());
  return success();
}

LogicalResult lowerSummary(PageSummaryOp op, PlanContext &ctx) {
  const Geometry g = geometry(op);
  Value kmin = op.getKmin(), k = op.getK(), pt = op.getPageTable();
  const int64_t hkv = dimOf(kmin, 1), d = dimOf(kmin, 2), P = dimOf(k, 1);
  const int64_t vecs = d / g.w;
  BufferRef mn = ctx.alias(op.getNewKmin(), kmin);
  BufferRef mx = ctx.alias(op.getNewKmax(), op.getKmax());
  const std::string batch = dimExpr(ctx, pt, 0), maxPages = dimExpr(ctx, pt, 1);

  KernelBuilder kb(ctx.kernels, ctx.kernelName("page_summary"), op->getLoc());
  kb.addBuffer(ctx.buffer(k));
  kb.addBuffer(ctx.buffer(pt));
  kb.addBuffer(ctx.buffer(op.getSeqLens()));
  kb.addBuffer(mn);
  kb.addBuffer(mx);
  kb.addI64(batch);
  kb.addI64(maxPages);
  kb.addI64(mn.dims[0]); // pages of the summary pool (= of the K cache)
  PlanExpr total = PlanExpr::symbol(batch) * PlanExpr::symbol(maxPages) * (hkv * vecs);
  kb.begin(g.threads, cdiv(total, g.threads).text());
  ImplicitLocOpBuilder &b = kb.b();
  Value kA = kb.arg(0), ptA = kb.arg(1), slA = kb.arg(2), mnA = kb.arg(3), mxA = kb.arg(4);
  Value B = kb.toIndex(kb.arg(5)), maxP = kb.toIndex(kb.arg(6)), numPages = kb.toIndex(kb.arg(7));
  Value i = kb.add(kb.mul(kb.blockId(gpu::Dimension::x), kb.c(g.threads)), kb.threadId());
  Value per = kb.mul(maxP, kb.c(hkv * vecs));
  kb.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, kb.mul(B, per)), [&] {
    Value bIdx = kb.div(i, per), rest = kb.rem(i, per);
    Value pageI = kb.div(rest, kb.c(hkv * vecs));
    Value hk = kb.rem(kb.div(rest, kb.c(vecs)), kb.c(hkv));
    Value jv = kb.rem(rest, kb.c(vecs));
    // n_b clamped to [0, max_pages * P]; this page holds tokens [i * P, min(i * P + P, n_b)).
    Value nRaw = arith::MaxSIOp::create(b, memref::LoadOp::create(b, slA, ValueRange{bIdx}),
                                        kb.ci32(0));
    Value n = kb.minIdx(kb.toIndex(nRaw), kb.mul(maxP, kb.c(P)));
    Value start = kb.mul(pageI, kb.c(P));
    kb.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::ult, start, n), [&] {
      Value p = memref::LoadOp::create(b, ptA, ValueRange{kb.add(kb.mul(bIdx, maxP), pageI)});
      kb.ifThen(kb.inRange(p, numPages), [&] {
        Value pIdx = kb.toIndex(p);
        Value present = kb.minIdx(kb.c(P), kb.sub(n, start));
        Value col = kb.add(kb.mul(hk, kb.c(d)), kb.mul(jv, kb.c(g.w)));
        float inf = std::numeric_limits<float>::infinity();
        auto loop = scf::ForOp::create(b, kb.c(0), present, kb.c(1),
                                       ValueRange{splat(kb, g.w, inf), splat(kb, g.w, -inf)});
        {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(loop.getBody());
          Value row = kb.add(kb.mul(pIdx, kb.c(P)), loop.getInductionVar());
          Value v = kb.loadVecF32(kA, kb.add(kb.mul(row, kb.c(hkv * d)), col), g.w);
          scf::YieldOp::create(
              b, ValueRange{arith::MinimumFOp::create(b, loop.getRegionIterArgs()[0], v),
                            arith::MaximumFOp::create(b, loop.getRegionIterArgs()[1], v)});
        }
        Value dst = kb.add(kb.mul(pIdx, kb.c(hkv * d)), col);
        kb.storeVecF32(loop.getResult(0), mnA, dst);
        kb.storeVecF32(loop.getResult(1), mxA, dst);
      });
    });
  });
  ctx.addLaunch(kb.finish());
  return success();
}

/// The `qRows` query heads from `firstHead` of request `bIdx`, on their way to shared memory as
/// f32 in two steps, so that a kernel can issue other loads in between: loadQueryRows issues each
/// thread's loads (cdiv(qRows * d, threads) values, kept in registers), storeQueryRows writes them
/// to shared memory and syncs the block.
struct QueryRowsInFlight {
  int64_t elements = 0;
  SmallVector<Value> index, value, ok; // ok: null where every thread has an element
};

QueryRowsInFlight loadQueryRows(KernelBuilder &kb, Value qA, Value bIdx, Value firstHead,
                                int64_t hq, int64_t d, int64_t qRows, int64_t threads) {
  ImplicitLocOpBuilder &b = kb.b();
  QueryRowsInFlight q;
  q.elements = qRows * d;
  Value qBase = kb.mul(kb.add(kb.mul(bIdx, kb.c(hq)), firstHead), kb.c(d));
  for (int64_t j = 0; j * threads < q.elements; ++j) {
    Value e = kb.add(kb.threadId(), kb.c(j * threads));
    Value ok;
    if ((j + 1) * threads > q.elements) {
      ok = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, e, kb.c(q.elements));
      e = arith::SelectOp::create(b, ok, e, kb.c(0)); // element 0 of the rows: in bounds
    }
    q.index.push_back(e);
    q.value.push_back(kb.loadF32(qA, kb.add(qBase, e)));
    q.ok.push_back(ok);
  }
  return q;
}

Value storeQueryRows(KernelBuilder &kb, const QueryRowsInFlight &q) {
  ImplicitLocOpBuilder &b = kb.b();
  Value qs = kb.addShared(b.getF32Type(), q.elements);
  for (size_t j = 0; j < q.value.size(); ++j) {
    auto store = [&] { memref::StoreOp::create(b, q.value[j], qs, ValueRange{q.index[j]}); };
    if (q.ok[j])
      kb.ifThen(q.ok[j], store);
    else
      store();
  }
  gpu::BarrierOp::create(b);
  return qs;
}

/// The same in one step.
Value stageQueryRows(KernelBuilder &kb, Value qA, Value bIdx, Value firstHead, int64_t hq,
                     int64_t d, int64_t qRows, int64_t threads) {
  return storeQueryRows(kb, loadQueryRows(kb, qA, bIdx, firstHead, hq, d, qRows, threads));
}

/// Pages of request `bIdx`: cdiv(clamp(seq_lens[b], 0, max_pages * P), P).
Value requestPages(KernelBuilder &kb, Value slA, Value bIdx, Value maxP, int64_t P) {
  ImplicitLocOpBuilder &b = kb.b();
  Value nRaw = arith::MaxSIOp::create(b, memref::LoadOp::create(b, slA, ValueRange{bIdx}),
                                      kb.ci32(0));
  Value n = kb.minIdx(kb.toIndex(nRaw), kb.mul(maxP, kb.c(P)));
  return kb.div(kb.add(n, kb.c(P - 1)), kb.c(P));
}

/// What page_score and page_score_topk share: the score rows (query heads, or kv heads with a
/// group_reduce) and the query heads each row bounds with.
struct ScoreRows {
  int64_t hq, hkv, d, group, rows, qRows;
  GroupReduce reduce;
  template <typename Op> static ScoreRows of(Op op) {
    ScoreRows r;
    r.hq = dimOf(op.getQ(), 1), r.hkv = dimOf(op.getKmin(), 1), r.d = dimOf(op.getQ(), 2);
    r.group = r.hq / r.hkv;
    r.reduce = op.getGroupReduce();
    r.rows = r.reduce == GroupReduce::none ? r.hq : r.hkv;
    r.qRows = r.reduce == GroupReduce::none ? 1 : r.group;
    return r;
  }
  /// The kv head whose summaries score row `row` reads, and its first query head.
  std::pair<Value, Value> heads(KernelBuilder &kb, Value row) const {
    if (reduce == GroupReduce::none)
      return {kb.div(row, kb.c(group)), row};
    return {row, kb.mul(row, kb.c(group))};
  }
};

/// The parameters both scoring kernels take: q, kmin, kmax, page_table, seq_lens, `out`; then
/// max_pages and the pages of the summary pool.
template <typename Op>
void addScoreParams(KernelBuilder &kb, PlanContext &ctx, Op op, const BufferRef &out) {
  kb.addBuffer(ctx.buffer(op.getQ()));
  kb.addBuffer(ctx.buffer(op.getKmin()));
  kb.addBuffer(ctx.buffer(op.getKmax()));
  kb.addBuffer(ctx.buffer(op.getPageTable()));
  kb.addBuffer(ctx.buffer(op.getSeqLens()));
  kb.addBuffer(out);
  kb.addI64(dimExpr(ctx, op.getPageTable(), 1));
  kb.addI64(dimExpr(ctx, op.getKmin(), 0));
}

/// What a lane needs of its score row's query heads (staged in shared memory `qs` as f32) to
/// bound pages: one head, or a group maxed over, reads its heads from `qs` at each page; a group
/// summed over keeps two vectors of its `w` channels in registers, the heads' sum and the sum of
/// their magnitudes (see pageBound).
struct RowQuery {
  Value qs, sub;
  int64_t qRows, d, w, L;
  GroupReduce reduce;
  Value qSum, qAbs; // summed groups only
};

RowQuery rowQuery(KernelBuilder &kb, Value qs, Value sub, int64_t qRows, int64_t d, int64_t w,
                  int64_t L, GroupReduce reduce) {
  ImplicitLocOpBuilder &b = kb.b();
  RowQuery r{qs, sub, qRows, d, w, L, reduce, Value(), Value()};
  if (qRows == 1 || reduce != GroupReduce::sum)
    return r;
  auto f32v = VectorType::get({w}, b.getF32Type());
  for (int64_t h = 0; h < qRows; ++h) {
    Value qv = vector::LoadOp::create(b, f32v, qs,
                                      ValueRange{kb.add(kb.c(h * d), kb.mul(sub, kb.c(w)))});
    Value qa = kb.fmax(qv, arith::NegFOp::create(b, qv));
    r.qSum = h ? arith::AddFOp::create(b, r.qSum, qv).getResult() : qv;
    r.qAbs = h ? arith::AddFOp::create(b, r.qAbs, qa).getResult() : qa;
  }
  return r;
}

/// The bound of one page for a score row from its summaries `mn`, `mx` (this lane's `w`
/// channels, f32): per head sum_j max(q_j kmin_j, q_j kmax_j) over the page's L lanes, summed or
/// maxed over the row's heads. One head takes that form. Several take max(q a, q b) =
/// (q (a + b) + |q| |b - a|) / 2 (exact in real arithmetic, for either order of a and b, given
/// finite summaries): the page's sum and spread are formed once for all heads and the halving
/// is applied once to the row's bound. Summed over the heads the form is linear in q and |q|, so
/// the group's bound is sum_j ((a_j + b_j) Q_j + |b_j - a_j| A_j) / 2 with Q = sum_h q_h and
/// A = sum_h |q_h| formed once per lane (rowQuery): two fmas a channel for the whole group (at
/// d = 128 and 4 heads, a quarter of the per-head form's). Maxed over the heads, each head costs
/// two fmas a channel and a lane reduction.
Value pageBound(KernelBuilder &kb, const RowQuery &rq, Value mn, Value mx) {
  ImplicitLocOpBuilder &b = kb.b();
  const int64_t w = rq.w, L = rq.L;
  auto f32v = VectorType::get({w}, b.getF32Type());
  const float inf = std::numeric_limits<float>::infinity();
  auto headQ = [&](Value h) {
    return vector::LoadOp::create(b, f32v, rq.qs,
                                  ValueRange{kb.add(kb.mul(h, kb.c(rq.d)), kb.mul(rq.sub, kb.c(w)))});
  };
  if (rq.qRows == 1) {
    Value qv = headQ(kb.c(0));
    Value m = arith::MaximumFOp::create(b, arith::MulFOp::create(b, qv, mn),
                                        arith::MulFOp::create(b, qv, mx));
    return kb.warpSum(kb.sumF32(m), L);
  }
  Value spread = arith::SubFOp::create(b, mx, mn);
  spread = kb.fmax(spread, arith::NegFOp::create(b, spread));
  Value both = arith::AddFOp::create(b, mn, mx);
  // acc + sum_j q_j (a_j + b_j) + qa_j |b_j - a_j| over this lane's channels.
  auto fold = [&](Value qv, Value qa, Value acc) {
    for (int64_t j = 0; j < w; ++j) {
      acc = math::FmaOp::create(b, vector::ExtractOp::create(b, qv, j),
                                vector::ExtractOp::create(b, both, j), acc);
      acc = math::FmaOp::create(b, vector::ExtractOp::create(b, qa, j),
                                vector::ExtractOp::create(b, spread, j), acc);
    }
    return acc;
  };
  Value total;
  if (rq.reduce == GroupReduce::sum) {
    total = kb.warpSum(fold(rq.qSum, rq.qAbs, kb.cf32(0.0f)), L);
  } else {
    auto heads = scf::ForOp::create(b, kb.c(0), kb.c(rq.qRows), kb.c(1), ValueRange{kb.cf32(-inf)});
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(heads.getBody());
    Value qv = headQ(heads.getInductionVar());
    Value qa = kb.fmax(qv, arith::NegFOp::create(b, qv));
    Value cur = heads.getRegionIterArgs()[0];
    scf::YieldOp::create(
        b, Value(arith::MaximumFOp::create(b, cur, kb.warpSum(fold(qv, qa, kb.cf32(0.0f)), L))));
    b.setInsertionPointAfter(heads);
    total = heads.getResult(0);
  }
  return arith::MulFOp::create(b, total, kb.cf32(0.5f));
}

LogicalResult lowerScore(PageScoreOp op, PlanContext &ctx) {
  const Geometry g = geometry(op);
  const ScoreRows sr = ScoreRows::of(op);
  const int64_t hkv = sr.hkv, d = sr.d, rows = sr.rows, qRows = sr.qRows;
  const int64_t P = op.getPageSize();
  const GroupReduce reduce = sr.reduce;
  // L lanes share a page (each `w` channels of its summary rows, so a half-warp reads a whole
  // 256-byte row of bf16 at d = 128, coalesced); each lane group bounds `stages` pages with all
  // their loads issued first.
  const int64_t U = configOf(op).getStages();
  const int64_t L = d / g.w, perStep = g.threads / L, perBlock = perStep * U;
  const std::string batch = dimExpr(ctx, op.getQ(), 0);
  const std::string maxPages = dimExpr(ctx, op.getPageTable(), 1);
  BufferRef out = ctx.place(op.getScores(), {batch, std::to_string(rows), maxPages});

  KernelBuilder kb(ctx.kernels, ctx.kernelName("page_score"), op->getLoc());
  addScoreParams(kb, ctx, op, out);
  kb.begin(g.threads, (PlanExpr::symbol(batch) * rows).text(),
           cdiv(PlanExpr::symbol(maxPages), perBlock).text());
  if (int64_t occupancy = configOf(op).getOccupancy(); occupancy > 0)
    kb.setMinBlocksPerSM(occupancy);
  ImplicitLocOpBuilder &b = kb.b();
  Value qA = kb.arg(0), mnA = kb.arg(1), mxA = kb.arg(2), ptA = kb.arg(3), slA = kb.arg(4),
        oA = kb.arg(5);
  Value maxP = kb.toIndex(kb.arg(6)), numPages = kb.toIndex(kb.arg(7));
  Value bid = kb.blockId(gpu::Dimension::x), tid = kb.threadId();
  Value bIdx = kb.div(bid, kb.c(rows)), row = kb.rem(bid, kb.c(rows));
  auto [hk, firstHead] = sr.heads(kb, row);
  Value sub = kb.rem(tid, kb.c(L)), slot = kb.div(tid, kb.c(L));

  // The row's query heads, as f32, in shared memory (every lane group reads all of them): their
  // loads are issued first and stored (with the block's barrier) once the summary loads are
  // issued, so the q round trip and the barrier overlap the page-table -> summary round trips.
  QueryRowsInFlight qIn = loadQueryRows(kb, qA, bIdx, firstHead, sr.hq, d, qRows, g.threads);
  Value pages = requestPages(kb, slA, bIdx, maxP, P);
  Value col = kb.add(kb.mul(hk, kb.c(d)), kb.mul(sub, kb.c(g.w)));
  SmallVector<Value> pageI, inTable, valid, lo, hi;
  for (int64_t u = 0; u < U; ++u) {
    Value i = kb.add(kb.mul(kb.blockId(gpu::Dimension::y), kb.c(perBlock)),
                     kb.add(kb.c(u * perStep), slot));
    Value inT = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, maxP);
    Value safeI = arith::SelectOp::create(b, inT, i, kb.c(0));
    Value p = memref::LoadOp::create(b, ptA, ValueRange{kb.add(kb.mul(bIdx, maxP), safeI)});
    Value ok = arith::AndIOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, pages), kb.inRange(p, numPages));
    Value pIdx = arith::SelectOp::create(b, ok, kb.toIndex(p), kb.c(0));
    pageI.push_back(i);
    inTable.push_back(inT);
    valid.push_back(ok);
    Value off = kb.add(kb.mul(pIdx, kb.c(hkv * d)), col);
    // Loads of pages that do not exist are never issued.
    lo.push_back(kb.widenF32(kb.loadVecOrZero(ok, mnA, off, g.w)));
    hi.push_back(kb.widenF32(kb.loadVecOrZero(ok, mxA, off, g.w)));
  }
  RowQuery rq = rowQuery(kb, storeQueryRows(kb, qIn), sub, qRows, d, g.w, L, reduce);
  float inf = std::numeric_limits<float>::infinity();
  // The registers the bounds take for a group are bounded by the config's `occupancy`.
  SmallVector<Value> bounds;
  for (int64_t u = 0; u < U; ++u)
    bounds.push_back(pageBound(kb, rq, lo[u], hi[u]));
  Value first = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, sub, kb.c(0));
  Value outRow = kb.mul(kb.add(kb.mul(bIdx, kb.c(rows)), row), maxP);
  for (int64_t u = 0; u < U; ++u)
    kb.ifThen(arith::AndIOp::create(b, first, inTable[u]), [&] {
      Value uVal = arith::SelectOp::create(b, valid[u], bounds[u], kb.cf32(-inf));
      memref::StoreOp::create(b, uVal, oA, ValueRange{kb.add(outRow, pageI[u])});
    });
  ctx.addLaunch(kb.finish());
  return success();
}

/// page_score_topk: a row (request b, score row) is bounded by `splits` = C CTAs, a thread-block
/// cluster when C > 1, each taking a contiguous slice of the row's cdiv(n_b, P) pages (none when
/// n_b <= k: such a row lists its pages). Lane groups of L = d / w lanes bound a page each, U
/// pages with all summary loads issued first (kept in the summary's type and widened a page at a
/// time), heads of the row in a loop, lanes summed by shuffles. Group leaders write each bound
/// into the row buffer (dynamic shared memory, max_pages floats) of the cluster's first CTA
/// (`mapa` + st.shared::cluster; a plain store when C = 1). The cluster barrier is split: a
/// relaxed arrive at entry and its wait before the first remote store (every CTA of the cluster
/// has started), then a release arrive after the last store, whose acquire wait only the first
/// CTA performs before its radix select (RadixSelect.h) over the row; the others exit.
LogicalResult lowerScoreTopK(PageScoreTopKOp op, PlanContext &ctx) {
  KernelConfigAttr cfg = configOf(op);
  const int64_t threads = cfg.getWarps() * 32, C = cfg.getSplits(), U = cfg.getStages();
  const int64_t w = cfg.getVectorWidth();
  const ScoreRows sr = ScoreRows::of(op);
  const int64_t hkv = sr.hkv, d = sr.d, rows = sr.rows, qRows = sr.qRows;
  const int64_t P = op.getPageSize(), k = op.getK();
  const GroupReduce reduce = sr.reduce;
  const int64_t L = d / w, perStep = threads / L, perIter = perStep * U;
  const std::string batch = dimExpr(ctx, op.getQ(), 0);
  const std::string maxPages = dimExpr(ctx, op.getPageTable(), 1);
  BufferRef out = ctx.place(op.getIndices(), {batch, std::to_string(rows), std::to_string(k)});

  KernelBuilder kb(ctx.kernels, ctx.kernelName("page_score_topk"), op->getLoc());
  addScoreParams(kb, ctx, op, out);
  kb.begin(threads, (PlanExpr::symbol(batch) * (rows * C)).text(), "1", "1",
           "4*(" + maxPages + ")");
  if (cfg.getOccupancy() > 0)
    kb.setMinBlocksPerSM(cfg.getOccupancy());
  ImplicitLocOpBuilder &b = kb.b();
  if (C > 1)
    kb.setClusterSize(C);
  Value qA = kb.arg(0), mnA = kb.arg(1), mxA = kb.arg(2), ptA = kb.arg(3), slA = kb.arg(4),
        oA = kb.arg(5);
  Value maxP = kb.toIndex(kb.arg(6)), numPages = kb.toIndex(kb.arg(7));
  RadixSelect radix(kb, threads);
  auto aligned = b.getUnitAttr();
  if (C > 1)
    NVVM::ClusterArriveRelaxedOp::create(b, aligned);

  Value bid = kb.blockId(gpu::Dimension::x), tid = kb.threadId();
  Value rank = kb.rem(bid, kb.c(C)), rowId = kb.div(bid, kb.c(C));
  Value bIdx = kb.div(rowId, kb.c(rows)), row = kb.rem(rowId, kb.c(rows));
  auto [hk, firstHead] = sr.heads(kb, row);
  Value sub = kb.rem(tid, kb.c(L)), slot = kb.div(tid, kb.c(L));
  RowQuery rq = rowQuery(kb, stageQueryRows(kb, qA, bIdx, firstHead, sr.hq, d, qRows, threads),
                         sub, qRows, d, w, L, reduce);

  // The request's n_b pages and this CTA's slice [lo, hi) of them.
  Value nb = requestPages(kb, slA, bIdx, maxP, P);
  Value scoreRow = arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, nb, kb.c(k));
  Value per = kb.div(kb.add(nb, kb.c(C - 1)), kb.c(C));
  Value lo = kb.minIdx(kb.mul(rank, per), nb);
  // No slice without a page to read: the loop's loads are unconditional (clamped to page 0).
  Value anyPage = arith::AndIOp::create(
      b, scoreRow, arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, numPages, kb.c(0)));
  Value hi = arith::SelectOp::create(b, anyPage, kb.minIdx(kb.add(lo, per), nb), lo);
  Value scores = kb.dynamicShared(b.getF32Type(), maxP);
  Value remote; // the first CTA's row buffer, as a shared::cluster pointer
  if (C > 1) {
    NVVM::ClusterWaitOp::create(b, aligned);
    remote = kb.clusterPointer(kb.sharedPointer(scores), kb.ci32(0));
  }

  Value col = kb.add(kb.mul(hk, kb.c(d)), kb.mul(sub, kb.c(w)));
  Value first = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, sub, kb.c(0));
  float inf = std::numeric_limits<float>::infinity();
  Type elem = cast<MemRefType>(mnA.getType()).getElementType();
  auto rawTy = VectorType::get({w}, elem);
  const int64_t rawBytes = w * elem.getIntOrFloatBitWidth() / 8;
  // Page u of the iteration at `it` for this lane group, and its page-table entry (the index
  // clamped into the request's row: the loads run ahead of the slice's end).
  auto pageOf = [&](Value it, int64_t u) { return kb.add(it, kb.add(kb.c(u * perStep), slot)); };
  Value rowBase = kb.mul(bIdx, maxP), lastCol = kb.sub(maxP, kb.c(1));
  auto loadEntries = [&](Value it) {
    SmallVector<Value> e;
    for (int64_t u = 0; u < U; ++u)
      e.push_back(memref::LoadOp::create(
          b, ptA, ValueRange{kb.add(rowBase, kb.minIdx(pageOf(it, u), lastCol))}));
    return e;
  };
  // The page-table entries of the next iteration are loaded with this one's summaries, so each
  // iteration waits on one memory round trip.
  SmallVector<Value> entries0;
  {
    auto ifAny = scf::IfOp::create(b, SmallVector<Type>(U, b.getI32Type()),
                                   arith::CmpIOp::create(b, arith::CmpIPredicate::ult, lo, hi), true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifAny.getThenRegion().front());
    scf::YieldOp::create(b, loadEntries(lo));
    b.setInsertionPointToStart(&ifAny.getElseRegion().front());
    scf::YieldOp::create(b, SmallVector<Value>(U, kb.ci32(-1)));
    entries0.assign(ifAny.getResults().begin(), ifAny.getResults().end());
  }
  {
    auto loop = scf::ForOp::create(b, lo, hi, kb.c(perIter), entries0);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value it = loop.getInductionVar();
    SmallVector<Value> pageI, inSlice, valid, rawLo, rawHi;
    for (int64_t u = 0; u < U; ++u) {
      Value i = pageOf(it, u);
      Value in = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, hi);
      Value p = loop.getRegionIterArgs()[u];
      Value ok = arith::AndIOp::create(b, in, kb.inRange(p, numPages));
      Value off = kb.add(
          kb.mul(arith::SelectOp::create(b, ok, kb.toIndex(p), kb.c(0)), kb.c(hkv * d)), col);
      auto lo8 = vector::LoadOp::create(b, rawTy, mnA, ValueRange{off});
      auto hi8 = vector::LoadOp::create(b, rawTy, mxA, ValueRange{off});
      if (rawBytes == 16 || rawBytes == 8 || rawBytes == 4) {
        lo8.setAlignment(rawBytes);
        hi8.setAlignment(rawBytes);
      }
      pageI.push_back(i);
      inSlice.push_back(in);
      valid.push_back(ok);
      rawLo.push_back(lo8);
      rawHi.push_back(hi8);
    }
    SmallVector<Value> nextEntries = loadEntries(kb.add(it, kb.c(perIter)));
    for (int64_t u = 0; u < U; ++u) {
      Value mn = kb.widenF32(rawLo[u]);
      Value mx = kb.widenF32(rawHi[u]);
      Value bound = pageBound(kb, rq, mn, mx);
      kb.ifThen(arith::AndIOp::create(b, first, inSlice[u]), [&] {
        Value uVal = arith::SelectOp::create(b, valid[u], bound, kb.cf32(-inf));
        if (!remote) {
          memref::StoreOp::create(b, uVal, scores, ValueRange{pageI[u]});
          return;
        }
        Value at = LLVM::GEPOp::create(
            b, remote.getType(), b.getF32Type(), remote,
            ValueRange{arith::IndexCastOp::create(b, b.getI64Type(), pageI[u])});
        LLVM::StoreOp::create(b, uVal, at);
      });
    }
    scf::YieldOp::create(b, nextEntries);
  }
  if (C > 1)
    NVVM::ClusterArriveOp::create(b, aligned);
  // The first CTA selects from the whole row.
  kb.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, rank, kb.c(0)), [&] {
    if (C > 1)
      NVVM::ClusterWaitOp::create(b, aligned);
    else
      gpu::BarrierOp::create(b);
    Value outBase = kb.mul(rowId, kb.c(k));
    emitTopKRow(kb, threads, oA, outBase, nb, k, op.getKeepLast(),
                [&](Value selLen, int64_t selK) {
                  radix.select(scores, kb.c(0), selLen, selK, oA, outBase);
                });
  });
  ctx.addLaunch(kb.finish());
  return success();
}

LogicalResult lowerQuest(Operation *op, PlanContext &ctx) {
  if (auto a = dyn_cast<PageSummaryAppendOp>(op))
    return lowerAppend(a, ctx);
  if (auto s = dyn_cast<PageSummaryOp>(op))
    return lowerSummary(s, ctx);
  if (auto f = dyn_cast<PageScoreTopKOp>(op))
    return lowerScoreTopK(f, ctx);
  return lowerScore(cast<PageScoreOp>(op), ctx);
}

/// Static shared memory of a scoring kernel: the row's query heads as f32 (stageQueryRows) and,
/// for page_score_topk, beside them the radix select's (16 KB of histogram, warp sums,
/// counters; rounded up). verifyQuestConfig keeps it within kStaticSmemBytes.
template <typename Op> int64_t scoreStaticSmemBytes(Op op) {
  const ScoreRows sr = ScoreRows::of(op);
  return 4 * sr.qRows * sr.d + (std::is_same_v<Op, PageScoreTopKOp> ? 17 * 1024 : 0);
}

/// page_score_topk's own fields: a radix-select CTA, a cluster of 1, 2, 4 or 8 CTAs (clusters
/// from sm_90), 1..8 pages in flight per lane group, a static row that fits shared memory.
LogicalResult verifyFusedConfig(PageScoreTopKOp op, KernelConfigAttr cfg, TargetAttr target) {
  if (failed(verifyUnusedConfigFields(op, cfg, kUseWarps | kUseSplits | kUseStages | kUseVectorWidth |
                                                     kUseOccupancy)) ||
      failed(verifyRadixSelectWarps(op, cfg)))
    return failure();
  if (failed(verifyOccupancy(op, cfg, cfg.getWarps() * 32)))
    return failure();
  int64_t c = cfg.getSplits();
  if (c != 1 && c != 2 && c != 4 && c != 8)
    return configError(op, "splits") << "(CTAs per row, a cluster) must be 1, 2, 4 or 8, got " << c;
  const ChipInfo *chip = lookupChip(target.getChip());
  if (c > 1 && (!chip || chip->version < 90))
    return configError(op, "splits") << "(" << c << " CTAs per row) needs thread-block clusters, "
                                     << "which " << target.getChip() << " does not have";
  if (cfg.getStages() < 1 || cfg.getStages() > 8)
    return configError(op, "stages") << "(pages in flight per lane group) must be in [1, 8], got "
                                     << cfg.getStages();
  if (op.getK() > uint64_t(kMaxTopK))
    return op.emitOpError("GPU lowering supports k <= 2^30");
  int64_t maxPages = dimOf(op.getPageTable(), 1);
  if (!ShapedType::isDynamic(maxPages) &&
      4 * maxPages + scoreStaticSmemBytes(op) > target.getSmemPerBlock())
    return op.emitOpError("a row of ")
           << maxPages << " pages (page_table dim 1) needs " << 4 * maxPages + scoreStaticSmemBytes(op)
           << " bytes of shared memory per block, the target has " << target.getSmemPerBlock();
  return success();
}

/// The kmin summaries an op of the family reads (the scoring ops' second operand, the summary
/// ops' first).
Value kminOf(Operation *op) {
  return op->getOperand(isa<PageScoreOp, PageScoreTopKOp>(op) ? 1 : 0);
}

/// The summaries' kv heads and head dim are static, and `w` channels of them fit a 16-byte load.
LogicalResult verifyQuestConfig(Operation *op, KernelConfigAttr cfg, TargetAttr target) {
  if (auto fused = dyn_cast<PageScoreTopKOp>(op)) {
    if (failed(verifyFusedConfig(fused, cfg, target)))
      return failure();
  } else if (failed(verifyUnusedConfigFields(
                 op, cfg,
                 kUseWarps | kUseVectorWidth |
                     (isa<PageScoreOp>(op) ? unsigned(kUseOccupancy | kUseStages) : 0u))) ||
             failed(verifyWarps(op, cfg, 1, 32))) {
    return failure();
  } else if (cfg.getStages() > 8) {
    return configError(op, "stages") << "(pages in flight per lane group) must be in [1, 8], got "
                                     << cfg.getStages();
  } else if (failed(verifyOccupancy(op, cfg, cfg.getWarps() * 32))) {
    return failure();
  }
  const bool scores = isa<PageScoreOp, PageScoreTopKOp>(op);
  Value kmin = kminOf(op);
  int64_t hkv = dimOf(kmin, 1), d = dimOf(kmin, 2), w = cfg.getVectorWidth();
  if (ShapedType::isDynamic(hkv) || ShapedType::isDynamic(d))
    return op->emitOpError("GPU lowering needs static kv heads and head dim in kmin");
  if (d > 256)
    return op->emitOpError("GPU lowering supports head dims up to 256, got ") << d;
  if (d % w != 0 || w * elemBytes(kmin) > 16)
    return configError(op, "vector_width")
           << "must divide the head dim (" << d << ") and fit 16 bytes, got " << w;
  if (scores && (32 % (d / w) != 0 || (cfg.getWarps() * 32) % (d / w) != 0))
    return configError(op, "vector_width")
           << "(" << w << ") must split the head dim (" << d
           << ") into a power-of-two number of lanes of at most 32";
  // The scoring kernels stage a row's query heads (the whole group under a group_reduce) in
  // static shared memory as f32 (the fused kernel beside its select's 17 KB): past the 48 KB a
  // kernel may have statically, ptxas refused the kernel and the bundle carried PTX no driver
  // would load.
  if (scores) {
    auto fused = dyn_cast<PageScoreTopKOp>(op);
    const ScoreRows sr = fused ? ScoreRows::of(fused) : ScoreRows::of(cast<PageScoreOp>(op));
    const int64_t bytes =
        fused ? scoreStaticSmemBytes(fused) : scoreStaticSmemBytes(cast<PageScoreOp>(op));
    if (bytes > kStaticSmemBytes)
      return op->emitOpError("GPU lowering stages a row's ")
             << sr.qRows << " query heads of " << d << " dims in shared memory: " << bytes
             << " bytes of static shared memory, more than the " << kStaticSmemBytes
             << " a kernel may have (fewer query heads per kv head)";
  }
  return success();
}
} // namespace

void mlir::ds::registerQuestFamily() {
  KernelFamily f;
  f.name = "quest";
  f.ops = {PageSummaryAppendOp::getOperationName().str(), PageSummaryOp::getOperationName().str(),
           PageScoreOp::getOperationName().str(), PageScoreTopKOp::getOperationName().str()};
  // 256 threads (page_score of groups of 2 to 4 heads: 128), 16-byte vectors of channels
  // (narrower where the head dim needs it).
  // page_score_topk: 512 threads, 2 pages in flight per lane group, and a row split over a
  // cluster of 8 CTAs where the chip has clusters (a decode step has few rows: B = 1 with 32
  // heads is 32 of them, too few CTAs to pull the summaries at full bandwidth one per row);
  // rows of one head compiled for 4 CTAs per SM (32 registers: more loads in flight), GQA rows
  // (a loop over the group's heads) without that cap, which would spill. Measured on the H200
  // (B = 8 N = 32768 budget 2048): these beat 4 pages in flight, 256- and 1024-thread CTAs and
  // clusters of 4 by 7-30%.
  f.choose = [](Operation *op, TargetAttr target) {
    Value kmin = kminOf(op);
    int64_t d = dimOf(kmin, 2), w = 16 / elemBytes(kmin);
    while (w > 1 && !ShapedType::isDynamic(d) && d % w != 0)
      w /= 2;
    if (isa<PageScoreTopKOp>(op)) {
      const ChipInfo *chip = lookupChip(target.getChip());
      const bool oneHead = cast<PageScoreTopKOp>(op).getGroupReduce() == GroupReduce::none;
      return KernelConfigAttr::get(op->getContext(), 1, 16, chip && chip->version >= 90 ? 8 : 1,
                                   2, w, "", oneHead ? 4 : 0);
    }
    // page_score of the rows of a group of 2 to 4 heads (a loop over them): CTAs of 4 warps
    // compiled for 6 CTAs per SM (at most 80 registers, without spills for d = 32..256; uncapped
    // it takes 96 at d = 128 and 4 heads). One-head rows and groups of 8 (which spill under that
    // cap): 8 warps, no hint. H200, Quest step, P = 16, two rounds in each of two runs (warps x
    // CTAs per SM): Hkv = 8 shared, B = 8, N = 32768, budget 2048: 8 x 3 58.2-58.7 us, 4 x 6
    // 56.8-57.0, 4 x 8 (64 registers) 64.8-65.1, 2 x 12 58.1-58.3, 4 x uncapped 58.2-58.6; B = 32,
    // N = 65536, budget 4096: 8 x 3 310.6-310.7, 4 x 6 301.2-301.5. One head per row (Hkv = 32),
    // B = 32 / 8 / 1: 8 x uncapped 1038.6-1038.9 / 146.9 / 36.0-36.1, 4 x 6 1046.5 / 146.6-146.7 /
    // 35.9. 8 pages in flight per lane group instead of 4 lost 3-18 us.
    int64_t warps = 8, occupancy = 0;
    if (auto score = dyn_cast<PageScoreOp>(op); score && score.getGroupReduce() != GroupReduce::none) {
      const int64_t group = dimOf(score.getQ(), 1) / dimOf(score.getKmin(), 1);
      if (group <= 4)
        warps = 4, occupancy = 6;
    }
    // page_score: kPagesPerGroup pages in flight per lane group (`stages`).
    const int64_t stages = isa<PageScoreOp>(op) ? kPagesPerGroup : 1;
    return KernelConfigAttr::get(op->getContext(), 1, warps, 1, stages, w, "", occupancy);
  };
  f.verify = verifyQuestConfig;
  f.lower = lowerQuest;
  registerKernelFamily(std::move(f));
}
