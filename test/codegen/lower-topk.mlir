// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1})' | FileCheck %s
// RUN: ds-opt %s --ds-to-ptx | FileCheck %s --check-prefix=PTX

// topk on sm_90 (the config pass's choice): one CTA of 512 threads per row (radix select with
// digits of 12, 10, 10 bits: a shared histogram zeroed and filled with atomics, a block-wide
// suffix scan, then the write pass with shared counters); with N >= 16384 that kernel first
// tries one pass over the row with a threshold from a sample, else two passes over the row;
// few long rows (16384 < N <= 2 * 32768 and B * H * 2 <= 132 SMs) split over a cluster of 2
// CTAs of 1024 threads (`cluster_warps`), each holding half the row as keys in dynamic shared
// memory and summing the cluster's digit counts through distributed shared memory. With a
// dynamic B and N the plan holds the three kernels and gates their grids.

// CHECK-LABEL: ds.plan @sel
// CHECK-SAME: "result0 out i32 align=16 scores_d0 32 256"
// CHECK: ds.launch @ds_kernels::@sel_topk_0 {block = array<i64: 1024, 1, 1>, grid = ["((scores_d0*32)*2)*((min(max(133-((scores_d0*32)*2),0),1)*min(max(65537-scores_d2,0),1))*min(max(scores_d2-16384,0),1))", "1", "1"]
// CHECK-SAME: "i64 32", "i64 scores_d2"], smem = "4*min(cdiv(scores_d2,2),32768)"
// CHECK: ds.launch @ds_kernels::@sel_topk_1 {block = array<i64: 512, 1, 1>, grid = ["(scores_d0*32)*((1-((min(max(133-((scores_d0*32)*2),0),1)*min(max(65537-scores_d2,0),1))*min(max(scores_d2-16384,0),1)))*min(max(scores_d2-16383,0),1))", "1", "1"]
// CHECK-SAME: programmatic, smem = "8*min(scores_d2,8192)"
// CHECK: ds.launch @ds_kernels::@sel_topk_2 {block = array<i64: 512, 1, 1>, grid = ["(scores_d0*32)*((1-((min(max(133-((scores_d0*32)*2),0),1)*min(max(65537-scores_d2,0),1))*min(max(scores_d2-16384,0),1)))*(1-min(max(scores_d2-16383,0),1)))", "1", "1"]
// CHECK-SAME: programmatic, smem = "8*min(scores_d2,8192)"
func.func @sel(%s: tensor<?x32x?xf32> {ds.name = "scores"}, %sl: tensor<?xi32> {ds.name = "seq_lens"}) -> tensor<?x32x256xi32> {
  %i = ds.topk %s, %sl {k = 256 : i64, keep_last}
     : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x32x256xi32>
  return %i : tensor<?x32x256xi32>
}

// A static N of at most 16384 builds only the one-CTA kernel. k = 1 with keep_last selects
// nothing: only the short-row path and the last index remain.
// CHECK-LABEL: ds.plan @last
// CHECK: ds.launch @ds_kernels::@last_topk_0 {block = array<i64: 512, 1, 1>, grid = ["scores_d0*8", "1", "1"]
// CHECK-SAME: smem = "32768"
// CHECK-NOT: ds.launch
func.func @last(%s: tensor<?x8x4096xf32> {ds.name = "scores"}, %sl: tensor<?xi32> {ds.name = "seq_lens"}) -> tensor<?x8x1xi32> {
  %i = ds.topk %s, %sl {k = 1 : i64, keep_last, divisor = 16 : i64}
     : (tensor<?x8x4096xf32>, tensor<?xi32>) -> tensor<?x8x1xi32>
  return %i : tensor<?x8x1xi32>
}

// A static N of 65536 with a cluster of 4 CTAs of 16384 keys and 16 warps (a config given in
// the IR): the cluster kernel for few rows (8 * B * 4 <= 132), the one-CTA kernel of 8 warps for
// the others (only its sampling form: N >= 16384).
// CHECK-LABEL: ds.plan @four
// CHECK: ds.launch @ds_kernels::@four_topk_0 {block = array<i64: 512, 1, 1>, grid = ["((scores_d0*8)*4)*min(max(133-((scores_d0*8)*4),0),1)", "1", "1"]
// CHECK-SAME: smem = "65536"
// CHECK: ds.launch @ds_kernels::@four_topk_1 {block = array<i64: 256, 1, 1>
// CHECK-NOT: ds.launch
func.func @four(%s: tensor<?x8x65536xf32> {ds.name = "scores"}, %sl: tensor<?xi32> {ds.name = "seq_lens"}) -> tensor<?x8x1024xi32> {
  %i = ds.topk %s, %sl {k = 1024 : i64, config = #ds.kernel_config<block_tokens = 16384, warps = 8, splits = 4, stages = 8, vector_width = 1, occupancy = 2, cluster_warps = 16>}
     : (tensor<?x8x65536xf32>, tensor<?xi32>) -> tensor<?x8x1024xi32>
  return %i : tensor<?x8x1024xi32>
}

// A config of one CTA per row builds the one-CTA kernels only (sampling for N >= 16384, two
// passes below), with its warps.
// CHECK-LABEL: ds.plan @one
// CHECK: ds.launch @ds_kernels::@one_topk_0 {block = array<i64: 1024, 1, 1>, grid = ["(scores_d0*32)*min(max(scores_d2-16383,0),1)", "1", "1"]
// CHECK-SAME: smem = "8*min(scores_d2,8192)"
// CHECK: ds.launch @ds_kernels::@one_topk_1 {block = array<i64: 1024, 1, 1>, grid = ["(scores_d0*32)*(1-min(max(scores_d2-16383,0),1))", "1", "1"]
// CHECK-NOT: ds.launch
func.func @one(%s: tensor<?x32x?xf32> {ds.name = "scores"}, %sl: tensor<?xi32> {ds.name = "seq_lens"}) -> tensor<?x32x256xi32> {
  %i = ds.topk %s, %sl {k = 256 : i64, config = #ds.kernel_config<block_tokens = 1, warps = 32, splits = 1, stages = 1, vector_width = 1>}
     : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x32x256xi32>
  return %i : tensor<?x32x256xi32>
}

// The cluster kernel: the CTA counts digit 1 in the select's histogram, digits 2 and 3 in two
// more, with their sums by groups of 64 / 32 bins; 2 CTAs per cluster.
// CHECK: gpu.func @sel_topk_0(
// CHECK-SAME: workgroup(%[[C1:[^ ]*]] : memref<4096xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{[^ ]*}} : memref<32xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[MISC:[^ ]*]] : memref<5xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[C2:[^ ]*]] : memref<1024xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[C3:[^ ]*]] : memref<1024xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[G1:[^ ]*]] : memref<64xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[G2:[^ ]*]] : memref<32xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[G3:[^ ]*]] : memref<32xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[LOCAL:[^ ]*]] : memref<4xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK-SAME: known_block_size = array<i32: 1024, 1, 1>, nvvm.cluster_dim = array<i32: 2, 1, 1>
// Pass 1: the slice's scores loaded once, stored as keys, digit 1 counted.
// CHECK: memref.load %arg0
// CHECK: memref.store %{{.*}}, %[[KEYS:[^ ]*]][
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[C1]]
// Each digit: the group sums, a cluster barrier, then the first warp sums the 4 CTAs' group
// sums and the chosen group's bins through distributed shared memory (2 CTAs).
// CHECK: memref.store %{{.*}}, %[[G1]]
// CHECK: nvvm.cluster.arrive {aligned}
// CHECK-NEXT: nvvm.cluster.wait {aligned}
// CHECK-COUNT-2: nvvm.mapa %{{.*}} : !llvm.ptr<3> -> !llvm.ptr<7>
// CHECK: llvm.load %{{.*}} : !llvm.ptr<7> -> i32
// CHECK: gpu.shuffle  xor
// CHECK-COUNT-2: nvvm.mapa %{{.*}} : !llvm.ptr<3> -> !llvm.ptr<7>
// CHECK: memref.store %{{.*}}, %[[MISC]]
// Digit 2 from the keys in shared memory.
// CHECK: memref.load %[[KEYS]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[C2]]
// CHECK: memref.store %{{.*}}, %[[G2]]
// CHECK: nvvm.cluster.arrive {aligned}
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[C3]]
// CHECK: memref.store %{{.*}}, %[[G3]]
// CHECK: nvvm.cluster.arrive {aligned}
// The write pass: the CTA's keys above T and ties counted, one range of each reserved in the
// first CTA's counters, slots from local counters; then the last cluster barrier.
// CHECK: nvvm.mapa %{{.*}}, %c0_i32{{.*}} : !llvm.ptr<3> -> !llvm.ptr<7>
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[LOCAL]]
// CHECK: llvm.atomicrmw add %{{.*}} monotonic : !llvm.ptr<7>, i32
// CHECK: llvm.atomicrmw add %{{.*}} monotonic : !llvm.ptr<7>, i32
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[LOCAL]]
// CHECK: nvvm.cluster.arrive {aligned}
// CHECK-NEXT: nvvm.cluster.wait {aligned}
// CHECK-NOT: nvvm.cluster
// CHECK: gpu.return

// The one-CTA kernel of rows of N >= 16384: a threshold from a sample of the row, one pass
// over the row listing the keys at or above it, the select on the list; the two passes when
// that fails.
// CHECK: gpu.func @sel_topk_1(%{{.*}}: memref<281474976710656xf32>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: i64, %{{.*}}: i64)
// CHECK-SAME: workgroup(%[[SHIST:.*]] : memref<4096xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<16xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[SMISC:.*]] : memref<5xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK: %[[SLIST:.*]] = memref.view {{.*}} to memref<?xi32, #gpu.address_space<workgroup>>
// The sample: 16-byte loads, the top digit counted, the keys kept in the list's memory.
// CHECK: vector.load %arg0[%{{.*}}] {alignment = 16 : i64} : memref<281474976710656xf32>, vector<4xf32>
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[SHIST]]
// CHECK: memref.store %{{.*}}, %[[SLIST]]
// Digit 2 of the sample.
// CHECK: memref.load %[[SLIST]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[SHIST]]
// The pass over the row: 4 vector loads in flight per thread; the warp's kept keys counted by
// a scan, one update of the list counter per warp (lane 31's atomic, broadcast), each kept key
// and its position listed.
// CHECK-COUNT-4: vector.load %arg0
// CHECK-COUNT-5: gpu.shuffle  up
// CHECK: gpu.shuffle  idx
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[SMISC]]
// CHECK: gpu.shuffle  idx
// CHECK: memref.store %{{.*}}, %[[SLIST]]
// CHECK: memref.store %{{.*}}, %[[SLIST]]
// The three digits and the write pass over the list.
// CHECK: memref.load %[[SLIST]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[SHIST]]
// CHECK: memref.load %[[SLIST]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[SMISC]]
// The fallback: the two passes over the row.
// CHECK: gpu.barrier
// CHECK: memref.load %arg0
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[SHIST]]
// CHECK-NOT: nvvm.cluster
// CHECK: gpu.return

// The one-CTA kernel of rows of N < 16384: two passes over the row.
// CHECK: gpu.func @sel_topk_2(%{{.*}}: memref<281474976710656xf32>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: i64, %{{.*}}: i64)
// CHECK-SAME: workgroup(%[[HIST1:.*]] : memref<4096xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[WS:.*]] : memref<16xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[MISC1:.*]] : memref<5xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK-SAME: known_block_size = array<i32: 512, 1, 1>
// CHECK-NOT: nvvm.cluster_dim
// The candidate list in dynamic shared memory.
// CHECK: %[[LIST:.*]] = memref.view {{.*}} to memref<?xi32, #gpu.address_space<workgroup>>
// Short rows: 0..n-1 then -1.
// CHECK: scf.if
// CHECK: arith.select {{.*}}, %c-1_i32
// CHECK: } else {
// First pass over the row: the top digit counted.
// CHECK: memref.store %{{.*}}, %[[HIST1]]
// CHECK: gpu.barrier
// CHECK: memref.load %arg0
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[HIST1]]
// CHECK: gpu.barrier
// CHECK-COUNT-5: gpu.shuffle  up
// Second pass: keys above the bucket written, the bucket counted by digit 2 and listed.
// CHECK: memref.load %arg0
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[MISC1]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[HIST1]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[MISC1]]
// CHECK: memref.store %{{.*}}, %[[LIST]]
// CHECK: memref.store %{{.*}}, %[[LIST]]
// Digit 3 and the final pass over the list (or over the row when it overflowed).
// CHECK: memref.load %[[LIST]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[HIST1]]
// CHECK: memref.load %arg0
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[HIST1]]
// CHECK: memref.load %[[LIST]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[MISC1]]
// CHECK-NOT: nvvm.cluster
// CHECK: gpu.return

// CHECK: gpu.func @last_topk_0
// CHECK-NOT: nvvm.cluster
// CHECK-NOT: memref.atomic_rmw
// CHECK: gpu.return

// CHECK: gpu.func @four_topk_0
// CHECK-SAME: known_block_size = array<i32: 512, 1, 1>, nvvm.cluster_dim = array<i32: 4, 1, 1>, nvvm.minctasm = 2 : i32
// CHECK-COUNT-4: nvvm.mapa
// CHECK: gpu.return
// The sampling one-CTA kernel, `warps` (8) apart from the cluster's `cluster_warps` (16): at
// most 512 threads are capped for two CTAs per SM.
// CHECK: gpu.func @four_topk_1
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>, nvvm.minctasm = 2 : i32
// CHECK: vector.load %arg0
// CHECK: gpu.return

// CHECK: gpu.func @one_topk_0
// CHECK-SAME: known_block_size = array<i32: 1024, 1, 1>
// CHECK-NOT: nvvm.cluster
// CHECK: gpu.return

// PTX: gpu.binary @ds_kernels
// PTX-SAME: .entry sel_topk_0
// PTX-SAME: .reqnctapercluster 2, 1, 1
// PTX-SAME: barrier.cluster.arrive
// PTX-SAME: ld.shared::cluster.b32
// PTX-SAME: atom.shared::cluster.add.u32
// PTX-SAME: .entry sel_topk_1
// PTX-SAME: ld.global.v4
// PTX-SAME: .entry sel_topk_2
// PTX-SAME: .entry last_topk_0
// PTX-SAME: .entry four_topk_0
// PTX-SAME: .reqnctapercluster 4, 1, 1
