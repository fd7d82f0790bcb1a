// RUN: ds-opt %s --ds-select-kernel-config | FileCheck %s
// page_score's config: 16-byte vectors; the rows of a group of 2 to 4 heads take 4 warps compiled
// for 6 CTAs per SM (a register cap without spills); one-head rows and groups of 8 take 8 warps
// without a cap.

// CHECK-LABEL: func.func @group4
// CHECK: ds.page_score {{.*}}config = #ds.kernel_config<block_tokens = 1, warps = 4, splits = 1, stages = 4, vector_width = 8, occupancy = 6>
func.func @group4(%q: tensor<?x32x128xbf16>, %mn: tensor<?x8x128xbf16>, %mx: tensor<?x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x?xf32> {
  %u = ds.page_score %q, %mn, %mx, %pt, %sl {page_size = 16 : i64, group_reduce = #ds.group_reduce<sum>}
      : (tensor<?x32x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return %u : tensor<?x8x?xf32>
}

// CHECK-LABEL: func.func @group8
// CHECK: ds.page_score {{.*}}config = #ds.kernel_config<block_tokens = 1, warps = 8, splits = 1, stages = 4, vector_width = 8>
func.func @group8(%q: tensor<?x32x128xf16>, %mn: tensor<?x4x128xf16>, %mx: tensor<?x4x128xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x4x?xf32> {
  %u = ds.page_score %q, %mn, %mx, %pt, %sl {page_size = 16 : i64, group_reduce = #ds.group_reduce<max>}
      : (tensor<?x32x128xf16>, tensor<?x4x128xf16>, tensor<?x4x128xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x4x?xf32>
  return %u : tensor<?x4x?xf32>
}

// CHECK-LABEL: func.func @one_head
// CHECK: ds.page_score {{.*}}config = #ds.kernel_config<block_tokens = 1, warps = 8, splits = 1, stages = 4, vector_width = 8>
func.func @one_head(%q: tensor<?x32x128xbf16>, %mn: tensor<?x32x128xbf16>, %mx: tensor<?x32x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x?xf32> {
  %u = ds.page_score %q, %mn, %mx, %pt, %sl {page_size = 16 : i64}
      : (tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x?xf32>
  return %u : tensor<?x32x?xf32>
}
