#include "passes/Passes.h"

void mlir::ds::registerAllDSPasses() { registerDSPasses(); }
