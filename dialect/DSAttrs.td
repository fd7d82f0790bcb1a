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
  let summary = "Every choice a kernel builder makes: tiles, warps, splits, unroll, vectors, variant, occupancy, heads, cluster CTA size and unroll";
  let description = [{
    Chosen by `ds-select-kernel-config` from the shapes and the target (`#ds.target`), read by
    every later pass. It is a contract: a builder builds exactly what the config says or refuses
    it with a diagnostic on the op (no clamps, no silent fallback). Each op's description says
    what its kernels read from each field; a field a kernel has no use for must be 1 (`variant`
    empty; `occupancy`, `heads`, `cluster_warps` and `cluster_stages` 0).
    Ranges every config must be in (the families check tighter ones): block_tokens 1 to 2^24,
    warps 1 to 32, splits 1 to 2^16, stages 1 to 64, vector_width a power of two to 32,
    occupancy 0 to 32, heads 0 to 1024, cluster_warps 0 to 32, cluster_stages 0 to 64.
    `block_tokens`: positions one block (or split) handles per step; `warps`: warps per block;
    `splits`: how many blocks share one row (split-K over tokens; where the launch picks the
    count, the op's description says how `splits` bounds it); `stages`: loads in flight per thread (unrolled steps); `vector_width`: elements
    per vector load; `variant`: which kernel of the family (empty where there is one);
    `occupancy`: CTAs per SM the kernel is compiled for (`nvvm.minctasm`, caps registers;
    0 = no hint); `heads`: query heads one CTA walks together (decode attention: a divisor of
    the GQA group; 0 = the whole group, or 1 under a per-head selection; 0 where unused);
    `cluster_warps`: warps per CTA of a family's thread-block-cluster kernel where the family
    also builds one-CTA kernels sized by `warps` (topk and score_topk with `splits` > 1; 0 where
    unused); `cluster_stages`: `stages` of that cluster kernel where the family gives it its own
    (score_topk with `splits` > 1; 0 where unused).

    ```mlir
    #ds.kernel_config<block_tokens = 128, warps = 4, splits = 8, stages = 2, vector_width = 8>
    #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 2, vector_width = 8, variant = "chunked">
    ```
  }];
  let parameters = (ins "int64_t":$block_tokens, "int64_t":$warps, "int64_t":$splits,
                        "int64_t":$stages, "int64_t":$vector_width,
                        StringRefParameter<"kernel variant", "\"\"">:$variant,
                        DefaultValuedParameter<"int64_t", "0">:$occupancy,
                        DefaultValuedParameter<"int64_t", "0">:$heads,
                        DefaultValuedParameter<"int64_t", "0">:$cluster_warps,
                        DefaultValuedParameter<"int64_t", "0">:$cluster_stages);
  let skipDefaultBuilders = 1;
  let builders = [
    AttrBuilder<(ins "int64_t":$block_tokens, "int64_t":$warps, "int64_t":$splits,
                     "int64_t":$stages, "int64_t":$vector_width,
                     CArg<"::llvm::StringRef", "\"\"">:$variant, CArg<"int64_t", "0">:$occupancy,
                     CArg<"int64_t", "0">:$heads, CArg<"int64_t", "0">:$cluster_warps,
                     CArg<"int64_t", "0">:$cluster_stages), [{
      return $_get($_ctxt, block_tokens, warps, splits, stages, vector_width, variant, occupancy,
                   heads, cluster_warps, cluster_stages);
    }]>
  ];
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def DS_TargetAttr : AttrDef<DS_Dialect, "Target"> {
  let mnemonic = "target";
  let summary = "The GPU a function is compiled for";
  let description = [{
    Attached to each function (`ds.target`) by `ds-select-kernel-config` from its options (the
    JIT fills them from the device it runs on); every later pass reads the target from here.
    `chip` is one of the supported chips (sm_80, sm_86, sm_89, sm_90, sm_90a, sm_100, sm_100a,
    sm_120, sm_120a); `ptx` the PTX ISA version the kernels are emitted for (80 = PTX 8.0);
    `smem_per_block` the shared memory one block may opt in to (bytes), `regs_per_sm` the
    registers of one SM, `l2_bytes` the L2 cache size.

    ```mlir
    #ds.target<chip = "sm_90", sm_count = 132, smem_per_block = 232448, regs_per_sm = 65536, l2_bytes = 52428800, ptx = 80>
    ```
  }];
  let parameters = (ins StringRefParameter<"chip">:$chip, "int64_t":$sm_count,
                        "int64_t":$smem_per_block, "int64_t":$regs_per_sm, "int64_t":$l2_bytes,
                        "int64_t":$ptx);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // DS_ATTRS_TD
