// Twilight's pruning (shared/ALGORITHMS.md §3): ds.topp.
//
// One CTA of `warps * 32` threads per row (b, h), E = cdiv(K, threads) candidates a thread in
// registers. Layout: warp w holds the span [w * 32 * E, (w + 1) * 32 * E) of the row, in chunks
// of 32 * vec candidates, lane l's vec of chunk c at (c * 32 + l) * vec: each load of a warp
// reads 32 * vec consecutive candidates (16-byte loads where K and E allow). Block reductions
// give the row's largest and smallest valid logit and Z = sum e_i, e_i = exp(logit_i - max).
// The threshold is found by bisection on the order-preserving u32 keys of the logits
// (key = sign ? ~bits : bits | 2^31, -0.0 as +0.0), between the smallest and the largest valid
// key: the largest key T whose left-out mass sum_{key_i < T} e_i is at most (1 - top_p) * Z,
// i.e. whose kept mass reaches top_p * Z (the tail is summed, not the kept mass: terms below
// Z's rounding would vanish from the latter). top_p = 1 keeps all. Each step tests `kProbes`
// keys at once (one block reduction of kProbes + 1 sums, a transposed butterfly inside each
// warp), so a 32-bit range needs at most 11 steps of probes spaced evenly in key space; the
// first kValueSteps steps space them evenly in logit space instead (clamped into the range),
// which narrows clustered logits in far fewer steps. Rows of up to kMaxListed candidates take
// no step over the registers: after summing Z each thread adds its masses (in fixed point, so
// the sums are exact and the same on every run) to a shared histogram of kBuckets logit
// buckets between the smallest and largest logit, every warp scans it for the buckets where the
// crossing may lie (a fixed-point tail is within K / 2 units of the exact one: usually one
// bucket, two near an edge), and the candidates in their key range (key and mass) are
// compacted into a list in shared memory with the mass below the range as a base. The range is
// then checked on the exact f32 sums (tail(lo) <= allowance < tail(hi + 1)); where they refute
// it (a logit at a bucket's edge) the whole row is listed instead. The later steps and the
// exact finish walk the list only. Longer rows take every step over the registers.
// The search stops once at most kFinish candidates remain in range, which are then gathered in
// shared memory and each tried as the threshold (its tail summed over the others in one fixed
// tree, so tails still grow with the key; a candidate's sum is split over 2 lanes at 8 warps).
// The kept candidates (key >= T) are compacted in candidate order (warp, chunk, lane, j):
// per-chunk counts scanned over each warp's lanes, four chunks in the 8-bit fields of one i32,
// and the warps' totals over the block; the kept list is staged in
// shared memory and written with the -1 padding in 16-byte stores (rows of up to 8192
// candidates).
#include "codegen/Lowering.h"
#include "dialect/DSOps.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <limits>
#include <tuple>

using namespace mlir;
using namespace mlir::ds;

namespace {
/// Candidates one thread holds in registers at most.
constexpr int64_t kMaxPerThread = 32;
/// Keys tested per bisection step (the range shrinks kProbes + 1 times per step).
constexpr int64_t kProbes = 7;
/// Kept lists of rows up to this many candidates are staged in shared memory (32 KB) and
/// written out in 16-byte stores; longer rows are written directly.
constexpr int64_t kMaxStaged = 8192;
/// The bisection stops once at most this many candidates (and no more than the CTA's threads)
/// lie in its range; an exact pass over them (each candidate's key as the threshold, on one
/// lane or, where the CTA has threads to spare, on 2 to 8 lanes summing in turn) finishes the
/// search.
constexpr int64_t kFinish = 128;
/// Independent partial sums per thread in the exact pass.
constexpr int64_t kChains = 8;
/// Rows of up to this many candidates keep a list of those in range after the first bisection
/// step (keys and masses: 32 KB at 4096) for the later steps to walk.
constexpr int64_t kMaxListed = 4096;
/// Bisection steps whose probes are spaced evenly in logit space (then in key space).
constexpr int64_t kValueSteps = 3;
/// Buckets of the histogram that picks the listed rows' first range: evenly spaced in logit
/// space between the row's smallest and largest valid logit.
constexpr int64_t kBuckets = 256;

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
  Value fsmem = kb.addShared(f32, 32 * (kProbes + 1)), ismem = kb.addShared(i32, 32);
  Value pre = kb.addShared(f32, 32 * 3);
  // The exact pass gives each remaining candidate a thread: at most min(kFinish, threads).
  const int64_t finish = std::min(kFinish, threads);
  // Lanes per candidate in the exact pass: the largest power of two such that `finish`
  // candidates take no more than the CTA's threads (1 to 8).
  int64_t split = 1;
  while (2 * split * finish <= threads)
    split *= 2;
  Value fkeys = kb.addShared(i32, finish), fmass = kb.addShared(f32, finish);
  // Rows of up to kMaxListed candidates walk a list of those in the histogram's range (keys
  // and masses in shared memory; the keys in `stage` where there is one, whose use starts after
  // the search's last barrier). The exact pass may read the list in place, kChains entries at
  // a time up to n rounded up: the arrays hold K rounded up to kChains.
  const bool list = K <= kMaxListed;
  const int64_t listCap = (K + kChains - 1) / kChains * kChains;
  // Rows of up to kMaxStaged candidates (a multiple of 4) leave through shared memory.
  Value stage = (K % 4 == 0 && K <= kMaxStaged) ? kb.addShared(i32, list ? listCap : K) : Value();
  Value listMass = list ? kb.addShared(f32, listCap) : Value();
  Value listKeys = list ? (stage ? stage : kb.addShared(i32, listCap)) : Value();
  // Listed rows: the histogram of their masses over kBuckets logit buckets (i32 fixed point),
  // and the slots of the gathers' two sums.
  Value hist = list ? kb.addShared(i32, kBuckets) : Value();
  Value gsum = kb.addShared(f32, 32 * 2);
  // The exact pass's largest qualifying key per warp.
  Value bestSmem = kb.addShared(i32, 32);
  auto cmpi = [&](arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, p, x, y).getResult();
  };
  auto sel = [&](Value c, Value x, Value y) { return arith::SelectOp::create(b, c, x, y).getResult(); };
  const float ninf = -std::numeric_limits<float>::infinity();

  Value row = kb.blockId(gpu::Dimension::x), tid = kb.threadId();
  Value rowBase = kb.mul(row, kb.c(K));
  // The histogram starts at zero; the prologue's first block reduction orders these stores
  // before its atomics.
  if (hist)
    for (int64_t i = 0; i < kBuckets; i += threads) {
      Value at = kb.add(tid, kb.c(i));
      auto zero = [&] { memref::StoreOp::create(b, kb.ci32(0), hist, ValueRange{at}); };
      if (i + threads <= kBuckets)
        zero();
      else
        kb.ifThen(cmpi(arith::CmpIPredicate::ult, at, kb.c(kBuckets)), zero);
    }
  // Candidate layout: the row is cut into one span of 32 * E per warp; chunk ci of a warp's
  // span is 32 * vec candidates, lane l's vec of them at (ci * 32 + l) * vec, so that each
  // load of a warp reads 32 * vec consecutive candidates. A thread's candidates, chunk by
  // chunk, in x[ci * vec + j]; candidate order is (warp, chunk, lane, j).
  Value lane = kb.lane(), warp = kb.warpId();
  // Warp-uniform values reach every thread through one barrier (KernelBuilder::toWarpSlots) and
  // are combined in the same order in every thread (combineWarpSlots, prefixWarpSlots).
  using WarpSlot = KernelBuilder::WarpSlot;
  using Combine = KernelBuilder::Combine;
  Value first = kb.mul(warp, kb.c(32 * E));
  // Load: chunk [pos, pos + vec) lies wholly inside or outside [0, K).
  llvm::SmallVector<Value> x(E), idx(E);
  for (int64_t c = 0; c < E; c += vec) {
    Value pos = kb.add(first, kb.mul(kb.add(kb.c(c / vec * 32), lane), kb.c(vec)));
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
  // Block reductions of the prologue, one barrier each: every value has its own slots of `pre`,
  // so no barrier guards their reuse.
  {
    llvm::SmallVector<Value> m = kb.blockReduce({mx, negMn}, /*isMax=*/true, pre, 0, warps);
    mx = m[0];
    negMn = m[1];
  }
  // A row without candidates, or whose logits are all -inf: mx = -inf; nothing is kept.
  Value anyValid = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, mx, kb.cf32(ninf));
  Value mxSafe = sel(anyValid, mx, kb.cf32(0.0f));
  const double topP = tp.getTopP().convertToDouble();
  // Listed rows histogram their masses after summing Z: bucket floor((x - min) * kBuckets /
  // (max - min)) (clamped), mass in fixed point (e * qScale, at most qScale, so a row's total
  // stays below 2^32 and integer atomics sum it exactly, in any order, so the same bucket is
  // picked on every run). Only with a finite, non-empty logit range and top_p < 1 (`useHist`,
  // uniform over the block).
  const float inf = std::numeric_limits<float>::infinity();
  auto finiteF = [&](Value v) {
    return arith::AndIOp::create(b, arith::CmpFOp::create(b, arith::CmpFPredicate::OLT, v, kb.cf32(inf)),
                                 arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, v, kb.cf32(-inf)))
        .getResult();
  };
  // (At most 2^24, so that the scale is an exact f32 and K * qScale < 2^32 for any K.)
  const float qScale = static_cast<float>(
      std::min(16777216.0, std::floor(4294967295.0 / static_cast<double>(K))));
  Value vmin = arith::NegFOp::create(b, negMn), span = arith::SubFOp::create(b, mx, vmin);
  Value useHist, perBucket;
  if (hist) {
    useHist = topP < 1.0 ? arith::AndIOp::create(
                               b, arith::AndIOp::create(b, finiteF(vmin), finiteF(mx)),
                               arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, span, kb.cf32(0.0f)))
                               .getResult()
                         : arith::ConstantIntOp::create(b, b.getI1Type(), 0).getResult();
    perBucket = arith::DivFOp::create(b, kb.cf32(static_cast<float>(kBuckets)), span);
  }
  Value z = kb.cf32(0.0f);
  for (int64_t j = 0; j < E; ++j) {
    Value d = arith::MulFOp::create(b, arith::SubFOp::create(b, x[j], mxSafe),
                                    kb.cf32(1.4426950408889634f));
    ex[j] = sel(valid[j], kb.exp2(d), kb.cf32(0.0f));
    z = arith::AddFOp::create(b, z, ex[j]);
  }
  if (hist) {
    // One uniform branch around the row's atomics, none per candidate: an invalid candidate
    // adds its zero mass (to a clamped bucket). Bucket (x - min) * kBuckets / span as one fma,
    // clamped (NaN-free after maxnum / minnum); the mass rounded to nearest: e is in [0, 1], so
    // e * qScale + 0.5 lies in [0.5, qScale + 0.5] and the min with qScale only meets a NaN.
    Value offset = arith::MulFOp::create(b, arith::NegFOp::create(b, vmin), perBucket);
    kb.ifThen(useHist, [&] {
      for (int64_t j = 0; j < E; ++j) {
        Value t = kb.clampF(math::FmaOp::create(b, x[j], perBucket, offset), 0.0f,
                            static_cast<float>(kBuckets - 1));
        Value bucket = kb.toIndex(arith::FPToUIOp::create(b, i32, t));
        Value q = arith::FPToUIOp::create(
            b, i32, kb.fmin(math::FmaOp::create(b, ex[j], kb.cf32(qScale), kb.cf32(0.5f)),
                            kb.cf32(qScale)));
        memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addi, q, hist, ValueRange{bucket});
      }
    });
  }
  z = kb.blockReduce({z}, /*isMax=*/false, pre, 2, warps)[0];
  // The mass left out below a threshold may be at most (1 - top_p) Z. Summing the tail instead
  // of the kept mass keeps small terms from being absorbed by Z's rounding; top_p = 1 keeps
  // every candidate (hi starts at lo).
  Value allowed = arith::MulFOp::create(b, kb.cf32(static_cast<float>(1.0 - topP)), z);
  Value lo0 = keyOf(vmin), hi0 = keyOf(mx);
  lo0 = sel(anyValid, lo0, kb.ci32(0));
  hi0 = topP >= 1.0 ? lo0 : sel(anyValid, hi0, kb.ci32(0));

  // Bisection: invariant tail(lo) <= allowed, tail(hi + 1) > allowed, where
  // tail(T) = sum_{key_i < T} e_i (u32 keys as i32). A NaN (a NaN or +inf logit) misses: hi
  // shrinks to lo and the row keeps all its candidates.
  Type i1 = b.getI1Type();
  auto shflXor = [&](Value v, int32_t m) {
    return gpu::ShuffleOp::create(b, v, kb.ci32(m), kb.ci32(32), gpu::ShuffleMode::XOR)
        .getShuffleResult();
  };
  auto laneBit = [&](int64_t bit) {
    return cmpi(arith::CmpIPredicate::ne, arith::AndIOp::create(b, lane, kb.c(1 << bit)), kb.c(0));
  };
  // The logit of a key (keyOf's inverse).
  auto valueOf = [&](Value k) {
    Value neg = cmpi(arith::CmpIPredicate::sge, k, kb.ci32(0)); // top bit clear: a negative logit
    Value bits = sel(neg, arith::XOrIOp::create(b, k, kb.ci32(-1)),
                     arith::AndIOp::create(b, k, kb.ci32(std::numeric_limits<int32_t>::max())));
    return arith::BitcastOp::create(b, f32, bits).getResult();
  };
  // One bisection step at the insertion point: kProbes keys between lo and hi, each thread's
  // partial tails below them (part[p]) and count of candidates in [lo, hi] (part[kProbes]) from
  // `accumulate`, the block's sums (plus `base`, the mass below every candidate `accumulate`
  // walks), and the narrowed range; `small`: at most `finish` candidates lay in [lo, hi].
  using Accumulate = llvm::function_ref<void(llvm::ArrayRef<Value> probe, Value lo, Value hi,
                                             llvm::MutableArrayRef<Value> part)>;
  Type i64 = b.getI64Type();
  auto emitStep = [&](Value lo, Value hi, Value stepNo, Value base,
                      Accumulate accumulate) -> std::array<Value, 3> {
    // Probe p (1..kProbes) tests lo + ceil(p * (hi - lo) / (kProbes + 1)) in 64-bit arithmetic:
    // even in key space, which bounds the search at 11 steps. The first kValueSteps steps space
    // the probes evenly in logit space instead (where logits cluster, keys spread over many
    // exponents and key-space probes take several steps to reach them), each probe clamped
    // into [lo + 1, hi] so that the range still shrinks; not where lo or hi is infinite.
    auto zext = [&](Value v) { return arith::ExtUIOp::create(b, i64, v).getResult(); };
    Value lo64 = zext(lo), span = arith::SubIOp::create(b, zext(hi), lo64);
    Value vlo = valueOf(lo), vhi = valueOf(hi);
    Value byValue = arith::AndIOp::create(
        b, cmpi(arith::CmpIPredicate::slt, stepNo, kb.ci32(kValueSteps)),
        arith::AndIOp::create(b, finiteF(vlo), finiteF(vhi)));
    Value loPlus = arith::AddIOp::create(b, lo, kb.ci32(1));
    llvm::SmallVector<Value> probe(kProbes), part(kProbes + 1, kb.cf32(0.0f));
    for (int64_t p = 0; p < kProbes; ++p) {
      Value num = arith::AddIOp::create(
          b, arith::MulIOp::create(b, span, arith::ConstantIntOp::create(b, i64, p + 1)),
          arith::ConstantIntOp::create(b, i64, kProbes));
      Value stepV = arith::DivUIOp::create(b, num, arith::ConstantIntOp::create(b, i64, kProbes + 1));
      Value byKey = arith::TruncIOp::create(b, i32, arith::AddIOp::create(b, lo64, stepV));
      const float t = static_cast<float>(p + 1) / static_cast<float>(kProbes + 1);
      Value v = arith::AddFOp::create(b, arith::MulFOp::create(b, vlo, kb.cf32(1.0f - t)),
                                      arith::MulFOp::create(b, vhi, kb.cf32(t)));
      Value vk = arith::MinUIOp::create(b, arith::MaxUIOp::create(b, keyOf(v), loPlus), hi);
      probe[p] = sel(byValue, vk, byKey);
    }
    accumulate(probe, lo, hi, part);
    // The 8 sums over the warp by a transposed butterfly (9 shuffles, not 8 x 5): at each of
    // the first three levels a lane keeps the half its lane bit selects and sends the other;
    // then lane l holds value l / 4 summed over the lanes that share l's low two bits, and two
    // more levels finish it. Float + is commutative, so every value is summed in the same tree.
    llvm::SmallVector<Value> v(part.begin(), part.end());
    for (int64_t bit = 4, half = 4; bit >= 2; --bit, half /= 2) {
      Value upper = laneBit(bit);
      llvm::SmallVector<Value, 4> next;
      for (int64_t i = 0; i < half; ++i) {
        Value keep = sel(upper, v[i + half], v[i]), send = sel(upper, v[i], v[i + half]);
        next.push_back(arith::AddFOp::create(b, keep, shflXor(send, 1 << bit)));
      }
      v.assign(next.begin(), next.end());
    }
    Value w = v[0];
    w = arith::AddFOp::create(b, w, shflXor(w, 2));
    w = arith::AddFOp::create(b, w, shflXor(w, 1));
    // Lane 4i + 0 of each warp stores value i at fsmem[i * 32 + warp].
    auto ifFirst = scf::IfOp::create(
        b, cmpi(arith::CmpIPredicate::eq, arith::AndIOp::create(b, lane, kb.c(3)), kb.c(0)), false);
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(&ifFirst.getThenRegion().front());
      Value slot = kb.add(kb.mul(kb.div(lane, kb.c(4)), kb.c(32)), warp);
      memref::StoreOp::create(b, w, fsmem, ValueRange{slot});
    }
    gpu::BarrierOp::create(b);
    // Every warp sums value (lane % 8) over the warps in the same order, so all agree; the
    // probes within the allowance form a prefix (tails grow with the probe), counted by a ballot.
    Value vi = kb.rem(lane, kb.c(kProbes + 1));
    Value total = kb.cf32(0.0f);
    for (int64_t ww = 0; ww < warps; ++ww)
      total = arith::AddFOp::create(
          b, total, memref::LoadOp::create(b, fsmem, ValueRange{kb.add(kb.mul(vi, kb.c(32)), kb.c(ww))}));
    gpu::BarrierOp::create(b);
    Value isProbe = cmpi(arith::CmpIPredicate::ult, lane, kb.c(kProbes));
    Value tailAt = base ? arith::AddFOp::create(b, base, total).getResult() : total;
    Value reach = arith::AndIOp::create(
        b, isProbe, arith::CmpFOp::create(b, arith::CmpFPredicate::OLE, tailAt, allowed));
    Value mask = NVVM::VoteSyncOp::create(b, i32, kb.ci32(-1), reach, NVVM::VoteSyncKind::ballot);
    Value nReach = LLVM::CtPopOp::create(b, i32, mask);
    Value newLo = lo, newHi = hi;
    for (int64_t p = 0; p < kProbes; ++p) {
      newLo = sel(cmpi(arith::CmpIPredicate::eq, nReach, kb.ci32(p + 1)), probe[p], newLo);
      newHi = sel(cmpi(arith::CmpIPredicate::eq, nReach, kb.ci32(p)),
                  arith::SubIOp::create(b, probe[p], kb.ci32(1)), newHi);
    }
    Value inCount = kb.fromLane(total, kb.ci32(kProbes));
    Value small = arith::CmpFOp::create(b, arith::CmpFPredicate::OLE, inCount,
                                        kb.cf32(static_cast<float>(finish)));
    return {newLo, newHi, small};
  };
  // A step over the thread's candidates in registers, with the count in [lo, hi].
  auto fromRegisters = [&](llvm::ArrayRef<Value> probe, Value lo, Value hi,
                           llvm::MutableArrayRef<Value> part) {
    for (int64_t j = 0; j < E; ++j) {
      for (int64_t p = 0; p < kProbes; ++p)
        part[p] = arith::AddFOp::create(
            b, part[p], sel(cmpi(arith::CmpIPredicate::ult, key[j], probe[p]), ex[j], kb.cf32(0.0f)));
      Value in = arith::AndIOp::create(
          b, valid[j], arith::AndIOp::create(b, cmpi(arith::CmpIPredicate::uge, key[j], lo),
                                             cmpi(arith::CmpIPredicate::ule, key[j], hi)));
      part[kProbes] = arith::AddFOp::create(b, part[kProbes], sel(in, kb.cf32(1.0f), kb.cf32(0.0f)));
    }
  };
  // The bisection loop; `accumulate` walks the candidates, `base` is the mass below them.
  auto emitLoop = [&](Value lo, Value hi, Value done, Value stepNo, Value base,
                      Accumulate accumulate) {
    auto loop = scf::WhileOp::create(b, TypeRange{i32, i32, i1, i32},
                                     ValueRange{lo, hi, done, stepNo});
    OpBuilder::InsertionGuard g(b);
    SmallVector<Location> locs(4, b.getLoc());
    Block *before = b.createBlock(&loop.getBefore(), {}, {i32, i32, i1, i32}, locs);
    Value bl = before->getArgument(0), bh = before->getArgument(1), bd = before->getArgument(2);
    Value go = arith::AndIOp::create(b, cmpi(arith::CmpIPredicate::ult, bl, bh),
                                     arith::XOrIOp::create(b, bd, arith::ConstantIntOp::create(b, i1, 1)));
    scf::ConditionOp::create(b, go, before->getArguments());
    Block *after = b.createBlock(&loop.getAfter(), {}, {i32, i32, i1, i32}, locs);
    Value n = after->getArgument(3);
    auto [nl, nh, small] = emitStep(after->getArgument(0), after->getArgument(1), n, base, accumulate);
    scf::YieldOp::create(b, ValueRange{nl, nh, small,
                                       arith::AddIOp::create(b, n, kb.ci32(1)).getResult()});
    return std::make_pair(loop.getResult(0), loop.getResult(1));
  };
  // The valid candidates with keys in [lo, hi], key and mass, compacted to keysDst / massDst
  // (not followed by a barrier); returns the block's mass below lo, with `withInMass` its mass
  // in [lo, hi] (only the histogram's range is checked on it), and their count.
  // n (an index) rounded up to a multiple of kChains: how far the exact pass reads.
  auto roundToChains = [&](Value n) {
    return kb.mul(kb.div(kb.add(n, kb.c(kChains - 1)), kb.c(kChains)), kb.c(kChains));
  };
  // The exact pass reads masses up to n rounded up to kChains: those past n are zeroed (a
  // store each by the first threads; no other thread writes them before the next barrier).
  auto zeroPast = [&](Value massDst, Value n) {
    Value nIdx = kb.toIndex(n);
    Value pad = kb.sub(roundToChains(nIdx), nIdx);
    kb.ifThen(cmpi(arith::CmpIPredicate::ult, tid, pad), [&] {
      memref::StoreOp::create(b, kb.cf32(0.0f), massDst, ValueRange{kb.add(nIdx, tid)});
    });
  };
  struct Gathered {
    Value below, inMass, n;
  };
  auto gatherFromRegisters = [&](Value lo, Value hi, Value keysDst, Value massDst,
                                 bool withInMass) {
    Value below = kb.cf32(0.0f), inMass = kb.cf32(0.0f), cnt = kb.ci32(0);
    llvm::SmallVector<Value> in(E);
    for (int64_t j = 0; j < E; ++j) {
      in[j] = arith::AndIOp::create(
          b, valid[j], arith::AndIOp::create(b, cmpi(arith::CmpIPredicate::uge, key[j], lo),
                                             cmpi(arith::CmpIPredicate::ule, key[j], hi)));
      Value under = arith::AndIOp::create(b, valid[j], cmpi(arith::CmpIPredicate::ult, key[j], lo));
      below = arith::AddFOp::create(b, below, sel(under, ex[j], kb.cf32(0.0f)));
      if (withInMass)
        inMass = arith::AddFOp::create(b, inMass, sel(in[j], ex[j], kb.cf32(0.0f)));
      cnt = arith::AddIOp::create(b, cnt, arith::ExtUIOp::create(b, i32, in[j]));
    }
    // The sums and the count's scan through one barrier (the sums' slots in gsum, the counts'
    // in ismem, written again only after the barrier that follows the list's stores).
    llvm::SmallVector<Value> part =
        withInMass ? kb.warpSums({below, inMass}, 32) : llvm::SmallVector<Value>{kb.warpSum(below)};
    Value incl = kb.warpScan(cnt);
    llvm::SmallVector<WarpSlot> items;
    for (auto [v, x] : llvm::enumerate(part))
      items.push_back({x, gsum, static_cast<int64_t>(v)});
    items.push_back({incl, ismem, 0});
    kb.toWarpSlots(items);
    // The thread's first slot: the counts of the warps before its own, then of its lanes before.
    auto [before, n] = kb.prefixWarpSlots(ismem, 0, warps);
    Value offset = arith::AddIOp::create(b, before, arith::SubIOp::create(b, incl, cnt));
    zeroPast(massDst, n);
    Value at = kb.toIndex(offset);
    for (int64_t j = 0; j < E; ++j) {
      Value here = at;
      kb.ifThen(in[j], [&] {
        memref::StoreOp::create(b, key[j], keysDst, ValueRange{here});
        memref::StoreOp::create(b, ex[j], massDst, ValueRange{here});
      });
      at = kb.add(at, kb.toIndex(arith::ExtUIOp::create(b, i32, in[j])));
    }
    return Gathered{kb.combineWarpSlots(Combine::SumF, gsum, 0, warps),
                    withInMass ? kb.combineWarpSlots(Combine::SumF, gsum, 1, warps) : Value(), n};
  };
  Value loF, hiF, listN, listCount, listedSmall, base;
  if (!list) {
    std::tie(loF, hiF) = emitLoop(lo0, hi0, arith::ConstantIntOp::create(b, i1, 0), kb.ci32(0),
                                  Value(), fromRegisters);
  } else {
    // The histogram's range; the candidates in it are compacted into shared memory with the
    // mass below it, and the later steps walk that list only.
    auto firstStep = scf::IfOp::create(b, TypeRange{i32, i32, i1, i32, f32},
                                   cmpi(arith::CmpIPredicate::ult, lo0, hi0), true);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(&firstStep.getThenRegion().front());
      // The first range from the histogram: the buckets' tails S_c (the mass of buckets below c,
      // exact sums of the fixed-point masses) grow with c; the range is the logit range of the
      // buckets where the crossing may lie, as keys, clamped into [lo0, hi0]. Every warp scans
      // the kBuckets counts itself (lane l buckets 8l .. 8l + 7), so all agree without a
      // barrier.
      auto pick = scf::IfOp::create(b, TypeRange{i32, i32}, useHist, true);
      {
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(&pick.getThenRegion().front());
        constexpr int64_t per = kBuckets / 32;
        Value at = kb.mul(lane, kb.c(per));
        llvm::SmallVector<Value> cnt;
        for (int64_t v = 0; v < per; v += 4) {
          Value vec = kb.loadVec(hist, kb.add(at, kb.c(v)), 4);
          for (int64_t j = 0; j < 4; ++j)
            cnt.push_back(vector::ExtractOp::create(b, vec, j));
        }
        Value laneTotal = kb.ci32(0);
        for (Value c : cnt)
          laneTotal = arith::AddIOp::create(b, laneTotal, c);
        Value run = arith::SubIOp::create(b, kb.warpScan(laneTotal), laneTotal);
        // Each mass is rounded by at most half a unit, so a fixed-point tail is within K / 2
        // units of its exact value: the range runs from the last bucket whose tail is surely
        // within the allowance (S_c <= A - K / 2) to the last that may be (S_c <= A + K / 2),
        // so that the exact crossing lies in it. Both counts in one i32 (16 bits each).
        Value allowedQ = arith::MulFOp::create(b, allowed, kb.cf32(qScale));
        const float tol = static_cast<float>(K) / 2.0f;
        Value sure = arith::SubFOp::create(b, allowedQ, kb.cf32(tol));
        Value maybe = arith::AddFOp::create(b, allowedQ, kb.cf32(tol));
        Value within = kb.ci32(0);
        for (Value c : cnt) {
          Value s = arith::UIToFPOp::create(b, f32, run);
          Value inSure = arith::CmpFOp::create(b, arith::CmpFPredicate::OLE, s, sure);
          Value inMaybe = arith::CmpFOp::create(b, arith::CmpFPredicate::OLE, s, maybe);
          within = arith::AddIOp::create(
              b, within,
              arith::AddIOp::create(b, arith::ExtUIOp::create(b, i32, inSure),
                                    arith::ShLIOp::create(b, arith::ExtUIOp::create(b, i32, inMaybe),
                                                          kb.ci32(16))));
          run = arith::AddIOp::create(b, run, c);
        }
        within = kb.warpSum(within);
        auto lastBucket = [&](Value count) {
          return arith::MaxSIOp::create(b, arith::SubIOp::create(b, count, kb.ci32(1)), kb.ci32(0))
              .getResult();
        };
        Value first = lastBucket(arith::AndIOp::create(b, within, kb.ci32(0xFFFF)));
        Value last = lastBucket(arith::ShRUIOp::create(b, within, kb.ci32(16)));
        Value width = arith::DivFOp::create(b, span, kb.cf32(kBuckets));
        auto edge = [&](Value c) {
          Value f = arith::UIToFPOp::create(b, f32, c);
          return keyOf(arith::AddFOp::create(b, vmin, arith::MulFOp::create(b, f, width)));
        };
        Value l = sel(cmpi(arith::CmpIPredicate::eq, first, kb.ci32(0)), lo0,
                      arith::MaxUIOp::create(b, lo0, edge(first)));
        Value h = sel(cmpi(arith::CmpIPredicate::eq, last, kb.ci32(kBuckets - 1)), hi0,
                      arith::MinUIOp::create(
                          b, hi0,
                          arith::SubIOp::create(b, edge(arith::AddIOp::create(b, last, kb.ci32(1))),
                                                kb.ci32(1))));
        scf::YieldOp::create(b, ValueRange{l, h});
        b.setInsertionPointToStart(&pick.getElseRegion().front());
        scf::YieldOp::create(b, ValueRange{lo0, hi0});
      }
      Value l1 = pick.getResult(0), h1 = pick.getResult(1);
      Gathered got = gatherFromRegisters(l1, h1, listKeys, listMass, /*withInMass=*/true);
      gpu::BarrierOp::create(b);
      // The search needs tail(l1) <= allowed < tail(h1 + 1), checked on the exact f32 sums: a
      // logit at a bucket's edge (or the f32 sums' own rounding) can still misplace the
      // crossing. Then the whole range is listed (slow: one such row sets the kernel's time).
      Value holds = arith::AndIOp::create(
          b, arith::CmpFOp::create(b, arith::CmpFPredicate::OLE, got.below, allowed),
          arith::CmpFOp::create(b, arith::CmpFPredicate::OGT,
                                arith::AddFOp::create(b, got.below, got.inMass), allowed));
      Value redo = arith::AndIOp::create(
          b, useHist, arith::XOrIOp::create(b, holds, arith::ConstantIntOp::create(b, b.getI1Type(), 1)));
      auto again = scf::IfOp::create(b, TypeRange{i32, i32, i32, f32}, redo, true);
      {
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(&again.getThenRegion().front());
        Gathered all = gatherFromRegisters(lo0, hi0, listKeys, listMass, /*withInMass=*/false);
        gpu::BarrierOp::create(b);
        scf::YieldOp::create(b, ValueRange{lo0, hi0, all.n, all.below});
        b.setInsertionPointToStart(&again.getElseRegion().front());
        scf::YieldOp::create(b, ValueRange{l1, h1, got.n, got.below});
      }
      Value n = again.getResult(2);
      Value small = cmpi(arith::CmpIPredicate::sle, n, kb.ci32(finish));
      scf::YieldOp::create(
          b, ValueRange{again.getResult(0), again.getResult(1), small, n, again.getResult(3)});
      b.setInsertionPointToStart(&firstStep.getElseRegion().front());
      scf::YieldOp::create(b, ValueRange{lo0, hi0, arith::ConstantIntOp::create(b, i1, 1),
                                         kb.ci32(0), kb.cf32(0.0f)});
    }
    listedSmall = firstStep.getResult(2);
    listCount = firstStep.getResult(3);
    listN = kb.toIndex(listCount);
    base = firstStep.getResult(4);
    auto fromList = [&](llvm::ArrayRef<Value> probe, Value lo, Value hi,
                        llvm::MutableArrayRef<Value> part) {
      auto walk = scf::ForOp::create(b, tid, listN, kb.c(threads), part);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(walk.getBody());
      Value kj = memref::LoadOp::create(b, listKeys, ValueRange{walk.getInductionVar()});
      Value ej = memref::LoadOp::create(b, listMass, ValueRange{walk.getInductionVar()});
      auto acc = walk.getRegionIterArgs();
      SmallVector<Value> next;
      for (int64_t p = 0; p < kProbes; ++p)
        next.push_back(arith::AddFOp::create(
            b, acc[p], sel(cmpi(arith::CmpIPredicate::ult, kj, probe[p]), ej, kb.cf32(0.0f))));
      Value in = arith::AndIOp::create(b, cmpi(arith::CmpIPredicate::uge, kj, lo),
                                       cmpi(arith::CmpIPredicate::ule, kj, hi));
      next.push_back(arith::AddFOp::create(b, acc[kProbes], sel(in, kb.cf32(1.0f), kb.cf32(0.0f))));
      scf::YieldOp::create(b, next);
      b.setInsertionPointAfter(walk);
      for (int64_t p = 0; p <= kProbes; ++p)
        part[p] = walk.getResult(p);
    };
    std::tie(loF, hiF) = emitLoop(firstStep.getResult(0), firstStep.getResult(1), firstStep.getResult(2),
                                  kb.ci32(1), base, fromList);
  }
  // At most `finish` candidates left in [lo, hi]: each takes its own key as the threshold and
  // sums the tail below it exactly as a probe would (the mass below lo, plus the others in
  // [lo, hi] with a smaller key, in one order for all, so tails still grow with the key);
  // T = the largest key whose tail stays within the allowance (lo if none).
  // The exact pass over the n candidates left in [loF, hiF], at keys[0 .. n) / mass[0 .. n)
  // (n <= `finish`), the mass below them `below`: T = the largest key whose tail stays within
  // the allowance, loF if none.
  auto exactPass = [&](Value keys, Value mass, Value n, Value below) -> Value {
    Value nIdx = kb.toIndex(n);
    // Each candidate takes `split` adjacent lanes (candidate tid / split), which sum the
    // groups of kChains entries in turn (group g to lane g % split) in kChains independent
    // sums each (so the loads overlap), then add their lanes' sums by a butterfly: every
    // candidate's tail is the same fixed tree over the entries, an entry at or above its key
    // contributing zero, so tails still grow with the key.
    // The entries are read in 16-byte groups of kChains up to n rounded up to kChains: both
    // arrays hold a multiple of kChains entries (fkeys / fmass: `finish`; the list: listCap),
    // and the gathers zero the masses from n to that bound, so nothing past n counts.
    assert(cast<MemRefType>(keys.getType()).getNumElements() % kChains == 0 &&
           cast<MemRefType>(mass.getType()).getNumElements() % kChains == 0 &&
           "the exact pass reads whole groups of kChains entries");
    Value cand = kb.div(tid, kb.c(split)), sub = kb.rem(tid, kb.c(split));
    Value mine = cmpi(arith::CmpIPredicate::ult, cand, nIdx);
    Value myKey = memref::LoadOp::create(b, keys, ValueRange{sel(mine, cand, kb.c(0))});
    Value end = roundToChains(nIdx);
    SmallVector<Value> init(kChains, kb.cf32(0.0f));
    auto acc = scf::ForOp::create(b, kb.mul(sub, kb.c(kChains)), sel(mine, end, kb.c(0)),
                                  kb.c(kChains * split), init);
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(acc.getBody());
      SmallVector<Value> next;
      for (int64_t c = 0; c < kChains; c += 4) {
        Value at = kb.add(acc.getInductionVar(), kb.c(c));
        Value kv = kb.loadVec(keys, at, 4), ev = kb.loadVec(mass, at, 4);
        for (int64_t j = 0; j < 4; ++j) {
          Value kj = vector::ExtractOp::create(b, kv, j), ej = vector::ExtractOp::create(b, ev, j);
          next.push_back(arith::AddFOp::create(
              b, acc.getRegionIterArgs()[c + j],
              sel(cmpi(arith::CmpIPredicate::ult, kj, myKey), ej, kb.cf32(0.0f))));
        }
      }
      scf::YieldOp::create(b, next);
    }
    Value tail = acc.getResult(0);
    for (int64_t c = 1; c < kChains; ++c)
      tail = arith::AddFOp::create(b, tail, acc.getResult(c));
    for (int64_t m = 1; m < split; m *= 2)
      tail = arith::AddFOp::create(b, tail, shflXor(tail, static_cast<int32_t>(m)));
    tail = arith::AddFOp::create(b, below, tail);
    Value ok = arith::AndIOp::create(
        b, mine, arith::CmpFOp::create(b, arith::CmpFPredicate::OLE, tail, allowed));
    // The largest qualifying key over the block (unsigned max; 0 where none).
    Value best = kb.warpCombine(Combine::MaxU, sel(ok, myKey, kb.ci32(0)));
    // Its own slots (no other use), so no barrier before or after.
    kb.toWarpSlots({{best, bestSmem, 0}});
    return arith::MaxUIOp::create(b, kb.combineWarpSlots(Combine::MaxU, bestSmem, 0, warps), loF)
        .getResult();
  };
  auto ifFinish = scf::IfOp::create(b, TypeRange{i32}, cmpi(arith::CmpIPredicate::ult, loF, hiF), true);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&ifFinish.getThenRegion().front());
    auto gatherThenExact = [&]() -> Value {
      Value below = kb.cf32(0.0f), cnt = kb.ci32(0), n;
      if (!list) {
        Gathered got = gatherFromRegisters(loF, hiF, fkeys, fmass, /*withInMass=*/false);
        below = got.below;
        n = got.n;
      } else {
        // The candidates in [lo, hi] are on the list (its range contains [lo, hi]); the mass
        // below lo is the list's base plus the list's entries below lo.
        auto inRange = [&](Value k) {
          return arith::AndIOp::create(b, cmpi(arith::CmpIPredicate::uge, k, loF),
                                       cmpi(arith::CmpIPredicate::ule, k, hiF))
              .getResult();
        };
        auto walk = scf::ForOp::create(b, tid, listN, kb.c(threads), ValueRange{below, cnt});
        {
          OpBuilder::InsertionGuard g2(b);
          b.setInsertionPointToStart(walk.getBody());
          Value kj = memref::LoadOp::create(b, listKeys, ValueRange{walk.getInductionVar()});
          Value ej = memref::LoadOp::create(b, listMass, ValueRange{walk.getInductionVar()});
          Value under = cmpi(arith::CmpIPredicate::ult, kj, loF);
          scf::YieldOp::create(
              b, ValueRange{arith::AddFOp::create(b, walk.getRegionIterArgs()[0],
                                                  sel(under, ej, kb.cf32(0.0f))),
                            arith::AddIOp::create(b, walk.getRegionIterArgs()[1],
                                                  arith::ExtUIOp::create(b, i32, inRange(kj)))});
        }
        below = arith::AddFOp::create(b, base, kb.blockSum(walk.getResult(0), fsmem, warps));
        Value offset;
        std::tie(offset, n) = kb.blockScan(walk.getResult(1), ismem, warps);
        zeroPast(fmass, n);
        auto put = scf::ForOp::create(b, tid, listN, kb.c(threads), ValueRange{kb.toIndex(offset)});
        {
          OpBuilder::InsertionGuard g2(b);
          b.setInsertionPointToStart(put.getBody());
          Value kj = memref::LoadOp::create(b, listKeys, ValueRange{put.getInductionVar()});
          Value in = inRange(kj);
          Value at = put.getRegionIterArgs()[0];
          kb.ifThen(in, [&] {
            memref::StoreOp::create(b, kj, fkeys, ValueRange{at});
            memref::StoreOp::create(
                b, memref::LoadOp::create(b, listMass, ValueRange{put.getInductionVar()}), fmass,
                ValueRange{at});
          });
          scf::YieldOp::create(b, ValueRange{kb.add(at, kb.toIndex(arith::ExtUIOp::create(b, i32, in)))});
        }
      }
      gpu::BarrierOp::create(b);
      return exactPass(fkeys, fmass, n, below);
    };
    if (!list) {
      scf::YieldOp::create(b, ValueRange{gatherThenExact()});
    } else {
      // Where the first range listed at most `finish` candidates no step ran: the list is the
      // range, and the exact pass reads it where it lies.
      auto direct = scf::IfOp::create(b, TypeRange{i32}, listedSmall, true);
      {
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(&direct.getThenRegion().front());
        scf::YieldOp::create(b, ValueRange{exactPass(listKeys, listMass, listCount, base)});
        b.setInsertionPointToStart(&direct.getElseRegion().front());
        scf::YieldOp::create(b, ValueRange{gatherThenExact()});
      }
      scf::YieldOp::create(b, direct.getResults());
    }
    b.setInsertionPointToStart(&ifFinish.getElseRegion().front());
    scf::YieldOp::create(b, ValueRange{loF});
  }
  Value T = ifFinish.getResult(0);

  // Compact the kept candidates in candidate order: (warp, chunk, lane, j). Each chunk's
  // kept counts are scanned over the warp's lanes four chunks at a time (8-bit fields of one
  // i32: a field's warp total is at most 32 * vec <= 128), the warps' totals over the block.
  llvm::SmallVector<Value> keep(E);
  const int64_t chunks = E / vec;
  llvm::SmallVector<Value> chunkCount(chunks, kb.ci32(0));
  for (int64_t j = 0; j < E; ++j) {
    keep[j] = arith::AndIOp::create(
        b, arith::AndIOp::create(b, valid[j], anyValid), cmpi(arith::CmpIPredicate::uge, key[j], T));
    chunkCount[j / vec] =
        arith::AddIOp::create(b, chunkCount[j / vec], arith::ExtUIOp::create(b, i32, keep[j]));
  }
  llvm::SmallVector<Value> excl(chunks), warpTot(chunks);
  for (int64_t w0 = 0; w0 < chunks; w0 += 4) {
    Value packed = kb.ci32(0);
    for (int64_t c = w0; c < std::min(chunks, w0 + 4); ++c)
      packed = arith::OrIOp::create(
          b, packed, arith::ShLIOp::create(b, chunkCount[c], kb.ci32(8 * (c - w0))));
    Value incl = kb.warpScan(packed);
    Value ex = arith::SubIOp::create(b, incl, packed);
    Value tot = kb.fromLane(incl, kb.ci32(31));
    auto field = [&](Value v, int64_t c) {
      return arith::AndIOp::create(b, arith::ShRUIOp::create(b, v, kb.ci32(8 * (c - w0))),
                                   kb.ci32(255))
          .getResult();
    };
    for (int64_t c = w0; c < std::min(chunks, w0 + 4); ++c) {
      excl[c] = field(ex, c);
      warpTot[c] = field(tot, c);
    }
  }
  Value warpSum = kb.ci32(0);
  llvm::SmallVector<Value> chunkBase(chunks);
  for (int64_t c = 0; c < chunks; ++c) {
    chunkBase[c] = warpSum;
    warpSum = arith::AddIOp::create(b, warpSum, warpTot[c]);
  }
  // The warps' totals: lane 0 stores, every thread sums those of the warps before its own.
  kb.ifThen(cmpi(arith::CmpIPredicate::eq, lane, kb.c(0)),
            [&] { memref::StoreOp::create(b, warpSum, ismem, ValueRange{warp}); });
  gpu::BarrierOp::create(b);
  Value before = kb.ci32(0), total = kb.ci32(0);
  Value warpI32 = arith::IndexCastOp::create(b, i32, warp);
  for (int64_t w = 0; w < warps; ++w) {
    Value t = memref::LoadOp::create(b, ismem, ValueRange{kb.c(w)});
    before = arith::AddIOp::create(
        b, before, sel(cmpi(arith::CmpIPredicate::slt, kb.ci32(w), warpI32), t, kb.ci32(0)));
    total = arith::AddIOp::create(b, total, t);
  }
  llvm::SmallVector<Value> chunkAt(chunks); // the thread's first slot of each chunk, in the row
  for (int64_t c = 0; c < chunks; ++c)
    chunkAt[c] = kb.toIndex(arith::AddIOp::create(
        b, before, arith::AddIOp::create(b, chunkBase[c], excl[c])));
  // The thread's kept indices to dst[base + chunkAt[c] ..), chunk by chunk.
  auto storeKept = [&](Value dst, Value base) {
    for (int64_t c = 0; c < chunks; ++c) {
      Value at = kb.add(base, chunkAt[c]);
      for (int64_t j = c * vec; j < (c + 1) * vec; ++j) {
        Value here = at;
        kb.ifThen(keep[j], [&] { memref::StoreOp::create(b, idx[j], dst, ValueRange{here}); });
        at = kb.add(at, kb.toIndex(arith::ExtUIOp::create(b, i32, keep[j])));
      }
    }
  };
  if (stage) {
    // The row's kept list staged in shared memory, then written with the -1 padding in
    // 16-byte stores that a warp's lanes make contiguous. (Storing the kept indices straight to
    // global memory, with only the padding in 16-byte stores, saves the barrier but was slower
    // on an H100 in session 40: 256 x 4096 at top_p 1 9.8 -> 11.0 us, at 0.9 13.1 -> 13.3.)
    storeKept(stage, kb.c(0));
    gpu::BarrierOp::create(b);
    Value totalIdx = kb.toIndex(total);
    auto out = scf::ForOp::create(b, kb.mul(tid, kb.c(4)), kb.c(K), kb.c(threads * 4));
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(out.getBody());
      Value i = out.getInductionVar();
      llvm::SmallVector<Value> elems(4);
      for (int64_t c = 0; c < 4; ++c) {
        Value pos = kb.add(i, kb.c(c));
        elems[c] = sel(cmpi(arith::CmpIPredicate::ult, pos, totalIdx),
                       memref::LoadOp::create(b, stage, ValueRange{pos}), kb.ci32(-1));
      }
      Value v = vector::FromElementsOp::create(b, VectorType::get({4}, i32), elems);
      auto st = vector::StoreOp::create(b, v, kA, ValueRange{kb.add(rowBase, i)});
      st.setAlignment(16);
    }
  } else {
    storeKept(kA, rowBase);
    auto pad = scf::ForOp::create(b, kb.add(kb.toIndex(total), tid), kb.c(K), kb.c(threads));
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(pad.getBody());
      memref::StoreOp::create(b, kb.ci32(-1), kA, ValueRange{kb.add(rowBase, pad.getInductionVar())});
    }
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
  // Rows of up to kMaxListed candidates (no search step over the registers): 16 candidates a
  // thread (4096 -> 8 warps). On the H200, 256 rows x 4096 at top_p 0.9 / 0.99 took 13.0-13.2
  // us with 4 warps (32 a thread), 12.4-12.5 with 8, 13.2-13.4 with 16 and 18.6-18.8 with 32
  // (session 38). After session 39's leaner reductions, on an H100: 12.9-13.1 with 4 warps,
  // 13.1-13.2 with 8, 14.4-14.6 with 16 (not measured on the H200).
  // Longer rows search over the registers, where each step's block reduction waits on every
  // warp: 32 candidates a thread (there, in session 13, 4096 candidates took 14.2 us with 4
  // warps, 15.5 with 8 and 21.6 with 16).
  f.choose = [](Operation *op, TargetAttr) {
    int64_t k = dimOf(cast<TopPOp>(op).getLogits(), 2);
    if (ShapedType::isDynamic(k)) // refused by the verifier; any valid count will do
      return KernelConfigAttr::get(op->getContext(), 1, 4, 1, 1, 1);
    const int64_t perThread = k <= kMaxListed ? 16 : kMaxPerThread;
    int64_t warps = (k + perThread * 32 - 1) / (perThread * 32);
    warps = std::min<int64_t>(32, std::max<int64_t>(1, warps));
    return KernelConfigAttr::get(op->getContext(), 1, warps, 1, 1, 1);
  };
  f.verify = verifyTopPConfig;
  f.lower = lowerTopP;
  registerKernelFamily(std::move(f));
}
