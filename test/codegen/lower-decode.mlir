// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1})' | FileCheck %s
// RUN: ds-opt %s --ds-to-ptx | FileCheck %s --check-prefix=PTX
// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1 chip=sm_80 sm-count=108})' | FileCheck %s --check-prefix=SM80

// Dense decode, GQA 32/8: one partial kernel (8 warps) whose CTAs walk a kv head for its 4 query
// heads, then the merge; the split count is a plan symbol chosen from the batch at launch (about
// 2 CTAs per SM). With one split the partial kernel writes o itself (its last buffer parameter)
// and the merge's grid is 0: not launched. On sm_90 (the default target) the partial kernel is
// the "cluster" variant: a row's 2 to 8 splits are launched as one thread-block cluster
// (1, splits, 1) whose first CTA merges them, so the merge kernel runs only above 8 splits.
// CHECK-LABEL: ds.plan @dense
// CHECK-SAME: symbols = [{{.*}}"splits{{[0-9]+}} expr max(1,min(max(1,min(264,264/(q_d0*8))),cdiv(arg3_d1*16,64)))"
// CHECK-SAME: "chunk{{[0-9]+}} expr
// CHECK-SAME: "[[CLUSTER:cluster[0-9]+]] expr (min(max(9-[[SPLITS:splits[0-9]+]],0),1)*([[SPLITS]]-1))+1"
// CHECK: ds.launch @ds_kernels::@dense_decode_partial_{{[0-9]+}} {block = array<i64: 256, 1, 1>, cluster = ["1", "[[CLUSTER]]", "1"], grid = ["(q_d0)*8", "[[SPLITS]]", "1"]
// The kernel ABI: one bare pointer per buffer (the o output, argument 5), then scalars.
// CHECK-SAME: "ptr arg 4", "ptr ws 0", "ptr ws {{[^"]+}}", "ptr arg 5", "i64 {{[a-z0-9_]+}}", "i64 {{[a-z0-9_]+}}", "i64 chunk{{[0-9]+}}", "i64 [[SPLITS]]", "i64 [[CLUSTER]]"]
// CHECK: ds.launch @ds_kernels::@dense_decode_merge_{{[0-9]+}} {block = array<i64: 128, 1, 1>, grid = ["cdiv((q_d0)*32,4)*min(max([[SPLITS]]-8,0),1)", "1", "1"]
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
// The cluster variant: every CTA arrives at entry, waits before its remote stores into the first
// CTA's shared memory, releases them; the first CTA acquires and merges.
// PTX-SAME: barrier.cluster.arrive.relaxed.aligned
// PTX-SAME: ld.global.v4
// PTX-SAME: ex2.approx.ftz.f32
// PTX-SAME: barrier.cluster.wait.aligned
// PTX-SAME: mapa.shared::cluster.u64
// PTX-SAME: st.shared::cluster.b32
// PTX-SAME: barrier.cluster.arrive.aligned
// PTX-SAME: barrier.cluster.wait.aligned

// Without clusters (sm_80): no cluster launch, the merge kernel merges every row of 2+ splits.
// SM80-LABEL: ds.plan @dense
// SM80-NOT: cluster
// SM80: ds.launch @ds_kernels::@dense_decode_partial_{{[0-9]+}} {block = array<i64: 256, 1, 1>, grid = ["(q_d0)*8", "[[SPLITS:splits[0-9]+]]", "1"]
// SM80: ds.launch @ds_kernels::@dense_decode_merge_{{[0-9]+}} {block = array<i64: 128, 1, 1>, grid = ["cdiv((q_d0)*32,4)*min(max([[SPLITS]]-1,0),1)", "1", "1"]

