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

/// How a label cache stores its labels: bf16/f16, fp8 (f8E4M3FN) or int4 (8 per i32 word); the
/// low-bit formats carry per-(kv head, slot) f16 scales (ds.label_append).
enum class LabelFormat { Plain, FP8, Int4 };
/// The format of a label cache whose element type is `t`.
LabelFormat labelFormatOf(Type t);
/// Labels per element of the cache's last dim: 8 for int4 words, else 1.
inline int64_t labelsPerElement(LabelFormat f) { return f == LabelFormat::Int4 ? 8 : 1; }
/// i32 words of an int4 key record (ds.int4_append / ds.int4_score, one per slot and kv head):
/// d / 8 of 4-bit values, then four of f16 scales (d / 32 <= 8 of them), 16-byte aligned.
inline int64_t int4RecordWords(int64_t headDim) { return headDim / 8 + 4; }
/// Query heads of an attention op at most (its verifier's bound: kernels unroll over a group's
/// heads; the JIT's specs refuse more by field).
constexpr int64_t kMaxQueryHeads = 1024;
/// The largest head count, head / key / value / label dim or page size the ops accept (their
/// verifiers' bound: the kernels multiply such dims into 64-bit offsets; the specs refuse more
/// by field).
constexpr int64_t kMaxStructuralDim = 65536;
/// k of a top-k selection at most (topk, score_topk, page_score_topk: the GPU lowering's bound).
constexpr int64_t kMaxTopK = int64_t(1) << 30;
} // namespace ds
} // namespace mlir

#include "dialect/DSInterfaces.h.inc"

#define GET_OP_CLASSES
#include "dialect/DSOps.h.inc"

#endif // DS_DIALECT_DSOPS_H
