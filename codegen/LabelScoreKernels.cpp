#include "codegen/Lowering.h"

using namespace mlir;

LogicalResult mlir::ds::lowerLabelScore(Operation *op, PlanContext &ctx) {
  return op->emitOpError("has no GPU lowering yet");
}
