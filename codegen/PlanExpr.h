#ifndef DS_CODEGEN_PLANEXPR_H
#define DS_CODEGEN_PLANEXPR_H

// Launch-plan expressions (the bundle's expression language: integers, symbols, + - * /, cdiv,
// min, max; docs/bundle.md) built from typed pieces instead of concatenated strings. Operations on
// constants fold (`cdiv(256,64)` is `4`), neutral operands vanish (`x*1` is `x`) and `x*0` is
// `0` (expressions have no side effects), so a plan
// carries only what depends on runtime sizes.
#include <cstdint>
#include <optional>
#include <string>

namespace mlir {
namespace ds {

class PlanExpr {
public:
  PlanExpr(int64_t value) : text_(std::to_string(value)), value_(value) {}
  /// A symbol or any expression text of the bundle's language (not folded further).
  static PlanExpr symbol(std::string text) { return PlanExpr(std::move(text)); }

  const std::string &text() const { return text_; }
  std::optional<int64_t> constant() const { return value_; }

  friend PlanExpr operator+(const PlanExpr &a, const PlanExpr &b);
  friend PlanExpr operator-(const PlanExpr &a, const PlanExpr &b);
  friend PlanExpr operator*(const PlanExpr &a, const PlanExpr &b);
  /// Floor division of non-negative operands, as the runtime evaluates it.
  friend PlanExpr operator/(const PlanExpr &a, const PlanExpr &b);
  friend PlanExpr cdiv(const PlanExpr &a, const PlanExpr &b);
  friend PlanExpr min(const PlanExpr &a, const PlanExpr &b);
  friend PlanExpr max(const PlanExpr &a, const PlanExpr &b);

private:
  explicit PlanExpr(std::string text) : text_(std::move(text)) {}
  std::string text_;
  std::optional<int64_t> value_;
};

/// 1 when `value` is at most `hi` / above `lo`, and 0 otherwise: the gates that pick which
/// variant of a kernel the plan launches. They fold to 0 or 1 for a constant `value`, and a
/// product with a 0 gate is 0, so a variant that static sizes rule out has a constant 0 gate
/// (and is not built).
PlanExpr atMostGate(const PlanExpr &value, int64_t hi);
PlanExpr aboveGate(const PlanExpr &value, int64_t lo);

} // namespace ds
} // namespace mlir

#endif // DS_CODEGEN_PLANEXPR_H
