// RUN: ds-opt %s --ds-select-kernel-config | FileCheck %s --check-prefixes=CHECK,SM132
// RUN: ds-opt %s --ds-select-kernel-config="sm-count=132 chip=sm_90a" | FileCheck %s --check-prefixes=CHECK,SM132
// RUN: ds-opt %s --pass-pipeline="builtin.module(func.func(ds-select-kernel-config{sm-count=64 chip=sm_80}))" | FileCheck %s --check-prefixes=CHECK,SM64
// RUN: ds-opt %s --ds-select-kernel-config="sm-count=3" | FileCheck %s --check-prefixes=CHECK,SM3
// The pass is idempotent (every op carries a config after the first run), and its output re-parses.
// RUN: ds-opt %s --ds-select-kernel-config --ds-select-kernel-config | ds-opt | FileCheck %s --check-prefixes=CHECK,SM132
// Bad options: an error located at each function, non-zero exit.
// RUN: not ds-opt %s --ds-select-kernel-config="chip=sm_70" 2>&1 | FileCheck %s --check-prefix=BADCHIP
// RUN: not ds-opt %s --ds-select-kernel-config="chip=gfx90a" 2>&1 | FileCheck %s --check-prefix=BADCHIP2
// RUN: not ds-opt %s --ds-select-kernel-config="sm-count=0" 2>&1 | FileCheck %s --check-prefix=BADSM

// BADCHIP: {{.*}}select-kernel-config.mlir:{{[0-9]+}}:{{[0-9]+}}: error: ds-select-kernel-config: option 'chip' must name sm_80 or newer (e.g. sm_90), got 'sm_70'
// BADCHIP-NOT: {{^}}module
// BADCHIP2: error: ds-select-kernel-config: option 'chip' must name sm_80 or newer (e.g. sm_90), got 'gfx90a'
// BADSM: {{.*}}select-kernel-config.mlir:{{[0-9]+}}:{{[0-9]+}}: error: ds-select-kernel-config: option 'sm-count' must be >= 1
// BADSM-NOT: {{^}}module

// Decode attention: 64 tokens per block, 8 warps, splits = max(1, sm_count / 4), 2 stages,
// 16-byte vectors along the head dim (narrowed to the widest power of two dividing it).

// CHECK-LABEL: func.func @dense_decode
// SM132:         ds.dense_decode {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 33, stages = 2, vector_width = 8>
// SM64:          ds.dense_decode {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 16, stages = 2, vector_width = 8>
// SM3:           ds.dense_decode {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 1, stages = 2, vector_width = 8>
// CHECK-SAME:      scale = 0.0883883461 : f32
func.func @dense_decode(%q: tensor<?x32x128xbf16>, %k: tensor<?x16x8x128xbf16>, %v: tensor<?x16x8x128xbf16>,
                        %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x128xbf16> {
  %o = ds.dense_decode %q, %k, %v, %pt, %sl {scale = 0.0883883461 : f32}
      : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}

// Head dim 36 (bf16): 8 elements do not divide it, 4 do.
// CHECK-LABEL: func.func @dense_decode_odd_head_dim
// SM132:         ds.dense_decode {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 33, stages = 2, vector_width = 4>
// SM64:          ds.dense_decode {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 16, stages = 2, vector_width = 4>
// SM3:           ds.dense_decode {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 1, stages = 2, vector_width = 4>
func.func @dense_decode_odd_head_dim(%q: tensor<?x4x36xbf16>, %k: tensor<?x1x4x36xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x4x36xbf16> {
  %o = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.125 : f32}
      : (tensor<?x4x36xbf16>, tensor<?x1x4x36xbf16>, tensor<?x1x4x36xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x4x36xbf16>
  return %o : tensor<?x4x36xbf16>
}

// CHECK-LABEL: func.func @sparse_decode
// SM132:         ds.sparse_decode {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 33, stages = 2, vector_width = 8>
// SM64:          ds.sparse_decode {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 16, stages = 2, vector_width = 8>
// SM3:           ds.sparse_decode {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 1, stages = 2, vector_width = 8>
// CHECK-SAME:      granularity = #ds.granularity<page>
func.func @sparse_decode(%q: tensor<?x32x64xf16>, %k: tensor<?x16x8x64xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>,
                         %idx: tensor<?x8x16xi32>) -> tensor<?x32x64xf16> {
  %o = ds.sparse_decode %q, %k, %k, %pt, %sl, %idx {scale = 0.125 : f32, granularity = #ds.granularity<page>}
      : (tensor<?x32x64xf16>, tensor<?x16x8x64xf16>, tensor<?x16x8x64xf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x8x16xi32>) -> tensor<?x32x64xf16>
  return %o : tensor<?x32x64xf16>
}

// Label scoring: 256 tokens per block, one split, vectors along the label dim.
// CHECK-LABEL: func.func @label_pipeline
// CHECK:         ds.label_gather {{.*}}{config = #ds.kernel_config<block_tokens = 1, warps = 4, splits = 1, stages = 1, vector_width = 8>}
// CHECK:         ds.label_score {{.*}}{config = #ds.kernel_config<block_tokens = 512, warps = 4, splits = 1, stages = 1, vector_width = 8>, group_reduce = #ds.group_reduce<sum>, page_size = 1 : i64, scale = 2.500000e-01 : f32}
// CHECK:         ds.topk {{.*}}{config = #ds.kernel_config<block_tokens = 1024, warps = 32, splits = 1, stages = 1, vector_width = 4>, k = 64 : i64}
// CHECK:         ds.label_append {{.*}}{config = #ds.kernel_config<block_tokens = 1, warps = 4, splits = 1, stages = 1, vector_width = 8>}
func.func @label_pipeline(%q: tensor<?x32x128xbf16>, %ch: tensor<8x16xi32>, %cache: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>,
                          %sl: tensor<?xi32>, %k: tensor<?x8x128xbf16>, %slots: tensor<?xi32>)
    -> (tensor<?x8x64xi32>, tensor<8x?x16xbf16>) {
  %ql = ds.label_gather %q, %ch : (tensor<?x32x128xbf16>, tensor<8x16xi32>) -> tensor<?x32x16xbf16>
  %a = ds.label_score %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  %idx = ds.topk %a, %sl {k = 64 : i64} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  %c2 = ds.label_append %cache, %k, %ch, %slots
      : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return %idx, %c2 : tensor<?x8x64xi32>, tensor<8x?x16xbf16>
}

// Fused scoring + top-k: 32 warps, 2 tokens per thread and step; block_tokens is the shared-memory
// score capacity, which depends on the chip's opt-in shared memory (sm_90: 48K floats, sm_80: 32K, beside the 16 KB candidate list).
// CHECK-LABEL: func.func @score_topk
// SM132:         ds.score_topk {{.*}}config = #ds.kernel_config<block_tokens = 49152, warps = 32, splits = 1, stages = 2, vector_width = 8>
// SM64:          ds.score_topk {{.*}}config = #ds.kernel_config<block_tokens = 32768, warps = 32, splits = 1, stages = 2, vector_width = 8>
// SM3:           ds.score_topk {{.*}}config = #ds.kernel_config<block_tokens = 49152, warps = 32, splits = 1, stages = 2, vector_width = 8>
func.func @score_topk(%ql: tensor<?x32x16xbf16>, %cache: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x64xi32> {
  %i = ds.score_topk %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>, k = 64 : i64}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return %i : tensor<?x8x64xi32>
}

// Label dim 12 (f16): vector width 4.
// CHECK-LABEL: func.func @label_score_r12
// CHECK:         ds.label_score {{.*}}{config = #ds.kernel_config<block_tokens = 512, warps = 4, splits = 1, stages = 1, vector_width = 4>, page_size = 16 : i64, scale = 1.250000e-01 : f32}
func.func @label_score_r12(%ql: tensor<?x8x12xf16>, %cache: tensor<8x?x12xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x?xf32> {
  %a = ds.label_score %ql, %cache, %pt, %sl {page_size = 16 : i64, scale = 0.125 : f32}
      : (tensor<?x8x12xf16>, tensor<8x?x12xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return %a : tensor<?x8x?xf32>
}

// Quest and sampling ops get the elementwise default: 1 row per block, 4 warps, 16-byte vectors
// of the first operand's element type (bf16: 8, f32 / i32: 4).
// CHECK-LABEL: func.func @quest_and_sampling
// CHECK:         ds.page_summary_append {{.*}}{config = #ds.kernel_config<block_tokens = 1, warps = 4, splits = 1, stages = 1, vector_width = 8>, page_size = 16 : i64}
// CHECK:         ds.page_summary {{.*}}{config = #ds.kernel_config<block_tokens = 1, warps = 4, splits = 1, stages = 1, vector_width = 8>}
// CHECK:         ds.page_score {{.*}}{config = #ds.kernel_config<block_tokens = 1, warps = 4, splits = 1, stages = 1, vector_width = 8>, page_size = 16 : i64}
// CHECK:         ds.topk {{.*}}{config = #ds.kernel_config<block_tokens = 1024, warps = 32, splits = 1, stages = 1, vector_width = 4>, divisor = 16 : i64, k = 8 : i64, keep_last}
// CHECK:         ds.topp {{.*}}{config = #ds.kernel_config<block_tokens = 1, warps = 4, splits = 1, stages = 1, vector_width = 4>, top_p = 0.899999976 : f32}
// CHECK:         ds.sample_residual {{.*}}{config = #ds.kernel_config<block_tokens = 1, warps = 4, splits = 1, stages = 1, vector_width = 4>, num_samples = 32 : i64}
func.func @quest_and_sampling(%kmin: tensor<?x8x128xbf16>, %knew: tensor<?x8x128xbf16>, %slots: tensor<?xi32>,
                              %kc: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>,
                              %q: tensor<?x8x128xbf16>, %logits: tensor<?x8x8xf32>, %philox: tensor<2xi64>)
    -> (tensor<?x8x8xi32>, tensor<?x8xi32>, tensor<?x8x32xi32>, tensor<?x8x32xf32>, tensor<?x8x128xbf16>) {
  %mn, %mx = ds.page_summary_append %kmin, %kmin, %knew, %slots {page_size = 16 : i64}
      : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  %mn2, %mx2 = ds.page_summary %mn, %mx, %kc, %pt, %sl
      : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>)
      -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  %u = ds.page_score %q, %mn2, %mx2, %pt, %sl {page_size = 16 : i64}
      : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  %pages = ds.topk %u, %sl {k = 8 : i64, divisor = 16 : i64, keep_last} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x8xi32>
  %kept, %counts = ds.topp %logits, %pages {top_p = 0.9 : f32}
      : (tensor<?x8x8xf32>, tensor<?x8x8xi32>) -> (tensor<?x8x8xi32>, tensor<?x8xi32>)
  %ri, %rw = ds.sample_residual %pages, %sl, %philox {num_samples = 32 : i64}
      : (tensor<?x8x8xi32>, tensor<?xi32>, tensor<2xi64>) -> (tensor<?x8x32xi32>, tensor<?x8x32xf32>)
  return %kept, %counts, %ri, %rw, %mx2 : tensor<?x8x8xi32>, tensor<?x8xi32>, tensor<?x8x32xi32>, tensor<?x8x32xf32>, tensor<?x8x128xbf16>
}

// Linear attention: prefill tiles by its chunk size; decode gets the elementwise default.
// CHECK-LABEL: func.func @linear_attn
// CHECK:         ds.linear_attn_prefill {{.*}}{config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 2, vector_width = 8>}
// CHECK:         ds.linear_attn_prefill {{.*}}{chunk_size = 128 : i64, config = #ds.kernel_config<block_tokens = 128, warps = 4, splits = 1, stages = 2, vector_width = 8>, keep_intermediate}
// CHECK:         ds.linear_attn_decode {{.*}}{config = #ds.kernel_config<block_tokens = 1, warps = 4, splits = 1, stages = 1, vector_width = 8>}
func.func @linear_attn(%q: tensor<?x8x64xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x64xf32>,
                       %si: tensor<?xi32>, %hi: tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>) {
  %o, %s = ds.linear_attn_prefill %q, %q, %q, %slopes, %cu, %st, %si, %hi
      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<8xf32>, tensor<?xi32>,
         tensor<?x8x64x64xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>)
  %o2, %s2, %inter = ds.linear_attn_prefill %q, %q, %q, %slopes, %cu, %s, %si, %hi {chunk_size = 128 : i64, keep_intermediate}
      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<8xf32>, tensor<?xi32>,
         tensor<?x8x64x64xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>, tensor<?x8x64x64xf32>)
  %o3, %s3 = ds.linear_attn_decode %o2, %q, %q, %slopes, %s2, %si
      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<8xf32>, tensor<?x8x64x64xf32>, tensor<?xi32>)
      -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>)
  return %o3, %s3 : tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>
}

// A config already on an op is a user override: the pass keeps it, whatever the target.
// CHECK-LABEL: func.func @override
// CHECK:         ds.dense_decode {{.*}}config = #ds.kernel_config<block_tokens = 32, warps = 8, splits = 2, stages = 3, vector_width = 2>
// CHECK:         ds.topk {{.*}}config = #ds.kernel_config<block_tokens = 512, warps = 16, splits = 1, stages = 1, vector_width = 1>
func.func @override(%q: tensor<?x32x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>,
                    %s: tensor<?x8x?xf32>) -> (tensor<?x32x128xbf16>, tensor<?x8x4xi32>) {
  %o = ds.dense_decode %q, %k, %k, %pt, %sl
      {scale = 0.125 : f32, config = #ds.kernel_config<block_tokens = 32, warps = 8, splits = 2, stages = 3, vector_width = 2>}
      : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xbf16>
  %i = ds.topk %s, %sl {k = 4 : i64, config = #ds.kernel_config<block_tokens = 512, warps = 16, splits = 1, stages = 1, vector_width = 1>}
      : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return %o, %i : tensor<?x32x128xbf16>, tensor<?x8x4xi32>
}

// Ops of other dialects are left alone.
// CHECK-LABEL: func.func @non_ds_ops
// CHECK:         arith.addf
// CHECK-NOT:       config
// CHECK:         return
func.func @non_ds_ops(%a: f32) -> f32 {
  %b = arith.addf %a, %a : f32
  return %b : f32
}
