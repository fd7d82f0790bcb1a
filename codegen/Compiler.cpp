#include "codegen/Compiler.h"
#include "codegen/Registration.h"
#include "dialect/DSOps.h"
#include "passes/ConfigOverride.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ThreadPool.h"

#include <algorithm>
#include <optional>

using namespace mlir;
using ::ds::rt::Bundle;
using ::ds::rt::Expected;
using ::ds::rt::Status;

std::unique_ptr<MLIRContext> mlir::ds::createCompilerContext() {
  DialectRegistry registry;
  registerCompilerDialects(registry);
  auto ctx = std::make_unique<MLIRContext>(registry, MLIRContext::Threading::DISABLED);
  // Kernels compile in parallel (ds-split-kernel-modules, ds-emit-ptx) on one pool that every
  // compiler context of the process shares.
  static llvm::DefaultThreadPool pool(llvm::hardware_concurrency());
  ctx->setThreadPool(pool);
  ctx->loadAllAvailableDialects();
  // Diagnostics point at the user's source; the op's generic form after them is noise.
  ctx->printOpOnDiagnostic(false);
  return ctx;
}

static std::string joinSpace(ArrayAttr list) {
  std::string s;
  for (Attribute a : list)
    s += (s.empty() ? "" : " ") + cast<StringAttr>(a).str();
  return s;
}

/// ptxas from the CUDA toolkit turns the PTX into a cubin for `chip`. Empty when there is no
/// ptxas, or when it is older than the PTX (it does not know the PTX's `.version` or the chip):
/// the bundle then holds the PTX only, which the driver JIT-compiles at load. Any other refusal
/// is an error carrying ptxas's message: the driver's JIT would refuse the same PTX at load
/// (too much static shared memory, say), and a bundle no driver loads is no compile result.
static Expected<std::string> assembleCubin(const std::string &ptx, llvm::StringRef chip) {
  auto ptxas = llvm::sys::findProgramByName("ptxas", {"/usr/local/cuda/bin"});
  if (!ptxas)
    ptxas = llvm::sys::findProgramByName("ptxas");
  if (!ptxas)
    return std::string();
  llvm::SmallString<128> in, out, log;
  if (llvm::sys::fs::createTemporaryFile("ds", "ptx", in))
    return std::string();
  if (llvm::sys::fs::createTemporaryFile("ds", "cubin", out) ||
      llvm::sys::fs::createTemporaryFile("ds", "log", log)) {
    llvm::sys::fs::remove(in);
    llvm::sys::fs::remove(out);
    return std::string();
  }
  std::string cubin, message;
  bool written;
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(in, ec);
    os << ptx;
    os.close();
    written = !ec && !os.has_error();
    if (!written)
      os.clear_error();
  }
  int rc = -1;
  if (written) {
    std::string arch = ("-arch=" + chip).str();
    llvm::StringRef args[] = {*ptxas, arch, "-O3", in, "-o", out};
    std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(log),
                                                  llvm::StringRef(log)};
    rc = llvm::sys::ExecuteAndWait(*ptxas, args, std::nullopt, redirects);
    if (rc == 0) {
      if (auto buf = llvm::MemoryBuffer::getFile(out, /*IsText=*/false))
        cubin = (*buf)->getBuffer().str();
    } else if (auto buf = llvm::MemoryBuffer::getFile(log)) {
      message = llvm::StringRef((*buf)->getBuffer()).trim().str();
    }
  }
  llvm::sys::fs::remove(in);
  llvm::sys::fs::remove(out);
  llvm::sys::fs::remove(log);
  // A toolkit older than the PTX or the chip: the PTX alone, for the driver to compile.
  llvm::StringRef m(message);
  if (rc <= 0 || m.contains("Unsupported .version") || m.contains("not defined for option"))
    return cubin;
  if (message.size() > 4000)
    message = message.substr(0, 4000) + "\n...";
  return Status::error("ptxas (" + *ptxas + ") refused the kernels' PTX for " + chip.str() +
                       " (exit " + std::to_string(rc) + "); no driver would load it:\n" +
                       message);
}

Expected<Bundle> mlir::ds::emitBundle(ModuleOp module, llvm::StringRef funcName,
                                      llvm::StringRef chip, bool cubin) {
  PlanOp plan;
  for (auto p : module.getOps<PlanOp>())
    if (funcName.empty() || p.getSymName() == funcName) {
      if (plan)
        return Status::error("the module holds several compiled functions; name one");
      plan = p;
    }
  if (!plan)
    return Status::error(funcName.empty() ? std::string("no compiled function (ds.plan) in module")
                                          : "no compiled function named '" + funcName.str() + "'");
  std::string ptx;
  for (auto bin : module.getOps<gpu::BinaryOp>())
    if (bin.getSymName() == mlir::ds::kKernelsSymbol)
      for (Attribute o : bin.getObjects())
        ptx = cast<gpu::ObjectAttr>(o).getObject().str();
  if (ptx.empty())
    return Status::error("no PTX: gpu.binary @ds_kernels is missing (did the pipeline finish?)");

  // Write the plan in bundle syntax and let the runtime's parser check it: the compiler and the
  // runtime then agree on one definition of the format.
  std::string text = "dsbundle 1\ntarget " + chip.str() + "\n";
  for (Attribute a : plan.getSymbols())
    text += "symbol " + cast<StringAttr>(a).str() + "\n";
  for (Attribute a : plan.getArgs())
    text += "arg " + cast<StringAttr>(a).str() + "\n";
  text += "workspace " + plan.getWorkspace().str() + "\n";
  for (auto launch : plan.getBody().getOps<LaunchOp>()) {
    text += "kernel " + launch.getKernel().getLeafReference().str() + "\n";
    text += "  grid " + joinSpace(launch.getGrid()) + "\n";
    text += "  block";
    for (int64_t v : launch.getBlock())
      text += " " + std::to_string(v);
    text += "\n  smem " + launch.getSmem().str() + "\n";
    if (launch.getProgrammatic())
      text += "  programmatic\n";
    for (Attribute p : launch.getParams())
      text += "  param " + cast<StringAttr>(p).str() + "\n";
    text += "end\n";
  }
  Expected<Bundle> bundle = Bundle::parse(text);
  if (!bundle)
    return bundle.status().withContext("internal error: the launch plan is not a valid bundle");
  bundle->ptx = ptx;
  if (cubin) {
    Expected<std::string> assembled = assembleCubin(ptx, chip);
    if (!assembled)
      return assembled.status();
    bundle->cubin = std::move(*assembled);
  }
  return bundle;
}

Expected<Bundle> mlir::ds::compileToBundle(ModuleOp module, const CompileOptions &options,
                                           llvm::StringRef funcName) {
  // The target is checked before anything is compiled: a bad chip or SM count is an option
  // error, not a diagnostic on the user's function.
  std::string error;
  if (failed(makeTarget(module.getContext(), options, error)))
    return Status::error(error);
  // The module is verified here and its kernels once more before their translation to LLVM
  // IR (ds-emit-ptx), not after each of the pipeline's passes: that took about 25 ms of a
  // 290 ms cold compile on a 2-core machine. ds-opt keeps --verify-each for work on passes.
  if (failed(verify(module)))
    return Status::error("compilation failed: the module does not verify");
  // What there is to compile, named before the pipeline runs (afterwards an empty module or a
  // misspelt name would read as a missing ds.plan).
  std::string names;
  bool found = false, any = false;
  for (auto f : module.getOps<func::FuncOp>()) {
    if (f.isExternal())
      continue;
    any = true;
    found |= f.getSymName() == funcName;
    names += (names.empty() ? "" : ", ") + f.getSymName().str();
  }
  if (!any && module.getOps<PlanOp>().empty())
    return Status::error("the module holds no function to compile (a func.func with a body)");
  if (!funcName.empty() && any && !found)
    return Status::error("no function named '" + funcName.str() + "' in the module (it has: " +
                         names + ")");
  PassManager pm(module.getContext());
  pm.enableVerifier(false);
  buildDSToPTXPipeline(pm, options);
  if (failed(pm.run(module)))
    return Status::error("compilation failed");
  return emitBundle(module, funcName, options.chip, options.cubin);
}

/// A compiled pipeline nests a few levels, so a source nested deeper than kMaxNesting is
/// refused before parsing (string literals and comments are skipped; the '>' of '->' closes
/// nothing).
constexpr int64_t kMaxNesting = 256;
/// The line where the text first nests deeper than kMaxNesting, if it does.
static std::optional<int64_t> tooDeep(llvm::StringRef text) {
  int64_t depth = 0, line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
    } else if (c == '"') { // a string literal: skip to its closing quote
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\')
          ++i;
        else if (text[i] == '\n')
          ++line;
      }
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') { // a comment
      while (i + 1 < text.size() && text[i + 1] != '\n')
        ++i;
    } else if (c == '{' || c == '[' || c == '(' || c == '<') {
      if (++depth > kMaxNesting)
        return line;
    } else if (c == '}' || c == ']' || c == ')' || (c == '>' && (i == 0 || text[i - 1] != '-'))) {
      depth = std::max<int64_t>(depth - 1, 0);
    }
  }
  return std::nullopt;
}

std::optional<std::string> mlir::ds::sourceNestingError(llvm::StringRef text,
                                                        llvm::StringRef name) {
  std::optional<int64_t> line = tooDeep(text);
  if (!line)
    return std::nullopt;
  return name.str() + ":" + std::to_string(*line) + ": the source nests more than " +
         std::to_string(kMaxNesting) +
         " levels of regions, brackets or angle brackets; cannot parse " + name.str();
}

namespace {
/// MLIR text parsed and verified in a compiler context of its own. While this lives, every
/// diagnostic of the context (the compile's too) is captured in `diagnostics` as
/// NAME:LINE:COL: error: ...; `module` is null when the text does not parse or verify.
struct ParsedSource {
  ParsedSource(llvm::StringRef source, llvm::StringRef sourceName)
      : name(sourceName.str()), ctx(mlir::ds::createCompilerContext()), os(diagnostics),
        handler(sourceMgr, ctx.get(), os) {
    sourceMgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(source, name),
                                 llvm::SMLoc());
    module = parseSourceFile<ModuleOp>(sourceMgr, ctx.get());
  }
  /// The diagnostics (file:line:col: error: ...) first, the one-line summary last.
  Status parseError() const {
    return Status::error(diagnostics + "cannot parse or verify " + name);
  }

  std::string name;
  std::unique_ptr<MLIRContext> ctx;
  std::string diagnostics;
  llvm::raw_string_ostream os;
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler;
  OwningOpRef<ModuleOp> module;
};
} // namespace

Status mlir::ds::verifySource(llvm::StringRef source, llvm::StringRef name,
                              llvm::ArrayRef<std::string> configOverrides) {
  if (auto error = sourceNestingError(source, name))
    return Status::error(*error);
  ParsedSource parsed(source, name);
  if (!parsed.module)
    return parsed.parseError();
  if (configOverrides.empty())
    return Status::success();
  std::vector<ConfigOverride> overrides;
  for (const std::string &text : configOverrides) {
    std::string error;
    std::optional<ConfigOverride> o = parseConfigOverride(text, error);
    if (!o)
      return Status::error(error);
    overrides.push_back(std::move(*o));
  }
  // The overrides name ops of each function as the config pass sees them: after the fusion
  // that precedes it in ds-to-ptx (target-independent, so no device is needed).
  PassManager pm(parsed.ctx.get());
  pm.addNestedPass<func::FuncOp>(createFuseScoreTopKPass());
  bool matched = succeeded(pm.run(*parsed.module));
  if (matched)
    parsed.module->walk([&](func::FuncOp f) {
      matched = matched && succeeded(checkOverridesMatch(f, overrides));
    });
  return matched ? Status::success()
                 : Status::error(parsed.diagnostics + "config overrides do not match " + name.str());
}

Expected<Bundle> mlir::ds::compileSourceToBundle(llvm::StringRef source,
                                                 const CompileOptions &options,
                                                 llvm::StringRef funcName) {
  std::string name = options.sourceName.empty() ? "<ds-source>" : options.sourceName;
  if (auto error = sourceNestingError(source, name))
    return Status::error(*error);
  ParsedSource parsed(source, name);
  if (!parsed.module)
    return parsed.parseError();
  Expected<Bundle> bundle = compileToBundle(*parsed.module, options, funcName);
  if (!bundle)
    return Status::error(parsed.diagnostics + bundle.message() + " (" + name + ")");
  return bundle;
}
