// Integer expressions over named runtime symbols, as used in kernel bundles.
//
// Grammar (whitespace between tokens is allowed and dropped):
//   expr    := term (('+' | '-') term)*
//   term    := unary (('*' | '/' | '%') unary)*
//   unary   := '-' unary | primary
//   primary := INTEGER | SYMBOL | ('cdiv' | 'min' | 'max') '(' expr ',' expr ')' | '(' expr ')'
// Arithmetic is int64 with C semantics (/ and % truncate toward zero); cdiv(a, b) is the ceiling
// of a / b. Division or remainder by zero and signed overflow are evaluation errors.
//
// An expression is parsed once into a postfix program over symbol indices and evaluated without
// allocation (except to build an error message).
#pragma once

#include "runtime/Status.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ds::rt {

/// True for [A-Za-z_][A-Za-z0-9_]* that is not a function name (cdiv, min, max).
bool isValidSymbolName(std::string_view name);

class Expr {
public:
  /// Most operands an expression may hold on its evaluation stack at once.
  static constexpr size_t kMaxStack = 64;
  /// Bytes of an expression's text at most, as given and in its canonical form: the compiler's
  /// longest is about 250, and rendering the canonical text copies each operator's left operand
  /// (a flat 1+1+...+1 of 1.3 MB took 27 s to parse).
  static constexpr size_t kMaxTextBytes = 4096;

  /// The constant 0.
  Expr() : Expr(int64_t(0)) {}
  /// A constant.
  Expr(int64_t value);

  /// Parses `text`; SYMBOL tokens resolve to their index in `symbols`. Errors (ErrorCode::Parse)
  /// name the text, the problem and the column, e.g. "unknown symbol 'X'".
  static Expected<Expr> parse(std::string_view text, Span<const std::string> symbols);

  /// Evaluates with symbol i bound to symbolValues[i].
  Expected<int64_t> eval(Span<const int64_t> symbolValues) const;
  /// Same, reporting through `out`; no allocation unless it fails.
  Status eval(Span<const int64_t> symbolValues, int64_t &out) const;

  /// Canonical text without whitespace, which parse() reads back to the same program
  /// (given the same symbol list).
  const std::string &text() const { return text_; }
  /// The value, if the expression uses no symbol.
  std::optional<int64_t> constantValue() const;
  /// Largest symbol index used, or -1.
  int maxSymbolIndex() const;

  bool operator==(const Expr &other) const { return code_ == other.code_; }
  bool operator!=(const Expr &other) const { return !(*this == other); }

  enum class OpKind : uint8_t { Const, Sym, Neg, Add, Sub, Mul, Div, Mod, Cdiv, Min, Max };
  struct Op {
    OpKind kind;
    int64_t value; ///< Constant, or symbol index.
    bool operator==(const Op &o) const { return kind == o.kind && value == o.value; }
  };
  const std::vector<Op> &code() const { return code_; }

private:
  std::vector<Op> code_;
  std::string text_;
};

} // namespace ds::rt
