#ifndef DS_PASSES_PASSES_H
#define DS_PASSES_PASSES_H

#include "dialect/DSDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
namespace ds {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// ds.dense_decode / ds.sparse_decode -> ds.decode_partial + ds.decode_merge.
void populateSplitDecodePatterns(RewritePatternSet &patterns);

/// ds.topk(ds.label_score(...)) -> ds.score_topk where the scores have no other use (and with
/// `pageScore`, Quest's ds.topk(ds.page_score(...)) -> ds.page_score_topk).
void populateFuseScoreTopKPatterns(RewritePatternSet &patterns, bool pageScore = false);

/// Registers every ds pass (generated registerDSPasses) and the named pipelines.
void registerAllDSPasses();

} // namespace ds
} // namespace mlir

#endif // DS_PASSES_PASSES_H
