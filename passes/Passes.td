#ifndef DS_PASSES_TD
#define DS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SelectKernelConfigPass : Pass<"ds-select-kernel-config", "func::FuncOp"> {
  let summary = "Choose tile sizes, warps and splits of every ds op from shapes and target";
  let description = [{
    Attaches `#ds.kernel_config<...>` to every ds op that has none, from the op's static shapes
    (head dim, label dim, k) and the target (SM count). An op that already carries a config (a
    user override) keeps it. Later passes only read the config.
  }];
  let dependentDialects = ["::mlir::ds::DSDialect"];
  let options = [
    Option<"smCount", "sm-count", "int64_t", /*default=*/"132", "Streaming multiprocessors of the target">,
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90\"", "Target chip (sm_80 and newer)">,
  ];
}

#endif // DS_PASSES_TD
