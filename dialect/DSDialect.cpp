#include "dialect/DSDialect.h"
#include "dialect/DSAttrs.h"
#include "dialect/DSOps.h"
#include "dialect/DSTarget.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectRegistry.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::ds;

#include "dialect/DSDialect.cpp.inc"
#include "dialect/DSEnums.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "dialect/DSAttrs.cpp.inc"

void DSDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialect/DSOps.cpp.inc"
      >();
  registerAttributes();
}

void DSDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialect/DSAttrs.cpp.inc"
      >();
}

LogicalResult
KernelConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError, int64_t blockTokens,
                         int64_t warps, int64_t splits, int64_t stages, int64_t vectorWidth,
                         StringRef variant, int64_t occupancy, int64_t heads,
                         int64_t clusterWarps, int64_t clusterStages) {
  // Upper bounds far above any kernel's (the families check their own) keep every product a
  // builder forms from the fields inside int64_t.
  if (blockTokens < 1 || blockTokens > kMaxConfigBlockTokens)
    return emitError() << "kernel_config: block_tokens must be in [1, " << kMaxConfigBlockTokens
                       << "], got " << blockTokens;
  if (warps < 1 || warps > 32)
    return emitError() << "kernel_config: warps must be in [1, 32], got " << warps;
  if (splits < 1 || splits > kMaxConfigSplits)
    return emitError() << "kernel_config: splits must be in [1, " << kMaxConfigSplits << "], got "
                       << splits;
  if (stages < 1 || stages > kMaxConfigStages)
    return emitError() << "kernel_config: stages must be in [1, " << kMaxConfigStages << "], got "
                       << stages;
  if (vectorWidth < 1 || vectorWidth > 32 || (vectorWidth & (vectorWidth - 1)))
    return emitError() << "kernel_config: vector_width must be a power of two in [1, 32], got "
                       << vectorWidth;
  if (occupancy < 0 || occupancy > 32)
    return emitError() << "kernel_config: occupancy must be in [0, 32], got " << occupancy;
  if (heads < 0 || heads > kMaxConfigHeads)
    return emitError() << "kernel_config: heads must be in [0, " << kMaxConfigHeads << "], got "
                       << heads;
  if (clusterWarps < 0 || clusterWarps > 32)
    return emitError() << "kernel_config: cluster_warps must be in [0, 32], got " << clusterWarps;
  if (clusterStages < 0 || clusterStages > kMaxConfigStages)
    return emitError() << "kernel_config: cluster_stages must be in [0, " << kMaxConfigStages
                       << "], got " << clusterStages;
  return success();
}

LogicalResult TargetAttr::verify(function_ref<InFlightDiagnostic()> emitError, StringRef chip,
                                 int64_t smCount, int64_t smemPerBlock, int64_t regsPerSM,
                                 int64_t l2Bytes, int64_t ptx) {
  const ChipInfo *info = lookupChip(chip);
  if (!info)
    return emitError() << "target: chip '" << chip << "' is not supported (supported: "
                       << supportedChipList() << ")";
  if (smCount < 1 || smCount > kMaxSMCount)
    return emitError() << "target: sm_count must be in [1, " << kMaxSMCount << "], got "
                       << smCount;
  if (smemPerBlock < kStaticSmemBytes || regsPerSM < 1 || l2Bytes < 0)
    return emitError() << "target: smem_per_block must be >= 49152 and regs_per_sm >= 1";
  if (ptx < info->ptx)
    return emitError() << "target: " << chip << " needs PTX " << info->ptx / 10 << "."
                       << info->ptx % 10 << " or newer, got ptx = " << ptx;
  return success();
}

void mlir::ds::registerDSDialects(DialectRegistry &registry) { registry.insert<DSDialect>(); }
