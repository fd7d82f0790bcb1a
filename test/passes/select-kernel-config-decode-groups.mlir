// RUN: ds-opt %s --ds-select-kernel-config="chip=sm_90a sm-count=132" | FileCheck %s
// The chosen configs parse back and are chosen again unchanged:
// RUN: ds-opt %s --ds-select-kernel-config="chip=sm_90a sm-count=132" | ds-opt --ds-select-kernel-config="chip=sm_90a sm-count=132" | FileCheck %s

// A GQA group whose warp states do not fit a CTA's 48 KB of static shared memory is walked by
// several CTAs: 16 heads of 128 dims (Llama-3.1-405B at TP = 8) by two CTAs of 8 heads on the
// tensor-core loop; 16 heads of 256 dims (no tensor-core loop) by four CTAs of 4 heads on the
// FMA loop (4 x 8 x 258 floats), 2 steps in flight as for any 3-4 heads.
// CHECK-LABEL: func.func @group16_d128
// CHECK: ds.dense_decode {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 33, stages = 2, vector_width = 8, variant = "mma", heads = 8>
func.func @group16_d128(%q: tensor<?x16x128xbf16>, %k: tensor<?x16x1x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x16x128xbf16> {
  %o = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.088 : f32}
      : (tensor<?x16x128xbf16>, tensor<?x16x1x128xbf16>, tensor<?x16x1x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x16x128xbf16>
  return %o : tensor<?x16x128xbf16>
}
// CHECK-LABEL: func.func @group16_d256
// CHECK: ds.dense_decode {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 33, stages = 2, vector_width = 8, heads = 4>
func.func @group16_d256(%q: tensor<?x16x256xbf16>, %k: tensor<?x16x1x256xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x16x256xbf16> {
  %o = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.088 : f32}
      : (tensor<?x16x256xbf16>, tensor<?x16x1x256xbf16>, tensor<?x16x1x256xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x16x256xbf16>
  return %o : tensor<?x16x256xbf16>
}
// A group that fits keeps one CTA: 4 heads of 256 dims (33 KB).
// CHECK-LABEL: func.func @group4_d256
// CHECK: ds.dense_decode {{.*}}config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 33, stages = 2, vector_width = 8, heads = 4>
func.func @group4_d256(%q: tensor<?x32x256xbf16>, %k: tensor<?x16x8x256xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x256xbf16> {
  %o = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.088 : f32}
      : (tensor<?x32x256xbf16>, tensor<?x16x8x256xbf16>, tensor<?x16x8x256xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x256xbf16>
  return %o : tensor<?x32x256xbf16>
}

// An int4 label cache with 32 labels a row: one 16-byte load holds all 32 (vector_width = 32,
// which the attribute accepts and so parses back).
// CHECK-LABEL: func.func @int4_labels
// CHECK: ds.label_score {{.*}}vector_width = 32
func.func @int4_labels(%ql: tensor<?x32x32xbf16>, %cache: tensor<32x?x4xi32>, %scales: tensor<32x?xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x?xf32> {
  %a = ds.label_score %ql, %cache scales(%scales), %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32}
      : (tensor<?x32x32xbf16>, tensor<32x?x4xi32>, tensor<32x?xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x?xf32>
  return %a : tensor<?x32x?xf32>
}
