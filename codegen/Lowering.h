#ifndef DS_CODEGEN_LOWERING_H
#define DS_CODEGEN_LOWERING_H

// The contract between ds-lower-to-kernels and the per-family kernel builders.
#include "codegen/KernelBuilder.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/DenseMap.h"

namespace mlir {
namespace ds {

/// What the lowering of one function knows: where every tensor lives and how big it is.
class PlanContext {
public:
  PlanContext(gpu::GPUModuleOp kernels, llvm::StringRef funcName)
      : kernels(kernels), funcName(funcName.str()) {}

  gpu::GPUModuleOp kernels;
  /// Buffer of an already placed tensor (function argument or earlier result).
  const BufferRef &buffer(Value v) const { return buffers.find(v)->second; }
  bool hasBuffer(Value v) const { return buffers.count(v); }
  void setBuffer(Value v, BufferRef ref) { buffers[v] = std::move(ref); }
  /// Places a result: a function output (`out` argument), else a workspace slice.
  const BufferRef &place(Value result, llvm::ArrayRef<std::string> dims);
  /// Places a result that updates `operand` in place (caches, states): it shares its buffer.
  const BufferRef &alias(Value result, Value operand) {
    return buffers[result] = buffers.find(operand)->second;
  }
  /// Scratch that no tensor names (partials of a split): a workspace slice of `bytes`.
  std::string scratch(llvm::StringRef bytes);
  /// A fresh kernel name: <func>_<stem>_<n>.
  std::string kernelName(llvm::StringRef stem) {
    return funcName + "_" + stem.str() + "_" + std::to_string(counter++);
  }
  void addLaunch(const LaunchStep &launch) { launches.push_back(launch.step); }
  /// Declares a plan symbol computed from earlier ones (tile counts chosen at launch from the
  /// actual sizes); returns its name, unique in the plan.
  std::string addSymbol(llvm::StringRef stem, llvm::StringRef expr) {
    std::string name = stem.str() + std::to_string(counter++);
    symbols.push_back(name + " expr " + expr.str());
    return name;
  }

  // Filled by the pass before the family lowerings run.
  llvm::DenseMap<Value, unsigned> outputs; ///< returned value -> bundle argument index
  std::string workspaceEnd = "0";         ///< bytes used so far (an expression)
  llvm::SmallVector<Attribute> launches; ///< launch steps in order
  llvm::SmallVector<std::string> symbols; ///< expression symbols, after the argument dims

private:
  llvm::DenseMap<Value, BufferRef> buffers;
  std::string funcName;
  unsigned counter = 0;
};

/// Dim `i` of an operand's buffer, as an expression.
inline const std::string &dimExpr(const PlanContext &ctx, Value v, unsigned i) {
  return ctx.buffer(v).dims[i];
}

// One lowering per op family (its own file). Each builds kernels, places results and appends
// its launches in order; failures are reported on the op.
LogicalResult lowerLabelOps(Operation *op, PlanContext &ctx);  // label_gather, label_append
LogicalResult lowerLabelScore(Operation *op, PlanContext &ctx);
LogicalResult lowerTopK(Operation *op, PlanContext &ctx);
LogicalResult lowerScoreTopK(Operation *op, PlanContext &ctx); // score_topk (label_score + topk)
LogicalResult lowerDecode(Operation *op, PlanContext &ctx);    // sparse_decode, dense_decode
LogicalResult lowerLinearAttn(Operation *op, PlanContext &ctx); // linear_attn_decode
LogicalResult lowerLinearAttnPrefill(Operation *op, PlanContext &ctx); // linear_attn_prefill

/// Linear attention's o = q S reduction, shared by the decode and the recurrent prefill kernels:
/// each thread holds a partial o (vector<4xf32>, columns `col`..`col + 3`) of its rows; the row
/// groups of a warp (lanes `lanesPerRow` apart) are summed with shuffles, the warps in `smem`
/// (warps * e floats), and threads t < e store o[oBase + t]. Ends after its barrier.
void emitLinearAttnOutput(KernelBuilder &kb, Value acc, Value col, int64_t lanesPerRow,
                          int64_t warps, int64_t e, Value smem, Value o, Value oBase);

} // namespace ds
} // namespace mlir

#endif // DS_CODEGEN_LOWERING_H
