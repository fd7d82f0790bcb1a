// ds-select-kernel-config: the one place tuning choices are made. Each op's family chooses its
// config from the op's shapes and the target (passes/KernelFamily.h); a config already on the op
// (a user override) is kept, and every config is checked against what the family's kernels build.
#include "dialect/DSOps.h"
#include "dialect/DSTarget.h"
#include "passes/ConfigOverride.h"
#include "passes/KernelFamily.h"
#include "passes/Passes.h"


namespace mlir {
namespace ds {
#define GEN_PASS_DEF_SELECTKERNELCONFIGPASS
#include "passes/Passes.h.inc"
} // namespace ds
} // namespace mlir

using namespace mlir;
using namespace mlir::ds;

namespace {
struct SelectKernelConfigPass final
    : public ds::impl::SelectKernelConfigPassBase<SelectKernelConfigPass> {
  using Base::Base;
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    TargetOptions options;
    options.chip = chip;
    options.smCount = smCount;
    options.smemPerBlock = smemPerBlock;
    options.regsPerSM = regsPerSM;
    options.l2Bytes = l2Bytes;
    std::string error;
    FailureOr<TargetAttr> target = makeTarget(&getContext(), options, error);
    if (failed(target)) {
      func.emitError() << "ds-select-kernel-config: " << error;
      return signalPassFailure();
    }
    // A function already configured keeps its target (the pass is idempotent); configuring it
    // again for another target is an error rather than a silent mix of two targets.
    if (auto existing = func->getAttrOfType<TargetAttr>("ds.target")) {
      if (existing != *target) {
        func.emitError() << "ds-select-kernel-config: the function is already configured for "
                         << existing << ", not " << *target;
        return signalPassFailure();
      }
    }
    func->setAttr("ds.target", *target);
    const ChipInfo *chip = lookupChip(target->getChip());
    const bool pdlChip = chip && chip->version >= kProgrammaticLaunchVersion;
    if (programmaticLaunch && pdlChip)
      func->setAttr(kProgrammaticLaunchAttr, UnitAttr::get(&getContext()));
    if (func->hasAttr(kProgrammaticLaunchAttr) && !pdlChip) {
      func.emitError() << "ds-select-kernel-config: " << kProgrammaticLaunchAttr
                       << " needs griddepcontrol (sm_90 or newer); the target is "
                       << target->getChip();
      return signalPassFailure();
    }
    SmallVector<ConfigOverride> parsed;
    for (const std::string &text : overrides) {
      std::string error;
      std::optional<ConfigOverride> o = parseConfigOverride(text, error);
      if (!o) {
        func.emitError() << "ds-select-kernel-config: " << error;
        return signalPassFailure();
      }
      parsed.push_back(std::move(*o));
    }
    if (failed(checkOverridesMatch(func, parsed)))
      return signalPassFailure();
    bool ok = true;
    func.walk([&](Operation *op) {
      if (!op->getDialect() || !isa<DSDialect>(op->getDialect()))
        return;
      const KernelFamily *family = lookupKernelFamily(op);
      if (!family)
        return; // ds-lower-to-kernels says it has no GPU lowering
      auto cfg = op->getAttrOfType<KernelConfigAttr>("config");
      if (!cfg) {
        cfg = family->choose(op, *target);
        op->setAttr("config", cfg);
      }
      for (const ConfigOverride &o : parsed) {
        if (!overrideApplies(op, o))
          continue;
        cfg = applyConfigOverride(cfg, o, [&] {
          return op->emitOpError() << "config override " << o.field << " = "
                                   << (o.field == "variant" ? o.text : std::to_string(o.value))
                                   << ": ";
        });
        if (!cfg) {
          ok = false;
          return;
        }
        op->setAttr("config", cfg);
      }
      if (failed(family->verify(op, cfg, *target)))
        ok = false;
    });
    if (!ok)
      signalPassFailure();
  }
};
} // namespace
