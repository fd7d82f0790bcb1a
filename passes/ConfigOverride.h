#ifndef DS_PASSES_CONFIGOVERRIDE_H
#define DS_PASSES_CONFIGOVERRIDE_H

// Config overrides: "<op>.<field>=<value>" sets one field of the config ds-select-kernel-config
// chose for every op of that name (`topp.warps=16`, `ds.sparse_decode.splits=4`,
// `linear_attn_prefill.variant=chunked`), in the order given. Tools take them as --config, ds-opt
// as the pass's `override` option; an override is checked like any config (the attribute's ranges,
// then the family refuses what its kernels cannot build), so a sweep over configs needs no
// rebuild of the compiler.
#include "dialect/DSAttrs.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace mlir {
namespace func {
class FuncOp;
} // namespace func
namespace ds {

struct ConfigOverride {
  /// Operation name with the dialect prefix ("ds.topp").
  std::string op;
  /// A #ds.kernel_config field: block_tokens, warps, splits, stages, vector_width, variant,
  /// occupancy, heads, cluster_warps, cluster_stages.
  std::string field;
  /// The value of an integer field.
  int64_t value = 0;
  /// The value of `variant`.
  std::string text;
};

/// Parses "<op>.<field>=<value>" (the op with or without "ds."); on failure returns nothing and
/// sets `error` to a message naming what is wrong (and the fields there are).
std::optional<ConfigOverride> parseConfigOverride(llvm::StringRef spec, std::string &error);

/// The first error among `overrides`, if any: each parsed by parseConfigOverride, its op one of
/// the ds dialect's, an integer value inside the field's range (KernelConfigAttr's verifier).
/// What the tools check before they compile or open a device; whether the function has the op
/// is checkOverridesMatch's (the config pass, and verifySource before a device is opened), and
/// whether its family can build the value the compile's to say.
std::optional<std::string> configOverridesError(llvm::ArrayRef<std::string> overrides);

/// `config` with the override's field set, checked by the attribute's verifier (a value outside
/// a field's range is reported through `emitError` and gives a null attribute).
KernelConfigAttr applyConfigOverride(KernelConfigAttr config, const ConfigOverride &o,
                                     llvm::function_ref<InFlightDiagnostic()> emitError);

/// Every override applies (overrideApplies) to an op of `func` as the config pass sees it (after
/// ds-fuse-score-topk), or names the decode_merge ds-split-decode will make from a decode op of
/// it; otherwise the error, on `func`, names the override's op and the ds ops `func` has.
LogicalResult checkOverridesMatch(func::FuncOp func, llvm::ArrayRef<ConfigOverride> overrides);

/// Whether the config pass sets `o`'s field on `op`: ops of the override's name, and across
/// ds-split-decode, the op the split makes from or turns into that one (a sparse_decode override
/// sets the partials of a sparse walk, with indices, a dense_decode one those without; a
/// decode_partial override sets the sparse_decode or dense_decode the partials inherit their
/// config from). In the compile pipeline, which runs the pass before and after the split, an
/// override is then applied on both sides of the split, to the same value; with ds-opt it takes
/// effect whichever side of the split the pass runs on, instead of being dropped.
bool overrideApplies(Operation *op, const ConfigOverride &o);

} // namespace ds
} // namespace mlir

#endif // DS_PASSES_CONFIGOVERRIDE_H
