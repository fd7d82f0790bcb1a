// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1})' | FileCheck %s
// RUN: ds-opt %s --ds-to-ptx | FileCheck %s --check-prefix=PTX

// label_score: grid (B * rows, cdiv(N, TILE)), 128 threads (4 warps), 2 tokens per thread
// (block_tokens = 256), labels read as 16-byte vectors, -inf past n_b.

// CHECK-LABEL: ds.plan @score
// CHECK-SAME: "result0 out f32 align=16 q_label_d0 32 (page_table_d1)*16"
// CHECK: ds.launch @ds_kernels::@score_label_score_0 {block = array<i64: 128, 1, 1>, grid = ["(q_label_d0)*32", "cdiv((page_table_d1)*16,512)", "1"]
// CHECK-SAME: "i64 label_cache_d1", "i64 page_table_d1", "i64 (page_table_d1)*16"], smem = "0"
func.func @score(%ql: tensor<?x32x16xbf16> {ds.name = "q_label"}, %cache: tensor<8x?x16xbf16> {ds.name = "label_cache"},
                 %pt: tensor<?x?xi32> {ds.name = "page_table"}, %sl: tensor<?xi32> {ds.name = "seq_lens"}) -> tensor<?x32x?xf32> {
  %a = ds.label_score %ql, %cache, %pt, %sl {page_size = 16 : i64, scale = 0.25 : f32}
     : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x?xf32>
  return %a : tensor<?x32x?xf32>
}

// group_reduce = max with g * r > 32: the group's q rows go to shared memory, a loop over g.
// CHECK-LABEL: ds.plan @score_max
// CHECK-SAME: "result0 out f32 align=16 q_label_d0 4 4096"
// CHECK: ds.launch @ds_kernels::@score_max_label_score_0 {block = array<i64: 128, 1, 1>, grid = ["(q_label_d0)*4", "8", "1"]
// CHECK-SAME: "i64 4096", "i64 8"]
func.func @score_max(%ql: tensor<?x32x16xf16> {ds.name = "q_label"}, %cache: tensor<4x?x16xf16> {ds.name = "label_cache"},
                     %pt: tensor<?x?xi32> {ds.name = "page_table"}, %sl: tensor<?xi32> {ds.name = "seq_lens"}) -> tensor<?x4x4096xf32> {
  %a = ds.label_score %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<max>}
     : (tensor<?x32x16xf16>, tensor<4x?x16xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x4x4096xf32>
  return %a : tensor<?x4x4096xf32>
}

// group_reduce = sum, r = 8: one 16-byte vector per token (two tokens per thread).
// CHECK-LABEL: ds.plan @score_sum
// CHECK: ds.launch @ds_kernels::@score_sum_label_score_0 {{.*}}grid = ["(q_label_d0)*8", "cdiv((page_table_d1)*64,512)", "1"]
func.func @score_sum(%ql: tensor<?x32x8xbf16> {ds.name = "q_label"}, %cache: tensor<8x?x8xbf16> {ds.name = "label_cache"},
                     %pt: tensor<?x?xi32> {ds.name = "page_table"}, %sl: tensor<?xi32> {ds.name = "seq_lens"}) -> tensor<?x8x?xf32> {
  %a = ds.label_score %ql, %cache, %pt, %sl {page_size = 64 : i64, scale = 0.5 : f32, group_reduce = #ds.group_reduce<sum>}
     : (tensor<?x32x8xbf16>, tensor<8x?x8xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return %a : tensor<?x8x?xf32>
}

// CHECK: gpu.module @ds_kernels
// CHECK: gpu.func @score_label_score_0(%{{.*}}: memref<281474976710656xbf16>, %{{.*}}: memref<281474976710656xbf16>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xf32>, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: arith.constant 0xFF800000 : f32
// CHECK: gpu.block_id  y
// CHECK: vector.load %arg0[{{.*}}] {alignment = 16 : i64} : memref<281474976710656xbf16>, vector<8xbf16>
// CHECK: scf.if {{.*}} -> (i32)
// CHECK: memref.load %arg2
// CHECK: scf.if {{.*}} -> (i32)
// The step's label loads (4 tokens, 2 vectors each) in one branch, widened after it.
// CHECK: scf.if {{.*}} -> (vector<8xbf16>, vector<8xbf16>, vector<8xbf16>, vector<8xbf16>, vector<8xbf16>, vector<8xbf16>, vector<8xbf16>, vector<8xbf16>)
// CHECK-COUNT-8: vector.load %arg1[{{.*}}] {alignment = 16 : i64} : memref<281474976710656xbf16>, vector<8xbf16>
// CHECK: } else {
// CHECK: arith.extf {{.*}} : vector<8xbf16> to vector<8xf32>
// CHECK: vector.fma
// CHECK-NOT: vector.reduction
// CHECK: arith.addf {{.*}} : f32
// CHECK: arith.select {{.*}}, %cst
// CHECK: memref.store {{.*}} : memref<281474976710656xf32>
// CHECK: gpu.return

// CHECK: gpu.func @score_max_label_score_0({{.*}}) workgroup(%{{.*}} : memref<128xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK: vector.store {{.*}} : memref<128xf32, #gpu.address_space<workgroup>>, vector<8xf32>
// CHECK: gpu.barrier
// CHECK: vector.load %arg1[{{.*}}] {alignment = 16 : i64} : memref<281474976710656xf16>, vector<8xf16>
// CHECK: scf.for {{.*}} iter_args
// CHECK: vector.load {{.*}} : memref<128xf32, #gpu.address_space<workgroup>>, vector<8xf32>
// CHECK: arith.maxnumf

// CHECK: gpu.func @score_sum_label_score_0
// CHECK-COUNT-4: vector.load %arg1[{{.*}}] {alignment = 16 : i64} : memref<281474976710656xbf16>, vector<8xbf16>
// CHECK-NOT: vector.load %arg1
// CHECK: gpu.return

// PTX: gpu.binary @ds_kernels
// PTX-SAME: #nvvm.target<O = 3, chip = "sm_90"
// PTX-SAME: score_label_score_0
// PTX-SAME: score_max_label_score_0
// PTX-SAME: score_sum_label_score_0
