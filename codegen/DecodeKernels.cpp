// Decode attention kernels: dense_decode and sparse_decode (token or page granularity), as a
// split-K partial kernel plus a merge kernel (the online-softmax merge of ALGORITHMS.md §1).
//
// Partial kernel, one CTA per (request, row, split): a row is a kv head whose g query heads share
// the tokens (dense, or a selection shared by the group) or one query head (per-head selection).
// LPT = d / 8 lanes hold one K/V row as 16-byte vectors, so a warp walks 32 / LPT tokens at a
// time, U steps unrolled with all loads issued first. Each lane keeps an online-softmax state
// (m, l, acc[8]) per query head in base 2 (logits pre-multiplied by log2 e, exp through ex2);
// states are merged across the warp with shuffles, across warps in shared memory, and written as
// (acc, m, l) per split, or as the normalized o when there is one split. The merge kernel (one
// warp per query head, launched only with several splits) combines the splits.
// Variant "mma" (GQA groups of 2 to 8 heads a CTA, d = 64 or 128, bf16 / f16, sm_80+) replaces
// the FMA token loop by one on mma.sync: a warp step is 16 positions, S = Q Kᵀ and O += P V on
// tensor cores with the heads as the rows of A (buildMmaTokenLoop); the rest is shared.
#include "codegen/Lowering.h"
#include "codegen/MmaFragments.h"
#include "dialect/DSOps.h"
#include "dialect/DSTarget.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::ds;

namespace {
constexpr int64_t kVec = 8;      // elements per 16-byte K/V vector
constexpr float kLog2e = 1.4426950408889634f;
constexpr int64_t kMaxSparseChunk = 2048; // positions a sparse split resolves into shared memory
constexpr llvm::StringLiteral kMmaVariant = "mma"; // the tensor-core token loop

/// Whether the tensor-core token loop serves a partial CTA of `heads` query heads of dim `d`
/// over a cache of `elem` on `target`: mma.sync bf16 / f16 (sm_80+), 2..8 heads (rows of the
/// 16-row A tile), d = 64 or 128 (the accumulators of 128 dims in 32 registers).
bool mmaServes(int64_t heads, int64_t d, Type elem, TargetAttr target) {
  const ChipInfo *chip = lookupChip(target.getChip());
  return chip && chip->version >= 80 && heads >= 2 && heads <= 8 && (d == 64 || d == 128) &&
         (elem.isBF16() || elem.isF16());
}

enum class Walk { Dense, Tokens, Pages };

/// Floats of one head's state in a warp's shared memory: acc[d], then m and l.
int64_t headStateFloats(int64_t d) { return d + 2; }

struct DecodeShape {
  int64_t hq, hkv, d, pageSize, rows, groupHeads, selLen; // selLen: k (sparse) or 0
  int64_t denseBelow; // sparse: requests with n < denseBelow walk all their tokens
  Walk walk;
  bool hasWeights;
  float scale, softCap;
  int64_t warps;
  int64_t unroll; // warp steps whose loads are issued together (the config's stages)
  bool directOut = false; // a single split writes o (its merge is then not launched)
  bool mma = false;       // the tensor-core token loop (variant "mma")
  int64_t headStateFloats() const { return ::headStateFloats(d); }
  /// Floats of one warp's state in shared memory: a head state per head of the CTA.
  int64_t warpStateFloats() const { return groupHeads * headStateFloats(); }
};

/// The selection a decode op walks (null for dense decode).
Value indicesOf(Operation *op) {
  if (auto sparse = dyn_cast<SparseDecodeOp>(op))
    return sparse.getIndices();
  if (auto partial = dyn_cast<DecodePartialOp>(op))
    return partial.getIndices();
  return Value();
}

/// The log-weights of a sparse walk (null without).
Value logWeightsOf(Operation *op) {
  if (auto sparse = dyn_cast<SparseDecodeOp>(op))
    return sparse.getLogWeights();
  if (auto partial = dyn_cast<DecodePartialOp>(op))
    return partial.getLogWeights();
  return Value();
}

/// Whether each query head has a selection of its own (GQA with indices [B, Hq, k]).
bool perHeadSelection(Value q, Value kCache, Value indices) {
  int64_t hq = dimOf(q, 1), hkv = dimOf(kCache, 2);
  return indices && dimOf(indices, 1) == hq && hq != hkv;
}

/// The query heads a decode op's CTA walks by default (the config pass's `heads`, and what
/// `heads = 0` means): the g = Hq / Hkv heads of a kv head for dense decode or a selection
/// shared by the group, one for a selection per query head. Heads are static in ds ops.
int64_t wholeGroupHeads(Operation *op) {
  Value q = op->getOperand(0), kCache = op->getOperand(1);
  return perHeadSelection(q, kCache, indicesOf(op)) ? 1 : dimOf(q, 1) / dimOf(kCache, 2);
}

/// Query heads one partial CTA walks together: the config's `heads`, or wholeGroupHeads at 0.
int64_t headsPerCTA(Operation *op, KernelConfigAttr cfg) {
  return cfg.getHeads() > 0 ? cfg.getHeads() : wholeGroupHeads(op);
}

/// The static shared memory (`.shared` variables: ptxas refuses a kernel whose total passes
/// 48 KB, whatever the opt-in limit for dynamic shared memory) of a partial CTA of `warps` warps
/// walking `heads` query heads: each warp's online-softmax states (DecodeShape::warpStateFloats),
/// and for a sparse walk its chunk's K/V rows and, with log-weights, their weights
/// (kMaxSparseChunk each). Bounded by kStaticSmemBytes.
int64_t partialStaticSmemBytes(Operation *op, int64_t warps, int64_t heads) {
  int64_t bytes = 4 * warps * heads * headStateFloats(dimOf(op->getOperand(0), 2));
  if (indicesOf(op))
    bytes += 4 * kMaxSparseChunk * (logWeightsOf(op) ? 2 : 1);
  return bytes;
}

struct OnlineState {
  Value m, l, acc; // f32, f32, vector<8xf32>
};

/// Folds (m2, l2, acc2) into (m1, l1, acc1); -inf maxima stay safe (no inf - inf).
OnlineState combine(KernelBuilder &kb, OnlineState a, OnlineState o) {
  ImplicitLocOpBuilder &b = kb.b();
  Value m = kb.fmax(a.m, o.m);
  Value negInf = kb.cf32(-std::numeric_limits<float>::infinity());
  Value isInf = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, m, negInf);
  Value safe = arith::SelectOp::create(b, isInf, kb.cf32(0.0f), m);
  Value wa = kb.exp2(arith::SubFOp::create(b, a.m, safe));
  Value wo = kb.exp2(arith::SubFOp::create(b, o.m, safe));
  Value l = arith::AddFOp::create(b, arith::MulFOp::create(b, a.l, wa),
                                  arith::MulFOp::create(b, o.l, wo));
  auto vt = cast<VectorType>(a.acc.getType());
  Value acc = arith::AddFOp::create(
      b, arith::MulFOp::create(b, a.acc, vector::BroadcastOp::create(b, vt, wa)),
      arith::MulFOp::create(b, o.acc, vector::BroadcastOp::create(b, vt, wo)));
  return {m, l, acc};
}

Value shuffleXor(KernelBuilder &kb, Value x, int64_t offset) {
  ImplicitLocOpBuilder &b = kb.b();
  return gpu::ShuffleOp::create(b, x, kb.ci32(offset), kb.ci32(32), gpu::ShuffleMode::XOR)
      .getShuffleResult();
}

Value shuffleVecXor(KernelBuilder &kb, Value v, int64_t offset) {
  ImplicitLocOpBuilder &b = kb.b();
  auto vt = cast<VectorType>(v.getType());
  Value out = v;
  for (int64_t i = 0; i < vt.getNumElements(); ++i) {
    Value e = vector::ExtractOp::create(b, v, i);
    out = vector::InsertOp::create(b, shuffleXor(kb, e, offset), out, i);
  }
  return out;
}

/// A position of the walk resolved: valid, its K/V row ((page * P + slot) * Hkv + hk), its
/// log-weight (null without weights).
struct Resolved {
  Value ok, row, weight;
};

/// What the tensor-core token loop takes from buildPartial.
struct MmaLoopInputs {
  ArrayRef<Value> qFrag; // head g's A fragments, four per 16-byte chunk
  Value g, t, warp, start, end;
  Value smem; // the warps' states: DecodeShape::warpStateFloats() a warp
  float qScale;
  Value kc, vc;
};

/// The token loop of variant "mma" (a CTA of G = 2..8 heads of a GQA group, d = 64 or 128): a
/// warp step is 16 positions of the walk, and both products run on mma.sync m16n8k16 with the
/// CTA's heads as the rows of A (rows G..15 are zero: their accumulators are fed zeros and
/// dropped). Lane (g, t) = (lane / 4, lane % 4):
///  - S = Q Kᵀ: A holds head g's 16-byte chunks at dims (4c + t) * 8, c < d / 32, whose four
///    registers are the (a0, a2) fragments of k-steps 2c and 2c + 1; B holds the same chunks of
///    the K rows of positions g and 8 + g (n-tiles 0 and 1). A k-step's dims are permuted alike
///    in A and B (a dot product does not depend on their order).
///  - S's accumulators give lane (g, t) head g at positions 2t, 2t + 1, 8 + 2t, 9 + 2t: the
///    online softmax of head g runs on the lane's quad (shuffles over t), in base 2 as in the
///    FMA loop; P is split into a high and a low part in the input type (two mma per n-tile),
///    so its weights keep about 16 bits, not bf16's 8.
///  - O += P V: P's k-slots are the step's 16 positions (S's accumulators are P's A fragments);
///    B holds dims [g d/8, (g + 1) d/8) of the V rows of the lane's four positions, column g of
///    n-tile nt being dim g d/8 + nt, so O's accumulators of n-tile nt are dims 2t d/8 + nt and
///    (2t + 1) d/8 + nt of head g.
/// Each warp leaves its (acc, m, l) per head in `smem` as the FMA loop does.
void buildMmaTokenLoop(KernelBuilder &kb, const DecodeShape &s, const MmaLoopInputs &in,
                       llvm::function_ref<Resolved(Value)> rowOf) {
  ImplicitLocOpBuilder &b = kb.b();
  Type f32 = b.getF32Type();
  Type elemTy = cast<MemRefType>(in.kc.getType()).getElementType();
  Mma mma(kb, elemTy);
  const int64_t chunks = s.d / 32, nTiles = s.d / 8, vPer = s.d / 8;
  Value negInf = kb.cf32(-std::numeric_limits<float>::infinity()), f0 = kb.cf32(0.0f);
  Value zeroReg = mma.zero();
  Value g = in.g, t = in.t;

  // One warp step's loads from position `base`, flat: K chunks of positions g and 8 + g (2 x
  // chunks), V pieces of positions 2t, 2t + 1, 8 + 2t, 9 + 2t (the lane's softmax positions; 4 x
  // vPer / 8), those positions' validity and (with weights) log-weights.
  const int64_t vPieces = vPer / kVec, nK = 2 * chunks, nV = 4 * vPieces;
  auto loadStep = [&](Value base) {
    SmallVector<Value> out;
    for (int64_t j = 0; j < 2; ++j) {
      Resolved r = rowOf(kb.add(base, kb.add(g, kb.c(8 * j))));
      Value rowOff = kb.mul(r.row, kb.c(s.d));
      for (int64_t c = 0; c < chunks; ++c)
        out.push_back(kb.loadVecOrZero(
            r.ok, in.kc, kb.add(rowOff, kb.mul(kb.add(kb.c(4 * c), t), kb.c(kVec))), kVec));
    }
    SmallVector<Value> ok, weight;
    for (int64_t i = 0; i < 4; ++i) {
      Resolved r = rowOf(kb.add(base, kb.add(kb.mul(t, kb.c(2)), kb.c((i / 2) * 8 + i % 2))));
      Value off = kb.add(kb.mul(r.row, kb.c(s.d)), kb.mul(g, kb.c(vPer)));
      for (int64_t p = 0; p < vPieces; ++p)
        out.push_back(kb.loadVecOrZero(r.ok, in.vc, kb.add(off, kb.c(p * kVec)), kVec));
      ok.push_back(r.ok);
      if (s.hasWeights)
        weight.push_back(r.weight);
    }
    out.append(ok.begin(), ok.end());
    out.append(weight.begin(), weight.end());
    return out;
  };
  // stages = 2: the next step's loads are issued before this step's math (loop-carried).
  const bool prefetch = s.unroll > 1;
  Value step = kb.c(s.warps * 16);
  Value first = kb.add(in.start, kb.mul(in.warp, kb.c(16)));
  SmallVector<Value> init = {negInf, f0};
  init.append(2 * nTiles, f0);
  const int64_t nState = init.size();
  if (prefetch)
    init.append(loadStep(first));
  auto loop = scf::ForOp::create(b, first, in.end, step, init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value base = loop.getInductionVar();
    Value m = loop.getRegionIterArgs()[0], l = loop.getRegionIterArgs()[1];
    SmallVector<Value> acc(loop.getRegionIterArgs().begin() + 2,
                           loop.getRegionIterArgs().begin() + nState);
    SmallVector<Value> cur, next;
    if (prefetch) {
      cur.assign(loop.getRegionIterArgs().begin() + nState, loop.getRegionIterArgs().end());
      next = loadStep(kb.add(base, step));
    } else {
      cur = loadStep(base);
    }
    SmallVector<SmallVector<Value>> kCh(2), vCh(4);
    for (int64_t j = 0; j < 2; ++j)
      kCh[j].assign(cur.begin() + j * chunks, cur.begin() + (j + 1) * chunks);
    for (int64_t i = 0; i < 4; ++i)
      vCh[i].assign(cur.begin() + nK + i * vPieces, cur.begin() + nK + (i + 1) * vPieces);
    SmallVector<Resolved> pos(4);
    for (int64_t i = 0; i < 4; ++i) {
      pos[i].ok = cur[nK + nV + i];
      if (s.hasWeights)
        pos[i].weight = cur[nK + nV + 4 + i];
    }
    // S = Q Kᵀ for the two n-tiles: positions 2t, 2t + 1 (tile 0) and 8 + 2t, 9 + 2t (tile 1).
    SmallVector<Value> logit;
    for (int64_t j = 0; j < 2; ++j) {
      SmallVector<Value> c4(4, f0);
      for (int64_t c = 0; c < chunks; ++c)
        for (int64_t h = 0; h < 2; ++h)
          mma.mma({in.qFrag[4 * c + 2 * h], zeroReg, in.qFrag[4 * c + 2 * h + 1], zeroReg},
                  {mma.pairAt(kCh[j][c], 2 * h), mma.pairAt(kCh[j][c], 2 * h + 1)}, c4);
      for (int64_t i = 0; i < 2; ++i) {
        Value dot = arith::MulFOp::create(b, c4[i], kb.cf32(in.qScale));
        if (s.softCap > 0)
          dot = arith::MulFOp::create(b, kb.tanh(dot), kb.cf32(s.softCap * kLog2e));
        const Resolved &r = pos[2 * j + i];
        if (s.hasWeights)
          dot = arith::AddFOp::create(b, dot, arith::MulFOp::create(b, r.weight, kb.cf32(kLog2e)));
        logit.push_back(arith::SelectOp::create(b, r.ok, dot, negInf));
      }
    }
    // Online softmax of head g over the quad's 16 positions.
    Value stepMax = kb.fmax(kb.fmax(logit[0], logit[1]), kb.fmax(logit[2], logit[3]));
    stepMax = kb.fmax(stepMax, shuffleXor(kb, stepMax, 1));
    stepMax = kb.fmax(stepMax, shuffleXor(kb, stepMax, 2));
    Value mNew = kb.fmax(m, stepMax);
    Value isInf = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, mNew, negInf);
    Value safe = arith::SelectOp::create(b, isInf, f0, mNew);
    Value grew = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, mNew, m);
    Value anyGrew = NVVM::VoteSyncOp::create(b, b.getI1Type(), kb.ci32(-1), grew,
                                             NVVM::VoteSyncKind::any);
    {
      SmallVector<Type> types(1 + acc.size(), f32);
      auto rescale = scf::IfOp::create(b, types, anyGrew, true);
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(&rescale.getThenRegion().front());
      Value alpha = kb.exp2(arith::SubFOp::create(b, m, safe));
      SmallVector<Value> scaled = {arith::MulFOp::create(b, l, alpha)};
      for (Value a : acc)
        scaled.push_back(arith::MulFOp::create(b, a, alpha));
      scf::YieldOp::create(b, scaled);
      b.setInsertionPointToStart(&rescale.getElseRegion().front());
      SmallVector<Value> kept = {l};
      kept.append(acc.begin(), acc.end());
      scf::YieldOp::create(b, kept);
      l = rescale.getResult(0);
      for (size_t i = 0; i < acc.size(); ++i)
        acc[i] = rescale.getResult(1 + i);
    }
    SmallVector<Value> p;
    for (Value x : logit) {
      p.push_back(kb.exp2(arith::SubFOp::create(b, x, safe)));
      l = arith::AddFOp::create(b, l, p.back());
    }
    auto [hi0, lo0] = mma.packSplit(p[0], p[1]);
    auto [hi2, lo2] = mma.packSplit(p[2], p[3]);
    for (int64_t nt = 0; nt < nTiles; ++nt) {
      const int64_t piece = nt / kVec, e = nt % kVec;
      SmallVector<Value> bb = {mma.pairOf(vCh[0][piece], vCh[1][piece], e),
                               mma.pairOf(vCh[2][piece], vCh[3][piece], e)};
      SmallVector<Value> c4 = {acc[2 * nt], acc[2 * nt + 1], f0, f0};
      mma.mma({hi0, zeroReg, hi2, zeroReg}, bb, c4);
      mma.mma({lo0, zeroReg, lo2, zeroReg}, bb, c4);
      acc[2 * nt] = c4[0];
      acc[2 * nt + 1] = c4[1];
    }
    SmallVector<Value> yield = {mNew, l};
    yield.append(acc.begin(), acc.end());
    yield.append(next.begin(), next.end());
    scf::YieldOp::create(b, yield);
  }
  // The quad's partial sums of l; lanes of heads g < G write head g's state.
  Value m = loop.getResult(0), l = loop.getResult(1);
  l = arith::AddFOp::create(b, l, shuffleXor(kb, l, 1));
  l = arith::AddFOp::create(b, l, shuffleXor(kb, l, 2));
  kb.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::ult, g, kb.c(s.groupHeads)), [&] {
    Value wbase =
        kb.add(kb.mul(in.warp, kb.c(s.warpStateFloats())), kb.mul(g, kb.c(s.headStateFloats())));
    for (int64_t nt = 0; nt < nTiles; ++nt)
      for (int64_t i = 0; i < 2; ++i) {
        Value dim = kb.add(kb.mul(kb.add(kb.mul(t, kb.c(2)), kb.c(i)), kb.c(vPer)), kb.c(nt));
        memref::StoreOp::create(b, loop.getResult(2 + 2 * nt + i), in.smem,
                                ValueRange{kb.add(wbase, dim)});
      }
    kb.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, t, kb.c(0)), [&] {
      memref::StoreOp::create(b, m, in.smem, ValueRange{kb.add(wbase, kb.c(s.d))});
      memref::StoreOp::create(b, l, in.smem, ValueRange{kb.add(wbase, kb.c(s.d + 1))});
    });
  });
}

LogicalResult buildPartial(Operation *op, PlanContext &ctx, const DecodeShape &s,
                           llvm::ArrayRef<Value> operands, const BufferRef &acc,
                           const BufferRef &ml, const BufferRef &out, const std::string &splits,
                           const std::string &chunk, const std::string &batch) {
  KernelBuilder kb(ctx.kernels, ctx.kernelName("decode_partial"), op->getLoc());
  for (Value v : operands)
    kb.addBuffer(ctx.buffer(v));
  const int64_t lpt = s.d / kVec, tpw = 32 / lpt, threads = s.warps * 32;
  kb.addBuffer(acc);
  kb.addBuffer(ml);
  kb.addBuffer(out); // with a single split the partial is the result: o written here
  Value kcache = operands[1];
  kb.addI64(dimExpr(ctx, kcache, 0));                    // num_pages
  kb.addI64(dimExpr(ctx, operands[3], 1));               // max_pages
  kb.addI64(chunk);
  kb.addI64(splits);
  kb.begin(threads, "(" + batch + ")*" + std::to_string(s.rows), splits);
  ImplicitLocOpBuilder &b = kb.b();
  unsigned nOps = operands.size();
  Value q = kb.arg(0), kc = kb.arg(1), vc = kb.arg(2), pt = kb.arg(3), sl = kb.arg(4);
  Value idx = s.walk != Walk::Dense ? kb.arg(5) : Value();
  Value w = s.hasWeights ? kb.arg(6) : Value();
  Value accOut = kb.arg(nOps), mlOut = kb.arg(nOps + 1), oOut = kb.arg(nOps + 2);
  Value numPages = kb.toIndex(kb.arg(nOps + 3)), maxPages = kb.toIndex(kb.arg(nOps + 4));
  Value chunkV = kb.toIndex(kb.arg(nOps + 5)), splitsV = kb.toIndex(kb.arg(nOps + 6));
  Type f32 = b.getF32Type();
  auto vecTy = VectorType::get({kVec}, f32);
  Value negInf = kb.cf32(-std::numeric_limits<float>::infinity());

  Value bh = kb.blockId(gpu::Dimension::x), split = kb.blockId(gpu::Dimension::y);
  Value bIdx = kb.div(bh, kb.c(s.rows)), row = kb.rem(bh, kb.c(s.rows));
  // The CTA's heads h0 .. h0 + groupHeads - 1 (groupHeads divides g), all of kv head hk.
  int64_t g = s.hq / s.hkv;
  Value h0 = s.groupHeads == 1 ? row : kb.mul(row, kb.c(s.groupHeads));
  Value hk = s.groupHeads == g ? row : kb.div(h0, kb.c(g));
  Value tid = kb.threadId(), lane = kb.lane(), warp = kb.warpId();
  Value sub = kb.rem(lane, kb.c(lpt)), tokSlot = kb.div(lane, kb.c(lpt));
  Value dimOff = kb.mul(sub, kb.c(kVec));

  // n_b clamped to [0, max_pages * P].
  Value nRaw = memref::LoadOp::create(b, sl, ValueRange{bIdx});
  Value nPos = arith::MaxSIOp::create(b, nRaw, kb.ci32(0));
  Value n = kb.minIdx(kb.toIndex(nPos), kb.mul(maxPages, kb.c(s.pageSize)));
  Value len = s.walk == Walk::Dense  ? n
              : s.walk == Walk::Tokens ? kb.c(s.selLen)
                                       : kb.c(s.selLen * s.pageSize);
  // Per-request dense fallback: a short request walks positions 0..n-1 instead of its selection.
  Value denseRow = Value();
  if (s.walk != Walk::Dense && s.denseBelow > 0) {
    denseRow = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, n, kb.c(s.denseBelow));
    len = arith::SelectOp::create(b, denseRow, n, len);
  }
  Value start = kb.mul(split, chunkV);
  Value end = kb.minIdx(kb.add(start, chunkV), len);

  // q of the CTA's heads, 8 dims per lane, pre-scaled so logits are in base 2.
  float qScale = s.softCap > 0 ? s.scale / s.softCap : s.scale * kLog2e;
  SmallVector<Value> qv;    // FMA loop: the heads' 8 dims of this lane, f32, pre-scaled
  SmallVector<Value> qFrag; // mma loop: head g's A fragments (a0, a2) per k-step, unscaled
  Value mg, mt;             // mma loop: the lane's group (row) and thread in group
  if (!s.mma) {
    for (int64_t j = 0; j < s.groupHeads; ++j) {
      Value head = kb.add(kb.mul(bIdx, kb.c(s.hq)), kb.add(h0, kb.c(j)));
      Value v = kb.loadVecF32(q, kb.add(kb.mul(head, kb.c(s.d)), dimOff), kVec);
      qv.push_back(
          arith::MulFOp::create(b, v, vector::BroadcastOp::create(b, vecTy, kb.cf32(qScale))));
    }
  } else {
    // Head g's 16-byte chunks at dims (4c + t) * 8 (zeros for lanes past the CTA's heads).
    mg = kb.div(lane, kb.c(4));
    mt = kb.rem(lane, kb.c(4));
    Value gOk = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, mg, kb.c(s.groupHeads));
    Value head = kb.add(h0, arith::SelectOp::create(b, gOk, mg, kb.c(0)));
    Value qRow = kb.mul(kb.add(kb.mul(bIdx, kb.c(s.hq)), head), kb.c(s.d));
    Type elemTy = cast<MemRefType>(kc.getType()).getElementType();
    Value zeroRaw = arith::ConstantOp::create(
        b, DenseElementsAttr::get(VectorType::get({kVec}, elemTy), b.getFloatAttr(elemTy, 0.0)));
    Mma frag(kb, elemTy);
    for (int64_t c = 0; c < s.d / 32; ++c) {
      Value ld = kb.loadVec(q, kb.add(qRow, kb.mul(kb.add(kb.c(4 * c), mt), kb.c(kVec))), kVec);
      Value v = arith::SelectOp::create(b, gOk, ld, zeroRaw);
      for (int64_t i = 0; i < 4; ++i)
        qFrag.push_back(frag.pairAt(v, i));
    }
  }
  // The request's length and q come from the pipeline's inputs (no kernel of it writes them):
  // loaded while the previous kernel drains; the selection, caches and outputs after the wait.
  if (ctx.isReadOnlyInput(operands[0]) && ctx.isReadOnlyInput(operands[4]))
    kb.dependencyWait();
  Value idxBase = Value();
  if (idx) { // [B, Hsel, k]: a selection per query head (Hsel = Hq) or per kv head
    const int64_t selRows = dimOf(operands[5], 1);
    Value selRow = selRows == s.hq ? h0 : hk;
    idxBase = kb.mul(kb.add(kb.mul(bIdx, kb.c(selRows)), selRow), kb.c(s.selLen));
  }

  // Position v of the walk -> (valid, K/V row index (page * P + slot) * Hkv + hk, log-weight).
  auto resolve = [&](Value v, Value inChunk) -> Resolved {
    Value vSafe = arith::SelectOp::create(b, inChunk, v, start);
    Value t, ok = inChunk, weight;
    if (s.walk == Walk::Dense) {
      t = vSafe;
    } else {
      Value slotIdx = s.walk == Walk::Tokens ? vSafe : kb.div(vSafe, kb.c(s.pageSize));
      if (denseRow) // dense rows may walk past k: keep the (unused) index read in bounds
        slotIdx = kb.minIdx(slotIdx, kb.c(s.selLen - 1));
      Value sel = memref::LoadOp::create(b, idx, ValueRange{kb.add(idxBase, slotIdx)});
      Value selOk = arith::CmpIOp::create(b, arith::CmpIPredicate::sge, sel, kb.ci32(0));
      Value selIdx = arith::SelectOp::create(b, selOk, kb.toIndex(sel), kb.c(0));
      t = s.walk == Walk::Tokens
              ? selIdx
              : kb.add(kb.mul(selIdx, kb.c(s.pageSize)), kb.rem(vSafe, kb.c(s.pageSize)));
      if (denseRow) {
        t = arith::SelectOp::create(b, denseRow, vSafe, t);
        selOk = arith::OrIOp::create(b, selOk, denseRow);
      }
      ok = arith::AndIOp::create(b, ok, selOk);
      if (w) {
        weight = memref::LoadOp::create(b, w, ValueRange{kb.add(idxBase, slotIdx)});
        if (denseRow)
          weight = arith::SelectOp::create(b, denseRow, kb.cf32(0.0f), weight);
      }
    }
    ok = arith::AndIOp::create(b, ok, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, t, n));
    Value tSafe = arith::SelectOp::create(b, ok, t, kb.c(0));
    Value page = memref::LoadOp::create(
        b, pt, ValueRange{kb.add(kb.mul(bIdx, maxPages), kb.div(tSafe, kb.c(s.pageSize)))});
    ok = arith::AndIOp::create(b, ok, kb.inRange(page, numPages));
    Value pageIdx = arith::SelectOp::create(b, ok, kb.toIndex(page), kb.c(0));
    Value row = kb.add(kb.mul(kb.add(kb.mul(pageIdx, kb.c(s.pageSize)),
                                     kb.rem(tSafe, kb.c(s.pageSize))),
                              kb.c(s.hkv)),
                       hk);
    return {ok, row, weight};
  };

  // Sparse walks resolve their chunk once, up front, into shared memory (row index or -1, and
  // the log-weight), so the token loop waits on one memory round trip per step instead of three
  // (index -> page table -> K/V). The plan keeps chunks <= kMaxSparseChunk.
  Value rowsSmem, weightSmem;
  if (s.walk != Walk::Dense) {
    rowsSmem = kb.addShared(b.getI32Type(), kMaxSparseChunk);
    if (w)
      weightSmem = kb.addShared(f32, kMaxSparseChunk);
    Value count = kb.sub(end, kb.minIdx(start, end));
    auto pro = scf::ForOp::create(b, tid, count, kb.c(threads));
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(pro.getBody());
      Value i = pro.getInductionVar();
      Value v = kb.add(start, i);
      Resolved r = resolve(v, arith::ConstantIntOp::create(b, 1, 1));
      Value row32 = arith::IndexCastOp::create(b, b.getI32Type(), r.row);
      row32 = arith::SelectOp::create(b, r.ok, row32, kb.ci32(-1));
      memref::StoreOp::create(b, row32, rowsSmem, ValueRange{i});
      if (w)
        memref::StoreOp::create(b, r.weight, weightSmem, ValueRange{i});
    }
    gpu::BarrierOp::create(b);
  }

  // Position v of the walk (this split's chunk ends at `end`) -> (valid, K/V row, log-weight).
  auto rowOf = [&](Value v) -> Resolved {
    Value inChunk = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, v, end);
    if (s.walk == Walk::Dense)
      return resolve(v, inChunk);
    Resolved r;
    Value i = arith::SelectOp::create(b, inChunk, kb.sub(v, start), kb.c(0));
    Value row32 = memref::LoadOp::create(b, rowsSmem, ValueRange{i});
    r.ok = arith::AndIOp::create(
        b, inChunk, arith::CmpIOp::create(b, arith::CmpIPredicate::sge, row32, kb.ci32(0)));
    r.row = arith::SelectOp::create(b, r.ok, kb.toIndex(row32), kb.c(0));
    if (w)
      r.weight = memref::LoadOp::create(b, weightSmem, ValueRange{i});
    return r;
  };
  const int64_t perWarp = s.warpStateFloats();
  Value smem = kb.addShared(f32, s.warps * perWarp);
  if (s.mma) {
    buildMmaTokenLoop(kb, s, MmaLoopInputs{qFrag, mg, mt, warp, start, end, smem, qScale, kc, vc},
                      rowOf);
  } else {
    // Token loop: each warp step covers tpw tokens; U steps per iteration. Software-pipelined: an
    // iteration issues the next U steps' K/V loads (kept as 16-bit vectors, loop-carried) before
    // its own math, so loads stay in flight while the online softmax runs.
    struct Batch {
      SmallVector<Value> ok, k, v, w;
    };
    auto loadBatch = [&](Value base) {
      Batch bt;
      for (int64_t u = 0; u < s.unroll; ++u) {
        Resolved r = rowOf(kb.add(base, kb.add(kb.c(u * tpw), tokSlot)));
        Value rowOff = kb.add(kb.mul(r.row, kb.c(s.d)), dimOff);
        bt.ok.push_back(r.ok);
        bt.k.push_back(kb.loadVecOrZero(r.ok, kc, rowOff, kVec));
        bt.v.push_back(kb.loadVecOrZero(r.ok, vc, rowOff, kVec));
        if (w)
          bt.w.push_back(r.weight);
      }
      return bt;
    };
    auto flatten = [&](const Batch &bt, SmallVector<Value> &out) {
      out.append(bt.ok.begin(), bt.ok.end());
      out.append(bt.k.begin(), bt.k.end());
      out.append(bt.v.begin(), bt.v.end());
      out.append(bt.w.begin(), bt.w.end());
    };
    auto unflatten = [&](ValueRange vals) {
      Batch bt;
      const int64_t u = s.unroll;
      bt.ok.assign(vals.begin(), vals.begin() + u);
      bt.k.assign(vals.begin() + u, vals.begin() + 2 * u);
      bt.v.assign(vals.begin() + 2 * u, vals.begin() + 3 * u);
      if (w)
        bt.w.assign(vals.begin() + 3 * u, vals.begin() + 4 * u);
      return bt;
    };
    SmallVector<Value> init;
    Value zeroVec = arith::ConstantOp::create(b, DenseElementsAttr::get(vecTy, 0.0f));
    for (int64_t j = 0; j < s.groupHeads; ++j)
      init.append({negInf, kb.cf32(0.0f), zeroVec});
    const int64_t nState = init.size();
    Value stepAll = kb.c(s.warps * tpw * s.unroll);
    Value first = kb.add(start, kb.mul(warp, kb.c(tpw * s.unroll)));
    flatten(loadBatch(first), init);
    auto loop = scf::ForOp::create(b, first, end, stepAll, init);
    b.setInsertionPointToStart(loop.getBody());
    Value base = loop.getInductionVar();
    SmallVector<Value> state(loop.getRegionIterArgs().begin(),
                             loop.getRegionIterArgs().begin() + nState);
    Batch cur = unflatten(loop.getRegionIterArgs().drop_front(nState));
    Batch nextBatch = loadBatch(kb.add(base, stepAll));

    // 1. Logits of this iteration's tokens (loaded by the previous one) for every head: a token's
    //    K row is widened to f32 once and used by all heads, so one token's f32 copy is live at a
    //    time.
    SmallVector<SmallVector<Value>> logit(s.groupHeads);
    for (int64_t u = 0; u < s.unroll; ++u) {
      Value kvec = arith::ExtFOp::create(b, vecTy, cur.k[u]);
      SmallVector<Value> dots;
      for (int64_t j = 0; j < s.groupHeads; ++j)
        dots.push_back(kb.dotF32(qv[j], kvec));
      // The heads' partial dots summed over the row's lpt lanes together (a transposed butterfly).
      dots = kb.warpSums(dots, lpt);
      for (int64_t j = 0; j < s.groupHeads; ++j) {
        Value dot = dots[j];
        if (s.softCap > 0)
          dot = arith::MulFOp::create(b, kb.tanh(dot), kb.cf32(s.softCap * kLog2e));
        if (w)
          dot = arith::AddFOp::create(b, dot, arith::MulFOp::create(b, cur.w[u], kb.cf32(kLog2e)));
        logit[j].push_back(arith::SelectOp::create(b, cur.ok[u], dot, negInf));
      }
    }
    // 2. One online-softmax step per head for the U tokens: rescale by the new maximum, then fold
    //    the tokens in order (each V row widened once, for all heads). The rescale (a multiply of
    //    l and the 8 acc values by 2^(m - m_new) per head) only runs when some lane's maximum grew:
    //    otherwise the factor is exactly 1. The vote keeps the branch uniform across the warp
    //    (every lane of a warp walks the same iterations), and after a row's first tokens the
    //    maximum rarely grows.
    SmallVector<Value> safe(s.groupHeads), l(s.groupHeads), accs(s.groupHeads), mNew(s.groupHeads);
    Value grew = arith::ConstantIntOp::create(b, 0, 1);
    for (int64_t j = 0; j < s.groupHeads; ++j) {
      Value stepMax = negInf;
      for (int64_t u = 0; u < s.unroll; ++u)
        stepMax = kb.fmax(stepMax, logit[j][u]);
      Value m = state[3 * j];
      mNew[j] = kb.fmax(m, stepMax);
      Value isInf = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, mNew[j], negInf);
      safe[j] = arith::SelectOp::create(b, isInf, kb.cf32(0.0f), mNew[j]);
      grew = arith::OrIOp::create(
          b, grew, arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, mNew[j], m));
    }
    {
      Value anyGrew = NVVM::VoteSyncOp::create(b, b.getI1Type(), kb.ci32(-1), grew,
                                               NVVM::VoteSyncKind::any);
      SmallVector<Type> types;
      for (int64_t j = 0; j < s.groupHeads; ++j)
        types.append({f32, vecTy});
      auto rescale = scf::IfOp::create(b, types, anyGrew, true);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&rescale.getThenRegion().front());
      SmallVector<Value> scaled;
      for (int64_t j = 0; j < s.groupHeads; ++j) {
        Value alpha = kb.exp2(arith::SubFOp::create(b, state[3 * j], safe[j]));
        scaled.push_back(arith::MulFOp::create(b, state[3 * j + 1], alpha));
        scaled.push_back(arith::MulFOp::create(b, state[3 * j + 2],
                                               vector::BroadcastOp::create(b, vecTy, alpha)));
      }
      scf::YieldOp::create(b, scaled);
      b.setInsertionPointToStart(&rescale.getElseRegion().front());
      SmallVector<Value> kept;
      for (int64_t j = 0; j < s.groupHeads; ++j)
        kept.append({state[3 * j + 1], state[3 * j + 2]});
      scf::YieldOp::create(b, kept);
      for (int64_t j = 0; j < s.groupHeads; ++j) {
        l[j] = rescale.getResult(2 * j);
        accs[j] = rescale.getResult(2 * j + 1);
      }
    }
    for (int64_t u = 0; u < s.unroll; ++u) {
      Value vvec = arith::ExtFOp::create(b, vecTy, cur.v[u]);
      for (int64_t j = 0; j < s.groupHeads; ++j) {
        Value p = kb.exp2(arith::SubFOp::create(b, logit[j][u], safe[j]));
        l[j] = arith::AddFOp::create(b, l[j], p);
        accs[j] = vector::FMAOp::create(b, vector::BroadcastOp::create(b, vecTy, p), vvec, accs[j]);
      }
    }
    SmallVector<Value> next;
    for (int64_t j = 0; j < s.groupHeads; ++j)
      next.append({mNew[j], l[j], accs[j]});
    flatten(nextBatch, next);
    scf::YieldOp::create(b, next);
    b.setInsertionPointAfter(loop);
    SmallVector<Value> fin(loop.getResults().begin(), loop.getResults().begin() + nState);

    // 3. Merge the token slots of a warp (lanes with the same `sub`), then warps in shared memory.
    for (int64_t j = 0; j < s.groupHeads; ++j) {
      OnlineState st{fin[3 * j], fin[3 * j + 1], fin[3 * j + 2]};
      for (int64_t off = lpt; off < 32; off *= 2)
        st = combine(kb, st, {shuffleXor(kb, st.m, off), shuffleXor(kb, st.l, off),
                              shuffleVecXor(kb, st.acc, off)});
      Value wbase = kb.add(kb.mul(warp, kb.c(perWarp)), kb.c(j * s.headStateFloats()));
      Value lead = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, lane, kb.c(lpt));
      auto ifLead = scf::IfOp::create(b, lead, false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifLead.getThenRegion().front());
      vector::StoreOp::create(b, st.acc, smem, ValueRange{kb.add(wbase, dimOff)});
      auto ifZero = scf::IfOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, kb.c(0)), false);
      b.setInsertionPointToStart(&ifZero.getThenRegion().front());
      memref::StoreOp::create(b, st.m, smem, ValueRange{kb.add(wbase, kb.c(s.d))});
      memref::StoreOp::create(b, st.l, smem, ValueRange{kb.add(wbase, kb.c(s.d + 1))});
    }
  } // the FMA token loop
  gpu::BarrierOp::create(b);
  // Thread t < G * d combines head t / d, dim t % d over the warps and writes the split's partial.
  auto perThread = [&](int64_t total, llvm::function_ref<void(Value)> body) {
    auto forT = scf::ForOp::create(b, tid, kb.c(total), kb.c(threads));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forT.getBody());
    body(forT.getInductionVar());
  };
  perThread(s.groupHeads * s.d, [&](Value t) {
    Value j = kb.div(t, kb.c(s.d)), e = kb.rem(t, kb.c(s.d));
    Value hb = kb.mul(j, kb.c(s.headStateFloats()));
    Value M = negInf;
    for (int64_t wi = 0; wi < s.warps; ++wi)
      M = kb.fmax(M, memref::LoadOp::create(b, smem, ValueRange{kb.add(hb, kb.c(wi * perWarp + s.d))}));
    Value isInf = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, M, negInf);
    Value safe = arith::SelectOp::create(b, isInf, kb.cf32(0.0f), M);
    Value A = kb.cf32(0.0f), L = kb.cf32(0.0f);
    for (int64_t wi = 0; wi < s.warps; ++wi) {
      Value wb = kb.add(hb, kb.c(wi * perWarp));
      Value mw = memref::LoadOp::create(b, smem, ValueRange{kb.add(wb, kb.c(s.d))});
      Value f = kb.exp2(arith::SubFOp::create(b, mw, safe));
      A = math::FmaOp::create(b, f, memref::LoadOp::create(b, smem, ValueRange{kb.add(wb, e)}), A);
      L = math::FmaOp::create(b, f, memref::LoadOp::create(b, smem, ValueRange{kb.add(wb, kb.c(s.d + 1))}), L);
    }
    Value h = kb.add(h0, j);
    Value headRow = kb.add(kb.mul(bIdx, kb.c(s.hq)), h);
    // One split: o = A / L straight away (the plan skips the merge). Else the split's partial.
    Value single = s.directOut
                       ? Value(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, splitsV, kb.c(1)))
                       : Value(arith::ConstantIntOp::create(b, 0, 1));
    auto ifSingle = scf::IfOp::create(b, single, true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifSingle.getThenRegion().front());
    Value empty = arith::CmpFOp::create(b, arith::CmpFPredicate::OLE, L, kb.cf32(0.0f));
    Value inv = arith::SelectOp::create(b, empty, kb.cf32(0.0f),
                                        arith::DivFOp::create(b, kb.cf32(1.0f), L));
    kb.storeF32(arith::MulFOp::create(b, A, inv), oOut, kb.add(kb.mul(headRow, kb.c(s.d)), e));
    b.setInsertionPointToStart(&ifSingle.getElseRegion().front());
    Value rowIdx = kb.add(kb.mul(headRow, splitsV), split);
    memref::StoreOp::create(b, A, accOut, ValueRange{kb.add(kb.mul(rowIdx, kb.c(s.d)), e)});
    auto ifE0 = scf::IfOp::create(b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, e, kb.c(0)), false);
    b.setInsertionPointToStart(&ifE0.getThenRegion().front());
    memref::StoreOp::create(b, M, mlOut, ValueRange{kb.mul(rowIdx, kb.c(2))});
    memref::StoreOp::create(b, L, mlOut, ValueRange{kb.add(kb.mul(rowIdx, kb.c(2)), kb.c(1))});
  });
  ctx.addLaunch(kb.finish());
  return success();
}

/// One warp per (request, query head): o = sum_s 2^(m_s - M) acc_s / sum_s 2^(m_s - M) l_s.
LogicalResult buildMerge(Operation *op, PlanContext &ctx, const DecodeShape &s,
                         const BufferRef &out, const BufferRef &acc, const BufferRef &ml,
                         const std::string &splits, const std::string &batch,
                         bool partialWritesSingle) {
  KernelBuilder kb(ctx.kernels, ctx.kernelName("decode_merge"), op->getLoc());
  kb.addBuffer(acc);
  kb.addBuffer(ml);
  kb.addBuffer(out);
  kb.addI64(splits);
  kb.addI64("(" + batch + ")*" + std::to_string(s.hq));
  const int64_t warps = s.warps;
  // Not launched at all with a single split when the partial kernel of the same plan wrote o;
  // partials from elsewhere are always merged.
  kb.begin(warps * 32, "cdiv((" + batch + ")*" + std::to_string(s.hq) + "," +
                           std::to_string(warps) + ")" +
                           (partialWritesSingle ? "*min(max(" + splits + "-1,0),1)" : ""));
  ImplicitLocOpBuilder &b = kb.b();
  Value accV = kb.arg(0), mlV = kb.arg(1), o = kb.arg(2);
  Value splitsV = kb.toIndex(kb.arg(3)), rows = kb.toIndex(kb.arg(4));
  Value rowIdx = kb.add(kb.mul(kb.blockId(gpu::Dimension::x), kb.c(warps)), kb.warpId());
  auto ifRow = scf::IfOp::create(b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, rowIdx, rows), false);
  b.setInsertionPointToStart(&ifRow.getThenRegion().front());
  Value negInf = kb.cf32(-std::numeric_limits<float>::infinity());
  Value lane = kb.lane();
  // One pass over the splits, 8 at a time with all their loads issued together (the kernel is
  // latency bound), folded online: (M, L, A) rescaled by 2^(M_old - M_new) as the max grows.
  // Each lane owns d / 32 dims.
  int64_t per = s.d / 32;
  SmallVector<Value> init(per + 2, kb.cf32(0.0f));
  init[per + 1] = negInf; // running max M
  const int64_t kMergeUnroll = s.unroll;
  auto sLoop = scf::ForOp::create(b, kb.c(0), splitsV, kb.c(kMergeUnroll), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(sLoop.getBody());
    SmallVector<Value> m, l, in;
    SmallVector<SmallVector<Value>> a(kMergeUnroll);
    for (int64_t u = 0; u < kMergeUnroll; ++u) {
      Value sp = kb.add(sLoop.getInductionVar(), kb.c(u));
      Value ok = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, sp, splitsV);
      Value spSafe = arith::SelectOp::create(b, ok, sp, kb.c(0));
      Value row = kb.add(kb.mul(rowIdx, splitsV), spSafe);
      Value mu = memref::LoadOp::create(b, mlV, ValueRange{kb.mul(row, kb.c(2))});
      m.push_back(arith::SelectOp::create(b, ok, mu, negInf));
      l.push_back(memref::LoadOp::create(b, mlV, ValueRange{kb.add(kb.mul(row, kb.c(2)), kb.c(1))}));
      for (int64_t i = 0; i < per; ++i)
        a[u].push_back(memref::LoadOp::create(
            b, accV, ValueRange{kb.add(kb.mul(row, kb.c(s.d)), kb.add(lane, kb.c(32 * i)))}));
      in.push_back(ok);
    }
    SmallVector<Value> cur(sLoop.getRegionIterArgs().begin(), sLoop.getRegionIterArgs().end());
    Value mOld = cur[per + 1], mNew = mOld;
    for (Value mu : m)
      mNew = kb.fmax(mNew, mu);
    Value isInf = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, mNew, negInf);
    Value safe = arith::SelectOp::create(b, isInf, kb.cf32(0.0f), mNew);
    Value alpha = kb.exp2(arith::SubFOp::create(b, mOld, safe));
    SmallVector<Value> next(per + 2);
    for (int64_t i = 0; i <= per; ++i)
      next[i] = arith::MulFOp::create(b, cur[i], alpha);
    for (int64_t u = 0; u < kMergeUnroll; ++u) {
      Value fu = kb.exp2(arith::SubFOp::create(b, m[u], safe));
      fu = arith::SelectOp::create(b, in[u], fu, kb.cf32(0.0f));
      for (int64_t i = 0; i < per; ++i)
        next[i] = math::FmaOp::create(b, fu, a[u][i], next[i]);
      next[per] = math::FmaOp::create(b, fu, l[u], next[per]);
    }
    next[per + 1] = mNew;
    scf::YieldOp::create(b, next);
  }
  Value L = sLoop.getResult(per);
  Value empty = arith::CmpFOp::create(b, arith::CmpFPredicate::OLE, L, kb.cf32(0.0f));
  Value inv = arith::SelectOp::create(b, empty, kb.cf32(0.0f),
                                      arith::DivFOp::create(b, kb.cf32(1.0f), L));
  for (int64_t i = 0; i < per; ++i)
    kb.storeF32(arith::MulFOp::create(b, sLoop.getResult(i), inv), o,
                kb.add(kb.mul(rowIdx, kb.c(s.d)), kb.add(lane, kb.c(32 * i))));
  b.setInsertionPointAfter(ifRow);
  ctx.addLaunch(kb.finish());
  return success();
}
} // namespace

static LogicalResult lowerDecode(Operation *op, PlanContext &ctx) {
  if (isa<DenseDecodeOp, SparseDecodeOp>(op))
    return op->emitOpError("is lowered after ds-split-decode (decode_partial + decode_merge)");
  if (auto merge = dyn_cast<DecodeMergeOp>(op)) {
    Value acc = merge.getAcc();
    auto cfg = configOf(op);
    DecodeShape s{};
    s.warps = cfg.getWarps();
    s.unroll = cfg.getStages();
    s.hq = dimOf(acc, 1);
    s.d = dimOf(acc, 3);
    const BufferRef &accBuf = ctx.buffer(acc), &mlBuf = ctx.buffer(merge.getMl());
    std::string batch = accBuf.dims[0], splits = accBuf.dims[2];
    // o was placed by the partial's lowering (which writes it itself with a single split).
    const BufferRef &out =
        ctx.hasBuffer(merge.getO())
            ? ctx.buffer(merge.getO())
            : ctx.place(merge.getO(), {batch, std::to_string(s.hq), std::to_string(s.d)});
    auto producer = acc.getDefiningOp<DecodePartialOp>();
    return buildMerge(op, ctx, s, out, accBuf, mlBuf, splits, batch,
                      producer && producer.getMl() == merge.getMl());
  }
  auto partial = cast<DecodePartialOp>(op);
  KernelConfigAttr cfg = configOf(op);
  DecodeShape s{};
  Value q = partial.getQ();
  SmallVector<Value> operands = {q, partial.getKCache(), partial.getVCache(),
                                 partial.getPageTable(), partial.getSeqLens()};
  s.walk = Walk::Dense;
  if (Value idx = partial.getIndices()) {
    operands.push_back(idx);
    if (Value w = partial.getLogWeights())
      operands.push_back(w);
    s.walk = partial.getGranularity() == Granularity::page ? Walk::Pages : Walk::Tokens;
    s.selLen = dimOf(idx, 2);
    s.hasWeights = static_cast<bool>(partial.getLogWeights());
    s.denseBelow = partial.getDenseBelowAttr().getInt();
  }
  s.scale = partial.getScale().convertToFloat();
  s.softCap = partial.getSoftCap().convertToFloat();
  s.hq = dimOf(q, 1);
  s.d = dimOf(q, 2);
  s.hkv = dimOf(operands[1], 2);
  s.pageSize = dimOf(operands[1], 1);
  s.warps = cfg.getWarps();
  s.unroll = cfg.getStages();
  // The config's heads per CTA: one under a per-head selection (GQA); the config pass gives a
  // shared selection or dense decode the g heads of a kv head, each K/V row read once.
  s.groupHeads = headsPerCTA(partial, cfg);
  s.rows = s.hq / s.groupHeads;
  s.mma = cfg.getVariant() == kMmaVariant;

  // Splits chosen at launch from the real sizes: about 2 CTAs per SM (the config's cap is SMs / 4,
  // so 8 * cap = 2 * SMs: one wave of the 2 CTAs of 8 warps and 128 registers per thread an SM
  // holds), rounded down, at most 8 * cap, at least `block_tokens` positions each. With a single
  // split the partial kernel writes o and the merge is not launched. (Measured on an H100, DS
  // B = 8 k = 1024 end to end: 4 warps x 4 splits 88.4 us, 4 warps x 2 splits 85.4 us, 8 warps x
  // 1 split 83.1 us; dense B = 8 N = 16384: 706, 700, 694 us.)
  std::string batch = dimExpr(ctx, q, 0);
  PlanExpr walkLen =
      s.walk == Walk::Dense
          ? PlanExpr::symbol(dimExpr(ctx, operands[3], 1)) * s.pageSize
          : PlanExpr(std::max(s.walk == Walk::Tokens ? s.selLen : s.selLen * s.pageSize,
                              s.denseBelow));
  const int64_t bt = cfg.getBlockTokens(), most = cfg.getSplits() * 8;
  // (An empty batch launches nothing: every grid is 0; the divisor stays at least 1 so the plan
  // still evaluates.)
  PlanExpr want = max(1, min(most, PlanExpr(most) / max(1, PlanExpr::symbol(batch) * s.rows)));
  PlanExpr splits0 = ctx.addSymbol("splits", max(1, min(want, cdiv(walkLen, bt))));
  if (s.walk != Walk::Dense) // a sparse split resolves its whole chunk into shared memory
    splits0 = ctx.addSymbol("splits", max(splits0, cdiv(walkLen, kMaxSparseChunk)));
  PlanExpr chunkE = ctx.addSymbol("chunk", max(1, cdiv(walkLen, splits0)));
  std::string chunk = chunkE.text();
  std::string splits = ctx.addSymbol("splits", max(1, cdiv(walkLen, chunkE))).text();
  std::string hq = std::to_string(s.hq);
  BufferRef acc = ctx.place(partial.getAcc(), {batch, hq, splits, std::to_string(s.d)});
  BufferRef ml = ctx.place(partial.getMl(), {batch, hq, splits, "2"});
  // The merge's o, placed now: with a single split the partial kernel writes it.
  DecodeMergeOp merge;
  for (Operation *user : partial.getAcc().getUsers())
    if (auto m = dyn_cast<DecodeMergeOp>(user); m && m.getMl() == partial.getMl())
      merge = m;
  // Without a merge (partials used otherwise) the kernel always writes the partials.
  s.directOut = static_cast<bool>(merge);
  BufferRef out = merge ? ctx.place(merge.getO(), {batch, hq, std::to_string(s.d)}) : acc;
  return buildPartial(op, ctx, s, operands, acc, ml, out, splits, chunk, batch);
}

void mlir::ds::registerDecodeFamily() {
  KernelFamily f;
  f.name = "decode";
  f.ops = {DenseDecodeOp::getOperationName().str(), SparseDecodeOp::getOperationName().str(),
           DecodePartialOp::getOperationName().str(), DecodeMergeOp::getOperationName().str()};
  f.choose = [](Operation *op, TargetAttr target) {
    MLIRContext *ctx = op->getContext();
    // The merge: a warp per (request, head), 4 warps per block, 8 splits folded per step.
    if (isa<DecodeMergeOp>(op))
      return KernelConfigAttr::get(ctx, 1, 4, 1, 8, 1);
    // Partials: 8 warps, 4 warp steps of loads in flight, 16-byte K/V vectors, at least 64
    // positions per split; the split count is picked at launch, at most SMs / 4 * 8 (see
    // lowerDecode). A CTA walks the g heads of a kv head together (`heads` = g; 1 under a
    // per-head selection), reading each K/V row once. A CTA walking 3 or 4 heads keeps 2 steps
    // in flight: with 4 it needs 177 registers per thread (d = 128, 4 heads), one CTA per SM,
    // and the launch's one wave of 2 CTAs per SM ran as two; with 2 it needs 128. Groups of 8
    // exceed 128 at any depth and keep 4. (Measured on the H200 against 2 heads per CTA at 4
    // steps, 127 registers, each K/V row read by two CTAs, the second read from L2: Quest Hkv = 8
    // shared B = 8 59.2 -> 62.9 us, dense GQA 32/8 B = 8 N = 16384 180.8 -> 208.0, Double
    // Sparsity shared B = 32 N = 65536 236.7 -> 245.7; only its B = 1 gained, 19.2 -> 18.6.)
    const int64_t heads = wholeGroupHeads(op);
    const int64_t splitCap = std::max<int64_t>(1, target.getSmCount() / 4);
    Type elem = cast<ShapedType>(op->getOperand(1).getType()).getElementType();
    // GQA groups of 2 to 8 heads at d = 64 / 128 take the tensor-core loop: 4 warps, the next
    // 16-position step's loads in flight (250 registers at d = 128: 2 CTAs per SM, the launch's
    // one wave). H200, against the FMA loop above (8 warps, 2 steps of 2 positions): dense GQA
    // 32/8 B = 8 N = 16384 about 180 -> 136.5 us (93% of copy), Quest Hkv = 8 shared B = 8
    // decode_partial 30.2 -> 29.0, Double Sparsity shared B = 8 / 32 N = 65536 79.5 -> 78.5 /
    // 236.2 -> 231.5; without the prefetch 160 / 31.5 / 78.8 / 235.2; 2-warp CTAs with twice
    // the splits 137.2 / 29.5 / 79.2 / 233.1, 8-warp CTAs (one per SM) or more splits slower.
    // The steps' loads through a cp.async ring in shared memory instead of registers (2 or 3
    // steps ahead, 152 registers, 96 KB of ring a CTA) were slower on every row (H100, session
    // 40: dense GQA B = 8 N = 16384 186.4 -> 232.6 us, Quest Hkv = 8 shared B = 8 69.0 -> 77.4).
    const int64_t d = dimOf(op->getOperand(0), 2);
    auto fma = [&](int64_t h) {
      const int64_t stages = h > 2 && h <= 4 ? 2 : 4;
      return KernelConfigAttr::get(ctx, 64, 8, splitCap, stages, 8, "", 0, h);
    };
    auto mma = [&](int64_t h) {
      return KernelConfigAttr::get(ctx, 64, 4, splitCap, 2, 8, kMmaVariant, 0, h);
    };
    if (mmaServes(heads, d, elem, target))
      return mma(heads);
    if (partialStaticSmemBytes(op, 8, heads) <= kStaticSmemBytes)
      return fma(heads);
    // A group whose states do not fit one CTA (e.g. 16 heads of 128 dims: 65 KB) is walked by
    // g / h CTAs of h heads each (each reading the group's K/V rows), the largest divisor h
    // that the tensor-core loop serves, or else that fits the FMA loop's 8 warps (h = 1 always
    // fits: at most 8 x 258 floats plus 16 KB of a sparse chunk).
    for (int64_t h = heads - 1; h >= 1; --h)
      if (heads % h == 0 && mmaServes(h, d, elem, target))
        return mma(h);
    int64_t h = std::max<int64_t>(heads - 1, 1);
    while (h > 1 && (heads % h != 0 || partialStaticSmemBytes(op, 8, h) > kStaticSmemBytes))
      --h;
    return fma(h);
  };
  f.verify = [](Operation *op, KernelConfigAttr cfg, TargetAttr target) -> LogicalResult {
    if (isa<DecodeMergeOp>(op)) {
      if (failed(verifyUnusedConfigFields(op, cfg, kUseWarps | kUseStages)) ||
          failed(verifyWarps(op, cfg, 1, 32)))
        return failure();
      if (cfg.getStages() > 16)
        return configError(op, "stages") << "(splits folded per step) must be in [1, 16], got "
                                         << cfg.getStages();
      // The head count sizes the output (a number in the plan); a lane owns d / 32 dims of a
      // head, unrolled (decode_partial's head dims are at most 256 too).
      if (ShapedType::isDynamic(dimOf(op->getOperand(0), 1)))
        return op->emitOpError("GPU lowering needs a static head count (acc dim 1)");
      if (int64_t d = dimOf(op->getOperand(0), 3);
          ShapedType::isDynamic(d) || d % 32 != 0 || d > 256)
        return op->emitOpError("GPU lowering supports static head dims that are multiples of 32, "
                               "at most 256, got ")
               << (ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d));
      return success();
    }
    if (failed(verifyUnusedConfigFields(op, cfg,
                                        kUseBlockTokens | kUseWarps | kUseSplits | kUseStages |
                                            kUseVariant | kUseVectorWidth | kUseHeads)) ||
        failed(verifyWarps(op, cfg, 1, 8)) ||
        failed(expectConfigField(op, "vector_width", cfg.getVectorWidth(), kVec,
                                 "a lane holds 16 bytes of a K/V row")))
      return failure();
    if (cfg.getStages() > 8)
      return configError(op, "stages") << "(warp steps with loads in flight) must be in [1, 8], got "
                                       << cfg.getStages();
    Value q = op->getOperand(0), kCache = op->getOperand(1), idx = indicesOf(op);
    const int64_t g = dimOf(q, 1) / dimOf(kCache, 2), heads = cfg.getHeads();
    if (heads > 0 && g % heads != 0)
      return configError(op, "heads") << "(query heads a CTA walks) must divide the GQA group ("
                                      << g << "), got " << heads;
    if (heads > 1 && perHeadSelection(q, kCache, idx))
      return configError(op, "heads")
             << "must be 1 or 0 under a per-head selection (each head walks its own), got "
             << heads;
    int64_t d = dimOf(op->getOperand(0), 2);
    if (d % kVec != 0 || d / kVec > 32 || 32 % (d / kVec) != 0 || d % 32 != 0)
      return op->emitOpError("GPU lowering supports head dims 32, 64, 128 and 256, got ") << d;
    if (int64_t bytes = partialStaticSmemBytes(op, cfg.getWarps(), headsPerCTA(op, cfg));
        bytes > kStaticSmemBytes)
      return configError(op, "heads")
             << "(" << headsPerCTA(op, cfg) << " query heads per CTA of " << cfg.getWarps()
             << " warps) needs " << bytes << " bytes of static shared memory for the warps' states"
             << (indicesOf(op) ? " and the sparse chunk" : "") << ", more than the "
             << kStaticSmemBytes << " a kernel may have: fewer heads or warps";
    if (cfg.getVariant() == kMmaVariant) {
      Type elem = cast<ShapedType>(kCache.getType()).getElementType();
      const int64_t perCTA = headsPerCTA(op, cfg);
      if (!mmaServes(perCTA, d, elem, target))
        return configError(op, "variant")
               << "\"mma\" needs sm_80 or newer, bf16 or f16 caches, head dim 64 or 128 and 2 to 8 "
                  "query heads per CTA; got chip " << target.getChip() << ", " << elem
               << " caches, d = " << d << ", heads = " << perCTA;
      if (cfg.getStages() > 2)
        return configError(op, "stages")
               << "(warp steps of 16 positions with loads in flight) must be 1 or 2 for \"mma\", "
                  "got " << cfg.getStages();
    } else if (!cfg.getVariant().empty()) {
      return configError(op, "variant") << "must be \"\" (the FMA loop) or \"mma\", got \""
                                        << cfg.getVariant() << "\"";
    }
    return success();
  };
  f.lower = lowerDecode;
  registerKernelFamily(std::move(f));
}
