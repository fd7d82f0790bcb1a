// RUN: ds-opt %s --ds-select-kernel-config="chip=sm_90a" | FileCheck %s
// Static sizes fold the lowering's gates, and the lowering builds no kernel whose gate folds to
// 0; the chosen config then says which kernels run: no cluster (splits = 1) where no launch takes
// one, and the one-CTA kernels' fields neutral (1) where every launch does. The kernels built
// are those of the config before this rule (the bundles are byte-identical).

// CHECK-LABEL: func.func @topk_short
// CHECK: ds.topk {{.*}}config = #ds.kernel_config<block_tokens = 1, warps = 16, splits = 1, stages = 1, vector_width = 1>
// topk, 8 heads, N = 4096 static: no launch takes the cluster (N <= 16384).
func.func @topk_short(%s: tensor<?x8x4096xf32>, %sl: tensor<?xi32>) -> tensor<?x8x64xi32> {
  %i = ds.topk %s, %sl {k = 64 : i64} : (tensor<?x8x4096xf32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return %i : tensor<?x8x64xi32>
}
// CHECK-LABEL: func.func @topk_long
// CHECK: ds.topk {{.*}}config = #ds.kernel_config<block_tokens = 32768, warps = 1, splits = 2, stages = 16, vector_width = 1, cluster_warps = 32>
// topk, 1 x 8 rows of 65536 static: every launch takes the cluster.
func.func @topk_long(%s: tensor<1x8x65536xf32>, %sl: tensor<1xi32>) -> tensor<1x8x1024xi32> {
  %i = ds.topk %s, %sl {k = 1024 : i64} : (tensor<1x8x65536xf32>, tensor<1xi32>) -> tensor<1x8x1024xi32>
  return %i : tensor<1x8x1024xi32>
}
// CHECK-LABEL: func.func @topk_many_rows
// CHECK: ds.topk {{.*}}config = #ds.kernel_config<block_tokens = 1, warps = 16, splits = 1, stages = 1, vector_width = 1>
// topk, 64 x 8 rows: more clusters than SMs, whatever N.
func.func @topk_many_rows(%s: tensor<64x8x?xf32>, %sl: tensor<64xi32>) -> tensor<64x8x64xi32> {
  %i = ds.topk %s, %sl {k = 64 : i64} : (tensor<64x8x?xf32>, tensor<64xi32>) -> tensor<64x8x64xi32>
  return %i : tensor<64x8x64xi32>
}
// CHECK-LABEL: func.func @score_topk_short
// CHECK: ds.score_topk {{.*}}config = #ds.kernel_config<block_tokens = 49152, warps = 32, splits = 1, stages = 2, vector_width = 8>
// score_topk over 4096 positions (256 pages of 16): no cluster.
func.func @score_topk_short(%ql: tensor<?x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x256xi32>, %sl: tensor<?xi32>) -> tensor<?x8x64xi32> {
  %i = ds.score_topk %ql, %c, %pt, %sl {page_size = 16 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>, k = 64 : i64}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x256xi32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return %i : tensor<?x8x64xi32>
}
// CHECK-LABEL: func.func @score_topk_long
// CHECK: ds.score_topk {{.*}}config = #ds.kernel_config<block_tokens = 49152, warps = 1, splits = 2, stages = 1, vector_width = 8, cluster_warps = 32, cluster_stages = 2>
// score_topk, 1 request, 8 rows of 65536 positions: every launch takes the cluster.
func.func @score_topk_long(%ql: tensor<1x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<1x65536xi32>, %sl: tensor<1xi32>) -> tensor<1x8x1024xi32> {
  %i = ds.score_topk %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>, k = 1024 : i64}
      : (tensor<1x32x16xbf16>, tensor<8x?x16xbf16>, tensor<1x65536xi32>, tensor<1xi32>) -> tensor<1x8x1024xi32>
  return %i : tensor<1x8x1024xi32>
}
// The warpgroup-MMA prefill over 4 static requests: 4 x 64 heads x 2 column blocks = 512 CTAs,
// past one wave, so the two-warpgroup kernel never launches: one warpgroup at two stages.
// CHECK-LABEL: func.func @prefill_past_one_wave
// CHECK: ds.linear_attn_prefill {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 2, vector_width = 8, variant = "wgmma">
func.func @prefill_past_one_wave(%q: tensor<?x64x128xbf16>, %k: tensor<?x64x128xbf16>,
                   %v: tensor<?x64x128xbf16>, %slopes: tensor<64xf32>,
                   %cu: tensor<?xi32>, %states: tensor<?x64x128x128xf32>,
                   %si: tensor<4xi32>, %hi: tensor<?xi32>)
    -> (tensor<?x64x128xbf16>, tensor<?x64x128x128xf32>) {
  %o, %s = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %states, %si, %hi
    : (tensor<?x64x128xbf16>, tensor<?x64x128xbf16>, tensor<?x64x128xbf16>, tensor<64xf32>, tensor<?xi32>, tensor<?x64x128x128xf32>, tensor<4xi32>, tensor<?xi32>)
    -> (tensor<?x64x128xbf16>, tensor<?x64x128x128xf32>)
  return %o, %s : tensor<?x64x128xbf16>, tensor<?x64x128x128xf32>
}
