// ds-compile: a .mlir file of ds ops in, a kernel bundle (or its PTX) out.
//   ds-compile input.mlir -o out.dsb [--chip=sm_90] [--sm-count=132] [--emit=bundle|ptx] [--func=f]
//              [--config=topp.warps=16,...]
#include "codegen/Compiler.h"
#include "passes/ConfigOverride.h"
#include "tools/ToolOptions.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;

namespace {

cl::OptionCategory category("ds-compile options");
cl::opt<std::string> input(cl::Positional, cl::desc("<input .mlir>"), cl::Required,
                           cl::cat(category));
cl::opt<std::string> output("o", cl::desc("Output file"), cl::value_desc("file"), cl::Required,
                            cl::cat(category));
cl::opt<std::string> chip("chip", cl::desc("Target chip (sm_80 and newer)"),
                          cl::value_desc("sm_XX"), cl::init("sm_90"), cl::cat(category));
cl::opt<int64_t> smCount("sm-count", cl::desc("SMs of the target, 1 to 1024"),
                         cl::value_desc("N"), cl::init(132), cl::cat(category));
cl::opt<std::string> emit("emit", cl::desc("What to write: bundle | ptx"), cl::init("bundle"),
                          cl::cat(category));
cl::opt<std::string> funcName("func", cl::desc("Function to compile (default: the only one)"),
                              cl::init(""), cl::cat(category));
cl::list<std::string> configs(
    "config",
    cl::desc("Config override <op>.<field>=<value> (e.g. topp.warps=16), repeated or comma "
             "separated: sets that field of every such op's chosen config; checked like any config"),
    cl::value_desc("op.field=value"), cl::CommaSeparated, cl::cat(category));

int fail(const llvm::Twine &what) {
  llvm::errs() << "ds-compile: " << what << "\n";
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // User-written kernel IR that NVPTX cannot compile fails with a diagnostic, not an abort.
  mlir::ds::enableCompilerErrorRecovery();
  // Only this tool's options: LLVM's back-end and pass options are refused as unknown.
  ds::tools::acceptOnlyCategory(category);
  ds::tools::setVersionPrinter("ds-compile");
  cl::ParseCommandLineOptions(argc, argv, "ds-compile: ds ops to a kernel bundle\n");
  if (emit != "bundle" && emit != "ptx")
    return fail("--emit must be 'bundle' or 'ptx', got '" + emit + "'");
  // Checked here to name the flag (values near INT64_MAX used to wrap around in grid sizes).
  if (smCount < 1 || smCount > mlir::ds::kMaxSMCount)
    return fail("--sm-count must be in [1, " + llvm::Twine(mlir::ds::kMaxSMCount) + "], got " +
                llvm::Twine(int64_t(smCount)));
  const std::vector<std::string> overrides(configs.begin(), configs.end());
  if (auto error = mlir::ds::configOverridesError(overrides))
    return fail("--config: " + *error);
  if (auto notFile = ds::tools::sourceFileError(input))
    return fail(*notFile);
  auto file = llvm::MemoryBuffer::getFileOrSTDIN(input);
  if (!file)
    return fail("cannot read '" + input + "': " + file.getError().message());
  mlir::ds::CompileOptions options;
  options.chip = chip;
  options.smCount = smCount;
  options.sourceName = input;
  options.configOverrides = overrides;
  options.cubin = emit == "bundle"; // --emit=ptx writes the PTX alone: no ptxas run
  auto bundle = mlir::ds::compileSourceToBundle((*file)->getBuffer(), options, funcName);
  if (!bundle)
    return fail(bundle.message());
  if (emit == "ptx") {
    std::error_code ec;
    llvm::raw_fd_ostream os(output, ec);
    if (ec)
      return fail("cannot write '" + output + "': " + ec.message());
    os << bundle->ptx;
    os.flush(); // (not close(): with -o - the stream is stdout)
    if (os.has_error()) { // a full disk: left on the stream, LLVM would end the process
      std::string message = os.error().message();
      os.clear_error();
      return fail("cannot write '" + output + "': " + message);
    }
    return 0;
  }
  if (output == "-") { // stdout, as for --emit=ptx (a file named '-' was written)
    llvm::outs() << bundle->serialize();
    llvm::outs().flush();
    if (llvm::outs().has_error()) {
      llvm::outs().clear_error();
      return fail("cannot write the bundle to stdout");
    }
    return 0;
  }
  ds::rt::Status written = bundle->writeFile(output);
  if (!written.ok())
    return fail(written.message());
  return 0;
}
