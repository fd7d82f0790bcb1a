// label_score: approximate scores from the head-major label cache (ALGORITHMS.md §1).
//
// One CTA per (request, score row, token tile): grid (B * Hs, cdiv(N, TILE)), `warps * 32`
// threads, TILE = U * threads with U = max(1, block_tokens / threads) tokens per thread. Thread
// `tid` owns tokens `tile * TILE + u * threads + tid` (u < U), so the f32 stores of a warp are
// coalesced. The CTA's query-label row(s), pre-multiplied by `scale`, stay in registers (with
// group_reduce = sum the g heads are summed first: one row); for group_reduce = max with
// g * r > kMaxQRegs floats they are kept in shared memory and read as broadcast vectors (each
// q vector once per U tokens). Per
// thread: U page-table loads, then all U * r / W label vectors (W elements, 16 bytes for r a
// multiple of 8), then the math. A token's labels are the r contiguous elements at
// `(hk * S + slot) * r`. Positions >= n_b, slots outside [0, S): -inf.
#include "codegen/Lowering.h"
#include "dialect/DSOps.h"
#include "passes/KernelConfig.h"

#include <limits>

using namespace mlir;
using namespace mlir::ds;

namespace {
constexpr int64_t kMaxQRegs = 32;  // f32 query-label values one thread keeps in registers

int64_t dimOf(Value v, unsigned i) { return cast<RankedTensorType>(v.getType()).getDimSize(i); }
} // namespace

LogicalResult mlir::ds::lowerLabelScore(Operation *op, PlanContext &ctx) {
  auto score = cast<LabelScoreOp>(op);
  FailureOr<KernelConfigAttr> cfg = requireKernelConfig(op);
  if (failed(cfg))
    return failure();
  Value ql = score.getQLabel(), cache = score.getLabelCache(), pt = score.getPageTable(),
        sl = score.getSeqLens(), result = score.getScores();
  const int64_t hq = dimOf(ql, 1), r = dimOf(ql, 2), hkv = dimOf(cache, 0);
  const int64_t g = hq / hkv, pageSize = static_cast<int64_t>(score.getPageSize());
  const GroupReduce reduce = score.getGroupReduce();
  const int64_t rows = reduce == GroupReduce::none ? hq : hkv;
  // Heads whose dot products are kept apart (max); sum folds the group into one q row.
  const int64_t qRows = reduce == GroupReduce::max ? g : 1;
  const float scale = score.getScale().convertToFloat();
  int64_t w = 8; // elements per vector load: 16 bytes of bf16/f16 when r allows
  while (w > 1 && r % w != 0)
    w /= 2;
  const int64_t vecs = r / w;
  const int64_t threads = std::clamp<int64_t>(cfg->getWarps(), 1, 32) * 32;
  const int64_t unroll = std::clamp<int64_t>(cfg->getBlockTokens() / threads, 1, 8);
  // Memory bound: cap registers so that 8 CTAs of 128 threads stay resident (measured on an
  // H100, B = 8, N = 65536: 301 us uncapped at 165 registers -> 279 us).
  const int64_t minBlocks = std::max<int64_t>(1, 1024 / threads);
  const int64_t tile = unroll * threads;
  const bool qShared = qRows * r > kMaxQRegs;

  std::string batch = dimExpr(ctx, ql, 0);
  int64_t nStatic = dimOf(result, 2);
  std::string n = ShapedType::isDynamic(nStatic)
                      ? "(" + dimExpr(ctx, pt, 1) + ")*" + std::to_string(pageSize)
                      : std::to_string(nStatic);
  const BufferRef &out = ctx.place(result, {batch, std::to_string(rows), n});

  KernelBuilder kb(ctx.kernels, ctx.kernelName("label_score"), op->getLoc());
  kb.addBuffer(ctx.buffer(ql));
  kb.addBuffer(ctx.buffer(cache));
  kb.addBuffer(ctx.buffer(pt));
  kb.addBuffer(ctx.buffer(sl));
  kb.addBuffer(out);
  kb.addI64(dimExpr(ctx, cache, 1)); // S: slots of the label cache
  kb.addI64(dimExpr(ctx, pt, 1));    // max_pages
  kb.addI64(n);                      // N: scores per row
  if (qShared)
    kb.addI64(std::to_string(qRows)); // g: heads of a group (max), a loop bound
  kb.begin(threads, "(" + batch + ")*" + std::to_string(rows),
           "cdiv(" + n + "," + std::to_string(tile) + ")");
  kb.setMinBlocksPerSM(minBlocks);
  ImplicitLocOpBuilder &b = kb.b();
  Value qA = kb.arg(0), cA = kb.arg(1), ptA = kb.arg(2), slA = kb.arg(3), oA = kb.arg(4);
  Value slots = kb.toIndex(kb.arg(5)), maxPages = kb.toIndex(kb.arg(6)), nA = kb.toIndex(kb.arg(7));
  Type f32 = b.getF32Type();
  auto vecTy = VectorType::get({w}, f32);
  Value negInf = kb.cf32(-std::numeric_limits<float>::infinity());
  Value zeroVec = arith::ConstantOp::create(b, DenseElementsAttr::get(vecTy, 0.0f));
  auto cmp = [&](arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, p, x, y).getResult();
  };

  Value bid = kb.blockId(gpu::Dimension::x), tileId = kb.blockId(gpu::Dimension::y);
  Value bIdx = kb.div(bid, kb.c(rows)), row = kb.rem(bid, kb.c(rows));
  Value hk = reduce == GroupReduce::none ? kb.div(row, kb.c(g)) : row;
  Value h0 = reduce == GroupReduce::none ? row : kb.mul(row, kb.c(g));
  Value tid = kb.threadId();

  // n_b = clamp(seq_lens[b], 0, min(max_pages * P, N)).
  Value nRaw = memref::LoadOp::create(b, slA, ValueRange{bIdx});
  Value nPos = arith::MaxSIOp::create(b, nRaw, kb.ci32(0));
  Value nb = kb.minIdx(kb.toIndex(nPos), kb.minIdx(kb.mul(maxPages, kb.c(pageSize)), nA));

  // Query labels (f32, scaled): qVec(j, c) is vector c of row j (a head of the group for max;
  // for sum the group's heads added up).
  int64_t groupHeads = reduce == GroupReduce::none ? 1 : g;
  Value scaleVec = vector::BroadcastOp::create(b, vecTy, kb.cf32(scale));
  Value qRow0 = kb.mul(kb.add(kb.mul(bIdx, kb.c(hq)), h0), kb.c(r)); // first head's labels
  SmallVector<SmallVector<Value>> qv;
  Value qSmem;
  if (!qShared) {
    qv.assign(qRows, SmallVector<Value>(vecs, zeroVec));
    for (int64_t j = 0; j < groupHeads; ++j) {
      int64_t dst = reduce == GroupReduce::max ? j : 0;
      for (int64_t cI = 0; cI < vecs; ++cI) {
        Value v = kb.loadVecF32(qA, kb.add(qRow0, kb.c(j * r + cI * w)), w);
        qv[dst][cI] = arith::AddFOp::create(b, qv[dst][cI], v);
      }
    }
    for (auto &rowVecs : qv)
      for (Value &v : rowVecs)
        v = arith::MulFOp::create(b, v, scaleVec);
  } else {
    // max with many heads: the g scaled rows (contiguous in q_label) go to shared memory, one
    // vector per thread, and are read back as broadcast vectors.
    qSmem = kb.addShared(f32, qRows * r);
    auto loop = scf::ForOp::create(b, kb.mul(tid, kb.c(w)), kb.c(qRows * r), kb.c(threads * w));
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value e = loop.getInductionVar();
      Value v = kb.loadVecF32(qA, kb.add(qRow0, e), w);
      vector::StoreOp::create(b, arith::MulFOp::create(b, v, scaleVec), qSmem, ValueRange{e});
    }
    gpu::BarrierOp::create(b);
  }

  // 1. Positions and page-table reads of the U tokens.
  Value tBase = kb.add(kb.mul(tileId, kb.c(tile)), tid);
  Value ptRow = kb.mul(bIdx, maxPages);
  SmallVector<Value> pos, valid, slotIdx;
  for (int64_t u = 0; u < unroll; ++u) {
    Value t = kb.add(tBase, kb.c(u * threads));
    Value ok = cmp(arith::CmpIPredicate::ult, t, nb);
    auto ifPage = scf::IfOp::create(b, TypeRange{b.getI32Type()}, ok, true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifPage.getThenRegion().front());
      Value page = memref::LoadOp::create(b, ptA, ValueRange{kb.add(ptRow, kb.div(t, kb.c(pageSize)))});
      scf::YieldOp::create(b, ValueRange{page});
      b.setInsertionPointToStart(&ifPage.getElseRegion().front());
      scf::YieldOp::create(b, ValueRange{kb.ci32(-1)});
    }
    // slot = page * P + t % P in 64-bit signed arithmetic; valid when 0 <= slot < S.
    Value page = kb.toIndex(ifPage.getResult(0));
    Value slot = kb.add(kb.mul(page, kb.c(pageSize)), kb.rem(t, kb.c(pageSize)));
    ok = arith::AndIOp::create(b, ok, cmp(arith::CmpIPredicate::sge, slot, kb.c(0)));
    ok = arith::AndIOp::create(b, ok, cmp(arith::CmpIPredicate::slt, slot, slots));
    pos.push_back(t);
    valid.push_back(ok);
    slotIdx.push_back(slot);
  }
  // 2. All label loads.
  SmallVector<SmallVector<Value>> kv(unroll);
  for (int64_t u = 0; u < unroll; ++u) {
    SmallVector<Type> types(vecs, vecTy);
    auto ifLoad = scf::IfOp::create(b, types, valid[u], true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifLoad.getThenRegion().front());
      Value base = kb.mul(kb.add(kb.mul(hk, slots), slotIdx[u]), kb.c(r));
      SmallVector<Value> loaded;
      for (int64_t cI = 0; cI < vecs; ++cI)
        loaded.push_back(kb.loadVecF32(cA, kb.add(base, kb.c(cI * w)), w));
      scf::YieldOp::create(b, loaded);
      b.setInsertionPointToStart(&ifLoad.getElseRegion().front());
      scf::YieldOp::create(b, SmallVector<Value>(vecs, zeroVec));
    }
    kv[u].assign(ifLoad.getResults().begin(), ifLoad.getResults().end());
  }
  // 3. Dot products, then coalesced stores. For max the group's rows are walked in a loop whose
  // trip count is a kernel parameter (g), so the q vectors are not all hoisted into registers;
  // each q vector is read once for the U tokens.
  auto dots = [&](llvm::function_ref<Value(int64_t)> qAt, SmallVector<Value> &best) {
    for (int64_t u = 0; u < unroll; ++u) {
      Value acc = arith::MulFOp::create(b, qAt(0), kv[u][0]);
      for (int64_t cI = 1; cI < vecs; ++cI)
        acc = vector::FMAOp::create(b, qAt(cI), kv[u][cI], acc);
      Value dot = vector::ReductionOp::create(b, vector::CombiningKind::ADD, acc);
      best[u] = best[u] ? kb.fmax(best[u], dot) : dot;
    }
  };
  SmallVector<Value> best(unroll);
  if (!qShared) {
    for (int64_t j = 0; j < qRows; ++j)
      dots([&](int64_t cI) { return qv[j][cI]; }, best);
  } else {
    SmallVector<Value> init(unroll, negInf);
    auto loop = scf::ForOp::create(b, kb.c(0), kb.toIndex(kb.arg(8)), kb.c(1), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value base = kb.mul(loop.getInductionVar(), kb.c(r));
      SmallVector<Value> q;
      for (int64_t cI = 0; cI < vecs; ++cI)
        q.push_back(vector::LoadOp::create(b, vecTy, qSmem, ValueRange{kb.add(base, kb.c(cI * w))}));
      SmallVector<Value> acc(loop.getRegionIterArgs().begin(), loop.getRegionIterArgs().end());
      dots([&](int64_t cI) { return q[cI]; }, acc);
      scf::YieldOp::create(b, acc);
    }
    best.assign(loop.getResults().begin(), loop.getResults().end());
  }
  Value outRow = kb.mul(kb.add(kb.mul(bIdx, kb.c(rows)), row), nA);
  for (int64_t u = 0; u < unroll; ++u) {
    Value s = arith::SelectOp::create(b, valid[u], best[u], negInf);
    auto ifStore = scf::IfOp::create(b, cmp(arith::CmpIPredicate::ult, pos[u], nA), false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifStore.getThenRegion().front());
    memref::StoreOp::create(b, s, oA, ValueRange{kb.add(outRow, pos[u])});
  }
  ctx.addLaunch(kb.finish());
  return success();
}
