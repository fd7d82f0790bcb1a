#ifndef DS_ATTRS_TD
#define DS_ATTRS_TD

include "dialect/DSDialect.td"
include "mlir/IR/EnumAttr.td"

def DS_GroupReduce : I32EnumAttr<"GroupReduce", "how GQA query heads of one group share a selection", [
    I32EnumAttrCase<"none", 0>, I32EnumAttrCase<"sum", 1>, I32EnumAttrCase<"max", 2>]> {
  let cppNamespace = "::mlir::ds";
  let genSpecializedAttr = 0;
}
def DS_GroupReduceAttr : EnumAttr<DS_Dialect, DS_GroupReduce, "group_reduce"> {
  let assemblyFormat = "`<` $value `>`";
}

def DS_Granularity : I32EnumAttr<"Granularity", "what a sparse-decode index names", [
    I32EnumAttrCase<"token", 0>, I32EnumAttrCase<"page", 1>]> {
  let cppNamespace = "::mlir::ds";
  let genSpecializedAttr = 0;
}
def DS_GranularityAttr : EnumAttr<DS_Dialect, DS_Granularity, "granularity"> {
  let assemblyFormat = "`<` $value `>`";
}

def DS_KernelConfigAttr : AttrDef<DS_Dialect, "KernelConfig"> {
  let mnemonic = "kernel_config";
  let summary = "Tiling choices of one kernel: tokens per block, warps, splits, stages, vector width";
  let description = [{
    Chosen by `ds-select-kernel-config` from the shapes and the target, read by every later pass.
    `block_tokens`: tokens one thread block (or one split) handles per step; `warps`: warps per
    block; `splits`: how many blocks share one (request, head) row (split-K over tokens);
    `stages`: pipelined loads in flight; `vector_width`: elements per vector load.

    ```mlir
    #ds.kernel_config<block_tokens = 128, warps = 4, splits = 8, stages = 2, vector_width = 8>
    ```
  }];
  let parameters = (ins "int64_t":$block_tokens, "int64_t":$warps, "int64_t":$splits,
                        "int64_t":$stages, "int64_t":$vector_width);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // DS_ATTRS_TD
