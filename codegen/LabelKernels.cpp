// Kernels of the label family: label_gather (channel gather of q or k) and label_append
// (gather into the head-major label cache). Both move few bytes; one thread per label element.
#include "codegen/Lowering.h"
#include "dialect/DSOps.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

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
