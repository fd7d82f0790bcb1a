#include "runtime/Bundle.h"

#include <sys/stat.h>

#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <cerrno>

namespace ds::rt {

const char *dtypeName(DType t) {
  switch (t) {
  case DType::BF16: return "bf16";
  case DType::F16: return "f16";
  case DType::F32: return "f32";
  case DType::I32: return "i32";
  case DType::I64: return "i64";
  case DType::I8: return "i8";
  case DType::U8: return "u8";
  case DType::F8E4M3: return "f8e4m3";
  }
  return "?";
}

size_t dtypeBytes(DType t) {
  switch (t) {
  case DType::BF16:
  case DType::F16: return 2;
  case DType::F32:
  case DType::I32: return 4;
  case DType::I64: return 8;
  case DType::I8:
  case DType::U8:
  case DType::F8E4M3: return 1;
  }
  return 0;
}

std::optional<DType> parseDType(std::string_view n) {
  for (DType t : {DType::BF16, DType::F16, DType::F32, DType::I32, DType::I64, DType::I8, DType::U8,
                  DType::F8E4M3})
    if (n == dtypeName(t))
      return t;
  return std::nullopt;
}

const char *argRoleName(ArgRole r) {
  switch (r) {
  case ArgRole::In: return "in";
  case ArgRole::Out: return "out";
  case ArgRole::InOut: return "inout";
  }
  return "?";
}

std::optional<ArgRole> parseArgRole(std::string_view n) {
  for (ArgRole r : {ArgRole::In, ArgRole::Out, ArgRole::InOut})
    if (n == argRoleName(r))
      return r;
  return std::nullopt;
}

Param Param::argPtr(int arg) {
  Param p;
  p.kind = Kind::ArgPtr;
  p.arg = arg;
  return p;
}
Param Param::wsPtr(Expr offset) {
  Param p;
  p.kind = Kind::WsPtr;
  p.value = std::move(offset);
  return p;
}
Param Param::i64(Expr value) {
  Param p;
  p.kind = Kind::I64;
  p.value = std::move(value);
  return p;
}
Param Param::i32(Expr value) {
  Param p;
  p.kind = Kind::I32;
  p.value = std::move(value);
  return p;
}
Param Param::f32Value(float value) {
  Param p;
  p.kind = Kind::F32;
  p.f32 = value;
  return p;
}
size_t Param::bytes() const { return kind == Kind::I32 || kind == Kind::F32 ? 4 : 8; }

std::vector<std::string> Bundle::symbolNames() const {
  std::vector<std::string> names;
  names.reserve(symbols.size());
  for (const Symbol &s : symbols)
    names.push_back(s.name);
  return names;
}

Expected<Expr> Bundle::expr(std::string_view text) const {
  std::vector<std::string> names = symbolNames();
  return Expr::parse(text, names);
}

static Status checkNewSymbolName(const Bundle &b, const std::string &name) {
  if (!isValidSymbolName(name))
    return Status::error("bad symbol name '" + name + "'");
  if (b.symbolIndex(name) >= 0)
    return Status::error("duplicate symbol '" + name + "'");
  return Status::success();
}

Status Bundle::addArgDimSymbol(const std::string &name, int arg, int dim) {
  DS_RT_RETURN_IF_ERROR(checkNewSymbolName(*this, name));
  Symbol s;
  s.name = name;
  s.kind = Symbol::Kind::ArgDim;
  s.arg = arg;
  s.dim = dim;
  symbols.push_back(std::move(s));
  return Status::success();
}

Status Bundle::addExprSymbol(const std::string &name, std::string_view exprText) {
  DS_RT_RETURN_IF_ERROR(checkNewSymbolName(*this, name));
  auto e = expr(exprText);
  if (!e)
    return e.status();
  Symbol s;
  s.name = name;
  s.kind = Symbol::Kind::Expr;
  s.expr = std::move(*e);
  symbols.push_back(std::move(s));
  return Status::success();
}

int Bundle::argIndex(std::string_view name) const {
  for (size_t i = 0; i < args.size(); ++i)
    if (args[i].name == name)
      return int(i);
  return -1;
}

int Bundle::symbolIndex(std::string_view name) const {
  for (size_t i = 0; i < symbols.size(); ++i)
    if (symbols[i].name == name)
      return int(i);
  return -1;
}

Status Bundle::checkTarget(std::string_view t) {
  // sm_<digits>, optionally followed by one letter (sm_90a, sm_100f).
  size_t i = 3;
  bool ok = t.size() >= 4 && t.compare(0, 3, "sm_") == 0;
  while (ok && i < t.size() && std::isdigit(static_cast<unsigned char>(t[i])))
    ++i;
  // At most 4 digits: the runtime compares the number with the device's (sm_4294967386 read
  // as 90 would have loaded its cubin on an sm_90 device).
  ok = ok && i > 3 && i <= 7 &&
       (i == t.size() || (i + 1 == t.size() && std::islower(static_cast<unsigned char>(t[i]))));
  return ok ? Status::success()
            : Status::error("bad target '" + std::string(t) +
                            "' (expected sm_<number of 1 to 4 digits>[letter], e.g. sm_90)");
}

bool Bundle::isValidKernelName(std::string_view n) {
  // PTX: [a-zA-Z]{followsym}* or [_$%]{followsym}+, followsym [a-zA-Z0-9_$].
  auto follows = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
  };
  if (n.empty() || !(std::isalpha(static_cast<unsigned char>(n[0])) ||
                     (n.size() > 1 && (n[0] == '_' || n[0] == '$' || n[0] == '%'))))
    return false;
  for (char c : n.substr(1))
    if (!follows(c))
      return false;
  return true;
}

Status Bundle::validate() const {
  auto fail = [](const std::string &m) { return Status::error("invalid bundle: " + m); };
  if (Status t = checkTarget(target); !t.ok())
    return fail(t.message());
  if (symbols.size() > kMaxSymbols)
    return fail("too many symbols (" + std::to_string(symbols.size()) + ", at most " +
                std::to_string(kMaxSymbols) + ")");
  int nsym = int(symbols.size());
  auto checkExpr = [&](const Expr &e, int limit, const std::string &where) {
    if (e.maxSymbolIndex() >= limit)
      return fail(where + " uses symbol #" + std::to_string(e.maxSymbolIndex()) +
                  (limit < nsym ? ", which is not declared before it" : ", which does not exist"));
    return Status::success();
  };
  if (args.size() > kMaxArgs)
    return fail("too many arguments (" + std::to_string(args.size()) + ", at most " +
                std::to_string(kMaxArgs) + ")");
  if (kernels.size() > kMaxKernels)
    return fail("too many kernels (" + std::to_string(kernels.size()) + ", at most " +
                std::to_string(kMaxKernels) + ")");
  for (size_t i = 0; i < args.size(); ++i) {
    const ArgSpec &a = args[i];
    if (!isValidSymbolName(a.name))
      return fail("bad argument name '" + a.name + "'");
    if (argIndex(a.name) != int(i))
      return fail("duplicate argument '" + a.name + "'");
    if (a.dims.size() > ArgSpec::kMaxRank)
      return fail("argument '" + a.name + "' has rank " + std::to_string(a.dims.size()) +
                  " (at most " + std::to_string(ArgSpec::kMaxRank) + ")");
    for (size_t d = 0; d < a.dims.size(); ++d)
      DS_RT_RETURN_IF_ERROR(checkExpr(a.dims[d], nsym, "argument '" + a.name + "' dim " + std::to_string(d)));
  }
  for (size_t i = 0; i < symbols.size(); ++i) {
    const Symbol &s = symbols[i];
    if (!isValidSymbolName(s.name))
      return fail("bad symbol name '" + s.name + "'");
    if (symbolIndex(s.name) != int(i))
      return fail("duplicate symbol '" + s.name + "'");
    if (s.kind == Symbol::Kind::ArgDim) {
      if (s.arg < 0 || size_t(s.arg) >= args.size())
        return fail("symbol '" + s.name + "' reads argument " + std::to_string(s.arg) + " but there are " +
                    std::to_string(args.size()) + " arguments");
      if (s.dim < 0 || size_t(s.dim) >= args[size_t(s.arg)].dims.size())
        return fail("symbol '" + s.name + "' reads dim " + std::to_string(s.dim) + " of argument '" +
                    args[size_t(s.arg)].name + "', which has rank " +
                    std::to_string(args[size_t(s.arg)].dims.size()));
    } else {
      DS_RT_RETURN_IF_ERROR(checkExpr(s.expr, int(i), "symbol '" + s.name + "'"));
    }
  }
  DS_RT_RETURN_IF_ERROR(checkExpr(workspace, nsym, "workspace"));
  for (size_t k = 0; k < kernels.size(); ++k) {
    const KernelSpec &ks = kernels[k];
    std::string kn = "kernel '" + ks.name + "'";
    if (!isValidKernelName(ks.name))
      return fail("bad kernel name '" + ks.name + "'");
    if (ks.params.size() > KernelSpec::kMaxParams)
      return fail(kn + " has " + std::to_string(ks.params.size()) + " params (at most " +
                  std::to_string(KernelSpec::kMaxParams) + ")");
    for (int d = 0; d < 3; ++d) {
      DS_RT_RETURN_IF_ERROR(checkExpr(ks.grid[size_t(d)], nsym, kn + " grid"));
      DS_RT_RETURN_IF_ERROR(checkExpr(ks.block[size_t(d)], nsym, kn + " block"));
    }
    DS_RT_RETURN_IF_ERROR(checkExpr(ks.smem, nsym, kn + " smem"));
    for (size_t p = 0; p < ks.params.size(); ++p) {
      const Param &pa = ks.params[p];
      if (pa.kind == Param::Kind::ArgPtr) {
        if (pa.arg < 0 || size_t(pa.arg) >= args.size())
          return fail(kn + " param " + std::to_string(p) + " points to argument " +
                      std::to_string(pa.arg) + " but there are " + std::to_string(args.size()) +
                      " arguments");
      } else if (pa.kind != Param::Kind::F32) {
        DS_RT_RETURN_IF_ERROR(checkExpr(pa.value, nsym, kn + " param " + std::to_string(p)));
      }
    }
  }
  return Status::success();
}

static std::string floatText(float f) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), f);
  return std::string(buf, res.ptr);
}

std::string Bundle::serialize() const {
  std::string o;
  o += "dsbundle " + std::to_string(kVersion) + "\n";
  o += "target " + target + "\n";
  for (const Symbol &s : symbols) {
    if (s.kind == Symbol::Kind::ArgDim)
      o += "symbol " + s.name + " arg " + std::to_string(s.arg) + " dim " + std::to_string(s.dim) + "\n";
    else
      o += "symbol " + s.name + " expr " + s.expr.text() + "\n";
  }
  for (const ArgSpec &a : args) {
    o += "arg " + a.name + " " + argRoleName(a.role) + " " + dtypeName(a.dtype);
    if (a.align > 1)
      o += " align=" + std::to_string(a.align);
    for (const Expr &d : a.dims)
      o += " " + d.text();
    o += "\n";
  }
  o += "workspace " + workspace.text() + "\n";
  if (!ptx.empty())
    o += "image ptx " + std::to_string(ptx.size()) + "\n" + ptx + "\n";
  if (!cubin.empty())
    o += "image cubin " + std::to_string(cubin.size()) + "\n" + cubin + "\n";
  for (const KernelSpec &k : kernels) {
    o += "kernel " + k.name + "\n";
    o += "  grid " + k.grid[0].text() + " " + k.grid[1].text() + " " + k.grid[2].text() + "\n";
    o += "  block " + k.block[0].text() + " " + k.block[1].text() + " " + k.block[2].text() + "\n";
    o += "  smem " + k.smem.text() + "\n";
    if (k.programmatic)
      o += "  programmatic\n";
    for (const Param &p : k.params) {
      switch (p.kind) {
      case Param::Kind::ArgPtr: o += "  param ptr arg " + std::to_string(p.arg) + "\n"; break;
      case Param::Kind::WsPtr: o += "  param ptr ws " + p.value.text() + "\n"; break;
      case Param::Kind::I64: o += "  param i64 " + p.value.text() + "\n"; break;
      case Param::Kind::I32: o += "  param i32 " + p.value.text() + "\n"; break;
      case Param::Kind::F32: o += "  param f32 " + floatText(p.f32) + "\n"; break;
      }
    }
    o += "end\n";
  }
  return o;
}

Status Bundle::writeFile(const std::string &path) const {
  DS_RT_RETURN_IF_ERROR(validate());
  std::string text = serialize();
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return Status::error("cannot open '" + path + "' for writing: " + std::strerror(errno), ErrorCode::IO);
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok)
    return Status::error("error writing '" + path + "'", ErrorCode::IO);
  return Status::success();
}

Expected<Bundle> Bundle::readFile(const std::string &path) {
  // Only regular files, and none larger than kMaxFileBytes: a device (/dev/zero) or a huge file
  // would be read until memory runs out before its first line is looked at.
  struct stat info;
  if (::stat(path.c_str(), &info) == 0) {
    if (!S_ISREG(info.st_mode))
      return Status::error("cannot read bundle '" + path + "': not a regular file", ErrorCode::IO);
    if (uint64_t(info.st_size) > kMaxFileBytes)
      return Status::error("bundle '" + path + "' is larger than " +
                               std::to_string(kMaxFileBytes >> 20) + " MiB: not a bundle",
                           ErrorCode::IO);
  }
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    return Status::error("cannot open bundle '" + path + "': " + std::strerror(errno), ErrorCode::IO);
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
    text.append(buf, n);
  bool err = std::ferror(f);
  std::fclose(f);
  if (err)
    return Status::error("error reading bundle '" + path + "'", ErrorCode::IO);
  auto b = parse(text);
  if (!b)
    return b.status().withContext(path);
  return b;
}

} // namespace ds::rt
