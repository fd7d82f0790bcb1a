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

def SplitDecodePass : Pass<"ds-split-decode", "func::FuncOp"> {
  let summary = "Split decode attention into split-K partials and their merge";
  let description = [{
    Rewrites `ds.dense_decode` and `ds.sparse_decode` into `ds.decode_partial` (one
    online-softmax state per request, head and split, f32) followed by `ds.decode_merge`. The
    partial op keeps the decode op's `#ds.kernel_config`: `block_tokens` is the least number of
    positions per split and `splits` bounds the split count, which the launch plan picks from the
    actual batch so that small batches still fill the GPU.
  }];
  let dependentDialects = ["::mlir::ds::DSDialect"];
}

#endif // DS_PASSES_TD
