// RUN: ds-opt %s --ds-select-kernel-config --ds-split-decode | FileCheck %s

// Dense decode becomes split-K partials (f32 acc and (m, l) with a dynamic split dim) and a merge;
// the partial op keeps the decode op's config and attributes.
// CHECK-LABEL: func.func @dense
// CHECK-NOT: ds.dense_decode
// CHECK: %[[ACC:.+]], %[[ML:.+]] = ds.decode_partial %{{.*}} {config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 33{{.*}}variant = "mma"{{.*}}>, scale = 1.250000e-01 : f32}
// CHECK-SAME: -> tensor<?x32x?x128xf32>, tensor<?x32x?x2xf32>
// CHECK: %[[O:.+]] = ds.decode_merge %[[ACC]], %[[ML]] : (tensor<?x32x?x128xf32>, tensor<?x32x?x2xf32>) -> tensor<?x32x128xbf16>
// CHECK: return %[[O]]
func.func @dense(%q: tensor<?x32x128xbf16>, %k: tensor<?x1x8x128xbf16>, %v: tensor<?x1x8x128xbf16>,
                 %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x128xbf16> {
  %o = ds.dense_decode %q, %k, %v, %pt, %sl {scale = 0.125 : f32}
     : (tensor<?x32x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}

// Sparse decode keeps indices, log-weights, granularity, soft cap and dense_below.
// CHECK-LABEL: func.func @sparse
// CHECK: %[[ACC:.+]], %[[ML:.+]] = ds.decode_partial {{.*}} indices %[[IDX:[^ ]+]] weights %[[W:[^ ]+]] {config = {{.*}}, dense_below = 512 : i64, granularity = #ds.granularity<page>, scale = 1.250000e-01 : f32, soft_cap = 3.000000e+01 : f32}
// CHECK: ds.decode_merge %[[ACC]], %[[ML]]
func.func @sparse(%q: tensor<4x32x64xf16>, %k: tensor<?x16x8x64xf16>, %v: tensor<?x16x8x64xf16>, %pt: tensor<4x?xi32>,
                  %sl: tensor<4xi32>, %idx: tensor<4x8x32xi32>, %w: tensor<4x8x32xf32>) -> tensor<4x32x64xf16> {
  %o = ds.sparse_decode %q, %k, %v, %pt, %sl, %idx, %w {scale = 0.125 : f32, soft_cap = 30.0 : f32, granularity = #ds.granularity<page>, dense_below = 512 : i64}
     : (tensor<4x32x64xf16>, tensor<?x16x8x64xf16>, tensor<?x16x8x64xf16>, tensor<4x?xi32>, tensor<4xi32>, tensor<4x8x32xi32>, tensor<4x8x32xf32>) -> tensor<4x32x64xf16>
  return %o : tensor<4x32x64xf16>
}
