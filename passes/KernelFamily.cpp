#include "passes/KernelFamily.h"
#include "dialect/DSTarget.h"

#include "llvm/ADT/StringMap.h"

#include <memory>
#include <mutex>

using namespace mlir;
using namespace mlir::ds;

namespace {
struct Registry {
  std::mutex mutex;
  std::vector<std::unique_ptr<KernelFamily>> families;
  llvm::StringMap<const KernelFamily *> byOp;
};
Registry &registry() {
  static Registry r;
  return r;
}
} // namespace

void mlir::ds::registerKernelFamily(KernelFamily family) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.families.push_back(std::make_unique<KernelFamily>(std::move(family)));
  for (const std::string &op : r.families.back()->ops)
    r.byOp[op] = r.families.back().get();
}

const KernelFamily *mlir::ds::lookupKernelFamily(Operation *op) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.byOp.find(op->getName().getStringRef());
  return it == r.byOp.end() ? nullptr : it->second;
}

InFlightDiagnostic mlir::ds::configError(Operation *op, llvm::StringRef field) {
  InFlightDiagnostic d = op->emitOpError();
  d << "config field '" << field << "' ";
  return d;
}

LogicalResult mlir::ds::expectConfigField(Operation *op, llvm::StringRef field, int64_t value,
                                          int64_t expected, llvm::StringRef why) {
  if (value == expected)
    return success();
  return configError(op, field) << "must be " << expected << " (" << why << "), got " << value;
}

FailureOr<KernelConfigAttr> mlir::ds::requireKernelConfig(Operation *op) {
  const KernelFamily *family = lookupKernelFamily(op);
  if (!family)
    return op->emitOpError("has no GPU lowering yet"), failure();
  auto cfg = op->getAttrOfType<KernelConfigAttr>("config");
  if (!cfg)
    return op->emitOpError("has no 'config' attribute: run ds-select-kernel-config first"),
           failure();
  FailureOr<TargetAttr> target = requireTarget(op);
  if (failed(target))
    return failure();
  if (failed(family->verify(op, cfg, *target)))
    return failure();
  return cfg;
}
