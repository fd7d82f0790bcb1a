// ds-select-kernel-config: the one place tuning choices are made.
#include "dialect/DSOps.h"
#include "passes/KernelConfig.h"
#include "passes/Passes.h"

#include "llvm/ADT/TypeSwitch.h"

namespace mlir {
namespace ds {
#define GEN_PASS_DEF_SELECTKERNELCONFIGPASS
#include "passes/Passes.h.inc"
} // namespace ds
} // namespace mlir

using namespace mlir;
using namespace mlir::ds;

FailureOr<int64_t> mlir::ds::parseChip(llvm::StringRef chip) {
  int64_t v = 0;
  if (!chip.consume_front("sm_"))
    return failure();
  chip.consume_back("a");
  if (chip.getAsInteger(10, v) || v < 80)
    return failure();
  return v;
}

/// Opt-in shared memory per block of a chip: 227 KB on sm_90 / sm_100, 163 KB on sm_80 / sm_87,
/// 99 KB on the others (sm_86, sm_89, sm_120).
static int64_t smemOptInBytes(int64_t chipVersion) {
  if (chipVersion == 90 || chipVersion == 100 || chipVersion == 103)
    return 227 * 1024;
  if (chipVersion == 80 || chipVersion == 87)
    return 163 * 1024;
  return 99 * 1024;
}

static int64_t elemBytes(Value v) {
  return cast<RankedTensorType>(v.getType()).getElementTypeBitWidth() / 8;
}
static int64_t dimOf(Value v, unsigned i) { return cast<RankedTensorType>(v.getType()).getDimSize(i); }

KernelConfigAttr mlir::ds::chooseKernelConfig(Operation *op, const TargetInfo &target) {
  MLIRContext *ctx = op->getContext();
  // 16-byte vectors along the contiguous dim, the widest that divides it.
  auto vectorFor = [](int64_t dim, int64_t bytes) {
    int64_t w = 16 / bytes;
    while (w > 1 && dim % w != 0)
      w /= 2;
    return w;
  };
  // Splits: enough CTAs to cover every SM a few times even when the batch is small; the
  // runtime launch plan caps it further from the actual batch (see codegen).
  int64_t splitsCap = std::max<int64_t>(1, target.smCount / 4);
  return llvm::TypeSwitch<Operation *, KernelConfigAttr>(op)
      .Case<DenseDecodeOp>([&](auto d) {
        int64_t hd = dimOf(d.getQ(), 2);
        return KernelConfigAttr::get(ctx, 64, 8, splitsCap, 2, vectorFor(hd, elemBytes(d.getQ())));
      })
      .Case<SparseDecodeOp, DecodePartialOp>([&](auto d) {
        int64_t hd = dimOf(d.getQ(), 2);
        return KernelConfigAttr::get(ctx, 64, 8, splitsCap, 2, vectorFor(hd, elemBytes(d.getQ())));
      })
      .Case<LabelScoreOp>([&](auto s) {
        int64_t r = dimOf(s.getQLabel(), 2);
        // 4 tokens per thread of 128 (8 label loads of 16 B in flight at r = 16): the best of the
        // variants measured on an H100 (2, 4 or 8 tokens; 128 or 256 threads).
        return KernelConfigAttr::get(ctx, 512, 4, 1, 1, vectorFor(r, elemBytes(s.getQLabel())));
      })
      .Case<TopKOp>([&](auto) { return KernelConfigAttr::get(ctx, 1024, 32, 1, 1, 4); })
      .Case<ScoreTopKOp>([&](auto s) {
        int64_t r = dimOf(s.getLabelCache(), 2);
        // One CTA of 1024 threads per row (the top-k's shape), 2 tokens scored per thread and
        // step; block_tokens = scores kept in shared memory, what the chip's opt-in shared
        // memory holds beside the 16 KB radix histogram and the query labels (longer rows go
        // through a workspace).
        int64_t qBytes = s.getGroupReduce() == GroupReduce::max
                             ? dimOf(s.getQLabel(), 1) / dimOf(s.getLabelCache(), 0) * r * 4
                             : 0;
        int64_t fit = (smemOptInBytes(target.chipVersion) - kRadixSelectSmemBytes -
                       8 * kSelectListEntries - qBytes) /
                      4;
        int64_t capacity = std::min(kScoreSmemTokens, fit / 1024 * 1024);
        return KernelConfigAttr::get(ctx, std::max<int64_t>(capacity, 1024), 32, 1, 2,
                                     vectorFor(r, elemBytes(s.getQLabel())));
      })
      .Case<LinearAttnPrefillOp>([&](auto p) {
        return KernelConfigAttr::get(ctx, p.getChunkSize(), 4, 1, 2, 8);
      })
      .Default([&](Operation *other) {
        // Elementwise-like ops (label/summary append, gathers): one warp per row, 16 B vectors.
        Value data = other->getNumOperands() ? other->getOperand(0) : Value();
        int64_t bytes = data && isa<RankedTensorType>(data.getType()) ? elemBytes(data) : 2;
        return KernelConfigAttr::get(ctx, 1, 4, 1, 1, 16 / std::clamp<int64_t>(bytes, 1, 16));
      });
}

FailureOr<KernelConfigAttr> mlir::ds::requireKernelConfig(Operation *op) {
  if (auto cfg = op->getAttrOfType<KernelConfigAttr>("config"))
    return cfg;
  return op->emitOpError("has no 'config' attribute: run ds-select-kernel-config first"),
         failure();
}

namespace {
struct SelectKernelConfigPass final
    : public ds::impl::SelectKernelConfigPassBase<SelectKernelConfigPass> {
  using Base::Base;
  void runOnOperation() override {
    FailureOr<int64_t> chipVersion = parseChip(chip);
    if (failed(chipVersion)) {
      getOperation().emitError() << "ds-select-kernel-config: option 'chip' must name sm_80 or "
                                    "newer (e.g. sm_90), got '"
                                 << chip << "'";
      return signalPassFailure();
    }
    if (smCount < 1) {
      getOperation().emitError() << "ds-select-kernel-config: option 'sm-count' must be >= 1";
      return signalPassFailure();
    }
    TargetInfo target{smCount, *chipVersion};
    getOperation().walk([&](Operation *op) {
      if (op->getDialect() && isa<DSDialect>(op->getDialect()) && !op->hasAttr("config"))
        op->setAttr("config", chooseKernelConfig(op, target));
    });
  }
};
} // namespace
