// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1})' | FileCheck %s

// A written score_topk config is built as it says: `warps` = 8 gives the variants for many rows
// (B * rows >= 128) warps / 2 = 4 warps, two CTAs per SM (keeping the scores for N <= 16384,
// sampled above), the one for few rows 256 threads (sampled), all scoring `stages` = 3 tokens
// per thread and step; with `warps` = 1 there is no many-row variant. Rows of up to
// block_tokens = 16384 to score keep their scores in the few-row variant (12288 in the 128-thread
// one, within its 64 KB list).
// CHECK-LABEL: ds.plan @explicit
// CHECK: ds.launch @ds_kernels::@explicit_score_topk_0 {block = array<i64: 128, 1, 1>, grid = ["(q_label_d0*8)*(min(max(16385-(page_table_d1*16),0),1)*min(max((q_label_d0*8)-127,0),1))", "1", "1"]
// CHECK: ds.launch @ds_kernels::@explicit_score_topk_1 {block = array<i64: 128, 1, 1>, grid = ["(q_label_d0*8)*(min(max((page_table_d1*16)-16384,0),1)*min(max((q_label_d0*8)-127,0),1))", "1", "1"]
// CHECK: ds.launch @ds_kernels::@explicit_score_topk_2 {block = array<i64: 256, 1, 1>, grid = ["(q_label_d0*8)*((1-(min(max(16385-(page_table_d1*16),0),1)*min(max((q_label_d0*8)-127,0),1)))-(min(max((page_table_d1*16)-16384,0),1)*min(max((q_label_d0*8)-127,0),1)))", "1", "1"]
// CHECK-SAME: smem = "max(71680,4*min((page_table_d1)*16,16384)+16384)"
// CHECK-NOT:  ds.launch
// CHECK-LABEL: ds.plan @one_warp
// CHECK: ds.launch @ds_kernels::@one_warp_score_topk_0 {block = array<i64: 32, 1, 1>, grid = ["q_label_d0*8", "1", "1"]
// CHECK-SAME: smem = "max(65792,4*min((page_table_d1)*16,16384)+16384)"
// CHECK-NOT:  ds.launch
// CHECK: gpu.func @explicit_score_topk_0({{.*}}known_block_size = array<i32: 128, 1, 1>, nvvm.minctasm = 2 : i32
// The scoring loop's step: 3 tokens of each of the 128 threads, then of each of 256.
// CHECK: scf.for {{.*}} step %c384
// CHECK: gpu.func @explicit_score_topk_1({{.*}}known_block_size = array<i32: 128, 1, 1>, nvvm.minctasm = 2 : i32
// CHECK: scf.for {{.*}} step %c384
// CHECK: gpu.func @explicit_score_topk_2({{.*}}known_block_size = array<i32: 256, 1, 1>
// CHECK: scf.for {{.*}} step %c768
// One warp: the sample's 4096 keys 2 a thread and step (128 steps of 32 threads, in a loop).
// CHECK: gpu.func @one_warp_score_topk_0({{.*}}known_block_size = array<i32: 32, 1, 1>
// CHECK: scf.for {{.*}} to %c4096{{.*}} step %c64
func.func @explicit(%ql: tensor<?x32x16xbf16> {ds.name = "q_label"}, %cache: tensor<8x?x16xbf16> {ds.name = "label_cache"},
                    %pt: tensor<?x?xi32> {ds.name = "page_table"}, %sl: tensor<?xi32> {ds.name = "seq_lens"}) -> tensor<?x8x256xi32> {
  %i = ds.score_topk %ql, %cache, %pt, %sl {page_size = 16 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>, k = 256 : i64,
       config = #ds.kernel_config<block_tokens = 16384, warps = 8, splits = 1, stages = 3, vector_width = 8>}
     : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x256xi32>
  return %i : tensor<?x8x256xi32>
}
func.func @one_warp(%ql: tensor<?x32x16xbf16> {ds.name = "q_label"}, %cache: tensor<8x?x16xbf16> {ds.name = "label_cache"},
                    %pt: tensor<?x?xi32> {ds.name = "page_table"}, %sl: tensor<?xi32> {ds.name = "seq_lens"}) -> tensor<?x8x256xi32> {
  %i = ds.score_topk %ql, %cache, %pt, %sl {page_size = 16 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>, k = 256 : i64,
       config = #ds.kernel_config<block_tokens = 16384, warps = 1, splits = 1, stages = 1, vector_width = 8>}
     : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x256xi32>
  return %i : tensor<?x8x256xi32>
}
