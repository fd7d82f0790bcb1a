// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1})' | FileCheck %s
// RUN: ds-opt %s --ds-to-ptx | FileCheck %s --check-prefix=PTX
// RUN: ds-opt %S/../../examples/quest.mlir --ds-to-ptx | FileCheck %s --check-prefix=EXAMPLE

// The append updates the summaries in place (kmin, kmax are inout, nothing else is written): a
// thread per (token, kv head, 8 channels), the first token of a page's run folding the rest.
// CHECK-LABEL: ds.plan @append
// CHECK-SAME: args = ["new_k in bf16 align=16 new_k_d0 8 128", "slot_mapping in i32 align=16 new_k_d0", "kmin inout bf16 align=16 kmin_d0 8 128", "kmax inout bf16 align=16 kmin_d0 8 128"]
// CHECK: ds.launch @ds_kernels::@append_page_summary_append_0 {block = array<i64: 256, 1, 1>, grid = ["cdiv(new_k_d0*128,256)", "1", "1"]
// CHECK-SAME: params = ["ptr arg 0", "ptr arg 1", "ptr arg 2", "ptr arg 3", "i64 new_k_d0", "i64 kmin_d0"]
func.func @append(%k: tensor<?x8x128xbf16> {ds.name = "new_k"}, %slots: tensor<?xi32> {ds.name = "slot_mapping"},
                  %kmin: tensor<?x8x128xbf16> {ds.name = "kmin"}, %kmax: tensor<?x8x128xbf16> {ds.name = "kmax"})
    -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>) {
  %mn, %mx = ds.page_summary_append %kmin, %kmax, %k, %slots {page_size = 16 : i64}
      : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return %mn, %mx : tensor<?x8x128xbf16>, tensor<?x8x128xbf16>
}

// From scratch: a thread per (request, page, kv head, 8 channels).
// CHECK-LABEL: ds.plan @summary
// CHECK: ds.launch @ds_kernels::@summary_page_summary_0 {block = array<i64: 256, 1, 1>, grid = ["cdiv((page_table_d0*page_table_d1)*128,256)", "1", "1"]
func.func @summary(%kc: tensor<?x16x8x128xf16> {ds.name = "k_cache"}, %pt: tensor<?x?xi32> {ds.name = "page_table"},
                   %sl: tensor<?xi32> {ds.name = "seq_lens"}, %kmin: tensor<?x8x128xf16> {ds.name = "kmin"},
                   %kmax: tensor<?x8x128xf16> {ds.name = "kmax"}) -> (tensor<?x8x128xf16>, tensor<?x8x128xf16>) {
  %mn, %mx = ds.page_summary %kmin, %kmax, %kc, %pt, %sl
      : (tensor<?x8x128xf16>, tensor<?x8x128xf16>, tensor<?x16x8x128xf16>, tensor<?x?xi32>, tensor<?xi32>) -> (tensor<?x8x128xf16>, tensor<?x8x128xf16>)
  return %mn, %mx : tensor<?x8x128xf16>, tensor<?x8x128xf16>
}

// Scores with a selection shared by the GQA group: a CTA of 4 warps per (request, kv head) and
// 32 pages (16 lanes per page, 4 pages per lane group), the group's 4 query heads in shared
// memory, each head's bound two fmas a channel over the page's sum and spread, the heads' lane
// partials summed before the one lane reduction of the page.
// CHECK-LABEL: ds.plan @score
// CHECK-SAME: "result0 out f32 align=16 q_d0 8 page_table_d1"
// CHECK: ds.launch @ds_kernels::@score_page_score_0 {block = array<i64: 128, 1, 1>, grid = ["q_d0*8", "cdiv(page_table_d1,32)", "1"]
func.func @score(%q: tensor<?x32x128xbf16> {ds.name = "q"}, %kmin: tensor<?x8x128xbf16> {ds.name = "kmin"},
                 %kmax: tensor<?x8x128xbf16> {ds.name = "kmax"}, %pt: tensor<?x?xi32> {ds.name = "page_table"},
                 %sl: tensor<?xi32> {ds.name = "seq_lens"}) -> tensor<?x8x?xf32> {
  %u = ds.page_score %q, %kmin, %kmax, %pt, %sl {page_size = 16 : i64, group_reduce = #ds.group_reduce<sum>}
      : (tensor<?x32x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return %u : tensor<?x8x?xf32>
}

// page_score_topk (ds-fuse-score-topk{page-score=1}): a cluster of 8 CTAs of 512 threads per
// (request, head), the row's bounds in the first CTA's shared memory (4 bytes per page-table
// column), compiled for 4 CTAs per SM; no score array.
// CHECK-LABEL: ds.plan @fused
// CHECK: ds.launch @ds_kernels::@fused_page_score_topk_0 {block = array<i64: 512, 1, 1>, grid = ["q_d0*256", "1", "1"]
// CHECK-SAME: params = ["ptr arg 0", "ptr arg 1", "ptr arg 2", "ptr arg 3", "ptr arg 4", "ptr arg 5", "i64 page_table_d1", "i64 kmin_d0"], smem = "4*(page_table_d1)"
func.func @fused(%q: tensor<?x32x128xbf16> {ds.name = "q"}, %kmin: tensor<?x32x128xbf16> {ds.name = "kmin"},
                 %kmax: tensor<?x32x128xbf16> {ds.name = "kmax"}, %pt: tensor<?x?xi32> {ds.name = "page_table"},
                 %sl: tensor<?xi32> {ds.name = "seq_lens"}) -> tensor<?x32x128xi32> {
  %i = ds.page_score_topk %q, %kmin, %kmax, %pt, %sl {page_size = 16 : i64, k = 128 : i64, keep_last}
      : (tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xi32>
  return %i : tensor<?x32x128xi32>
}

// CHECK-LABEL: gpu.module @ds_kernels
// CHECK: gpu.func @append_page_summary_append_0
// CHECK: scf.for
// CHECK: arith.minimumf {{.*}} : vector<8xf32>
// CHECK: vector.store {{.*}} {alignment = 16 : i64} : memref<281474976710656xbf16>, vector<8xbf16>
// CHECK: gpu.func @score_page_score_0({{.*}}) workgroup(%{{.*}} : memref<512xf32, #gpu.address_space<workgroup>>
// CHECK-NOT: vector.reduction
// CHECK: math.fma {{.*}} : f32
// CHECK-NOT: vector.reduction
// CHECK: gpu.shuffle  xor
// CHECK: gpu.func @fused_page_score_topk_0
// CHECK-SAME: nvvm.cluster_dim = array<i32: 8, 1, 1>
// CHECK-SAME: nvvm.minctasm = 4
// CHECK: nvvm.cluster.arrive.relaxed {aligned}
// CHECK: nvvm.cluster.wait {aligned}
// CHECK: nvvm.mapa %{{.*}} : !llvm.ptr<3> -> !llvm.ptr<7>
// CHECK: llvm.store %{{.*}} : f32, !llvm.ptr<7>
// CHECK: nvvm.cluster.arrive {aligned}
// CHECK: nvvm.cluster.wait {aligned}
// PTX: ld.global.v4.b32
// PTX: st.global.v4.b32
// PTX: .reqnctapercluster 8, 1, 1
// PTX: mapa.shared::cluster.u64
// PTX: st.shared::cluster.b32
// EXAMPLE: gpu.binary @ds_kernels

