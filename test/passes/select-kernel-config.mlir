// RUN: ds-opt %s --ds-select-kernel-config | FileCheck %s --check-prefixes=CHECK,SM132,SPLIT8
// RUN: ds-opt %s --ds-select-kernel-config="sm-count=132 chip=sm_90a" | FileCheck %s --check-prefixes=CHECK,SM132,WGMMA
// RUN: ds-opt %s --ds-select-kernel-config="sm-count=132 chip=sm_90a smem-per-block=98304" | FileCheck %s --check-prefix=WGMMA-SMALL-SMEM
// RUN: ds-opt %s --pass-pipeline="builtin.module(func.func(ds-select-kernel-config{sm-count=64 chip=sm_80}))" | FileCheck %s --check-prefixes=CHECK,SM64,SPLIT8
// RUN: ds-opt %s --ds-select-kernel-config="sm-count=3" | FileCheck %s --check-prefixes=CHECK,SM3,SPLIT1
// The pass is idempotent (every op carries a config after the first run), and its output re-parses.
// RUN: ds-opt %s --ds-select-kernel-config --ds-select-kernel-config | ds-opt | FileCheck %s --check-prefixes=CHECK,SM132
// Bad options: an error located at each function, non-zero exit.
// RUN: not ds-opt %s --ds-select-kernel-config="chip=sm_70" 2>&1 | FileCheck %s --check-prefix=BADCHIP
// RUN: not ds-opt %s --ds-select-kernel-config="chip=gfx90a" 2>&1 | FileCheck %s --check-prefix=BADCHIP2
// RUN: not ds-opt %s --ds-select-kernel-config="sm-count=0" 2>&1 | FileCheck %s --check-prefix=BADSM
// RUN: not ds-opt %s --ds-select-kernel-config="sm-count=9223372036854775807" 2>&1 | FileCheck %s --check-prefix=HUGESM
// RUN: not ds-opt %s --ds-select-kernel-config="chip=sm_85" 2>&1 | FileCheck %s --check-prefix=SM85
// RUN: not ds-opt %s --ds-select-kernel-config="chip=sm_200" 2>&1 | FileCheck %s --check-prefix=SM200
// RUN: not ds-opt %s --ds-select-kernel-config="chip=sm_80a" 2>&1 | FileCheck %s --check-prefix=SM80A
// The target is recorded on every function, with the chip's facts where no option gives them.
// RUN: ds-opt %s --ds-select-kernel-config | FileCheck %s --check-prefix=TARGET
// RUN: ds-opt %s --ds-select-kernel-config="chip=sm_100a sm-count=148 smem-per-block=100000 l2-bytes=7 regs-per-sm=1000" | FileCheck %s --check-prefix=TARGET100

// BADCHIP: {{.*}}select-kernel-config.mlir:{{[0-9]+}}:{{[0-9]+}}: error: ds-select-kernel-config: option 'chip': 'sm_70' is not supported (supported: sm_80, sm_86, sm_89, sm_90, sm_90a, sm_100, sm_100a, sm_120, sm_120a)
// BADCHIP-NOT: {{^}}module
// BADCHIP2: error: ds-select-kernel-config: option 'chip': 'gfx90a' is not supported
// BADSM: {{.*}}select-kernel-config.mlir:{{[0-9]+}}:{{[0-9]+}}: error: ds-select-kernel-config: option 'sm-count' must be in [1, 1024], got 0
// BADSM-NOT: {{^}}module
// HUGESM: error: ds-select-kernel-config: option 'sm-count' must be in [1, 1024], got 9223372036854775807
// SM85: error: ds-select-kernel-config: option 'chip': 'sm_85' is not supported
// SM200: error: ds-select-kernel-config: option 'chip': 'sm_200' is not supported
// SM80A: error: ds-select-kernel-config: option 'chip': 'sm_80a' is not supported
// TARGET: func.func @dense_decode({{.*}}attributes {ds.programmatic_launch, ds.target = #ds.target<chip = "sm_90", sm_count = 132, smem_per_block = 232448, regs_per_sm = 65536, l2_bytes = 52428800, ptx = 80>}
// TARGET100: func.func @dense_decode({{.*}}attributes {ds.programmatic_launch, ds.target = #ds.target<chip = "sm_100a", sm_count = 148, smem_per_block = 100000, regs_per_sm = 1000, l2_bytes = 7, ptx = 86>}

// Decode attention: 64 tokens per block, splits = max(1, sm_count / 4), 16-byte vectors along
// the head dim, and the group's heads walked by one CTA (heads = 4). These GQA 32/8 groups (bf16
// d = 128, f16 d = 64) take the tensor-core loop: 4 warps, the next 16-position step's loads in
// flight (stages = 2). Elsewhere the FMA loop: 8 warps, 4 warp steps of loads in flight (2 where
// a CTA walks 3 or 4 heads, the register budget of 2 CTAs per SM), as for this group of 4 at
// d = 256.

// CHECK-LABEL: func.func @dense_decode
// SM132:         ds.dense_decode {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 33, stages = 2, vector_width = 8, variant = "mma", heads = 4>
// SM64:          ds.dense_decode {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 16, stages = 2, vector_width = 8, variant = "mma", heads = 4>
// SM3:           ds.dense_decode {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 2, vector_width = 8, variant = "mma", heads = 4>
// CHECK-SAME:      scale = 0.0883883461 : f32
func.func @dense_decode(%q: tensor<?x32x128xbf16>, %k: tensor<?x16x8x128xbf16>, %v: tensor<?x16x8x128xbf16>,
                        %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x128xbf16> {
  %o = ds.dense_decode %q, %k, %v, %pt, %sl {scale = 0.0883883461 : f32}
      : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}

// CHECK-LABEL: func.func @sparse_decode
// SM132:         ds.sparse_decode {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 33, stages = 2, vector_width = 8, variant = "mma", heads = 4>
// SM64:          ds.sparse_decode {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 16, stages = 2, vector_width = 8, variant = "mma", heads = 4>
// SM3:           ds.sparse_decode {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 2, vector_width = 8, variant = "mma", heads = 4>
// CHECK-SAME:      granularity = #ds.granularity<page>
func.func @sparse_decode(%q: tensor<?x32x64xf16>, %k: tensor<?x16x8x64xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>,
                         %idx: tensor<?x8x16xi32>) -> tensor<?x32x64xf16> {
  %o = ds.sparse_decode %q, %k, %k, %pt, %sl, %idx {scale = 0.125 : f32, granularity = #ds.granularity<page>}
      : (tensor<?x32x64xf16>, tensor<?x16x8x64xf16>, tensor<?x16x8x64xf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x8x16xi32>) -> tensor<?x32x64xf16>
  return %o : tensor<?x32x64xf16>
}

// CHECK-LABEL: func.func @dense_decode_d256
// SM132:         ds.dense_decode {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 33, stages = 2, vector_width = 8, heads = 4>
// SM64:          ds.dense_decode {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 16, stages = 2, vector_width = 8, heads = 4>
// SM3:           ds.dense_decode {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 1, stages = 2, vector_width = 8, heads = 4>
func.func @dense_decode_d256(%q: tensor<?x32x256xbf16>, %k: tensor<?x16x8x256xbf16>, %pt: tensor<?x?xi32>,
                             %sl: tensor<?xi32>) -> tensor<?x32x256xbf16> {
  %o = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.0625 : f32}
      : (tensor<?x32x256xbf16>, tensor<?x16x8x256xbf16>, tensor<?x16x8x256xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x256xbf16>
  return %o : tensor<?x32x256xbf16>
}

// Label scoring: 512 tokens per block of 4 warps (4 per thread), 16-byte label vectors, 8 CTAs
// per SM; the label ops one thread per element in blocks of 8 warps; top-k one CTA per row (16
// warps on sm_90, 32 on sm_80), and for few long rows a cluster of 2 CTAs of 32 warps
// (`cluster_warps`) where the chip has clusters.
// CHECK-LABEL: func.func @label_pipeline
// CHECK:         ds.label_gather {{.*}}{config = #ds.kernel_config<block_tokens = 1, warps = 8, splits = 1, stages = 1, vector_width = 1>}
// CHECK:         ds.label_score {{.*}}{config = #ds.kernel_config<block_tokens = 512, warps = 4, splits = 1, stages = 1, vector_width = 8, occupancy = 8>, group_reduce = #ds.group_reduce<sum>, page_size = 1 : i64, scale = 2.500000e-01 : f32}
// SM132:         ds.topk {{.*}}{config = #ds.kernel_config<block_tokens = 32768, warps = 16, splits = 2, stages = 16, vector_width = 1, cluster_warps = 32>, k = 64 : i64}
// SM64:          ds.topk {{.*}}{config = #ds.kernel_config<block_tokens = 1, warps = 32, splits = 1, stages = 1, vector_width = 1>, k = 64 : i64}
// SM3:           ds.topk {{.*}}{config = #ds.kernel_config<block_tokens = 1, warps = 16, splits = 1, stages = 1, vector_width = 1>, k = 64 : i64}
// CHECK:         ds.label_append {{.*}}{config = #ds.kernel_config<block_tokens = 1, warps = 8, splits = 1, stages = 1, vector_width = 1>}
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
// SM132:         ds.score_topk {{.*}}config = #ds.kernel_config<block_tokens = 49152, warps = 32, splits = 2, stages = 2, vector_width = 8, cluster_warps = 32, cluster_stages = 2>
// SM64:          ds.score_topk {{.*}}config = #ds.kernel_config<block_tokens = 32768, warps = 32, splits = 1, stages = 2, vector_width = 8>
// SM3:           ds.score_topk {{.*}}config = #ds.kernel_config<block_tokens = 49152, warps = 32, splits = 1, stages = 2, vector_width = 8>
func.func @score_topk(%ql: tensor<?x32x16xbf16>, %cache: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x64xi32> {
  %i = ds.score_topk %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>, k = 64 : i64}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return %i : tensor<?x8x64xi32>
}

// Label dim 12 (f16): vector width 4.
// CHECK-LABEL: func.func @label_score_r12
// CHECK:         ds.label_score {{.*}}{config = #ds.kernel_config<block_tokens = 512, warps = 4, splits = 1, stages = 1, vector_width = 4, occupancy = 8>, page_size = 16 : i64, scale = 1.250000e-01 : f32}
func.func @label_score_r12(%ql: tensor<?x8x12xf16>, %cache: tensor<8x?x12xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x?xf32> {
  %a = ds.label_score %ql, %cache, %pt, %sl {page_size = 16 : i64, scale = 0.125 : f32}
      : (tensor<?x8x12xf16>, tensor<8x?x12xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return %a : tensor<?x8x?xf32>
}

// Quest's ops: 8 warps, 16-byte vectors of channels. The top-k over pages gets the top-k
// family's (as above); top-p one warp per 16 candidates (8 -> 1 warp), sampling 8 warps.
// CHECK-LABEL: func.func @quest_and_sampling
// CHECK:         ds.page_summary_append {{.*}} {config = #ds.kernel_config<block_tokens = 1, warps = 8, splits = 1, stages = 1, vector_width = 8>, page_size = 16 : i64}
// CHECK:         ds.page_summary {{.*}} {config = #ds.kernel_config<block_tokens = 1, warps = 8, splits = 1, stages = 1, vector_width = 8>}
// CHECK:         ds.page_score {{.*}} {config = #ds.kernel_config<block_tokens = 1, warps = 8, splits = 1, stages = 4, vector_width = 8>, page_size = 16 : i64}
// SM132:         ds.topk {{.*}}{config = #ds.kernel_config<block_tokens = 32768, warps = 16, splits = 2, stages = 16, vector_width = 1, cluster_warps = 32>, divisor = 16 : i64, k = 8 : i64, keep_last}
// SM64:          ds.topk {{.*}}{config = #ds.kernel_config<block_tokens = 1, warps = 32, splits = 1, stages = 1, vector_width = 1>, divisor = 16 : i64, k = 8 : i64, keep_last}
// SM3:           ds.topk {{.*}}{config = #ds.kernel_config<block_tokens = 1, warps = 16, splits = 1, stages = 1, vector_width = 1>, divisor = 16 : i64, k = 8 : i64, keep_last}
// CHECK:         ds.topp {{.*}} {config = #ds.kernel_config<block_tokens = 1, warps = 1, splits = 1, stages = 1, vector_width = 1>, top_p = 0.899999976 : f32}
// CHECK:         ds.sample_residual {{.*}} {config = #ds.kernel_config<block_tokens = 1, warps = 8, splits = 1, stages = 1, vector_width = 1>, num_samples = 32 : i64}
func.func @quest_and_sampling(%kmin: tensor<?x8x128xbf16>, %knew: tensor<?x8x128xbf16>, %slots: tensor<?xi32>,
                              %kc: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>,
                              %q: tensor<?x8x128xbf16>, %logits: tensor<?x8x8xf32>, %philox: tensor<2xi64>)
    -> (tensor<?x8x8xi32>, tensor<?x8xi32>, tensor<?x8x40xi32>, tensor<?x8x40xf32>, tensor<?x8x128xbf16>) {
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
      : (tensor<?x8x8xi32>, tensor<?xi32>, tensor<2xi64>) -> (tensor<?x8x40xi32>, tensor<?x8x40xf32>)
  return %kept, %counts, %ri, %rw, %mx2 : tensor<?x8x8xi32>, tensor<?x8xi32>, tensor<?x8x40xi32>, tensor<?x8x40xf32>, tensor<?x8x128xbf16>
}

// Linear attention: the prefill's tensor-core variant where it tiles (64-token chunks: warpgroup
// MMA on sm_90a, mma.sync elsewhere; requests split into up to SMs / (H x column blocks)
// segments, at most 8: 8 heads x 1 column block here; on sm_90a 8 warps, two warpgroups, at
// four stages where they fit the shared memory, else two), the recurrent one for
// keep_intermediate (and other chunk sizes); decode 8 warps, 8 rows in flight.
// CHECK-LABEL: func.func @linear_attn
// SPLIT8:        ds.linear_attn_prefill {{.*}}{config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 8, stages = 2, vector_width = 8, variant = "chunked">}
// SPLIT1:        ds.linear_attn_prefill {{.*}}{config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 2, vector_width = 8, variant = "chunked">}
// WGMMA:         ds.linear_attn_prefill {{.*}}{config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 8, stages = 4, vector_width = 8, variant = "wgmma">}
// WGMMA-SMALL-SMEM: ds.linear_attn_prefill {{.*}}{config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 8, stages = 2, vector_width = 8, variant = "wgmma">}
// CHECK:         ds.linear_attn_prefill {{.*}}{chunk_size = 128 : i64, config = #ds.kernel_config<block_tokens = 1, warps = 8, splits = 1, stages = 1, vector_width = 4, variant = "recurrent">, keep_intermediate}
// CHECK:         ds.linear_attn_decode {{.*}}{config = #ds.kernel_config<block_tokens = 1, warps = 16, splits = 1, stages = 2, vector_width = 4>}
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

// A config already on an op is a user override: the pass keeps it, whatever the target, when
// the kernels build it (select-kernel-config-invalid.mlir: the ones they do not).
// CHECK-LABEL: func.func @override
// CHECK:         ds.dense_decode {{.*}}config = #ds.kernel_config<block_tokens = 32, warps = 4, splits = 2, stages = 3, vector_width = 8>
// CHECK:         ds.topk {{.*}}config = #ds.kernel_config<block_tokens = 1, warps = 16, splits = 1, stages = 1, vector_width = 1>
func.func @override(%q: tensor<?x32x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>,
                    %s: tensor<?x8x?xf32>) -> (tensor<?x32x128xbf16>, tensor<?x8x4xi32>) {
  %o = ds.dense_decode %q, %k, %k, %pt, %sl
      {scale = 0.125 : f32, config = #ds.kernel_config<block_tokens = 32, warps = 4, splits = 2, stages = 3, vector_width = 8>}
      : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xbf16>
  %i = ds.topk %s, %sl {k = 4 : i64, config = #ds.kernel_config<block_tokens = 1, warps = 16, splits = 1, stages = 1, vector_width = 1>}
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

// Twilight's and vAttention's ops: label_score over a candidate list without the register cap
// (its candidate loads would spill at 64); topp 8 warps for 4096 candidates (16 a thread); sampling 8 warps;
// int4 scoring 4 warps with 2 tiles of 16 candidates in flight per warp, the append 4 warps.
// CHECK-LABEL: func.func @twilight_vattention
// CHECK:         ds.label_score {{.*}}{config = #ds.kernel_config<block_tokens = 512, warps = 4, splits = 1, stages = 1, vector_width = 8>, page_size = 1 : i64
// CHECK:         ds.topp {{.*}}{config = #ds.kernel_config<block_tokens = 1, warps = 8, splits = 1, stages = 1, vector_width = 1>
// CHECK:         ds.int4_append {{.*}}{config = #ds.kernel_config<block_tokens = 1, warps = 4, splits = 1, stages = 1, vector_width = 1>}
// CHECK:         ds.int4_score {{.*}}{config = #ds.kernel_config<block_tokens = 1, warps = 4, splits = 1, stages = 2, vector_width = 1>
func.func @twilight_vattention(%ql: tensor<?x32x16xbf16>, %lc: tensor<32x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>,
                               %cand: tensor<?x32x4096xi32>, %kq: tensor<?x32x20xi32>,
                               %k: tensor<?x32x128xbf16>, %q: tensor<?x32x128xbf16>)
    -> (tensor<?x32x4096xi32>, tensor<?x32xi32>, tensor<?x32x4096xf32>) {
  %e = ds.label_score %ql, %lc, %pt, %sl, %cand {page_size = 1 : i64, scale = 0.25 : f32}
      : (tensor<?x32x16xbf16>, tensor<32x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x4096xi32>) -> tensor<?x32x4096xf32>
  %kept, %counts = ds.topp %e, %cand {top_p = 0.9 : f32}
      : (tensor<?x32x4096xf32>, tensor<?x32x4096xi32>) -> (tensor<?x32x4096xi32>, tensor<?x32xi32>)
  %q2 = ds.int4_append %kq, %k, %sl : (tensor<?x32x20xi32>, tensor<?x32x128xbf16>, tensor<?xi32>) -> tensor<?x32x20xi32>
  %i = ds.int4_score %q, %q2, %pt, %sl, %cand {page_size = 1 : i64, scale = 0.125 : f32}
      : (tensor<?x32x128xbf16>, tensor<?x32x20xi32>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x4096xi32>) -> tensor<?x32x4096xf32>
  return %kept, %counts, %i : tensor<?x32x4096xi32>, tensor<?x32xi32>, tensor<?x32x4096xf32>
}
