#include "passes/ConfigOverride.h"

#include "dialect/DSDialect.h"
#include "dialect/DSOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"

#include <array>

using namespace mlir;
using namespace mlir::ds;

namespace {
/// The integer fields of #ds.kernel_config, in the order of its parameters (variant, the one
/// string field, sits between vector_width and occupancy), and where applyConfigOverride keeps
/// each while it builds the new attribute.
struct IntFields {
  int64_t blockTokens, warps, splits, stages, vectorWidth, occupancy, heads, clusterWarps,
      clusterStages;
};
struct IntField {
  llvm::StringLiteral name;
  int64_t IntFields::*member;
};
constexpr std::array<IntField, 9> kIntFields = {{
    {"block_tokens", &IntFields::blockTokens},
    {"warps", &IntFields::warps},
    {"splits", &IntFields::splits},
    {"stages", &IntFields::stages},
    {"vector_width", &IntFields::vectorWidth},
    {"occupancy", &IntFields::occupancy},
    {"heads", &IntFields::heads},
    {"cluster_warps", &IntFields::clusterWarps},
    {"cluster_stages", &IntFields::clusterStages},
}};
constexpr llvm::StringLiteral kVariant = "variant";

const IntField *intField(llvm::StringRef name) {
  for (const IntField &f : kIntFields)
    if (f.name == name)
      return &f;
  return nullptr;
}

/// The fields in the attribute's order.
std::string fieldList() {
  std::string s;
  for (const IntField &f : kIntFields) {
    s += (s.empty() ? "" : ", ") + f.name.str();
    if (f.name == "vector_width")
      s += ", " + kVariant.str();
  }
  return s;
}
} // namespace

std::optional<ConfigOverride> mlir::ds::parseConfigOverride(llvm::StringRef spec,
                                                            std::string &error) {
  const std::string quoted = "config override '" + spec.str() + "'";
  auto [lhs, value] = spec.split('=');
  if (lhs.size() == spec.size() || lhs.empty()) {
    error = quoted + ": expected <op>.<field>=<value>, e.g. topp.warps=16";
    return std::nullopt;
  }
  lhs = lhs.trim();
  value = value.trim();
  // Op names have no '.' but their optional "ds." prefix: "a.b.c" is no op and field.
  const size_t dot = lhs.find('.', lhs.starts_with("ds.") ? 3 : 0);
  if (dot == llvm::StringRef::npos || dot == 0 || dot + 1 == lhs.size() ||
      lhs.drop_front(dot + 1).contains('.')) {
    error = quoted + ": expected <op>.<field>=<value>, e.g. topp.warps=16";
    return std::nullopt;
  }
  ConfigOverride o;
  llvm::StringRef op = lhs.take_front(dot);
  o.op = op.starts_with("ds.") ? op.str() : "ds." + op.str();
  o.field = lhs.drop_front(dot + 1).str();
  if (o.field != kVariant && !intField(o.field)) {
    error = quoted + ": unknown field '" + o.field + "' (the fields: " + fieldList() + ")";
    return std::nullopt;
  }
  if (o.field == kVariant) {
    if (!llvm::all_of(value, [](char c) { return llvm::isAlnum(c) || c == '_' || c == '-'; })) {
      error = quoted + ": variant must be a name of letters, digits, '_' and '-' (or empty)";
      return std::nullopt;
    }
    o.text = value.str();
    return o;
  }
  if (value.getAsInteger(10, o.value)) {
    error = quoted + ": the value of '" + o.field + "' must be an integer, got '" + value.str() +
            "'";
    return std::nullopt;
  }
  return o;
}

std::optional<std::string>
mlir::ds::configOverridesError(llvm::ArrayRef<std::string> overrides) {
  if (overrides.empty())
    return std::nullopt;
  // The op must be one of the dialect's, and the value must pass the attribute's own check when
  // set, as the pass sets it (applyConfigOverride), on a config whose other fields it accepts:
  // both known before any compile.
  MLIRContext ctx(MLIRContext::Threading::DISABLED);
  ctx.loadDialect<DSDialect>();
  std::string diagnostic;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    diagnostic = d.str();
    return success();
  });
  const KernelConfigAttr neutral = KernelConfigAttr::get(&ctx, 1, 1, 1, 1, 1);
  for (const std::string &text : overrides) {
    std::string error;
    std::optional<ConfigOverride> o = parseConfigOverride(text, error);
    if (!o)
      return error;
    const std::string quoted = "config override '" + text + "'";
    if (!RegisteredOperationName::lookup(o->op, &ctx))
      return quoted + ": '" + o->op + "' is not an op of the ds dialect";
    if (!applyConfigOverride(neutral, *o, [&] { return emitError(UnknownLoc::get(&ctx)); }))
      return quoted + ": " + diagnostic;
  }
  return std::nullopt;
}

KernelConfigAttr
mlir::ds::applyConfigOverride(KernelConfigAttr c, const ConfigOverride &o,
                              llvm::function_ref<InFlightDiagnostic()> emitError) {
  IntFields v{c.getBlockTokens(), c.getWarps(),     c.getSplits(),       c.getStages(),
              c.getVectorWidth(), c.getOccupancy(), c.getHeads(),        c.getClusterWarps(),
              c.getClusterStages()};
  llvm::StringRef variant = c.getVariant();
  if (o.field == kVariant)
    variant = o.text;
  else if (const IntField *f = intField(o.field))
    v.*(f->member) = o.value;
  return KernelConfigAttr::getChecked(emitError, c.getContext(), v.blockTokens, v.warps, v.splits,
                                      v.stages, v.vectorWidth, variant, v.occupancy, v.heads,
                                      v.clusterWarps, v.clusterStages);
}

LogicalResult mlir::ds::checkOverridesMatch(func::FuncOp func,
                                            ArrayRef<ConfigOverride> overrides) {
  if (overrides.empty())
    return success();
  SmallVector<Operation *> ops;
  func.walk([&](Operation *op) {
    if (op->getDialect() && isa<DSDialect>(op->getDialect()))
      ops.push_back(op);
  });
  // Besides what overrideApplies maps, a decode op's merge is made by the split with a config of
  // its own: its override is kept for the pass after the split.
  const bool unsplitDecode = llvm::any_of(ops, llvm::IsaPred<SparseDecodeOp, DenseDecodeOp>);
  for (const ConfigOverride &o : overrides) {
    if (llvm::any_of(ops, [&](Operation *op) { return overrideApplies(op, o); }) ||
        (unsplitDecode && o.op == DecodeMergeOp::getOperationName()))
      continue;
    llvm::SmallSetVector<StringRef, 8> names; // the function's ds ops, each once, in order
    for (Operation *op : ops)
      names.insert(op->getName().getStringRef());
    const std::string have = llvm::join(names, ", ");
    return func.emitError() << "ds-select-kernel-config: config override of '" << o.op
                            << "': the function has no such op (it has: "
                            << (have.empty() ? std::string("no ds op") : have) << ")";
  }
  return success();
}

bool mlir::ds::overrideApplies(Operation *op, const ConfigOverride &o) {
  StringRef name = op->getName().getStringRef();
  if (name == o.op)
    return true;
  if (auto partial = dyn_cast<DecodePartialOp>(op))
    return o.op == (partial.getIndices() ? SparseDecodeOp::getOperationName()
                                         : DenseDecodeOp::getOperationName());
  return isa<SparseDecodeOp, DenseDecodeOp>(op) && o.op == DecodePartialOp::getOperationName();
}
