#include "codegen/RadixSelect.h"
#include "codegen/Lowering.h"
#include "dialect/DSTarget.h"

#include <algorithm>

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::ds;

namespace {
constexpr int64_t kMaxBins = 4096;
/// selectSampled's sample: kSampleRuns runs of kSampleRun consecutive scores, spread evenly over
/// the row (16-byte loads).
constexpr int64_t kSampleRuns = 32, kSampleRun = 128, kSampleKeys = kSampleRuns * kSampleRun;
static_assert(kSampleKeys == kRadixSampleKeys, "the sample's size in RadixSelect.h");
struct Digit {
  int64_t shift, bits;
};
constexpr Digit kDigits[] = {{20, 12}, {10, 10}, {0, 10}};
// misc[0]: chosen digit, misc[1]: keys above it, misc[2]: > T counter, misc[3]: == T counter,
// misc[4]: candidate-list counter.
constexpr int64_t kDigitSlot = 0, kAboveSlot = 1, kGreaterSlot = 2, kTieSlot = 3, kListSlot = 4;

Value cmp(ImplicitLocOpBuilder &b, arith::CmpIPredicate p, Value x, Value y) {
  return arith::CmpIOp::create(b, p, x, y);
}
void forRange(ImplicitLocOpBuilder &b, Value lo, Value hi, Value step,
              llvm::function_ref<void(Value)> body) {
  auto loop = scf::ForOp::create(b, lo, hi, step);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  body(loop.getInductionVar());
}
void store(ImplicitLocOpBuilder &b, Value v, Value memref, Value i) {
  memref::StoreOp::create(b, v, memref, ValueRange{i});
}
Value load(ImplicitLocOpBuilder &b, Value memref, Value i) {
  return memref::LoadOp::create(b, memref, ValueRange{i});
}
/// memref[i] += amount (1 unless given) in shared memory; the value before.
Value atomicAdd(KernelBuilder &kb, Value memref, Value i, Value amount = {}) {
  return memref::AtomicRMWOp::create(kb.b(), arith::AtomicRMWKind::addi,
                                     amount ? amount : kb.ci32(1), memref, ValueRange{i});
}
/// Digit `dg` of a key (its bits shift .. shift + bits - 1), as an i32.
Value digitOf(KernelBuilder &kb, Value key, const Digit &dg) {
  ImplicitLocOpBuilder &b = kb.b();
  return arith::AndIOp::create(b, arith::ShRUIOp::create(b, key, kb.ci32(dg.shift)),
                               kb.ci32(static_cast<int32_t>((int64_t(1) << dg.bits) - 1)));
}
} // namespace

LogicalResult mlir::ds::verifyRadixSelectWarps(Operation *op, KernelConfigAttr cfg) {
  return verifyRadixSelectWarps(op, "warps", cfg.getWarps());
}

LogicalResult mlir::ds::verifyRadixSelectWarps(Operation *op, StringRef field, int64_t w) {
  if (w >= 1 && w <= 32 && llvm::isPowerOf2_64(w))
    return success();
  return configError(op, field) << "must be a power of two in [1, 32] (the radix select's "
                                   "block-wide scans), got " << w;
}

LogicalResult mlir::ds::verifyClusterSplits(Operation *op, KernelConfigAttr cfg,
                                           TargetAttr target, bool clusterWarps) {
  const int64_t C = cfg.getSplits();
  if (C != 1 && C != 2 && C != 4 && C != 8)
    return configError(op, "splits") << "(CTAs per row, a cluster) must be 1, 2, 4 or 8, got "
                                     << C;
  if (C == 1)
    return success();
  const ChipInfo *chip = lookupChip(target.getChip());
  if (!chip || chip->version < 90)
    return configError(op, "splits") << "(" << C << " CTAs per row) needs thread-block clusters, "
                                     << "which " << target.getChip() << " does not have";
  const StringRef field = clusterWarps ? "cluster_warps" : "warps";
  const int64_t warps = clusterWarps ? cfg.getClusterWarps() : cfg.getWarps();
  if (warps < 2)
    return configError(op, field) << "must be at least 2 for a cluster (" << C
                                  << " CTAs per row), got " << warps;
  return success();
}

PlanExpr mlir::ds::clusterGate(TargetAttr target, const PlanExpr &rows, const PlanExpr &n,
                               int64_t ctas, int64_t keysPerCta, int64_t minN) {
  return atMostGate(rows * ctas, target.getSmCount()) * atMostGate(n, ctas * keysPerCta) *
         aboveGate(n, minN);
}

ClusterReach mlir::ds::clusterReach(TargetAttr target, const StaticRows &rows, int64_t n,
                                    int64_t ctas, int64_t keysPerCta, int64_t minN) {
  const int64_t most = ctas * keysPerCta;
  const bool staticN = !ShapedType::isDynamic(n);
  const std::string what = "(" + std::to_string(ctas) + " CTAs per row, a cluster) launches "
                           "nothing at these sizes: ";
  if (staticN && n <= minN)
    return {"splits", what + "it takes rows longer than " + std::to_string(minN) +
                          ", and N is " + std::to_string(n) + "; use splits = 1"};
  if (most <= minN)
    return {"block_tokens",
            "(" + std::to_string(keysPerCta) + " keys per CTA of a cluster) times splits (" +
                std::to_string(ctas) + ") must exceed " + std::to_string(minN) +
                ", the shortest row the cluster kernel takes, or it never runs; got " +
                std::to_string(most)};
  const int64_t ctasNeeded = saturatingMul(rows.fewest, ctas);
  if (ctasNeeded > target.getSmCount())
    return {"splits", what + "its clusters take one CTA per SM, and " +
                          std::to_string(rows.fewest) + " rows need " +
                          std::to_string(ctasNeeded) + " of the target's " +
                          std::to_string(target.getSmCount()) + "; use splits = 1"};
  if (staticN && n > most)
    return {"splits", what + "it takes rows of " + std::to_string(minN) +
                          " < N <= splits x block_tokens = " + std::to_string(most) +
                          ", and N is " + std::to_string(n) + "; use splits = 1"};
  // Inside every bound: with the rows and N static, every launch takes it.
  return {{}, {}, rows.exact && staticN};
}

std::pair<Value, Value> mlir::ds::clusterSlice(KernelBuilder &kb, Value len, Value rank,
                                               int64_t ctas) {
  Value per = kb.div(kb.add(len, kb.c(ctas - 1)), kb.c(ctas));
  Value lo = kb.minIdx(kb.mul(rank, per), len);
  return {lo, kb.sub(kb.minIdx(kb.add(lo, per), len), lo)};
}

RadixSelect::RadixSelect(KernelBuilder &kb, int64_t threads)
    : kb(kb), threads(threads), warps(threads / 32) {
  assert(threads >= 32 && threads <= 1024 && llvm::isPowerOf2_64(threads) &&
         "radix select needs a power-of-two CTA of 32..1024 threads");
  Type i32 = kb.b().getI32Type();
  hist = kb.addShared(i32, kMaxBins);
  warpSums = kb.addShared(i32, warps);
  misc = kb.addShared(i32, 5);
}

Value RadixSelect::key(Value score) {
  ImplicitLocOpBuilder &b = kb.b();
  Value bits = arith::BitcastOp::create(b, b.getI32Type(), score);
  Value neg = cmp(b, arith::CmpIPredicate::slt, bits, kb.ci32(0));
  Value flipped = arith::XOrIOp::create(b, bits, kb.ci32(-1));
  Value marked = arith::OrIOp::create(b, bits, kb.ci32(INT32_MIN));
  return arith::SelectOp::create(b, neg, flipped, marked);
}

void RadixSelect::zeroCounters() {
  ImplicitLocOpBuilder &b = kb.b();
  ifThen(b, cmp(b, arith::CmpIPredicate::eq, kb.threadId(), kb.c(0)), [&] {
    store(b, kb.ci32(0), misc, kb.c(kGreaterSlot));
    store(b, kb.ci32(0), misc, kb.c(kTieSlot));
    store(b, kb.ci32(0), misc, kb.c(kListSlot));
  }); // ordered before the final pass by the barriers of the digit passes
}

void RadixSelect::clearFirstDigit() {
  ImplicitLocOpBuilder &b = kb.b();
  zeroCounters();
  const int64_t bins = int64_t(1) << kDigits[0].bits;
  forRange(b, kb.threadId(), kb.c(bins), kb.c(threads),
           [&](Value i) { store(b, kb.ci32(0), hist, i); });
  gpu::BarrierOp::create(b);
}

void RadixSelect::countFirstDigit(Value key) {
  ImplicitLocOpBuilder &b = kb.b();
  const Digit &dg = kDigits[0];
  Value d = arith::ShRUIOp::create(b, key, kb.ci32(dg.shift)); // the top bits: no mask needed
  atomicAdd(kb, hist, kb.toIndex(d));
}

Value RadixSelect::loadScore(Value scores, Value rowBase, Value i) {
  ImplicitLocOpBuilder &b = kb.b();
  if (!spill.buffer)
    return load(b, scores, kb.add(rowBase, i));
  // Positions past the shared-memory capacity live in the spill row.
  auto ifS = scf::IfOp::create(b, TypeRange{b.getF32Type()},
                               cmp(b, arith::CmpIPredicate::ult, i, spill.capacity), true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifS.getThenRegion().front());
  scf::YieldOp::create(b, ValueRange{load(b, scores, kb.add(rowBase, i))});
  b.setInsertionPointToStart(&ifS.getElseRegion().front());
  scf::YieldOp::create(
      b, ValueRange{load(b, spill.buffer, kb.add(spill.base, kb.sub(i, spill.capacity)))});
  return ifS.getResult(0);
}

void RadixSelect::forEachKey(Value scores, Value rowBase, Value len,
                             llvm::function_ref<void(Value, Value)> body, int64_t unroll) {
  ImplicitLocOpBuilder &b = kb.b();
  forRange(b, kb.threadId(), len, kb.c(threads * unroll), [&](Value i0) {
    SmallVector<Value> idx, ok, score;
    for (int64_t u = 0; u < unroll; ++u) {
      Value i = kb.add(i0, kb.c(u * threads));
      Value in = cmp(b, arith::CmpIPredicate::ult, i, len);
      auto ifLoad = scf::IfOp::create(b, TypeRange{b.getF32Type()}, in, true);
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(&ifLoad.getThenRegion().front());
        scf::YieldOp::create(b, ValueRange{loadScore(scores, rowBase, i)});
        b.setInsertionPointToStart(&ifLoad.getElseRegion().front());
        scf::YieldOp::create(b, ValueRange{kb.cf32(0.0f)});
      }
      idx.push_back(i);
      ok.push_back(in);
      score.push_back(ifLoad.getResult(0));
    }
    for (int64_t u = 0; u < unroll; ++u)
      ifThen(b, ok[u], [&] { body(idx[u], key(score[u])); });
  });
}

std::pair<Value, Value> RadixSelect::chooseDigit(Value counts, int64_t bins, Value kRem) {
  ImplicitLocOpBuilder &b = kb.b();
  Type i32 = b.getI32Type();
  auto toI32 = [&](Value idx) { return arith::IndexCastOp::create(b, i32, idx).getResult(); };
  Value tid = kb.threadId(), lane = kb.lane(), warp = kb.warpId();
  const int64_t per = bins / threads;
  gpu::BarrierOp::create(b);
  // Block-wide scan: thread t owns bins [t * per, (t + 1) * per).
  SmallVector<Value> owned;
  Value run = kb.ci32(0);
  for (int64_t j = 0; j < per; ++j) {
    owned.push_back(load(b, counts, kb.add(kb.mul(tid, kb.c(per)), kb.c(j))));
    run = arith::AddIOp::create(b, run, owned.back());
  }
  Value incl = kb.warpScan(run);
  ifThen(b, cmp(b, arith::CmpIPredicate::eq, lane, kb.c(31)),
         [&] { store(b, incl, warpSums, warp); });
  gpu::BarrierOp::create(b);
  // Every warp scans the warp totals itself (lane l holds warp l's): the keys of all warps and
  // of the warps before this one, without a 32-step loop per thread.
  Value laneOk = cmp(b, arith::CmpIPredicate::ult, lane, kb.c(warps));
  Value ws = load(b, warpSums, arith::SelectOp::create(b, laneOk, lane, kb.c(0)));
  ws = arith::SelectOp::create(b, laneOk, ws, kb.ci32(0));
  Value wIncl = kb.warpScan(ws);
  Value total = kb.fromLane(wIncl, kb.ci32(static_cast<int32_t>(warps - 1)));
  Value before = kb.fromLane(arith::SubIOp::create(b, wIncl, ws), toI32(warp));
  // Keys in bins above this thread's run, then walk its bins downwards.
  Value g = arith::SubIOp::create(b, total, arith::AddIOp::create(b, before, incl));
  for (int64_t j = per - 1; j >= 0; --j) {
    Value upTo = arith::AddIOp::create(b, g, owned[j]);
    Value hit = arith::AndIOp::create(b, cmp(b, arith::CmpIPredicate::slt, g, kRem),
                                      cmp(b, arith::CmpIPredicate::sge, upTo, kRem));
    Value gHere = g;
    ifThen(b, hit, [&] {
      store(b, toI32(kb.add(kb.mul(tid, kb.c(per)), kb.c(j))), misc, kb.c(kDigitSlot));
      store(b, gHere, misc, kb.c(kAboveSlot));
    });
    g = upTo;
  }
  gpu::BarrierOp::create(b);
  return {load(b, misc, kb.c(kDigitSlot)), load(b, misc, kb.c(kAboveSlot))};
}

void RadixSelect::select(Value scores, Value rowBase, Value len, int64_t selK, Value out,
                         Value outBase) {
  spill = Spill();
  zeroCounters();
  selectOver(
      [&](llvm::function_ref<void(Value, Value)> body) {
        forEachKey(scores, rowBase, len, [&](Value i, Value key) {
          body(arith::IndexCastOp::create(kb.b(), kb.b().getI32Type(), i), key);
        });
      },
      selK, out, outBase);
}

void RadixSelect::selectOver(
    llvm::function_ref<void(llvm::function_ref<void(Value, Value)>)> forEachCandidate,
    int64_t selK, Value out, Value outBase) {
  ImplicitLocOpBuilder &b = kb.b();
  Value tid = kb.threadId();
  Value prefix = kb.ci32(0), mask = kb.ci32(0), kRem = kb.ci32(selK), above = kb.ci32(0);
  for (const Digit &dg : kDigits) {
    const int64_t bins = int64_t(1) << dg.bits;
    forRange(b, tid, kb.c(bins), kb.c(threads), [&](Value i) { store(b, kb.ci32(0), hist, i); });
    gpu::BarrierOp::create(b);
    Value pfx = prefix, msk = mask;
    forEachCandidate([&](Value, Value key) {
      Value match = cmp(b, arith::CmpIPredicate::eq, arith::AndIOp::create(b, key, msk), pfx);
      ifThen(b, match, [&] {
        Value d = arith::AndIOp::create(
            b, arith::ShRUIOp::create(b, key, kb.ci32(dg.shift)), kb.ci32(bins - 1));
        atomicAdd(kb, hist, kb.toIndex(d));
      });
    });
    auto [d, gr] = chooseDigit(bins, kRem);
    prefix = arith::OrIOp::create(b, prefix, arith::ShLIOp::create(b, d, kb.ci32(dg.shift)));
    mask = arith::OrIOp::create(b, mask, kb.ci32(static_cast<int32_t>((bins - 1) << dg.shift)));
    kRem = arith::SubIOp::create(b, kRem, gr);
    above = arith::AddIOp::create(b, above, gr);
  }
  // Threshold T = prefix; `above` keys > T, `kRem` ties to take.
  Value T = prefix, need = kRem, aboveIdx = kb.toIndex(above);
  forEachCandidate(
      [&](Value pos, Value key) { writeSelected(pos, key, T, need, aboveIdx, out, outBase); });
}

void RadixSelect::writeSelected(Value pos, Value key, Value T, Value need, Value aboveIdx,
                                Value out, Value outBase) {
  ImplicitLocOpBuilder &b = kb.b();
  auto ifAbove = scf::IfOp::create(b, cmp(b, arith::CmpIPredicate::ugt, key, T), true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifAbove.getThenRegion().front());
  Value p = atomicAdd(kb, misc, kb.c(kGreaterSlot));
  store(b, pos, out, kb.add(outBase, kb.toIndex(p)));
  b.setInsertionPointToStart(&ifAbove.getElseRegion().front());
  Value tie = cmp(b, arith::CmpIPredicate::eq, key, T);
  // Skip the atomic once all ties are taken (the counter only grows).
  Value seen = load(b, misc, kb.c(kTieSlot));
  ifThen(b, arith::AndIOp::create(b, tie, cmp(b, arith::CmpIPredicate::slt, seen, need)), [&] {
    Value q = atomicAdd(kb, misc, kb.c(kTieSlot));
    ifThen(b, cmp(b, arith::CmpIPredicate::slt, q, need), [&] {
      store(b, pos, out, kb.add(outBase, kb.add(aboveIdx, kb.toIndex(q))));
    });
  });
}

void RadixSelect::forEachListed(Value list, Value n,
                                llvm::function_ref<void(Value, Value)> body) {
  ImplicitLocOpBuilder &b = kb.b();
  forRange(b, kb.threadId(), kb.toIndex(n), kb.c(threads), [&](Value e) {
    Value e2 = kb.mul(e, kb.c(2));
    body(load(b, list, kb.add(e2, kb.c(1))), load(b, list, e2));
  });
}

void RadixSelect::selectTwoPass(Value scores, Value rowBase, Value len, int64_t selK, Value out,
                                Value outBase, Value list, int64_t listCap,
                                int64_t loadsInFlight) {
  // The overflow fallback's walks with one load in flight: they run only when ties or a dense
  // bucket overflow the list, and their unrolled copies cost compile time (the Quest spec's cold
  // compile about 45 ms). (In score_topk the same change slowed the main path of the long rows,
  // DS B = 8 N = 65536 229.7 -> 261.3 us on the H200, so it keeps its unrolled fallback.)
  selectTwoPassBy(
      [&](llvm::function_ref<void(Value, Value)> body) {
        forEachKey(scores, rowBase, len, body, loadsInFlight);
      },
      [&](llvm::function_ref<void(Value, Value)> body) {
        forEachKey(scores, rowBase, len, body, /*unroll=*/1);
      },
      selK, out, outBase, list, listCap);
}

void RadixSelect::selectTwoPassBy(RowWalk walk, RowWalk walkAgain, int64_t selK, Value out,
                                  Value outBase, Value list, int64_t listCap) {
  spill = Spill();
  clearFirstDigit();
  walk([&](Value, Value key) { countFirstDigit(key); });
  selectCompactedBy(walk, walkAgain, selK, out, outBase, list, listCap);
}

Value RadixSelect::sampleThreshold(Value list, Value r) {
  ImplicitLocOpBuilder &b = kb.b();
  auto toI32 = [&](Value idx) {
    return arith::IndexCastOp::create(b, b.getI32Type(), idx).getResult();
  };
  Value tid = kb.threadId();
  const Digit &d1g = kDigits[0], &d2g = kDigits[1];
  // The threshold: the first two digits of the sample's r-th largest key.
  auto [d1, g1] = chooseDigit(int64_t(1) << d1g.bits, toI32(r));
  const int64_t bins2 = int64_t(1) << d2g.bits;
  forRange(b, tid, kb.c(bins2), kb.c(threads), [&](Value i) { store(b, kb.ci32(0), hist, i); });
  gpu::BarrierOp::create(b);
  forRange(b, tid, kb.c(kSampleKeys), kb.c(threads), [&](Value e) {
    Value k = load(b, list, e);
    ifThen(b, cmp(b, arith::CmpIPredicate::eq, arith::ShRUIOp::create(b, k, kb.ci32(d1g.shift)),
                  d1),
           [&] { atomicAdd(kb, hist, kb.toIndex(digitOf(kb, k, d2g))); });
  });
  Value d2 = chooseDigit(bins2, arith::SubIOp::create(b, toI32(r), g1)).first;
  return arith::OrIOp::create(b, arith::ShLIOp::create(b, d1, kb.ci32(d1g.shift)),
                              arith::ShLIOp::create(b, d2, kb.ci32(d2g.shift)));
}

void RadixSelect::selectSampled(Value scores, Value rowBase, Value len, Value rowEnd,
                                int64_t selK, Value out, Value outBase, Value list,
                                int64_t listCap, int64_t loadsInFlight, int64_t minLen) {
  ImplicitLocOpBuilder &b = kb.b();
  // The sample's keys live in the list before its candidates do; runs need rows of kSampleKeys.
  if (2 * listCap < kSampleKeys || minLen < kSampleKeys) {
    selectTwoPass(scores, rowBase, len, selK, out, outBase, list, listCap, loadsInFlight);
    return;
  }
  spill = Spill();
  Type i32 = b.getI32Type();
  auto toI32 = [&](Value idx) { return arith::IndexCastOp::create(b, i32, idx).getResult(); };
  auto isZero = [&](Value idx) { return cmp(b, arith::CmpIPredicate::eq, idx, kb.c(0)); };
  Value tid = kb.threadId();
  sampledSelect(
      len, selK, out, outBase, list, listCap, minLen,
      [&] {
        return SmallVector<Value>{isZero(kb.rem(rowBase, kb.c(4))),
                                  isZero(kb.rem(rowEnd, kb.c(4)))};
      },
      [&](Value stride) {
        // Runs of 16-byte loads (stride a multiple of 4): key 4 v + e of the sample is element
        // e of vector v of its run.
        const int64_t runVecs = kSampleRun / 4;
        forRange(b, tid, kb.c(kSampleKeys / 4), kb.c(threads), [&](Value v) {
          Value pos = kb.add(kb.mul(kb.div(v, kb.c(runVecs)), stride),
                             kb.mul(kb.rem(v, kb.c(runVecs)), kb.c(4)));
          Value vec = kb.loadVecF32(scores, kb.add(rowBase, pos), 4);
          for (int64_t e = 0; e < 4; ++e) {
            Value k = key(vector::ExtractOp::create(b, vec, e));
            countFirstDigit(k);
            store(b, k, list, kb.add(kb.mul(v, kb.c(4)), kb.c(e)));
          }
        });
      },
      [&](Value low) {
        // key(x) >= low compares bits(x) ^ flip with low: a non-negative low key (a negative
        // threshold score) takes every score >= 0 and the negative ones with bits <= ~low, i.e.
        // ~bits >= low; a positive one only non-negative scores, bits + 2^31 >= low.
        Value flip = arith::SelectOp::create(
            b, cmp(b, arith::CmpIPredicate::sge, low, kb.ci32(0)), kb.ci32(-1), kb.ci32(INT32_MIN));
        // One pass over the row: every key >= low and its position to the list (while it has room;
        // the counter counts them all). Vectors of 4 start below len; rowEnd, a multiple of 4,
        // keeps their loads in the row. A warp's kept keys take consecutive slots from one update
        // of the list counter per step (lane 31 adds the warp's total, its lanes' counts scanned),
        // not one atomic per key.
        Value nVec = kb.div(kb.add(len, kb.c(3)), kb.c(4));
        const int64_t unroll = loadsInFlight;
        auto vecTy = VectorType::get({4}, b.getF32Type());
        // Warp w walks vectors [w0, w0 + 32) + u * threads, w0 = 32 w + m * threads * unroll: the
        // loop's bound is the same in all lanes of a warp (its scan and shuffles need every lane).
        Value lane = kb.lane(), lenI32 = toI32(len);
        forRange(b, kb.sub(tid, lane), nVec, kb.c(threads * unroll), [&](Value w0) {
          // An iteration whose vectors all lie wholly below len (the warp's last one, w0 + 31 +
          // (unroll - 1) threads, below len / 4: every iteration but the row's last few) loads and
          // tests its keys without the bounds checks; the others check each vector and key.
          Value lastV = kb.add(w0, kb.c(31 + (unroll - 1) * threads));
          Value full = cmp(b, arith::CmpIPredicate::ult, lastV, kb.div(len, kb.c(4)));
          SmallVector<Value> vIdx, vecPos; // per vector: v, 4 v (i32)
          for (int64_t u = 0; u < unroll; ++u) {
            vIdx.push_back(kb.add(kb.add(w0, lane), kb.c(u * threads)));
            vecPos.push_back(toI32(kb.mul(vIdx.back(), kb.c(4))));
          }
          auto asI32 = [&](Value flag) { return arith::ExtUIOp::create(b, i32, flag).getResult(); };
          // Kept: key >= low at a position below len (element e of vector u: e < len - 4 v).
          auto keepTest = [&](Value score, Value inRow) {
            Value bits = arith::BitcastOp::create(b, i32, score);
            Value above =
                cmp(b, arith::CmpIPredicate::uge, arith::XOrIOp::create(b, bits, flip), low);
            return inRow ? arith::AndIOp::create(b, above, inRow).getResult() : above;
          };
          const int64_t keys = 4 * unroll;
          SmallVector<Type> types(unroll, vecTy);
          types.append(keys, b.getI1Type());
          types.push_back(i32);
          auto ifFull = scf::IfOp::create(b, types, full, true);
          for (int checked = 0; checked < 2; ++checked) {
            OpBuilder::InsertionGuard g(b);
            b.setInsertionPointToStart(checked ? &ifFull.getElseRegion().front()
                                               : &ifFull.getThenRegion().front());
            SmallVector<Value> vecs, flags;
            Value count = kb.ci32(0);
            for (int64_t u = 0; u < unroll; ++u) {
              Value v = vIdx[u], at = kb.add(rowBase, kb.mul(v, kb.c(4)));
              vecs.push_back(checked ? kb.loadVecOrZero(cmp(b, arith::CmpIPredicate::ult, v, nVec),
                                                        scores, at, 4)
                                     : kb.loadVec(scores, at, 4));
            }
            for (int64_t u = 0; u < unroll; ++u) {
              Value vecLeft = checked ? arith::SubIOp::create(b, lenI32, vecPos[u]).getResult()
                                      : Value(); // <= 0 past the row
              for (int64_t e = 0; e < 4; ++e) {
                Value inRow =
                    checked ? cmp(b, arith::CmpIPredicate::slt, kb.ci32(static_cast<int32_t>(e)),
                                  vecLeft)
                            : Value();
                flags.push_back(keepTest(vector::ExtractOp::create(b, vecs[u], e), inRow));
                count = arith::AddIOp::create(b, count, asI32(flags.back()));
              }
            }
            SmallVector<Value> yields(vecs);
            yields.append(flags);
            yields.push_back(count);
            scf::YieldOp::create(b, yields);
          }
          SmallVector<Value> scoresE, kept;
          for (int64_t u = 0; u < unroll; ++u)
            for (int64_t e = 0; e < 4; ++e)
              scoresE.push_back(vector::ExtractOp::create(b, ifFull.getResult(u), e));
          for (int64_t i = 0; i < keys; ++i)
            kept.push_back(ifFull.getResult(unroll + i));
          Value count = ifFull.getResult(unroll + keys);
          // One list counter update per warp: its total at lane 31, the lanes' slots by a scan.
          Value incl = kb.warpScan(count);
          Value total = kb.fromLane(incl, kb.ci32(31));
          ifThen(b, cmp(b, arith::CmpIPredicate::ne, total, kb.ci32(0)), [&] {
            Value last = cmp(b, arith::CmpIPredicate::eq, lane, kb.c(31));
            auto ifLast = scf::IfOp::create(b, TypeRange{i32}, last, true);
            {
              OpBuilder::InsertionGuard g(b);
              b.setInsertionPointToStart(&ifLast.getThenRegion().front());
              scf::YieldOp::create(b, ValueRange{atomicAdd(kb, misc, kb.c(kListSlot), total)});
              b.setInsertionPointToStart(&ifLast.getElseRegion().front());
              scf::YieldOp::create(b, ValueRange{kb.ci32(0)});
            }
            Value base = kb.fromLane(ifLast.getResult(0), kb.ci32(31));
            Value slot0 = arith::SubIOp::create(b, arith::AddIOp::create(b, base, incl), count);
            ifThen(b, cmp(b, arith::CmpIPredicate::ne, count, kb.ci32(0)), [&] {
              Value slot = slot0;
              for (size_t i = 0; i < scoresE.size(); ++i) {
                Value f = kept[i], at = slot;
                ifThen(b,
                       arith::AndIOp::create(b, f,
                                             cmp(b, arith::CmpIPredicate::slt, at,
                                                 kb.ci32(static_cast<int32_t>(listCap)))),
                       [&] {
                         Value e2 = kb.mul(kb.toIndex(at), kb.c(2));
                         store(b, key(scoresE[i]), list, e2);
                         store(b,
                               arith::AddIOp::create(b, vecPos[i / 4],
                                                     kb.ci32(static_cast<int32_t>(i % 4))),
                               list, kb.add(e2, kb.c(1)));
                       });
                slot = arith::AddIOp::create(b, slot, asI32(f));
              }
            });
          });
        });
      },
      [&] {
        selectTwoPass(scores, rowBase, len, selK, out, outBase, list, listCap, loadsInFlight);
      });
}

Value RadixSelect::listDecides(Value n, int64_t selK, int64_t listCap) {
  ImplicitLocOpBuilder &b = kb.b();
  return arith::AndIOp::create(
      b, cmp(b, arith::CmpIPredicate::sge, n, kb.ci32(static_cast<int32_t>(selK))),
      cmp(b, arith::CmpIPredicate::sle, n, kb.ci32(static_cast<int32_t>(listCap))));
}

void RadixSelect::sampledSelect(Value len, int64_t selK, Value out, Value outBase, Value list,
                                int64_t listCap, int64_t minLen,
                                llvm::function_ref<SmallVector<Value>()> moreConditions,
                                llvm::function_ref<void(Value)> fillSample,
                                llvm::function_ref<void(Value)> listAbove,
                                llvm::function_ref<void()> fallback, Value sample,
                                llvm::function_ref<Value(Value)> finish) {
  ImplicitLocOpBuilder &b = kb.b();
  // The sample's rank r of the threshold and when sampling is tried (uniform values).
  Value r = kb.add(kb.div(kb.add(kb.c(2 * selK * kSampleKeys), kb.sub(len, kb.c(1))), len),
                   kb.c(16));
  SmallVector<Value> conds{cmp(b, arith::CmpIPredicate::uge, len, kb.c(minLen))};
  conds.append(moreConditions());
  conds.push_back(cmp(b, arith::CmpIPredicate::ule, r, kb.c(kSampleKeys / 2)));
  conds.push_back(cmp(b, arith::CmpIPredicate::ule, kb.mul(kb.mul(r, len), kb.c(3)),
                      kb.c(2 * listCap * kSampleKeys)));
  Value ok = conds.front();
  for (Value c : llvm::drop_begin(conds))
    ok = arith::AndIOp::create(b, ok, c);
  auto ifOk = scf::IfOp::create(b, TypeRange{b.getI1Type()}, ok, true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOk.getThenRegion().front());
    clearFirstDigit();
    // The sample: run c at [c * stride, c * stride + kSampleRun), stride = 4 * floor(len / (4 *
    // kSampleRuns)) (16-byte aligned; the last run ends by len as len >= kSampleKeys). Its keys
    // go to list[0, kSampleKeys) and their first digit to the histogram.
    fillSample(kb.mul(kb.div(len, kb.c(4 * kSampleRuns)), kb.c(4)));
    listAbove(sampleThreshold(sample ? sample : list, r));
    gpu::BarrierOp::create(b);
    // The list holds every key >= low: with at least selK of them, the selK largest.
    Value listN = load(b, misc, kb.c(kListSlot));
    Value fits;
    if (finish) {
      fits = finish(listN);
    } else {
      fits = listDecides(listN, selK, listCap);
      ifThen(b, fits, [&] {
        selectOver(
            [&](llvm::function_ref<void(Value, Value)> body) { forEachListed(list, listN, body); },
            selK, out, outBase);
      });
    }
    scf::YieldOp::create(b, ValueRange{fits});
    b.setInsertionPointToStart(&ifOk.getElseRegion().front());
    scf::YieldOp::create(b, ValueRange{arith::ConstantOp::create(b, b.getBoolAttr(false))});
  }
  // The fallback when the sampled select was not tried or did not fit.
  Value fallbackNeeded = arith::XOrIOp::create(b, ifOk.getResult(0),
                                               arith::ConstantOp::create(b, b.getBoolAttr(true)));
  ifThen(b, fallbackNeeded, [&] {
    // Every thread has read the list's count before the fallback zeroes it.
    gpu::BarrierOp::create(b);
    fallback();
  });
}

void RadixSelect::selectCompacted(Value scores, Value rowBase, Value len, int64_t selK,
                                  Value out, Value outBase, Value list, int64_t listCap,
                                  const Spill &spillRow, int64_t loadsInFlight,
                                  int64_t fallbackLoadsInFlight) {
  spill = spillRow;
  selectCompactedBy(
      [&](llvm::function_ref<void(Value, Value)> body) {
        forEachKey(scores, rowBase, len, body, loadsInFlight);
      },
      [&](llvm::function_ref<void(Value, Value)> body) {
        forEachKey(scores, rowBase, len, body, fallbackLoadsInFlight);
      },
      selK, out, outBase, list, listCap);
}

void RadixSelect::selectCompactedBy(RowWalk walk, RowWalk walkAgain, int64_t selK, Value out,
                                    Value outBase, Value list, int64_t listCap) {
  ImplicitLocOpBuilder &b = kb.b();
  Type i32 = b.getI32Type();
  auto toI32 = [&](Value idx) { return arith::IndexCastOp::create(b, i32, idx).getResult(); };
  Value tid = kb.threadId();
  const Digit &d1g = kDigits[0], &d2g = kDigits[1], &d3g = kDigits[2];
  const int64_t bins2 = int64_t(1) << d2g.bits, bins3 = int64_t(1) << d3g.bits;
  auto zeroHist = [&](int64_t bins) {
    forRange(b, tid, kb.c(bins), kb.c(threads), [&](Value i) { store(b, kb.ci32(0), hist, i); });
  };
  // Digit 1 (counted while scoring).
  auto [d1, gr1] = chooseDigit(int64_t(1) << d1g.bits, kb.ci32(selK));
  Value kRem = arith::SubIOp::create(b, kb.ci32(selK), gr1);
  Value above = gr1;
  // One pass over the row: keys whose top digit is above d1 are selected outright; the keys of
  // bucket d1 are counted by digit 2 and appended to the candidate list while it has room.
  zeroHist(bins2);
  gpu::BarrierOp::create(b);
  auto splitBucket = [&](Value i, Value key) {
    Value i32v = toI32(i);
    Value top = arith::ShRUIOp::create(b, key, kb.ci32(d1g.shift));
    auto ifAbove = scf::IfOp::create(b, cmp(b, arith::CmpIPredicate::ugt, top, d1), true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifAbove.getThenRegion().front());
    Value p = atomicAdd(kb, misc, kb.c(kGreaterSlot));
    store(b, i32v, out, kb.add(outBase, kb.toIndex(p)));
    b.setInsertionPointToStart(&ifAbove.getElseRegion().front());
    ifThen(b, cmp(b, arith::CmpIPredicate::eq, top, d1), [&] {
      atomicAdd(kb, hist, kb.toIndex(digitOf(kb, key, d2g)));
      Value slot = atomicAdd(kb, misc, kb.c(kListSlot));
      ifThen(b, cmp(b, arith::CmpIPredicate::slt, slot, kb.ci32(static_cast<int32_t>(listCap))),
             [&] {
               Value e = kb.mul(kb.toIndex(slot), kb.c(2));
               store(b, key, list, e);
               store(b, i32v, list, kb.add(e, kb.c(1)));
             });
    });
  };
  walk(splitBucket);
  // Digit 2 (its barrier also publishes the list and its counter).
  auto [d2, gr2] = chooseDigit(bins2, kRem);
  kRem = arith::SubIOp::create(b, kRem, gr2);
  above = arith::AddIOp::create(b, above, gr2);
  Value prefix = arith::OrIOp::create(b, arith::ShLIOp::create(b, d1, kb.ci32(d1g.shift)),
                                      arith::ShLIOp::create(b, d2, kb.ci32(d2g.shift)));
  Value mask12 = kb.ci32(static_cast<int32_t>(~((int64_t(1) << d2g.shift) - 1)));
  Value listN = load(b, misc, kb.c(kListSlot));
  Value fits = cmp(b, arith::CmpIPredicate::sle, listN, kb.ci32(static_cast<int32_t>(listCap)));
  // Digit 3 and the final pass: over the candidate list when the bucket fit, else over the row
  // (the uniform fallback; keys above bucket d1 are already written).
  zeroHist(bins3);
  gpu::BarrierOp::create(b);
  auto matches12 = [&](Value key) {
    return cmp(b, arith::CmpIPredicate::eq, arith::AndIOp::create(b, key, mask12), prefix);
  };
  auto overCandidates = [&](llvm::function_ref<void(Value, Value)> body) {
    auto ifFits = scf::IfOp::create(b, fits, true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifFits.getThenRegion().front());
    forEachListed(list, listN, body);
    b.setInsertionPointToStart(&ifFits.getElseRegion().front());
    walkAgain([&](Value i, Value key) {
      Value top = arith::ShRUIOp::create(b, key, kb.ci32(d1g.shift));
      ifThen(b, cmp(b, arith::CmpIPredicate::eq, top, d1), [&] { body(toI32(i), key); });
    });
  };
  overCandidates([&](Value, Value key) {
    ifThen(b, matches12(key), [&] { atomicAdd(kb, hist, kb.toIndex(digitOf(kb, key, d3g))); });
  });
  auto [d3, gr3] = chooseDigit(bins3, kRem);
  Value T = arith::OrIOp::create(b, prefix, d3);
  Value need = arith::SubIOp::create(b, kRem, gr3);
  Value aboveIdx = kb.toIndex(arith::AddIOp::create(b, above, gr3));
  overCandidates([&](Value i32v, Value key) {
    writeSelected(i32v, key, T, need, aboveIdx, out, outBase);
  });
}

void RadixSelect::listAtOrAbove(RowWalk listWalk, Value low, Value list, int64_t listCap) {
  ImplicitLocOpBuilder &b = kb.b();
  // One walk over the row: every key >= low and its position to the list while it has room
  // (the counter counts them all; one shared atomic per kept key, about 2 selK + 16 len /
  // kSampleKeys of them).
  listWalk([&](Value i, Value key) {
    ifThen(b, cmp(b, arith::CmpIPredicate::uge, key, low), [&] {
      Value slot = atomicAdd(kb, misc, kb.c(kListSlot));
      ifThen(b, cmp(b, arith::CmpIPredicate::slt, slot, kb.ci32(static_cast<int32_t>(listCap))),
             [&] {
               Value e2 = kb.mul(kb.toIndex(slot), kb.c(2));
               store(b, key, list, e2);
               store(b, arith::IndexCastOp::create(b, b.getI32Type(), i).getResult(), list,
                     kb.add(e2, kb.c(1)));
             });
    });
  });
}

void RadixSelect::forSampleKeys(Value stride, Value first, int64_t count, int64_t batch,
                                KeysAt keysAt, llvm::function_ref<void(Value, Value)> body) {
  ImplicitLocOpBuilder &b = kb.b();
  // Key s of the sample (thread t takes s = first + t + m * threads) is that of position (s /
  // kSampleRun) * stride + s % kSampleRun; `batch` keys of a thread computed at once.
  forRange(b, kb.threadId(), kb.c(count), kb.c(threads * batch), [&](Value s0) {
    SmallVector<Value> at, pos;
    for (int64_t j = 0; j < batch; ++j) {
      Value sIdx = kb.add(s0, kb.c(j * threads));
      if (first)
        sIdx = kb.add(first, sIdx);
      at.push_back(sIdx);
      pos.push_back(kb.add(kb.mul(kb.div(sIdx, kb.c(kSampleRun)), stride),
                           kb.rem(sIdx, kb.c(kSampleRun))));
    }
    SmallVector<Value> keys = keysAt(pos);
    for (int64_t j = 0; j < batch; ++j)
      body(at[j], keys[j]);
  });
}

void RadixSelect::selectSampledBy(Value len, int64_t selK, Value out, Value outBase, Value list,
                                  int64_t listCap, int64_t minLen, int64_t batch,
                                  KeysAt keysAt, RowWalk listWalk, RowWalk walk) {
  ImplicitLocOpBuilder &b = kb.b();
  assert(2 * listCap >= kSampleKeys && minLen >= kSampleKeys && kSampleKeys % threads == 0 &&
         (kSampleKeys / threads) % batch == 0 && "sample does not fit");
  sampledSelect(
      len, selK, out, outBase, list, listCap, minLen, [] { return SmallVector<Value>(); },
      [&](Value stride) {
        forSampleKeys(stride, Value(), kSampleKeys, batch, keysAt, [&](Value s, Value key) {
          countFirstDigit(key);
          store(b, key, list, s);
        });
      },
      [&](Value low) { listAtOrAbove(listWalk, low, list, listCap); },
      // The two-pass select over walks of the row (walking again only where the first digit's
      // bucket overflows the list).
      [&] { selectTwoPassBy(walk, walk, selK, out, outBase, list, listCap); });
}

namespace {
/// Element `i` (an index) of the i32 array at a shared::cluster pointer.
Value clusterElement(ImplicitLocOpBuilder &b, Value ptr, Value i) {
  return LLVM::GEPOp::create(b, ptr.getType(), b.getI32Type(), ptr,
                             ValueRange{arith::IndexCastOp::create(b, b.getI64Type(), i)});
}
/// Both halves of a cluster barrier by every thread: the release of this CTA's shared-memory
/// writes and atomics, the acquire of the other CTAs'.
void clusterBarrier(ImplicitLocOpBuilder &b) {
  NVVM::ClusterArriveOp::create(b, b.getUnitAttr());
  NVVM::ClusterWaitOp::create(b, b.getUnitAttr());
}
/// The bin holding the kRem-th largest key and the keys in the bins above it, over bins that the
/// lanes of one warp hold in order (lane l the `counts.size()` bins from l * counts.size()); the
/// counts total at least kRem. The same in every lane.
std::pair<Value, Value> warpChooseBin(KernelBuilder &kb, ArrayRef<Value> counts, Value kRem) {
  ImplicitLocOpBuilder &b = kb.b();
  const int64_t per = static_cast<int64_t>(counts.size());
  Value lane = arith::IndexCastOp::create(b, b.getI32Type(), kb.lane());
  Value run = kb.ci32(0);
  for (Value c : counts)
    run = arith::AddIOp::create(b, run, c);
  Value incl = kb.warpScan(run);
  Value total = kb.fromLane(incl, kb.ci32(31));
  Value g = arith::SubIOp::create(b, total, incl); // keys in the bins of the lanes above
  Value bin = kb.ci32(0), above = kb.ci32(0);
  for (int64_t j = per - 1; j >= 0; --j) {
    Value upTo = arith::AddIOp::create(b, g, counts[j]);
    Value hit = arith::AndIOp::create(b, cmp(b, arith::CmpIPredicate::slt, g, kRem),
                                      cmp(b, arith::CmpIPredicate::sge, upTo, kRem));
    Value here = arith::AddIOp::create(
        b, arith::MulIOp::create(b, lane, kb.ci32(static_cast<int32_t>(per))),
        kb.ci32(static_cast<int32_t>(j)));
    bin = arith::SelectOp::create(b, hit, here, bin);
    above = arith::SelectOp::create(b, hit, g, above);
    g = upTo;
  }
  // Exactly one (lane, bin) holds the kRem-th key: the sums broadcast its values.
  return {kb.warpSum(bin), kb.warpSum(above)};
}
} // namespace

void RadixSelect::selectCluster(Value scores, Value rowBase, Value lo, Value n, int64_t selK,
                                Value out, Value outBase, Value keys, int64_t ctas,
                                int64_t loadsInFlight) {
  // Pass 1: the slice's scores, loaded once, kept as keys; digit 1 counted.
  selectClusterFilled(lo, n, selK, out, outBase, keys, ctas, [&] {
    forEachKey(
        scores, kb.add(rowBase, lo), n,
        [&](Value i, Value key) {
          store(kb.b(), key, keys, i);
          countFirstDigit(key);
        },
        loadsInFlight);
  });
}

void RadixSelect::selectClusterFilled(Value lo, Value n, int64_t selK, Value out, Value outBase,
                                      Value keys, int64_t ctas, llvm::function_ref<void()> fill) {
  ImplicitLocOpBuilder &b = kb.b();
  Type i32 = b.getI32Type();
  auto toI32 = [&](Value idx) { return arith::IndexCastOp::create(b, i32, idx).getResult(); };
  Value tid = kb.threadId();
  const Digit &d1g = kDigits[0], &d2g = kDigits[1], &d3g = kDigits[2];
  const int64_t bins1 = int64_t(1) << d1g.bits, bins2 = int64_t(1) << d2g.bits,
                bins3 = int64_t(1) << d3g.bits;
  // This CTA's counts of each digit (digit 1 in `hist`), read by the whole cluster, and their
  // coarse sums (groups of 64 bins for digit 1, of 32 for digits 2 and 3).
  const int64_t group1 = 64, group23 = 32;
  Value count1 = hist, count2 = kb.addShared(i32, bins2), count3 = kb.addShared(i32, bins3);
  Value coarse1 = kb.addShared(i32, bins1 / group1), coarse2 = kb.addShared(i32, bins2 / group23),
        coarse3 = kb.addShared(i32, bins3 / group23);
  // The write pass's local counts (keys above T, ties), then its bases in the cluster's ranges.
  Value local = kb.addShared(i32, 4);
  zeroCounters();
  ifThen(b, cmp(b, arith::CmpIPredicate::ult, tid, kb.c(2)),
         [&] { store(b, kb.ci32(0), local, tid); });
  forRange(b, tid, kb.c(bins1), kb.c(threads), [&](Value i) {
    store(b, kb.ci32(0), count1, i);
    ifThen(b, cmp(b, arith::CmpIPredicate::ult, i, kb.c(bins2)), [&] {
      store(b, kb.ci32(0), count2, i);
      store(b, kb.ci32(0), count3, i);
    });
  });
  gpu::BarrierOp::create(b);
  fill();
  // A digit of the cluster's keys: each CTA sums its counts by groups; after a cluster barrier
  // the first warp of every CTA sums the cluster's group sums through distributed shared
  // memory, picks the group, sums that group's bins over the cluster and picks the bin (the
  // same digit in every CTA, without a broadcast), for C * (groups + group size) remote loads.
  auto clusterDigit = [&](Value counts, Value coarse, int64_t bins, int64_t group, Value kRem) {
    const int64_t groups = bins / group;
    gpu::BarrierOp::create(b);
    ifThen(b, cmp(b, arith::CmpIPredicate::ult, tid, kb.c(groups)), [&] {
      Value sum = kb.ci32(0);
      for (int64_t j = 0; j < group; ++j)
        sum = arith::AddIOp::create(
            b, sum, load(b, counts, kb.add(kb.mul(tid, kb.c(group)), kb.c(j))));
      store(b, sum, coarse, tid);
    });
    clusterBarrier(b);
    ifThen(b, cmp(b, arith::CmpIPredicate::eq, kb.warpId(), kb.c(0)), [&] {
      Value lane = kb.lane();
      auto clusterSums = [&](Value local, Value first, int64_t per) {
        SmallVector<Value> sums(per, kb.ci32(0));
        for (int64_t r = 0; r < ctas; ++r) {
          Value remote = kb.clusterPointer(local, kb.ci32(static_cast<int32_t>(r)));
          for (int64_t j = 0; j < per; ++j) {
            Value i = kb.add(first, kb.add(kb.mul(lane, kb.c(per)), kb.c(j)));
            sums[j] = arith::AddIOp::create(
                b, sums[j], LLVM::LoadOp::create(b, i32, clusterElement(b, remote, i)));
          }
        }
        return sums;
      };
      auto [g, aboveG] = warpChooseBin(kb, clusterSums(kb.sharedPointer(coarse), kb.c(0), groups / 32), kRem);
      Value first = kb.mul(kb.toIndex(g), kb.c(group));
      auto [f, aboveF] = warpChooseBin(kb, clusterSums(kb.sharedPointer(counts), first, group / 32),
                                       arith::SubIOp::create(b, kRem, aboveG));
      ifThen(b, cmp(b, arith::CmpIPredicate::eq, lane, kb.c(0)), [&] {
        store(b, arith::AddIOp::create(b, toI32(first), f), misc, kb.c(kDigitSlot));
        store(b, arith::AddIOp::create(b, aboveG, aboveF), misc, kb.c(kAboveSlot));
      });
    });
    gpu::BarrierOp::create(b);
    return std::make_pair(load(b, misc, kb.c(kDigitSlot)), load(b, misc, kb.c(kAboveSlot)));
  };
  auto forEachKept = [&](llvm::function_ref<void(Value, Value)> body) {
    forRange(b, tid, n, kb.c(threads), [&](Value i) { body(i, load(b, keys, i)); });
  };
  // Counts digit `dg` of the keys whose bits above it equal `prefix` (those bits as a number).
  auto countDigit = [&](Value counts, const Digit &dg, Value prefix) {
    forEachKept([&](Value, Value key) {
      Value top = arith::ShRUIOp::create(b, key, kb.ci32(dg.shift + dg.bits));
      ifThen(b, cmp(b, arith::CmpIPredicate::eq, top, prefix),
             [&] { atomicAdd(kb, counts, kb.toIndex(digitOf(kb, key, dg))); });
    });
  };
  auto [d1, gr1] = clusterDigit(count1, coarse1, bins1, group1, kb.ci32(selK));
  Value kRem = arith::SubIOp::create(b, kb.ci32(selK), gr1);
  countDigit(count2, d2g, d1);
  auto [d2, gr2] = clusterDigit(count2, coarse2, bins2, group23, kRem);
  kRem = arith::SubIOp::create(b, kRem, gr2);
  // The top 22 bits of the threshold.
  Value top22 = arith::OrIOp::create(b, arith::ShLIOp::create(b, d1, kb.ci32(d2g.bits)), d2);
  countDigit(count3, d3g, top22);
  auto [d3, gr3] = clusterDigit(count3, coarse3, bins3, group23, kRem);
  Value T = arith::OrIOp::create(b, arith::ShLIOp::create(b, top22, kb.ci32(d3g.bits)), d3);
  Value need = arith::SubIOp::create(b, kRem, gr3);
  Value aboveIdx =
      kb.toIndex(arith::AddIOp::create(b, arith::AddIOp::create(b, gr1, gr2), gr3));
  // Write pass. The CTA counts its keys above T and its ties, reserves a range of each in the
  // first CTA's counters with one atomic apiece (atom.shared::cluster), then hands out slots in
  // its ranges from local counters; ties past `need` (over the cluster) are dropped.
  Value counters = kb.clusterPointer(kb.sharedPointer(misc), kb.ci32(0));
  Value greater = clusterElement(b, counters, kb.c(kGreaterSlot));
  Value ties = clusterElement(b, counters, kb.c(kTieSlot));
  auto remoteAdd = [&](Value ptr, Value v) {
    return LLVM::AtomicRMWOp::create(b, LLVM::AtomicBinOp::add, ptr, v,
                                     LLVM::AtomicOrdering::monotonic)
        .getResult();
  };
  Value aboveCount, tieCount;
  {
    auto loop = scf::ForOp::create(b, tid, n, kb.c(threads), ValueRange{kb.ci32(0), kb.ci32(0)});
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value key = load(b, keys, loop.getInductionVar());
    auto one = [&](arith::CmpIPredicate p) {
      return arith::ExtUIOp::create(b, i32, cmp(b, p, key, T)).getResult();
    };
    scf::YieldOp::create(
        b, ValueRange{arith::AddIOp::create(b, loop.getRegionIterArgs()[0],
                                            one(arith::CmpIPredicate::ugt)),
                      arith::AddIOp::create(b, loop.getRegionIterArgs()[1],
                                            one(arith::CmpIPredicate::eq))});
    b.setInsertionPointAfter(loop);
    aboveCount = kb.warpSum(loop.getResult(0));
    tieCount = kb.warpSum(loop.getResult(1));
  }
  ifThen(b, cmp(b, arith::CmpIPredicate::eq, kb.lane(), kb.c(0)), [&] {
    memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addi, aboveCount, local,
                                ValueRange{kb.c(0)});
    memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addi, tieCount, local,
                                ValueRange{kb.c(1)});
  });
  gpu::BarrierOp::create(b);
  ifThen(b, cmp(b, arith::CmpIPredicate::eq, tid, kb.c(0)), [&] {
    store(b, remoteAdd(greater, load(b, local, kb.c(0))), local, kb.c(2));
    store(b, remoteAdd(ties, load(b, local, kb.c(1))), local, kb.c(3));
    store(b, kb.ci32(0), local, kb.c(0));
    store(b, kb.ci32(0), local, kb.c(1));
  });
  gpu::BarrierOp::create(b);
  Value aboveBase = load(b, local, kb.c(2)), tieBase = load(b, local, kb.c(3));
  Value tiesLeft = cmp(b, arith::CmpIPredicate::slt, tieBase, need);
  forEachKept([&](Value i, Value key) {
    Value pos = toI32(kb.add(lo, i));
    auto ifAbove = scf::IfOp::create(b, cmp(b, arith::CmpIPredicate::ugt, key, T), true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifAbove.getThenRegion().front());
    Value slot = arith::AddIOp::create(b, aboveBase, atomicAdd(kb, local, kb.c(0)));
    store(b, pos, out, kb.add(outBase, kb.toIndex(slot)));
    b.setInsertionPointToStart(&ifAbove.getElseRegion().front());
    Value tie = arith::AndIOp::create(b, cmp(b, arith::CmpIPredicate::eq, key, T), tiesLeft);
    ifThen(b, tie, [&] {
      Value q = arith::AddIOp::create(b, tieBase, atomicAdd(kb, local, kb.c(1)));
      ifThen(b, cmp(b, arith::CmpIPredicate::slt, q, need), [&] {
        store(b, pos, out, kb.add(outBase, kb.add(aboveIdx, kb.toIndex(q))));
      });
    });
  });
  // The first CTA's counters stay in use until every CTA has written its share.
  clusterBarrier(b);
}

void RadixSelect::selectClusterSampledBy(Value lo, Value n, Value len, Value rank, int64_t selK,
                                         Value out, Value outBase, Value keys, Value list,
                                         Value sample, int64_t listCap, int64_t ctas,
                                         int64_t minLen, int64_t batch, KeysAt keysAt,
                                         RowWalk listWalk, llvm::function_ref<void()> fill) {
  ImplicitLocOpBuilder &b = kb.b();
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  const int64_t share = kSampleKeys / ctas;
  const int64_t shareBatch = std::max<int64_t>(1, std::min(batch, share / threads));
  assert(minLen >= kSampleKeys && kSampleKeys % threads == 0 &&
         (share % (threads * shareBatch) == 0 || (share < threads && shareBatch == 1)) &&
         "sample does not fit");
  Value tid = kb.threadId();
  Value rankI32 = arith::IndexCastOp::create(b, i32, rank);
  Value first = cmp(b, arith::CmpIPredicate::eq, rank, kb.c(0));
  auto remoteI32 = [&](Value local, Value at, Value r) {
    return LLVM::LoadOp::create(b, i32,
                                clusterElement(b, kb.clusterPointer(local, r), at)).getResult();
  };
  sampledSelect(
      len, selK, out, outBase, list, listCap, minLen, [] { return SmallVector<Value>(); },
      [&](Value stride) {
        // This CTA's share of the sample, then (after a cluster barrier) the others' shares read
        // from their shared memory; every key's first digit counted.
        Value shareFirst = kb.mul(rank, kb.c(share));
        forSampleKeys(stride, shareFirst, share, shareBatch, keysAt,
                      [&](Value s, Value key) { store(b, key, sample, s); });
        clusterBarrier(b);
        Value samplePtr = kb.sharedPointer(sample);
        SmallVector<Value> at, owner, key;
        for (int64_t m = 0; m < kSampleKeys / threads; ++m) {
          at.push_back(kb.add(tid, kb.c(m * threads)));
          owner.push_back(
              arith::IndexCastOp::create(b, i32, kb.div(at.back(), kb.c(share))).getResult());
          key.push_back(remoteI32(samplePtr, at.back(), owner.back()));
        }
        for (int64_t m = 0; m < kSampleKeys / threads; ++m) {
          ifThen(b, cmp(b, arith::CmpIPredicate::ne, owner[m], rankI32),
                 [&] { store(b, key[m], sample, at[m]); });
          countFirstDigit(key[m]);
        }
      },
      [&](Value low) { listAtOrAbove(listWalk, low, list, listCap); },
      [&] { selectClusterFilled(lo, n, selK, out, outBase, keys, ctas, fill); }, sample,
      [&](Value) -> Value {
        // Every CTA's list count, read by every thread after a cluster barrier: the same
        // decision in the whole cluster.
        clusterBarrier(b);
        Value miscPtr = kb.sharedPointer(misc);
        SmallVector<Value> counts;
        Value total = kb.ci32(0);
        for (int64_t q = 0; q < ctas; ++q) {
          counts.push_back(remoteI32(miscPtr, kb.c(kListSlot), kb.ci32(static_cast<int32_t>(q))));
          total = arith::AddIOp::create(b, total, counts.back());
        }
        Value fits = listDecides(total, selK, listCap);
        auto ifFits = scf::IfOp::create(b, fits, true);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(&ifFits.getThenRegion().front());
        // The first CTA appends the others' lists to its own (8-byte entries), then, once they
        // are read (a cluster barrier), selects on them; the other CTAs are done.
        ifThen(b, first, [&] {
          Value listPtr = kb.sharedPointer(list);
          Value at = counts[0];
          for (int64_t q = 1; q < ctas; ++q) {
            Value remote = kb.clusterPointer(listPtr, kb.ci32(static_cast<int32_t>(q)));
            Value base = kb.toIndex(at);
            forRange(b, tid, kb.toIndex(counts[q]), kb.c(threads), [&](Value e) {
              Value eI64 = arith::IndexCastOp::create(b, i64, e);
              Value from = LLVM::GEPOp::create(b, remote.getType(), i64, remote, ValueRange{eI64});
              Value entry = LLVM::LoadOp::create(b, i64, from, /*alignment=*/8);
              Value toI = arith::IndexCastOp::create(b, i64, kb.add(base, e));
              Value to = LLVM::GEPOp::create(b, listPtr.getType(), i64, listPtr, ValueRange{toI});
              LLVM::StoreOp::create(b, entry, to, /*alignment=*/8);
            });
            at = arith::AddIOp::create(b, at, counts[q]);
          }
        });
        clusterBarrier(b);
        ifThen(b, first, [&] {
          selectOver(
              [&](llvm::function_ref<void(Value, Value)> body) {
                forEachListed(list, total, body);
              },
              selK, out, outBase);
        });
        // Every CTA has read the counts before the fallback zeroes them.
        b.setInsertionPointToStart(&ifFits.getElseRegion().front());
        clusterBarrier(b);
        return fits;
      });
}

void mlir::ds::emitTopKRow(KernelBuilder &kb, int64_t threads, Value out, Value outBase,
                           Value nb, int64_t k, bool keepLast,
                           llvm::function_ref<void(Value, int64_t)> selectLong, Value writer) {
  ImplicitLocOpBuilder &b = kb.b();
  Type i32 = b.getI32Type();
  auto toI32 = [&](Value idx) { return arith::IndexCastOp::create(b, i32, idx).getResult(); };
  Value tid = kb.threadId();
  auto ifShort = scf::IfOp::create(b, cmp(b, arith::CmpIPredicate::ule, nb, kb.c(k)), true);
  OpBuilder::InsertionGuard guard(b);
  // Short row: 0..n_b-1, then -1.
  b.setInsertionPointToStart(&ifShort.getThenRegion().front());
  auto writeShort = [&] {
    forRange(b, tid, kb.c(k), kb.c(threads), [&](Value p) {
      Value v = arith::SelectOp::create(b, cmp(b, arith::CmpIPredicate::ult, p, nb), toI32(p),
                                        kb.ci32(-1));
      store(b, v, out, kb.add(outBase, p));
    });
  };
  if (writer)
    ifThen(b, writer, writeShort);
  else
    writeShort();
  // Long row (n_b > k): sel_k among the first sel_len positions.
  b.setInsertionPointToStart(&ifShort.getElseRegion().front());
  const int64_t selK = keepLast ? k - 1 : k;
  if (selK > 0)
    selectLong(keepLast ? kb.sub(nb, kb.c(1)) : nb, selK);
  if (keepLast) {
    Value first = cmp(b, arith::CmpIPredicate::eq, tid, kb.c(0));
    if (writer)
      first = arith::AndIOp::create(b, first, writer);
    ifThen(b, first,
           [&] { store(b, toI32(kb.sub(nb, kb.c(1))), out, kb.add(outBase, kb.c(k - 1))); });
  }
}
