// ds-direct-float-math: arith.maxnumf / arith.minnumf / math.fma as LLVM intrinsics, so that
// convert-gpu-to-nvvm emits no libdevice calls (the PTX then loads with the driver alone).
#include "codegen/CodegenPasses.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"

namespace mlir {
namespace ds {
#define GEN_PASS_DEF_DIRECTFLOATMATHPASS
#include "codegen/Passes.h.inc"
} // namespace ds
} // namespace mlir

using namespace mlir;

namespace {
struct DirectFloatMathPass final : public ds::impl::DirectFloatMathPassBase<DirectFloatMathPass> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<arith::MaxNumFOp, arith::MinNumFOp, math::FmaOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      OpBuilder b(op);
      Value r;
      if (auto mx = dyn_cast<arith::MaxNumFOp>(op))
        r = LLVM::MaxNumOp::create(b, op->getLoc(), mx.getLhs(), mx.getRhs());
      else if (auto mn = dyn_cast<arith::MinNumFOp>(op))
        r = LLVM::MinNumOp::create(b, op->getLoc(), mn.getLhs(), mn.getRhs());
      else {
        auto fma = cast<math::FmaOp>(op);
        r = LLVM::FMAOp::create(b, op->getLoc(), fma.getA(), fma.getB(), fma.getC());
      }
      op->getResult(0).replaceAllUsesWith(r);
      op->erase();
    }
  }
};
} // namespace
