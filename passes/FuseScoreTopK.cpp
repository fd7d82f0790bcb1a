// ds-fuse-score-topk: topk(label_score(...), seq_lens) -> score_topk and
// topk(page_score(...), seq_lens) -> page_score_topk, so one kernel selects from scores it keeps
// on chip instead of a score array written to and read back from memory.
#include "dialect/DSOps.h"
#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace ds {
#define GEN_PASS_DEF_FUSESCORETOPKPASS
#include "passes/Passes.h.inc"
} // namespace ds
} // namespace mlir

using namespace mlir;
using namespace mlir::ds;

namespace {
/// A config on a producer (written by the user, or chosen by an earlier run of the config pass)
/// is a contract for that producer's kernel: fusing would drop it, so such ops stay apart.
bool hasConfig(Operation *op) { return op->hasAttr("config"); }

struct FuseScoreTopK final : OpRewritePattern<TopKOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TopKOp topk, PatternRewriter &rewriter) const override {
    auto score = topk.getScores().getDefiningOp<LabelScoreOp>();
    if (!score)
      return rewriter.notifyMatchFailure(topk, "scores do not come from ds.label_score");
    if (!score.getScores().hasOneUse())
      return rewriter.notifyMatchFailure(topk, "the scores have other uses");
    if (score.getCandidates())
      return rewriter.notifyMatchFailure(topk, "the scores are of a candidate list");
    if (topk.getLens() != score.getSeqLens())
      return rewriter.notifyMatchFailure(topk, "lens is not label_score's seq_lens");
    if (topk.getDivisor() != 1)
      return rewriter.notifyMatchFailure(topk, "divisor is not 1");
    if (hasConfig(score) || hasConfig(topk))
      return rewriter.notifyMatchFailure(topk, "a producer's config is given: its kernel stays");
    // topk clamps a row to the score dim N, label_score to min(N, max_pages * P): they agree
    // when N is dynamic (the lowering sizes it max_pages * P) or equals max_pages * P.
    int64_t n = cast<RankedTensorType>(score.getScores().getType()).getDimSize(2);
    int64_t maxPages = cast<RankedTensorType>(score.getPageTable().getType()).getDimSize(1);
    if (!ShapedType::isDynamic(n) &&
        (ShapedType::isDynamic(maxPages) ||
         n != maxPages * static_cast<int64_t>(score.getPageSize())))
      return rewriter.notifyMatchFailure(topk, "static score dim is not max_pages * page_size");
    // The fused kernel is tuned apart from either producer (neither has a config): its config
    // is chosen afresh.
    rewriter.replaceOpWithNewOp<ScoreTopKOp>(
        topk, topk.getIndices().getType(), score.getQLabel(), score.getLabelCache(),
        score.getLabelScales(), score.getPageTable(), score.getSeqLens(), Value(),
        score.getPageSizeAttr(),
        score.getScaleAttr(), score.getGroupReduceAttr(), topk.getKAttr(),
        topk.getKeepLastAttr(), KernelConfigAttr());
    rewriter.eraseOp(score);
    return success();
  }
};

/// topk(page_score(...), seq_lens) with divisor = page_size -> page_score_topk: Quest's page
/// bounds selected from shared memory (a row's length in pages is the same for both).
struct FusePageScoreTopK final : OpRewritePattern<TopKOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TopKOp topk, PatternRewriter &rewriter) const override {
    auto score = topk.getScores().getDefiningOp<PageScoreOp>();
    if (!score)
      return rewriter.notifyMatchFailure(topk, "scores do not come from ds.page_score");
    if (!score.getScores().hasOneUse())
      return rewriter.notifyMatchFailure(topk, "the scores have other uses");
    if (topk.getLens() != score.getSeqLens())
      return rewriter.notifyMatchFailure(topk, "lens is not page_score's seq_lens");
    if (topk.getDivisor() != score.getPageSize())
      return rewriter.notifyMatchFailure(topk, "divisor is not the page size");
    if (hasConfig(score) || hasConfig(topk))
      return rewriter.notifyMatchFailure(topk, "a producer's config is given: its kernel stays");
    rewriter.replaceOpWithNewOp<PageScoreTopKOp>(
        topk, topk.getIndices().getType(), score.getQ(), score.getKmin(), score.getKmax(),
        score.getPageTable(), score.getSeqLens(), score.getPageSizeAttr(),
        score.getGroupReduceAttr(), topk.getKAttr(), topk.getKeepLastAttr(), KernelConfigAttr());
    rewriter.eraseOp(score);
    return success();
  }
};

/// score_topk(label_gather(q, channels), ...) -> score_topk(q, ..., channels): the query labels
/// are gathered by the scoring kernel itself (no q_label array, no gather kernel).
struct AbsorbLabelGather final : OpRewritePattern<ScoreTopKOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ScoreTopKOp op, PatternRewriter &rewriter) const override {
    if (op.getChannels())
      return rewriter.notifyMatchFailure(op, "already gathers its query labels");
    auto gather = op.getQLabel().getDefiningOp<LabelGatherOp>();
    if (!gather)
      return rewriter.notifyMatchFailure(op, "q_label does not come from ds.label_gather");
    if (!gather.getLabels().hasOneUse())
      return rewriter.notifyMatchFailure(op, "the query labels have other uses");
    if (hasConfig(gather))
      return rewriter.notifyMatchFailure(op, "the gather's config is given: its kernel stays");
    // A config on the score_topk (written by the user, or chosen by an earlier run of the config
    // pass) stays: its fields mean the same with `channels`, and the config pass checks it again.
    rewriter.modifyOpInPlace(op, [&] {
      op.getQLabelMutable().assign(gather.getX());
      op.getChannelsMutable().assign(gather.getChannels());
    });
    rewriter.eraseOp(gather);
    return success();
  }
};

struct FuseScoreTopKPass final : public ds::impl::FuseScoreTopKPassBase<FuseScoreTopKPass> {
  using FuseScoreTopKPassBase::FuseScoreTopKPassBase;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFuseScoreTopKPatterns(patterns, pageScore);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace

void mlir::ds::populateFuseScoreTopKPatterns(RewritePatternSet &patterns, bool pageScore) {
  patterns.add<FuseScoreTopK, AbsorbLabelGather>(patterns.getContext());
  if (pageScore)
    patterns.add<FusePageScoreTopK>(patterns.getContext());
}
