// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1})' | FileCheck %s
// RUN: ds-opt %s --ds-to-ptx | FileCheck %s --check-prefix=PTX
// RUN: ds-opt %S/../../examples/vattention.mlir --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1})' | FileCheck %s --check-prefix=VA
// RUN: ds-opt %S/../../examples/twilight.mlir --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1})' | FileCheck %s --check-prefix=TW

// The examples' steps: vAttention = score_topk (label scoring fused with the top-k; five launch
// variants on sm_90: a cluster of 2 CTAs per row without and with sampling (N >= 49152), 512
// threads keeping the scores or sampled, 1024 threads sampled) -> sample_residual -> split
// decode with the samples' log-weights;
// Twilight (k = 4096: no sampled variant, three) adds the candidates' label estimate and topp
// before the decode.
// VA: ds.launch @ds_kernels::@vattention_score_topk_0
// VA: ds.launch @ds_kernels::@vattention_score_topk_1 {{.*}} smem = "max(81920,
// VA: ds.launch @ds_kernels::@vattention_sample_residual_5
// VA: ds.launch @ds_kernels::@vattention_decode_partial_{{[0-9]+}}
// VA-SAME: "ptr arg 10"
// VA: ds.launch @ds_kernels::@vattention_decode_merge
// TW: ds.launch @ds_kernels::@twilight_label_gather_0
// TW: ds.launch @ds_kernels::@twilight_score_topk_1
// TW: ds.launch @ds_kernels::@twilight_label_score_4
// TW: ds.launch @ds_kernels::@twilight_topp_5
// TW: ds.launch @ds_kernels::@twilight_decode_partial_{{[0-9]+}}

// Twilight's topp, vAttention's sample_residual and label_score over a candidate list.

// topp: one CTA per row, 16 candidates per thread (4096 -> 256 threads), no workspace.
// CHECK-LABEL: ds.plan @prune
// CHECK-SAME: "result0 out i32 align=16 logits_d0 32 4096", "result1 out i32 align=16 logits_d0 32"
// CHECK: ds.launch @ds_kernels::@prune_topp_0 {block = array<i64: 256, 1, 1>, grid = ["(logits_d0)*(32)", "1", "1"], params = ["ptr arg 0", "ptr arg 1", "ptr arg 2", "ptr arg 3"], smem = "0"}
func.func @prune(%l: tensor<?x32x4096xf32> {ds.name = "logits"}, %i: tensor<?x32x4096xi32> {ds.name = "cand"}) -> (tensor<?x32x4096xi32>, tensor<?x32xi32>) {
  %k, %c = ds.topp %l, %i {top_p = 0.9 : f32} : (tensor<?x32x4096xf32>, tensor<?x32x4096xi32>) -> (tensor<?x32x4096xi32>, tensor<?x32xi32>)
  return %k, %c : tensor<?x32x4096xi32>, tensor<?x32xi32>
}

// sample_residual: one CTA of 256 threads per row; the result is sinks + window + K + samples.
// CHECK-LABEL: ds.plan @sample
// CHECK-SAME: "result0 out i32 align=16 fixed_d0 8 1100", "result1 out f32 align=16 fixed_d0 8 1100"
// CHECK: ds.launch @ds_kernels::@sample_sample_residual_0 {block = array<i64: 256, 1, 1>, grid = ["(fixed_d0)*(8)", "1", "1"], params = ["ptr arg 0", "ptr arg 1", "ptr arg 2", "ptr arg 3", "ptr arg 4", "i64 8"], smem = "0"}
func.func @sample(%f: tensor<?x8x1000xi32> {ds.name = "fixed"}, %sl: tensor<?xi32> {ds.name = "seq_lens"}, %p: tensor<2xi64> {ds.name = "philox"}) -> (tensor<?x8x1100xi32>, tensor<?x8x1100xf32>) {
  %i, %w = ds.sample_residual %f, %sl, %p {sinks = 4 : i64, window = 16 : i64, num_samples = 80 : i64} : (tensor<?x8x1000xi32>, tensor<?xi32>, tensor<2xi64>) -> (tensor<?x8x1100xi32>, tensor<?x8x1100xf32>)
  return %i, %w : tensor<?x8x1100xi32>, tensor<?x8x1100xf32>
}

// label_score over candidates: tiles of the K = 4096 entries (not of the row), the candidate
// buffer last.
// CHECK-LABEL: ds.plan @estimate
// CHECK: ds.launch @ds_kernels::@estimate_label_score_0 {block = array<i64: 128, 1, 1>, grid = ["(q_label_d0)*8", "8", "1"], params = ["ptr arg 0", "ptr arg 1", "ptr arg 2", "ptr arg 3", "ptr arg 5", "i64 labels_d1", "i64 page_table_d1", "i64 4096", "ptr arg 4"]
func.func @estimate(%ql: tensor<?x32x16xbf16> {ds.name = "q_label"}, %cache: tensor<8x?x16xbf16> {ds.name = "labels"}, %pt: tensor<?x?xi32> {ds.name = "page_table"}, %sl: tensor<?xi32> {ds.name = "seq_lens"}, %c: tensor<?x8x4096xi32> {ds.name = "cand"}) -> tensor<?x8x4096xf32> {
  %e = ds.label_score %ql, %cache, %pt, %sl, %c {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>} : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x8x4096xi32>) -> tensor<?x8x4096xf32>
  return %e : tensor<?x8x4096xf32>
}

// int4_append: a thread per (token, kv head): 8 per token here; kq (records of 16 words of
// values and 4 of scales) is updated in place (an inout argument).
// CHECK-LABEL: ds.plan @quantize
// CHECK-SAME: "kq inout i32 align=16 kq_d0 8 20"
// CHECK: ds.launch @ds_kernels::@quantize_int4_append_0 {block = array<i64: 128, 1, 1>, grid = ["cdiv((k_d0)*8,128)", "1", "1"]
func.func @quantize(%kq: tensor<?x8x20xi32> {ds.name = "kq"}, %k: tensor<?x8x128xbf16> {ds.name = "k"}, %sm: tensor<?xi32> {ds.name = "slots"}) -> tensor<?x8x20xi32> {
  %q2 = ds.int4_append %kq, %k, %sm : (tensor<?x8x20xi32>, tensor<?x8x128xbf16>, tensor<?xi32>) -> tensor<?x8x20xi32>
  return %q2 : tensor<?x8x20xi32>
}

// int4_score: a warp scores tiles of 16 candidates with mma.sync, 2 tiles in flight per warp
// and 4 warps: 128 candidates a CTA.
// CHECK-LABEL: ds.plan @int4_estimate
// CHECK: ds.launch @ds_kernels::@int4_estimate_int4_score_0 {block = array<i64: 128, 1, 1>, grid = ["(q_d0)*8", "32", "1"]
func.func @int4_estimate(%q: tensor<?x32x128xbf16> {ds.name = "q"}, %kq: tensor<?x8x20xi32> {ds.name = "kq"}, %pt: tensor<?x?xi32> {ds.name = "page_table"}, %sl: tensor<?xi32> {ds.name = "seq_lens"}, %c: tensor<?x8x4096xi32> {ds.name = "cand"}) -> tensor<?x8x4096xf32> {
  %e = ds.int4_score %q, %kq, %pt, %sl, %c {page_size = 16 : i64, scale = 0.088 : f32, group_reduce = #ds.group_reduce<sum>} : (tensor<?x32x128xbf16>, tensor<?x8x20xi32>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x8x4096xi32>) -> tensor<?x8x4096xf32>
  return %e : tensor<?x8x4096xf32>
}

// expand_pages: a thread per token candidate (8 rows x 4 pages x 16 tokens per request).
// CHECK-LABEL: ds.plan @expand
// CHECK: ds.launch @ds_kernels::@expand_expand_pages_0 {block = array<i64: 256, 1, 1>, grid = ["cdiv((pages_d0)*512,256)", "1", "1"], params = ["ptr arg 0", "ptr arg 1", "ptr arg 2", "i64 pages_d0"]
func.func @expand(%p: tensor<?x8x4xi32> {ds.name = "pages"}, %sl: tensor<?xi32> {ds.name = "seq_lens"}) -> tensor<?x8x64xi32> {
  %t = ds.expand_pages %p, %sl {page_size = 16 : i64} : (tensor<?x8x4xi32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return %t : tensor<?x8x64xi32>
}

// topp's kernel (8 warps, 16 candidates a thread): the histogram zeroed, 16-byte loads of
// logits and candidates, block max; the masses summed and histogrammed over 256 logit buckets
// (shared i32 atomics, all in one uniform branch); every warp scans the histogram for the first range; the candidates in
// it compacted into the shared list (keys and masses, 4096 each), the whole row instead if the
// exact sums refute the range; the later steps (scf.while) and the exact pass over the last
// <= 128 candidates walk that list; the kept candidates' offsets by warp scans of packed
// per-chunk counts, staged in shared memory.
// CHECK: gpu.func @prune_topp_0
// CHECK-SAME: workgroup(%{{.*}} : memref<256xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<32xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<96xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<128xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<128xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[LK:[a-z0-9_]+]] : memref<4096xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[LM:[a-z0-9_]+]] : memref<4096xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[H:[a-z0-9_]+]] : memref<256xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<64xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<32xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK: memref.store %{{.*}}, %[[H]]
// CHECK-NOT: memref.store %{{.*}}, %[[H]]
// CHECK-COUNT-4: vector.load {{.*}} : memref<281474976710656xf32>, vector<4xf32>
// CHECK-NOT: vector.load {{.*}} : memref<281474976710656xf32>
// CHECK: gpu.barrier
// CHECK: scf.if %{{[a-z0-9_]+}} {
// CHECK-NOT: scf.if
// CHECK-COUNT-16: memref.atomic_rmw addi %{{.*}}, %[[H]]
// CHECK-NOT: memref.atomic_rmw
// CHECK: gpu.barrier
// CHECK-NOT: scf.while
// CHECK-COUNT-2: vector.load %[[H]]
// CHECK: gpu.shuffle  up
// CHECK: arith.uitofp
// CHECK-NOT: scf.while
// CHECK: memref.store %{{.*}}, %[[LK]][%[[AT:.*]]] : memref<4096xi32, #gpu.address_space<workgroup>>
// CHECK-NEXT: memref.store %{{.*}}, %[[LM]][%[[AT]]] : memref<4096xf32, #gpu.address_space<workgroup>>
// CHECK: gpu.barrier
// CHECK-NOT: scf.while
// CHECK: memref.store %{{.*}}, %[[LK]]
// CHECK: gpu.barrier
// CHECK: scf.while
// CHECK: } do {
// CHECK: scf.for
// CHECK-NEXT: memref.load %[[LK]]
// CHECK-NEXT: memref.load %[[LM]]
// CHECK: nvvm.vote.sync  ballot
// The exact pass gathers the list's entries still in range.
// CHECK: scf.for
// CHECK: memref.load %[[LK]]
// CHECK: gpu.shuffle  up
// CHECK: gpu.barrier
// Then each candidate's tail on 2 lanes (groups of 8 entries, 16 apart, in 16-byte loads),
// added by one shuffle; the largest qualifying key through one barrier.
// CHECK: scf.for {{.*}} step %c16
// CHECK-NEXT: arith.constant 0 : index
// CHECK-NEXT: arith.addi
// CHECK-NEXT: vector.load {{.*}} : memref<128xi32, #gpu.address_space<workgroup>>, vector<4xi32>
// CHECK-NEXT: vector.load {{.*}} : memref<128xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32{{.*}} : f32
// CHECK-NEXT: arith.addf
// CHECK: arith.maxui
// CHECK: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: arith.maxui
// CHECK: gpu.shuffle  up
// The kept list staged in shared memory, written with its -1 padding in 16-byte stores.
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK: vector.from_elements
// CHECK: vector.store
// CHECK: gpu.return

// sample_residual's kernel: the bitonic sort in shared memory, Philox (10 rounds of two
// widening multiplies, twice), then the cycle-walked Feistel permutation.
// CHECK: gpu.func @sample_sample_residual_0
// CHECK-SAME: workgroup(%[[K:.*]] : memref<1024xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<32xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK: arith.minsi
// CHECK: arith.maxsi
// CHECK: gpu.barrier
// CHECK-COUNT-40: arith.mului_extended
// CHECK: llvm.intr.ctlz
// CHECK: scf.while
// CHECK-COUNT-8: arith.muli {{.*}} : i32
// CHECK: } do {
// CHECK: gpu.return

// PTX: .entry prune_topp_0
// PTX: .entry sample_sample_residual_0
// PTX: mul.wide.u32
// PTX: .entry estimate_label_score_0
// PTX: .entry quantize_int4_append_0
// The round-half-even of x / s by adding and subtracting 1.5 * 2^23, the 16-byte word stores
// (four groups), then the scales' 16-byte store.
// PTX: div.rn.f32
// PTX: add.rn.f32 {{[^;]*}}0f4B400000
// PTX-COUNT-5: st.global.v4.b32
// PTX-NOT: st.global
// PTX: .entry int4_estimate_int4_score_0
// A lane's 16 bytes of int4 words (a group of 32 channels) in one load, its scale word from the
// same 80-byte record (at byte 64 + 4 t4).
// PTX: ld.global.v4.b32
// PTX: ld.global.b32 {{[^;]*}}+64]
// A pair of nibbles as two exact bf16: and 0x000F000F, xor 0x43084308 (128 + 8 + v), minus 136;
// then the tensor cores (a high and a low part of the summed query: two mma a k-step).
// PTX: and.b32 {{[^;]*}}, 983055;
// PTX: xor.b32 {{[^;]*}}, 1124614920;
// PTX: add.rn.bf16x2
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX: shfl.sync.bfly.b32
// PTX: .entry expand_expand_pages_0
