#ifndef DS_DIALECT_DSTARGET_H
#define DS_DIALECT_DSTARGET_H

// The one description of the GPU a pipeline is compiled for: the chips ds supports, with the
// facts the config pass and the backend need, and the `#ds.target` attribute built from them.
#include "dialect/DSAttrs.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace mlir {
namespace ds {

/// A supported chip and its defaults (used where the device is not there to be asked).
struct ChipInfo {
  llvm::StringRef name;   ///< "sm_90a"
  int64_t version;        ///< 90
  int64_t ptx;            ///< PTX ISA version the kernels are emitted for (80 = 8.0)
  int64_t smemPerBlock;   ///< opt-in shared memory of one block, bytes
  int64_t regsPerSM;      ///< 32-bit registers of one SM
  int64_t l2Bytes;        ///< L2 size of the chip's usual part
};

/// Every chip the pipeline accepts.
llvm::ArrayRef<ChipInfo> supportedChips();
/// The chip named `chip`, or null.
const ChipInfo *lookupChip(llvm::StringRef chip);
/// "sm_80, sm_86, ..." for error messages.
std::string supportedChipList();

/// Unit attribute ds-select-kernel-config puts on a function whose kernels use programmatic
/// dependent launch (sm_90+): every kernel lets the next one launch early
/// (griddepcontrol.launch_dependents) and every kernel after the first waits for the previous
/// one (griddepcontrol.wait) before it touches memory; those launches are marked `programmatic`.
constexpr llvm::StringLiteral kProgrammaticLaunchAttr = "ds.programmatic_launch";
/// The first chip version with griddepcontrol (programmatic dependent launch).
constexpr int64_t kProgrammaticLaunchVersion = 90;

/// What a compile is told about its target. Device facts left at 0 come from the chip's
/// defaults; the JIT fills them from the device it runs on.
struct TargetOptions {
  std::string chip;
  int64_t smCount = 0;
  int64_t smemPerBlock = 0, regsPerSM = 0, l2Bytes = 0;
};

/// Upper bound on --sm-count (no GPU has more; larger values are typos).
constexpr int64_t kMaxSMCount = 1024;

/// Shared memory every block may use without the dynamic opt-in: the bound on a kernel's static
/// `.shared` variables (ptxas refuses more) and the least `smem_per_block` a target may have.
constexpr int64_t kStaticSmemBytes = 48 * 1024;

/// The `#ds.target` of `options`, or an error message naming the bad option.
FailureOr<TargetAttr> makeTarget(MLIRContext *ctx, const TargetOptions &options,
                                 std::string &error);

/// The target a function was configured for (`ds.target`, set by ds-select-kernel-config);
/// emits an error on `op` and fails when it is missing.
FailureOr<TargetAttr> requireTarget(Operation *op);

} // namespace ds
} // namespace mlir

#endif // DS_DIALECT_DSTARGET_H
