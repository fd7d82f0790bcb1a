#ifndef DS_DIALECT_DSATTRS_H
#define DS_DIALECT_DSATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "dialect/DSDialect.h"

#include "dialect/DSEnums.h.inc"
#define GET_ATTRDEF_CLASSES
#include "dialect/DSAttrs.h.inc"

#endif // DS_DIALECT_DSATTRS_H
