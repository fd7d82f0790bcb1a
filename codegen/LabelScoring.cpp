#include "codegen/LabelScoring.h"
#include "codegen/Lowering.h"
#include "dialect/DSOps.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

using namespace mlir;
using namespace mlir::ds;

namespace {
constexpr int64_t kMaxQRegs = 32; // f32 query-label values one thread keeps in registers

} // namespace

int64_t LabelScoreShape::vectorWidth() const {
  int64_t w = 8;
  while (w > 1 && r % w != 0)
    w /= 2;
  return w;
}

bool LabelScoreShape::qShared() const { return qRows() * r > kMaxQRegs; }

template <typename OpTy> LabelScoreShape LabelScoreShape::of(OpTy op) {
  return {dimOf(op.getQLabel(), 1), dimOf(op.getLabelCache(), 0), dimOf(op.getLabelCache(), 2),
          static_cast<int64_t>(op.getPageSize()), op.getGroupReduce(),
          op.getScale().convertToFloat()};
}
template LabelScoreShape LabelScoreShape::of(LabelScoreOp);
template LabelScoreShape LabelScoreShape::of(ScoreTopKOp);

LabelScorer::LabelScorer(KernelBuilder &kb, const LabelScoreShape &shape,
                         const LabelScoreArgs &args, int64_t threads, int64_t vectorWidth)
    : kb(kb), shape(shape), args(args), threads(threads), w(vectorWidth),
      vecs(shape.r / w) {
  ImplicitLocOpBuilder &b = kb.b();
  vecTy = VectorType::get({w}, b.getF32Type());
  negInf = kb.cf32(-std::numeric_limits<float>::infinity());
  zeroVec = arith::ConstantOp::create(b, DenseElementsAttr::get(vecTy, 0.0f));
  if (shape.qShared())
    qSmem = kb.addShared(b.getF32Type(), shape.qRows() * shape.r);
}

void LabelScorer::loadQuery(Value bIdxV, Value row) {
  ImplicitLocOpBuilder &b = kb.b();
  const GroupReduce reduce = shape.reduce;
  const int64_t g = shape.groupSize(), r = shape.r, qRows = shape.qRows();
  bIdx = bIdxV;
  hk = reduce == GroupReduce::none ? kb.div(row, kb.c(g)) : row;
  Value h0 = reduce == GroupReduce::none ? row : kb.mul(row, kb.c(g));
  // qv[j][c] is vector c of row j (a head of the group for max; for sum the group's heads
  // added up).
  int64_t groupHeads = reduce == GroupReduce::none ? 1 : g;
  Value scaleVec = vector::BroadcastOp::create(b, vecTy, kb.cf32(shape.scale));
  // w query labels of head h0 + j from channel c: q_label's row, or gathered from q's row through
  // the kv head's channels (a channel outside [0, d) reads 0, as ds.label_gather).
  auto loadQ = [&](Value j, Value c) -> Value {
    Value head = kb.add(kb.add(kb.mul(bIdx, kb.c(shape.hq)), h0), j);
    if (!args.channels)
      return kb.loadVecF32(args.qLabel, kb.add(kb.mul(head, kb.c(r)), c), w);
    SmallVector<Value> elems;
    for (int64_t i = 0; i < w; ++i) {
      Value ch = memref::LoadOp::create(
          b, args.channels, ValueRange{kb.add(kb.mul(hk, kb.c(r)), kb.add(c, kb.c(i)))});
      Value ok = kb.inRange(ch, kb.c(args.headDim));
      Value chIdx = arith::SelectOp::create(b, ok, kb.toIndex(ch), kb.c(0));
      Value x = kb.loadF32(args.qLabel, kb.add(kb.mul(head, kb.c(args.headDim)), chIdx));
      elems.push_back(arith::SelectOp::create(b, ok, x, kb.cf32(0.0f)));
    }
    return vector::FromElementsOp::create(b, vecTy, elems);
  };
  if (!qSmem) {
    qv.assign(qRows, SmallVector<Value>(vecs, zeroVec));
    for (int64_t j = 0; j < groupHeads; ++j) {
      int64_t dst = reduce == GroupReduce::max ? j : 0;
      for (int64_t cI = 0; cI < vecs; ++cI) {
        Value v = loadQ(kb.c(j), kb.c(cI * w));
        qv[dst][cI] = arith::AddFOp::create(b, qv[dst][cI], v);
      }
    }
    for (auto &rowVecs : qv)
      for (Value &v : rowVecs)
        v = arith::MulFOp::create(b, v, scaleVec);
    return;
  }
  // max with many heads: the g scaled rows (contiguous in q_label) go to shared memory, one
  // vector per thread, and are read back as broadcast vectors.
  auto loop = scf::ForOp::create(b, kb.mul(kb.threadId(), kb.c(w)), kb.c(qRows * r),
                                 kb.c(threads * w));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value e = loop.getInductionVar();
    Value v = loadQ(kb.div(e, kb.c(r)), kb.rem(e, kb.c(r)));
    vector::StoreOp::create(b, arith::MulFOp::create(b, v, scaleVec), qSmem, ValueRange{e});
  }
  gpu::BarrierOp::create(b);
}

SmallVector<Value> LabelScorer::score(llvm::ArrayRef<Value> pos, Value nb) {
  ImplicitLocOpBuilder &b = kb.b();
  const int64_t unroll = pos.size(), pageSize = shape.pageSize, r = shape.r;
  auto cmp = [&](arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, p, x, y).getResult();
  };
  // 1. Page-table reads of the U tokens.
  Value ptRow = kb.mul(bIdx, args.maxPages);
  SmallVector<Value> valid, slotIdx;
  for (Value t : pos) {
    Value ok = cmp(arith::CmpIPredicate::ult, t, nb);
    auto ifPage = scf::IfOp::create(b, TypeRange{b.getI32Type()}, ok, true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifPage.getThenRegion().front());
      Value page = memref::LoadOp::create(b, args.pageTable,
                                          ValueRange{kb.add(ptRow, kb.div(t, kb.c(pageSize)))});
      scf::YieldOp::create(b, ValueRange{page});
      b.setInsertionPointToStart(&ifPage.getElseRegion().front());
      scf::YieldOp::create(b, ValueRange{kb.ci32(-1)});
    }
    // slot = page * P + t % P in 64-bit signed arithmetic; valid when 0 <= slot < S.
    Value page = kb.toIndex(ifPage.getResult(0));
    Value slot = kb.add(kb.mul(page, kb.c(pageSize)), kb.rem(t, kb.c(pageSize)));
    ok = arith::AndIOp::create(b, ok, cmp(arith::CmpIPredicate::sge, slot, kb.c(0)));
    ok = arith::AndIOp::create(b, ok, cmp(arith::CmpIPredicate::slt, slot, args.slots));
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
      Value base = kb.mul(kb.add(kb.mul(hk, args.slots), slotIdx[u]), kb.c(r));
      SmallVector<Value> loaded;
      for (int64_t cI = 0; cI < vecs; ++cI)
        loaded.push_back(kb.loadVecF32(args.labelCache, kb.add(base, kb.c(cI * w)), w));
      scf::YieldOp::create(b, loaded);
      b.setInsertionPointToStart(&ifLoad.getElseRegion().front());
      scf::YieldOp::create(b, SmallVector<Value>(vecs, zeroVec));
    }
    kv[u].assign(ifLoad.getResults().begin(), ifLoad.getResults().end());
  }
  // 3. Dot products. For max with shared q rows the group's rows are walked in a loop whose trip
  // count is a kernel parameter (g), so the q vectors are not all hoisted into registers; each q
  // vector is read once for the U tokens.
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
  if (!qSmem) {
    for (SmallVector<Value> &q : qv)
      dots([&](int64_t cI) { return q[cI]; }, best);
  } else {
    SmallVector<Value> init(unroll, negInf);
    auto loop = scf::ForOp::create(b, kb.c(0), args.groupSize, kb.c(1), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value base = kb.mul(loop.getInductionVar(), kb.c(r));
      SmallVector<Value> q;
      for (int64_t cI = 0; cI < vecs; ++cI)
        q.push_back(
            vector::LoadOp::create(b, vecTy, qSmem, ValueRange{kb.add(base, kb.c(cI * w))}));
      SmallVector<Value> acc(loop.getRegionIterArgs().begin(), loop.getRegionIterArgs().end());
      dots([&](int64_t cI) { return q[cI]; }, acc);
      scf::YieldOp::create(b, acc);
    }
    best.assign(loop.getResults().begin(), loop.getResults().end());
  }
  for (int64_t u = 0; u < unroll; ++u)
    best[u] = arith::SelectOp::create(b, valid[u], best[u], negInf);
  return best;
}
