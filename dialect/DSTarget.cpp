#include "dialect/DSTarget.h"

#include "mlir/IR/Operation.h"

using namespace mlir;
using namespace mlir::ds;

llvm::ArrayRef<ChipInfo> mlir::ds::supportedChips() {
  // PTX 8.0 for Ampere/Ada/Hopper (what every kernel was measured with); Blackwell needs the
  // PTX version that introduced it (8.6 for sm_100, 8.7 for sm_120). Shared memory is the
  // per-block opt-in limit of the CUDA programming guide's table.
  static const ChipInfo chips[] = {
      {"sm_80", 80, 80, 163 * 1024, 65536, 40 << 20},
      {"sm_86", 86, 80, 99 * 1024, 65536, 6 << 20},
      {"sm_89", 89, 80, 99 * 1024, 65536, 72 << 20},
      {"sm_90", 90, 80, 227 * 1024, 65536, 50 << 20},
      {"sm_90a", 90, 80, 227 * 1024, 65536, 50 << 20},
      {"sm_100", 100, 86, 227 * 1024, 65536, 126 << 20},
      {"sm_100a", 100, 86, 227 * 1024, 65536, 126 << 20},
      {"sm_120", 120, 87, 99 * 1024, 65536, 96 << 20},
      {"sm_120a", 120, 87, 99 * 1024, 65536, 96 << 20},
  };
  return chips;
}

const ChipInfo *mlir::ds::lookupChip(llvm::StringRef chip) {
  for (const ChipInfo &c : supportedChips())
    if (c.name == chip)
      return &c;
  return nullptr;
}

std::string mlir::ds::supportedChipList() {
  std::string s;
  for (const ChipInfo &c : supportedChips())
    s += (s.empty() ? "" : ", ") + c.name.str();
  return s;
}

FailureOr<TargetAttr> mlir::ds::makeTarget(MLIRContext *ctx, const TargetOptions &o,
                                           std::string &error) {
  const ChipInfo *chip = lookupChip(o.chip);
  if (!chip) {
    error = "option 'chip': '" + o.chip + "' is not supported (supported: " +
            supportedChipList() + ")";
    return failure();
  }
  if (o.smCount < 1 || o.smCount > kMaxSMCount) {
    error = "option 'sm-count' must be in [1, " + std::to_string(kMaxSMCount) + "], got " +
            std::to_string(o.smCount);
    return failure();
  }
  auto pick = [](int64_t given, int64_t fallback) { return given > 0 ? given : fallback; };
  const int64_t smem = pick(o.smemPerBlock, chip->smemPerBlock);
  // As TargetAttr::verify requires (an attribute made without it printed, then failed to parse).
  if (smem < kStaticSmemBytes) {
    error = "option 'smem-per-block' must be at least 49152 (the 48 KB any block may use), got " +
            std::to_string(smem);
    return failure();
  }
  return TargetAttr::get(ctx, chip->name, o.smCount, smem, pick(o.regsPerSM, chip->regsPerSM),
                         pick(o.l2Bytes, chip->l2Bytes), chip->ptx);
}

FailureOr<TargetAttr> mlir::ds::requireTarget(Operation *op) {
  for (Operation *p = op; p; p = p->getParentOp())
    if (auto t = p->getAttrOfType<TargetAttr>("ds.target"))
      return t;
  return op->emitOpError("has no target ('ds.target' on its function): run "
                         "ds-select-kernel-config first"),
         failure();
}
