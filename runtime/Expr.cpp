#include "runtime/Expr.h"

#include <cctype>
#include <limits>

namespace ds::rt {

namespace {

bool isFunctionName(std::string_view s) { return s == "cdiv" || s == "min" || s == "max"; }

struct Parser {
  std::string_view text;
  Span<const std::string> symbols;
  size_t pos = 0;
  int nesting = 0;
  std::vector<Expr::Op> code;
  size_t depth = 0, maxDepth = 0;
  std::string error; // first error

  bool fail(const std::string &what, size_t at) {
    if (error.empty())
      error = what + " at column " + std::to_string(at + 1);
    return false;
  }
  void skipSpace() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t'))
      ++pos;
  }
  bool peek(char c) {
    skipSpace();
    return pos < text.size() && text[pos] == c;
  }
  bool expect(char c) {
    if (peek(c)) {
      ++pos;
      return true;
    }
    return fail(std::string("expected '") + c + "'" +
                    (pos < text.size() ? std::string(", found '") + text[pos] + "'" : " before end"),
                pos);
  }
  bool emit(Expr::OpKind k, int64_t v = 0) {
    switch (k) {
    case Expr::OpKind::Const:
    case Expr::OpKind::Sym:
      if (++depth > maxDepth)
        maxDepth = depth;
      break;
    case Expr::OpKind::Neg:
      break;
    default:
      --depth;
    }
    if (maxDepth > Expr::kMaxStack)
      return fail("expression too complex", pos);
    code.push_back({k, v});
    return true;
  }

  bool parseExpr() {
    if (++nesting > 200)
      return fail("expression nested too deeply", pos);
    if (!parseTerm())
      return false;
    while (peek('+') || peek('-')) {
      char op = text[pos++];
      if (!parseTerm() || !emit(op == '+' ? Expr::OpKind::Add : Expr::OpKind::Sub))
        return false;
    }
    --nesting;
    return true;
  }
  bool parseTerm() {
    if (!parseUnary())
      return false;
    while (peek('*') || peek('/') || peek('%')) {
      char op = text[pos++];
      Expr::OpKind k = op == '*' ? Expr::OpKind::Mul : op == '/' ? Expr::OpKind::Div : Expr::OpKind::Mod;
      if (!parseUnary() || !emit(k))
        return false;
    }
    return true;
  }
  bool parseUnary() {
    if (peek('-')) {
      ++pos;
      if (++nesting > 200)
        return fail("expression nested too deeply", pos);
      if (!parseUnary())
        return false;
      --nesting;
      // Fold negated literals so "-5" is the constant -5.
      if (code.back().kind == Expr::OpKind::Const &&
          code.back().value != std::numeric_limits<int64_t>::min()) {
        code.back().value = -code.back().value;
        return true;
      }
      return emit(Expr::OpKind::Neg);
    }
    return parsePrimary();
  }
  bool parsePrimary() {
    skipSpace();
    if (pos >= text.size())
      return fail("expected a number, symbol or '(' before end", pos);
    char c = text[pos];
    size_t start = pos;
    if (std::isdigit(static_cast<unsigned char>(c))) {
      uint64_t v = 0;
      while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
        // Checked before the step: v * 10 + digit could wrap past 2^64 and read as a small value.
        const uint64_t digit = uint64_t(text[pos] - '0');
        if (v > (uint64_t(std::numeric_limits<int64_t>::max()) - digit) / 10)
          return fail("integer literal out of range", start);
        v = v * 10 + digit;
        ++pos;
      }
      if (pos < text.size() && (std::isalpha(static_cast<unsigned char>(text[pos])) || text[pos] == '_'))
        return fail("bad integer literal", start);
      return emit(Expr::OpKind::Const, int64_t(v));
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      while (pos < text.size() &&
             (std::isalnum(static_cast<unsigned char>(text[pos])) || text[pos] == '_'))
        ++pos;
      std::string_view name = text.substr(start, pos - start);
      if (isFunctionName(name)) {
        if (!expect('(') || !parseExpr() || !expect(',') || !parseExpr() || !expect(')'))
          return false;
        return emit(name == "cdiv"  ? Expr::OpKind::Cdiv
                    : name == "min" ? Expr::OpKind::Min
                                    : Expr::OpKind::Max);
      }
      for (size_t i = 0; i < symbols.size(); ++i)
        if (symbols[i] == name)
          return emit(Expr::OpKind::Sym, int64_t(i));
      return fail("unknown symbol '" + std::string(name) + "'", start);
    }
    if (c == '(') {
      ++pos;
      return parseExpr() && expect(')');
    }
    return fail(std::string("unexpected '") + c + "'", pos);
  }
};

// Precedence of rendered sub-expressions: 1 additive, 2 multiplicative, 3 unary, 4 atom.
struct Rendered {
  std::string text;
  int prec;
};

std::string render(const std::vector<Expr::Op> &code, Span<const std::string> symbols) {
  std::vector<Rendered> st;
  for (const Expr::Op &op : code) {
    switch (op.kind) {
    case Expr::OpKind::Const:
      if (op.value == std::numeric_limits<int64_t>::min())
        st.push_back({"(-9223372036854775807-1)", 4});
      else
        st.push_back({std::to_string(op.value), op.value < 0 ? 3 : 4});
      break;
    case Expr::OpKind::Sym:
      st.push_back({size_t(op.value) < symbols.size() ? symbols[size_t(op.value)]
                                                       : "$" + std::to_string(op.value),
                    4});
      break;
    case Expr::OpKind::Neg: {
      Rendered a = std::move(st.back());
      st.back() = {"-" + (a.prec < 3 ? "(" + a.text + ")" : a.text), 3};
      break;
    }
    default: {
      Rendered b = std::move(st.back());
      st.pop_back();
      Rendered a = std::move(st.back());
      const char *fn = op.kind == Expr::OpKind::Cdiv  ? "cdiv"
                       : op.kind == Expr::OpKind::Min ? "min"
                       : op.kind == Expr::OpKind::Max ? "max"
                                                      : nullptr;
      if (fn) {
        st.back() = {std::string(fn) + "(" + a.text + "," + b.text + ")", 4};
        break;
      }
      int prec = (op.kind == Expr::OpKind::Add || op.kind == Expr::OpKind::Sub) ? 1 : 2;
      char c = op.kind == Expr::OpKind::Add   ? '+'
               : op.kind == Expr::OpKind::Sub ? '-'
               : op.kind == Expr::OpKind::Mul ? '*'
               : op.kind == Expr::OpKind::Div ? '/'
                                              : '%';
      std::string l = a.prec < prec ? "(" + a.text + ")" : a.text;
      // Right operands of equal precedence need parentheses (a-(b-c), a/(b*c)), and so do unary
      // minus operands, to keep "a--b" out of the text.
      std::string r = (b.prec <= prec || b.prec == 3) ? "(" + b.text + ")" : b.text;
      st.back() = {l + c + r, prec};
    }
    }
  }
  return st.empty() ? "0" : st.back().text;
}

} // namespace

bool isValidSymbolName(std::string_view name) {
  if (name.empty() || isFunctionName(name))
    return false;
  if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_'))
    return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_'))
      return false;
  return true;
}

Expr::Expr(int64_t value) {
  code_.push_back({OpKind::Const, value});
  text_ = render(code_, {});
}

Expected<Expr> Expr::parse(std::string_view text, Span<const std::string> symbols) {
  // The text quoted clipped, so that the reason after it is seen: error messages are capped,
  // and a long expression hid the reason behind it.
  auto bad = [&](const std::string &why) {
    std::string shown(text.substr(0, 120));
    if (text.size() > shown.size())
      shown += "... (" + std::to_string(text.size() - shown.size()) + " more bytes)";
    return Status::error("bad expression '" + shown + "': " + why, ErrorCode::Parse);
  };
  if (text.size() > kMaxTextBytes)
    return bad("longer than " + std::to_string(kMaxTextBytes) + " bytes");
  Parser p;
  p.text = text;
  p.symbols = symbols;
  bool ok = p.parseExpr();
  if (ok) {
    p.skipSpace();
    if (p.pos != text.size())
      ok = p.fail(std::string("unexpected '") + text[p.pos] + "'", p.pos);
  }
  if (!ok)
    return bad(p.error);
  Expr e;
  e.code_ = std::move(p.code);
  e.text_ = render(e.code_, symbols);
  // The canonical text is what serialize() writes: it must parse back. Its parentheses may nest
  // deeper than the source's (a unary minus as a right operand is parenthesized) or make it
  // longer, so it is checked here, once, rather than found unreadable in a written file.
  if (e.text_.size() > kMaxTextBytes)
    return bad("its canonical form is longer than " + std::to_string(kMaxTextBytes) + " bytes");
  Parser again;
  again.text = e.text_;
  again.symbols = symbols;
  if (!again.parseExpr())
    return bad("its canonical form '" + e.text_.substr(0, 120) + "' does not parse back (" +
               again.error + ")");
  return e;
}

std::optional<int64_t> Expr::constantValue() const {
  if (maxSymbolIndex() >= 0)
    return std::nullopt;
  int64_t v = 0;
  if (!eval({}, v).ok())
    return std::nullopt;
  return v;
}

int Expr::maxSymbolIndex() const {
  int m = -1;
  for (const Op &op : code_)
    if (op.kind == OpKind::Sym && int(op.value) > m)
      m = int(op.value);
  return m;
}

Expected<int64_t> Expr::eval(Span<const int64_t> symbolValues) const {
  int64_t v = 0;
  Status s = eval(symbolValues, v);
  if (!s.ok())
    return s;
  return v;
}

Status Expr::eval(Span<const int64_t> syms, int64_t &out) const {
  int64_t st[kMaxStack];
  size_t n = 0;
  auto err = [&](const char *what) {
    return Status::error(std::string(what) + " evaluating '" + text_ + "'");
  };
  for (const Op &op : code_) {
    switch (op.kind) {
    case OpKind::Const:
      st[n++] = op.value;
      continue;
    case OpKind::Sym:
      if (size_t(op.value) >= syms.size())
        return err("unbound symbol");
      st[n++] = syms[size_t(op.value)];
      continue;
    case OpKind::Neg:
      if (st[n - 1] == std::numeric_limits<int64_t>::min())
        return err("overflow");
      st[n - 1] = -st[n - 1];
      continue;
    default:
      break;
    }
    int64_t b = st[--n];
    int64_t a = st[n - 1];
    int64_t r = 0;
    switch (op.kind) {
    case OpKind::Add:
      if (__builtin_add_overflow(a, b, &r))
        return err("overflow");
      break;
    case OpKind::Sub:
      if (__builtin_sub_overflow(a, b, &r))
        return err("overflow");
      break;
    case OpKind::Mul:
      if (__builtin_mul_overflow(a, b, &r))
        return err("overflow");
      break;
    case OpKind::Div:
    case OpKind::Mod:
    case OpKind::Cdiv:
      if (b == 0)
        return err(op.kind == OpKind::Mod ? "remainder by zero" : "division by zero");
      if (a == std::numeric_limits<int64_t>::min() && b == -1) {
        if (op.kind != OpKind::Mod)
          return err("overflow");
        r = 0;
        break;
      }
      if (op.kind == OpKind::Mod) {
        r = a % b;
      } else {
        r = a / b;
        if (op.kind == OpKind::Cdiv && a % b != 0 && ((a < 0) == (b < 0)))
          ++r;
      }
      break;
    case OpKind::Min:
      r = a < b ? a : b;
      break;
    case OpKind::Max:
      r = a < b ? b : a;
      break;
    default:
      return err("corrupt expression");
    }
    st[n - 1] = r;
  }
  if (n != 1)
    return err("corrupt expression");
  out = st[0];
  return Status::success();
}

} // namespace ds::rt
