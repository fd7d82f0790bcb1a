// Kernels of the label family: label_gather (channel gather of q or k) and label_append
// (gather into the head-major label cache). Both move few bytes; one thread per label element,
// or for a low-bit cache (fp8 e4m3 / int4 with f16 scales) one thread per (new token, kv head):
// it gathers the token's r labels, quantizes them with the stored f16 scale and writes whole
// 32-bit words and the scale. fp8: the scale from their largest magnitude, round to nearest
// even in integer arithmetic (the same on every target); int4: asymmetric, the scale and zero
// point of least squared error among a few candidates (emitInt4Labels).
#include "codegen/Lowering.h"
#include "dialect/DSOps.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <limits>

using namespace mlir;
using namespace mlir::ds;

namespace {

/// The shared body: element `i` of [N, H, r] reads x[n, h, channels[h / g, j]] (0 when the
/// channel is out of range) and writes it at `dst(n, h, j)`; `slotOf(n)` maps a row to the
/// destination row and may reject it.
struct GatherShape {
  int64_t heads, kvHeads, headDim, labelDim;
};

LogicalResult buildGather(Operation *op, PlanContext &ctx, int64_t threads, Value x,
                          Value channels, const GatherShape &s, llvm::StringRef rowsExpr,
                          const BufferRef &dst, const BufferRef *slots, llvm::StringRef slotsBound) {
  KernelBuilder kb(ctx.kernels, ctx.kernelName(slots ? "label_append" : "label_gather"), op->getLoc());
  kb.addBuffer(ctx.buffer(x));
  kb.addBuffer(ctx.buffer(channels));
  kb.addBuffer(dst);
  if (slots)
    kb.addBuffer(*slots);
  std::string total = "(" + rowsExpr.str() + ")*" + std::to_string(s.heads * s.labelDim);
  kb.addI64(total);
  kb.addI64(slots ? slotsBound : llvm::StringRef("0"));
  kb.begin(threads, "cdiv(" + total + "," + std::to_string(threads) + ")");
  ImplicitLocOpBuilder &b = kb.b();
  Value i = kb.add(kb.mul(kb.blockId(gpu::Dimension::x), kb.c(threads)), kb.threadId());
  Value inBounds = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, kb.toIndex(kb.arg(slots ? 4 : 3)));
  auto ifIn = scf::IfOp::create(b, inBounds, false);
  b.setInsertionPointToStart(&ifIn.getThenRegion().front());
  Value j = kb.rem(i, kb.c(s.labelDim));
  Value h = kb.rem(kb.div(i, kb.c(s.labelDim)), kb.c(s.heads));
  Value n = kb.div(i, kb.c(s.labelDim * s.heads));
  Value hk = kb.div(h, kb.c(s.heads / s.kvHeads));
  Value ch = memref::LoadOp::create(b, kb.arg(1), ValueRange{kb.add(kb.mul(hk, kb.c(s.labelDim)), j)});
  Value chOk = kb.inRange(ch, kb.c(s.headDim));
  Value chIdx = arith::SelectOp::create(b, chOk, kb.toIndex(ch), kb.c(0));
  Value src = kb.add(kb.mul(kb.add(kb.mul(n, kb.c(s.heads)), h), kb.c(s.headDim)), chIdx);
  Value v = memref::LoadOp::create(b, kb.arg(0), ValueRange{src});
  Value zero = arith::ConstantOp::create(b, b.getZeroAttr(v.getType()));
  v = arith::SelectOp::create(b, chOk, v, zero);
  if (!slots) {
    memref::StoreOp::create(b, v, kb.arg(2), ValueRange{i});
  } else {
    // Head-major cache [Hkv, S, r]; rows whose slot is outside [0, S) are skipped.
    Value slot = memref::LoadOp::create(b, kb.arg(3), ValueRange{n});
    Value bound = kb.toIndex(kb.arg(5));
    auto ifSlot = scf::IfOp::create(b, kb.inRange(slot, bound), false);
    b.setInsertionPointToStart(&ifSlot.getThenRegion().front());
    Value dstIdx = kb.add(kb.mul(kb.add(kb.mul(h, bound), kb.toIndex(slot)), kb.c(s.labelDim)), j);
    memref::StoreOp::create(b, v, kb.arg(2), ValueRange{dstIdx});
  }
  b.setInsertionPointAfter(ifIn);
  ctx.addLaunch(kb.finish());
  return success();
}

int64_t dim(Value v, unsigned i) { return cast<RankedTensorType>(v.getType()).getDimSize(i); }

/// The e4m3 (fn) code of an f32 `v`: round to nearest even, saturated at +-448.
Value toE4M3(KernelBuilder &kb, Value v) {
  ImplicitLocOpBuilder &b = kb.b();
  Type i32 = b.getI32Type();
  Value a = kb.fmin(kb.fmax(v, arith::NegFOp::create(b, v)), kb.cf32(448.0f));
  // Normal range (a >= 2^-6): keep 3 mantissa bits, rounding half to even on the f32 bits, and
  // rebias the exponent (127 -> 7): code = (bits >> 20) - (120 << 3).
  Value bits = arith::BitcastOp::create(b, i32, a);
  Value odd = arith::AndIOp::create(b, arith::ShRUIOp::create(b, bits, kb.ci32(20)), kb.ci32(1));
  Value rounded = arith::AddIOp::create(b, bits, arith::AddIOp::create(b, odd, kb.ci32(0x7FFFF)));
  Value normal = arith::SubIOp::create(b, arith::ShRUIOp::create(b, rounded, kb.ci32(20)),
                                       kb.ci32(120 << 3));
  // Subnormals (a < 2^-6): multiples of 2^-9; 8 * 2^-9 = 2^-6 is code 8 as well.
  Value sub = arith::FPToSIOp::create(
      b, i32, kb.roundEven(arith::MulFOp::create(b, a, kb.cf32(512.0f))));
  Value small = arith::CmpFOp::create(b, arith::CmpFPredicate::OLT, a, kb.cf32(0.015625f));
  Value code = arith::SelectOp::create(b, small, sub, normal);
  Value sign = arith::AndIOp::create(
      b, arith::ShRUIOp::create(b, arith::BitcastOp::create(b, i32, v), kb.ci32(24)),
      kb.ci32(0x80));
  return arith::OrIOp::create(b, code, sign);
}

/// Candidate int4 scales per token: (range / 15) * (1 - kInt4ScaleStep * i), i < kInt4Scales.
constexpr int64_t kInt4Scales = 9;
constexpr float kInt4ScaleStep = 0.025f;

/// Asymmetric int4 labels of one (token, kv head) (the op's description; the host's copy in
/// tools/reference/LowBitLabels.cpp): over the range [min(l, 0), max(l, 0)] of the r labels `x`,
/// each candidate scale is rounded up to an f16 b whose 4 low bits are 0, the zero points z next
/// to -min / b fill those bits, and the f16 so formed is the scale s: the (s, z) of least
/// squared error (the first on ties) is kept. Codes c_j = clamp(round_half_even(l_j / s) + z, 0, 15),
/// packed 8 to a word; the scorer reads s as stored and z from its low bits.
void emitInt4Labels(KernelBuilder &kb, ArrayRef<Value> x, Value cache, Value scales, Value row) {
  ImplicitLocOpBuilder &b = kb.b();
  Type f32 = b.getF32Type(), i32 = b.getI32Type(), i16 = b.getI16Type(), f16 = b.getF16Type();
  const int64_t r = x.size();
  auto valueOf = [&](Value bits) { // the f32 value of f16 bits
    Value h = arith::BitcastOp::create(b, f16, arith::TruncIOp::create(b, i16, bits));
    return arith::ExtFOp::create(b, f32, h).getResult();
  };
  // Codes of the labels under scale s (a divisor of 1 where s is 0: all codes then read as 0).
  auto codes = [&](Value s, Value z) {
    Value zero = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, s, kb.cf32(0.0f));
    Value div = arith::SelectOp::create(b, zero, kb.cf32(1.0f), s);
    SmallVector<Value> c;
    for (Value v : x) {
      Value n = kb.roundEven(arith::DivFOp::create(b, v, div));
      c.push_back(kb.clampF(arith::AddFOp::create(b, n, z), 0.0f, 15.0f));
    }
    return c;
  };
  Value mn = kb.cf32(0.0f), mx = kb.cf32(0.0f);
  for (Value v : x) {
    mn = kb.fmin(mn, v);
    mx = kb.fmax(mx, v);
  }
  Value step = arith::DivFOp::create(b, arith::SubFOp::create(b, mx, mn), kb.cf32(15.0f));
  Value inf = kb.cf32(std::numeric_limits<float>::infinity());
  auto loop = scf::ForOp::create(b, kb.c(0), kb.c(kInt4Scales), kb.c(1),
                                 ValueRange{inf, kb.ci32(0)});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value bestErr = loop.getRegionIterArgs()[0], best = loop.getRegionIterArgs()[1];
    Value fi = arith::UIToFPOp::create(
        b, f32, arith::IndexCastOp::create(b, i32, loop.getInductionVar()));
    Value factor = arith::SubFOp::create(b, kb.cf32(1.0f),
                                         arith::MulFOp::create(b, kb.cf32(kInt4ScaleStep), fi));
    Value want = arith::MulFOp::create(b, step, factor);
    // Rounded up to an f16, then up to a multiple of 16 in its bits, at most 0x7BF0 (so that
    // any z keeps it finite).
    Value h = arith::TruncFOp::create(b, f16, want);
    Value bits = arith::ExtUIOp::create(b, i32, arith::BitcastOp::create(b, i16, h));
    Value below = arith::CmpFOp::create(b, arith::CmpFPredicate::OLT,
                                        arith::ExtFOp::create(b, f32, h), want);
    bits = arith::SelectOp::create(b, below, arith::AddIOp::create(b, bits, kb.ci32(1)), bits);
    bits = arith::AndIOp::create(b, arith::AddIOp::create(b, bits, kb.ci32(15)), kb.ci32(0xFFF0));
    bits = arith::MinUIOp::create(b, bits, kb.ci32(0x7BF0));
    Value base = valueOf(bits);
    Value zeroBase = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, base, kb.cf32(0.0f));
    Value z0 = kb.roundEven(arith::DivFOp::create(
        b, arith::NegFOp::create(b, mn),
        arith::SelectOp::create(b, zeroBase, kb.cf32(1.0f), base)));
    for (float dz : {-1.0f, 0.0f, 1.0f}) {
      Value z = kb.clampF(arith::AddFOp::create(b, z0, kb.cf32(dz)), 0.0f, 15.0f);
      Value cand = arith::OrIOp::create(b, bits, arith::FPToUIOp::create(b, i32, z));
      Value s = valueOf(cand);
      SmallVector<Value> c = codes(s, z);
      Value err = kb.cf32(0.0f);
      for (int64_t j = 0; j < r; ++j) {
        Value y = arith::MulFOp::create(b, arith::SubFOp::create(b, c[j], z), s);
        Value e = arith::SubFOp::create(b, x[j], y);
        err = arith::AddFOp::create(b, err, arith::MulFOp::create(b, e, e));
      }
      Value better = arith::CmpFOp::create(b, arith::CmpFPredicate::OLT, err, bestErr);
      bestErr = arith::SelectOp::create(b, better, err, bestErr);
      best = arith::SelectOp::create(b, better, cand, best);
    }
    scf::YieldOp::create(b, ValueRange{bestErr, best});
  }
  Value best = loop.getResult(1);
  Value s = valueOf(best);
  Value zeroScale = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, s, kb.cf32(0.0f));
  Value z = arith::UIToFPOp::create(b, f32, arith::AndIOp::create(b, best, kb.ci32(0xF)));
  SmallVector<Value> c = codes(s, z);
  SmallVector<Value> words(r / 8, kb.ci32(0));
  for (int64_t j = 0; j < r; ++j) {
    Value code = arith::SelectOp::create(b, zeroScale, kb.ci32(0),
                                         arith::FPToUIOp::create(b, i32, c[j]));
    Value sh = arith::ShLIOp::create(b, code, kb.ci32(static_cast<int32_t>(4 * (j % 8))));
    words[j / 8] = arith::OrIOp::create(b, words[j / 8], sh);
  }
  Value wordBase = kb.mul(row, kb.c(r / 8));
  for (size_t i = 0; i < words.size(); ++i)
    memref::StoreOp::create(b, words[i], cache, ValueRange{kb.add(wordBase, kb.c(i))});
  memref::StoreOp::create(
      b, arith::BitcastOp::create(b, f16, arith::TruncIOp::create(b, i16, best)), scales,
      ValueRange{row});
}

/// label_append into an fp8 or int4 cache with its scales.
LogicalResult buildLowBitAppend(LabelAppendOp op, PlanContext &ctx, int64_t threads) {
  Value k = op.getK(), channels = op.getChannels();
  const int64_t hkv = dim(k, 1), d = dim(k, 2), r = dim(channels, 1);
  const LabelFormat format = labelFormatOf(
      cast<RankedTensorType>(op.getLabelCache().getType()).getElementType());
  const bool fp8 = format == LabelFormat::FP8;
  const int64_t perWord = 4, bits = 8; // fp8 codes per word, bits per code
  BufferRef cache = ctx.alias(op.getResult(), op.getLabelCache());
  BufferRef scales = ctx.alias(op.getNewLabelScales(), op.getLabelScales());
  const std::string tokens = dimExpr(ctx, k, 0), slots = cache.dims[1];
  cache.elementType = IntegerType::get(op.getContext(), 32); // written as whole words

  KernelBuilder kb(ctx.kernels, ctx.kernelName("label_append"), op->getLoc());
  kb.addBuffer(ctx.buffer(k));
  kb.addBuffer(ctx.buffer(channels));
  kb.addBuffer(ctx.buffer(op.getSlotMapping()));
  kb.addBuffer(cache);
  kb.addBuffer(scales);
  kb.addI64(tokens);
  kb.addI64(slots);
  const std::string work = "(" + tokens + ")*" + std::to_string(hkv);
  kb.begin(threads, cdiv(PlanExpr::symbol(work), threads).text());
  ImplicitLocOpBuilder &b = kb.b();
  Value kA = kb.arg(0), chA = kb.arg(1), smA = kb.arg(2), cA = kb.arg(3), sA = kb.arg(4);
  Value nTok = kb.toIndex(kb.arg(5)), nSlots = kb.toIndex(kb.arg(6));
  Value gid = kb.add(kb.mul(kb.blockId(gpu::Dimension::x), kb.c(threads)), kb.threadId());
  Value t = kb.div(gid, kb.c(hkv)), h = kb.rem(gid, kb.c(hkv));
  kb.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::ult, t, nTok), [&] {
    Value slot = memref::LoadOp::create(b, smA, ValueRange{t});
    kb.ifThen(kb.inRange(slot, nSlots), [&] {
      // The token's labels (a channel outside [0, d) reads 0).
      Value rowK = kb.mul(kb.add(kb.mul(t, kb.c(hkv)), h), kb.c(d));
      SmallVector<Value> x;
      for (int64_t j = 0; j < r; ++j) {
        Value ch = memref::LoadOp::create(b, chA, ValueRange{kb.add(kb.mul(h, kb.c(r)), kb.c(j))});
        Value ok = kb.inRange(ch, kb.c(d));
        Value idx = arith::SelectOp::create(b, ok, kb.toIndex(ch), kb.c(0));
        x.push_back(
            arith::SelectOp::create(b, ok, kb.loadF32(kA, kb.add(rowK, idx)), kb.cf32(0.0f)));
      }
      Value row = kb.add(kb.mul(h, nSlots), kb.toIndex(slot));
      if (!fp8) {
        emitInt4Labels(kb, x, cA, sA, row);
        return;
      }
      // fp8: the largest magnitude sets the scale; the stored f16 scale is the one the scorer
      // multiplies by, so the labels are quantized with it.
      Value amax = kb.cf32(0.0f);
      for (Value v : x)
        amax = kb.fmax(amax, kb.fmax(v, arith::NegFOp::create(b, v)));
      Value s16 = arith::TruncFOp::create(
          b, b.getF16Type(), arith::DivFOp::create(b, amax, kb.cf32(448.0f)));
      Value sf = arith::ExtFOp::create(b, b.getF32Type(), s16);
      Value zero = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, sf, kb.cf32(0.0f));
      SmallVector<Value> words(r / perWord, kb.ci32(0));
      for (int64_t j = 0; j < r; ++j) {
        Value v = arith::DivFOp::create(b, x[j], sf);
        Value code = arith::SelectOp::create(b, zero, kb.ci32(0), toE4M3(kb, v));
        Value sh = arith::ShLIOp::create(b, code, kb.ci32(static_cast<int32_t>(bits * (j % perWord))));
        words[j / perWord] = arith::OrIOp::create(b, words[j / perWord], sh);
      }
      Value base = kb.mul(row, kb.c(r / perWord));
      for (size_t i = 0; i < words.size(); ++i)
        memref::StoreOp::create(b, words[i], cA, ValueRange{kb.add(base, kb.c(i))});
      memref::StoreOp::create(b, s16, sA, ValueRange{row});
    });
  });
  ctx.addLaunch(kb.finish());
  return success();
}
} // namespace

static LogicalResult lowerLabelOps(Operation *op, PlanContext &ctx) {
  // One thread per label element, `warps * 32` threads per block.
  const int64_t threads = configOf(op).getWarps() * 32;
  if (auto gather = dyn_cast<LabelGatherOp>(op)) {
    Value x = gather.getX();
    GatherShape s{dim(x, 1), dim(gather.getChannels(), 0), dim(x, 2), dim(gather.getChannels(), 1)};
    BufferRef out = ctx.place(gather.getLabels(), {dimExpr(ctx, x, 0), std::to_string(s.heads),
                                                   std::to_string(s.labelDim)});
    return buildGather(op, ctx, threads, x, gather.getChannels(), s, dimExpr(ctx, x, 0), out,
                       nullptr, "");
  }
  auto append = cast<LabelAppendOp>(op);
  if (append.getLabelScales())
    return buildLowBitAppend(append, ctx, threads);
  Value k = append.getK();
  GatherShape s{dim(k, 1), dim(k, 1), dim(k, 2), dim(append.getChannels(), 1)};
  BufferRef cache = ctx.alias(append.getResult(), append.getLabelCache());
  BufferRef slots = ctx.buffer(append.getSlotMapping());
  return buildGather(op, ctx, threads, k, append.getChannels(), s, dimExpr(ctx, k, 0), cache,
                     &slots, cache.dims[1]);
}

void mlir::ds::registerLabelFamily() {
  KernelFamily f;
  f.name = "label";
  f.ops = {LabelGatherOp::getOperationName().str(), LabelAppendOp::getOperationName().str()};
  // The labels are a few bytes per token: 256 threads per block, one per label element.
  f.choose = [](Operation *op, TargetAttr) {
    return KernelConfigAttr::get(op->getContext(), 1, 8, 1, 1, 1);
  };
  f.verify = [](Operation *op, KernelConfigAttr cfg, TargetAttr) {
    return failure(failed(verifyUnusedConfigFields(op, cfg, kUseWarps)) ||
                   failed(verifyWarps(op, cfg, 1, 32)));
  };
  f.lower = lowerLabelOps;
  registerKernelFamily(std::move(f));
}
