// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1})' | FileCheck %s
// RUN: ds-opt %s --ds-to-ptx | FileCheck %s --check-prefix=PTX

// topk: one CTA of 1024 threads per row, radix select with 3 digit passes (12, 10, 10 bits):
// a shared histogram zeroed and filled with atomics, a block-wide suffix scan, then the final
// write pass with shared counters.

// CHECK-LABEL: ds.plan @sel
// CHECK-SAME: "result0 out i32 align=16 scores_d0 32 256"
// CHECK: ds.launch @ds_kernels::@sel_topk_0 {block = array<i64: 1024, 1, 1>, grid = ["(scores_d0)*(32)", "1", "1"]
// CHECK-SAME: "i64 32", "i64 scores_d2"], smem = "0"
func.func @sel(%s: tensor<?x32x?xf32> {ds.name = "scores"}, %sl: tensor<?xi32> {ds.name = "seq_lens"}) -> tensor<?x32x256xi32> {
  %i = ds.topk %s, %sl {k = 256 : i64, keep_last}
     : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x32x256xi32>
  return %i : tensor<?x32x256xi32>
}

// k = 1 with keep_last selects nothing: only the short-row path and the last index remain.
// CHECK-LABEL: ds.plan @last
// CHECK: ds.launch @ds_kernels::@last_topk_0 
func.func @last(%s: tensor<?x8x4096xf32> {ds.name = "scores"}, %sl: tensor<?xi32> {ds.name = "seq_lens"}) -> tensor<?x8x1xi32> {
  %i = ds.topk %s, %sl {k = 1 : i64, keep_last, divisor = 16 : i64}
     : (tensor<?x8x4096xf32>, tensor<?xi32>) -> tensor<?x8x1xi32>
  return %i : tensor<?x8x1xi32>
}

// CHECK: gpu.func @sel_topk_0(%{{.*}}: memref<281474976710656xf32>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: i64, %{{.*}}: i64)
// CHECK-SAME: workgroup(%[[HIST:.*]] : memref<4096xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[WS:.*]] : memref<32xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[MISC:.*]] : memref<5xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK-SAME: known_block_size = array<i32: 1024, 1, 1>
// Short rows: 0..n-1 then -1.
// CHECK: scf.if
// CHECK: arith.select {{.*}}, %c-1_i32
// CHECK: } else {
// Three digit passes.
// CHECK: memref.store %{{.*}}, %[[HIST]]
// CHECK: gpu.barrier
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[HIST]]
// CHECK: gpu.barrier
// CHECK-COUNT-5: gpu.shuffle  up
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[MISC]]
// CHECK: gpu.barrier
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[HIST]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[HIST]]
// Final pass: > T and == T counters.
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[MISC]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[MISC]]
// CHECK: gpu.return

// CHECK: gpu.func @last_topk_0
// CHECK-NOT: memref.atomic_rmw
// CHECK: gpu.return

// PTX: gpu.binary @ds_kernels
// PTX-SAME: sel_topk_0
// PTX-SAME: last_topk_0
