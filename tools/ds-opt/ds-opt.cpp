// ds-opt: mlir-opt for the ds dialect and its pipeline to PTX.
#include "codegen/Compiler.h"
#include "codegen/Registration.h"
#include "tools/ToolOptions.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // User-written kernel IR that NVPTX cannot compile fails with a diagnostic, not an abort.
  mlir::ds::enableCompilerErrorRecovery();
  // Only MLIR's options and the passes' (registered below) and --help / --version: not the
  // options of LLVM's back ends and passes, which the linked libraries register statically.
  ds::tools::dropStaticLLVMOptions();
  ds::tools::setVersionPrinter("ds-opt");
  mlir::DialectRegistry registry;
  mlir::ds::registerCompilerDialects(registry);
  mlir::ds::registerCompilerPasses();
  auto [input, output] = mlir::registerAndParseCLIOptions(
      argc, argv, "ds optimizer driver: ds dialect to PTX\n", registry);
  mlir::MlirOptMainConfig config = mlir::MlirOptMainConfig::createFromCLOptions();
  // Listing dialects or passes reads no input.
  if (config.shouldShowDialects() || config.shouldListPasses())
    return mlir::asMainReturnCode(mlir::MlirOptMain(argc, argv, input, output, registry));
  std::string error;
  if (auto notFile = ds::tools::sourceFileError(input)) {
    llvm::errs() << "ds-opt: " << *notFile << "\n";
    return 1;
  }
  std::unique_ptr<llvm::MemoryBuffer> file = mlir::openInputFile(input, &error);
  if (!file) {
    llvm::errs() << "ds-opt: " << error << "\n";
    return 1;
  }
  // MLIR's parser would overflow the stack on a text nested thousands deep: refused first.
  if (auto deep = mlir::ds::sourceNestingError(file->getBuffer(),
                                               input == "-" ? "<stdin>" : input)) {
    llvm::errs() << "ds-opt: " << *deep << "\n";
    return 1;
  }
  std::unique_ptr<llvm::ToolOutputFile> out = mlir::openOutputFile(output, &error);
  if (!out) {
    llvm::errs() << "ds-opt: " << error << "\n";
    return 1;
  }
  if (mlir::failed(mlir::MlirOptMain(out->os(), std::move(file), registry, config)))
    return 1;
  // A write error (a full disk) is reported here: left on the stream, LLVM would end the
  // process with a fatal error when the stream closes.
  out->os().flush();
  if (out->os().has_error()) {
    llvm::errs() << "ds-opt: cannot write '" << output << "': " << out->os().error().message()
                 << "\n";
    out->os().clear_error();
    return 1;
  }
  out->keep();
  return 0;
}
