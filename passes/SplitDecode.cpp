// ds-split-decode: dense_decode / sparse_decode -> decode_partial (split-K online-softmax
// partials) + decode_merge. The split count stays a launch-time choice bounded by the config.
#include "dialect/DSOps.h"
#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace ds {
#define GEN_PASS_DEF_SPLITDECODEPASS
#include "passes/Passes.h.inc"
} // namespace ds
} // namespace mlir

using namespace mlir;
using namespace mlir::ds;

namespace {
template <typename DecodeOp> struct SplitDecode final : OpRewritePattern<DecodeOp> {
  using OpRewritePattern<DecodeOp>::OpRewritePattern;
  LogicalResult matchAndRewrite(DecodeOp op, PatternRewriter &rewriter) const override {
    auto qType = cast<RankedTensorType>(op.getQ().getType());
    int64_t b = qType.getDimSize(0), hq = qType.getDimSize(1), d = qType.getDimSize(2);
    Type f32 = rewriter.getF32Type();
    auto accType = RankedTensorType::get({b, hq, ShapedType::kDynamic, d}, f32);
    auto mlType = RankedTensorType::get({b, hq, ShapedType::kDynamic, 2}, f32);
    Value indices, weights;
    Granularity granularity = Granularity::token;
    int64_t denseBelow = 0;
    if constexpr (std::is_same_v<DecodeOp, SparseDecodeOp>) {
      indices = op.getIndices();
      weights = op.getLogWeights();
      granularity = op.getGranularity();
      denseBelow = op.getDenseBelow();
    }
    auto partial = DecodePartialOp::create(
        rewriter, op.getLoc(), accType, mlType, op.getQ(), op.getKCache(), op.getVCache(),
        op.getPageTable(), op.getSeqLens(), indices, weights, op.getScaleAttr(),
        op.getSoftCapAttr(), GranularityAttr::get(op.getContext(), granularity),
        rewriter.getI64IntegerAttr(denseBelow), op.getConfigAttr());
    rewriter.replaceOpWithNewOp<DecodeMergeOp>(op, op.getO().getType(), partial.getAcc(),
                                               partial.getMl(), KernelConfigAttr());
    return success();
  }
};

struct SplitDecodePass final : public ds::impl::SplitDecodePassBase<SplitDecodePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateSplitDecodePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace

void mlir::ds::populateSplitDecodePatterns(RewritePatternSet &patterns) {
  patterns.add<SplitDecode<DenseDecodeOp>, SplitDecode<SparseDecodeOp>>(patterns.getContext());
}
