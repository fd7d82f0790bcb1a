#ifndef DS_PASSES_KERNELFAMILY_H
#define DS_PASSES_KERNELFAMILY_H

// The seam between the ds ops and their kernels. A family (label ops, top-k, decode, ...) is
// registered once, from its own codegen file, with the three things the compiler asks of it:
// the config it chooses for an op on a target, whether its kernels can build a given config,
// and the kernels themselves. ds-select-kernel-config and ds-lower-to-kernels find the family
// of an op by its name; neither has a per-op switch.
#include "dialect/DSAttrs.h"

#include "mlir/IR/Operation.h"
#include "llvm/ADT/SmallVector.h"

#include <functional>
#include <string>

namespace mlir {
namespace ds {

class PlanContext; // codegen/Lowering.h

struct KernelFamily {
  std::string name;
  /// Operation names of the family's ops ("ds.topk").
  llvm::SmallVector<std::string> ops;
  /// The tuning decision: the config of `op` on `target`. Called before `verify`, for any op the
  /// dialect's verifier accepts: on a shape the kernels do not take it still returns a config
  /// (which `verify` then refuses, naming the shape), never assuming what `verify` checks.
  std::function<KernelConfigAttr(Operation *op, TargetAttr target)> choose;
  /// Succeeds when the family's kernels build exactly `config` for `op` on `target`; otherwise
  /// emits the reason on `op` (which field, what the kernels support).
  std::function<LogicalResult(Operation *op, KernelConfigAttr config, TargetAttr target)> verify;
  /// Builds the kernels of `op` and its launch steps.
  std::function<LogicalResult(Operation *op, PlanContext &ctx)> lower;
};

/// Registers a family (once, at start-up; codegen/Families.cpp registers them all).
void registerKernelFamily(KernelFamily family);
/// The family of `op`, or null when no family builds it.
const KernelFamily *lookupKernelFamily(Operation *op);

/// The op's config, verified by its family against the function's target; emits an error on
/// `op` and fails when it is missing or cannot be built. Builders call this first.
FailureOr<KernelConfigAttr> requireKernelConfig(Operation *op);

/// Verification helper for families: `field` of `config` must be `expected` (the kernels build
/// nothing else); emits "config field 'F' must be E (why), got V" on `op`.
LogicalResult expectConfigField(Operation *op, llvm::StringRef field, int64_t value,
                                int64_t expected, llvm::StringRef why);
/// Emits "config field 'F' ..." with a free-form reason.
InFlightDiagnostic configError(Operation *op, llvm::StringRef field);

} // namespace ds
} // namespace mlir

#endif // DS_PASSES_KERNELFAMILY_H
