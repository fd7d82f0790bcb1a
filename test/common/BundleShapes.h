// Argument shapes of a bundle from chosen sizes, for tests that plan or launch a bundle at sizes
// of their choosing (an empty batch, a zero-sized dim): every argument-dim symbol is `other`
// except symbol `zero` (-1: none), which is 0; derived symbols are evaluated in order and each
// argument's dims from its declared expressions. Host-only, header-only.
#pragma once

#include "runtime/Bundle.h"

#include <cstdint>
#include <vector>

namespace ds::test {

struct BundleShapes {
  std::vector<int64_t> symbols;           ///< one value per bundle symbol
  std::vector<std::vector<int64_t>> dims; ///< one shape per bundle argument
};

inline rt::Expected<BundleShapes> bundleShapes(const rt::Bundle &b, int zero, int64_t other) {
  BundleShapes s;
  s.symbols.assign(b.symbols.size(), 0);
  for (size_t i = 0; i < b.symbols.size(); ++i) {
    const rt::Symbol &sym = b.symbols[i];
    if (sym.kind == rt::Symbol::Kind::ArgDim) {
      s.symbols[i] = static_cast<int>(i) == zero ? 0 : other;
      continue;
    }
    rt::Expected<int64_t> v = sym.expr.eval(s.symbols);
    if (!v.ok())
      return rt::Status::error("symbol '" + sym.name + "': " + v.message());
    s.symbols[i] = *v;
  }
  for (const rt::ArgSpec &a : b.args) {
    std::vector<int64_t> &dims = s.dims.emplace_back();
    for (const rt::Expr &e : a.dims) {
      rt::Expected<int64_t> v = e.eval(s.symbols);
      if (!v.ok())
        return rt::Status::error("argument '" + a.name + "': " + v.message());
      dims.push_back(*v);
    }
  }
  return s;
}

/// The index of the symbol bound to dim `dim` of argument `arg`, or -1.
inline int argDimSymbol(const rt::Bundle &b, int arg, int dim) {
  for (size_t i = 0; i < b.symbols.size(); ++i)
    if (b.symbols[i].kind == rt::Symbol::Kind::ArgDim && b.symbols[i].arg == arg &&
        b.symbols[i].dim == dim)
      return static_cast<int>(i);
  return -1;
}

inline int64_t numel(const std::vector<int64_t> &dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

} // namespace ds::test
