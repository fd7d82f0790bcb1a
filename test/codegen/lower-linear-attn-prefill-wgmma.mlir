// RUN: ds-opt %s --split-input-file --pass-pipeline='builtin.module(ds-to-ptx{chip=sm_90a sm-count=1 stop-after-lowering=1})' | FileCheck %s
// RUN: ds-opt %s --split-input-file --pass-pipeline='builtin.module(ds-to-ptx{chip=sm_90a sm-count=1})' | FileCheck %s --check-prefix=PTX
// One SM: no segment split (lower-linear-attn-prefill-split.mlir has it).

// sm_90a, d = e = 128: the warpgroup-MMA kernel, one CTA of one warpgroup per (request, head,
// 64 columns of e); dynamic shared memory from its first 1024-byte boundary: two stages of Q, K
// and V, then S_prev and the decay-weighted V ((2 * (2 * 64 * 128 + 64 * 64) + 128 * 64 +
// 64 * 64) * 2 + 1024 = 107520 bytes); P stays in registers.
// The config pass's warps = 8, stages = 4: the plan also holds the two-warpgroup kernel at four
// stages (below, in @prefill_two_warpgroups at two) and gates the grids by whether B x 64 x 2
// CTAs fit the SMs once (one SM here); the one-warpgroup kernel keeps two stages.
// CHECK-LABEL: ds.plan @prefill
// CHECK: ds.launch @ds_kernels::@prefill_linear_attn_prefill_wgmma_0 {block = array<i64: 128, 1, 1>, grid = ["(state_indices_d0*128)*(1-min(max(2-(state_indices_d0*128),0),1))", "1", "1"]
// CHECK-SAME: smem = "107520"
// CHECK: ds.launch @ds_kernels::@prefill_linear_attn_prefill_wgmma_2wg_1 {block = array<i64: 256, 1, 1>, grid = ["(state_indices_d0*128)*min(max(2-(state_indices_d0*128),0),1)", "1", "1"]
// CHECK-SAME: smem = "214016"
// CHECK: gpu.func @prefill_linear_attn_prefill_wgmma_0
// CHECK: nvgpu.device_async_copy {{.*}}, 8, {{.*}} {bypassL1}
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK: gpu.barrier
// The next chunk's copies (one commit group a chunk slot) first, then the chunk's products.
// CHECK: nvgpu.device_async_copy
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.wgmma.fence.aligned
// Each operand's descriptor: a 32-bit low half (the dynamic shared memory's, plus the operand's
// 16-byte units) widened and or'ed with the stride offset and swizzle bits (0x4000004000000000).
// CHECK: arith.addi %{{.*}}, %{{.*}} : i32
// CHECK-NEXT: %[[LOW:.*]] = arith.addi %{{.*}}, %{{.*}} : i32
// CHECK-NEXT: %{{.*}} = arith.constant 4611686293305294848 : i64
// CHECK-NEXT: %[[WIDE:.*]] = arith.extui %[[LOW]] : i32 to i64
// CHECK-NEXT: arith.ori %[[WIDE]], %{{.*}} : i64
// O = Q S_prev (A K-major, B N-major), then P = Q Kᵀ (both K-major), 8 k16 steps each.
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>, D[<f32>, <zero>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>]
// CHECK-COUNT-7: nvvm.wgmma.mma_async {{.*}} D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>]
// CHECK: nvvm.wgmma.mma_async {{.*}} D[<f32>, <zero>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-COUNT-7: nvvm.wgmma.mma_async {{.*}} D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// While they run, Vw; the accumulators after the wait go through an empty asm (ptxas must not
// read them before it).
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: llvm.inline_asm has_side_effects "", "=f
// Vw published to the async proxy, then O += P V with P as the register A operand (4 steps over
// the keys, as inline asm since the NVVM op takes A from shared memory only) and the two m64 halves of
// S += Kᵀ Vw (A M-major).
// CHECK: nvvm.fence.proxy
// CHECK: gpu.barrier
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: llvm.inline_asm has_side_effects "{{.*}}wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{.*}}, {$64, $65, $66, $67}, $68, p, 1, 1, 1;
// CHECK-NOT: nvvm.wgmma.mma_async {{.*}} B[<bf16>, <one>, <row>]
// CHECK-COUNT-8: nvvm.wgmma.mma_async {{.*}} D[<f32>, <one>], A[<bf16>, <one>, <col>], B[<bf16>, <one>, <row>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NOT: nvvm.wgmma.mma_async
// CHECK: gpu.return
// At four stages the two-warpgroup kernel's state warpgroup weights V a chunk ahead: each chunk
// waits for its own and the next chunk's copies (one group of three pending); the state
// warpgroup weights chunk 0's V before its first product (published by named barrier 1), then
// each next chunk's V into the other of two Vw tiles while its product runs ((4 * (2 * 64 * 128
// + 64 * 64) + 2 * 128 * 64 + 2 * 64 * 64) * 2 + 1024 = 214016 bytes).
// CHECK: gpu.func @prefill_linear_attn_prefill_wgmma_2wg_1
// CHECK: scf.for
// CHECK-NEXT: nvvm.cp.async.wait.group 1
// CHECK-NEXT: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.cp.async.commit.group
// CHECK: scf.if %{{.*}} -> (f32
// CHECK: scf.if
// CHECK-COUNT-4: arith.truncf {{.*}} : vector<8xf32> to vector<8xbf16>
// CHECK: nvvm.fence.proxy
// CHECK: nvvm.barrier id = %{{.*}} number_of_threads = %{{.*}}
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-8: nvvm.wgmma.mma_async {{.*}} D[<f32>, <one>], A[<bf16>, <one>, <col>], B[<bf16>, <one>, <row>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NOT: nvvm.wgmma.wait.group
// CHECK: scf.if
// CHECK-COUNT-4: arith.truncf {{.*}} : vector<8xf32> to vector<8xbf16>
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// S_c into its slot by eight stmatrix.x4 a thread (2 m64 tiles x 4 pairs of 8-column groups).
// CHECK-COUNT-8: nvvm.stmatrix {{.*}} {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<row>, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>} : !llvm.ptr<3>, i32, i32, i32, i32
// CHECK-NOT: nvvm.stmatrix
// CHECK: scf.yield
// PTX: gpu.binary @ds_kernels
// PTX-SAME: .target sm_90a
// PTX-SAME: cp.async.cg.shared.global
// PTX-SAME: fence.proxy.async.shared::cta
// PTX-SAME: wgmma.fence.sync.aligned
// PTX-SAME: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// PTX-SAME: wgmma.commit_group.sync.aligned
// PTX-SAME: wgmma.wait_group.sync.aligned
// PTX-SAME: stmatrix.sync.aligned.m8n8.x4.shared.b16
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

// f16, d = 40 (padded to 64: one m64 half of S), e = 72 (two column blocks, the second
// padded): (2 * (2 * 64 * 64 + 64 * 64) + 64 * 64 + 64 * 64) * 2 + 1024 = 66560 bytes.
// CHECK-LABEL: ds.plan @prefill_f16
// CHECK: ds.launch {{.*}}grid = ["(si_d0*16)*(1-min(max(2-(si_d0*16),0),1))", "1", "1"]
// CHECK-SAME: smem = "66560"
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}} A[<f16>, <one>, <row>], B[<f16>, <one>, <row>]
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}} A[<f16>, <one>, <row>], B[<f16>, <one>, <col>]
// CHECK-COUNT-4: llvm.inline_asm has_side_effects "{{.*}}wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}} A[<f16>, <one>, <col>], B[<f16>, <one>, <row>]
// CHECK-NOT: nvvm.wgmma.mma_async
// CHECK: gpu.func @prefill_f16_linear_attn_prefill_wgmma_2wg_1
// PTX: wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16
func.func @prefill_f16(%q: tensor<?x8x40xf16>, %k: tensor<?x8x40xf16>, %v: tensor<?x8x72xf16>, %slopes: tensor<8xf32>,
                       %cu: tensor<?xi32>, %states: tensor<?x8x40x72xf32>, %si: tensor<?xi32> {ds.name = "si"}, %hi: tensor<?xi32>)
    -> (tensor<?x8x72xf16>, tensor<?x8x40x72xf32>) {
  %o, %s = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %states, %si, %hi
    : (tensor<?x8x40xf16>, tensor<?x8x40xf16>, tensor<?x8x72xf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x40x72xf32>, tensor<?xi32>, tensor<?xi32>)
    -> (tensor<?x8x72xf16>, tensor<?x8x40x72xf32>)
  return %o, %s : tensor<?x8x72xf16>, tensor<?x8x40x72xf32>
}

// -----

// stages = 4 (a config the user gives): four chunks of Q, K and V in flight, three of them loaded
// (and committed, an empty group past the request's chunks) before the loop, which waits until
// at most two groups are pending and loads the chunk three ahead before its first products:
// (4 * (2 * 64 * 128 + 64 * 64) + 128 * 64 + 64 * 64) * 2 + 1024
// = 189440 bytes.
// CHECK-LABEL: ds.plan @prefill_stages
// CHECK: ds.launch {{.*}}grid = ["si_d0*16", "1", "1"]
// CHECK-SAME: smem = "189440"
// CHECK-COUNT-3: nvvm.cp.async.commit.group
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group 2
// CHECK: gpu.barrier
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.wgmma.fence.aligned
// CHECK: nvvm.wgmma.commit.group.sync.aligned
func.func @prefill_stages(%q: tensor<?x8x128xbf16>, %k: tensor<?x8x128xbf16>, %v: tensor<?x8x128xbf16>, %slopes: tensor<8xf32>,
                          %cu: tensor<?xi32>, %states: tensor<?x8x128x128xf32>, %si: tensor<?xi32> {ds.name = "si"}, %hi: tensor<?xi32>)
    -> (tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>) {
  %o, %s = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %states, %si, %hi
      {config = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 4, vector_width = 8, variant = "wgmma">}
    : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x128x128xf32>, tensor<?xi32>, tensor<?xi32>)
    -> (tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>)
  return %o, %s : tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>
}

// -----

// warps = 8 (the config pass's choice on sm_90a; given here): two warpgroups of one CTA. Warpgroup 1 (threads 128 and
// up) keeps the state: it loads it, leaves S_(-1) in slot 1 for chunk 0's outputs, and per chunk
// publishes Vw to itself (named barrier 1 of 128 threads), runs S += Kᵀ Vw and writes S_c to slot
// c % 2. Warpgroup 0 runs chunk c's outputs from slot (c + 1) % 2 at the same time: P = Q Kᵀ
// committed before O = Q S_prev, so that the mask waits for P only. One barrier of the CTA per
// chunk. Two S_prev slots: (2 * (2 * 64 * 128 + 64 * 64) + 2 * 128 * 64 + 64 * 64) * 2 + 1024 =
// 123904 bytes: one CTA an SM. The plan also holds the one-warpgroup kernel (two CTAs an SM) and
// gates the grids: two warpgroups where the launch's CTAs (B x 8 heads x 2 column blocks) fit the
// SMs once (one SM here: never for a request), one warpgroup past that.
// CHECK-LABEL: ds.plan @prefill_two_warpgroups
// CHECK: ds.launch @ds_kernels::@prefill_two_warpgroups_linear_attn_prefill_wgmma_0 {block = array<i64: 128, 1, 1>, grid = ["(si_d0*16)*(1-min(max(2-(si_d0*16),0),1))", "1", "1"]
// CHECK-SAME: smem = "107520"
// CHECK: ds.launch @ds_kernels::@prefill_two_warpgroups_linear_attn_prefill_wgmma_2wg_1 {block = array<i64: 256, 1, 1>, grid = ["(si_d0*16)*min(max(2-(si_d0*16),0),1)", "1", "1"]
// CHECK-SAME: smem = "123904"
// CHECK: gpu.func @prefill_two_warpgroups_linear_attn_prefill_wgmma_0
// CHECK-NOT: arith.cmpi uge, %thread_id_x, %c128
// CHECK: gpu.func @prefill_two_warpgroups_linear_attn_prefill_wgmma_2wg_1
// CHECK: %[[STATE:.*]] = arith.cmpi uge, %thread_id_x, %c128
// CHECK: scf.if %[[STATE]] -> (f32
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: nvvm.fence.proxy
// CHECK: gpu.barrier
// CHECK: nvvm.cp.async.commit.group
// CHECK: scf.if %[[STATE]] -> (f32
// CHECK-NOT: gpu.barrier
// CHECK: nvvm.fence.proxy
// CHECK: nvvm.barrier id = %{{.*}} number_of_threads = %{{.*}}
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-8: nvvm.wgmma.mma_async {{.*}} D[<f32>, <one>], A[<bf16>, <one>, <col>], B[<bf16>, <one>, <row>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: scf.yield
// CHECK-NOT: gpu.barrier
// CHECK: nvvm.wgmma.fence.aligned
// CHECK: nvvm.wgmma.mma_async {{.*}} D[<f32>, <zero>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-COUNT-7: nvvm.wgmma.mma_async {{.*}} D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.wgmma.mma_async {{.*}} D[<f32>, <zero>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>]
// CHECK-COUNT-7: nvvm.wgmma.mma_async {{.*}} D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: llvm.inline_asm has_side_effects "{{.*}}wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NOT: gpu.barrier
// CHECK: scf.yield
// CHECK-NOT: nvvm.wgmma.mma_async
// CHECK: gpu.return
// PTX: bar.sync {{[^;]*}}1, 128;
func.func @prefill_two_warpgroups(%q: tensor<?x8x128xbf16>, %k: tensor<?x8x128xbf16>, %v: tensor<?x8x128xbf16>, %slopes: tensor<8xf32>,
                                  %cu: tensor<?xi32>, %states: tensor<?x8x128x128xf32>, %si: tensor<?xi32> {ds.name = "si"}, %hi: tensor<?xi32>)
    -> (tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>) {
  %o, %s = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %states, %si, %hi
      {config = #ds.kernel_config<block_tokens = 64, warps = 8, splits = 1, stages = 2, vector_width = 8, variant = "wgmma">}
    : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x128x128xf32>, tensor<?xi32>, tensor<?xi32>)
    -> (tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>)
  return %o, %s : tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>
}

// -----

// warps = 12: three warpgroups of one CTA (384 threads, .minnctapersm 1: one CTA an SM), four
// stages. Warpgroup 0 (threads below 128) keeps the state: it loads it, leaves S_(-1) in slot 2,
// gives registers away (setmaxnreg 120) and in step t computes S_t into slot t % 3 from Vw_t
// (weighted by itself, and published by named barrier 1 of 128 threads, for t = 0 only).
// Warpgroups 1 and 2 (setmaxnreg 192) compute the outputs of even and odd chunks, each over two
// steps: step c issues P = Q Kᵀ and O = Q S_(c-1) and weights Vw_(c+1) while they run; step
// c + 1, past its barrier with the products in flight, masks P and adds P V. They issue every
// copy (chunk s + 2 in step s, waited for in step s - 1). Three S_prev slots and two Vw:
// (4 * (2 * 64 * 128 + 64 * 64) + 3 * 128 * 64 + 2 * 64 * 64) * 2 + 1024 = 230400 bytes.
// CHECK-LABEL: ds.plan @prefill_three_warpgroups
// CHECK: ds.launch @ds_kernels::@prefill_three_warpgroups_linear_attn_prefill_wgmma_0 {block = array<i64: 128, 1, 1>, grid = ["(si_d0*16)*(1-min(max(2-(si_d0*16),0),1))", "1", "1"]
// CHECK-SAME: smem = "107520"
// CHECK: ds.launch @ds_kernels::@prefill_three_warpgroups_linear_attn_prefill_wgmma_3wg_1 {block = array<i64: 384, 1, 1>, grid = ["(si_d0*16)*min(max(2-(si_d0*16),0),1)", "1", "1"]
// CHECK-SAME: smem = "230400"
// CHECK: gpu.func @prefill_three_warpgroups_linear_attn_prefill_wgmma_3wg_1
// CHECK-SAME: nvvm.minctasm = 1
// CHECK: %[[STATE:.*]] = arith.cmpi ult, %thread_id_x, %c128
// CHECK: scf.if %[[STATE]] -> (f32
// CHECK: gpu.barrier
// The state's warpgroup: one barrier a step, no copies, S += Kᵀ Vw.
// CHECK: scf.if %[[STATE]] {
// CHECK-NEXT: nvvm.setmaxregister decrease 120
// CHECK: scf.for
// CHECK-NEXT: nvvm.cp.async.wait.group 0
// CHECK-NEXT: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// CHECK-NOT: nvvm.cp.async.commit.group
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %{{.*}}, %c0
// CHECK-NEXT: scf.if %[[FIRST]] {
// CHECK: nvvm.fence.proxy
// CHECK: nvvm.barrier id = %{{.*}} number_of_threads = %{{.*}}
// CHECK-NEXT: }
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-8: nvvm.wgmma.mma_async {{.*}} D[<f32>, <one>], A[<bf16>, <one>, <col>], B[<bf16>, <one>, <row>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NOT: gpu.barrier
// CHECK: scf.yield
// The last step's barrier (the last chunk's outputs), then the final state.
// CHECK-NEXT: }
// CHECK-NEXT: nvvm.cp.async.wait.group 0
// CHECK-NEXT: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// The output warpgroups: the first two chunks' copies, step 0's barrier for the odd one, then
// two steps a chunk (chunks x, x + 2, ...), the products issued in the first left in flight
// across the second's barrier and copies.
// CHECK: } else {
// CHECK-NEXT: nvvm.setmaxregister increase 192
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.cp.async.commit.group
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c2
// CHECK: gpu.barrier
// CHECK: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.wgmma.fence.aligned
// CHECK-COUNT-8: nvvm.wgmma.mma_async {{.*}} A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-COUNT-8: nvvm.wgmma.mma_async {{.*}} A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// Vw of the next chunk (where there is one) while they run.
// CHECK-NEXT: arith.constant 1
// CHECK-NEXT: %[[NEXT:.*]] = arith.addi
// CHECK-NEXT: %[[HASNEXT:.*]] = arith.cmpi ult, %[[NEXT]]
// CHECK-NEXT: scf.if %[[HASNEXT]] {
// CHECK-NOT: nvvm.wgmma.wait
// CHECK: vector.store
// CHECK-NOT: nvvm.wgmma.wait
// CHECK: gpu.barrier
// CHECK: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: llvm.inline_asm has_side_effects "{{.*}}wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NOT: gpu.barrier
// One more step where numChunks + x is even: every thread passes numChunks + 1 barriers.
// CHECK: %[[PARITY:.*]] = arith.remui %{{.*}}, %c2
// CHECK-NEXT: %[[EVEN:.*]] = arith.cmpi eq, %[[PARITY]], %c0
// CHECK-NEXT: scf.if %[[EVEN]] {
// CHECK-NEXT: nvvm.cp.async.wait.group 0
// CHECK-NEXT: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// CHECK: gpu.return
// ptxas gets the register count at entry that setmaxnreg needs.
// (The PTX is one escaped string: the checks below follow each other in it.)
// PTX: .entry prefill_three_warpgroups_linear_attn_prefill_wgmma_3wg_1
// PTX-SAME: .maxntid 384, 1, 1\0A.minnctapersm 1
// PTX-SAME: setmaxnreg.dec.sync.aligned.u32 {{[^;]*}}120;
// PTX-SAME: setmaxnreg.inc.sync.aligned.u32 {{[^;]*}}192;
func.func @prefill_three_warpgroups(%q: tensor<?x8x128xbf16>, %k: tensor<?x8x128xbf16>, %v: tensor<?x8x128xbf16>, %slopes: tensor<8xf32>,
                                    %cu: tensor<?xi32>, %states: tensor<?x8x128x128xf32>, %si: tensor<?xi32> {ds.name = "si"}, %hi: tensor<?xi32>)
    -> (tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>) {
  %o, %s = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %states, %si, %hi
      {config = #ds.kernel_config<block_tokens = 64, warps = 12, splits = 1, stages = 4, vector_width = 8, variant = "wgmma">}
    : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x128x128xf32>, tensor<?xi32>, tensor<?xi32>)
    -> (tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>)
  return %o, %s : tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>
}

// -----

// A static batch folds the gates: one request of 8 heads x 2 column blocks is 16 CTAs, more
// than the one SM here, so only the one-warpgroup kernel is built (no grid to gate).
// CHECK-LABEL: ds.plan @prefill_one_request
// CHECK: ds.launch @ds_kernels::@prefill_one_request_linear_attn_prefill_wgmma_0 {block = array<i64: 128, 1, 1>, grid = ["16", "1", "1"]
// CHECK-NOT: ds.launch
// CHECK: gpu.module
// CHECK-NOT: wg_1
// CHECK: gpu.func @prefill_one_request_linear_attn_prefill_wgmma_0
// CHECK-NOT: gpu.func
func.func @prefill_one_request(%q: tensor<?x8x128xbf16>, %k: tensor<?x8x128xbf16>, %v: tensor<?x8x128xbf16>, %slopes: tensor<8xf32>,
                               %cu: tensor<2xi32>, %states: tensor<?x8x128x128xf32>, %si: tensor<1xi32>, %hi: tensor<1xi32>)
    -> (tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>) {
  %o, %s = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %states, %si, %hi
    : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<8xf32>, tensor<2xi32>, tensor<?x8x128x128xf32>, tensor<1xi32>, tensor<1xi32>)
    -> (tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>)
  return %o, %s : tensor<?x8x128xbf16>, tensor<?x8x128x128xf32>
}
