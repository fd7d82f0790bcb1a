// topk: indices of the k largest scores of every ragged row, by radix select (no sort).
//
// One CTA of `warps * 32` threads (a power of two <= 1024) per row (b, h). Scores map to
// order-preserving u32 keys (`key = sign ? ~bits : bits | 0x80000000`). A row with n_b <= k
// lists 0..n_b-1 and pads with -1. Otherwise (selecting sel_k = k - keep_last among the first
// n_b - keep_last positions) three digit passes (bits 31..20, 19..10, 9..0) each zero a
// shared histogram, count the keys that match the prefix chosen so far (shared atomics), and
// find with a block-wide suffix scan the digit that holds the sel_k-th largest key and how many
// keys lie above it. The last digit fixes the threshold key T, `above` = #keys > T and
// `need` = sel_k - above ties. A final pass writes every index with key > T at positions
// [0, above) and the first `need` (in atomic order) with key == T at [above, sel_k) through two
// shared counters; with keep_last, index n_b - 1 goes to position k - 1. Each pass reads the
// row coalesced (thread i reads i, i + blockDim, ...), 4 loads in flight per thread.
#include "codegen/Lowering.h"
#include "dialect/DSOps.h"
#include "passes/KernelConfig.h"

using namespace mlir;
using namespace mlir::ds;

namespace {
constexpr int64_t kUnroll = 4;
constexpr int64_t kMaxBins = 4096;
struct Digit {
  int64_t shift, bits;
};
constexpr Digit kDigits[] = {{20, 12}, {10, 10}, {0, 10}};

} // namespace

LogicalResult mlir::ds::lowerTopK(Operation *op, PlanContext &ctx) {
  auto topk = cast<TopKOp>(op);
  FailureOr<KernelConfigAttr> cfg = requireKernelConfig(op);
  if (failed(cfg))
    return failure();
  Value scores = topk.getScores(), lens = topk.getLens();
  const int64_t k = static_cast<int64_t>(topk.getK());
  const int64_t divisor = static_cast<int64_t>(topk.getDivisor());
  const bool keepLast = topk.getKeepLast();
  if (k > (int64_t(1) << 30))
    return op->emitOpError("GPU lowering supports k < 2^30");
  int64_t warps = 1;
  while (warps * 2 <= std::clamp<int64_t>(cfg->getWarps(), 1, 32))
    warps *= 2;
  const int64_t threads = warps * 32;
  const int64_t selK = keepLast ? k - 1 : k;

  std::string batch = dimExpr(ctx, scores, 0), heads = dimExpr(ctx, scores, 1);
  std::string n = dimExpr(ctx, scores, 2);
  const BufferRef &out = ctx.place(topk.getIndices(), {batch, heads, std::to_string(k)});

  KernelBuilder kb(ctx.kernels, ctx.kernelName("topk"), op->getLoc());
  kb.addBuffer(ctx.buffer(scores));
  kb.addBuffer(ctx.buffer(lens));
  kb.addBuffer(out);
  kb.addI64(heads);
  kb.addI64(n);
  kb.begin(threads, "(" + batch + ")*(" + heads + ")");
  ImplicitLocOpBuilder &b = kb.b();
  Value sA = kb.arg(0), lA = kb.arg(1), oA = kb.arg(2);
  Value hV = kb.toIndex(kb.arg(3)), nV = kb.toIndex(kb.arg(4));
  Type i32 = b.getI32Type();
  auto cmp = [&](arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, p, x, y).getResult();
  };
  auto toI32 = [&](Value idx) { return arith::IndexCastOp::create(b, i32, idx).getResult(); };
  auto ifThen = [&](Value cond, llvm::function_ref<void()> body) {
    auto ifOp = scf::IfOp::create(b, cond, false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    body();
  };
  auto forRange = [&](Value lo, Value hi, Value step, llvm::function_ref<void(Value)> body) {
    auto loop = scf::ForOp::create(b, lo, hi, step);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    body(loop.getInductionVar());
  };

  Value hist = kb.addShared(i32, kMaxBins);
  Value warpSums = kb.addShared(i32, warps);
  // misc[0]: chosen digit, misc[1]: keys above it, misc[2]: > T counter, misc[3]: == T counter.
  Value misc = kb.addShared(i32, 4);

  Value row = kb.blockId(gpu::Dimension::x), tid = kb.threadId();
  Value bIdx = kb.div(row, hV);
  // n_b = clamp(cdiv(lens[b], divisor), 0, N), in 64-bit arithmetic.
  Value len = kb.toIndex(arith::MaxSIOp::create(b, memref::LoadOp::create(b, lA, ValueRange{bIdx}),
                                                kb.ci32(0)));
  Value nb = kb.minIdx(kb.div(kb.add(len, kb.c(divisor - 1)), kb.c(divisor)), nV);
  Value outBase = kb.mul(row, kb.c(k)), rowBase = kb.mul(row, nV);

  auto ifShort = scf::IfOp::create(b, cmp(arith::CmpIPredicate::ule, nb, kb.c(k)), true);
  // Short row: 0..n_b-1, then -1.
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifShort.getThenRegion().front());
    forRange(tid, kb.c(k), kb.c(threads), [&](Value p) {
      Value v = arith::SelectOp::create(b, cmp(arith::CmpIPredicate::ult, p, nb), toI32(p),
                                        kb.ci32(-1));
      memref::StoreOp::create(b, v, oA, ValueRange{kb.add(outBase, p)});
    });
  }
  b.setInsertionPointToStart(&ifShort.getElseRegion().front());
  // Long row (n_b > k): radix select of sel_k among the first sel_len positions.
  Value selLen = keepLast ? kb.sub(nb, kb.c(1)) : nb;
  auto keyOf = [&](Value x) -> Value {
    Value bits = arith::BitcastOp::create(b, i32, x);
    Value neg = cmp(arith::CmpIPredicate::slt, bits, kb.ci32(0));
    Value flipped = arith::XOrIOp::create(b, bits, kb.ci32(-1));
    Value marked = arith::OrIOp::create(b, bits, kb.ci32(INT32_MIN));
    return arith::SelectOp::create(b, neg, flipped, marked);
  };
  // body(i, key) for every position i < sel_len; kUnroll loads issued before the bodies.
  auto forEachKey = [&](llvm::function_ref<void(Value, Value)> body) {
    forRange(tid, selLen, kb.c(threads * kUnroll), [&](Value i0) {
      SmallVector<Value> idx, ok, key;
      for (int64_t u = 0; u < kUnroll; ++u) {
        Value i = kb.add(i0, kb.c(u * threads));
        Value in = cmp(arith::CmpIPredicate::ult, i, selLen);
        auto ifLoad = scf::IfOp::create(b, TypeRange{b.getF32Type()}, in, true);
        {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(&ifLoad.getThenRegion().front());
          scf::YieldOp::create(b, ValueRange{memref::LoadOp::create(b, sA, ValueRange{kb.add(rowBase, i)}).getResult()});
          b.setInsertionPointToStart(&ifLoad.getElseRegion().front());
          scf::YieldOp::create(b, ValueRange{kb.cf32(0.0f)});
        }
        idx.push_back(i);
        ok.push_back(in);
        key.push_back(ifLoad.getResult(0));
      }
      for (int64_t u = 0; u < kUnroll; ++u)
        ifThen(ok[u], [&] { body(idx[u], keyOf(key[u])); });
    });
  };

  if (selK > 0) {
    Value tid0 = cmp(arith::CmpIPredicate::eq, tid, kb.c(0));
    ifThen(tid0, [&] {
      memref::StoreOp::create(b, kb.ci32(0), misc, ValueRange{kb.c(2)});
      memref::StoreOp::create(b, kb.ci32(0), misc, ValueRange{kb.c(3)});
    }); // ordered before the final pass by the barriers of the digit passes
    Value prefix = kb.ci32(0), mask = kb.ci32(0), kRem = kb.ci32(selK), above = kb.ci32(0);
    Value lane = kb.lane(), warp = kb.warpId();
    for (const Digit &dg : kDigits) {
      const int64_t bins = int64_t(1) << dg.bits, per = bins / threads;
      forRange(tid, kb.c(bins), kb.c(threads), [&](Value i) {
        memref::StoreOp::create(b, kb.ci32(0), hist, ValueRange{i});
      });
      gpu::BarrierOp::create(b);
      Value pfx = prefix, msk = mask;
      forEachKey([&](Value, Value key) {
        Value match = cmp(arith::CmpIPredicate::eq, arith::AndIOp::create(b, key, msk), pfx);
        ifThen(match, [&] {
          Value d = arith::AndIOp::create(
              b, arith::ShRUIOp::create(b, key, kb.ci32(dg.shift)), kb.ci32(bins - 1));
          memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addi, kb.ci32(1), hist,
                                      ValueRange{kb.toIndex(d)});
        });
      });
      gpu::BarrierOp::create(b);
      // Block-wide scan: thread t owns bins [t * per, (t + 1) * per).
      SmallVector<Value> counts;
      Value run = kb.ci32(0);
      for (int64_t j = 0; j < per; ++j) {
        counts.push_back(memref::LoadOp::create(b, hist, ValueRange{kb.add(kb.mul(tid, kb.c(per)), kb.c(j))}));
        run = arith::AddIOp::create(b, run, counts.back());
      }
      Value incl = run;
      for (int32_t off = 1; off < 32; off *= 2) {
        Value other = gpu::ShuffleOp::create(b, incl, off, 32, gpu::ShuffleMode::UP).getShuffleResult();
        Value take = cmp(arith::CmpIPredicate::uge, lane, kb.c(off));
        incl = arith::SelectOp::create(b, take, arith::AddIOp::create(b, incl, other), incl);
      }
      ifThen(cmp(arith::CmpIPredicate::eq, lane, kb.c(31)),
             [&] { memref::StoreOp::create(b, incl, warpSums, ValueRange{warp}); });
      gpu::BarrierOp::create(b);
      Value total = kb.ci32(0), before = kb.ci32(0);
      for (int64_t w = 0; w < warps; ++w) {
        Value v = memref::LoadOp::create(b, warpSums, ValueRange{kb.c(w)});
        total = arith::AddIOp::create(b, total, v);
        Value earlier = cmp(arith::CmpIPredicate::ugt, warp, kb.c(w));
        before = arith::AddIOp::create(b, before, arith::SelectOp::create(b, earlier, v, kb.ci32(0)));
      }
      // Keys in bins above this thread's run, then walk its bins downwards.
      Value g = arith::SubIOp::create(b, total, arith::AddIOp::create(b, before, incl));
      for (int64_t j = per - 1; j >= 0; --j) {
        Value upTo = arith::AddIOp::create(b, g, counts[j]);
        Value hit = arith::AndIOp::create(b, cmp(arith::CmpIPredicate::slt, g, kRem),
                                          cmp(arith::CmpIPredicate::sge, upTo, kRem));
        Value gHere = g;
        ifThen(hit, [&] {
          Value d = toI32(kb.add(kb.mul(tid, kb.c(per)), kb.c(j)));
          memref::StoreOp::create(b, d, misc, ValueRange{kb.c(0)});
          memref::StoreOp::create(b, gHere, misc, ValueRange{kb.c(1)});
        });
        g = upTo;
      }
      gpu::BarrierOp::create(b);
      Value d = memref::LoadOp::create(b, misc, ValueRange{kb.c(0)});
      Value gr = memref::LoadOp::create(b, misc, ValueRange{kb.c(1)});
      prefix = arith::OrIOp::create(b, prefix, arith::ShLIOp::create(b, d, kb.ci32(dg.shift)));
      mask = arith::OrIOp::create(b, mask, kb.ci32(static_cast<int32_t>((bins - 1) << dg.shift)));
      kRem = arith::SubIOp::create(b, kRem, gr);
      above = arith::AddIOp::create(b, above, gr);
    }
    // Threshold T = prefix; `above` keys > T, `kRem` ties to take.
    Value T = prefix, need = kRem, aboveIdx = kb.toIndex(above);
    forEachKey([&](Value i, Value key) {
      Value i32v = toI32(i);
      auto ifAbove = scf::IfOp::create(b, cmp(arith::CmpIPredicate::ugt, key, T), true);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifAbove.getThenRegion().front());
      Value p = memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addi, kb.ci32(1), misc,
                                            ValueRange{kb.c(2)});
      memref::StoreOp::create(b, i32v, oA, ValueRange{kb.add(outBase, kb.toIndex(p))});
      b.setInsertionPointToStart(&ifAbove.getElseRegion().front());
      Value tie = cmp(arith::CmpIPredicate::eq, key, T);
      // Skip the atomic once all ties are taken (the counter only grows).
      Value seen = memref::LoadOp::create(b, misc, ValueRange{kb.c(3)});
      ifThen(arith::AndIOp::create(b, tie, cmp(arith::CmpIPredicate::slt, seen, need)), [&] {
        Value q = memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addi, kb.ci32(1), misc,
                                              ValueRange{kb.c(3)});
        ifThen(cmp(arith::CmpIPredicate::slt, q, need), [&] {
          memref::StoreOp::create(b, i32v, oA,
                                  ValueRange{kb.add(outBase, kb.add(aboveIdx, kb.toIndex(q)))});
        });
      });
    });
  }
  if (keepLast) {
    ifThen(cmp(arith::CmpIPredicate::eq, tid, kb.c(0)), [&] {
      memref::StoreOp::create(b, toI32(kb.sub(nb, kb.c(1))), oA,
                              ValueRange{kb.add(outBase, kb.c(k - 1))});
    });
  }
  b.setInsertionPointAfter(ifShort);
  ctx.addLaunch(kb.finish());
  return success();
}
