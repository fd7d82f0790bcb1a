// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1})' | FileCheck %s
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
