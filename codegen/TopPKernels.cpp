// Twilight's pruning (shared/ALGORITHMS.md §3): ds.topp.
//
// One CTA of `warps * 32` threads per row (b, h); thread t holds candidates
// [t * E, (t + 1) * E), E = cdiv(K, threads), in registers (16-byte loads where K and E allow).
// Block reductions give the row's largest and smallest valid logit and Z = sum e_i,
// e_i = exp(logit_i - max). The threshold is found by bisection on the order-preserving u32 keys
// of the logits (key = sign ? ~bits : bits | 2^31, -0.0 as +0.0), between the smallest and the
// largest valid key: the largest key T whose left-out mass sum_{key_i < T} e_i is at most
// (1 - top_p) * Z, i.e. whose kept mass reaches top_p * Z (the tail is summed, not the kept
// mass: terms below Z's rounding would vanish from the latter). top_p = 1 keeps all. Each step
// tests `kProbes` keys at once (one block reduction of kProbes sums), so a 32-bit range needs
// at most 11 steps. The kept candidates (key >= T) are compacted in candidate order by a
// block-wide scan of the per-thread counts.
#include "codegen/Lowering.h"
#include "dialect/DSOps.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

using namespace mlir;
using namespace mlir::ds;

namespace {
/// Candidates one thread holds in registers at most.
constexpr int64_t kMaxPerThread = 32;
/// Keys tested per bisection step (the range shrinks kProbes + 1 times per step).
constexpr int64_t kProbes = 7;

int64_t dimOf(Value v, unsigned i) { return cast<RankedTensorType>(v.getType()).getDimSize(i); }

LogicalResult lowerTopP(Operation *op, PlanContext &ctx) {
  auto tp = cast<TopPOp>(op);
  KernelConfigAttr cfg = configOf(op);
  const int64_t threads = cfg.getWarps() * 32, warps = cfg.getWarps();
  Value logits = tp.getLogits(), indices = tp.getIndices();
  const int64_t K = dimOf(logits, 2);
  const int64_t E = (K + threads - 1) / threads;
  const int64_t vec = (K % 4 == 0 && E % 4 == 0) ? 4 : 1;

  std::string batch = dimExpr(ctx, logits, 0), heads = dimExpr(ctx, logits, 1);
  const BufferRef &kept = ctx.place(tp.getKept(), {batch, heads, std::to_string(K)});
  const BufferRef &counts = ctx.place(tp.getCounts(), {batch, heads});

  KernelBuilder kb(ctx.kernels, ctx.kernelName("topp"), op->getLoc());
  kb.addBuffer(ctx.buffer(logits));
  kb.addBuffer(ctx.buffer(indices));
  kb.addBuffer(kept);
  kb.addBuffer(counts);
  kb.begin(threads, "(" + batch + ")*(" + heads + ")");
  ImplicitLocOpBuilder &b = kb.b();
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  Value lA = kb.arg(0), iA = kb.arg(1), kA = kb.arg(2), cA = kb.arg(3);
  Value fsmem = kb.addShared(f32, 32 * kProbes), ismem = kb.addShared(i32, 32);
  auto cmpi = [&](arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, p, x, y).getResult();
  };
  auto sel = [&](Value c, Value x, Value y) { return arith::SelectOp::create(b, c, x, y).getResult(); };
  const float ninf = -std::numeric_limits<float>::infinity();

  Value row = kb.blockId(gpu::Dimension::x), tid = kb.threadId();
  Value rowBase = kb.mul(row, kb.c(K));
  Value first = kb.mul(tid, kb.c(E));
  // Load: chunk [first + c, first + c + vec) lies wholly inside or outside [0, K).
  llvm::SmallVector<Value> x(E), idx(E);
  for (int64_t c = 0; c < E; c += vec) {
    Value pos = kb.add(first, kb.c(c));
    Value in = cmpi(arith::CmpIPredicate::ult, pos, kb.c(K));
    auto vf = VectorType::get({vec}, f32), vi = VectorType::get({vec}, i32);
    auto ifIn = scf::IfOp::create(b, TypeRange{vf, vi}, in, true);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(&ifIn.getThenRegion().front());
      auto lf = vector::LoadOp::create(b, vf, lA, ValueRange{kb.add(rowBase, pos)});
      auto li = vector::LoadOp::create(b, vi, iA, ValueRange{kb.add(rowBase, pos)});
      lf.setAlignment(vec * 4);
      li.setAlignment(vec * 4);
      scf::YieldOp::create(b, ValueRange{lf, li});
      b.setInsertionPointToStart(&ifIn.getElseRegion().front());
      scf::YieldOp::create(
          b, ValueRange{arith::ConstantOp::create(b, DenseElementsAttr::get(vf, ninf)),
                        arith::ConstantOp::create(b, DenseElementsAttr::get(vi, int32_t(-1)))});
    }
    for (int64_t j = 0; j < vec; ++j) {
      x[c + j] = vector::ExtractOp::create(b, ifIn.getResult(0), j);
      idx[c + j] = vector::ExtractOp::create(b, ifIn.getResult(1), j);
    }
  }
  // Order-preserving u32 keys (as i32) of logits; x + 0.0 turns -0.0 into +0.0 so that equal
  // logits have equal keys.
  auto keyOf = [&](Value v) {
    Value bits = arith::BitcastOp::create(b, i32, arith::AddFOp::create(b, v, kb.cf32(0.0f)));
    Value neg = cmpi(arith::CmpIPredicate::slt, bits, kb.ci32(0));
    return sel(neg, arith::XOrIOp::create(b, bits, kb.ci32(-1)),
               arith::OrIOp::create(b, bits, kb.ci32(std::numeric_limits<int32_t>::min())));
  };
  llvm::SmallVector<Value> valid(E), key(E), ex(E);
  Value mx = kb.cf32(ninf), negMn = kb.cf32(ninf);
  for (int64_t j = 0; j < E; ++j) {
    valid[j] = cmpi(arith::CmpIPredicate::sge, idx[j], kb.ci32(0));
    mx = kb.fmax(mx, sel(valid[j], x[j], kb.cf32(ninf)));
    negMn = kb.fmax(negMn, sel(valid[j], arith::NegFOp::create(b, x[j]), kb.cf32(ninf)));
    key[j] = keyOf(x[j]);
  }
  mx = kb.blockMax(mx, fsmem, warps);
  negMn = kb.blockMax(negMn, fsmem, warps);
  // A row without candidates, or whose logits are all -inf: mx = -inf; nothing is kept.
  Value anyValid = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, mx, kb.cf32(ninf));
  Value mxSafe = sel(anyValid, mx, kb.cf32(0.0f));
  Value z = kb.cf32(0.0f);
  for (int64_t j = 0; j < E; ++j) {
    Value d = arith::MulFOp::create(b, arith::SubFOp::create(b, x[j], mxSafe),
                                    kb.cf32(1.4426950408889634f));
    ex[j] = sel(valid[j], kb.exp2(d), kb.cf32(0.0f));
    z = arith::AddFOp::create(b, z, ex[j]);
  }
  z = kb.blockSum(z, fsmem, warps);
  // The mass left out below a threshold may be at most (1 - top_p) Z. Summing the tail instead
  // of the kept mass keeps small terms from being absorbed by Z's rounding; top_p = 1 keeps
  // every candidate (hi starts at lo).
  const double topP = tp.getTopP().convertToDouble();
  Value allowed = arith::MulFOp::create(b, kb.cf32(static_cast<float>(1.0 - topP)), z);
  Value lo0 = keyOf(arith::NegFOp::create(b, negMn)), hi0 = keyOf(mx);
  lo0 = sel(anyValid, lo0, kb.ci32(0));
  hi0 = topP >= 1.0 ? lo0 : sel(anyValid, hi0, kb.ci32(0));

  // Bisection: invariant tail(lo) <= allowed, tail(hi + 1) > allowed, where
  // tail(T) = sum_{key_i < T} e_i (u32 keys as i32). A NaN (a NaN or +inf logit) misses: hi
  // shrinks to lo and the row keeps all its candidates.
  auto loop = scf::WhileOp::create(b, TypeRange{i32, i32}, ValueRange{lo0, hi0});
  {
    OpBuilder::InsertionGuard g(b);
    Block *before = b.createBlock(&loop.getBefore(), {}, {i32, i32}, {b.getLoc(), b.getLoc()});
    Value lo = before->getArgument(0), hi = before->getArgument(1);
    scf::ConditionOp::create(b, cmpi(arith::CmpIPredicate::ult, lo, hi), ValueRange{lo, hi});
    Block *after = b.createBlock(&loop.getAfter(), {}, {i32, i32}, {b.getLoc(), b.getLoc()});
    lo = after->getArgument(0);
    hi = after->getArgument(1);
    // Probe p (1..kProbes) tests lo + ceil(p * (hi - lo) / (kProbes + 1)) in 64-bit arithmetic.
    Type i64 = b.getI64Type();
    auto zext = [&](Value v) { return arith::ExtUIOp::create(b, i64, v).getResult(); };
    Value lo64 = zext(lo), span = arith::SubIOp::create(b, zext(hi), lo64);
    llvm::SmallVector<Value> probe(kProbes), tail(kProbes);
    for (int64_t p = 0; p < kProbes; ++p) {
      Value num = arith::AddIOp::create(
          b, arith::MulIOp::create(b, span, arith::ConstantIntOp::create(b, i64, p + 1)),
          arith::ConstantIntOp::create(b, i64, kProbes));
      Value stepV = arith::DivUIOp::create(b, num, arith::ConstantIntOp::create(b, i64, kProbes + 1));
      probe[p] = arith::TruncIOp::create(b, i32, arith::AddIOp::create(b, lo64, stepV));
      tail[p] = kb.cf32(0.0f);
    }
    for (int64_t j = 0; j < E; ++j)
      for (int64_t p = 0; p < kProbes; ++p)
        tail[p] = arith::AddFOp::create(
            b, tail[p], sel(cmpi(arith::CmpIPredicate::ult, key[j], probe[p]), ex[j], kb.cf32(0.0f)));
    // kProbes block sums with one pair of barriers: warp p's partials at fsmem[p * 32 + warp].
    Value lane = kb.lane(), warp = kb.warpId();
    for (int64_t p = 0; p < kProbes; ++p)
      tail[p] = kb.warpSum(tail[p]);
    auto ifLast = scf::IfOp::create(b, cmpi(arith::CmpIPredicate::eq, lane, kb.c(0)), false);
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(&ifLast.getThenRegion().front());
      for (int64_t p = 0; p < kProbes; ++p)
        memref::StoreOp::create(b, tail[p], fsmem, ValueRange{kb.add(kb.c(p * 32), warp)});
    }
    gpu::BarrierOp::create(b);
    Value laneOk = cmpi(arith::CmpIPredicate::ult, lane, kb.c(warps));
    Value laneAt = sel(laneOk, lane, kb.c(0));
    // Each probe's block total once; the largest probe within the allowance raises lo, the
    // smallest beyond it lowers hi.
    llvm::SmallVector<Value> total(kProbes);
    for (int64_t p = 0; p < kProbes; ++p) {
      Value part = memref::LoadOp::create(b, fsmem, ValueRange{kb.add(kb.c(p * 32), laneAt)});
      total[p] = kb.warpSum(sel(laneOk, part, kb.cf32(0.0f)));
    }
    Value newLo = lo, newHi = hi;
    for (int64_t p = 0; p < kProbes; ++p) {
      Value reach = arith::CmpFOp::create(b, arith::CmpFPredicate::OLE, total[p], allowed);
      newLo = sel(reach, probe[p], newLo);
    }
    for (int64_t p = kProbes - 1; p >= 0; --p) {
      Value miss = arith::CmpFOp::create(b, arith::CmpFPredicate::UGT, total[p], allowed);
      newHi = sel(miss, arith::SubIOp::create(b, probe[p], kb.ci32(1)), newHi);
    }
    gpu::BarrierOp::create(b);
    scf::YieldOp::create(b, ValueRange{newLo, newHi});
  }
  Value T = loop.getResult(0);

  // Compact the kept candidates in candidate order.
  llvm::SmallVector<Value> keep(E);
  Value count = kb.ci32(0);
  for (int64_t j = 0; j < E; ++j) {
    keep[j] = arith::AndIOp::create(
        b, arith::AndIOp::create(b, valid[j], anyValid), cmpi(arith::CmpIPredicate::uge, key[j], T));
    count = arith::AddIOp::create(b, count, arith::ExtUIOp::create(b, i32, keep[j]));
  }
  auto [offset, total] = kb.blockScan(count, ismem, warps);
  Value at = kb.add(rowBase, kb.toIndex(offset));
  for (int64_t j = 0; j < E; ++j) {
    auto ifKeep = scf::IfOp::create(b, keep[j], false);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(&ifKeep.getThenRegion().front());
      memref::StoreOp::create(b, idx[j], kA, ValueRange{at});
    }
    at = kb.add(at, kb.toIndex(arith::ExtUIOp::create(b, i32, keep[j])));
  }
  auto pad = scf::ForOp::create(b, kb.add(kb.toIndex(total), tid), kb.c(K), kb.c(threads));
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(pad.getBody());
    memref::StoreOp::create(b, kb.ci32(-1), kA, ValueRange{kb.add(rowBase, pad.getInductionVar())});
  }
  auto ifT0 = scf::IfOp::create(b, cmpi(arith::CmpIPredicate::eq, tid, kb.c(0)), false);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&ifT0.getThenRegion().front());
    memref::StoreOp::create(b, total, cA, ValueRange{row});
  }
  ctx.addLaunch(kb.finish());
  return success();
}

LogicalResult verifyTopPConfig(Operation *op, KernelConfigAttr cfg, TargetAttr) {
  if (failed(verifyUnusedConfigFields(op, cfg, kUseWarps)) || failed(verifyWarps(op, cfg, 1, 32)))
    return failure();
  int64_t k = dimOf(cast<TopPOp>(op).getLogits(), 2);
  if (ShapedType::isDynamic(k))
    return op->emitOpError("GPU lowering needs a static candidate count (logits dim 2)");
  int64_t threads = cfg.getWarps() * 32;
  if ((k + threads - 1) / threads > kMaxPerThread)
    return configError(op, "warps") << "must give each thread at most " << kMaxPerThread
                                    << " of the row's " << k << " candidates, got "
                                    << cfg.getWarps();
  return success();
}
} // namespace

void mlir::ds::registerTopPFamily() {
  KernelFamily f;
  f.name = "topp";
  f.ops = {TopPOp::getOperationName().str()};
  // 16 candidates per thread (4096 candidates: 256 threads), 32 warps at most.
  f.choose = [](Operation *op, TargetAttr) {
    int64_t k = dimOf(cast<TopPOp>(op).getLogits(), 2);
    int64_t warps = ShapedType::isDynamic(k) ? 8 : (k + 16 * 32 - 1) / (16 * 32);
    warps = std::min<int64_t>(32, std::max<int64_t>(1, warps));
    return KernelConfigAttr::get(op->getContext(), 1, warps, 1, 1, 1);
  };
  f.verify = verifyTopPConfig;
  f.lower = lowerTopP;
  registerKernelFamily(std::move(f));
}
