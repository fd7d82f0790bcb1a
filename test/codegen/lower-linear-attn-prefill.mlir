// RUN: ds-opt %s --split-input-file --pass-pipeline='builtin.module(ds-to-ptx{sm-count=1 stop-after-lowering=1})' | FileCheck %s
// RUN: ds-opt %s --split-input-file --pass-pipeline='builtin.module(ds-to-ptx{sm-count=1})' | FileCheck %s --check-prefix=PTX
// One SM: no segment split (lower-linear-attn-prefill-split.mlir has it).

// d = e = 128, 64-token chunks: the tensor-core kernel, one CTA of 4 warps per (request, head,
// 64 columns of e), two cp.async stages of Q, K, V plus the bf16 S tile in dynamic shared memory
// (2 * (2 * 64 * 128 + 64 * 64) + 128 * 64 elements = 98304 bytes). states is updated in place.
// CHECK-LABEL: ds.plan @prefill
// CHECK-SAME: "states inout f32 align=16 states_d0 64 128 128"
// CHECK-SAME: "result0 out bf16 align=16 q_d0 64 128"
// CHECK: ds.launch @ds_kernels::@prefill_linear_attn_prefill_chunked_0 {block = array<i64: 128, 1, 1>, grid = ["(state_indices_d0)*128", "1", "1"]
// CHECK-SAME: "i32 q_d0", "i64 states_d0", "i64 cu_seqlens_d0"], smem = "98304"
// CHECK: gpu.func @prefill_linear_attn_prefill_chunked_0
// CHECK: nvgpu.device_async_copy {{.*}}, 8, {{.*}} {bypassL1}
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false}
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true}
// CHECK: nvvm.mma.sync {{.*}} multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>
// PTX: gpu.binary @ds_kernels
// PTX-SAME: cp.async.cg.shared.global
// PTX-SAME: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX-SAME: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// PTX-SAME: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
func.func @prefill(%q: tensor<?x64x128xbf16> {ds.name = "q"}, %k: tensor<?x64x128xbf16> {ds.name = "k"},
                   %v: tensor<?x64x128xbf16> {ds.name = "v"}, %slopes: tensor<64xf32> {ds.name = "slopes"},
                   %cu: tensor<?xi32> {ds.name = "cu_seqlens"}, %states: tensor<?x64x128x128xf32> {ds.name = "states"},
                   %si: tensor<?xi32> {ds.name = "state_indices"}, %hi: tensor<?xi32> {ds.name = "has_initial_state"})
    -> (tensor<?x64x128xbf16>, tensor<?x64x128x128xf32>) {
  %o, %s = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %states, %si, %hi
    : (tensor<?x64x128xbf16>, tensor<?x64x128xbf16>, tensor<?x64x128xbf16>, tensor<64xf32>, tensor<?xi32>, tensor<?x64x128x128xf32>, tensor<?xi32>, tensor<?xi32>)
    -> (tensor<?x64x128xbf16>, tensor<?x64x128x128xf32>)
  return %o, %s : tensor<?x64x128xbf16>, tensor<?x64x128x128xf32>
}

// -----

// f16, d = 64: the same kernel with f16 fragments (2 * (2 * 64 * 64 + 64 * 64) + 64 * 64
// elements = 57344 bytes).
// CHECK-LABEL: ds.plan @prefill_f16
// CHECK: ds.launch {{.*}}grid = ["(si_d0)*8", "1", "1"]
// CHECK-SAME: smem = "57344"
// CHECK: nvvm.mma.sync {{.*}} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
func.func @prefill_f16(%q: tensor<?x8x64xf16>, %k: tensor<?x8x64xf16>, %v: tensor<?x8x64xf16>, %slopes: tensor<8xf32>,
                       %cu: tensor<?xi32>, %states: tensor<?x8x64x64xf32>, %si: tensor<?xi32> {ds.name = "si"}, %hi: tensor<?xi32>)
    -> (tensor<?x8x64xf16>, tensor<?x8x64x64xf32>) {
  %o, %s = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %states, %si, %hi
    : (tensor<?x8x64xf16>, tensor<?x8x64xf16>, tensor<?x8x64xf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x64xf32>, tensor<?xi32>, tensor<?xi32>)
    -> (tensor<?x8x64xf16>, tensor<?x8x64x64xf32>)
  return %o, %s : tensor<?x8x64xf16>, tensor<?x8x64x64xf32>
}

// -----

// keep_intermediate: the recurrent kernel (one CTA per request and head), which also writes the
// state after every token; so does a shape the chunked kernel does not tile (d = 32).
// CHECK-LABEL: ds.plan @prefill_intermediate
// CHECK-SAME: "result1 out f32 align=16 q_d0 8 32 32"
// CHECK: ds.launch @ds_kernels::@prefill_intermediate_linear_attn_prefill_recurrent_0 {block = array<i64: 256, 1, 1>, grid = ["(si_d0)*8", "1", "1"]
// CHECK: gpu.func @prefill_intermediate_linear_attn_prefill_recurrent_0
// CHECK: scf.for
// CHECK: vector.store {{.*}} {alignment = 16 : i64} : memref<281474976710656xf32>, vector<4xf32>
// CHECK: gpu.barrier
// CHECK-NOT: nvvm.mma.sync
func.func @prefill_intermediate(%q: tensor<?x8x32xbf16> {ds.name = "q"}, %k: tensor<?x8x32xbf16>, %v: tensor<?x8x32xbf16>, %slopes: tensor<8xf32>,
                                %cu: tensor<?xi32>, %states: tensor<?x8x32x32xf32>, %si: tensor<?xi32> {ds.name = "si"}, %hi: tensor<?xi32>)
    -> (tensor<?x8x32xbf16>, tensor<?x8x32x32xf32>, tensor<?x8x32x32xf32>) {
  %o, %s, %i = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %states, %si, %hi {keep_intermediate}
    : (tensor<?x8x32xbf16>, tensor<?x8x32xbf16>, tensor<?x8x32xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x32x32xf32>, tensor<?xi32>, tensor<?xi32>)
    -> (tensor<?x8x32xbf16>, tensor<?x8x32x32xf32>, tensor<?x8x32x32xf32>)
  return %o, %s, %i : tensor<?x8x32xbf16>, tensor<?x8x32x32xf32>, tensor<?x8x32x32xf32>
}

// -----

// A kernel config other than 64-token chunks over 4 warps (here from chunk_size = 32) runs the
// recurrent kernel.
// CHECK-LABEL: ds.plan @prefill_chunk32
// CHECK: ds.launch @ds_kernels::@prefill_chunk32_linear_attn_prefill_recurrent_0 
// CHECK: gpu.func @prefill_chunk32_linear_attn_prefill_recurrent_0
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.return
func.func @prefill_chunk32(%q: tensor<?x8x128xbf16>, %k: tensor<?x8x128xbf16>, %v: tensor<?x8x128xbf16>, %slopes: tensor<8xf32>,
                           %cu: tensor<?xi32>, %states: tensor<?x8x128x128xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>)
    -> (tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>) {
  %o, %s = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %states, %si, %hi {chunk_size = 32 : i64}
    : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x128x128xf32>, tensor<?xi32>, tensor<?xi32>)
    -> (tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>)
  return %o, %s : tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>
}

// -----

// d = 96, e = 32: the tensor-core kernel on tiles padded to d = 128 and one 64-column block of e
// (2 * (2 * 64 * 128 + 64 * 64) + 128 * 64 elements = 98304 bytes); q and k columns past 96 and
// v columns past 32 are zero-filled (a cp.async of 0 bytes), state rows past 96 and columns past
// 32 are neither read nor written, o columns past 32 are not stored.
// CHECK-LABEL: ds.plan @prefill_padded
// CHECK: ds.launch @ds_kernels::@prefill_padded_linear_attn_prefill_chunked_0 {block = array<i64: 128, 1, 1>, grid = ["(si_d0)*8", "1", "1"]
// CHECK-SAME: smem = "98304"
// CHECK: gpu.func @prefill_padded_linear_attn_prefill_chunked_0
// CHECK: arith.cmpi ult, {{.*}}, %c96
// CHECK: arith.cmpi ult, {{.*}}, %c32
// CHECK: nvvm.mma.sync
func.func @prefill_padded(%q: tensor<?x8x96xbf16>, %k: tensor<?x8x96xbf16>, %v: tensor<?x8x32xbf16>, %slopes: tensor<8xf32>,
                          %cu: tensor<?xi32>, %states: tensor<?x8x96x32xf32>, %si: tensor<?xi32> {ds.name = "si"}, %hi: tensor<?xi32>)
    -> (tensor<?x8x32xbf16>, tensor<?x8x96x32xf32>) {
  %o, %s = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %states, %si, %hi
    : (tensor<?x8x96xbf16>, tensor<?x8x96xbf16>, tensor<?x8x32xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x96x32xf32>, tensor<?xi32>, tensor<?xi32>)
    -> (tensor<?x8x32xbf16>, tensor<?x8x96x32xf32>)
  return %o, %s : tensor<?x8x32xbf16>, tensor<?x8x96x32xf32>
}
