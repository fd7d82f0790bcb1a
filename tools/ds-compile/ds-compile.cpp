// ds-compile: a .mlir file of ds ops in, a kernel bundle (or its PTX) out.
//   ds-compile input.mlir -o out.dsb [--chip=sm_90] [--sm-count=132] [--emit=bundle|ptx]
#include "codegen/Compiler.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::opt<std::string> input(cl::Positional, cl::desc("<input .mlir>"), cl::Required);
  cl::opt<std::string> output("o", cl::desc("Output file"), cl::value_desc("file"), cl::Required);
  cl::opt<std::string> chip("chip", cl::desc("Target chip (sm_80 and newer)"), cl::init("sm_90"));
  cl::opt<int64_t> smCount("sm-count", cl::desc("SMs of the target"), cl::init(132));
  cl::opt<std::string> emit("emit", cl::desc("bundle | ptx"), cl::init("bundle"));
  cl::opt<std::string> funcName("func", cl::desc("Function to compile (default: the only one)"),
                                cl::init(""));
  cl::ParseCommandLineOptions(argc, argv, "ds-compile: ds ops to a kernel bundle\n");
  if (emit != "bundle" && emit != "ptx") {
    llvm::errs() << "ds-compile: --emit must be 'bundle' or 'ptx', got '" << emit << "'\n";
    return 1;
  }
  auto file = llvm::MemoryBuffer::getFileOrSTDIN(input);
  if (!file) {
    llvm::errs() << "ds-compile: cannot read '" << input << "': " << file.getError().message()
                 << "\n";
    return 1;
  }
  mlir::ds::CompileOptions options;
  options.chip = chip;
  options.smCount = smCount;
  auto bundle = mlir::ds::compileSourceToBundle((*file)->getBuffer(), options, funcName);
  if (!bundle) {
    llvm::errs() << "ds-compile: " << bundle.message() << "\n";
    return 1;
  }
  if (emit == "ptx") {
    std::error_code ec;
    llvm::raw_fd_ostream os(output, ec);
    if (ec) {
      llvm::errs() << "ds-compile: cannot write '" << output << "': " << ec.message() << "\n";
      return 1;
    }
    os << bundle->ptx;
    return 0;
  }
  ds::rt::Status written = bundle->writeFile(output);
  if (!written.ok()) {
    llvm::errs() << "ds-compile: " << written.message() << "\n";
    return 1;
  }
  return 0;
}
