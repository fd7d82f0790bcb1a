// RUN: ds-opt %s -split-input-file --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1})' | FileCheck %s
// A decode_partial whose partials are the function's results (no decode_merge): the kernel always
// writes the partials (its o parameter is a placeholder, never written), and no merge is built.
// CHECK-LABEL: ds.plan @partials_only
// CHECK-SAME: "result0 out f32 align=16 2 8 splits{{[0-9]+}} 128", "result1 out f32 align=16 2 8 splits{{[0-9]+}} 2"
// CHECK: ds.launch @ds_kernels::@partials_only_decode_partial_{{[0-9]+}} 
// CHECK-NOT: decode_merge
// CHECK: gpu.func @partials_only_decode_partial_{{[0-9]+}}
// CHECK: arith.constant false
// CHECK-NOT: gpu.func @partials_only_decode_merge
func.func @partials_only(%q: tensor<2x8x128xf16>, %k: tensor<?x16x8x128xf16>, %v: tensor<?x16x8x128xf16>, %pt: tensor<2x?xi32>, %sl: tensor<2xi32>)
    -> (tensor<2x8x?x128xf32>, tensor<2x8x?x2xf32>) {
  %acc, %ml = ds.decode_partial %q, %k, %v, %pt, %sl {scale = 0.088 : f32}
      : tensor<2x8x128xf16>, tensor<?x16x8x128xf16>, tensor<?x16x8x128xf16>, tensor<2x?xi32>, tensor<2xi32> -> tensor<2x8x?x128xf32>, tensor<2x8x?x2xf32>
  return %acc, %ml : tensor<2x8x?x128xf32>, tensor<2x8x?x2xf32>
}

// -----

// A selection shared by the GQA group, walked 2 heads to a CTA (`heads = 2`; the config pass
// chooses the whole group of 4): 16 CTA rows per request instead of 8, each reading its kv head's
// selection row.
// CHECK-LABEL: ds.plan @shared_two_heads
// CHECK: ds.launch @ds_kernels::@shared_two_heads_decode_partial_{{[0-9]+}} {block = array<i64: 256, 1, 1>, grid = ["(q_d0)*16", "splits{{[0-9]+}}", "1"]
func.func @shared_two_heads(%q: tensor<?x32x128xbf16> {ds.name = "q"}, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>,
                            %idx: tensor<?x8x16xi32>) -> tensor<?x32x128xbf16> {
  %o = ds.sparse_decode %q, %k, %k, %pt, %sl, %idx
      {scale = 0.088 : f32, granularity = #ds.granularity<page>,
       config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 33, stages = 4, vector_width = 8, heads = 2>}
      : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x8x16xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}

// -----

// The tensor-core loop (the config pass's choice for this group of 4 at d = 128): 4 warps, and
// per 16-position step two n-tiles of S = Q Kᵀ (8 k-steps each) and 16 n-tiles of O += P V with
// P's high and low parts (48 mma.sync m16n8k16 on bf16).
// CHECK-LABEL: ds.plan @shared_mma
// CHECK: ds.launch @ds_kernels::@shared_mma_decode_partial_{{[0-9]+}} {block = array<i64: 128, 1, 1>, grid = ["(q_d0)*8", "splits{{[0-9]+}}", "1"]
// CHECK: gpu.func @shared_mma_decode_partial_{{[0-9]+}}
// CHECK-COUNT-48: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.return
func.func @shared_mma(%q: tensor<?x32x128xbf16> {ds.name = "q"}, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>,
                      %idx: tensor<?x8x16xi32>) -> tensor<?x32x128xbf16> {
  %o = ds.sparse_decode %q, %k, %k, %pt, %sl, %idx {scale = 0.088 : f32, granularity = #ds.granularity<page>}
      : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x8x16xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}
