// Bundle::parse: the line-based reader of docs/bundle.md.
#include "runtime/Bundle.h"

#include <cctype>
#include <charconv>

namespace ds::rt {

namespace {

struct Reader {
  std::string_view text;
  size_t pos = 0;
  int line = 0;     // number of the line last read
  int nextLine = 1; // number of the next line to read

  bool atEnd() const { return pos >= text.size(); }
  // Next line without its newline (and without a trailing '\r').
  std::string_view readLine() {
    size_t end = text.find('\n', pos);
    std::string_view l = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    line = nextLine++;
    if (!l.empty() && l.back() == '\r')
      l.remove_suffix(1);
    return l;
  }
};

std::string_view stripComment(std::string_view l) {
  size_t h = l.find('#');
  return h == std::string_view::npos ? l : l.substr(0, h);
}

// Tokens are separated by spaces and tabs alone (docs/bundle.md); any other control byte is
// part of a token, and refused with it.
bool isBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && isBlank(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && isBlank(s.back()))
    s.remove_suffix(1);
  return s;
}

// Splits off the first whitespace-delimited token; `rest` is what follows, trimmed.
std::string_view nextToken(std::string_view &rest) {
  rest = trim(rest);
  size_t i = 0;
  while (i < rest.size() && !isBlank(rest[i]))
    ++i;
  std::string_view tok = rest.substr(0, i);
  rest = trim(rest.substr(i));
  return tok;
}

std::vector<std::string_view> tokens(std::string_view rest) {
  std::vector<std::string_view> out;
  while (!(rest = trim(rest)).empty())
    out.push_back(nextToken(rest));
  return out;
}

bool parseIndex(std::string_view s, int64_t &out) {
  if (s.empty() || s.size() > 18)
    return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return false;
  out = 0;
  for (char c : s)
    out = out * 10 + (c - '0');
  return true;
}

class BundleParser {
public:
  explicit BundleParser(std::string_view text) { r.text = text; }

  Expected<Bundle> run() {
    if (!parseAll())
      return Status::error(error, ErrorCode::Parse);
    return std::move(b);
  }

private:
  Reader r;
  Bundle b;
  std::vector<std::string> names; // symbol names declared so far
  std::vector<int> symbolLines;
  std::string error;
  KernelSpec *kernel = nullptr; // open kernel block
  int kernelLine = 0;
  bool haveTarget = false, haveWorkspace = false;
  bool haveGrid = false, haveBlock = false, haveSmem = false, haveProgrammatic = false;

  /// The error, with any byte of `what` outside printable ASCII (quoted from a damaged file)
  /// written as \xNN.
  bool fail(const std::string &what, int line = -1) {
    error = "bundle line " + std::to_string(line < 0 ? r.line : line) + ": " + printableAscii(what);
    return false;
  }

  bool parseExpr(std::string_view text, Expr &out, const std::string &what) {
    if (text.empty())
      return fail("missing expression for " + what);
    auto e = Expr::parse(text, names);
    if (!e)
      return fail(what + ": " + e.message());
    out = std::move(*e);
    return true;
  }

  bool parseAll() {
    if (r.atEnd())
      return fail("empty file, not a ds bundle", 1);
    {
      std::vector<std::string_view> t = tokens(stripComment(r.readLine()));
      if (t.empty() || t[0] != "dsbundle")
        return fail("not a ds bundle (expected 'dsbundle " + std::to_string(Bundle::kVersion) + "')");
      if (t.size() != 2)
        return fail("malformed header (expected 'dsbundle " + std::to_string(Bundle::kVersion) + "')");
      if (t[1] != std::to_string(Bundle::kVersion))
        return fail("unsupported bundle version '" + std::string(t[1]) + "' (this runtime reads version " +
                    std::to_string(Bundle::kVersion) + ")");
    }
    while (!r.atEnd()) {
      std::string_view rest = stripComment(r.readLine());
      std::string_view kw = nextToken(rest);
      if (kw.empty())
        continue;
      if (!(kernel ? kernelLine_(kw, rest) : topLine(kw, rest)))
        return false;
    }
    if (kernel)
      return fail("kernel '" + kernel->name + "' has no 'end' (file ends inside it)", kernelLine);
    if (!haveTarget)
      return fail("missing 'target' line", r.line);
    // Symbols bound to argument dims may precede the argument lines: check them now.
    for (size_t i = 0; i < b.symbols.size(); ++i) {
      const Symbol &s = b.symbols[i];
      if (s.kind != Symbol::Kind::ArgDim)
        continue;
      if (size_t(s.arg) >= b.args.size())
        return fail("symbol '" + s.name + "' reads argument " + std::to_string(s.arg) + " but only " +
                        std::to_string(b.args.size()) + " arguments are declared",
                    symbolLines[i]);
      if (size_t(s.dim) >= b.args[size_t(s.arg)].dims.size())
        return fail("symbol '" + s.name + "' reads dim " + std::to_string(s.dim) + " of argument '" +
                        b.args[size_t(s.arg)].name + "', which has rank " +
                        std::to_string(b.args[size_t(s.arg)].dims.size()),
                    symbolLines[i]);
    }
    // What only the whole bundle shows (an entry the PTX lacks, ...): no one line to blame.
    Status v = b.validate();
    if (!v.ok()) {
      error = printableAscii(v.message() + " (checked after the bundle's last line)");
      return false;
    }
    return true;
  }

  bool topLine(std::string_view kw, std::string_view rest) {
    if (kw == "target") {
      if (haveTarget)
        return fail("duplicate 'target' line");
      std::vector<std::string_view> t = tokens(rest);
      if (t.size() != 1)
        return fail("'target' takes one architecture name, e.g. 'target sm_90'");
      if (Status v = Bundle::checkTarget(t[0]); !v.ok())
        return fail(v.message());
      b.target = std::string(t[0]);
      haveTarget = true;
      return true;
    }
    if (kw == "symbol")
      return symbolLine(rest);
    if (kw == "arg")
      return argLine(rest);
    if (kw == "workspace") {
      if (haveWorkspace)
        return fail("duplicate 'workspace' line");
      haveWorkspace = true;
      return parseExpr(rest, b.workspace, "workspace");
    }
    if (kw == "image")
      return imageLine(rest);
    if (kw == "kernel") {
      std::vector<std::string_view> t = tokens(rest);
      if (t.size() != 1)
        return fail("'kernel' takes one name");
      if (!Bundle::isValidKernelName(t[0]))
        return fail("bad kernel name '" + std::string(t[0]) +
                    "' (a PTX identifier: a letter, or '_', '$' or '%' and more, then letters, "
                    "digits, '_' and '$')");
      if (b.kernels.size() >= Bundle::kMaxKernels)
        return fail("too many kernels (at most " + std::to_string(Bundle::kMaxKernels) + ")");
      for (const KernelSpec &k : b.kernels)
        if (k.name == t[0])
          return fail("duplicate kernel '" + std::string(t[0]) + "'");
      b.kernels.emplace_back();
      kernel = &b.kernels.back();
      kernel->name = std::string(t[0]);
      kernelLine = r.line;
      haveGrid = haveBlock = haveSmem = haveProgrammatic = false;
      return true;
    }
    if (kw == "end")
      return fail("'end' outside a kernel block");
    if (kw == "grid" || kw == "block" || kw == "smem" || kw == "param" || kw == "programmatic")
      return fail("'" + std::string(kw) + "' outside a kernel block");
    return fail("unknown keyword '" + std::string(kw) + "'");
  }

  bool symbolLine(std::string_view rest) {
    std::string name(nextToken(rest));
    if (name.empty())
      return fail("'symbol' needs a name");
    if (!isValidSymbolName(name))
      return fail("bad symbol name '" + name + "'");
    for (const std::string &n : names)
      if (n == name)
        return fail("duplicate symbol '" + name + "'");
    if (b.symbols.size() >= Bundle::kMaxSymbols)
      return fail("too many symbols (at most " + std::to_string(Bundle::kMaxSymbols) + ")");
    Symbol s;
    s.name = name;
    std::string_view how = nextToken(rest);
    if (how == "arg") {
      std::vector<std::string_view> t = tokens(rest);
      int64_t a = 0, d = 0;
      if (t.size() != 3 || t[1] != "dim" || !parseIndex(t[0], a) || !parseIndex(t[2], d) ||
          a > 1000000 || d > 1000000)
        return fail("expected 'symbol " + name + " arg <index> dim <index>'");
      s.kind = Symbol::Kind::ArgDim;
      s.arg = int(a);
      s.dim = int(d);
    } else if (how == "expr") {
      s.kind = Symbol::Kind::Expr;
      if (!parseExpr(rest, s.expr, "symbol '" + name + "'"))
        return false;
    } else {
      return fail("expected 'arg' or 'expr' after 'symbol " + name + "'");
    }
    b.symbols.push_back(std::move(s));
    names.push_back(name);
    symbolLines.push_back(r.line);
    return true;
  }

  bool argLine(std::string_view rest) {
    std::vector<std::string_view> t = tokens(rest);
    if (t.size() < 3)
      return fail("expected 'arg <name> <in|out|inout> <dtype> <dims...>'");
    ArgSpec a;
    a.name = std::string(t[0]);
    if (!isValidSymbolName(a.name))
      return fail("bad argument name '" + a.name + "'");
    if (b.args.size() >= Bundle::kMaxArgs)
      return fail("too many arguments (at most " + std::to_string(Bundle::kMaxArgs) + ")");
    if (b.argIndex(a.name) >= 0)
      return fail("duplicate argument '" + a.name + "'");
    auto role = parseArgRole(t[1]);
    if (!role)
      return fail("argument '" + a.name + "': unknown role '" + std::string(t[1]) +
                  "' (expected in, out or inout)");
    a.role = *role;
    auto dt = parseDType(t[2]);
    if (!dt)
      return fail("argument '" + a.name + "': unknown dtype '" + std::string(t[2]) +
                  "' (expected bf16, f16, f32, i32, i64, i8, u8 or f8e4m3)");
    a.dtype = *dt;
    size_t first = 3;
    if (t.size() > 3 && t[3].substr(0, 6) == "align=") {
      int64_t n = 0;
      if (!parseIndex(t[3].substr(6), n) || n < 1 || n > 256 || (n & (n - 1)) != 0)
        return fail("argument '" + a.name + "': align must be a power of two in [1, 256], got '" +
                    std::string(t[3].substr(6)) + "'");
      a.align = n;
      first = 4;
    }
    if (t.size() - first > ArgSpec::kMaxRank)
      return fail("argument '" + a.name + "': rank " + std::to_string(t.size() - first) +
                  " exceeds " + std::to_string(ArgSpec::kMaxRank));
    for (size_t i = first; i < t.size(); ++i) {
      a.dims.emplace_back();
      if (!parseExpr(t[i], a.dims.back(),
                     "argument '" + a.name + "' dim " + std::to_string(i - first)))
        return false;
    }
    b.args.push_back(std::move(a));
    return true;
  }

  bool imageLine(std::string_view rest) {
    std::vector<std::string_view> t = tokens(rest);
    int64_t n = 0;
    if (t.size() != 2 || (t[0] != "ptx" && t[0] != "cubin") || !parseIndex(t[1], n))
      return fail("expected 'image ptx <bytes>' or 'image cubin <bytes>'");
    std::string &dst = t[0] == "ptx" ? b.ptx : b.cubin;
    if (!dst.empty())
      return fail("duplicate " + std::string(t[0]) + " image");
    if (n == 0)
      return fail("empty " + std::string(t[0]) + " image");
    size_t left = r.text.size() - r.pos;
    if (size_t(n) > left)
      return fail(std::string(t[0]) + " image declares " + std::to_string(n) + " bytes but only " +
                  std::to_string(left) + " remain in the file (truncated?)");
    std::string_view payload = r.text.substr(r.pos, size_t(n));
    int startLine = r.line;
    r.pos += size_t(n);
    for (char c : payload)
      if (c == '\n')
        ++r.nextLine;
    if (r.pos >= r.text.size() || r.text[r.pos] != '\n')
      return fail(std::string(t[0]) + " image of " + std::to_string(n) +
                      " bytes is not followed by a newline (wrong byte count?)",
                  startLine);
    ++r.pos; // the payload's closing newline
    ++r.nextLine;
    dst.assign(payload.data(), payload.size());
    return true;
  }

  // A line inside "kernel ... end".
  bool kernelLine_(std::string_view kw, std::string_view rest) {
    const std::string kn = "kernel '" + kernel->name + "'";
    if (kw == "end") {
      if (!rest.empty())
        return fail("unexpected text after 'end'");
      if (!haveGrid)
        return fail(kn + " has no 'grid' line");
      if (!haveBlock)
        return fail(kn + " has no 'block' line");
      kernel = nullptr;
      return true;
    }
    if (kw == "grid" || kw == "block") {
      bool &have = kw == "grid" ? haveGrid : haveBlock;
      if (have)
        return fail(kn + ": duplicate '" + std::string(kw) + "' line");
      have = true;
      std::vector<std::string_view> t = tokens(rest);
      if (t.size() != 3)
        return fail(kn + ": '" + std::string(kw) + "' takes three expressions (x y z) without spaces inside");
      auto &dst = kw == "grid" ? kernel->grid : kernel->block;
      for (size_t i = 0; i < 3; ++i)
        if (!parseExpr(t[i], dst[i], kn + " " + std::string(kw) + " " + "xyz"[i]))
          return false;
      return true;
    }
    if (kw == "smem") {
      if (haveSmem)
        return fail(kn + ": duplicate 'smem' line");
      haveSmem = true;
      return parseExpr(rest, kernel->smem, kn + " smem");
    }
    if (kw == "programmatic") {
      if (!rest.empty())
        return fail(kn + ": unexpected text after 'programmatic'");
      if (haveProgrammatic)
        return fail(kn + ": duplicate 'programmatic' line");
      haveProgrammatic = kernel->programmatic = true;
      return true;
    }
    if (kw == "param")
      return paramLine(kn, rest);
    if (kw == "kernel")
      return fail("'kernel' inside " + kn + " (opened at line " + std::to_string(kernelLine) +
                  "), which has no 'end'");
    if (kw == "target" || kw == "symbol" || kw == "arg" || kw == "workspace" || kw == "image")
      return fail("'" + std::string(kw) + "' inside " + kn + " (opened at line " +
                  std::to_string(kernelLine) + "), which has no 'end'");
    return fail(kn + ": unknown keyword '" + std::string(kw) + "'");
  }

  bool paramLine(const std::string &kn, std::string_view rest) {
    if (kernel->params.size() >= KernelSpec::kMaxParams)
      return fail(kn + ": too many params (at most " + std::to_string(KernelSpec::kMaxParams) + ")");
    std::string what = kn + " param " + std::to_string(kernel->params.size());
    std::string_view kind = nextToken(rest);
    Param p;
    if (kind == "ptr") {
      std::string_view src = nextToken(rest);
      if (src == "arg") {
        int64_t a = 0;
        std::vector<std::string_view> t = tokens(rest);
        if (t.size() != 1 || !parseIndex(t[0], a))
          return fail(what + ": expected 'param ptr arg <index>'");
        if (size_t(a) >= b.args.size())
          return fail(what + ": argument index " + std::to_string(a) + " out of range (" +
                      std::to_string(b.args.size()) + " arguments declared before this line)");
        p = Param::argPtr(int(a));
      } else if (src == "ws") {
        p.kind = Param::Kind::WsPtr;
        if (!parseExpr(rest, p.value, what + " workspace offset"))
          return false;
      } else {
        return fail(what + ": expected 'ptr arg <index>' or 'ptr ws <offset>'");
      }
    } else if (kind == "i64" || kind == "i32") {
      p.kind = kind == "i64" ? Param::Kind::I64 : Param::Kind::I32;
      if (!parseExpr(rest, p.value, what))
        return false;
    } else if (kind == "f32") {
      std::vector<std::string_view> t = tokens(rest);
      float f = 0;
      if (t.size() != 1)
        return fail(what + ": expected 'param f32 <number>'");
      auto res = std::from_chars(t[0].data(), t[0].data() + t[0].size(), f);
      if (res.ec == std::errc::result_out_of_range && res.ptr == t[0].data() + t[0].size())
        return fail(what + ": '" + std::string(t[0]) + "' is outside a 32-bit float's range");
      if (res.ec != std::errc() || res.ptr != t[0].data() + t[0].size())
        return fail(what + ": bad float '" + std::string(t[0]) + "'");
      p = Param::f32Value(f);
    } else {
      return fail(what + ": unknown param kind '" + std::string(kind) + "' (expected ptr, i64, i32 or f32)");
    }
    kernel->params.push_back(std::move(p));
    return true;
  }
};

} // namespace

Expected<Bundle> Bundle::parse(std::string_view text) { return BundleParser(text).run(); }

} // namespace ds::rt
