// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1})' | FileCheck %s
// Kernel names start with their function's name. A name that another function's kernel already
// holds takes the next number: @f's score_topk and @f_score's topk would both be f_score_topk_0
// (the pass reported a redefinition of that symbol).

// CHECK-LABEL: ds.plan @f
// CHECK: ds.launch @ds_kernels::@f_score_topk_0
func.func @f(%ql: tensor<?x32x16xbf16>, %cache: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x256xi32> {
  %a = ds.label_score %ql, %cache, %pt, %sl {page_size = 16 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>}
     : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  %i = ds.topk %a, %sl {k = 256 : i64} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x256xi32>
  return %i : tensor<?x8x256xi32>
}

// CHECK-LABEL: ds.plan @f_score
// CHECK-NEXT: ds.launch @ds_kernels::@f_score_topk_{{[1-9][0-9]*}} {
func.func @f_score(%s: tensor<?x8x?xf32>, %sl: tensor<?xi32>) -> tensor<?x8x256xi32> {
  %i = ds.topk %s, %sl {k = 256 : i64} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x256xi32>
  return %i : tensor<?x8x256xi32>
}
