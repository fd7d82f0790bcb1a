// RUN: ds-opt %s --ds-select-kernel-config -split-input-file -verify-diagnostics
// page_score_topk's config: a radix-select CTA, 1/2/4/8 CTAs per row (a cluster, from sm_90
// only), 1..8 pages in flight per lane group; a static row must fit shared memory.


// A cluster of 3 CTAs does not divide the row's pages in the kernel's power-of-two layout.
func.func @splits_three(%q: tensor<?x32x128xbf16>, %mn: tensor<?x32x128xbf16>, %mx: tensor<?x32x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x64xi32> {
  // expected-error @+1 {{config field 'splits' (CTAs per row, a cluster) must be 1, 2, 4 or 8, got 3}}
  %i = ds.page_score_topk %q, %mn, %mx, %pt, %sl {page_size = 16 : i64, k = 64 : i64,
        config = #ds.kernel_config<block_tokens = 1, warps = 16, splits = 3, stages = 4, vector_width = 8>}
      : (tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x64xi32>
  return %i : tensor<?x32x64xi32>
}

// -----

// The radix select's scans need a power-of-two CTA.
func.func @warps_twelve(%q: tensor<?x32x128xbf16>, %mn: tensor<?x32x128xbf16>, %mx: tensor<?x32x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x64xi32> {
  // expected-error @+1 {{config field 'warps' must be a power of two in [1, 32]}}
  %i = ds.page_score_topk %q, %mn, %mx, %pt, %sl {page_size = 16 : i64, k = 64 : i64,
        config = #ds.kernel_config<block_tokens = 1, warps = 12, splits = 8, stages = 4, vector_width = 8>}
      : (tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x64xi32>
  return %i : tensor<?x32x64xi32>
}

// -----

func.func @stages_nine(%q: tensor<?x32x128xbf16>, %mn: tensor<?x32x128xbf16>, %mx: tensor<?x32x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x64xi32> {
  // expected-error @+1 {{config field 'stages' (pages in flight per lane group) must be in [1, 8], got 9}}
  %i = ds.page_score_topk %q, %mn, %mx, %pt, %sl {page_size = 16 : i64, k = 64 : i64,
        config = #ds.kernel_config<block_tokens = 1, warps = 16, splits = 8, stages = 9, vector_width = 8>}
      : (tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x64xi32>
  return %i : tensor<?x32x64xi32>
}

// -----

// block_tokens is not read by this kernel: it must be 1.
func.func @unused_block_tokens(%q: tensor<?x32x128xbf16>, %mn: tensor<?x32x128xbf16>, %mx: tensor<?x32x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x64xi32> {
  // expected-error @+1 {{config field 'block_tokens'}}
  %i = ds.page_score_topk %q, %mn, %mx, %pt, %sl {page_size = 16 : i64, k = 64 : i64,
        config = #ds.kernel_config<block_tokens = 64, warps = 16, splits = 8, stages = 4, vector_width = 8>}
      : (tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x64xi32>
  return %i : tensor<?x32x64xi32>
}

// -----

// A static row of 60000 pages does not fit the 227 KB of shared memory one block may use.
func.func @row_too_long(%q: tensor<?x32x128xbf16>, %mn: tensor<?x32x128xbf16>, %mx: tensor<?x32x128xbf16>, %pt: tensor<?x60000xi32>, %sl: tensor<?xi32>) -> tensor<?x32x64xi32> {
  // expected-error @+1 {{a row of 60000 pages (page_table dim 1) needs}}
  %i = ds.page_score_topk %q, %mn, %mx, %pt, %sl {page_size = 16 : i64, k = 64 : i64}
      : (tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x60000xi32>, tensor<?xi32>) -> tensor<?x32x64xi32>
  return %i : tensor<?x32x64xi32>
}

// -----

// page_score caps its registers for `occupancy` CTAs per SM; more CTAs than an SM holds threads
// for is refused.
func.func @score_occupancy(%q: tensor<?x32x128xbf16>, %mn: tensor<?x8x128xbf16>, %mx: tensor<?x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x?xf32> {
  // expected-error @+1 {{config field 'occupancy' (CTAs per SM the registers are capped for) times the block's 256 threads must be at most 2048, got 9}}
  %u = ds.page_score %q, %mn, %mx, %pt, %sl {page_size = 16 : i64, group_reduce = #ds.group_reduce<sum>,
      config = #ds.kernel_config<block_tokens = 1, warps = 8, splits = 1, stages = 1, vector_width = 8, occupancy = 9>}
      : (tensor<?x32x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return %u : tensor<?x8x?xf32>
}
