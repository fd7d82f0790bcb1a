#ifndef DS_DIALECT_DSATTRS_H
#define DS_DIALECT_DSATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "dialect/DSDialect.h"

#include "dialect/DSEnums.h.inc"
#define GET_ATTRDEF_CLASSES
#include "dialect/DSAttrs.h.inc"

#include <cstdint>

namespace mlir {
namespace ds {
/// The largest values #ds.kernel_config takes, far above what any kernel builds (2^24 tokens, 2^16
/// splits, 64 stages, 1024 heads): the families refuse most of the range, and builders' products
/// of these fields stay inside int64_t.
constexpr int64_t kMaxConfigBlockTokens = int64_t(1) << 24;
constexpr int64_t kMaxConfigSplits = int64_t(1) << 16;
constexpr int64_t kMaxConfigStages = 64;
constexpr int64_t kMaxConfigHeads = 1024;
} // namespace ds
} // namespace mlir

#endif // DS_DIALECT_DSATTRS_H
