// vAttention's selection (shared/ALGORITHMS.md §4): ds.sample_residual.
//
// One CTA of `warps * 32` threads per row (b, h):
// 1. The row's fixed entries go to shared memory, those outside [s, w) (the residual range: past
//    the sinks, before the window) replaced by INT_MAX, padded to P2 = the next power of two >= K;
//    a bitonic sort orders them.
// 2. A block-wide scan compacts the distinct ones in place: F[0 .. U), increasing.
// 3. Sinks, window and F are written; m = (w - s) - U residual tokens, n_s = min(num_samples, m).
// 4. Sample j < n_s is the perm(j)-th smallest residual token: perm is an 8-round Feistel network
//    over [0, 2^(2h)) (2^(2h) the smallest even power of two >= max(m, 2), so at least 4) cycle-walked into
//    [0, m) (it terminates: a permutation's cycle through j < m comes back below m; expected
//    < 4 steps). Its round keys are two Philox4x32-10 blocks of the counter (offset, row, 0|1)
//    under the key `seed`. The r-th residual token is s + r + j* with j* = #{j : F[j] - s - j <= r}
//    (F[j] - s - j is non-decreasing), found by a branch-free binary search of F.
#include "codegen/Lowering.h"
#include "dialect/DSOps.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <limits>

using namespace mlir;
using namespace mlir::ds;

namespace {
/// fixed dim 2 the kernel sorts in shared memory (32 KB of i32 at most).
constexpr int64_t kMaxFixed = 8192;
constexpr int64_t kFeistelRounds = 8;

struct Emit {
  KernelBuilder &kb;
  ImplicitLocOpBuilder &b;
  explicit Emit(KernelBuilder &kb) : kb(kb), b(kb.b()) {}

  Value i32(int64_t v) { return kb.ci32(static_cast<int32_t>(v)); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) { return arith::CmpIOp::create(b, p, x, y); }
  Value sel(Value c, Value x, Value y) { return arith::SelectOp::create(b, c, x, y); }
  Value addi(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value subi(Value x, Value y) { return arith::SubIOp::create(b, x, y); }
  Value muli(Value x, Value y) { return arith::MulIOp::create(b, x, y); }
  Value xori(Value x, Value y) { return arith::XOrIOp::create(b, x, y); }
  Value andi(Value x, Value y) { return arith::AndIOp::create(b, x, y); }
  Value shr(Value x, int64_t n) { return arith::ShRUIOp::create(b, x, i32(n)); }
  Value toI32(Value idx) { return arith::IndexCastOp::create(b, b.getI32Type(), idx); }
  Value load(Value m, Value i) { return memref::LoadOp::create(b, m, ValueRange{i}); }
  void store(Value v, Value m, Value i) { memref::StoreOp::create(b, v, m, ValueRange{i}); }
  void ifThen(Value cond, llvm::function_ref<void()> body) { kb.ifThen(cond, body); }
  /// for (i = tid; i < n; i += threads) body(i), n an index.
  template <typename Body> void strided(Value n, int64_t threads, Body body) {
    auto loop = scf::ForOp::create(b, kb.threadId(), n, kb.c(threads));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    body(loop.getInductionVar());
  }

  /// Philox4x32-10 of `ctr` under `key` (all i32 values).
  std::array<Value, 4> philox(std::array<Value, 4> c, Value k0, Value k1) {
    Value m0 = i32(0xD2511F53), m1 = i32(0xCD9E8D57);
    for (int r = 0; r < 10; ++r) {
      auto p0 = arith::MulUIExtendedOp::create(b, m0, c[0]);
      auto p1 = arith::MulUIExtendedOp::create(b, m1, c[2]);
      c = {xori(xori(p1.getHigh(), c[1]), k0), p1.getLow(), xori(xori(p0.getHigh(), c[3]), k1),
           p0.getLow()};
      k0 = addi(k0, i32(0x9E3779B9));
      k1 = addi(k1, i32(0xBB67AE85));
    }
    return c;
  }
  /// One Feistel pass over [0, 2^(2 half)): x -> (R, L ^ f(R)) per round.
  Value feistel(Value x, Value half, Value mask, llvm::ArrayRef<Value> keys) {
    Value l = arith::ShRUIOp::create(b, x, half), r = andi(x, mask);
    for (Value key : keys) {
      Value h = xori(r, key);
      h = muli(h, i32(0x85EBCA6B));
      h = xori(h, shr(h, 13));
      h = muli(h, i32(0xC2B2AE35));
      h = xori(h, shr(h, 16));
      Value nr = andi(xori(l, h), mask);
      l = r;
      r = nr;
    }
    return arith::OrIOp::create(b, arith::ShLIOp::create(b, l, half), r);
  }
};

LogicalResult lowerSample(Operation *op, PlanContext &ctx) {
  auto sr = cast<SampleResidualOp>(op);
  KernelConfigAttr cfg = configOf(op);
  const int64_t threads = cfg.getWarps() * 32, warps = cfg.getWarps();
  Value fixed = sr.getFixed();
  const int64_t K = dimOf(fixed, 2), S = sr.getSinks(), W = sr.getWindow(),
                NS = sr.getNumSamples();
  const int64_t total = S + W + K + NS;
  const int64_t P2 = std::max<int64_t>(1, static_cast<int64_t>(llvm::PowerOf2Ceil(K)));

  std::string batch = dimExpr(ctx, fixed, 0), heads = dimExpr(ctx, fixed, 1);
  const BufferRef &idxOut = ctx.place(sr.getIndices(), {batch, heads, std::to_string(total)});
  const BufferRef &wOut = ctx.place(sr.getLogWeights(), {batch, heads, std::to_string(total)});

  KernelBuilder kb(ctx.kernels, ctx.kernelName("sample_residual"), op->getLoc());
  kb.addBuffer(ctx.buffer(fixed));
  kb.addBuffer(ctx.buffer(sr.getSeqLens()));
  kb.addBuffer(ctx.buffer(sr.getPhilox()));
  kb.addBuffer(idxOut);
  kb.addBuffer(wOut);
  kb.addI64(heads);
  kb.begin(threads, "(" + batch + ")*(" + heads + ")");
  Emit e(kb);
  ImplicitLocOpBuilder &b = kb.b();
  Type i32 = b.getI32Type();
  Value fA = kb.arg(0), lA = kb.arg(1), pA = kb.arg(2), oA = kb.arg(3), wA = kb.arg(4);
  Value hV = kb.toIndex(kb.arg(5));
  Value keys = kb.addShared(i32, P2), scan = kb.addShared(i32, 32);

  Value row = kb.blockId(gpu::Dimension::x), tid = kb.threadId();
  Value bIdx = kb.div(row, hV);
  // n, s = min(S, n), w = max(s, n - W) as i32 (n >= 0).
  Value n = arith::MaxSIOp::create(b, e.load(lA, bIdx), e.i32(0));
  Value s = arith::MinSIOp::create(b, n, e.i32(S));
  Value w = arith::MaxSIOp::create(b, s, e.subi(n, e.i32(W)));
  const Value intMax = e.i32(std::numeric_limits<int32_t>::max());

  // 1. Load into registers and sort. Thread t holds elements [t * E, (t + 1) * E) of the P2
  // (E = P2 / threads, at least 1; threads past P2 / E hold padding and store nothing). The
  // bitonic network's exchanges run in registers (stride < E), by warp shuffles (stride < 32 E)
  // and only the longer strides through shared memory, two barriers each: 12 barriers for
  // P2 = 1024 on 256 threads where a shared-memory network has 55.
  const int64_t E = std::max<int64_t>(1, P2 / threads);
  Value base = kb.mul(tid, kb.c(E));
  Value active = e.cmp(arith::CmpIPredicate::ult, tid, kb.c(P2 / E));
  Value fBase = kb.mul(row, kb.c(K));
  llvm::SmallVector<Value> reg(E);
  for (int64_t j = 0; j < E; ++j) {
    Value i = kb.add(base, kb.c(j));
    Value inK = e.cmp(arith::CmpIPredicate::ult, i, kb.c(K));
    Value v = e.load(fA, kb.add(fBase, kb.minIdx(i, kb.c(K - 1)))); // in bounds: K >= 1
    Value in = arith::AndIOp::create(b, e.cmp(arith::CmpIPredicate::sge, v, s),
                                     e.cmp(arith::CmpIPredicate::slt, v, w));
    reg[j] = e.sel(arith::AndIOp::create(b, inK, in), v, intMax);
  }
  auto isZero = [&](Value x, int64_t bit) {
    return e.cmp(arith::CmpIPredicate::eq, arith::AndIOp::create(b, x, kb.c(bit)), kb.c(0));
  };
  auto isSet = [&](Value x, int64_t bit) {
    return e.cmp(arith::CmpIPredicate::ne, arith::AndIOp::create(b, x, kb.c(bit)), kb.c(0));
  };
  auto exchange = [&](Value x, Value y, Value keepMin) {
    return e.sel(keepMin, arith::MinSIOp::create(b, x, y), arith::MaxSIOp::create(b, x, y));
  };
  for (int64_t size = 2; size <= P2; size *= 2)
    for (int64_t stride = size / 2; stride >= 1; stride /= 2) {
      if (stride < E) {
        for (int64_t j = 0; j < E; ++j) {
          if (j & stride)
            continue;
          Value i = kb.add(base, kb.c(j));
          Value x = reg[j], y = reg[j + stride];
          reg[j] = exchange(x, y, isZero(i, size));          // ascending: min first
          reg[j + stride] = exchange(x, y, isSet(i, size));  // descending: max first
        }
      } else if (stride < 32 * E) {
        Value lower = isZero(tid, stride / E);
        for (int64_t j = 0; j < E; ++j) {
          Value other = gpu::ShuffleOp::create(b, reg[j], e.i32(stride / E), e.i32(32),
                                               gpu::ShuffleMode::XOR)
                            .getShuffleResult();
          Value asc = isZero(kb.add(base, kb.c(j)), size);
          Value keepMin = e.cmp(arith::CmpIPredicate::eq, arith::ExtUIOp::create(b, i32, lower),
                                arith::ExtUIOp::create(b, i32, asc));
          reg[j] = exchange(reg[j], other, keepMin);
        }
      } else {
        for (int64_t j = 0; j < E; ++j) {
          Value i = kb.add(base, kb.c(j)), v = reg[j];
          e.ifThen(active, [&] { e.store(v, keys, i); });
        }
        gpu::BarrierOp::create(b);
        for (int64_t j = 0; j < E; ++j) {
          Value i = kb.add(base, kb.c(j));
          Value partner = arith::XOrIOp::create(b, i, kb.c(stride));
          Value other = e.load(keys, e.sel(active, partner, kb.c(0)));
          Value keepMin = e.cmp(arith::CmpIPredicate::eq,
                                arith::ExtUIOp::create(b, i32, isZero(i, stride)),
                                arith::ExtUIOp::create(b, i32, isZero(i, size)));
          reg[j] = exchange(reg[j], other, keepMin);
        }
        gpu::BarrierOp::create(b);
      }
    }
  for (int64_t j = 0; j < E; ++j) {
    Value i = kb.add(base, kb.c(j)), v = reg[j];
    e.ifThen(active, [&] { e.store(v, keys, i); });
  }
  gpu::BarrierOp::create(b);

  // 2. Compact the distinct in-range entries: thread t owns [t * per, (t + 1) * per).
  const int64_t per = std::max<int64_t>(1, P2 / threads);
  const int64_t owners = P2 / per; // threads with entries
  Value owns = e.cmp(arith::CmpIPredicate::ult, tid, kb.c(owners));
  Value first = kb.mul(arith::MinUIOp::create(b, tid, kb.c(owners - 1)), kb.c(per));
  llvm::SmallVector<Value> vals, keep;
  Value prev = e.load(keys, arith::SelectOp::create(
                                b, e.cmp(arith::CmpIPredicate::eq, first, kb.c(0)), kb.c(0),
                                kb.sub(arith::MaxUIOp::create(b, first, kb.c(1)), kb.c(1))));
  prev = e.sel(e.cmp(arith::CmpIPredicate::eq, first, kb.c(0)), e.i32(-1), prev);
  Value count = e.i32(0);
  for (int64_t j = 0; j < per; ++j) {
    Value v = e.load(keys, kb.add(first, kb.c(j)));
    Value k = arith::AndIOp::create(b, e.cmp(arith::CmpIPredicate::ne, v, intMax),
                                    e.cmp(arith::CmpIPredicate::ne, v, prev));
    k = arith::AndIOp::create(b, k, owns);
    vals.push_back(v);
    keep.push_back(k);
    count = e.addi(count, arith::ExtUIOp::create(b, i32, k));
    prev = v;
  }
  auto [offset, U] = kb.blockScan(count, scan, warps); // its barriers order the reads first
  Value at = kb.toIndex(offset);
  for (int64_t j = 0; j < per; ++j) {
    Value here = at;
    e.ifThen(keep[j], [&] { e.store(vals[j], keys, here); });
    at = kb.add(at, kb.toIndex(arith::ExtUIOp::create(b, i32, keep[j])));
  }
  gpu::BarrierOp::create(b);

  // 3. The deterministic set.
  Value oBase = kb.mul(row, kb.c(total));
  Value zero = kb.cf32(0.0f), ninf = kb.cf32(-std::numeric_limits<float>::infinity());
  auto put = [&](Value slot, Value valid, Value token, Value weight) {
    e.store(e.sel(valid, token, e.i32(-1)), oA, kb.add(oBase, slot));
    e.store(e.sel(valid, weight, ninf), wA, kb.add(oBase, slot));
  };
  if (S > 0)
    e.strided(kb.c(S), threads, [&](Value j) {
      Value t = e.toI32(j);
      put(j, e.cmp(arith::CmpIPredicate::slt, t, s), t, zero);
    });
  if (W > 0)
    e.strided(kb.c(W), threads, [&](Value j) {
      Value t = e.addi(w, e.toI32(j));
      put(kb.add(j, kb.c(S)), e.cmp(arith::CmpIPredicate::slt, t, n), t, zero);
    });
  e.strided(kb.c(K), threads, [&](Value j) {
    Value valid = e.cmp(arith::CmpIPredicate::slt, e.toI32(j), U);
    Value t = e.load(keys, arith::SelectOp::create(b, valid, j, kb.c(0)));
    put(kb.add(j, kb.c(S + W)), valid, t, zero);
  });

  // 4. The samples.
  Value m = e.subi(e.subi(w, s), U);
  Value ns = arith::MinSIOp::create(b, m, e.i32(NS));
  // log(m / n_s) = lg2(m / n_s) * ln 2 (lg2.approx: a few ulp).
  Value ratio = arith::DivFOp::create(b, arith::SIToFPOp::create(b, b.getF32Type(), m),
                                      arith::SIToFPOp::create(b, b.getF32Type(), ns));
  Value logW = arith::MulFOp::create(
      b,
      LLVM::CallIntrinsicOp::create(b, b.getF32Type(), b.getStringAttr("llvm.nvvm.lg2.approx.f"),
                                    ValueRange{ratio})
          .getResult(0),
      kb.cf32(0.6931471805599453f));
  // Round keys: Philox4x32-10 of (offset lo, offset hi, row, 0 | 1) under (seed lo, seed hi).
  Type i64 = b.getI64Type();
  Value seed = e.load(pA, kb.c(0)), off = e.load(pA, kb.c(1));
  auto lo32 = [&](Value v) { return arith::TruncIOp::create(b, i32, v).getResult(); };
  auto hi32 = [&](Value v) {
    return arith::TruncIOp::create(
               b, i32, arith::ShRUIOp::create(b, v, arith::ConstantIntOp::create(b, i64, 32)))
        .getResult();
  };
  llvm::SmallVector<Value> roundKeys;
  for (int64_t blk = 0; blk < kFeistelRounds / 4; ++blk)
    for (Value v : e.philox({lo32(off), hi32(off), e.toI32(row), e.i32(blk)}, lo32(seed),
                            hi32(seed)))
      roundKeys.push_back(v);
  // half = max(1, ceil(ceil_log2(m) / 2)); m >= 1 wherever a sample is drawn.
  Value mm1 = arith::MaxSIOp::create(b, e.subi(m, e.i32(1)), e.i32(1));
  Value bits = e.subi(e.i32(32), LLVM::CountLeadingZerosOp::create(b, i32, mm1, /*is_zero_poison=*/false));
  Value half = arith::ShRUIOp::create(b, e.addi(bits, e.i32(1)), e.i32(1));
  Value mask = e.subi(arith::ShLIOp::create(b, e.i32(1), half), e.i32(1));
  e.strided(kb.c(NS), threads, [&](Value j) {
    Value slot = kb.add(j, kb.c(S + W + K));
    Value ji = e.toI32(j);
    Value drawn = e.cmp(arith::CmpIPredicate::slt, ji, ns);
    auto ifDrawn = scf::IfOp::create(b, TypeRange{i32}, drawn, true);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(&ifDrawn.getThenRegion().front());
      // do x = feistel(x) while x >= m.
      auto walk = scf::WhileOp::create(b, TypeRange{i32}, ValueRange{ji});
      Block *before = b.createBlock(&walk.getBefore(), {}, {i32}, {b.getLoc()});
      Value x = e.feistel(before->getArgument(0), half, mask, roundKeys);
      scf::ConditionOp::create(b, e.cmp(arith::CmpIPredicate::uge, x, m), ValueRange{x});
      Block *after = b.createBlock(&walk.getAfter(), {}, {i32}, {b.getLoc()});
      scf::YieldOp::create(b, ValueRange{after->getArgument(0)});
      b.setInsertionPointAfter(walk);
      Value r = walk.getResult(0);
      // j* = #{j < U : F[j] - s - j <= r}, branch-free over powers of two down from P2.
      Value pos = e.i32(0);
      for (int64_t step = P2; step >= 1; step /= 2) {
        Value cand = e.addi(pos, e.i32(step));
        Value inU = e.cmp(arith::CmpIPredicate::sle, cand, U);
        Value at = arith::MinSIOp::create(b, e.subi(cand, e.i32(1)), e.i32(P2 - 1));
        Value f = e.load(keys, kb.toIndex(arith::MaxSIOp::create(b, at, e.i32(0))));
        Value le = e.cmp(arith::CmpIPredicate::sle, e.subi(e.subi(f, s), e.subi(cand, e.i32(1))), r);
        pos = e.sel(arith::AndIOp::create(b, inU, le), cand, pos);
      }
      scf::YieldOp::create(b, ValueRange{e.addi(e.addi(s, r), pos)});
      b.setInsertionPointToStart(&ifDrawn.getElseRegion().front());
      scf::YieldOp::create(b, ValueRange{e.i32(-1)});
    }
    put(slot, drawn, ifDrawn.getResult(0), logW);
  });
  ctx.addLaunch(kb.finish());
  return success();
}

LogicalResult verifySampleConfig(Operation *op, KernelConfigAttr cfg, TargetAttr) {
  if (failed(verifyUnusedConfigFields(op, cfg, kUseWarps)))
    return failure();
  int64_t w = cfg.getWarps();
  if (w < 1 || w > 32 || !llvm::isPowerOf2_64(w))
    return configError(op, "warps") << "must be a power of two in [1, 32] (the sort's "
                                       "block-wide scan), got " << w;
  int64_t k = dimOf(cast<SampleResidualOp>(op).getFixed(), 2);
  if (k > kMaxFixed)
    return op->emitOpError("GPU lowering sorts the fixed entries in shared memory: fixed dim 2 "
                           "must be <= ")
           << kMaxFixed << ", got " << k;
  // Each thread holds its share of the sorted entries in registers while compacting them.
  const int64_t p2 = std::max<int64_t>(1, static_cast<int64_t>(llvm::PowerOf2Ceil(k)));
  if (p2 / (w * 32) > 32)
    return configError(op, "warps") << "must give each thread at most 32 of the row's " << p2
                                    << " sorted entries, got " << w;
  auto sr = cast<SampleResidualOp>(op);
  if (sr.getSinks() + sr.getWindow() + sr.getNumSamples() + static_cast<uint64_t>(k) >
      static_cast<uint64_t>(std::numeric_limits<int32_t>::max()))
    return op->emitOpError("GPU lowering needs sinks + window + fixed dim 2 + num_samples < 2^31");
  return success();
}
} // namespace

void mlir::ds::registerSampleFamily() {
  KernelFamily f;
  f.name = "sample";
  f.ops = {SampleResidualOp::getOperationName().str()};
  // 256 threads: a row's sort of up to 8192 entries is 32 per thread per phase at most.
  f.choose = [](Operation *op, TargetAttr) {
    return KernelConfigAttr::get(op->getContext(), 1, 8, 1, 1, 1);
  };
  f.verify = verifySampleConfig;
  f.lower = lowerSample;
  registerKernelFamily(std::move(f));
}
