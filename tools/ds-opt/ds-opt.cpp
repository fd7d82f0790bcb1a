// ds-opt: mlir-opt for the ds dialect and its pipeline to PTX.
#include "codegen/Registration.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::ds::registerCompilerDialects(registry);
  mlir::ds::registerCompilerPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "ds optimizer driver: ds dialect to PTX\n", registry));
}
