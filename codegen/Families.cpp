// The kernel families of ds, one registration line each (a new family adds its line here).
#include "codegen/Lowering.h"

#include "llvm/Support/Threading.h"

using namespace mlir;
using namespace mlir::ds;

void mlir::ds::registerKernelFamilies() {
  static llvm::once_flag once;
  llvm::call_once(once, [] {
    registerLabelFamily();
    registerLabelScoreFamily();
    registerTopKFamily();
    registerScoreTopKFamily();
    registerDecodeFamily();
    registerLinearAttnDecodeFamily();
    registerLinearAttnPrefillFamily();
    registerQuestFamily();
    registerTopPFamily();
    registerSampleFamily();
    registerInt4Family();
    registerExpandFamily();
  });
}

LogicalResult mlir::ds::verifyUnusedConfigFields(Operation *op, KernelConfigAttr cfg,
                                                 unsigned used, const char *why) {
  struct Field {
    ConfigField bit;
    const char *name;
    int64_t value;
  } fields[] = {{kUseBlockTokens, "block_tokens", cfg.getBlockTokens()},
                {kUseWarps, "warps", cfg.getWarps()},
                {kUseSplits, "splits", cfg.getSplits()},
                {kUseStages, "stages", cfg.getStages()},
                {kUseVectorWidth, "vector_width", cfg.getVectorWidth()}};
  for (const Field &f : fields)
    if (!(used & f.bit) && failed(expectConfigField(op, f.name, f.value, 1, why)))
      return failure();
  if (!(used & kUseVariant) && !cfg.getVariant().empty())
    return configError(op, "variant") << "must be empty (the family has one kernel), got \""
                                      << cfg.getVariant() << "\"";
  if (!(used & kUseOccupancy) &&
      failed(expectConfigField(op, "occupancy", cfg.getOccupancy(), 0, why)))
    return failure();
  if (!(used & kUseHeads) && failed(expectConfigField(op, "heads", cfg.getHeads(), 0, why)))
    return failure();
  if (!(used & kUseClusterWarps) &&
      failed(expectConfigField(op, "cluster_warps", cfg.getClusterWarps(), 0, why)))
    return failure();
  if (!(used & kUseClusterStages))
    return expectConfigField(op, "cluster_stages", cfg.getClusterStages(), 0, why);
  return success();
}

LogicalResult mlir::ds::verifyOccupancy(Operation *op, KernelConfigAttr cfg, int64_t threads) {
  if (cfg.getOccupancy() * threads <= 2048)
    return success();
  return configError(op, "occupancy")
         << "(CTAs per SM the registers are capped for) times the block's " << threads
         << " threads must be at most 2048, got " << cfg.getOccupancy();
}

LogicalResult mlir::ds::verifyWarps(Operation *op, KernelConfigAttr cfg, int64_t lo, int64_t hi) {
  if (cfg.getWarps() >= lo && cfg.getWarps() <= hi)
    return success();
  return configError(op, "warps") << "must be in [" << lo << ", " << hi
                                  << "] for this kernel, got " << cfg.getWarps();
}
