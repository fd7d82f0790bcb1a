// Twilight's cheap keys (shared/ALGORITHMS.md §3): an int4 copy of K with one scale per group of
// 32 channels of a (token, kv head), and the scoring of candidate tokens with it.
//
// The int4 keys live in one record per (slot, kv head), d / 8 words of 4-bit values then four
// words of f16 scales (int4RecordWords): a candidate's values and scales are one read (80 bytes at
// d = 128, three 32-byte sectors), where separate tensors cost a second DRAM access per
// candidate (H100, 8 x 32 rows of 4096 candidates: 79.9 us with the scales apart, 52.1 without
// reading them at all).
//
// - int4_append: a thread per (new token, kv head) walks its d / 32 groups: loads the group
//   (16-byte vectors), takes s = f16(absmax / 7) and q_j = clamp(rint(k_j / s), -8, 7) (0 where
//   s = 0), packs channel 8i + j into bits 4j .. 4j + 3 of word i (two's complement nibbles)
//   and stores the group's 4 words with one 16-byte store; then the scales (and zeros past
//   them) with one more. Slots outside [0, S) are skipped.
// - int4_score: see lowerScore (tensor cores: mma.sync over tiles of 16 candidates).
#include "codegen/Lowering.h"
#include "codegen/MmaFragments.h"
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
  const int64_t hkv = dimOf(k, 1), d = dimOf(k, 2), groups = d / kGroup, R = int4RecordWords(d);
  BufferRef kq = ctx.alias(op.getNewKq(), op.getKq());
  const std::string tokens = dimExpr(ctx, k, 0), slots = kq.dims[0];

  KernelBuilder kb(ctx.kernels, ctx.kernelName("int4_append"), op->getLoc());
  kb.addBuffer(ctx.buffer(k));
  kb.addBuffer(ctx.buffer(op.getSlotMapping()));
  kb.addBuffer(kq);
  kb.addI64(tokens);
  kb.addI64(slots);
  const std::string work = "(" + tokens + ")*" + std::to_string(hkv);
  kb.begin(threads, cdiv(PlanExpr::symbol(work), threads).text());
  ImplicitLocOpBuilder &b = kb.b();
  Type i32 = b.getI32Type(), f32 = b.getF32Type(), f16 = b.getF16Type();
  Value kA = kb.arg(0), smA = kb.arg(1), qA = kb.arg(2);
  Value nTok = kb.toIndex(kb.arg(3)), nSlots = kb.toIndex(kb.arg(4));
  Value gid = kb.add(kb.mul(kb.blockId(gpu::Dimension::x), kb.c(threads)), kb.threadId());
  Value t = kb.div(gid, kb.c(hkv)), h = kb.rem(gid, kb.c(hkv));
  Value inT = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, t, nTok);
  kb.ifThen(inT, [&] {
    Value slot = memref::LoadOp::create(b, smA, ValueRange{t});
    kb.ifThen(kb.inRange(slot, nSlots), [&] {
      Value s = kb.toIndex(slot);
      const int64_t w = 16 / (cast<RankedTensorType>(k.getType()).getElementTypeBitWidth() / 8);
      Value kBase = kb.mul(kb.add(kb.mul(t, kb.c(hkv)), h), kb.c(d));
      Value rec = kb.mul(kb.add(kb.mul(s, kb.c(hkv)), h), kb.c(R));
      SmallVector<Value> scaleBits(8, kb.ci32(0)); // 16-bit halves of the four scale words
      for (int64_t g = 0; g < groups; ++g) {
        SmallVector<Value> x;
        for (int64_t c = 0; c < kGroup; c += w) {
          Value v = kb.loadVecF32(kA, kb.add(kBase, kb.c(g * kGroup + c)), w);
          for (int64_t j = 0; j < w; ++j)
            x.push_back(vector::ExtractOp::create(b, v, j));
        }
        Value amax = kb.cf32(0.0f);
        for (Value v : x)
          amax = kb.fmax(amax, kb.fmax(v, arith::NegFOp::create(b, v)));
        // The stored f16 scale is the one the scorer multiplies by: quantize with it.
        Value s16 = arith::TruncFOp::create(b, f16, arith::DivFOp::create(b, amax, kb.cf32(7.0f)));
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
        auto store = vector::StoreOp::create(b, packed, qA, ValueRange{kb.add(rec, kb.c(4 * g))});
        store.setAlignment(16);
        scaleBits[g] = arith::ExtUIOp::create(
            b, i32, arith::BitcastOp::create(b, b.getI16Type(), s16));
      }
      // The scales (group g in half g % 2 of word g / 2), zeros past them: one 16-byte store.
      SmallVector<Value> tail;
      for (int64_t i = 0; i < 4; ++i)
        tail.push_back(arith::OrIOp::create(
            b, scaleBits[2 * i], arith::ShLIOp::create(b, scaleBits[2 * i + 1], kb.ci32(16))));
      Value tailV = vector::FromElementsOp::create(b, VectorType::get({4}, i32), tail);
      auto store = vector::StoreOp::create(b, tailV, qA, ValueRange{kb.add(rec, kb.c(d / 8))});
      store.setAlignment(16);
    });
  });
  ctx.addLaunch(kb.finish());
  return success();
}

// int4_score on the tensor cores: a warp scores tiles of 16 candidates with mma.sync m16n8k16
// (bf16 or f16, the query's type; f32 accumulation). Lane (gid = lane / 4, t4 = lane % 4)
// holds A's rows gid and gid + 8 (candidates) and reads L = d / 32 words of each (the words
// t4 * L .. t4 * L + L - 1, 16 bytes at d = 128). k-step s takes word t4 * L + s / 2 of both
// rows, nibble pairs (j, j + 4) and (j + 1, j + 5) with j = 2 (s % 2): A's k-order is a
// permutation of the channels and B's q values follow it. A pair of nibbles becomes two exact
// 16-bit values with one shift, one and-xor (0x000F000F, then 0x43084308 for bf16: 128 + 8 +
// v; 0x64086408 for f16: 1024 + 8 + v) and one packed subtraction of 136 (1032). B's column n
// is group n: lane (gid, t4) gives B its k-slots' query channels where gid is their group and
// zeros elsewhere, so C[candidate, n] is group n's dot product and the score is
// scale * sum_n sc[n] * C[n] with sc the record's scales (lane t4 holds columns 2 t4 and
// 2 t4 + 1 and their scale word; two shuffles sum the lanes). The query enters B exactly for
// group_reduce = none; the f32 sum of a group's queries enters as a high and a low part (two
// mma per k-step). Every tile's candidates, pages, value words and scale words are loaded
// before the products, branch-free (addresses clamped into range, results masked); -1,
// positions >= n_b and slots outside the cache score -inf.
LogicalResult lowerScore(Int4ScoreOp op, PlanContext &ctx) {
  KernelConfigAttr cfg = configOf(op);
  const int64_t warps = cfg.getWarps(), threads = warps * 32, U = cfg.getStages();
  Value q = op.getQ(), kq = op.getKq(), cand = op.getCandidates();
  const int64_t hq = dimOf(q, 1), d = dimOf(q, 2), hkv = dimOf(kq, 1), P = op.getPageSize();
  const bool sum = op.getGroupReduce() == GroupReduce::sum;
  // L: the record's groups, also the value words a lane reads of a candidate (d / 8 over 4 lanes).
  const int64_t g = hq / hkv, rows = sum ? hkv : hq, L = d / kGroup, steps = d / 16;
  const int64_t R = int4RecordWords(d);
  const int64_t tile = warps * U * 16;
  const std::string batch = dimExpr(ctx, q, 0), K = dimExpr(ctx, cand, 2);
  const BufferRef &out = ctx.place(op.getLogits(), {batch, std::to_string(rows), K});

  KernelBuilder kb(ctx.kernels, ctx.kernelName("int4_score"), op->getLoc());
  kb.addBuffer(ctx.buffer(q));
  kb.addBuffer(ctx.buffer(kq));
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
  Type elem = cast<RankedTensorType>(q.getType()).getElementType();
  const bool bf16 = elem.isBF16();
  Mma mma(kb, elem);
  Value qA = kb.arg(0), kqA = kb.arg(1), ptA = kb.arg(2), slA = kb.arg(3), cA = kb.arg(4),
        oA = kb.arg(5);
  Value nSlots = kb.toIndex(kb.arg(6)), maxPages = kb.toIndex(kb.arg(7)),
        nK = kb.toIndex(kb.arg(8));
  Value bid = kb.blockId(gpu::Dimension::x), tileId = kb.blockId(gpu::Dimension::y);
  Value bIdx = kb.div(bid, kb.c(rows)), row = kb.rem(bid, kb.c(rows));
  Value lane = kb.lane(), warp = kb.warpId();
  Value gid = kb.div(lane, kb.c(4)), t4 = kb.rem(lane, kb.c(4));
  Value hk = sum ? row : kb.div(row, kb.c(g));
  auto sel = [&](Value c, Value x, Value y) { return arith::SelectOp::create(b, c, x, y).getResult(); };
  auto andI = [&](Value x, Value y) { return arith::AndIOp::create(b, x, y).getResult(); };
  auto cmpi = [&](arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, p, x, y).getResult();
  };

  // B: the lane's query channels 8 (t4 L + m) + x, m < L, x < 8 (summed over the group's heads
  // for group_reduce = sum), as fragment registers per k-step, zero where gid is not their group.
  SmallVector<Value> qv(8 * L, kb.cf32(0.0f));
  for (int64_t j = 0; j < (sum ? g : 1); ++j) {
    Value head = sum ? kb.add(kb.mul(row, kb.c(g)), kb.c(j)) : row;
    Value off = kb.add(kb.mul(kb.add(kb.mul(bIdx, kb.c(hq)), head), kb.c(d)), kb.mul(t4, kb.c(8 * L)));
    for (int64_t c = 0; c < 8 * L; c += 8) {
      Value v = kb.loadVecF32(qA, kb.add(off, kb.c(c)), 8);
      for (int64_t e = 0; e < 8; ++e)
        qv[c + e] = arith::AddFOp::create(b, qv[c + e], vector::ExtractOp::create(b, v, e));
    }
  }
  SmallVector<std::array<Value, 2>> bHi(steps), bLo(steps);
  for (int64_t s = 0; s < steps; ++s) {
    const int64_t m = s / 2, j = 2 * (s % 2);
    // The group of word t4 L + m is (t4 L + m) / 4.
    Value mine = cmpi(arith::CmpIPredicate::eq, gid,
                      kb.div(kb.add(kb.mul(t4, kb.c(L)), kb.c(m)), kb.c(4)));
    for (int64_t r = 0; r < 2; ++r) {
      Value x = sel(mine, qv[8 * m + j + r], kb.cf32(0.0f));
      Value y = sel(mine, qv[8 * m + j + r + 4], kb.cf32(0.0f));
      if (sum) {
        auto [hi, lo] = mma.packSplit(x, y);
        bHi[s][r] = hi;
        bLo[s][r] = lo;
      } else {
        bHi[s][r] = mma.pack(x, y);
      }
    }
  }
  Value scale = kb.cf32(op.getScale().convertToFloat());
  // n_b = clamp(seq_lens[b], 0, max_pages * P); pages outside [0, S / P) score -inf.
  Value nb = kb.minIdx(kb.toIndex(arith::MaxSIOp::create(
                           b, memref::LoadOp::create(b, slA, ValueRange{bIdx}), kb.ci32(0))),
                       kb.mul(maxPages, kb.c(P)));
  Value numPages = kb.div(nSlots, kb.c(P));
  Value rowBase = kb.mul(bid, nK);
  // Candidates 2u (row gid of tile u) and 2u + 1 (row gid + 8): index clamped into the row,
  // then the page, then the words and the scales, each at an address clamped into range and
  // the result masked after.
  const int64_t NR = 2 * U;
  SmallVector<Value> pos(NR), inK(NR), t(NR);
  for (int64_t u = 0; u < U; ++u)
    for (int64_t r = 0; r < 2; ++r) {
      Value base = kb.add(kb.mul(tileId, kb.c(tile)), kb.mul(kb.add(kb.mul(warp, kb.c(U)), kb.c(u)), kb.c(16)));
      pos[2 * u + r] = kb.add(base, kb.add(gid, kb.c(8 * r)));
      inK[2 * u + r] = cmpi(arith::CmpIPredicate::ult, pos[2 * u + r], nK);
      t[2 * u + r] = memref::LoadOp::create(
          b, cA, ValueRange{kb.add(rowBase, sel(inK[2 * u + r], pos[2 * u + r], kb.c(0)))});
    }
  // Scales: columns 2 t4 and 2 t4 + 1 where they are groups (L >= 2: lanes t4 < L / 2; L = 1:
  // column 0 of lane t4 = 0).
  Value scaleLane = cmpi(arith::CmpIPredicate::ult, t4, kb.c(std::max<int64_t>(L / 2, 1)));
  Value scaleWord = sel(scaleLane, t4, kb.c(0));
  auto wordsTy = VectorType::get({L}, i32), scalesTy = VectorType::get({2}, f16);
  SmallVector<Type> types;
  for (int64_t r = 0; r < NR; ++r)
    types.append({b.getI1Type(), wordsTy, scalesTy});
  Value any = andI(cmpi(arith::CmpIPredicate::ugt, nb, kb.c(0)),
                   cmpi(arith::CmpIPredicate::ugt, numPages, kb.c(0)));
  auto ifAny = scf::IfOp::create(b, types, any, true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifAny.getThenRegion().front());
    SmallVector<Value> tOk(NR), ti(NR), page(NR), yields;
    for (int64_t r = 0; r < NR; ++r) {
      tOk[r] = andI(inK[r], kb.inRange(t[r], nb));
      ti[r] = kb.toIndex(sel(tOk[r], t[r], kb.ci32(0)));
      page[r] = memref::LoadOp::create(
          b, ptA, ValueRange{kb.add(kb.mul(bIdx, maxPages), kb.div(ti[r], kb.c(P)))});
    }
    for (int64_t r = 0; r < NR; ++r) {
      Value pOk = andI(tOk[r], kb.inRange(page[r], numPages));
      Value slot = kb.add(kb.mul(kb.toIndex(sel(pOk, page[r], kb.ci32(0))), kb.c(P)),
                          kb.rem(ti[r], kb.c(P)));
      Value sr = kb.add(kb.mul(slot, kb.c(hkv)), hk);
      Value rec = kb.mul(sr, kb.c(R)), wOff = kb.add(rec, kb.mul(t4, kb.c(L)));
      Value words;
      if (L <= 4) {
        words = kb.loadVec(kqA, wOff, L);
      } else {
        Value lo = kb.loadVec(kqA, wOff, 4), hi = kb.loadVec(kqA, kb.add(wOff, kb.c(4)), 4);
        words = vector::ShuffleOp::create(b, lo, hi, ArrayRef<int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
      }
      // The lane's scale word: f16 columns 2 t4 and 2 t4 + 1 of the record's scales.
      Value sw = kb.loadVec(kqA, kb.add(kb.add(rec, kb.c(d / 8)), scaleWord), 1);
      Value sc = vector::BitCastOp::create(b, scalesTy, sw);
      yields.append({pOk, words, sc});
    }
    scf::YieldOp::create(b, yields);
    b.setInsertionPointToStart(&ifAny.getElseRegion().front());
    Value falseV = arith::ConstantIntOp::create(b, b.getI1Type(), 0);
    Value zeroWords = arith::ConstantOp::create(b, b.getZeroAttr(wordsTy));
    Value zeroScales = arith::ConstantOp::create(b, b.getZeroAttr(scalesTy));
    yields.clear();
    for (int64_t r = 0; r < NR; ++r)
      yields.append({falseV, zeroWords, zeroScales});
    scf::YieldOp::create(b, yields);
  }
  // Nibbles (j, j + 4) of word w as two exact 16-bit values of the mma's type.
  const int32_t magic = bf16 ? 0x43084308 : 0x64086408;
  auto pair2Ty = VectorType::get({2}, elem);
  Value bias = arith::ConstantOp::create(
      b, DenseElementsAttr::get(pair2Ty, b.getFloatAttr(elem, bf16 ? 136.0 : 1032.0)));
  auto nibblePair = [&](Value w, int64_t j) {
    Value x = j ? arith::ShRUIOp::create(b, w, kb.ci32(static_cast<int32_t>(4 * j))).getResult() : w;
    x = arith::XOrIOp::create(b, arith::AndIOp::create(b, x, kb.ci32(0x000F000F)), kb.ci32(magic));
    Value v = vector::BitCastOp::create(b, pair2Ty, vector::BroadcastOp::create(b, VectorType::get({1}, i32), x));
    return mma.operand(arith::SubFOp::create(b, v, bias));
  };
  const float ninf = -std::numeric_limits<float>::infinity();
  for (int64_t u = 0; u < U; ++u) {
    SmallVector<Value> acc(4, kb.cf32(0.0f));
    Value w0 = ifAny.getResult(3 * (2 * u) + 1), w1 = ifAny.getResult(3 * (2 * u + 1) + 1);
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t m = s / 2, j = 2 * (s % 2);
      Value x0 = vector::ExtractOp::create(b, w0, m), x1 = vector::ExtractOp::create(b, w1, m);
      SmallVector<Value> a = {nibblePair(x0, j), nibblePair(x1, j), nibblePair(x0, j + 1),
                              nibblePair(x1, j + 1)};
      mma.mma(a, {bHi[s][0], bHi[s][1]}, acc);
      if (sum)
        mma.mma(a, {bLo[s][0], bLo[s][1]}, acc);
    }
    SmallVector<Value> part(2);
    for (int64_t r = 0; r < 2; ++r) {
      Value sc = ifAny.getResult(3 * (2 * u + r) + 2);
      Value s0 = sel(scaleLane, arith::ExtFOp::create(b, f32, vector::ExtractOp::create(b, sc, 0).getResult()),
                     kb.cf32(0.0f));
      Value p = arith::MulFOp::create(b, s0, acc[2 * r]);
      if (L >= 2) {
        Value s1 = sel(scaleLane, arith::ExtFOp::create(b, f32, vector::ExtractOp::create(b, sc, 1).getResult()),
                       kb.cf32(0.0f));
        p = math::FmaOp::create(b, s1, acc[2 * r + 1], p);
      }
      part[r] = p;
    }
    SmallVector<Value> tot = kb.warpSums(part, 4);
    for (int64_t r = 0; r < 2; ++r) {
      Value ok = ifAny.getResult(3 * (2 * u + r));
      Value val = sel(ok, arith::MulFOp::create(b, tot[r], scale), kb.cf32(ninf));
      Value store = andI(cmpi(arith::CmpIPredicate::eq, t4, kb.c(r)), inK[2 * u + r]);
      kb.ifThen(store, [&] {
        memref::StoreOp::create(b, val, oA, ValueRange{kb.add(rowBase, pos[2 * u + r])});
      });
    }
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
    return configError(op, "stages") << "must be 1 to 8 tiles of 16 candidates in flight per warp, got "
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
  // append: 128 threads, a (token, kv head) each; score: 128 threads, 2 tiles of 16 candidates
  // in flight per warp.
  f.choose = [](Operation *op, TargetAttr) {
    return KernelConfigAttr::get(op->getContext(), 1, 4, 1, isa<Int4ScoreOp>(op) ? 2 : 1, 1);
  };
  f.verify = verifyInt4Config;
  f.lower = lowerInt4;
  registerKernelFamily(std::move(f));
}
