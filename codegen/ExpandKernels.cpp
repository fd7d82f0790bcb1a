// expand_pages: page selections to token candidates (Twilight over Quest's pages).
//
// A thread per output entry (b, h, i): page = pages[b, h, i / P], token = page * P + i % P;
// -1 where the page is -1 or the token is at or past n_b = max(seq_lens[b], 0).
#include "codegen/Lowering.h"
#include "dialect/DSOps.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::ds;

namespace {
LogicalResult lowerExpand(Operation *op, PlanContext &ctx) {
  auto ex = cast<ExpandPagesOp>(op);
  const int64_t threads = configOf(op).getWarps() * 32;
  Value pages = ex.getPages();
  const int64_t P = ex.getPageSize(), kp = dimOf(pages, 2), rows = dimOf(pages, 1);
  const std::string batch = dimExpr(ctx, pages, 0);
  const BufferRef &out = ctx.place(ex.getTokens(), {batch, std::to_string(rows), std::to_string(kp * P)});
  KernelBuilder kb(ctx.kernels, ctx.kernelName("expand_pages"), op->getLoc());
  kb.addBuffer(ctx.buffer(pages));
  kb.addBuffer(ctx.buffer(ex.getSeqLens()));
  kb.addBuffer(out);
  kb.addI64(batch);
  const std::string total = "(" + batch + ")*" + std::to_string(rows * kp * P);
  kb.begin(threads, cdiv(PlanExpr::symbol(total), threads).text());
  ImplicitLocOpBuilder &b = kb.b();
  Value pA = kb.arg(0), lA = kb.arg(1), oA = kb.arg(2), nB = kb.toIndex(kb.arg(3));
  Value gid = kb.add(kb.mul(kb.blockId(gpu::Dimension::x), kb.c(threads)), kb.threadId());
  Value in = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, gid, kb.mul(nB, kb.c(rows * kp * P)));
  auto ifIn = scf::IfOp::create(b, in, false);
  b.setInsertionPointToStart(&ifIn.getThenRegion().front());
  Value rowIdx = kb.div(gid, kb.c(kp * P)), i = kb.rem(gid, kb.c(kp * P));
  Value bIdx = kb.div(rowIdx, kb.c(rows));
  Value page = memref::LoadOp::create(b, pA, ValueRange{kb.add(kb.mul(rowIdx, kb.c(kp)), kb.div(i, kb.c(P)))});
  Value n = arith::MaxSIOp::create(b, memref::LoadOp::create(b, lA, ValueRange{bIdx}), kb.ci32(0));
  // token = page * P + i % P in 64-bit (a page number near 2^31 / P must not wrap into range).
  Type i64 = b.getI64Type();
  Value t64 = arith::AddIOp::create(
      b, arith::MulIOp::create(b, arith::ExtSIOp::create(b, i64, page), arith::ConstantIntOp::create(b, i64, P)),
      arith::IndexCastOp::create(b, i64, kb.rem(i, kb.c(P))));
  Value ok = arith::AndIOp::create(
      b, arith::CmpIOp::create(b, arith::CmpIPredicate::sge, page, kb.ci32(0)),
      arith::CmpIOp::create(b, arith::CmpIPredicate::slt, t64, arith::ExtSIOp::create(b, i64, n)));
  Value tok = arith::SelectOp::create(b, ok, arith::TruncIOp::create(b, b.getI32Type(), t64), kb.ci32(-1));
  memref::StoreOp::create(b, tok, oA, ValueRange{gid});
  b.setInsertionPointAfter(ifIn);
  ctx.addLaunch(kb.finish());
  return success();
}
} // namespace

void mlir::ds::registerExpandFamily() {
  KernelFamily f;
  f.name = "expand_pages";
  f.ops = {ExpandPagesOp::getOperationName().str()};
  // 256 threads, one output entry each (a few microseconds of index traffic).
  f.choose = [](Operation *op, TargetAttr) {
    return KernelConfigAttr::get(op->getContext(), 1, 8, 1, 1, 1);
  };
  f.verify = [](Operation *op, KernelConfigAttr cfg, TargetAttr) -> LogicalResult {
    if (failed(verifyUnusedConfigFields(op, cfg, kUseWarps)) || failed(verifyWarps(op, cfg, 1, 32)))
      return failure();
    auto ex = cast<ExpandPagesOp>(op);
    if (ShapedType::isDynamic(dimOf(ex.getPages(), 1)) || ShapedType::isDynamic(dimOf(ex.getPages(), 2)))
      return op->emitOpError("GPU lowering needs static rows and pages (pages dims 1 and 2)");
    return success();
  };
  f.lower = lowerExpand;
  registerKernelFamily(std::move(f));
}
