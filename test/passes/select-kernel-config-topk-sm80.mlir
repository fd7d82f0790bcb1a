// RUN: ds-opt %s --ds-select-kernel-config="chip=sm_80 sm-count=108" -verify-diagnostics
// The top-k's cluster kernel needs thread-block clusters (sm_90); on sm_80 the config pass
// chooses one CTA per row and refuses a given cluster.
func.func @topk_cluster_sm80(%s: tensor<?x8x?xf32>, %sl: tensor<?xi32>) -> tensor<?x8x4xi32> {
  // expected-error @+1 {{config field 'splits' (4 CTAs per row) needs thread-block clusters, which sm_80 does not have}}
  %i = ds.topk %s, %sl {k = 4 : i64, config = #ds.kernel_config<block_tokens = 1024, warps = 16, splits = 4, stages = 8, vector_width = 1>}
      : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return %i : tensor<?x8x4xi32>
}
