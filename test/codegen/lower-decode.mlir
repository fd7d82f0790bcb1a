// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1})' | FileCheck %s
// RUN: ds-opt %s --ds-to-ptx | FileCheck %s --check-prefix=PTX

// Dense decode, GQA 32/8: one partial kernel (4 warps, the tensor-core loop) whose CTAs walk a kv
// head for its 4 query heads, then the merge; the split count is a plan symbol chosen from the batch at launch (about
// 2 CTAs per SM). With one split the partial kernel writes o itself (its last buffer parameter)
// and the merge's grid is 0: not launched.
// CHECK-LABEL: ds.plan @dense
// CHECK-SAME: symbols = [{{.*}}"splits{{[0-9]+}} expr max(1,min(max(1,min(264,264/max(1,q_d0*8))),cdiv(arg3_d1*16,64)))"
// CHECK-SAME: "chunk{{[0-9]+}} expr
// CHECK: ds.launch @ds_kernels::@dense_decode_partial_{{[0-9]+}} {block = array<i64: 128, 1, 1>, grid = ["(q_d0)*8", "splits{{[0-9]+}}", "1"]
// The kernel ABI: one bare pointer per buffer (the o output, argument 5), then scalars.
// CHECK-SAME: "ptr arg 4", "ptr ws 0", "ptr ws {{[^"]+}}", "ptr arg 5", "i64 {{[a-z0-9_]+}}", "i64 {{[a-z0-9_]+}}", "i64 chunk{{[0-9]+}}", "i64 splits{{[0-9]+}}"]
// CHECK: ds.launch @ds_kernels::@dense_decode_merge_{{[0-9]+}} {block = array<i64: 128, 1, 1>, grid = ["cdiv((q_d0)*32,4)*min(max(splits{{[0-9]+}}-1,0),1)", "1", "1"]
func.func @dense(%q: tensor<?x32x128xbf16> {ds.name = "q"}, %k: tensor<?x16x8x128xbf16>, %v: tensor<?x16x8x128xbf16>,
                 %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x128xbf16> {
  %o = ds.dense_decode %q, %k, %v, %pt, %sl {scale = 0.0883883461 : f32}
     : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}

// Sparse decode over a per-head selection with log-weights and a soft cap: the chunk's rows are
// resolved into shared memory first (a workgroup buffer of i32 and one of f32 weights).
// CHECK-LABEL: ds.plan @sparse
// CHECK-LABEL: gpu.module @ds_kernels
// CHECK: gpu.func @dense_decode_partial_{{[0-9]+}}
// CHECK-COUNT-8: vector.load %arg{{[12]}}[{{.*}}] {alignment = 16 : i64} : memref<281474976710656xbf16>, vector<8xbf16>
// CHECK: gpu.barrier
// CHECK: gpu.func @dense_decode_merge_{{[0-9]+}}
// CHECK: gpu.func @sparse_decode_partial_{{[0-9]+}}({{.*}}) workgroup(%{{.*}} : memref<2048xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<2048xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"
// CHECK: gpu.shuffle  xor
// CHECK: gpu.func @sparse_decode_merge_{{[0-9]+}}
func.func @sparse(%q: tensor<?x32x64xf16>, %k: tensor<?x1x8x64xf16>, %v: tensor<?x1x8x64xf16>,
                  %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %idx: tensor<?x32x256xi32>, %w: tensor<?x32x256xf32>) -> tensor<?x32x64xf16> {
  %o = ds.sparse_decode %q, %k, %v, %pt, %sl, %idx, %w {scale = 0.125 : f32, soft_cap = 30.0 : f32}
     : (tensor<?x32x64xf16>, tensor<?x1x8x64xf16>, tensor<?x1x8x64xf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x256xi32>, tensor<?x32x256xf32>) -> tensor<?x32x64xf16>
  return %o : tensor<?x32x64xf16>
}

// PTX: gpu.binary @ds_kernels
// PTX-SAME: dense_decode_partial
// PTX-SAME: ld.global.v4
// PTX-SAME: ex2.approx.ftz.f32

