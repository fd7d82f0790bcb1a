// Linear attention (Lightning Attention) kernels: the decode step
//   S <- exp(-slope_h) S + k^T v,  o = q S   (ALGORITHMS.md §5)
// `splits` CTAs of `warps` warps per (request, head), each over e / splits columns of the f32
// state [d, e] (its own columns of o: no cross-CTA sum): the CTA's block streams through once
// (read, update, write), 16-byte vectors along e; each warp takes every W-th group of rows of d,
// `stages` rows of a warp with their loads issued together, and the warps' partial o are summed
// in shared memory. The state is updated in place (its slot of `states`).
#include "codegen/Lowering.h"
#include "dialect/DSOps.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::ds;

namespace {
constexpr int64_t kVecE = 4; // f32 per 16-byte state vector
/// Rows of a warp whose loads are issued together at most: the config pass takes all of a warp's
/// rows (H200, B = 64 / 256, H = 64, d = e = 128, one CTA per state: 143.2 / 553.6 us at 8 rows,
/// 139.7 / 543.7 us at all 16; on an H100 8 beat 4).
constexpr int64_t kMaxRowUnroll = 32;
constexpr int64_t kMaxWarps = 32;
/// State rows per thread the config pass aims at (all of them in flight): it gives a CTA as many
/// warps as that takes, up to kMaxWarps. H200, B = 256 / 64, H = 64, d = e = 128, two CTAs of 64
/// columns per state, three rounds in one run (warps x rows per thread): 8 x 8 520.7-520.9 /
/// 133.9-134.1 us, 8 x 4 (two steps) 525.5-525.7 / 135.9-136.0, 16 x 4 515.3-515.5 /
/// 132.3-132.4, 16 x 2 (two steps) 524.9-525.0 / 134.8-135.0, **32 x 2 514.3-514.5 /
/// 131.7-132.2** (99.0% / 96.3% of copy), 32 x 1 (two steps) 535.9-536.1 / 137.3-137.5; one
/// CTA of all 128 columns 16 x 8 529.4-529.7, 32 x 4 528.4; four CTAs of 32 columns 16 x 2
/// 540.7-541.1, 32 x 1 606.0-606.2. The state's loads and stores with cache hints (.cs, or
/// L1::no_allocate with an L2 evict_first policy; inline PTX) were 1-4% slower at every shape.
constexpr int64_t kRowsPerThread = 2;
/// Columns of the state per CTA the config pass aims at: two CTAs per state at e = 128 (H200,
/// same shapes: 139.0 / 541.4 us with one CTA of all 128 columns, 134.0 / 520.8 with two of 64
/// columns, 137.9 / 537.9 with four of 32; two of 64 columns on 4 warps 135.5 / 527.2). Half as
/// many registers per thread (44 against 64) and finer blocks of work for the SMs' tails.
constexpr int64_t kColumnsPerCta = 64;

/// The fewest warps of a CTA over `cols` columns: one thread per column of o sums the warps'
/// partial sums.
int64_t minWarps(int64_t cols) { return llvm::divideCeil(cols, 32); }
/// Lanes that share one state row of `cols` f32 columns (16-byte vectors).
int64_t lanesPerRow(int64_t cols) { return cols / kVecE; }
/// A row of `cols` columns is 16-byte vectors on a power-of-two group of a warp's lanes.
bool rowFitsLanes(int64_t cols) {
  return cols % kVecE == 0 && lanesPerRow(cols) >= 1 && lanesPerRow(cols) <= 32 &&
         32 % lanesPerRow(cols) == 0;
}

} // namespace

void mlir::ds::emitLinearAttnOutput(KernelBuilder &kb, Value acc, Value col,
                                    int64_t lanesPerRow, int64_t warps, int64_t e, Value smem,
                                    Value o, Value oBase) {
  ImplicitLocOpBuilder &b = kb.b();
  const int64_t n = cast<VectorType>(acc.getType()).getNumElements();
  Value lane = kb.lane(), warp = kb.warpId(), tid = kb.threadId();
  for (int64_t off = lanesPerRow; off < 32; off *= 2) {
    Value sh = acc;
    for (int64_t i = 0; i < n; ++i) {
      Value x = vector::ExtractOp::create(b, acc, ArrayRef<int64_t>{i});
      Value y = gpu::ShuffleOp::create(b, x, kb.ci32(off), kb.ci32(32), gpu::ShuffleMode::XOR)
                    .getShuffleResult();
      sh = vector::InsertOp::create(b, arith::AddFOp::create(b, x, y), sh, ArrayRef<int64_t>{i});
    }
    acc = sh;
  }
  auto lead = scf::IfOp::create(
      b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, lane, kb.c(lanesPerRow)), false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&lead.getThenRegion().front());
    vector::StoreOp::create(b, acc, smem, ValueRange{kb.add(kb.mul(warp, kb.c(e)), col)});
  }
  gpu::BarrierOp::create(b);
  auto fin = scf::IfOp::create(
      b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, tid, kb.c(e)), false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&fin.getThenRegion().front());
  Value sum = kb.cf32(0.0f);
  for (int64_t w = 0; w < warps; ++w)
    sum = arith::AddFOp::create(
        b, sum, memref::LoadOp::create(b, smem, ValueRange{kb.add(kb.c(w * e), tid)}));
  kb.storeF32(sum, o, kb.add(oBase, tid));
}

static LogicalResult lowerLinearAttnDecode(Operation *op, PlanContext &ctx) {
  auto dec = cast<LinearAttnDecodeOp>(op);
  Value q = dec.getQ(), k = dec.getK(), v = dec.getV(), slopes = dec.getSlopes(),
        states = dec.getStates(), slots = dec.getStateIndices();
  const int64_t h = dimOf(q, 1), d = dimOf(q, 2), e = dimOf(v, 2);
  const KernelConfigAttr cfg = configOf(op);
  const int64_t splits = cfg.getSplits(), cols = e / splits, rowUnroll = cfg.getStages();
  const int64_t lanes = lanesPerRow(cols), rowsPerStep = 32 / lanes;
  const int64_t warps = cfg.getWarps(), threads = warps * 32;

  std::string batch = dimExpr(ctx, q, 0);
  BufferRef stateBuf = ctx.alias(dec.getNewStates(), states);
  const BufferRef &out = ctx.place(dec.getO(), {batch, std::to_string(h), std::to_string(e)});

  KernelBuilder kb(ctx.kernels, ctx.kernelName("linear_attn_decode"), op->getLoc());
  for (Value x : {q, k, v, slopes, slots})
    kb.addBuffer(ctx.buffer(x));
  kb.addBuffer(stateBuf);
  kb.addBuffer(out);
  kb.addI64(dimExpr(ctx, states, 0)); // slots in the state pool
  kb.begin(threads, "(" + batch + ")*" + std::to_string(h * splits));
  ImplicitLocOpBuilder &b = kb.b();
  Value qM = kb.arg(0), kM = kb.arg(1), vM = kb.arg(2), slopeM = kb.arg(3), slotM = kb.arg(4);
  Value sM = kb.arg(5), oM = kb.arg(6), numSlots = kb.toIndex(kb.arg(7));
  Type f32 = b.getF32Type();
  auto vecTy = VectorType::get({kVecE}, f32);

  // CTA (b, head, c): columns [c * cols, (c + 1) * cols) of the state.
  Value block = kb.blockId(gpu::Dimension::x);
  Value bh = kb.div(block, kb.c(splits));
  Value colBase = kb.mul(kb.rem(block, kb.c(splits)), kb.c(cols));
  Value bIdx = kb.div(bh, kb.c(h)), head = kb.rem(bh, kb.c(h));
  Value lane = kb.lane(), warp = kb.warpId();
  Value colInCta = kb.mul(kb.rem(lane, kb.c(lanes)), kb.c(kVecE));
  Value col = kb.add(colBase, colInCta);
  Value rowInStep = kb.div(lane, kb.c(lanes));
  Value slot = memref::LoadOp::create(b, slotM, ValueRange{bIdx});
  Value slotOk = kb.inRange(slot, numSlots);
  Value slotIdx = arith::SelectOp::create(b, slotOk, kb.toIndex(slot), kb.c(0));
  // lambda = exp(-slope) = 2^(-slope * log2 e)
  Value slope = memref::LoadOp::create(b, slopeM, ValueRange{head});
  Value lambda = kb.exp2(arith::MulFOp::create(b, slope, kb.cf32(-1.4426950408889634f)));
  Value lambdaV = vector::BroadcastOp::create(b, vecTy, lambda);
  Value qkBase = kb.mul(bh, kb.c(d));
  Value vv = kb.loadVecF32(vM, kb.add(kb.mul(bh, kb.c(e)), col), kVecE);
  Value stateBase = kb.mul(kb.add(kb.mul(slotIdx, kb.c(h)), head), kb.c(d * e));

  Value zero = arith::ConstantOp::create(b, DenseElementsAttr::get(vecTy, 0.0f));
  Value acc = zero;
  auto ifSlot = scf::IfOp::create(b, TypeRange{vecTy}, slotOk, true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifSlot.getThenRegion().front());
    // Rows r = first + i * step, all warps and row groups interleaved, `stages` rows per
    // iteration with their loads issued together.
    const int64_t step = warps * rowsPerStep;
    Value first = kb.add(kb.mul(warp, kb.c(rowsPerStep)), rowInStep);
    auto loop = scf::ForOp::create(b, kb.c(0), kb.c(d), kb.c(step * rowUnroll), ValueRange{zero});
    b.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> rows, sv, kd, qd, ok;
    for (int64_t u = 0; u < rowUnroll; ++u) {
      Value r = kb.add(kb.add(loop.getInductionVar(), kb.c(u * step)), first);
      Value in = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, r, kb.c(d));
      Value rs = arith::SelectOp::create(b, in, r, kb.c(0));
      rows.push_back(rs);
      ok.push_back(in);
      sv.push_back(kb.loadVecF32(sM, kb.add(stateBase, kb.add(kb.mul(rs, kb.c(e)), col)), kVecE));
      kd.push_back(kb.loadF32(kM, kb.add(qkBase, rs)));
      qd.push_back(kb.loadF32(qM, kb.add(qkBase, rs)));
    }
    Value a = loop.getRegionIterArgs()[0];
    for (int64_t u = 0; u < rowUnroll; ++u) {
      Value updated = vector::FMAOp::create(b, vector::BroadcastOp::create(b, vecTy, kd[u]), vv,
                                            arith::MulFOp::create(b, lambdaV, sv[u]));
      auto ifIn = scf::IfOp::create(b, ok[u], false);
      {
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(&ifIn.getThenRegion().front());
        auto store = vector::StoreOp::create(
            b, updated, sM, ValueRange{kb.add(stateBase, kb.add(kb.mul(rows[u], kb.c(e)), col))});
        store.setAlignment(16);
      }
      Value qu = arith::SelectOp::create(b, ok[u], qd[u], kb.cf32(0.0f));
      a = vector::FMAOp::create(b, vector::BroadcastOp::create(b, vecTy, qu), updated, a);
    }
    scf::YieldOp::create(b, ValueRange{a});
    b.setInsertionPointAfter(loop);
    scf::YieldOp::create(b, ValueRange{loop.getResult(0)});
    b.setInsertionPointToStart(&ifSlot.getElseRegion().front());
    scf::YieldOp::create(b, ValueRange{zero});
  }
  acc = ifSlot.getResult(0);
  emitLinearAttnOutput(kb, acc, colInCta, lanes, warps, cols, kb.addShared(f32, warps * cols),
                       oM, kb.add(kb.mul(bh, kb.c(e)), colBase));
  ctx.addLaunch(kb.finish());
  return success();
}

LogicalResult mlir::ds::verifyLinearAttnValueDim(Operation *op, int64_t e) {
  if (rowFitsLanes(e))
    return success();
  return op->emitOpError("GPU lowering supports value dims 4 to 128 that divide 128, got ") << e;
}

void mlir::ds::registerLinearAttnDecodeFamily() {
  KernelFamily f;
  f.name = "linear_attn_decode";
  f.ops = {LinearAttnDecodeOp::getOperationName().str()};
  // kColumnsPerCta columns of a state per CTA (all e where e is smaller), as many warps as
  // kRowsPerThread rows per thread take (at least enough threads for the CTA's columns of o, at
  // most kMaxWarps), all of a warp's rows in flight at once (up to kMaxRowUnroll), 16-byte f32
  // vectors.
  f.choose = [](Operation *op, TargetAttr) {
    auto dec = cast<LinearAttnDecodeOp>(op);
    const int64_t d = dimOf(dec.getQ(), 2), e = dimOf(dec.getV(), 2);
    const int64_t splits = e > kColumnsPerCta && e % kColumnsPerCta == 0 ? e / kColumnsPerCta : 1;
    if (!rowFitsLanes(e / splits)) // a value dim the verifier refuses: any config
      return KernelConfigAttr::get(op->getContext(), 1, 1, 1, 1, kVecE);
    const int64_t cols = e / splits, rowsPerStep = 32 / lanesPerRow(cols);
    const int64_t warps = std::clamp<int64_t>(llvm::divideCeil(d, rowsPerStep * kRowsPerThread),
                                              minWarps(cols), kMaxWarps);
    const int64_t rows =
        std::clamp<int64_t>(llvm::divideCeil(d, warps * rowsPerStep), 1, kMaxRowUnroll);
    return KernelConfigAttr::get(op->getContext(), 1, warps, splits, rows, kVecE);
  };
  f.verify = [](Operation *op, KernelConfigAttr cfg, TargetAttr) -> LogicalResult {
    if (failed(verifyUnusedConfigFields(op, cfg,
                                        kUseWarps | kUseSplits | kUseStages | kUseVectorWidth)) ||
        failed(expectConfigField(op, "vector_width", cfg.getVectorWidth(), kVecE,
                                 "16-byte vectors of the f32 state")))
      return failure();
    const int64_t e = dimOf(cast<LinearAttnDecodeOp>(op).getV(), 2);
    if (failed(verifyLinearAttnValueDim(op, e)))
      return failure();
    const int64_t splits = cfg.getSplits();
    if (splits < 1 || e % splits != 0 || !rowFitsLanes(e / splits))
      return configError(op, "splits")
             << "(CTAs per state, each over e / splits columns) must divide the value dim " << e
             << " into blocks of a multiple of 4 columns that divide 128, got " << splits;
    // Each of the CTA's columns of o needs a thread to sum the warps' partials.
    if (failed(verifyWarps(op, cfg, minWarps(e / splits), kMaxWarps)))
      return failure();
    if (cfg.getStages() < 1 || cfg.getStages() > kMaxRowUnroll)
      return configError(op, "stages") << "(state rows in flight per warp) must be in [1, "
                                       << kMaxRowUnroll << "], got " << cfg.getStages();
    return success();
  };
  f.lower = lowerLinearAttnDecode;
  registerKernelFamily(std::move(f));
}
