// ds-run: runs a compiled pipeline on tensors read from .npy files and writes its outputs as .npy,
// the way iree-run-module --input=@x.npy does.
//
//   ds-run pipeline.mlir|pipeline.dsb --input=@q.npy --input=k_cache=@k.npy ... \
//          [--output=@o.npy | --output=result1=@idx.npy ...] [--chip=sm_90] [--sm-count=132]
//          [--repeat=N]
//
// Arguments are matched in the bundle's argument order (`ds-compile` writes it; `grep ^arg` in a
// .dsb shows it): the function's arguments first (`in`, or `inout` when a result updates one in
// place), then one `out` argument per remaining result, named result0, result1, ... in result
// order. A function argument without a `ds.name` attribute is named arg<i>.
//   --input=@f.npy      the next `in`/`inout` argument not given by name;
//   --input=NAME=@f.npy the argument NAME (the '@' is optional);
//   --output=@f.npy     the next `inout`/`out` argument not given by name, i.e. the updated
//                       arguments first (argument order), then result0, result1, ...;
//   --output=NAME=@f.npy; an output without a file is summarized (dtype and shape) on stdout.
// Everything that can be checked without a GPU is checked before the CUDA driver is opened: the
// pipeline compiles (or the bundle parses), every input file exists and is a readable .npy whose
// dtype the argument takes, whose rank and static dims match, and whose dynamic dims agree with
// every other dim bound to the same symbol. Errors name the argument and the file.
// dtypes: bf16 arguments take float32 (rounded to nearest even) or uint16/int16 bit patterns and
// are written back as float32; f16 takes float16, float32 or 16-bit patterns; f32 takes float32;
// i32 takes int32 or int64 (each value checked); i64 takes int64; f8e4m3 (an fp8 label cache)
// takes and is written back as uint8 bit patterns, u8 as uint8, i8 as int8.
#include "codegen/Compiler.h"
#include "codegen/JIT.h"
#include "dialect/DSTarget.h"
#include "passes/ConfigOverride.h"
#include "runtime/Device.h"
#include "runtime/Pipeline.h"
#include "runtime/Plan.h"
#include "tools/ToolOptions.h"
#include "tools/ds-run/Npy.h"
#include "tools/reference/Reference.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

namespace cl = llvm::cl;
using namespace ds;

namespace {

cl::OptionCategory category("ds-run options");
cl::opt<std::string> pipelinePath(cl::Positional, cl::Required,
                                  cl::desc("<pipeline.mlir | pipeline.dsb>"), cl::cat(category));
cl::list<std::string> inputFlags(
    "input",
    cl::desc("An in/inout argument from a .npy file: @file.npy takes the next argument in order, "
             "NAME=@file.npy the argument NAME"),
    cl::value_desc("[NAME=]@file.npy"), cl::cat(category));
cl::list<std::string> outputFlags(
    "output",
    cl::desc("Write an out/inout argument to a .npy file: @file.npy takes the next output "
             "(updated arguments, then result0, result1, ...), NAME=@file.npy the output NAME"),
    cl::value_desc("[NAME=]@file.npy"), cl::cat(category));
cl::opt<std::string> chip("chip",
                          cl::desc("Target chip of a .mlir pipeline (default: the device's; "
                                   "sm_90 for the checks made before the device is opened)"),
                          cl::value_desc("sm_XX"), cl::init("sm_90"), cl::cat(category));
cl::opt<int64_t> smCountFlag("sm-count",
                             cl::desc("SM count a .mlir pipeline is tuned for, 1 to 1024 "
                                      "(default: the device's)"),
                             cl::value_desc("N"), cl::init(132), cl::cat(category));
cl::list<std::string> configs(
    "config",
    cl::desc("Config override of a .mlir pipeline <op>.<field>=<value> (e.g. topp.warps=16), "
             "repeated or comma separated; checked like any config"),
    cl::value_desc("op.field=value"), cl::CommaSeparated, cl::cat(category));
cl::opt<int64_t> repeat("repeat",
                        cl::desc("Run N times and print the median time in microseconds "
                                 "(inout arguments are restored before each run)"),
                        cl::value_desc("N"), cl::init(1), cl::cat(category));

/// Host-side shape checks (rt::bindSymbols) want non-null pointers; no device memory exists yet.
constexpr rt::CUdeviceptr kPlaceholderPtr = 256;

[[noreturn]] void die(const std::string &what) {
  std::fprintf(stderr, "ds-run: %s\n", what.c_str());
  std::exit(1);
}

bool isInput(const rt::ArgSpec &arg) { return arg.role != rt::ArgRole::Out; }
bool isOutput(const rt::ArgSpec &arg) { return arg.role != rt::ArgRole::In; }

std::string dimsText(const rt::ArgSpec &arg) {
  std::string s = "[";
  for (size_t d = 0; d < arg.dims.size(); ++d)
    s += (d ? ", " : "") + arg.dims[d].text();
  return s + "]";
}

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s = "(";
  for (size_t d = 0; d < shape.size(); ++d)
    s += (d ? ", " : "") + std::to_string(shape[d]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

/// "'q' (#0, in bf16 [q_d0, 32, 128])".
std::string describeArg(const rt::Bundle &b, size_t i) {
  const rt::ArgSpec &arg = b.args[i];
  return "'" + arg.name + "' (#" + std::to_string(i) + ", " + rt::argRoleName(arg.role) + " " +
         rt::dtypeName(arg.dtype) + " " + dimsText(arg) + ")";
}

/// The .npy dtypes an argument of a dtype takes (see convertIn), and how errors name them.
struct Accepted {
  std::array<const char *, 4> descrs; ///< unused entries null
  const char *text;
};
Accepted acceptedFor(rt::DType t) {
  switch (t) {
  case rt::DType::BF16:
    return {{"<f4", "<u2", "<i2"}, "float32, or uint16/int16 bf16 bit patterns"};
  case rt::DType::F16:
    return {{"<f4", "<f2", "<u2", "<i2"}, "float16, float32, or uint16/int16 f16 bit patterns"};
  case rt::DType::F32:
    return {{"<f4"}, "float32"};
  case rt::DType::I32:
    return {{"<i4", "<i8"}, "int32, or int64 values that fit in int32"};
  case rt::DType::I64:
    return {{"<i8"}, "int64"};
  case rt::DType::F8E4M3:
    return {{"|u1"}, "uint8 e4m3 bit patterns"};
  case rt::DType::U8:
    return {{"|u1"}, "uint8"};
  case rt::DType::I8:
    return {{"|i1"}, "int8"};
  }
  return {{}, "nothing: ds-run cannot feed this dtype"};
}

bool accepts(rt::DType t, const std::string &descr) {
  for (const char *d : acceptedFor(t).descrs)
    if (d && descr == d)
      return true;
  return false;
}

/// The argument's bytes on the device, converted from the .npy dtype (checked by accepts()).
std::vector<char> convertIn(const npy::Array &a, const rt::ArgSpec &arg, const std::string &file) {
  const int64_t n = a.count();
  std::vector<char> out(static_cast<size_t>(n) * rt::dtypeBytes(arg.dtype));
  if (out.empty()) // an empty tensor: no bytes to convert (and no pointer to memcpy from)
    return out;
  auto f32 = [&](int64_t i) {
    float v;
    std::memcpy(&v, a.data.data() + i * 4, 4);
    return v;
  };
  switch (arg.dtype) {
  case rt::DType::BF16:
  case rt::DType::F16: {
    ref::Half t = arg.dtype == rt::DType::BF16 ? ref::Half::BF16 : ref::Half::F16;
    uint16_t *dst = reinterpret_cast<uint16_t *>(out.data());
    if (a.descr == "<f4")
      for (int64_t i = 0; i < n; ++i)
        dst[i] = ref::fromFloat(f32(i), t);
    else
      std::memcpy(dst, a.data.data(), out.size());
    break;
  }
  case rt::DType::I32:
    if (a.descr == "<i4") {
      std::memcpy(out.data(), a.data.data(), out.size());
      break;
    }
    for (int64_t i = 0; i < n; ++i) {
      int64_t v;
      std::memcpy(&v, a.data.data() + i * 8, 8);
      if (v < INT32_MIN || v > INT32_MAX)
        die("argument '" + arg.name + "' (from '" + file + "'): value " + std::to_string(v) +
            " at element " + std::to_string(i) + " does not fit in i32");
      int32_t w = static_cast<int32_t>(v);
      std::memcpy(out.data() + i * 4, &w, 4);
    }
    break;
  default:
    std::memcpy(out.data(), a.data.data(), out.size());
  }
  return out;
}

npy::Array convertOut(const std::vector<char> &bytes, const rt::ArgSpec &arg,
                      const std::vector<int64_t> &shape) {
  npy::Array a;
  a.shape = shape;
  int64_t n = a.count();
  if (arg.dtype == rt::DType::BF16) {
    a.descr = "<f4";
    a.data.resize(static_cast<size_t>(n) * 4);
    for (int64_t i = 0; i < n; ++i) {
      uint16_t bits;
      std::memcpy(&bits, bytes.data() + i * 2, 2);
      float v = ref::toFloat(bits, ref::Half::BF16);
      std::memcpy(a.data.data() + i * 4, &v, 4);
    }
    return a;
  }
  a.descr = arg.dtype == rt::DType::F16   ? "<f2"
            : arg.dtype == rt::DType::F32 ? "<f4"
            : arg.dtype == rt::DType::I32 ? "<i4"
            : arg.dtype == rt::DType::I64 ? "<i8"
            : arg.dtype == rt::DType::I8  ? "|i1"
                                          : "|u1"; // u8, and fp8 e4m3 as its bit patterns
  a.data = bytes;
  return a;
}

/// Assigns the files of --input or --output (`flag`) to the bundle arguments `takes` accepts:
/// NAME=@file to that argument, @file to the next accepted argument not given by name.
/// Returns one path per bundle argument (empty: none given).
std::vector<std::string> assignFiles(const rt::Bundle &b, const char *flag,
                                     llvm::ArrayRef<std::string> values,
                                     llvm::function_ref<bool(const rt::ArgSpec &)> takes) {
  std::vector<std::string> files(b.args.size());
  std::vector<std::string> positional;
  auto acceptedNames = [&] {
    std::string names;
    for (const rt::ArgSpec &arg : b.args)
      if (takes(arg))
        names += (names.empty() ? "" : ", ") + arg.name;
    return names.empty() ? std::string("none") : names;
  };
  for (const std::string &value : values) {
    std::string name, path = value;
    size_t eq = value.find('=');
    if (value.rfind('@', 0) != 0 && eq != std::string::npos && eq > 0 &&
        rt::isValidSymbolName(value.substr(0, eq))) {
      name = value.substr(0, eq);
      path = value.substr(eq + 1);
    }
    if (path.rfind('@', 0) == 0)
      path = path.substr(1);
    if (path.empty())
      die(std::string(flag) + "=" + value + ": no file given");
    if (name.empty()) {
      positional.push_back(path);
      continue;
    }
    int index = b.argIndex(name);
    if (index < 0)
      die(std::string(flag) + "=" + value + ": the pipeline has no argument '" + name +
          "' (it takes " + acceptedNames() + ")");
    if (!takes(b.args[size_t(index)]))
      die(std::string(flag) + "=" + value + ": argument " + describeArg(b, size_t(index)) +
          " is not " + (std::strcmp(flag, "--input") == 0 ? "an input" : "an output") +
          " (it takes " + acceptedNames() + ")");
    if (!files[size_t(index)].empty())
      die(std::string(flag) + ": argument '" + name + "' given twice");
    files[size_t(index)] = path;
  }
  size_t next = 0;
  for (size_t i = 0; i < b.args.size() && next < positional.size(); ++i)
    if (takes(b.args[i]) && files[i].empty())
      files[i] = positional[next++];
  if (next < positional.size())
    die(std::string(flag) + "=@" + positional[next] + ": more " + flag +
        " files than the pipeline has arguments for (it takes " + acceptedNames() + ")");
  return files;
}

/// Says what an input dim must equal, e.g. "37 (symbol new_k_d0: dim 0 of argument 'new_k')".
std::string expectedDim(const rt::Bundle &b, const rt::Expr &dim, int64_t want) {
  std::string s = std::to_string(want) + " (" + dim.text();
  const auto &code = dim.code();
  if (code.size() == 1 && code[0].kind == rt::Expr::OpKind::Sym) {
    const rt::Symbol &sym = b.symbols[size_t(code[0].value)];
    if (sym.kind == rt::Symbol::Kind::ArgDim)
      s += ": dim " + std::to_string(sym.dim) + " of argument '" + b.args[size_t(sym.arg)].name + "'";
  }
  return s + ")";
}

bool isDirectory(const std::string &path) { return llvm::sys::fs::is_directory(path); }

rt::Bundle compileMlir(const std::string &path, const std::string &source,
                       const jit::Target &target) {
  rt::Expected<rt::Bundle> bundle = jit::compileSource(source, target, path);
  if (!bundle)
    die(bundle.message());
  return std::move(*bundle);
}

/// Everything about one run that is known before a device is opened.
struct HostRun {
  rt::Bundle bundle;
  std::vector<std::vector<int64_t>> shapes;   ///< per argument
  std::vector<std::vector<char>> deviceBytes; ///< per in/inout argument, converted
  std::vector<std::string> outputFiles;       ///< per out/inout argument; empty: summary
};

/// Reads every input, checks it against the bundle, binds the symbols and sizes the outputs.
void prepareInputs(HostRun &run) {
  const rt::Bundle &b = run.bundle;
  std::vector<std::string> inputFiles = assignFiles(b, "--input", inputFlags, isInput);
  run.outputFiles = assignFiles(b, "--output", outputFlags, isOutput);
  for (size_t i = 0; i < b.args.size(); ++i)
    if (isInput(b.args[i]) && inputFiles[i].empty())
      die("missing --input for argument " + describeArg(b, i));
  for (const std::string &file : run.outputFiles) {
    if (file.empty())
      continue;
    if (isDirectory(file))
      die("--output: '" + file + "' is a directory");
    // The file's folder must exist and be writable: found out after the run, the GPU's work
    // was lost (and without a GPU, the missing device was blamed).
    llvm::StringRef parent = llvm::sys::path::parent_path(file);
    if (parent.empty())
      parent = ".";
    if (!isDirectory(parent.str()))
      die("--output: cannot write '" + file + "': folder '" + parent.str() + "' does not exist");
    if (llvm::sys::fs::access(parent, llvm::sys::fs::AccessMode::Write))
      die("--output: cannot write '" + file + "': folder '" + parent.str() + "' is not writable");
  }

  // Each input on its own: readable, a dtype the argument takes, its rank and static dims.
  std::vector<npy::Array> arrays(b.args.size());
  run.shapes.assign(b.args.size(), {});
  for (size_t i = 0; i < b.args.size(); ++i) {
    const rt::ArgSpec &arg = b.args[i];
    if (!isInput(arg))
      continue;
    rt::Expected<npy::Array> a = npy::read(inputFiles[i]);
    if (!a)
      die("argument '" + arg.name + "': " + a.message());
    const std::string where = "argument " + describeArg(b, i) + " from '" + inputFiles[i] + "'";
    if (!accepts(arg.dtype, a->descr))
      die(where + ": cannot take a .npy of " + a->descr + " (it takes " + acceptedFor(arg.dtype).text +
          ")");
    if (a->shape.size() != arg.dims.size())
      die(where + ": expected rank " + std::to_string(arg.dims.size()) + ", the file has shape " +
          shapeText(a->shape));
    for (size_t d = 0; d < arg.dims.size(); ++d) {
      std::optional<int64_t> fixed = arg.dims[d].constantValue();
      if (fixed && *fixed != a->shape[d])
        die(where + ": dim " + std::to_string(d) + " must be " + std::to_string(*fixed) +
            ", the file has shape " + shapeText(a->shape));
    }
    run.shapes[i] = a->shape;
    arrays[i] = std::move(*a);
  }

  // Symbols from the input shapes, then every dynamic dim against its symbol.
  std::vector<int64_t> symbols(b.symbols.size());
  for (size_t s = 0; s < b.symbols.size(); ++s) {
    const rt::Symbol &sym = b.symbols[s];
    if (sym.kind == rt::Symbol::Kind::ArgDim) {
      if (!isInput(b.args[size_t(sym.arg)]))
        die("the bundle binds symbol '" + sym.name + "' to output argument '" +
            b.args[size_t(sym.arg)].name + "'");
      symbols[s] = run.shapes[size_t(sym.arg)][size_t(sym.dim)];
      continue;
    }
    rt::Status st = sym.expr.eval(rt::Span<const int64_t>(symbols.data(), s), symbols[s]);
    if (!st.ok())
      die("symbol '" + sym.name + "' (" + sym.expr.text() + "): " + st.message());
  }
  for (size_t i = 0; i < b.args.size(); ++i) {
    const rt::ArgSpec &arg = b.args[i];
    for (size_t d = 0; d < arg.dims.size(); ++d) {
      int64_t want = 0;
      rt::Status st = arg.dims[d].eval(symbols, want);
      if (!st.ok())
        die("argument " + describeArg(b, i) + " dim " + std::to_string(d) + ": " + st.message());
      if (!isInput(arg)) {
        if (want < 0)
          die("output argument " + describeArg(b, i) + " dim " + std::to_string(d) + " is " +
              std::to_string(want) + " for these inputs");
        run.shapes[i].push_back(want);
      } else if (want != run.shapes[i][d]) {
        die("argument " + describeArg(b, i) + " from '" + inputFiles[i] + "': dim " +
            std::to_string(d) + " is " + std::to_string(run.shapes[i][d]) + " but must be " +
            expectedDim(b, arg.dims[d], want) + "; the file has shape " +
            shapeText(run.shapes[i]));
      }
    }
    if (!npy::byteSize(run.shapes[i], std::max<size_t>(rt::dtypeBytes(arg.dtype), 4)))
      die("argument " + describeArg(b, i) + ": shape " + shapeText(run.shapes[i]) + " is too large");
  }

  // The launcher's own host-side checks, so that nothing but the device can fail later.
  std::vector<rt::TensorArg> planArgs;
  for (const std::vector<int64_t> &shape : run.shapes)
    planArgs.emplace_back(kPlaceholderPtr, rt::Span<const int64_t>(shape.data(), shape.size()));
  std::vector<int64_t> bound(b.symbols.size());
  size_t workspaceBytes = 0;
  rt::Status st = rt::bindSymbols(b, planArgs, bound);
  if (st.ok())
    st = rt::evalWorkspaceBytes(b, bound, workspaceBytes);
  if (!st.ok())
    die(st.message());
  // Each kernel planned as the launcher will (grid, block, shared memory and parameters within
  // the limits of the bundle's chip, or of any supported chip for a target the table lacks; the
  // device's own limits are checked again once it is open), and its PTX entry present with the
  // bundle's parameter count.
  if (b.ptx.empty() && b.cubin.empty()) // (the compiler plans before it attaches the image)
    die("the bundle has no image (neither PTX nor cubin)");
  int64_t optInSmem = 0;
  if (const mlir::ds::ChipInfo *chip = mlir::ds::lookupChip(b.target))
    optInSmem = chip->smemPerBlock;
  else
    for (const mlir::ds::ChipInfo &c : mlir::ds::supportedChips())
      optInSmem = std::max(optInSmem, c.smemPerBlock);
  for (size_t k = 0; k < b.kernels.size(); ++k) {
    const rt::KernelSpec &ks = b.kernels[k];
    rt::KernelLimits limits;
    limits.maxDynamicSmem = optInSmem;
    if (!b.ptx.empty()) {
      limits.paramCount = rt::ptxEntryParamCount(b.ptx, ks.name);
      if (limits.paramCount < 0)
        die("kernel '" + ks.name + "' (#" + std::to_string(k) +
            ") has no entry in the bundle's PTX");
    }
    rt::LaunchConfig config;
    std::vector<uint64_t> params(ks.params.size());
    st = rt::planKernel(b, k, bound, planArgs, rt::Workspace{kPlaceholderPtr, workspaceBytes},
                        limits, config, params);
    if (!st.ok())
      die(st.message());
  }

  run.deviceBytes.assign(b.args.size(), {});
  for (size_t i = 0; i < b.args.size(); ++i)
    if (isInput(b.args[i]))
      run.deviceBytes[i] = convertIn(arrays[i], b.args[i], inputFiles[i]);
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // User-written kernel IR that NVPTX cannot compile fails with a diagnostic, not an abort.
  mlir::ds::enableCompilerErrorRecovery();
  // Only this tool's options: LLVM's back-end and pass options are refused as unknown.
  ds::tools::acceptOnlyCategory(category);
  ds::tools::setVersionPrinter("ds-run");
  cl::ParseCommandLineOptions(
      argc, argv,
      "ds-run: runs a ds pipeline (.mlir, compiled here, or a .dsb bundle) on .npy inputs\n\n"
      "  Inputs and outputs follow the bundle's argument order: the function's arguments,\n"
      "  then result0, result1, ... for results that do not update an argument in place.\n"
      "  Every input is read and checked before the GPU is opened.\n");
  const bool chipGiven = chip.getNumOccurrences() > 0;
  const bool smCountGiven = smCountFlag.getNumOccurrences() > 0;
  if (smCountFlag < 1 || smCountFlag > mlir::ds::kMaxSMCount)
    die("--sm-count must be in [1, " + std::to_string(mlir::ds::kMaxSMCount) + "], got " +
        std::to_string(smCountFlag));
  if (repeat < 1 || repeat > 1000000)
    die("--repeat must be in [1, 1000000], got " + std::to_string(repeat));

  // 1. The pipeline: a bundle as is, anything else compiled as MLIR text.
  const std::string path = pipelinePath;
  const bool isBundle = path.size() > 4 && path.compare(path.size() - 4, 4, ".dsb") == 0;
  if (isDirectory(path))
    die("'" + path + "' is a directory, not a pipeline");
  HostRun run;
  std::string source;
  // Before the device is known: --chip and --sm-count (or their defaults) and the chip's facts.
  jit::Target compiled;
  compiled.chip = chip;
  compiled.smCount = smCountFlag;
  compiled.configOverrides.assign(configs.begin(), configs.end());
  if (auto error = mlir::ds::configOverridesError(compiled.configOverrides))
    die("--config: " + *error);
  if (isBundle) {
    if (chipGiven || smCountGiven || !configs.empty())
      die("--chip, --sm-count and --config apply to a .mlir pipeline; '" + path +
          "' is already compiled");
    rt::Expected<rt::Bundle> bundle = rt::Bundle::readFile(path);
    if (!bundle)
      die(bundle.message());
    run.bundle = std::move(*bundle);
  } else {
    if (auto notFile = ds::tools::sourceFileError(path))
      die(*notFile);
    auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
    if (!file)
      die("cannot read '" + path + "': " + file.getError().message());
    source = (*file)->getBuffer().str();
    run.bundle = compileMlir(path, source, compiled);
  }
  rt::Status valid = run.bundle.validate();
  if (!valid.ok())
    die(valid.withContext(path).message());

  // 2. Every input read and checked, outputs sized: all before the driver is touched.
  prepareInputs(run);

  // 3. The device.
  rt::Expected<rt::Context> ctx = rt::Context::open(0);
  if (!ctx)
    die(ctx.message());
  if (!ctx->makeCurrent().ok())
    die("cannot make the device context current");
  if (!isBundle) {
    // Compiled again for the device at hand (what was not given on the command line comes from
    // it): the same function, so the same arguments, symbols and checks.
    jit::Target device = jit::Target::of(ctx->properties());
    if (chipGiven)
      device.chip = chip;
    if (smCountGiven)
      device.smCount = smCountFlag;
    device.configOverrides = compiled.configOverrides;
    if (device.key() != compiled.key()) {
      rt::Bundle retuned = compileMlir(path, source, device);
      if (retuned.args.size() != run.bundle.args.size() ||
          retuned.symbols.size() != run.bundle.symbols.size())
        die("internal error: compiling for the device (" + device.key() +
            ") changed the pipeline's arguments");
      run.bundle = std::move(retuned);
    }
  }
  const rt::Bundle &b = run.bundle;

  std::vector<rt::DeviceBuffer> buffers;
  std::vector<rt::TensorArg> args;
  for (size_t i = 0; i < b.args.size(); ++i) {
    const rt::ArgSpec &arg = b.args[i];
    size_t bytes = size_t(*npy::byteSize(run.shapes[i], rt::dtypeBytes(arg.dtype)));
    auto buf = ctx->alloc(std::max<size_t>(bytes, 16));
    if (!buf)
      die("device memory for '" + arg.name + "': " + buf.message());
    rt::Status st = isInput(arg) ? buf->upload(run.deviceBytes[i].data(), bytes) : buf->fill(0);
    if (!st.ok())
      die("upload of '" + arg.name + "': " + st.message());
    args.emplace_back(buf->ptr(), rt::Span<const int64_t>(run.shapes[i].data(), run.shapes[i].size()));
    buffers.push_back(std::move(*buf));
  }
  auto pipeline = rt::Pipeline::load(*ctx, b);
  if (!pipeline)
    die(pipeline.message());
  auto ws = rt::OwnedWorkspace::allocate(*pipeline, args);
  if (!ws)
    die(ws.message());
  auto start = ctx->createEvent(), stop = ctx->createEvent();
  if (!start || !stop)
    die("events: " + (start ? stop.message() : start.message()));

  // 4. Run --repeat times; inout arguments are restored so that every run sees the inputs.
  std::vector<double> us;
  for (int64_t r = 0; r < repeat; ++r) {
    for (size_t i = 0; r > 0 && i < b.args.size(); ++i)
      if (b.args[i].role == rt::ArgRole::InOut && !run.deviceBytes[i].empty() &&
          !buffers[i].upload(run.deviceBytes[i].data(), run.deviceBytes[i].size()).ok())
        die("upload of '" + b.args[i].name + "' failed");
    rt::Status st = start->record(nullptr);
    if (st.ok())
      st = pipeline->launch(args, ws->get(), nullptr);
    if (st.ok())
      st = stop->record(nullptr);
    if (st.ok())
      st = stop->synchronize();
    if (!st.ok())
      die(st.message());
    auto ms = rt::Event::elapsedMs(*start, *stop);
    if (!ms)
      die(ms.message());
    us.push_back(1000.0 * *ms);
  }
  rt::Status synced = ctx->synchronize();
  if (!synced.ok())
    die(synced.message());
  std::sort(us.begin(), us.end());
  std::printf("time: %.1f us (median of %lld run%s)\n", us[us.size() / 2],
              static_cast<long long>(repeat), repeat == 1 ? "" : "s");

  // 5. Outputs in bundle order: updated arguments, then result0, result1, ...
  for (size_t i = 0; i < b.args.size(); ++i) {
    const rt::ArgSpec &arg = b.args[i];
    if (!isOutput(arg))
      continue;
    std::vector<char> bytes(size_t(*npy::byteSize(run.shapes[i], rt::dtypeBytes(arg.dtype))));
    if (!bytes.empty() && !buffers[i].download(bytes.data(), bytes.size()).ok())
      die("download of '" + arg.name + "' failed");
    npy::Array a = convertOut(bytes, arg, run.shapes[i]);
    if (!run.outputFiles[i].empty()) {
      rt::Status w = npy::write(run.outputFiles[i], a);
      if (!w.ok())
        die(w.message());
      std::printf("%s -> %s\n", arg.name.c_str(), run.outputFiles[i].c_str());
    } else {
      std::printf("%s: %s [", arg.name.c_str(), a.descr.c_str());
      for (size_t d = 0; d < a.shape.size(); ++d)
        std::printf("%s%lld", d ? ", " : "", static_cast<long long>(a.shape[d]));
      std::printf("]\n");
    }
  }
  return 0;
}
