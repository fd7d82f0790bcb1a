#include "codegen/PlanExpr.h"

#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cctype>

using namespace mlir::ds;

namespace {
bool is(const PlanExpr &e, int64_t v) { return e.constant() && *e.constant() == v; }
/// A symbol, a number or a call `f(...)` binds tighter than any operator: no parentheses needed.
bool atomic(const std::string &t) {
  size_t i = 0;
  while (i < t.size() && (std::isalnum(static_cast<unsigned char>(t[i])) || t[i] == '_'))
    ++i;
  if (i == t.size())
    return !t.empty();
  if (i == 0 || t[i] != '(' || t.back() != ')')
    return false;
  int depth = 0;
  for (size_t j = i; j < t.size(); ++j) {
    depth += t[j] == '(' ? 1 : t[j] == ')' ? -1 : 0;
    if (depth == 0 && j + 1 != t.size())
      return false; // f(a)+g(b)
  }
  return true;
}
std::string paren(const PlanExpr &e) {
  return e.constant() && *e.constant() >= 0 ? e.text()
         : atomic(e.text())                 ? e.text()
                                            : "(" + e.text() + ")";
}
/// Folds `fold(x, y)` when both are constants and it does not overflow.
template <typename Fold>
std::optional<int64_t> both(const PlanExpr &a, const PlanExpr &b, Fold fold) {
  if (!a.constant() || !b.constant())
    return std::nullopt;
  return fold(*a.constant(), *b.constant());
}
} // namespace

namespace mlir {
namespace ds {

PlanExpr operator+(const PlanExpr &a, const PlanExpr &b) {
  if (auto v = both(a, b, [](int64_t x, int64_t y) -> std::optional<int64_t> {
        int64_t r;
        return llvm::AddOverflow(x, y, r) ? std::nullopt : std::optional<int64_t>(r);
      }))
    return *v;
  if (is(b, 0))
    return a;
  if (is(a, 0))
    return b;
  return PlanExpr::symbol(paren(a) + "+" + paren(b));
}

PlanExpr operator-(const PlanExpr &a, const PlanExpr &b) {
  if (auto v = both(a, b, [](int64_t x, int64_t y) -> std::optional<int64_t> {
        int64_t r;
        return llvm::SubOverflow(x, y, r) ? std::nullopt : std::optional<int64_t>(r);
      }))
    return *v;
  if (is(b, 0))
    return a;
  return PlanExpr::symbol(paren(a) + "-" + paren(b));
}

PlanExpr operator*(const PlanExpr &a, const PlanExpr &b) {
  if (auto v = both(a, b, [](int64_t x, int64_t y) -> std::optional<int64_t> {
        int64_t r;
        return llvm::MulOverflow(x, y, r) ? std::nullopt : std::optional<int64_t>(r);
      }))
    return *v;
  if (is(a, 0) || is(b, 0))
    return 0;
  if (is(b, 1))
    return a;
  if (is(a, 1))
    return b;
  return PlanExpr::symbol(paren(a) + "*" + paren(b));
}

PlanExpr operator/(const PlanExpr &a, const PlanExpr &b) {
  if (auto v = both(a, b, [](int64_t x, int64_t y) -> std::optional<int64_t> {
        return y > 0 && x >= 0 ? std::optional<int64_t>(x / y) : std::nullopt;
      }))
    return *v;
  if (is(b, 1))
    return a;
  return PlanExpr::symbol(paren(a) + "/" + paren(b));
}

PlanExpr cdiv(const PlanExpr &a, const PlanExpr &b) {
  if (auto v = both(a, b, [](int64_t x, int64_t y) -> std::optional<int64_t> {
        return y > 0 && x >= 0 ? std::optional<int64_t>(x / y + (x % y != 0)) : std::nullopt;
      }))
    return *v;
  if (is(b, 1))
    return a;
  return PlanExpr::symbol("cdiv(" + a.text() + "," + b.text() + ")");
}

PlanExpr min(const PlanExpr &a, const PlanExpr &b) {
  if (auto v = both(a, b, [](int64_t x, int64_t y) { return std::optional<int64_t>(std::min(x, y)); }))
    return *v;
  return PlanExpr::symbol("min(" + a.text() + "," + b.text() + ")");
}

PlanExpr max(const PlanExpr &a, const PlanExpr &b) {
  if (auto v = both(a, b, [](int64_t x, int64_t y) { return std::optional<int64_t>(std::max(x, y)); }))
    return *v;
  return PlanExpr::symbol("max(" + a.text() + "," + b.text() + ")");
}

PlanExpr atMostGate(const PlanExpr &value, int64_t hi) {
  return min(max(PlanExpr(hi + 1) - value, 0), 1);
}

PlanExpr aboveGate(const PlanExpr &value, int64_t lo) { return min(max(value - lo, 0), 1); }

} // namespace ds
} // namespace mlir
