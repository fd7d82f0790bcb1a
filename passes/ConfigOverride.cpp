#include "passes/ConfigOverride.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <array>

using namespace mlir;
using namespace mlir::ds;

namespace {
constexpr std::array<llvm::StringLiteral, 9> kFields = {
    "block_tokens", "warps", "splits", "stages", "vector_width",
    "variant", "occupancy", "heads", "cluster_warps"};

std::string fieldList() {
  std::string s;
  for (llvm::StringRef f : kFields)
    s += (s.empty() ? "" : ", ") + f.str();
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
  const size_t dot = lhs.rfind('.');
  if (dot == llvm::StringRef::npos || dot == 0 || dot + 1 == lhs.size()) {
    error = quoted + ": expected <op>.<field>=<value>, e.g. topp.warps=16";
    return std::nullopt;
  }
  ConfigOverride o;
  llvm::StringRef op = lhs.take_front(dot);
  o.op = op.starts_with("ds.") ? op.str() : "ds." + op.str();
  o.field = lhs.drop_front(dot + 1).str();
  if (!llvm::is_contained(kFields, llvm::StringRef(o.field))) {
    error = quoted + ": unknown field '" + o.field + "' (the fields: " + fieldList() + ")";
    return std::nullopt;
  }
  if (o.field == "variant") {
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
  for (const std::string &o : overrides) {
    std::string error;
    if (!parseConfigOverride(o, error))
      return error;
  }
  return std::nullopt;
}

KernelConfigAttr
mlir::ds::applyConfigOverride(KernelConfigAttr c, const ConfigOverride &o,
                              llvm::function_ref<InFlightDiagnostic()> emitError) {
  int64_t blockTokens = c.getBlockTokens(), warps = c.getWarps(), splits = c.getSplits(),
          stages = c.getStages(), vectorWidth = c.getVectorWidth(),
          occupancy = c.getOccupancy(), heads = c.getHeads(), clusterWarps = c.getClusterWarps();
  llvm::StringRef variant = c.getVariant();
  if (o.field == "block_tokens") blockTokens = o.value;
  else if (o.field == "warps") warps = o.value;
  else if (o.field == "splits") splits = o.value;
  else if (o.field == "stages") stages = o.value;
  else if (o.field == "vector_width") vectorWidth = o.value;
  else if (o.field == "variant") variant = o.text;
  else if (o.field == "occupancy") occupancy = o.value;
  else if (o.field == "heads") heads = o.value;
  else if (o.field == "cluster_warps") clusterWarps = o.value;
  return KernelConfigAttr::getChecked(emitError, c.getContext(), blockTokens, warps, splits,
                                      stages, vectorWidth, variant, occupancy, heads,
                                      clusterWarps);
}
