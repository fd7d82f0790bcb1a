// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{sm-count=256 stop-after-lowering=1})' | FileCheck %s
// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{sm-count=256})' | FileCheck %s --check-prefix=PTX
// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{chip=sm_90a sm-count=256 stop-after-lowering=1 override=linear_attn_prefill.warps=4})' | FileCheck %s --check-prefix=WG
// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{chip=sm_90a sm-count=256 stop-after-lowering=1})' | FileCheck %s --check-prefix=WG2

// The segment split (config splits = S > 1; sm_90 with 256 SMs, H = 64 heads x 2 column
// blocks: S = 256 / 128 = 2; on the H200's 132 SMs these 128 CTAs fill the chip unsplit).
// Workspace: B x S states [64, 128, 128] of f32 (2 * 64 * 128 * 128 floats a request). Pass 1
// (states) on grid y = S - 1 reads K and V only (no Q copies, no ldmatrix of Q) and writes what
// each segment but a request's last leaves; pass 2 (the chunked kernel on grid y = S) waits for
// it (programmatic launch: griddepcontrol.wait) and writes o and, from the request's last
// segment, the final state.
// CHECK-LABEL: ds.plan @prefill
// CHECK-SAME: workspace = "(0)+cdiv(4*((state_indices_d0)*2097152),256)*256"
// CHECK: ds.launch @ds_kernels::@prefill_linear_attn_prefill_states_0 {block = array<i64: 128, 1, 1>, grid = ["(state_indices_d0)*128", "1", "1"]
// CHECK-SAME: "ptr arg 8", "ptr ws 0", "i32 q_d0"
// CHECK: ds.launch @ds_kernels::@prefill_linear_attn_prefill_chunked_1 {block = array<i64: 128, 1, 1>, grid = ["(state_indices_d0)*128", "2", "1"]
// CHECK-SAME: "ptr arg 8", "ptr ws 0", "i32 q_d0"
// CHECK-SAME: programmatic
// CHECK: gpu.func @prefill_linear_attn_prefill_states_0
// CHECK: gpu.block_id y
// K (8 copies a thread) and V (4), for the first chunk and for the prefetch of the next: a
// chunk wholly inside the CTA's tokens copies whole pieces (a constant 8 elements each, no
// bounds), any other checks each piece against the tokens' end (zero-filled past it).
// CHECK: arith.cmpi ule
// CHECK-NEXT: scf.if
// CHECK-COUNT-8: nvgpu.device_async_copy %arg1[{{.*}}], 8, %c8
// CHECK-NEXT: } else {
// CHECK-COUNT-8: nvgpu.device_async_copy %arg1[{{.*}}], 8, %{{[0-9]+}} {bypassL1}
// CHECK: arith.cmpi ule
// CHECK-NEXT: scf.if
// CHECK-COUNT-4: nvgpu.device_async_copy %arg2[{{.*}}], 8, %c8
// CHECK-NEXT: } else {
// CHECK-COUNT-4: nvgpu.device_async_copy %arg2[{{.*}}], 8, %{{[0-9]+}} {bypassL1}
// CHECK: arith.cmpi ule
// CHECK-NEXT: scf.if
// CHECK-COUNT-8: nvgpu.device_async_copy %arg1[{{.*}}], 8, %c8
// CHECK-NEXT: } else {
// CHECK-COUNT-8: nvgpu.device_async_copy %arg1[{{.*}}], 8, %{{[0-9]+}} {bypassL1}
// CHECK: arith.cmpi ule
// CHECK-NEXT: scf.if
// CHECK-COUNT-4: nvgpu.device_async_copy %arg2[{{.*}}], 8, %c8
// CHECK-NEXT: } else {
// CHECK-COUNT-4: nvgpu.device_async_copy %arg2[{{.*}}], 8, %{{[0-9]+}} {bypassL1}
// CHECK-NOT: nvgpu.device_async_copy
// CHECK-NOT: transpose = false
// CHECK: gpu.return
// CHECK: gpu.func @prefill_linear_attn_prefill_chunked_1
// CHECK: gpu.block_id y
// CHECK: nvgpu.device_async_copy %arg0
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false}
// The warpgroup-MMA kernel (sm_90a; one warpgroup: warps = 4) splits the same way; its states
// pass issues only the state's products (two m64 halves x 4 key steps a chunk).
// WG-LABEL: ds.plan @prefill
// WG-SAME: workspace = "(0)+cdiv(4*((state_indices_d0)*2097152),256)*256"
// WG: ds.launch @ds_kernels::@prefill_linear_attn_prefill_wgmma_states_0 {{.*}}grid = ["state_indices_d0*128", "1", "1"]
// WG: ds.launch @ds_kernels::@prefill_linear_attn_prefill_wgmma_1 {{.*}}grid = ["state_indices_d0*128", "2", "1"]
// WG-SAME: programmatic
// WG: gpu.func @prefill_linear_attn_prefill_wgmma_states_0
// WG-COUNT-8: nvvm.wgmma.mma_async {{.*}} A[<bf16>, <one>, <col>], B[<bf16>, <one>, <row>]
// WG-NOT: nvvm.wgmma.mma_async
// WG: gpu.func @prefill_linear_attn_prefill_wgmma_1
// WG-COUNT-16: nvvm.wgmma.mma_async {{.*}} A[<bf16>, <one>, <row>]
// On two warpgroups (warps = 8, the config pass's choice, at four stages) the states pass is
// warpgroup 1's chain alone: its products, no S_prev slot written (no output warpgroup reads
// one), no output products; K and V copied by warpgroup 0 (threads 0 to 127, which have no outputs
// to compute: 8 + 4 copies a thread), off the state's chain. Each
// pass has a one-warpgroup kernel (two stages) beside it, the grids gated on the outputs pass's
// CTAs (B x 128 x 2 segments) against the 256 SMs: one request runs on two warpgroups, more on
// one. Launch order: the states passes, then the outputs passes.
// WG2: ds.launch @ds_kernels::@prefill_linear_attn_prefill_wgmma_states_0 {block = array<i64: 128, 1, 1>, grid = ["(state_indices_d0*128)*(1-min(max(257-(state_indices_d0*256),0),1))", "1", "1"]
// WG2: ds.launch @ds_kernels::@prefill_linear_attn_prefill_wgmma_states_2wg_1 {block = array<i64: 256, 1, 1>, grid = ["(state_indices_d0*128)*min(max(257-(state_indices_d0*256),0),1)", "1", "1"]
// WG2: ds.launch @ds_kernels::@prefill_linear_attn_prefill_wgmma_2 {block = array<i64: 128, 1, 1>, grid = ["(state_indices_d0*128)*(1-min(max(257-(state_indices_d0*256),0),1))", "2", "1"]
// WG2-SAME: programmatic
// WG2: ds.launch @ds_kernels::@prefill_linear_attn_prefill_wgmma_2wg_3 {block = array<i64: 256, 1, 1>, grid = ["(state_indices_d0*128)*min(max(257-(state_indices_d0*256),0),1)", "2", "1"]
// WG2-SAME: programmatic
// WG2: gpu.func @prefill_linear_attn_prefill_wgmma_states_2wg_1
// WG2: %[[COPIER:.*]] = arith.cmpi ult, %thread_id_x, %{{.*}} : index
// WG2-NEXT: %[[COPY:.*]] = arith.andi %{{.*}}, %[[COPIER]] : i1
// WG2-NEXT: scf.if %[[COPY]] {
// WG2-COUNT-8: nvgpu.device_async_copy %arg1[{{.*}}], 8, %c8
// WG2-NEXT: } else {
// WG2-COUNT-8: nvgpu.device_async_copy %arg1[{{.*}}], 8, %{{[0-9]+}} {bypassL1}
// WG2-NOT: nvgpu.device_async_copy %arg1
// WG2-COUNT-4: nvgpu.device_async_copy %arg2[{{.*}}], 8, %c8
// WG2-NEXT: } else {
// WG2-COUNT-4: nvgpu.device_async_copy %arg2[{{.*}}], 8, %{{[0-9]+}} {bypassL1}
// WG2-NOT: nvgpu.device_async_copy %arg2
// WG2: nvvm.cp.async.commit.group
// WG2-NOT: nvgpu.device_async_copy %arg0
// WG2: nvvm.barrier id = %{{.*}} number_of_threads = %{{.*}}
// WG2-COUNT-8: nvvm.wgmma.mma_async {{.*}} A[<bf16>, <one>, <col>], B[<bf16>, <one>, <row>]
// WG2: nvvm.wgmma.wait.group.sync.aligned 0
// WG2-NOT: nvvm.wgmma.mma_async
// WG2: gpu.func @prefill_linear_attn_prefill_wgmma_2
// WG2: gpu.func @prefill_linear_attn_prefill_wgmma_2wg_3
// PTX: .entry prefill_linear_attn_prefill_states_0
// PTX-NOT: griddepcontrol.wait
// PTX: .entry prefill_linear_attn_prefill_chunked_1
// PTX: griddepcontrol.wait
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
