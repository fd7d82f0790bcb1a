#ifndef DS_DIALECT_DSDIALECT_H
#define DS_DIALECT_DSDIALECT_H

#include "mlir/IR/Dialect.h"
#include "mlir/IR/DialectImplementation.h"

#include "dialect/DSDialect.h.inc"

namespace mlir {
class DialectRegistry;
namespace ds {
/// Registers the ds dialect (libraries expose this; only tools call registerAll...).
void registerDSDialects(DialectRegistry &registry);
} // namespace ds
} // namespace mlir

#endif // DS_DIALECT_DSDIALECT_H
