#ifndef DS_DIALECT_TD
#define DS_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def DS_Dialect : Dialect {
  let name = "ds";
  let cppNamespace = "::mlir::ds";
  let summary = "Sparse- and linear-attention operations on tensors";
  let description = [{
    The `ds` dialect describes the building blocks of sparse attention for LLM decoding
    (Double Sparsity label scoring, Quest page summaries, top-k / top-p selection, residual
    sampling, block-sparse and dense decode) and chunked linear attention with decay
    (Lightning Attention). Ops have value semantics on tensors; batch and sequence sizes may
    be dynamic, head counts and head dims are static. The math of every op is in
    shared/ALGORITHMS.md; the conventions are:

    * paged KV cache, NHD layout: `K, V : [num_pages, P, Hkv, d]`, page size `P` (`P = 1` is a
      flat token pool); `page_table : [B, max_pages] i32`, `seq_lens : [B] i32`; token `t` of
      request `b` lives at page `page_table[b, t / P]`, slot `t % P`;
    * query head `h` reads kv head `h / (Hq / Hkv)` (GQA);
    * data is bf16 or f16; all reductions accumulate in f32; indices are i32 and `-1` marks an
      empty index slot;
    * out-of-range indices (page table entries, slots, seq lens beyond the cache) are clamped by
      the rule each op documents, never read out of bounds.
  }];
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

class DS_Op<string mnemonic, list<Trait> traits = []> : Op<DS_Dialect, mnemonic, traits>;

#endif // DS_DIALECT_TD
