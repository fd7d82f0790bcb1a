#ifndef DS_PASSES_KERNELCONFIG_H
#define DS_PASSES_KERNELCONFIG_H

#include "dialect/DSAttrs.h"
#include "mlir/IR/Operation.h"

namespace mlir {
namespace ds {

/// Hardware facts the tiling heuristics need, from the pass options or the JIT spec.
struct TargetInfo {
  int64_t smCount = 132;
  int64_t chipVersion = 90; // sm_XY -> XY
};

/// ds.score_topk: at most this many scores of a row stay in shared memory (48K floats, 192 KB:
/// with the radix histogram within the H100's 227 KB opt-in limit); the config may choose fewer.
constexpr int64_t kScoreSmemTokens = 48 * 1024;
/// Static shared memory of the radix select that the score buffer shares the SM with (16 KB of
/// histogram, warp sums and counters, rounded up).
constexpr int64_t kRadixSelectSmemBytes = 17 * 1024;
/// ds.score_topk: entries (key, position) of the candidate list the select compacts the
/// threshold's top-digit bucket into, in dynamic shared memory after the scores (8 bytes each).
constexpr int64_t kSelectListEntries = 2048;

/// Parses "sm_90" / "sm_90a" / "sm_80"; fails for anything older than sm_80.
FailureOr<int64_t> parseChip(llvm::StringRef chip);

/// The heuristic choice for `op` (a ds op) on `target`.
KernelConfigAttr chooseKernelConfig(Operation *op, const TargetInfo &target);

/// The config an op carries; a lowering calls this and fails loudly when it is missing.
FailureOr<KernelConfigAttr> requireKernelConfig(Operation *op);

} // namespace ds
} // namespace mlir

#endif // DS_PASSES_KERNELCONFIG_H
