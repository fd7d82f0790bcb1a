// The kernel bundle: everything the compiler hands the runtime for one compiled pipeline, as plain
// data that serializes to one file (format: docs/bundle.md) and parses back.
//
// Builders fill the structs directly; expressions are parsed against the bundle's symbol list:
//   Bundle b;
//   b.target = "sm_90";
//   b.addArgDimSymbol("T", 0, 0);
//   ArgSpec q{"q", ArgRole::In, DType::BF16, {}};
//   q.dims = {b.expr("T").value(), Expr(128)};
#pragma once

#include "runtime/Expr.h"
#include "runtime/Status.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ds::rt {

enum class DType : uint8_t { BF16, F16, F32, I32, I64, I8, U8, F8E4M3 };
/// "bf16", "f16", "f32", "i32", "i64", "i8", "u8", "f8e4m3" (fp8 e4m3, finite: torch.float8_e4m3fn).
const char *dtypeName(DType t);
size_t dtypeBytes(DType t);
std::optional<DType> parseDType(std::string_view name);

enum class ArgRole : uint8_t { In, Out, InOut };
/// "in", "out", "inout".
const char *argRoleName(ArgRole r);
std::optional<ArgRole> parseArgRole(std::string_view name);

/// A runtime size: either read from an argument's shape or computed from earlier symbols.
struct Symbol {
  enum class Kind : uint8_t { ArgDim, Expr };
  std::string name;
  Kind kind = Kind::ArgDim;
  int arg = 0, dim = 0; ///< Kind::ArgDim: shape[dim] of argument `arg`.
  ds::rt::Expr expr;    ///< Kind::Expr: may use only symbols declared before this one.
};

/// A tensor argument of the pipeline.
struct ArgSpec {
  static constexpr size_t kMaxRank = 8;
  std::string name;
  ArgRole role = ArgRole::In;
  DType dtype = DType::F32;
  std::vector<Expr> dims; ///< Expected size of each dimension.
  /// Bytes the device pointer must be aligned to (the kernels' vector accesses assume it); 1:
  /// none. Checked at launch.
  int64_t align = 1;
};

/// One kernel parameter, as passed to cuLaunchKernel.
struct Param {
  enum class Kind : uint8_t {
    ArgPtr, ///< Device pointer of argument `arg` (8 bytes).
    WsPtr,  ///< Workspace base + `value` bytes (8 bytes).
    I64,    ///< `value` as int64.
    I32,    ///< `value` as int32 (must fit).
    F32,    ///< The float `f32`.
  };
  Kind kind = Kind::I64;
  int arg = 0;
  Expr value;
  float f32 = 0.0f;

  static Param argPtr(int arg);
  static Param wsPtr(Expr offset);
  static Param i64(Expr value);
  static Param i32(Expr value);
  static Param f32Value(float value);
  /// Bytes this parameter occupies in the kernel's parameter list (8 or 4).
  size_t bytes() const;
};

struct KernelSpec {
  static constexpr size_t kMaxParams = 128;
  std::string name;
  std::array<Expr, 3> grid{Expr(1), Expr(1), Expr(1)};
  std::array<Expr, 3> block{Expr(1), Expr(1), Expr(1)};
  Expr smem;  ///< Dynamic shared memory, bytes.
  /// Launched with programmatic stream serialization (cuLaunchKernelEx): the kernel waits on
  /// griddepcontrol before it touches memory, so it may start while the previous kernel drains.
  bool programmatic = false;
  std::vector<Param> params;
};

struct Bundle {
  static constexpr int kVersion = 1;
  static constexpr size_t kMaxSymbols = 256;
  /// Arguments and kernels a bundle may declare (a pipeline has tens; the caps keep parsing and
  /// validation, whose duplicate checks scan the names, linear in the file's size).
  static constexpr size_t kMaxArgs = 256;
  static constexpr size_t kMaxKernels = 1024;
  /// Bytes Bundle::readFile reads at most (bundles are megabytes; a device file such as
  /// /dev/zero is refused instead of read until memory runs out).
  static constexpr size_t kMaxFileBytes = size_t(256) << 20;

  std::string target; ///< "sm_90", "sm_90a", ...: the architecture the cubin is built for.
  std::vector<Symbol> symbols;
  std::vector<ArgSpec> args;
  Expr workspace;    ///< Workspace bytes.
  std::string ptx;   ///< PTX text; empty when absent.
  std::string cubin; ///< Cubin bytes; empty when absent.
  std::vector<KernelSpec> kernels;

  std::vector<std::string> symbolNames() const;
  /// Parses an expression against the current symbols.
  Expected<Expr> expr(std::string_view text) const;
  /// Appends a symbol bound to args[arg].shape[dim] (checked by validate()).
  Status addArgDimSymbol(const std::string &name, int arg, int dim);
  /// Appends a symbol computed from the symbols declared so far.
  Status addExprSymbol(const std::string &name, std::string_view exprText);
  /// A kernel name a bundle may hold: a PTX identifier (a letter then letters, digits, '_' and
  /// '$'; or '_', '$' or '%' then at least one of those).
  static bool isValidKernelName(std::string_view name);
  /// Index of the argument / symbol with this name, or -1.
  int argIndex(std::string_view name) const;
  int symbolIndex(std::string_view name) const;

  /// Ok where `t` names an architecture (sm_<digits>, optionally one lower-case letter after),
  /// else the error that says so: validate() and parse() (at the target's line) report it.
  static Status checkTarget(std::string_view t);
  /// Checks internal consistency: target, names, ranks, indices, symbol order, limits.
  /// parse(), writeFile() and Pipeline::load() apply it.
  Status validate() const;

  /// The file text (binary images embedded by byte count). Does not validate.
  std::string serialize() const;
  /// Parses serialized text; errors (ErrorCode::Parse) read "bundle line N: <what is wrong>".
  static Expected<Bundle> parse(std::string_view text);
  Status writeFile(const std::string &path) const;
  static Expected<Bundle> readFile(const std::string &path);
};

} // namespace ds::rt
