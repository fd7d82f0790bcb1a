// topk: indices of the k largest scores of every ragged row, by radix select (no sort).
//
// One CTA of `warps * 32` threads (a power of two <= 1024) per row (b, h). A row with n_b <= k
// lists 0..n_b-1 and pads with -1. Otherwise RadixSelect (RadixSelect.h: three digit passes
// over order-preserving keys, then one write pass) selects sel_k = k - keep_last among the
// first n_b - keep_last positions; with keep_last, index n_b - 1 goes to position k - 1.
#include "codegen/Lowering.h"
#include "codegen/RadixSelect.h"
#include "dialect/DSOps.h"

using namespace mlir;
using namespace mlir::ds;

static LogicalResult lowerTopK(Operation *op, PlanContext &ctx) {
  auto topk = cast<TopKOp>(op);
  KernelConfigAttr cfg = configOf(op);
  Value scores = topk.getScores(), lens = topk.getLens();
  const int64_t k = static_cast<int64_t>(topk.getK());
  const int64_t divisor = static_cast<int64_t>(topk.getDivisor());
  const bool keepLast = topk.getKeepLast();
  const int64_t threads = cfg.getWarps() * 32;

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
  RadixSelect radix(kb, threads);

  Value row = kb.blockId(gpu::Dimension::x);
  Value bIdx = kb.div(row, hV);
  // n_b = clamp(cdiv(lens[b], divisor), 0, N), in 64-bit arithmetic.
  Value len = kb.toIndex(arith::MaxSIOp::create(b, memref::LoadOp::create(b, lA, ValueRange{bIdx}),
                                                kb.ci32(0)));
  Value nb = kb.minIdx(kb.div(kb.add(len, kb.c(divisor - 1)), kb.c(divisor)), nV);
  Value outBase = kb.mul(row, kb.c(k)), rowBase = kb.mul(row, nV);
  emitTopKRow(kb, threads, oA, outBase, nb, k, keepLast, [&](Value selLen, int64_t selK) {
    radix.select(sA, rowBase, selLen, selK, oA, outBase);
  });
  ctx.addLaunch(kb.finish());
  return success();
}

void mlir::ds::registerTopKFamily() {
  KernelFamily f;
  f.name = "topk";
  f.ops = {TopKOp::getOperationName().str()};
  // One CTA of 1024 threads per row: the radix histogram passes are bound by the row's loads.
  f.choose = [](Operation *op, TargetAttr) {
    return KernelConfigAttr::get(op->getContext(), 1, 32, 1, 1, 1);
  };
  f.verify = [](Operation *op, KernelConfigAttr cfg, TargetAttr) -> LogicalResult {
    if (failed(verifyUnusedConfigFields(op, cfg, kUseWarps)) ||
        failed(verifyRadixSelectWarps(op, cfg)))
      return failure();
    if (cast<TopKOp>(op).getK() > (uint64_t(1) << 30))
      return op->emitOpError("GPU lowering supports k <= 2^30");
    return success();
  };
  f.lower = lowerTopK;
  registerKernelFamily(std::move(f));
}
