// Config overrides (`override=<op>.<field>=<value>`) set one field of the config of every op of
// that name, chosen or given, and the family checks the result like any config.
// RUN: ds-opt %s --ds-select-kernel-config="override=topk.warps=8,ds.sparse_decode.splits=4" | FileCheck %s
// RUN: ds-opt %s --ds-to-ptx="override=sparse_decode.splits=4,decode_merge.warps=2 stop-after-lowering" | FileCheck %s --check-prefix=SPLIT
// Across ds-split-decode: an override of the decode op sets the partials made from it, and one
// of the partials the decode op they inherit their config from, whichever side of the split the
// pass runs on (the last override of a field wins).
// RUN: ds-opt %s --ds-split-decode --ds-select-kernel-config="override=sparse_decode.stages=7" | FileCheck %s --check-prefix=AFTER
// RUN: ds-opt %s --ds-select-kernel-config="override=decode_partial.stages=7" | FileCheck %s --check-prefix=BEFORE
// RUN: ds-opt %s --ds-select-kernel-config="override=decode_partial.stages=6,sparse_decode.stages=7" --ds-split-decode --ds-select-kernel-config="override=decode_partial.stages=6,sparse_decode.stages=7" | FileCheck %s --check-prefix=AFTER
// RUN: ds-opt %s --verify-diagnostics --ds-select-kernel-config="override=topk.warps=7"
// RUN: not ds-opt %s --ds-select-kernel-config="override=topp.warps=8" 2>&1 | FileCheck %s --check-prefix=NOOP
// RUN: not ds-opt %s --ds-select-kernel-config="override=topk.wraps=8" 2>&1 | FileCheck %s --check-prefix=FIELD
// RUN: not ds-opt %s --ds-select-kernel-config="override=topk.warps=many" 2>&1 | FileCheck %s --check-prefix=VALUE
// RUN: not ds-opt %s --ds-select-kernel-config="override=warps=8" 2>&1 | FileCheck %s --check-prefix=SYNTAX
// RUN: not ds-opt %s --ds-select-kernel-config="override=a.b.c=1" 2>&1 | FileCheck %s --check-prefix=SYNTAX3
// RUN: ds-opt %s --ds-select-kernel-config="override=ds.topk.warps=8" | FileCheck %s --check-prefix=PREFIXED
// RUN: not ds-opt %s --ds-select-kernel-config="override=topk.variant=a.b" 2>&1 | FileCheck %s --check-prefix=VARIANT
// RUN: not ds-opt %s --ds-to-ptx="override=decode_merge.stages=-1" 2>&1 | FileCheck %s --check-prefix=RANGE

// CHECK-LABEL: func.func @quest
// CHECK: ds.topk {{.*}}config = #ds.kernel_config<block_tokens = {{[0-9]+}}, warps = 8,
// CHECK: ds.sparse_decode {{.*}}config = #ds.kernel_config<block_tokens = {{[0-9]+}}, warps = {{[0-9]+}}, splits = 4,
// The split partial keeps the decode op's overridden config; the merge it adds takes its own.
// SPLIT: ds.launch @ds_kernels::@quest_decode_partial_{{[0-9]+}} {block = array<i64: 256, 1, 1>, grid = ["(q_d0)*32", "splits
// SPLIT: ds.launch @ds_kernels::@quest_decode_merge_{{[0-9]+}} {block = array<i64: 64, 1, 1>
// AFTER: ds.decode_partial {{.*}}config = #ds.kernel_config<block_tokens = {{[0-9]+}}, warps = {{[0-9]+}}, splits = {{[0-9]+}}, stages = 7,
// BEFORE: ds.sparse_decode {{.*}}config = #ds.kernel_config<block_tokens = {{[0-9]+}}, warps = {{[0-9]+}}, splits = {{[0-9]+}}, stages = 7,
// NOOP: error: ds-select-kernel-config: config override of 'ds.topp': the function has no such op (it has: ds.page_score, ds.topk, ds.sparse_decode)
// FIELD: error: ds-select-kernel-config: config override 'topk.wraps=8': unknown field 'wraps' (the fields: block_tokens, warps, splits, stages, vector_width, variant, occupancy, heads, cluster_warps, cluster_stages)
// VALUE: error: ds-select-kernel-config: config override 'topk.warps=many': the value of 'warps' must be an integer, got 'many'
// SYNTAX: error: ds-select-kernel-config: config override 'warps=8': expected <op>.<field>=<value>, e.g. topp.warps=16
// An op name has no '.' (but its optional "ds." prefix): 'a.b.c' was taken for field 'c' of op 'a.b'.
// SYNTAX3: error: ds-select-kernel-config: config override 'a.b.c=1': expected <op>.<field>=<value>, e.g. topp.warps=16
// PREFIXED: ds.topk {{.*}}warps = 8
// VARIANT: error: ds-select-kernel-config: config override 'topk.variant=a.b': variant must be a name of letters, digits, '_' and '-' (or empty)
// A value outside the attribute's own ranges is refused as a written config would be (the merge
// sized an array by it).
// RANGE: error: 'ds.decode_merge' op config override stages = -1: kernel_config: stages must be in [1, 64], got -1
func.func @quest(
    %q: tensor<?x32x128xbf16> {ds.name = "q"},
    %k_cache: tensor<?x16x32x128xbf16>, %v_cache: tensor<?x16x32x128xbf16>,
    %kmin: tensor<?x32x128xbf16>, %kmax: tensor<?x32x128xbf16>,
    %page_table: tensor<?x?xi32>, %seq_lens: tensor<?xi32>) -> tensor<?x32x128xbf16> {
  %u = ds.page_score %q, %kmin, %kmax, %page_table, %seq_lens {page_size = 16 : i64}
      : (tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x?xi32>,
         tensor<?xi32>) -> tensor<?x32x?xf32>
  // An override the family cannot build is refused on the op, naming the field.
  // expected-error @+1 {{config field 'warps' must be a power of two in [1, 32]}}
  %pages = ds.topk %u, %seq_lens {k = 128 : i64, divisor = 16 : i64, keep_last}
      : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x32x128xi32>
  %o = ds.sparse_decode %q, %k_cache, %v_cache, %page_table, %seq_lens, %pages
      {scale = 0.0883883461 : f32, granularity = #ds.granularity<page>}
      : (tensor<?x32x128xbf16>, tensor<?x16x32x128xbf16>, tensor<?x16x32x128xbf16>,
         tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x128xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}
