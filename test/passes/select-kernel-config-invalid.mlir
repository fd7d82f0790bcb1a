// RUN: ds-opt %s --ds-select-kernel-config -split-input-file -verify-diagnostics
// A config is a contract: the config pass checks every config, chosen or given, against what the
// op's kernels build, and refuses one they cannot honour on the op the user wrote (no clamps,
// no silent fallback to another kernel).
// The same refusal through the whole pipeline, at the user's file, line and op:
// RUN: not ds-opt %s --split-input-file --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1})' 2>&1 | FileCheck %s --check-prefix=PIPE
// PIPE: select-kernel-config-invalid.mlir:[[@LINE+6]]:8: error: 'ds.dense_decode' op config field 'warps' must be in [1, 8] for this kernel, got 32

// The issue's example: a decode config asking for 32 warps, 7 stages and 2-element vectors used to
// compile into a 256-thread kernel.
func.func @decode_too_many_warps(%q: tensor<?x32x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x128xbf16> {
  // expected-error @+1 {{config field 'warps' must be in [1, 8] for this kernel, got 32}}
  %o = ds.dense_decode %q, %k, %k, %pt, %sl
      {scale = 0.125 : f32, config = #ds.kernel_config<block_tokens = 64, warps = 32, splits = 8, stages = 7, vector_width = 2>}
      : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}

// -----

func.func @decode_vector_width(%q: tensor<?x32x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x128xbf16> {
  // expected-error @+1 {{config field 'vector_width' must be 8 (a lane holds 16 bytes of a K/V row), got 2}}
  %o = ds.dense_decode %q, %k, %k, %pt, %sl
      {scale = 0.125 : f32, config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 8, stages = 4, vector_width = 2>}
      : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}

// -----

// A CTA walks a divisor of the GQA group's heads, and one head under a per-head selection.
func.func @decode_heads(%q: tensor<?x32x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x128xbf16> {
  // expected-error @+1 {{config field 'heads' (query heads a CTA walks) must divide the GQA group (4), got 3}}
  %o = ds.dense_decode %q, %k, %k, %pt, %sl
      {scale = 0.125 : f32, config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 8, stages = 2, vector_width = 8, heads = 3>}
      : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}

// -----

func.func @decode_heads_per_head_selection(%q: tensor<?x32x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>,
                                           %idx: tensor<?x32x64xi32>) -> tensor<?x32x128xbf16> {
  // expected-error @+1 {{config field 'heads' must be 1 or 0 under a per-head selection (each head walks its own), got 2}}
  %o = ds.sparse_decode %q, %k, %k, %pt, %sl, %idx
      {scale = 0.125 : f32, config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 8, stages = 4, vector_width = 8, heads = 2>}
      : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}

// -----

// The tensor-core decode loop takes 2 to 8 heads a CTA (here one: a per-head selection) ...
func.func @decode_mma_one_head(%q: tensor<?x32x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>,
                               %idx: tensor<?x32x64xi32>) -> tensor<?x32x128xbf16> {
  // expected-error @+1 {{config field 'variant' "mma" needs sm_80 or newer, bf16 or f16 caches, head dim 64 or 128 and 2 to 8 query heads per CTA; got chip sm_90, 'bf16' caches, d = 128, heads = 1}}
  %o = ds.sparse_decode %q, %k, %k, %pt, %sl, %idx
      {scale = 0.125 : f32, config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 8, stages = 2, vector_width = 8, variant = "mma", heads = 1>}
      : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}

// -----

// ... at head dims 64 and 128 ...
func.func @decode_mma_d256(%q: tensor<?x32x256xf16>, %k: tensor<?x16x8x256xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x256xf16> {
  // expected-error @+1 {{config field 'variant' "mma" needs sm_80 or newer, bf16 or f16 caches, head dim 64 or 128 and 2 to 8 query heads per CTA; got chip sm_90, 'f16' caches, d = 256, heads = 4}}
  %o = ds.dense_decode %q, %k, %k, %pt, %sl
      {scale = 0.0625 : f32, config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 8, stages = 2, vector_width = 8, variant = "mma", heads = 4>}
      : (tensor<?x32x256xf16>, tensor<?x16x8x256xf16>, tensor<?x16x8x256xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x256xf16>
  return %o : tensor<?x32x256xf16>
}

// -----

// ... with at most the next step's loads in flight, and no other token loop exists.
func.func @decode_mma_stages(%q: tensor<?x32x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x128xbf16> {
  // expected-error @+1 {{config field 'stages' (warp steps of 16 positions with loads in flight) must be 1 or 2 for "mma", got 3}}
  %o = ds.dense_decode %q, %k, %k, %pt, %sl
      {scale = 0.125 : f32, config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 8, stages = 3, vector_width = 8, variant = "mma", heads = 4>}
      : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}

// -----

func.func @decode_variant(%q: tensor<?x32x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x128xbf16> {
  // expected-error @+1 {{config field 'variant' must be "" (the FMA loop) or "mma", got "wgmma"}}
  %o = ds.dense_decode %q, %k, %k, %pt, %sl
      {scale = 0.125 : f32, config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 8, stages = 2, vector_width = 8, variant = "wgmma", heads = 4>}
      : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}

// -----

// A field the kernels do not read must hold its neutral value.
func.func @topk_heads(%s: tensor<?x32x4096xf32>, %l: tensor<?xi32>) -> tensor<?x32x64xi32> {
  // expected-error @+1 {{config field 'heads' must be 0 (the kernels do not read it), got 2}}
  %i = ds.topk %s, %l {k = 64 : i64, config = #ds.kernel_config<block_tokens = 1, warps = 32, splits = 1, stages = 1, vector_width = 1, heads = 2>}
      : (tensor<?x32x4096xf32>, tensor<?xi32>) -> tensor<?x32x64xi32>
  return %i : tensor<?x32x64xi32>
}

// -----

func.func @decode_stages(%q: tensor<?x32x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x128xbf16> {
  // expected-error @+1 {{config field 'stages' (warp steps with loads in flight) must be in [1, 8], got 9}}
  %o = ds.dense_decode %q, %k, %k, %pt, %sl
      {scale = 0.125 : f32, config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 8, stages = 9, vector_width = 8>}
      : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}

// -----

// No config the decode kernels build exists for head dim 36: the chosen config is refused too.
func.func @decode_odd_head_dim(%q: tensor<?x4x36xbf16>, %k: tensor<?x1x4x36xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x4x36xbf16> {
  // expected-error @+1 {{GPU lowering supports head dims 32, 64, 128 and 256, got 36}}
  %o = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.125 : f32}
      : (tensor<?x4x36xbf16>, tensor<?x1x4x36xbf16>, tensor<?x1x4x36xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x4x36xbf16>
  return %o : tensor<?x4x36xbf16>
}

// -----

func.func @merge_stages(%acc: tensor<?x8x?x64xf32>, %ml: tensor<?x8x?x2xf32>) -> tensor<?x8x64xbf16> {
  // expected-error @+1 {{config field 'stages' (splits folded per step) must be in [1, 16], got 32}}
  %o = ds.decode_merge %acc, %ml {config = #ds.kernel_config<block_tokens = 1, warps = 4, splits = 1, stages = 32, vector_width = 1>}
      : (tensor<?x8x?x64xf32>, tensor<?x8x?x2xf32>) -> tensor<?x8x64xbf16>
  return %o : tensor<?x8x64xbf16>
}

// -----

// linear_attn_prefill with 8 warps used to become the recurrent kernel silently.
func.func @prefill_chunked_warps(%q: tensor<?x8x64xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x64xf32>,
                                 %si: tensor<?xi32>, %hi: tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>) {
  // expected-error @+1 {{config field 'warps' must be 4 (16 rows of a chunk per warp), got 8}}
  %o, %s = ds.linear_attn_prefill %q, %q, %q, %slopes, %cu, %st, %si, %hi
      {config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 1, stages = 2, vector_width = 8, variant = "chunked">}
      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<8xf32>, tensor<?xi32>,
         tensor<?x8x64x64xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>)
  return %o, %s : tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>
}

// -----

func.func @prefill_no_variant(%q: tensor<?x8x64xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x64xf32>,
                              %si: tensor<?xi32>, %hi: tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>) {
  // expected-error @+1 {{config field 'variant' must be "chunked", "wgmma" or "recurrent", got ""}}
  %o, %s = ds.linear_attn_prefill %q, %q, %q, %slopes, %cu, %st, %si, %hi
      {config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 2, vector_width = 8>}
      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<8xf32>, tensor<?xi32>,
         tensor<?x8x64x64xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>)
  return %o, %s : tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>
}

// -----

// Warpgroup MMA is sm_90a's (the default target here is sm_90).
func.func @prefill_wgmma_sm90(%q: tensor<?x8x64xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x64xf32>,
                              %si: tensor<?xi32>, %hi: tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>) {
  // expected-error @+1 {{config field 'variant' "wgmma" needs warpgroup MMA (target sm_90a), got sm_90}}
  %o, %s = ds.linear_attn_prefill %q, %q, %q, %slopes, %cu, %st, %si, %hi
      {config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 2, vector_width = 8, variant = "wgmma">}
      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<8xf32>, tensor<?xi32>,
         tensor<?x8x64x64xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>)
  return %o, %s : tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>
}

// -----

func.func @prefill_chunked_intermediate(%q: tensor<?x8x64xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x64xf32>,
                                        %si: tensor<?xi32>, %hi: tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>) {
  // expected-error @+1 {{config field 'variant' "chunked" does not write intermediate states: keep_intermediate needs "recurrent"}}
  %o, %s, %i = ds.linear_attn_prefill %q, %q, %q, %slopes, %cu, %st, %si, %hi
      {keep_intermediate, config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 2, vector_width = 8, variant = "chunked">}
      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<8xf32>, tensor<?xi32>,
         tensor<?x8x64x64xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>, tensor<?x8x64x64xf32>)
  return %o, %s : tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>
}

// -----

func.func @prefill_chunked_untiled(%q: tensor<?x8x36xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x36x36xf32>,
                                   %si: tensor<?xi32>, %hi: tensor<?xi32>) -> (tensor<?x8x36xbf16>, tensor<?x8x36x36xf32>) {
  // expected-error @+1 {{config field 'variant' "chunked" tiles key dims 8 to 128 and value dims of at least 8, both multiples of 8 (16-byte rows), got d = 36, e = 36}}
  %o, %s = ds.linear_attn_prefill %q, %q, %q, %slopes, %cu, %st, %si, %hi
      {config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 2, vector_width = 8, variant = "chunked">}
      : (tensor<?x8x36xbf16>, tensor<?x8x36xbf16>, tensor<?x8x36xbf16>, tensor<8xf32>, tensor<?xi32>,
         tensor<?x8x36x36xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x36xbf16>, tensor<?x8x36x36xf32>)
  return %o, %s : tensor<?x8x36xbf16>, tensor<?x8x36x36xf32>
}

// -----

func.func @linear_decode_warps(%q: tensor<?x8x64xbf16>, %slopes: tensor<8xf32>, %st: tensor<?x8x64x64xf32>, %si: tensor<?xi32>)
    -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>) {
  // expected-error @+1 {{config field 'warps' must be in [2, 32] for this kernel, got 1}}
  %o, %s = ds.linear_attn_decode %q, %q, %q, %slopes, %st, %si
      {config = #ds.kernel_config<block_tokens = 1, warps = 1, splits = 1, stages = 8, vector_width = 4>}
      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<8xf32>, tensor<?x8x64x64xf32>, tensor<?xi32>)
      -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>)
  return %o, %s : tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>
}

// -----

func.func @linear_decode_splits(%q: tensor<?x8x64xbf16>, %slopes: tensor<8xf32>, %st: tensor<?x8x64x64xf32>, %si: tensor<?xi32>)
    -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>) {
  // expected-error @+1 {{config field 'splits' (CTAs per state, each over e / splits columns) must divide the value dim 64 into blocks of a multiple of 4 columns that divide 128, got 3}}
  %o, %s = ds.linear_attn_decode %q, %q, %q, %slopes, %st, %si
      {config = #ds.kernel_config<block_tokens = 1, warps = 8, splits = 3, stages = 8, vector_width = 4>}
      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<8xf32>, tensor<?x8x64x64xf32>, tensor<?xi32>)
      -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>)
  return %o, %s : tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>
}

// -----

func.func @linear_decode_stages(%q: tensor<?x8x64xbf16>, %slopes: tensor<8xf32>, %st: tensor<?x8x64x64xf32>, %si: tensor<?xi32>)
    -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>) {
  // expected-error @+1 {{config field 'stages' (state rows in flight per warp) must be in [1, 32], got 33}}
  %o, %s = ds.linear_attn_decode %q, %q, %q, %slopes, %st, %si
      {config = #ds.kernel_config<block_tokens = 1, warps = 8, splits = 2, stages = 33, vector_width = 4>}
      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<8xf32>, tensor<?x8x64x64xf32>, tensor<?xi32>)
      -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>)
  return %o, %s : tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>
}

// -----

func.func @topk_unread_field(%s: tensor<?x8x?xf32>, %sl: tensor<?xi32>) -> tensor<?x8x4xi32> {
  // expected-error @+1 {{config field 'block_tokens' must be 1 (the kernels do not read it), got 512}}
  %i = ds.topk %s, %sl {k = 4 : i64, config = #ds.kernel_config<block_tokens = 512, warps = 16, splits = 1, stages = 1, vector_width = 1>}
      : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return %i : tensor<?x8x4xi32>
}

// -----

func.func @topk_warps(%s: tensor<?x8x?xf32>, %sl: tensor<?xi32>) -> tensor<?x8x4xi32> {
  // expected-error @+1 {{config field 'warps' must be a power of two in [1, 32] (the radix select's block-wide scans), got 12}}
  %i = ds.topk %s, %sl {k = 4 : i64, config = #ds.kernel_config<block_tokens = 1, warps = 12, splits = 1, stages = 1, vector_width = 1>}
      : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return %i : tensor<?x8x4xi32>
}

// -----

// The cluster kernel's fields: a cluster of 2, 4 or 8 CTAs, at least 2 warps, 1..16 loads in
// flight, keys that fit the target's shared memory beside the fixed 25 KB, and an occupancy the
// SM's threads allow.
func.func @topk_splits(%s: tensor<?x8x?xf32>, %sl: tensor<?xi32>) -> tensor<?x8x4xi32> {
  // expected-error @+1 {{config field 'splits' (CTAs per row, a cluster) must be 1, 2, 4 or 8, got 3}}
  %i = ds.topk %s, %sl {k = 4 : i64, config = #ds.kernel_config<block_tokens = 1024, warps = 16, splits = 3, stages = 8, vector_width = 1>}
      : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return %i : tensor<?x8x4xi32>
}

// -----

func.func @topk_cluster_warps(%s: tensor<?x8x?xf32>, %sl: tensor<?xi32>) -> tensor<?x8x4xi32> {
  // expected-error @+1 {{config field 'cluster_warps' must be at least 2 for a cluster (4 CTAs per row), got 1}}
  %i = ds.topk %s, %sl {k = 4 : i64, config = #ds.kernel_config<block_tokens = 1024, warps = 1, splits = 4, stages = 8, vector_width = 1, cluster_warps = 1>}
      : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return %i : tensor<?x8x4xi32>
}

// -----

// A cluster config without the cluster kernel's CTA size.
func.func @topk_cluster_warps_missing(%s: tensor<?x8x?xf32>, %sl: tensor<?xi32>) -> tensor<?x8x4xi32> {
  // expected-error @+1 {{config field 'cluster_warps' must be at least 2 for a cluster (2 CTAs per row), got 0}}
  %i = ds.topk %s, %sl {k = 4 : i64, config = #ds.kernel_config<block_tokens = 1024, warps = 16, splits = 2, stages = 8, vector_width = 1>}
      : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return %i : tensor<?x8x4xi32>
}

// -----

func.func @topk_cluster_warps_pow2(%s: tensor<?x8x?xf32>, %sl: tensor<?xi32>) -> tensor<?x8x4xi32> {
  // expected-error @+1 {{config field 'cluster_warps' must be a power of two in [1, 32] (the radix select's block-wide scans), got 12}}
  %i = ds.topk %s, %sl {k = 4 : i64, config = #ds.kernel_config<block_tokens = 1024, warps = 16, splits = 2, stages = 8, vector_width = 1, cluster_warps = 12>}
      : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return %i : tensor<?x8x4xi32>
}

// -----

// One CTA per row: no cluster kernel to size.
func.func @topk_cluster_warps_unused(%s: tensor<?x8x?xf32>, %sl: tensor<?xi32>) -> tensor<?x8x4xi32> {
  // expected-error @+1 {{config field 'cluster_warps' must be 0 (the kernels do not read it), got 32}}
  %i = ds.topk %s, %sl {k = 4 : i64, config = #ds.kernel_config<block_tokens = 1, warps = 16, splits = 1, stages = 1, vector_width = 1, cluster_warps = 32>}
      : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return %i : tensor<?x8x4xi32>
}

// -----

func.func @topk_stages(%s: tensor<?x8x?xf32>, %sl: tensor<?xi32>) -> tensor<?x8x4xi32> {
  // expected-error @+1 {{config field 'stages' (score loads in flight per thread) must be in [1, 16], got 17}}
  %i = ds.topk %s, %sl {k = 4 : i64, config = #ds.kernel_config<block_tokens = 1024, warps = 16, splits = 4, stages = 17, vector_width = 1, cluster_warps = 16>}
      : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return %i : tensor<?x8x4xi32>
}

// -----

func.func @topk_keys(%s: tensor<?x8x?xf32>, %sl: tensor<?xi32>) -> tensor<?x8x4xi32> {
  // expected-error @+1 {{config field 'block_tokens' (keys per CTA in shared memory) must be in [1, 51712] on sm_90, got 60000}}
  %i = ds.topk %s, %sl {k = 4 : i64, config = #ds.kernel_config<block_tokens = 60000, warps = 16, splits = 4, stages = 8, vector_width = 1, cluster_warps = 16>}
      : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return %i : tensor<?x8x4xi32>
}

// -----

func.func @topk_occupancy(%s: tensor<?x8x?xf32>, %sl: tensor<?xi32>) -> tensor<?x8x4xi32> {
  // expected-error @+1 {{config field 'occupancy' (CTAs per SM the cluster kernel's registers are capped for) times its 1024 threads must be at most 2048, got 3}}
  %i = ds.topk %s, %sl {k = 4 : i64, config = #ds.kernel_config<block_tokens = 1024, warps = 8, splits = 4, stages = 8, vector_width = 1, occupancy = 3, cluster_warps = 32>}
      : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return %i : tensor<?x8x4xi32>
}

// -----

func.func @score_topk_smem(%ql: tensor<?x32x16xbf16>, %cache: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x64xi32> {
  // expected-error @+1 {{config field 'block_tokens' (65536 scores in shared memory) needs 295936 bytes of shared memory per block with the select's, the target has 232448}}
  %i = ds.score_topk %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>, k = 64 : i64,
      config = #ds.kernel_config<block_tokens = 65536, warps = 32, splits = 1, stages = 2, vector_width = 8>}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return %i : tensor<?x8x64xi32>
}

// -----

func.func @score_topk_splits(%ql: tensor<?x32x16xbf16>, %cache: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x64xi32> {
  // expected-error @+1 {{config field 'splits' (CTAs per row, a cluster) must be 1, 2, 4 or 8, got 3}}
  %i = ds.score_topk %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>, k = 64 : i64,
      config = #ds.kernel_config<block_tokens = 32768, warps = 32, splits = 3, stages = 2, vector_width = 8>}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return %i : tensor<?x8x64xi32>
}

// -----

func.func @score_topk_cluster_warps(%ql: tensor<?x32x16xbf16>, %cache: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x64xi32> {
  // expected-error @+1 {{config field 'cluster_warps' must be at least 2 for a cluster (2 CTAs per row), got 1}}
  %i = ds.score_topk %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>, k = 64 : i64,
      config = #ds.kernel_config<block_tokens = 32768, warps = 32, splits = 2, stages = 2, vector_width = 8, cluster_warps = 1, cluster_stages = 1>}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return %i : tensor<?x8x64xi32>
}

// -----

func.func @score_topk_cluster_warps_pow2(%ql: tensor<?x32x16xbf16>, %cache: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x64xi32> {
  // expected-error @+1 {{config field 'cluster_warps' must be a power of two in [1, 32] (the radix select's block-wide scans), got 24}}
  %i = ds.score_topk %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>, k = 64 : i64,
      config = #ds.kernel_config<block_tokens = 32768, warps = 32, splits = 2, stages = 2, vector_width = 8, cluster_warps = 24, cluster_stages = 1>}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return %i : tensor<?x8x64xi32>
}

// -----

func.func @score_topk_cluster_stages(%ql: tensor<?x32x16xbf16>, %cache: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x64xi32> {
  // expected-error @+1 {{config field 'cluster_stages' (tokens scored per thread and step) must be in [1, 8], got 9}}
  %i = ds.score_topk %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>, k = 64 : i64,
      config = #ds.kernel_config<block_tokens = 32768, warps = 32, splits = 2, stages = 2, vector_width = 8, cluster_warps = 32, cluster_stages = 9>}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return %i : tensor<?x8x64xi32>
}

// -----

func.func @score_topk_cluster_stages_missing(%ql: tensor<?x32x16xbf16>, %cache: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x64xi32> {
  // expected-error @+1 {{config field 'cluster_stages' (tokens scored per thread and step) must be in [1, 8], got 0}}
  %i = ds.score_topk %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>, k = 64 : i64,
      config = #ds.kernel_config<block_tokens = 32768, warps = 32, splits = 2, stages = 2, vector_width = 8, cluster_warps = 32>}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return %i : tensor<?x8x64xi32>
}

// -----

func.func @score_topk_cluster_fields_unused(%ql: tensor<?x32x16xbf16>, %cache: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x64xi32> {
  // expected-error @+1 {{config field 'cluster_stages' must be 0 (the kernels do not read it), got 1}}
  %i = ds.score_topk %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>, k = 64 : i64,
      config = #ds.kernel_config<block_tokens = 32768, warps = 32, splits = 1, stages = 2, vector_width = 8, cluster_stages = 1>}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return %i : tensor<?x8x64xi32>
}

// -----

func.func @label_score_tile(%ql: tensor<?x8x16xbf16>, %cache: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x?xf32> {
  // expected-error @+1 {{config field 'block_tokens' must be 1 to 8 tokens per thread times the threads (128), got 100}}
  %a = ds.label_score %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32,
      config = #ds.kernel_config<block_tokens = 100, warps = 4, splits = 1, stages = 1, vector_width = 8>}
      : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return %a : tensor<?x8x?xf32>
}

// -----

func.func @label_score_vector(%ql: tensor<?x8x12xbf16>, %cache: tensor<8x?x12xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x?xf32> {
  // expected-error @+1 {{config field 'vector_width' must divide the label dim (12) and fit 16 bytes, got 8}}
  %a = ds.label_score %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32,
      config = #ds.kernel_config<block_tokens = 512, warps = 4, splits = 1, stages = 1, vector_width = 8>}
      : (tensor<?x8x12xbf16>, tensor<8x?x12xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return %a : tensor<?x8x?xf32>
}

// -----

func.func @label_append_occupancy(%cache: tensor<8x?x16xbf16>, %k: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>, %slots: tensor<?xi32>) -> tensor<8x?x16xbf16> {
  // expected-error @+1 {{config field 'occupancy' must be 0 (the kernels do not read it), got 2}}
  %c = ds.label_append %cache, %k, %ch, %slots {config = #ds.kernel_config<block_tokens = 1, warps = 8, splits = 1, stages = 1, vector_width = 1, occupancy = 2>}
      : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return %c : tensor<8x?x16xbf16>
}

// -----

func.func @label_gather_variant(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) -> tensor<?x8x16xbf16> {
  // expected-error @+1 {{config field 'variant' must be empty (the family has one kernel), got "fast"}}
  %l = ds.label_gather %x, %ch {config = #ds.kernel_config<block_tokens = 1, warps = 8, splits = 1, stages = 1, vector_width = 1, variant = "fast">}
      : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  return %l : tensor<?x8x16xbf16>
}

// -----

// A function configured for one target is not silently reconfigured for another.
// expected-error @+1 {{ds-select-kernel-config: the function is already configured for}}
func.func @other_target(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) -> tensor<?x8x16xbf16>
    attributes {ds.target = #ds.target<chip = "sm_80", sm_count = 108, smem_per_block = 166912, regs_per_sm = 65536, l2_bytes = 41943040, ptx = 80>} {
  %l = ds.label_gather %x, %ch : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  return %l : tensor<?x8x16xbf16>
}

// -----

// topp holds a row's candidates in registers: at most 32 per thread.
func.func @topp_too_few_warps(%l: tensor<?x8x4096xf32>, %i: tensor<?x8x4096xi32>) -> (tensor<?x8x4096xi32>, tensor<?x8xi32>) {
  // expected-error @+1 {{config field 'warps' must give each thread at most 32 of the row's 4096 candidates, got 2}}
  %k, %c = ds.topp %l, %i {top_p = 0.9 : f32, config = #ds.kernel_config<block_tokens = 1, warps = 2, splits = 1, stages = 1, vector_width = 1>}
      : (tensor<?x8x4096xf32>, tensor<?x8x4096xi32>) -> (tensor<?x8x4096xi32>, tensor<?x8xi32>)
  return %k, %c : tensor<?x8x4096xi32>, tensor<?x8xi32>
}

// -----

func.func @topp_dynamic_candidates(%l: tensor<?x8x?xf32>, %i: tensor<?x8x?xi32>) -> (tensor<?x8x?xi32>, tensor<?x8xi32>) {
  // expected-error @+1 {{GPU lowering needs a static candidate count (logits dim 2)}}
  %k, %c = ds.topp %l, %i {top_p = 0.9 : f32}
      : (tensor<?x8x?xf32>, tensor<?x8x?xi32>) -> (tensor<?x8x?xi32>, tensor<?x8xi32>)
  return %k, %c : tensor<?x8x?xi32>, tensor<?x8xi32>
}

// -----

func.func @topp_stages(%l: tensor<?x8x64xf32>, %i: tensor<?x8x64xi32>) -> (tensor<?x8x64xi32>, tensor<?x8xi32>) {
  // expected-error @+1 {{config field 'stages' must be 1 (the kernels do not read it), got 2}}
  %k, %c = ds.topp %l, %i {top_p = 0.9 : f32, config = #ds.kernel_config<block_tokens = 1, warps = 1, splits = 1, stages = 2, vector_width = 1>}
      : (tensor<?x8x64xf32>, tensor<?x8x64xi32>) -> (tensor<?x8x64xi32>, tensor<?x8xi32>)
  return %k, %c : tensor<?x8x64xi32>, tensor<?x8xi32>
}

// -----

// sample_residual sorts a row's fixed entries in shared memory.
func.func @sample_too_many_fixed(%f: tensor<?x8x10000xi32>, %sl: tensor<?xi32>, %p: tensor<2xi64>) -> (tensor<?x8x10016xi32>, tensor<?x8x10016xf32>) {
  // expected-error @+1 {{GPU lowering sorts the fixed entries in shared memory: fixed dim 2 must be <= 8192, got 10000}}
  %i, %w = ds.sample_residual %f, %sl, %p {num_samples = 16 : i64}
      : (tensor<?x8x10000xi32>, tensor<?xi32>, tensor<2xi64>) -> (tensor<?x8x10016xi32>, tensor<?x8x10016xf32>)
  return %i, %w : tensor<?x8x10016xi32>, tensor<?x8x10016xf32>
}

// -----

func.func @sample_warps(%f: tensor<?x8x64xi32>, %sl: tensor<?xi32>, %p: tensor<2xi64>) -> (tensor<?x8x80xi32>, tensor<?x8x80xf32>) {
  // expected-error @+1 {{config field 'warps' must be a power of two in [1, 32] (the sort's block-wide scan), got 3}}
  %i, %w = ds.sample_residual %f, %sl, %p {num_samples = 16 : i64, config = #ds.kernel_config<block_tokens = 1, warps = 3, splits = 1, stages = 1, vector_width = 1>}
      : (tensor<?x8x64xi32>, tensor<?xi32>, tensor<2xi64>) -> (tensor<?x8x80xi32>, tensor<?x8x80xf32>)
  return %i, %w : tensor<?x8x80xi32>, tensor<?x8x80xf32>
}

// -----

func.func @int4_score_max(%q: tensor<?x32x128xbf16>, %kq: tensor<?x8x20xi32>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %c: tensor<?x8x64xi32>) -> tensor<?x8x64xf32> {
  // expected-error @+1 {{GPU lowering supports group_reduce none or sum (a shared selection scores the group's summed query)}}
  %e = ds.int4_score %q, %kq, %pt, %sl, %c {page_size = 1 : i64, scale = 0.1 : f32, group_reduce = #ds.group_reduce<max>}
      : (tensor<?x32x128xbf16>, tensor<?x8x20xi32>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x8x64xi32>) -> tensor<?x8x64xf32>
  return %e : tensor<?x8x64xf32>
}

// -----

func.func @int4_score_stages(%q: tensor<?x32x128xbf16>, %kq: tensor<?x8x20xi32>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %c: tensor<?x32x64xi32>) -> tensor<?x32x64xf32> {
  // expected-error @+1 {{config field 'stages' must be 1 to 8 tiles of 16 candidates in flight per warp, got 9}}
  %e = ds.int4_score %q, %kq, %pt, %sl, %c {page_size = 1 : i64, scale = 0.1 : f32, config = #ds.kernel_config<block_tokens = 1, warps = 4, splits = 1, stages = 9, vector_width = 1>}
      : (tensor<?x32x128xbf16>, tensor<?x8x20xi32>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x64xf32>
  return %e : tensor<?x32x64xf32>
}

// -----

func.func @int4_append_stages(%kq: tensor<?x8x20xi32>, %k: tensor<?x8x128xbf16>, %sm: tensor<?xi32>) -> tensor<?x8x20xi32> {
  // expected-error @+1 {{config field 'stages' must be 1 (the kernels do not read it), got 2}}
  %q2 = ds.int4_append %kq, %k, %sm {config = #ds.kernel_config<block_tokens = 1, warps = 4, splits = 1, stages = 2, vector_width = 1>}
      : (tensor<?x8x20xi32>, tensor<?x8x128xbf16>, tensor<?xi32>) -> tensor<?x8x20xi32>
  return %q2 : tensor<?x8x20xi32>
}

// -----

func.func @sample_few_warps(%f: tensor<?x8x8192xi32>, %sl: tensor<?xi32>, %p: tensor<2xi64>) -> (tensor<?x8x8208xi32>, tensor<?x8x8208xf32>) {
  // expected-error @+1 {{config field 'warps' must give each thread at most 32 of the row's 8192 sorted entries, got 2}}
  %i, %w = ds.sample_residual %f, %sl, %p {num_samples = 16 : i64, config = #ds.kernel_config<block_tokens = 1, warps = 2, splits = 1, stages = 1, vector_width = 1>}
      : (tensor<?x8x8192xi32>, tensor<?xi32>, tensor<2xi64>) -> (tensor<?x8x8208xi32>, tensor<?x8x8208xf32>)
  return %i, %w : tensor<?x8x8208xi32>, tensor<?x8x8208xf32>
}

// -----

// fp8 labels are read as whole 32-bit words: 2 labels per load is refused.
func.func @fp8_label_vector_width(%ql: tensor<?x32x16xbf16>, %c: tensor<32x?x16xf8E4M3FN>, %s: tensor<32x?xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x?xf32> {
  // expected-error @+1 {{config field 'vector_width' must divide the label dim (16) and fit 16 bytes in whole 32-bit words of labels, got 2}}
  %a = ds.label_score %ql, %c scales(%s), %pt, %sl
      {page_size = 1 : i64, scale = 0.25 : f32, config = #ds.kernel_config<block_tokens = 512, warps = 4, splits = 1, stages = 1, vector_width = 2>}
      : (tensor<?x32x16xbf16>, tensor<32x?x16xf8E4M3FN>, tensor<32x?xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x?xf32>
  return %a : tensor<?x32x?xf32>
}

// -----

// With a low-bit cache the query rows stay in registers: group_reduce = max over 8 heads of 16
// labels (128 values) is refused.
func.func @lowbit_max_rows(%ql: tensor<?x32x16xbf16>, %c: tensor<4x?x2xi32>, %s: tensor<4x?xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x4x64xi32> {
  // expected-error @+1 {{with an fp8 or int4 label cache the query rows stay in registers: query rows scored apart (8) * labels (16) must be <= 64}}
  %i = ds.score_topk %ql, %c scales(%s), %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<max>, k = 64 : i64}
      : (tensor<?x32x16xbf16>, tensor<4x?x2xi32>, tensor<4x?xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x4x64xi32>
  return %i : tensor<?x4x64xi32>
}

// -----

// A partial CTA's warp states and sparse chunk are static shared memory, which a kernel may have
// 48 KB of: 16 heads of 128 dims over 8 warps need 65 KB (ptxas used to refuse the kernel).
func.func @decode_static_smem(%q: tensor<?x16x128xbf16>, %k: tensor<?x16x1x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x16x128xbf16> {
  // expected-error @+1 {{config field 'heads' (16 query heads per CTA of 8 warps) needs 66560 bytes of static shared memory for the warps' states, more than the 49152 a kernel may have: fewer heads or warps}}
  %o = ds.dense_decode %q, %k, %k, %pt, %sl
      {scale = 0.088 : f32, config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 33, stages = 4, vector_width = 8, heads = 16>}
      : (tensor<?x16x128xbf16>, tensor<?x16x1x128xbf16>, tensor<?x16x1x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x16x128xbf16>
  return %o : tensor<?x16x128xbf16>
}

// -----

// The merge's lanes own d / 32 dims each: other head dims would leave dims unwritten.
func.func @merge_head_dim(%acc: tensor<?x8x?x48xf32>, %ml: tensor<?x8x?x2xf32>) -> tensor<?x8x48xbf16> {
  // expected-error @+1 {{'ds.decode_merge' op GPU lowering supports static head dims that are multiples of 32, at most 256, got 48}}
  %o = ds.decode_merge %acc, %ml : (tensor<?x8x?x48xf32>, tensor<?x8x?x2xf32>) -> tensor<?x8x48xbf16>
  return %o : tensor<?x8x48xbf16>
}

// -----

// Their loop is unrolled: a head dim of 65536 took half a minute to compile.
func.func @merge_head_dim_large(%acc: tensor<?x1x?x65536xf32>, %ml: tensor<?x1x?x2xf32>) -> tensor<?x1x65536xbf16> {
  // expected-error @+1 {{'ds.decode_merge' op GPU lowering supports static head dims that are multiples of 32, at most 256, got 65536}}
  %o = ds.decode_merge %acc, %ml : (tensor<?x1x?x65536xf32>, tensor<?x1x?x2xf32>) -> tensor<?x1x65536xbf16>
  return %o : tensor<?x1x65536xbf16>
}

// -----

// The head count sizes the output in the plan.
func.func @merge_dynamic_heads(%acc: tensor<?x?x?x128xf32>, %ml: tensor<?x?x?x2xf32>) -> tensor<?x?x128xbf16> {
  // expected-error @+1 {{'ds.decode_merge' op GPU lowering needs a static head count (acc dim 1)}}
  %o = ds.decode_merge %acc, %ml : (tensor<?x?x?x128xf32>, tensor<?x?x?x2xf32>) -> tensor<?x?x128xbf16>
  return %o : tensor<?x?x128xbf16>
}

// -----

// An occupancy the block cannot reach would be dropped by ptxas (a warning, the cap ignored).
func.func @label_score_occupancy(%ql: tensor<?x8x16xbf16>, %cache: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x?xf32> {
  // expected-error @+1 {{config field 'occupancy' (CTAs per SM the registers are capped for) times the block's 1024 threads must be at most 2048, got 4}}
  %a = ds.label_score %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32,
      config = #ds.kernel_config<block_tokens = 1024, warps = 32, splits = 1, stages = 1, vector_width = 8, occupancy = 4>}
      : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return %a : tensor<?x8x?xf32>
}

// -----

func.func @page_score_topk_occupancy(%q: tensor<?x32x128xbf16>, %kmin: tensor<?x32x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x128xi32> {
  // expected-error @+1 {{config field 'occupancy' (CTAs per SM the registers are capped for) times the block's 1024 threads must be at most 2048, got 4}}
  %i = ds.page_score_topk %q, %kmin, %kmin, %pt, %sl {page_size = 16 : i64, k = 128 : i64,
      config = #ds.kernel_config<block_tokens = 1, warps = 32, splits = 1, stages = 2, vector_width = 8, occupancy = 4>}
      : (tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xi32>
  return %i : tensor<?x32x128xi32>
}

// -----

// The chunked kernel's chunks are 64 tokens: another chunk_size is the recurrent kernel's.
func.func @prefill_chunked_chunk_size(%q: tensor<?x8x64xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x64xf32>,
                                      %si: tensor<?xi32>, %hi: tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>) {
  // expected-error @+1 {{config field 'variant' "chunked" computes chunks of 64 tokens, the op's chunk_size is 32: use "recurrent" or chunk_size = 64}}
  %o, %s = ds.linear_attn_prefill %q, %q, %q, %slopes, %cu, %st, %si, %hi
      {chunk_size = 32 : i64, config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 2, vector_width = 8, variant = "chunked">}
      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<8xf32>, tensor<?xi32>,
         tensor<?x8x64x64xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>)
  return %o, %s : tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>
}

// -----

// page_score stages a row's query heads (the whole group under a group_reduce) in static shared
// memory: 128 heads of 128 dims are 64 KB, past the 48 KB (ptxas refused the kernel, and the
// bundle carried PTX no driver would load).
func.func @page_score_group_smem(%q: tensor<?x128x128xbf16>, %kmin: tensor<?x1x128xbf16>, %kmax: tensor<?x1x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x1x?xf32> {
  // expected-error @+1 {{'ds.page_score' op GPU lowering stages a row's 128 query heads of 128 dims in shared memory: 65536 bytes of static shared memory, more than the 49152 a kernel may have (fewer query heads per kv head)}}
  %u = ds.page_score %q, %kmin, %kmax, %pt, %sl {page_size = 16 : i64, group_reduce = #ds.group_reduce<sum>}
      : (tensor<?x128x128xbf16>, tensor<?x1x128xbf16>, tensor<?x1x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x1x?xf32>
  return %u : tensor<?x1x?xf32>
}

// -----

// Static sizes that no launch of a cluster takes: a config asking for one launches nothing.
func.func @topk_cluster_short_rows(%s: tensor<?x8x4096xf32>, %sl: tensor<?xi32>) -> tensor<?x8x64xi32> {
  // expected-error @+1 {{config field 'splits' (2 CTAs per row, a cluster) launches nothing at these sizes: it takes rows longer than 16384, and N is 4096; use splits = 1}}
  %i = ds.topk %s, %sl {k = 64 : i64, config = #ds.kernel_config<block_tokens = 32768, warps = 16, splits = 2, stages = 16, vector_width = 1, cluster_warps = 32>}
      : (tensor<?x8x4096xf32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return %i : tensor<?x8x64xi32>
}

// -----

func.func @topk_cluster_too_many_rows(%s: tensor<64x8x?xf32>, %sl: tensor<64xi32>) -> tensor<64x8x64xi32> {
  // expected-error @+1 {{config field 'splits' (2 CTAs per row, a cluster) launches nothing at these sizes: its clusters take one CTA per SM, and 512 rows need 1024 of the target's 132; use splits = 1}}
  %i = ds.topk %s, %sl {k = 64 : i64, config = #ds.kernel_config<block_tokens = 32768, warps = 16, splits = 2, stages = 16, vector_width = 1, cluster_warps = 32>}
      : (tensor<64x8x?xf32>, tensor<64xi32>) -> tensor<64x8x64xi32>
  return %i : tensor<64x8x64xi32>
}

// -----

// Whatever N is: a cluster holding at most 2 x 7 keys never takes a row (those take N > 16384).
func.func @topk_cluster_small_capacity(%s: tensor<?x8x?xf32>, %sl: tensor<?xi32>) -> tensor<?x8x64xi32> {
  // expected-error @+1 {{config field 'block_tokens' (7 keys per CTA of a cluster) times splits (2) must exceed 16384, the shortest row the cluster kernel takes, or it never runs; got 14}}
  %i = ds.topk %s, %sl {k = 64 : i64, config = #ds.kernel_config<block_tokens = 7, warps = 16, splits = 2, stages = 16, vector_width = 1, cluster_warps = 32>}
      : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return %i : tensor<?x8x64xi32>
}

// -----

// Every launch takes the cluster: the one-CTA kernel's `warps` is read by nothing that runs.
func.func @topk_one_cta_never_runs(%s: tensor<1x8x65536xf32>, %sl: tensor<1xi32>) -> tensor<1x8x1024xi32> {
  // expected-error @+1 {{config field 'warps' must be 1 (every launch of these sizes takes the cluster kernel), got 16}}
  %i = ds.topk %s, %sl {k = 1024 : i64, config = #ds.kernel_config<block_tokens = 32768, warps = 16, splits = 2, stages = 16, vector_width = 1, cluster_warps = 32>}
      : (tensor<1x8x65536xf32>, tensor<1xi32>) -> tensor<1x8x1024xi32>
  return %i : tensor<1x8x1024xi32>
}

// -----

func.func @score_topk_one_cta_never_runs(%ql: tensor<1x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<1x65536xi32>, %sl: tensor<1xi32>) -> tensor<1x8x1024xi32> {
  // expected-error @+1 {{config field 'stages' must be 1 (every launch of these sizes takes the cluster kernel), got 2}}
  %i = ds.score_topk %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>, k = 1024 : i64,
       config = #ds.kernel_config<block_tokens = 49152, warps = 1, splits = 2, stages = 2, vector_width = 8, cluster_warps = 32, cluster_stages = 2>}
      : (tensor<1x32x16xbf16>, tensor<8x?x16xbf16>, tensor<1x65536xi32>, tensor<1xi32>) -> tensor<1x8x1024xi32>
  return %i : tensor<1x8x1024xi32>
}

// -----

func.func @score_topk_cluster_short_rows(%ql: tensor<?x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x256xi32>, %sl: tensor<?xi32>) -> tensor<?x8x64xi32> {
  // expected-error @+1 {{config field 'splits' (2 CTAs per row, a cluster) launches nothing at these sizes: it takes rows longer than 8192, and N is 4096; use splits = 1}}
  %i = ds.score_topk %ql, %c, %pt, %sl {page_size = 16 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>, k = 64 : i64,
       config = #ds.kernel_config<block_tokens = 49152, warps = 32, splits = 2, stages = 2, vector_width = 8, cluster_warps = 32, cluster_stages = 2>}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x256xi32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return %i : tensor<?x8x64xi32>
}
