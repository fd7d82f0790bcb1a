// RUN: ds-opt %s --ds-select-kernel-config="chip=sm_80 sm-count=108" -verify-diagnostics
// The top-k's cluster kernel needs thread-block clusters (sm_90); on sm_80 the config pass
// chooses one CTA per row and refuses a given cluster.
func.func @topk_cluster_sm80(%s: tensor<?x8x?xf32>, %sl: tensor<?xi32>) -> tensor<?x8x4xi32> {
  // expected-error @+1 {{config field 'splits' (4 CTAs per row) needs thread-block clusters, which sm_80 does not have}}
  %i = ds.topk %s, %sl {k = 4 : i64, config = #ds.kernel_config<block_tokens = 1024, warps = 16, splits = 4, stages = 8, vector_width = 1, cluster_warps = 16>}
      : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return %i : tensor<?x8x4xi32>
}

// score_topk too: its cluster variant (few long rows split over 2 CTAs) exists from sm_90 on.
func.func @score_topk_cluster_sm80(%ql: tensor<?x32x16xbf16>, %cache: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x64xi32> {
  // expected-error @+1 {{config field 'splits' (2 CTAs per row) needs thread-block clusters, which sm_80 does not have}}
  %i = ds.score_topk %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>, k = 64 : i64,
      config = #ds.kernel_config<block_tokens = 32768, warps = 32, splits = 2, stages = 2, vector_width = 8>}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return %i : tensor<?x8x64xi32>
}
