#ifndef DS_CODEGEN_LOWERING_H
#define DS_CODEGEN_LOWERING_H

// The contract between ds-lower-to-kernels and the per-family kernel builders.
#include "codegen/KernelBuilder.h"
#include "codegen/PlanExpr.h"
#include "passes/KernelFamily.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/MathExtras.h"

#include <limits>

namespace mlir {
namespace ds {

/// What the lowering of one function knows: where every tensor lives and how big it is.
class PlanContext {
public:
  PlanContext(gpu::GPUModuleOp kernels, llvm::StringRef funcName)
      : kernels(kernels), funcName(funcName.str()) {}

  gpu::GPUModuleOp kernels;
  // Buffers are returned by value: a reference into the map would dangle once a later insert
  // rehashes it.
  /// Buffer of an already placed tensor (function argument or earlier result).
  BufferRef buffer(Value v) const {
    auto it = buffers.find(v);
    assert(it != buffers.end() && "tensor used before it was placed");
    return it->second;
  }
  bool hasBuffer(Value v) const { return buffers.count(v); }
  void setBuffer(Value v, BufferRef ref) { buffers[v] = std::move(ref); }
  /// Places a result: a function output (`out` argument), else a workspace slice.
  BufferRef place(Value result, llvm::ArrayRef<std::string> dims);
  /// Places a result that updates `operand` in place (caches, states): it shares its buffer.
  BufferRef alias(Value result, Value operand) {
    BufferRef ref = buffer(operand);
    buffers[result] = ref;
    return ref;
  }
  /// Scratch that no tensor names (partials of a split): a workspace slice of `bytes`.
  std::string scratch(llvm::StringRef bytes);
  /// A fresh kernel name: <func>_<stem>_<n>, n past any name the kernel module already holds
  /// (another function's kernels: @f's score_topk and @f_score's topk would both be
  /// f_score_topk_0).
  std::string kernelName(llvm::StringRef stem) {
    std::string name;
    do
      name = funcName + "_" + stem.str() + "_" + std::to_string(counter++);
    while (kernels.lookupSymbol(name));
    return name;
  }
  void addLaunch(const LaunchStep &launch) { launches.push_back(launch.step); }
  /// Declares a plan symbol computed from earlier ones (tile counts chosen at launch from the
  /// actual sizes); returns it as an expression (its name, unique in the plan; or the value itself
  /// when it folded to a constant).
  PlanExpr addSymbol(llvm::StringRef stem, const PlanExpr &expr) {
    if (expr.constant())
      return expr;
    std::string name = stem.str() + std::to_string(counter++);
    symbols.push_back(name + " expr " + expr.text());
    return PlanExpr::symbol(name);
  }

  /// A function argument no op of the pipeline updates in place: no kernel of the pipeline
  /// writes it, so a kernel may load it before its dependency wait (KernelBuilder::
  /// dependencyWait).
  bool isReadOnlyInput(Value v) const {
    return isa<BlockArgument>(v) && !updatedArgs.count(v);
  }

  // Filled by the pass before the family lowerings run.
  llvm::DenseMap<Value, unsigned> outputs; ///< returned value -> bundle argument index
  llvm::DenseSet<Value> updatedArgs;       ///< arguments some op updates in place
  std::string workspaceEnd = "0";         ///< bytes used so far (an expression)
  llvm::SmallVector<Attribute> launches; ///< launch steps in order
  llvm::SmallVector<std::string> symbols; ///< expression symbols, after the argument dims

private:
  llvm::DenseMap<Value, BufferRef> buffers;
  std::string funcName;
  unsigned counter = 0;
};

/// Static size of dim `i` of a ranked tensor value (ShapedType::kDynamic where dynamic).
inline int64_t dimOf(Value v, unsigned i) {
  return cast<RankedTensorType>(v.getType()).getDimSize(i);
}

/// a * b for non-negative sizes, INT64_MAX where it would overflow.
inline int64_t saturatingMul(int64_t a, int64_t b) {
  int64_t r;
  return llvm::MulOverflow(a, b, r) ? std::numeric_limits<int64_t>::max() : r;
}

/// The rows a launch may have over some dims of an op's operands, as their static sizes say:
/// `fewest` is their product (saturated), a dynamic dim counted as 1 (a launch of no rows
/// launches nothing); `exact` says whether every dim is static (then every launch has `fewest`).
struct StaticRows {
  int64_t fewest = 1;
  bool exact = true;
  /// Multiplies in dims `dims` of `v`.
  StaticRows &times(Value v, ArrayRef<unsigned> dims) {
    for (unsigned i : dims) {
      const int64_t size = dimOf(v, i);
      if (ShapedType::isDynamic(size))
        exact = false;
      else
        fewest = saturatingMul(fewest, size);
    }
    return *this;
  }
  StaticRows &times(int64_t factor) {
    fewest = saturatingMul(fewest, factor);
    return *this;
  }
};

/// Dim `i` of an operand's buffer, as an expression.
inline std::string dimExpr(const PlanContext &ctx, Value v, unsigned i) {
  return ctx.buffer(v).dims[i];
}

/// Dim `i` of an operand's buffer as a plan expression: a constant where the dim is static.
inline PlanExpr dimPlan(const PlanContext &ctx, Value v, unsigned i) {
  int64_t size = dimOf(v, i);
  return ShapedType::isDynamic(size) ? PlanExpr::symbol(dimExpr(ctx, v, i)) : PlanExpr(size);
}

// One registration per op family, each in the family's own file (its config choice, the check
// of a config against what its kernels build, and its kernels); codegen/Families.cpp calls them.
void registerLabelFamily();       // label_gather, label_append (LabelKernels.cpp)
void registerLabelScoreFamily();  // label_score (LabelScoreKernels.cpp)
void registerTopKFamily();        // topk (TopKKernels.cpp)
void registerScoreTopKFamily();   // score_topk (ScoreTopKKernels.cpp)
void registerDecodeFamily();      // dense/sparse_decode, decode_partial/merge (DecodeKernels.cpp)
void registerLinearAttnDecodeFamily();  // linear_attn_decode (LinearAttnKernels.cpp)
void registerLinearAttnPrefillFamily(); // linear_attn_prefill (LinearAttnPrefill.cpp)
void registerQuestFamily();       // page_summary(_append), page_score (QuestKernels.cpp)
void registerTopPFamily();        // topp (TopPKernels.cpp)
void registerSampleFamily();      // sample_residual (SampleKernels.cpp)
void registerInt4Family();        // int4_append, int4_score (Int4Kernels.cpp)
void registerExpandFamily();      // expand_pages (ExpandKernels.cpp)

/// The op's config. ds-lower-to-kernels has verified it against the op's family
/// (requireKernelConfig) before the family's `lower` runs, so builders only read it.
inline KernelConfigAttr configOf(Operation *op) {
  return cast<KernelConfigAttr>(op->getAttr("config"));
}

/// Registers every family above (once; safe to call again).
void registerKernelFamilies();

/// Config fields, for verifyUnusedConfigFields.
enum ConfigField : unsigned {
  kUseBlockTokens = 1, kUseWarps = 2, kUseSplits = 4, kUseStages = 8, kUseVectorWidth = 16, kUseVariant = 32,
  kUseOccupancy = 64, kUseHeads = 128, kUseClusterWarps = 256, kUseClusterStages = 512,
};
/// A family's kernels read the fields in `used`; every other field must hold its neutral value
/// (1; `variant` empty; `occupancy`, `heads`, `cluster_warps` and `cluster_stages` 0), since a
/// kernel cannot honour a field it does not read.
/// `why` says why they are not read (the family's default: its kernels never read them; a
/// family whose static sizes rule a kernel out says so).
LogicalResult verifyUnusedConfigFields(Operation *op, KernelConfigAttr cfg, unsigned used,
                                       const char *why = "the kernels do not read it");
/// `cfg.warps * 32` threads per block, for kernels that take any warp count in [lo, hi].
LogicalResult verifyWarps(Operation *op, KernelConfigAttr cfg, int64_t lo, int64_t hi);
/// `occupancy` (CTAs per SM the registers are capped for) reachable by blocks of `threads`: an
/// SM holds 2048 threads (ptxas drops an unreachable cap with a warning).
LogicalResult verifyOccupancy(Operation *op, KernelConfigAttr cfg, int64_t threads);

/// Value dims the f32-state kernels of linear attention tile (16-byte vectors, a row in one warp).
LogicalResult verifyLinearAttnValueDim(Operation *op, int64_t e);

/// Linear attention's o = q S reduction, shared by the decode and the recurrent prefill kernels:
/// each thread holds a partial o (vector<4xf32>, columns `col`..`col + 3`) of its rows; the row
/// groups of a warp (lanes `lanesPerRow` apart) are summed with shuffles, the warps in `smem`
/// (warps * e floats), and threads t < e store o[oBase + t]. Ends after its barrier.
void emitLinearAttnOutput(KernelBuilder &kb, Value acc, Value col, int64_t lanesPerRow,
                          int64_t warps, int64_t e, Value smem, Value o, Value oBase);

} // namespace ds
} // namespace mlir

#endif // DS_CODEGEN_LOWERING_H
