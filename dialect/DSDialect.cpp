#include "dialect/DSDialect.h"
#include "dialect/DSAttrs.h"
#include "dialect/DSOps.h"

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
                         int64_t warps, int64_t splits, int64_t stages, int64_t vectorWidth) {
  if (blockTokens < 1)
    return emitError() << "kernel_config: block_tokens must be >= 1, got " << blockTokens;
  if (warps < 1 || warps > 32)
    return emitError() << "kernel_config: warps must be in [1, 32], got " << warps;
  if (splits < 1)
    return emitError() << "kernel_config: splits must be >= 1, got " << splits;
  if (stages < 1)
    return emitError() << "kernel_config: stages must be >= 1, got " << stages;
  if (vectorWidth < 1 || vectorWidth > 16 || (vectorWidth & (vectorWidth - 1)))
    return emitError() << "kernel_config: vector_width must be a power of two in [1, 16], got "
                       << vectorWidth;
  return success();
}

void mlir::ds::registerDSDialects(DialectRegistry &registry) { registry.insert<DSDialect>(); }
