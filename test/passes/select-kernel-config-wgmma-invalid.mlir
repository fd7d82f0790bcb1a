// RUN: ds-opt %s --ds-select-kernel-config="chip=sm_90a smem-per-block=131072" -split-input-file -verify-diagnostics
// The warpgroup-MMA prefill's `stages` (chunks of Q, K and V in flight): 2 to 4, and only as many
// as the target's shared memory holds (on 8 and 12 warps those of the plan's larger kernel, the
// one-warpgroup kernel beside it runs two; on 12 four only); the mma.sync kernel is
// double-buffered only. Its `warps`: 4 (one warpgroup), 8 (two) or 12 (three); the mma.sync
// kernel's 4 only.

func.func @wgmma_stages_5(%q: tensor<?x8x64xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x64xf32>,
                          %si: tensor<?xi32>, %hi: tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>) {
  // expected-error @+1 {{config field 'stages' (chunks in flight of the "wgmma" kernel) must be in [2, 4], got 5}}
  %o, %s = ds.linear_attn_prefill %q, %q, %q, %slopes, %cu, %st, %si, %hi
      {config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 5, vector_width = 8, variant = "wgmma">}
      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<8xf32>, tensor<?xi32>,
         tensor<?x8x64x64xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>)
  return %o, %s : tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>
}

// -----

// d = 128: (3 * (2 * 64 * 128 + 64 * 64) + 128 * 64 + 64 * 64) * 2 + 1024 bytes.
func.func @wgmma_stages_smem(%q: tensor<?x8x128xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x128x128xf32>,
                             %si: tensor<?xi32>, %hi: tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>) {
  // expected-error @+1 {{config field 'stages' 3 stages of the "wgmma" kernel on 4 warps need 148992 bytes of shared memory, the target has 131072}}
  %o, %s = ds.linear_attn_prefill %q, %q, %q, %slopes, %cu, %st, %si, %hi
      {config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 3, vector_width = 8, variant = "wgmma">}
      : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<8xf32>, tensor<?xi32>,
         tensor<?x8x128x128xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>)
  return %o, %s : tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>
}

// -----

func.func @chunked_stages_3(%q: tensor<?x8x64xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x64xf32>,
                            %si: tensor<?xi32>, %hi: tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>) {
  // expected-error @+1 {{config field 'stages' must be 2 (double-buffered chunk loads), got 3}}
  %o, %s = ds.linear_attn_prefill %q, %q, %q, %slopes, %cu, %st, %si, %hi
      {config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 3, vector_width = 8, variant = "chunked">}
      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<8xf32>, tensor<?xi32>,
         tensor<?x8x64x64xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>)
  return %o, %s : tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>
}

// -----

func.func @wgmma_warps_6(%q: tensor<?x8x64xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x64xf32>,
                         %si: tensor<?xi32>, %hi: tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>) {
  // expected-error @+1 {{config field 'warps' (of the "wgmma" kernel) must be 4 (one warpgroup), 8 (an output and a state warpgroup) or 12 (two output warpgroups and a state one), got 6}}
  %o, %s = ds.linear_attn_prefill %q, %q, %q, %slopes, %cu, %st, %si, %hi
      {config = #ds.kernel_config<block_tokens = 64, warps = 6, splits = 1, stages = 2, vector_width = 8, variant = "wgmma">}
      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<8xf32>, tensor<?xi32>,
         tensor<?x8x64x64xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>)
  return %o, %s : tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>
}

// -----

// Two warpgroups keep two S_prev slots, and at three stages or more two Vw tiles (the next
// chunk's V is weighted ahead): (3 * (2 * 64 * 128 + 64 * 64) + 2 * 128 * 64 + 2 * 64 * 64) * 2
// + 1024 bytes of dynamic shared memory and 512 of static.
func.func @wgmma_two_warpgroups_smem(%q: tensor<?x8x128xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x128x128xf32>,
                                     %si: tensor<?xi32>, %hi: tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>) {
  // expected-error @+1 {{config field 'stages' 3 stages of the "wgmma" kernel on 8 warps need 173568 bytes of shared memory, the target has 131072}}
  %o, %s = ds.linear_attn_prefill %q, %q, %q, %slopes, %cu, %st, %si, %hi
      {config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 1, stages = 3, vector_width = 8, variant = "wgmma">}
      : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<8xf32>, tensor<?xi32>,
         tensor<?x8x128x128xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>)
  return %o, %s : tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>
}

// -----

func.func @chunked_warps_8(%q: tensor<?x8x64xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x64xf32>,
                           %si: tensor<?xi32>, %hi: tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>) {
  // expected-error @+1 {{config field 'warps' must be 4 (16 rows of a chunk per warp), got 8}}
  %o, %s = ds.linear_attn_prefill %q, %q, %q, %slopes, %cu, %st, %si, %hi
      {config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 1, stages = 2, vector_width = 8, variant = "chunked">}
      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<8xf32>, tensor<?xi32>,
         tensor<?x8x64x64xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>)
  return %o, %s : tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>
}

// -----

// Three warpgroups run a fixed ring of four chunks: `stages` = 4 only.
func.func @wgmma_three_warpgroups_stages_2(%q: tensor<?x8x64xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x64xf32>,
                                           %si: tensor<?xi32>, %hi: tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>) {
  // expected-error @+1 {{config field 'stages' must be 4 (the ring of the "wgmma" kernel on 12 warps: two chunks read by the outputs, one weighted ahead, one loading), got 2}}
  %o, %s = ds.linear_attn_prefill %q, %q, %q, %slopes, %cu, %st, %si, %hi
      {config = #ds.kernel_config<block_tokens = 64, warps = 12, splits = 1, stages = 2, vector_width = 8, variant = "wgmma">}
      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<8xf32>, tensor<?xi32>,
         tensor<?x8x64x64xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>)
  return %o, %s : tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>
}

// -----

// Three warpgroups keep three S_prev slots and two Vw: (4 * (2 * 64 * 128 + 64 * 64) + 3 * 128 *
// 64 + 2 * 64 * 64) * 2 + 1024 bytes of dynamic shared memory and 512 of static.
func.func @wgmma_three_warpgroups_smem(%q: tensor<?x8x128xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x128x128xf32>,
                                       %si: tensor<?xi32>, %hi: tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>) {
  // expected-error @+1 {{config field 'stages' 4 stages of the "wgmma" kernel on 12 warps need 230912 bytes of shared memory, the target has 131072}}
  %o, %s = ds.linear_attn_prefill %q, %q, %q, %slopes, %cu, %st, %si, %hi
      {config = #ds.kernel_config<block_tokens = 64, warps = 12, splits = 1, stages = 4, vector_width = 8, variant = "wgmma">}
      : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<8xf32>, tensor<?xi32>,
         tensor<?x8x128x128xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>)
  return %o, %s : tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>
}

// -----

// 4 static requests x 64 heads x 2 column blocks = 512 CTAs, past one wave: the two-warpgroup
// kernel never launches (the one-warpgroup kernel runs, at two stages).
func.func @wgmma_two_warpgroups_never_run(%q: tensor<?x64x128xbf16>, %slopes: tensor<64xf32>, %cu: tensor<?xi32>, %st: tensor<?x64x128x128xf32>,
                                          %si: tensor<4xi32>, %hi: tensor<?xi32>) -> (tensor<?x64x128xbf16>, tensor<?x64x128x128xf32>) {
  // expected-error @+1 {{config field 'warps' (2 warpgroups) launches nothing at these sizes: that kernel runs where the launch's CTAs fit the SMs once, and 4 requests take 512 of 132 (the one-warpgroup kernel runs, at 2 stages); use warps = 4 and stages = 2}}
  %o, %s = ds.linear_attn_prefill %q, %q, %q, %slopes, %cu, %st, %si, %hi
      {config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 1, stages = 2, vector_width = 8, variant = "wgmma">}
      : (tensor<?x64x128xbf16>, tensor<?x64x128xbf16>, tensor<?x64x128xbf16>, tensor<64xf32>, tensor<?xi32>, tensor<?x64x128x128xf32>, tensor<4xi32>, tensor<?xi32>)
      -> (tensor<?x64x128xbf16>, tensor<?x64x128x128xf32>)
  return %o, %s : tensor<?x64x128xbf16>, tensor<?x64x128x128xf32>
}
