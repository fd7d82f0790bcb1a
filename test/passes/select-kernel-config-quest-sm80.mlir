// RUN: ds-opt %s --ds-select-kernel-config="chip=sm_80" -split-input-file -verify-diagnostics | FileCheck %s
// Without thread-block clusters (sm_80) page_score_topk scores a row in one CTA, and a config
// asking for a cluster is refused.

// CHECK-LABEL: func.func @chosen
// CHECK: ds.page_score_topk {{.*}}config = #ds.kernel_config<block_tokens = 1, warps = 16, splits = 1, stages = 2, vector_width = 8, occupancy = 4>
func.func @chosen(%q: tensor<?x32x128xbf16>, %mn: tensor<?x32x128xbf16>, %mx: tensor<?x32x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x64xi32> {
  %i = ds.page_score_topk %q, %mn, %mx, %pt, %sl {page_size = 16 : i64, k = 64 : i64}
      : (tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x64xi32>
  return %i : tensor<?x32x64xi32>
}

// -----

func.func @cluster_on_sm80(%q: tensor<?x32x128xbf16>, %mn: tensor<?x32x128xbf16>, %mx: tensor<?x32x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x64xi32> {
  // expected-error @+1 {{config field 'splits' (8 CTAs per row) needs thread-block clusters, which sm_80 does not have}}
  %i = ds.page_score_topk %q, %mn, %mx, %pt, %sl {page_size = 16 : i64, k = 64 : i64,
        config = #ds.kernel_config<block_tokens = 1, warps = 16, splits = 8, stages = 4, vector_width = 8>}
      : (tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x64xi32>
  return %i : tensor<?x32x64xi32>
}
