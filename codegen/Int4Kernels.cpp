// Twilight's cheap keys (shared/ALGORITHMS.md §3): an int4 copy of K with one scale per group of
// 32 channels of a (token, kv head), and the scoring of candidate tokens with it.
//
// - int4_append: a thread per (new token, kv head, group of 32 channels) loads the group
//   (16-byte vectors), takes s = f16(absmax / 7) and q_j = clamp(rint(k_j / s), -8, 7) (0 where
//   s = 0), packs channel 8i + j into bits 4j .. 4j + 3 of word i (two's complement nibbles)
//   and stores the group's 4 words with one 16-byte store, and s. Slots outside [0, S) are
//   skipped.
// - int4_score: a CTA of `warps * 32` threads per (request, score row, tile of candidates);
//   d / 32 lanes share a candidate, each holding one group of 32 channels of the query row
//   (pre-multiplied by `scale`; summed over the group for group_reduce = sum) in registers and
//   reading the candidate's 16 bytes of that group plus its scale; the loads of `stages`
//   candidates per lane group are issued together, branch-free (addresses clamped into range,
//   results masked). Lanes are summed by shuffles. -1, positions >= n_b and slots outside the
//   cache score -inf.
#include "codegen/Lowering.h"
#include "dialect/DSOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

using namespace mlir;
using namespace mlir::ds;

namespace {
constexpr int64_t kGroup = 32; // channels per scale

LogicalResult lowerAppend(Int4AppendOp op, PlanContext &ctx) {
  KernelConfigAttr cfg = configOf(op);
  const int64_t threads = cfg.getWarps() * 32;
  Value k = op.getK();
  const int64_t hkv = dimOf(k, 1), d = dimOf(k, 2), groups = d / kGroup;
  BufferRef kq = ctx.alias(op.getNewKq(), op.getKq());
  BufferRef ks = ctx.alias(op.getNewKs(), op.getKs());
  const std::string tokens = dimExpr(ctx, k, 0), slots = kq.dims[0];

  KernelBuilder kb(ctx.kernels, ctx.kernelName("int4_append"), op->getLoc());
  kb.addBuffer(ctx.buffer(k));
  kb.addBuffer(ctx.buffer(op.getSlotMapping()));
  kb.addBuffer(kq);
  kb.addBuffer(ks);
  kb.addI64(tokens);
  kb.addI64(slots);
  const std::string work = "(" + tokens + ")*" + std::to_string(hkv * groups);
  kb.begin(threads, cdiv(PlanExpr::symbol(work), threads).text());
  ImplicitLocOpBuilder &b = kb.b();
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  Value kA = kb.arg(0), smA = kb.arg(1), qA = kb.arg(2), sA = kb.arg(3);
  Value nTok = kb.toIndex(kb.arg(4)), nSlots = kb.toIndex(kb.arg(5));
  Value gid = kb.add(kb.mul(kb.blockId(gpu::Dimension::x), kb.c(threads)), kb.threadId());
  Value t = kb.div(gid, kb.c(hkv * groups));
  Value rest = kb.rem(gid, kb.c(hkv * groups));
  Value h = kb.div(rest, kb.c(groups)), g = kb.rem(rest, kb.c(groups));
  Value inT = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, t, nTok);
  kb.ifThen(inT, [&] {
    Value slot = memref::LoadOp::create(b, smA, ValueRange{t});
    kb.ifThen(kb.inRange(slot, nSlots), [&] {
      Value s = kb.toIndex(slot);
      const int64_t w = 16 / (cast<RankedTensorType>(k.getType()).getElementTypeBitWidth() / 8);
      Value base = kb.add(kb.mul(kb.add(kb.mul(t, kb.c(hkv)), h), kb.c(d)), kb.mul(g, kb.c(kGroup)));
      SmallVector<Value> x;
      for (int64_t c = 0; c < kGroup; c += w) {
        Value v = kb.loadVecF32(kA, kb.add(base, kb.c(c)), w);
        for (int64_t j = 0; j < w; ++j)
          x.push_back(vector::ExtractOp::create(b, v, j));
      }
      Value amax = kb.cf32(0.0f);
      for (Value v : x)
        amax = kb.fmax(amax, kb.fmax(v, arith::NegFOp::create(b, v)));
      // The stored f16 scale is the one the scorer multiplies by: quantize with it.
      Value s16 = arith::TruncFOp::create(b, b.getF16Type(),
                                          arith::DivFOp::create(b, amax, kb.cf32(7.0f)));
      Value sf = arith::ExtFOp::create(b, f32, s16);
      Value zero = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, sf, kb.cf32(0.0f));
      SmallVector<Value> words(kGroup / 8, kb.ci32(0));
      for (int64_t j = 0; j < kGroup; ++j) {
        // x / s rounded to nearest even, clamped to [-8, 7] (x * (1 / s) would round
        // differently).
        Value qi = kb.int4Value(arith::DivFOp::create(b, x[j], sf));
        qi = arith::SelectOp::create(b, zero, kb.ci32(0), qi);
        Value nib = arith::AndIOp::create(b, qi, kb.ci32(0xF));
        Value sh = arith::ShLIOp::create(b, nib, kb.ci32(static_cast<int32_t>(4 * (j % 8))));
        words[j / 8] = arith::OrIOp::create(b, words[j / 8], sh);
      }
      Value packed = vector::FromElementsOp::create(b, VectorType::get({4}, i32), words);
      Value qBase = kb.add(kb.mul(kb.add(kb.mul(s, kb.c(hkv)), h), kb.c(d / 8)), kb.mul(g, kb.c(4)));
      auto store = vector::StoreOp::create(b, packed, qA, ValueRange{qBase});
      store.setAlignment(16);
      memref::StoreOp::create(b, s16, sA,
                              ValueRange{kb.add(kb.mul(kb.add(kb.mul(s, kb.c(hkv)), h), kb.c(groups)), g)});
    });
  });
  ctx.addLaunch(kb.finish());
  return success();
}

LogicalResult lowerScore(Int4ScoreOp op, PlanContext &ctx) {
  KernelConfigAttr cfg = configOf(op);
  const int64_t threads = cfg.getWarps() * 32, U = cfg.getStages();
  Value q = op.getQ(), kq = op.getKq(), cand = op.getCandidates();
  const int64_t hq = dimOf(q, 1), d = dimOf(q, 2), hkv = dimOf(kq, 1), P = op.getPageSize();
  const bool sum = op.getGroupReduce() == GroupReduce::sum;
  const int64_t g = hq / hkv, rows = sum ? hkv : hq, L = d / kGroup, perStep = threads / L;
  const int64_t tile = U * perStep;
  const std::string batch = dimExpr(ctx, q, 0), K = dimExpr(ctx, cand, 2);
  const BufferRef &out = ctx.place(op.getLogits(), {batch, std::to_string(rows), K});

  KernelBuilder kb(ctx.kernels, ctx.kernelName("int4_score"), op->getLoc());
  kb.addBuffer(ctx.buffer(q));
  kb.addBuffer(ctx.buffer(kq));
  kb.addBuffer(ctx.buffer(op.getKs()));
  kb.addBuffer(ctx.buffer(op.getPageTable()));
  kb.addBuffer(ctx.buffer(op.getSeqLens()));
  kb.addBuffer(ctx.buffer(cand));
  kb.addBuffer(out);
  kb.addI64(dimExpr(ctx, kq, 0));                 // S: slots
  kb.addI64(dimExpr(ctx, op.getPageTable(), 1));  // max_pages
  kb.addI64(K);
  const int64_t kStatic = dimOf(cand, 2);
  kb.begin(threads, "(" + batch + ")*" + std::to_string(rows),
           cdiv(ShapedType::isDynamic(kStatic) ? PlanExpr::symbol(K) : PlanExpr(kStatic), tile)
               .text());
  ImplicitLocOpBuilder &b = kb.b();
  Type i32 = b.getI32Type(), f32 = b.getF32Type(), f16 = b.getF16Type();
  Value qA = kb.arg(0), kqA = kb.arg(1), ksA = kb.arg(2), ptA = kb.arg(3), slA = kb.arg(4),
        cA = kb.arg(5), oA = kb.arg(6);
  Value nSlots = kb.toIndex(kb.arg(7)), maxPages = kb.toIndex(kb.arg(8)),
        nK = kb.toIndex(kb.arg(9));
  Value bid = kb.blockId(gpu::Dimension::x), tileId = kb.blockId(gpu::Dimension::y);
  Value bIdx = kb.div(bid, kb.c(rows)), row = kb.rem(bid, kb.c(rows));
  Value tid = kb.threadId(), sub = kb.rem(tid, kb.c(L)), slotInStep = kb.div(tid, kb.c(L));
  Value hk = sum ? row : kb.div(row, kb.c(g));
  auto sel = [&](Value c, Value x, Value y) { return arith::SelectOp::create(b, c, x, y).getResult(); };
  auto andI = [&](Value x, Value y) { return arith::AndIOp::create(b, x, y).getResult(); };
  // The lane's group of 32 query channels, scaled (summed over the group for group_reduce = sum).
  SmallVector<Value> qv(kGroup, kb.cf32(0.0f));
  for (int64_t j = 0; j < (sum ? g : 1); ++j) {
    Value head = sum ? kb.add(kb.mul(row, kb.c(g)), kb.c(j)) : row;
    Value off = kb.add(kb.mul(kb.add(kb.mul(bIdx, kb.c(hq)), head), kb.c(d)), kb.mul(sub, kb.c(kGroup)));
    const int64_t w = 8;
    for (int64_t c = 0; c < kGroup; c += w) {
      Value v = kb.loadVecF32(qA, kb.add(off, kb.c(c)), w);
      for (int64_t e = 0; e < w; ++e)
        qv[c + e] = arith::AddFOp::create(b, qv[c + e], vector::ExtractOp::create(b, v, e));
    }
  }
  Value scale = kb.cf32(op.getScale().convertToFloat());
  for (Value &v : qv)
    v = arith::MulFOp::create(b, v, scale);
  // n_b = clamp(seq_lens[b], 0, max_pages * P); pages outside [0, S / P) score -inf.
  Value nb = kb.minIdx(kb.toIndex(arith::MaxSIOp::create(
                           b, memref::LoadOp::create(b, slA, ValueRange{bIdx}), kb.ci32(0))),
                       kb.mul(maxPages, kb.c(P)));
  Value numPages = kb.div(nSlots, kb.c(P));
  Value rowBase = kb.mul(bid, nK);
  // Loads without branches, so that all U candidates' loads are in flight together: the
  // candidate (its index clamped into the row), then its page, then its 16 bytes of int4 words
  // and its scale, each at an address clamped into range and the result masked after. A CTA
  // exists only for K >= 1; a request with no tokens (or a cache with no pages) loads nothing.
  SmallVector<Value> pos(U), inK(U), t(U);
  for (int64_t u = 0; u < U; ++u) {
    pos[u] = kb.add(kb.add(kb.mul(tileId, kb.c(tile)), kb.c(u * perStep)), slotInStep);
    inK[u] = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, pos[u], nK);
    t[u] = memref::LoadOp::create(b, cA, ValueRange{kb.add(rowBase, sel(inK[u], pos[u], kb.c(0)))});
  }
  auto vec4 = VectorType::get({4}, i32);
  SmallVector<Type> types;
  for (int64_t u = 0; u < U; ++u)
    types.append({b.getI1Type(), vec4, f16});
  Value any = andI(arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, nb, kb.c(0)),
                   arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, numPages, kb.c(0)));
  auto ifAny = scf::IfOp::create(b, types, any, true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifAny.getThenRegion().front());
    SmallVector<Value> tOk(U), ti(U), page(U), yields;
    for (int64_t u = 0; u < U; ++u) {
      tOk[u] = andI(inK[u], kb.inRange(t[u], nb));
      ti[u] = kb.toIndex(sel(tOk[u], t[u], kb.ci32(0)));
      page[u] = memref::LoadOp::create(
          b, ptA, ValueRange{kb.add(kb.mul(bIdx, maxPages), kb.div(ti[u], kb.c(P)))});
    }
    for (int64_t u = 0; u < U; ++u) {
      Value pOk = andI(tOk[u], kb.inRange(page[u], numPages));
      Value slot = kb.add(kb.mul(kb.toIndex(sel(pOk, page[u], kb.ci32(0))), kb.c(P)),
                          kb.rem(ti[u], kb.c(P)));
      Value r = kb.add(kb.mul(slot, kb.c(hkv)), hk);
      auto lw = vector::LoadOp::create(b, vec4, kqA,
                                       ValueRange{kb.add(kb.mul(r, kb.c(d / 8)), kb.mul(sub, kb.c(4)))});
      lw.setAlignment(16);
      Value sc = memref::LoadOp::create(b, ksA, ValueRange{kb.add(kb.mul(r, kb.c(L)), sub)});
      yields.append({pOk, lw, sc});
    }
    scf::YieldOp::create(b, yields);
    b.setInsertionPointToStart(&ifAny.getElseRegion().front());
    Value zeroWords = arith::ConstantOp::create(b, DenseElementsAttr::get(vec4, int32_t(0)));
    Value zeroScale = arith::ConstantFloatOp::create(b, b.getF16Type(), APFloat(APFloat::IEEEhalf(), "0"));
    yields.clear();
    Value falseV = arith::ConstantIntOp::create(b, b.getI1Type(), 0);
    for (int64_t u = 0; u < U; ++u)
      yields.append({falseV, zeroWords, zeroScale});
    scf::YieldOp::create(b, yields);
  }
  const float ninf = -std::numeric_limits<float>::infinity();
  for (int64_t u = 0; u < U; ++u) {
    Value ok = ifAny.getResult(3 * u), words = ifAny.getResult(3 * u + 1);
    Value acc = kb.cf32(0.0f);
    for (int64_t j = 0; j < kGroup; ++j) {
      Value w = vector::ExtractOp::create(b, words, j / 8);
      // Sign-extend nibble j % 8: shift it to the top, then arithmetic shift down.
      Value v = arith::ShRSIOp::create(
          b, arith::ShLIOp::create(b, w, kb.ci32(static_cast<int32_t>(28 - 4 * (j % 8)))),
          kb.ci32(28));
      acc = math::FmaOp::create(b, arith::SIToFPOp::create(b, f32, v), qv[j], acc);
    }
    acc = arith::MulFOp::create(b, acc, arith::ExtFOp::create(b, f32, ifAny.getResult(3 * u + 2)));
    if (L > 1)
      acc = kb.warpSum(acc, L);
    Value val = sel(ok, acc, kb.cf32(ninf));
    Value store = andI(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, sub, kb.c(0)), inK[u]);
    kb.ifThen(store, [&] {
      memref::StoreOp::create(b, val, oA, ValueRange{kb.add(rowBase, pos[u])});
    });
  }
  ctx.addLaunch(kb.finish());
  return success();
}

LogicalResult lowerInt4(Operation *op, PlanContext &ctx) {
  if (auto a = dyn_cast<Int4AppendOp>(op))
    return lowerAppend(a, ctx);
  return lowerScore(cast<Int4ScoreOp>(op), ctx);
}

LogicalResult verifyInt4Config(Operation *op, KernelConfigAttr cfg, TargetAttr) {
  if (isa<Int4AppendOp>(op))
    return failure(failed(verifyUnusedConfigFields(op, cfg, kUseWarps)) ||
                   failed(verifyWarps(op, cfg, 1, 32)));
  if (failed(verifyUnusedConfigFields(op, cfg, kUseWarps | kUseStages)) ||
      failed(verifyWarps(op, cfg, 1, 32)))
    return failure();
  if (cfg.getStages() < 1 || cfg.getStages() > 8)
    return configError(op, "stages") << "must be 1 to 8 candidates in flight per lane group, got "
                                     << cfg.getStages();
  if (cast<Int4ScoreOp>(op).getGroupReduce() == GroupReduce::max)
    return op->emitOpError("GPU lowering supports group_reduce none or sum (a shared "
                           "selection scores the group's summed query)");
  return success();
}
} // namespace

void mlir::ds::registerInt4Family() {
  KernelFamily f;
  f.name = "int4";
  f.ops = {Int4AppendOp::getOperationName().str(), Int4ScoreOp::getOperationName().str()};
  // append: 128 threads, a group of 32 channels each; score: 128 threads, 8 candidates in
  // flight per lane group.
  f.choose = [](Operation *op, TargetAttr) {
    return KernelConfigAttr::get(op->getContext(), 1, 4, 1, isa<Int4ScoreOp>(op) ? 8 : 1, 1);
  };
  f.verify = verifyInt4Config;
  f.lower = lowerInt4;
  registerKernelFamily(std::move(f));
}
