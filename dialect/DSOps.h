#ifndef DS_DIALECT_DSOPS_H
#define DS_DIALECT_DSOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/RegionKindInterface.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "dialect/DSAttrs.h"
#include "dialect/DSDialect.h"
#include "llvm/ADT/SmallVector.h"

namespace mlir {
namespace ds {
/// Dims (value, dim index) that an op requires to be equal.
using DimGroup = llvm::SmallVector<std::pair<Value, unsigned>, 4>;
} // namespace ds
} // namespace mlir

#include "dialect/DSInterfaces.h.inc"

#define GET_OP_CLASSES
#include "dialect/DSOps.h.inc"

#endif // DS_DIALECT_DSOPS_H
