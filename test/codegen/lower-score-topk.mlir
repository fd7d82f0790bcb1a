// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1})' | FileCheck %s
// RUN: ds-opt %s --ds-to-ptx | FileCheck %s --check-prefix=PTX

// label_score feeding only a topk is fused (ds-fuse-score-topk) into ONE kernel, one CTA per
// (request, row): the row's scores go to dynamic shared memory (4 * min(N, 49152) bytes, N =
// max_pages * P, then a 16 KB candidate list) while the first radix digit is counted, and the
// select reads them back from there (one pass over the row, then the list); or, sampled, the
// keys at or above a threshold from a sample of the row are listed while scoring and the select
// finishes on the list. With k <= 2048 no variant needs a workspace (sized 0); see
// @large_k.

// CHECK-LABEL: ds.plan @pair
// CHECK-SAME: "result0 out i32 align=16 q_label_d0 8 256"
// CHECK-SAME: workspace = "(0)+cdiv(4*(0),256)*256"
// Five variants, the plan launching exactly one: on sm_90 few long rows (B * rows * 2 <= 132
// SMs, 8192 < N <= 2 * 49152) run on clusters of 2 CTAs of 1024 threads, each keeping its half
// of the row as keys in 4 * cdiv(N, 2) bytes; for N >= 49152 in a kernel that samples first (the
// sample's 16 KB and a 64 KB list, in the same memory; its rows shorter than 49152 and the rows
// the sample cannot decide keep their keys); else with B * rows >= 128, 512 threads (two CTAs per
// SM) keeping the scores when N <= 16384, sampled (a 64 KB list and an 8 KB entry ring, or rows
// of up to 12288 to score kept) when longer; else 1024 threads sampled (a 16 KB ring, or rows of
// up to 16384 kept).
// CHECK: ds.launch @ds_kernels::@pair_score_topk_0 {block = array<i64: 1024, 1, 1>, grid = ["((q_label_d0*8)*2)*(((min(max(133-((q_label_d0*8)*2),0),1)*min(max(98305-(page_table_d1*16),0),1))*min(max((page_table_d1*16)-8192,0),1))*(1-min(max((page_table_d1*16)-49151,0),1)))", "1", "1"]
// CHECK-SAME: smem = "4*min(cdiv((page_table_d1)*16,2),49152)"}
// CHECK: ds.launch @ds_kernels::@pair_score_topk_1 {block = array<i64: 1024, 1, 1>, grid = ["((q_label_d0*8)*2)*(((min(max(133-((q_label_d0*8)*2),0),1)*min(max(98305-(page_table_d1*16),0),1))*min(max((page_table_d1*16)-8192,0),1))*min(max((page_table_d1*16)-49151,0),1))", "1", "1"]
// CHECK-SAME: smem = "max(81920,4*min(cdiv((page_table_d1)*16,2),49152))"}
// CHECK: ds.launch @ds_kernels::@pair_score_topk_2 {block = array<i64: 512, 1, 1>, grid = ["(q_label_d0*8)*((min(max(16385-(page_table_d1*16),0),1)*min(max((q_label_d0*8)-127,0),1))*(1-((min(max(133-((q_label_d0*8)*2),0),1)*min(max(98305-(page_table_d1*16),0),1))*min(max((page_table_d1*16)-8192,0),1))))", "1", "1"]
// CHECK-SAME: "ptr arg 3", "ptr arg 4", "ptr ws 0", "i64 label_cache_d1", "i64 page_table_d1"]
// CHECK-SAME: smem = "4*min((page_table_d1)*16,49152)+16384"}
// CHECK: ds.launch @ds_kernels::@pair_score_topk_3 {block = array<i64: 512, 1, 1>, grid = ["(q_label_d0*8)*((min(max((page_table_d1*16)-16384,0),1)*min(max((q_label_d0*8)-127,0),1))*(1-((min(max(133-((q_label_d0*8)*2),0),1)*min(max(98305-(page_table_d1*16),0),1))*min(max((page_table_d1*16)-8192,0),1))))", "1", "1"]
// CHECK-SAME: smem = "max(73728,4*min((page_table_d1)*16,12288)+16384)"}
// CHECK: ds.launch @ds_kernels::@pair_score_topk_4 {block = array<i64: 1024, 1, 1>, grid = ["(q_label_d0*8)*(((1-(min(max(16385-(page_table_d1*16),0),1)*min(max((q_label_d0*8)-127,0),1)))-(min(max((page_table_d1*16)-16384,0),1)*min(max((q_label_d0*8)-127,0),1)))*(1-((min(max(133-((q_label_d0*8)*2),0),1)*min(max(98305-(page_table_d1*16),0),1))*min(max((page_table_d1*16)-8192,0),1))))", "1", "1"]
// CHECK-SAME: smem = "max(81920,4*min((page_table_d1)*16,16384)+16384)"}
// CHECK-NOT:  ds.launch
func.func @pair(%ql: tensor<?x32x16xbf16> {ds.name = "q_label"}, %cache: tensor<8x?x16xbf16> {ds.name = "label_cache"},
                %pt: tensor<?x?xi32> {ds.name = "page_table"}, %sl: tensor<?xi32> {ds.name = "seq_lens"}) -> tensor<?x8x256xi32> {
  %a = ds.label_score %ql, %cache, %pt, %sl {page_size = 16 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>}
     : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  %i = ds.topk %a, %sl {k = 256 : i64, keep_last} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x256xi32>
  return %i : tensor<?x8x256xi32>
}

// group_reduce = max with g * r = 64 floats: the query rows go to shared memory and g is a
// kernel parameter. A static page table of 64 pages of 16 (N = 1024 <= 49152): the scores are
// kept.
// Static B = 2 (16 rows) and N = 1024 (too short for a cluster): only the 1024-thread variant is
// built, keeping its scores (a static N <= block_tokens is not sampled).
// CHECK-LABEL: ds.plan @max_group
// CHECK: ds.launch @ds_kernels::@max_group_score_topk_0 {block = array<i64: 1024, 1, 1>, grid = ["16", "1", "1"]
// CHECK-SAME: "ptr ws 0", "i64 label_cache_d1", "i64 64", "i64 4"]
// CHECK-SAME: smem = "4*min((64)*16,49152)+16384"
func.func @max_group(%ql: tensor<2x32x16xf16> {ds.name = "q_label"}, %cache: tensor<8x?x16xf16> {ds.name = "label_cache"},
                     %pt: tensor<2x64xi32> {ds.name = "page_table"}, %sl: tensor<2xi32> {ds.name = "seq_lens"}) -> tensor<2x8x64xi32> {
  %i = ds.score_topk %ql, %cache, %pt, %sl {page_size = 16 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<max>, k = 64 : i64}
     : (tensor<2x32x16xf16>, tensor<8x?x16xf16>, tensor<2x64xi32>, tensor<2xi32>) -> tensor<2x8x64xi32>
  return %i : tensor<2x8x64xi32>
}

// k = 4096 > 2048: a sampled list would not hold the expected candidates (about 2 k + 256 of a
// 65536-token row), so no sampled variant: the 512-thread one keeps its scores for N <= 16384,
// the 1024-thread one for any N, beyond 49152 in a workspace of N - 49152 floats a row.
// CHECK-LABEL: ds.plan @large_k
// CHECK-SAME: workspace = "(0)+cdiv(4*((q_label_d0)*32*max((page_table_d1)*1-49152,0)),256)*256"
// CHECK: ds.launch @ds_kernels::@large_k_score_topk_0 {block = array<i64: 1024, 1, 1>
// CHECK: ds.launch @ds_kernels::@large_k_score_topk_1 {block = array<i64: 512, 1, 1>
// CHECK-SAME: smem = "4*min((page_table_d1)*1,49152)+16384"}
// CHECK: ds.launch @ds_kernels::@large_k_score_topk_2 {block = array<i64: 1024, 1, 1>, grid = ["(q_label_d0*32)*((1-(min(max(16385-page_table_d1,0),1)*min(max((q_label_d0*32)-127,0),1)))*(1-
// CHECK-SAME: smem = "4*min((page_table_d1)*1,49152)+16384"}
// CHECK-NOT:  ds.launch
func.func @large_k(%ql: tensor<?x32x16xbf16> {ds.name = "q_label"}, %cache: tensor<32x?x16xbf16> {ds.name = "label_cache"},
                   %pt: tensor<?x?xi32> {ds.name = "page_table"}, %sl: tensor<?xi32> {ds.name = "seq_lens"}) -> tensor<?x32x4096xi32> {
  %i = ds.score_topk %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, k = 4096 : i64}
     : (tensor<?x32x16xbf16>, tensor<32x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x4096xi32>
  return %i : tensor<?x32x4096xi32>
}

// k = 1 with keep_last selects nothing: no scoring, only the short-row path and the last index.
// CHECK-LABEL: ds.plan @last
// CHECK: ds.launch @ds_kernels::@last_score_topk_0 
func.func @last(%ql: tensor<?x8x16xbf16> {ds.name = "q_label"}, %cache: tensor<8x?x16xbf16> {ds.name = "label_cache"},
                %pt: tensor<?x?xi32> {ds.name = "page_table"}, %sl: tensor<?xi32> {ds.name = "seq_lens"}) -> tensor<?x8x1xi32> {
  %i = ds.score_topk %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, k = 1 : i64, keep_last}
     : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x1xi32>
  return %i : tensor<?x8x1xi32>
}

// Scores that are also returned are not fused: label_score and topk kernels as before.
// CHECK-LABEL: ds.plan @unfused
// CHECK: ds.launch @ds_kernels::@unfused_label_score_0 
// CHECK: ds.launch @ds_kernels::@unfused_topk_1 
func.func @unfused(%ql: tensor<?x8x16xbf16> {ds.name = "q_label"}, %cache: tensor<8x?x16xbf16> {ds.name = "label_cache"},
                   %pt: tensor<?x?xi32> {ds.name = "page_table"}, %sl: tensor<?xi32> {ds.name = "seq_lens"})
    -> (tensor<?x8x?xf32>, tensor<?x8x64xi32>) {
  %a = ds.label_score %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32}
     : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  %i = ds.topk %a, %sl {k = 64 : i64} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return %a, %i : tensor<?x8x?xf32>, tensor<?x8x64xi32>
}

// CHECK: gpu.module @ds_kernels
// The cluster variant: the select's counts of digits 2 and 3 and their group sums beside the
// histogram; CTA rank = block id % 2 takes positions [rank * S, (rank + 1) * S) of the row,
// S = cdiv(n_b - 1, 2) (keep_last), scores them into shared memory as keys, counts digit 1, and
// the cluster picks each digit from the counts of both CTAs (distributed shared memory).
// CHECK: gpu.func @pair_score_topk_0(
// CHECK-SAME: %[[CHIST:[^ ]*]] : memref<4096xi32, #gpu.address_space<workgroup>>
// CHECK-SAME: memref<1024xi32, #gpu.address_space<workgroup>>
// CHECK-SAME: known_block_size = array<i32: 1024, 1, 1>, nvvm.cluster_dim = array<i32: 2, 1, 1>
// CHECK: arith.remui %{{.*}}, %c2
// CHECK: %[[KEYS:.*]] = memref.view {{.*}} to memref<?xi32, #gpu.address_space<workgroup>>
// CHECK: scf.for
// CHECK: vector.fma
// CHECK: memref.store %{{.*}}, %[[KEYS]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[CHIST]]
// CHECK: nvvm.cluster.arrive
// CHECK: nvvm.mapa
// CHECK: gpu.return
// The sampled cluster kernel (k <= 2048, N >= 49152; rows of at least 49152 to score): the
// sample's 4096 keys from offset 0 of dynamic shared memory, the list after them. Each CTA
// scores its half of the sample, then (after a cluster barrier) reads the other half from the
// other CTA's shared memory; after the listing walk every thread reads both CTAs' list counts,
// and the first CTA copies the other's list (8-byte entries); where the sample cannot decide,
// the keys as in @pair_score_topk_0 (in the same memory).
// CHECK: gpu.func @pair_score_topk_1(
// CHECK-SAME: nvvm.cluster_dim = array<i32: 2, 1, 1>
// CHECK: %[[SKEYS:.*]] = memref.view {{.*}} to memref<?xi32, #gpu.address_space<workgroup>>
// CHECK: %[[SAMPLE:.*]] = memref.view %{{.*}}[%c0{{.*}}][%c4096] : {{.*}} to memref<?xi32, #gpu.address_space<workgroup>>
// CHECK: memref.view %{{.*}}[%c16384][%c16384{{.*}}] : {{.*}} to memref<?xi32, #gpu.address_space<workgroup>>
// CHECK: vector.fma
// CHECK: memref.store %{{.*}}, %[[SAMPLE]]
// CHECK: nvvm.cluster.arrive
// CHECK: nvvm.mapa
// CHECK: llvm.load %{{.*}} : !llvm.ptr<7> -> i32
// CHECK: nvvm.cluster.arrive
// CHECK: nvvm.mapa %{{.*}}, %c0_i32
// CHECK: nvvm.mapa %{{.*}}, %c1_i32
// CHECK: llvm.load %{{.*}} {alignment = 8 : i64} : !llvm.ptr<7> -> i64
// CHECK: nvvm.cluster.arrive
// CHECK: memref.store %{{.*}}, %[[SKEYS]]
// CHECK: gpu.return
// The 512-thread variant that keeps its scores, launched only for N <= 16384 (which its shared
// memory holds): no workspace path.
// CHECK: gpu.func @pair_score_topk_2(%{{.*}}: memref<281474976710656xbf16>, %{{.*}}: memref<281474976710656xbf16>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xi32>, %[[OUT:[^:]+]]: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xf32>, %{{.*}}: i64, %{{.*}}: i64)
// CHECK-SAME: workgroup(%[[HIST:.*]] : memref<4096xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<16xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[MISC:.*]] : memref<5xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK-SAME: known_block_size = array<i32: 512, 1, 1>, nvvm.minctasm = 2 : i32
// Short rows: 0..n-1 then -1, no scoring.
// CHECK: scf.if
// CHECK: arith.select {{.*}}, %c-1_i32
// CHECK: } else {
// Long rows: the group's query labels (16-byte loads), the histogram cleared, then the path.
// CHECK: vector.load %arg0[{{.*}}] {alignment = 16 : i64} : memref<281474976710656xbf16>, vector<8xbf16>
// CHECK: memref.store %{{.*}}, %[[HIST]]
// CHECK: gpu.barrier
// CHECK: %[[DYN:.*]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK: %[[ROW:.*]] = memref.view %[[DYN]][%{{.*}}][%{{.*}}] : memref<?xi8, #gpu.address_space<workgroup>> to memref<?xf32, #gpu.address_space<workgroup>>
// The candidate list follows the scores in dynamic shared memory.
// CHECK: %[[LIST:.*]] = memref.view %{{.*}}[%{{.*}}][%{{.*}}] : memref<?xi8, #gpu.address_space<workgroup>> to memref<?xi32, #gpu.address_space<workgroup>>
// Score 2 tokens per thread and step (all label loads first, in one branch), each score to
// shared memory, its first digit counted.
// CHECK: scf.for
// CHECK: memref.load %arg2
// CHECK: memref.load %arg2
// CHECK: scf.if {{.*}} -> (vector<8xbf16>, vector<8xbf16>, vector<8xbf16>, vector<8xbf16>)
// CHECK-COUNT-4: vector.load %arg1[{{.*}}] {alignment = 16 : i64} : memref<281474976710656xbf16>, vector<8xbf16>
// CHECK: } else {
// CHECK: arith.extf {{.*}} : vector<8xbf16> to vector<8xf32>
// CHECK: vector.fma
// CHECK: memref.store %{{.*}}, %[[ROW]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[HIST]]
// CHECK: memref.store %{{.*}}, %[[ROW]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[HIST]]
// The first digit's scan follows at once.
// CHECK-NOT: memref.store %{{.*}}, %[[HIST]]
// CHECK: gpu.barrier
// CHECK-COUNT-5: gpu.shuffle  up
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[MISC]]
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[HIST]]
// CHECK: gpu.barrier
// One pass over the row in shared memory: keys above the first digit's bucket go straight to
// the output; the bucket's keys are counted by digit 2 and appended (key, position) to the
// candidate list.
// CHECK: memref.load %[[ROW]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[MISC]]
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[HIST]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[MISC]]
// CHECK: memref.store %{{.*}}, %[[LIST]]
// CHECK: memref.store %{{.*}}, %[[LIST]]
// Digit 2's scan, then digit 3 counted over the list (or the row again if the list overflowed).
// CHECK-COUNT-5: gpu.shuffle  up
// CHECK: memref.load %[[LIST]]
// CHECK: memref.load %[[LIST]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[HIST]]
// CHECK: } else {
// CHECK: memref.load %[[ROW]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[HIST]]
// Final pass over the list: > T and == T counters, positions to the output.
// CHECK-COUNT-5: gpu.shuffle  up
// CHECK: memref.load %[[LIST]]
// CHECK: memref.load %[[LIST]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[MISC]]
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[MISC]]
// keep_last: n_b - 1 at position k - 1.
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK: gpu.return

// The sampled variant (B * rows >= 128, N > 16384): 512 threads, two CTAs per SM, no score
// stored.
// CHECK: gpu.func @pair_score_topk_3(%{{.*}}: memref<281474976710656xbf16>, %{{.*}}: memref<281474976710656xbf16>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xi32>, %[[SOUT:[^:]+]]: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xf32>, %{{.*}}: i64, %{{.*}}: i64)
// CHECK-SAME: workgroup(%[[SHIST:.*]] : memref<4096xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<16xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[SMISC:.*]] : memref<5xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK-SAME: known_block_size = array<i32: 512, 1, 1>, nvvm.minctasm = 2 : i32
// Rows of up to 12288 to score keep their scores in the list's shared memory (min(N, 12288)
// floats, then a candidate list of 2048 entries) and select as above.
// CHECK: arith.cmpi ule, %{{.*}}, %c12288
// CHECK: memref.view %{{.*}}[%{{.*}}][%{{.*}}] : memref<?xi8, #gpu.address_space<workgroup>> to memref<?xf32, #gpu.address_space<workgroup>>
// CHECK: memref.view %{{.*}}[%{{.*}}][%c4096{{.*}}] : memref<?xi8, #gpu.address_space<workgroup>> to memref<?xi32, #gpu.address_space<workgroup>>
// CHECK: } else {
// Longer rows: the list (8192 entries), the page-table entry ring after it; the sample's 4096
// keys (2 positions a thread and step), their first digit counted.
// CHECK: %[[SLIST:.*]] = memref.view %{{.*}}[%c0{{.*}}][%c16384] : memref<?xi8, #gpu.address_space<workgroup>> to memref<?xi32, #gpu.address_space<workgroup>>
// CHECK: %[[RING:.*]] = memref.view %{{.*}}[%c65536][%c2048] : memref<?xi8, #gpu.address_space<workgroup>> to memref<?xi32, #gpu.address_space<workgroup>>
// CHECK: scf.if %{{.*}} -> (i1) {
// CHECK: scf.for %{{.*}} = %{{.*}} to %c4096{{.*}} step %c1024
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[SHIST]]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[SHIST]]
// The listing walk: page-table entries through the ring, each key at or above the threshold to
// the list (one shared atomic on the list's counter per kept key).
// CHECK: nvgpu.device_async_copy %arg2[%{{.*}}], %[[RING]]
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: arith.cmpi uge, %{{.*}}, %{{.*}} : i32
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[SMISC]][%c4
// CHECK: memref.store %{{.*}}, %[[SLIST]]
// CHECK: memref.store %{{.*}}, %[[SLIST]]
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NEXT: gpu.barrier
// Where the list decides, the select over it; else the two-pass select over the row scored
// again (its first walk counting the first digit).
// CHECK: memref.store %{{.*}}, %[[SOUT]]
// CHECK: arith.xori %{{.*}}, %true : i1
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[SHIST]]
// CHECK: gpu.return

// Few rows: the sampled select on 1024 threads, rows of up to 16384 to score kept.
// CHECK: gpu.func @pair_score_topk_4(
// CHECK-SAME: known_block_size = array<i32: 1024, 1, 1>
// CHECK: arith.cmpi ule, %{{.*}}, %c16384
// CHECK: nvgpu.device_async_copy
// CHECK: gpu.return

// CHECK: gpu.func @max_group_score_topk_0({{.*}}, %{{.*}}: i64, %{{.*}}: i64, %[[G:.*]]: i64)
// CHECK-SAME: workgroup(%[[Q:.*]] : memref<64xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<4096xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}
// CHECK: vector.store {{.*}}, %[[Q]]
// CHECK: gpu.barrier
// CHECK: gpu.dynamic_shared_memory
// CHECK: scf.for
// CHECK: scf.for {{.*}} to %{{.*}} step {{.*}} iter_args
// CHECK: vector.load %[[Q]]
// CHECK: arith.maxnumf
// CHECK: gpu.return

// CHECK: gpu.func @last_score_topk_0
// CHECK-NOT: gpu.dynamic_shared_memory
// CHECK-NOT: memref.atomic_rmw
// CHECK: gpu.return

// PTX: gpu.binary @ds_kernels
// PTX-SAME: .extern .shared .align 16 .b8 __dynamic_shmem__{{[0-9]+}}[]
// PTX-SAME: pair_score_topk_0
// PTX-SAME: .reqnctapercluster 2, 1, 1
// PTX-SAME: pair_score_topk_1
// PTX-SAME: .reqnctapercluster 2, 1, 1
// PTX-SAME: pair_score_topk_3
// PTX-SAME: max_group_score_topk_0
// PTX-SAME: last_score_topk_0
// PTX-SAME: unfused_label_score_0
// PTX-SAME: unfused_topk_1
