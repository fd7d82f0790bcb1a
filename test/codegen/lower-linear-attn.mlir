// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1})' | FileCheck %s
// RUN: ds-opt %s --ds-to-ptx | FileCheck %s --check-prefix=PTX

// The decode step updates its state slot in place (states is `inout`, only o is an output) and
// streams the state as 16-byte f32 vectors; warps' partial o meet in shared memory. At e = 128
// two CTAs share a state (64 columns each: grid B * H * 2, 32 warps x 64 partial o columns in
// shared memory), each thread loading its 2 rows of 4 columns at once.
// CHECK-LABEL: ds.plan @la_decode
// CHECK-SAME: "states inout f32 align=16 states_d0 64 128 128"
// CHECK-SAME: "result0 out bf16 align=16 q_d0 64 128"
// CHECK: ds.launch {{.*}}{block = array<i64: 1024, 1, 1>, grid = ["(q_d0)*128", "1", "1"]
// CHECK: gpu.func @la_decode_linear_attn_decode_0({{.*}}) workgroup(%{{.*}} : memref<2048xf32, #gpu.address_space<workgroup>>
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"
// CHECK-COUNT-2: vector.load %arg5[{{.*}}] {alignment = 16 : i64} : memref<281474976710656xf32>, vector<4xf32>
// CHECK-NOT: vector.load %arg5
// CHECK: vector.store {{.*}}, %arg5[{{.*}}] {alignment = 16 : i64} : memref<281474976710656xf32>, vector<4xf32>
// CHECK: gpu.barrier
func.func @la_decode(%q: tensor<?x64x128xbf16> {ds.name = "q"}, %k: tensor<?x64x128xbf16> {ds.name = "k"},
                     %v: tensor<?x64x128xbf16> {ds.name = "v"}, %slopes: tensor<64xf32> {ds.name = "slopes"},
                     %states: tensor<?x64x128x128xf32> {ds.name = "states"}, %idx: tensor<?xi32> {ds.name = "state_indices"})
    -> (tensor<?x64x128xbf16>, tensor<?x64x128x128xf32>) {
  %o, %s = ds.linear_attn_decode %q, %k, %v, %slopes, %states, %idx
    : (tensor<?x64x128xbf16>, tensor<?x64x128xbf16>, tensor<?x64x128xbf16>, tensor<64xf32>, tensor<?x64x128x128xf32>, tensor<?xi32>)
    -> (tensor<?x64x128xbf16>, tensor<?x64x128x128xf32>)
  return %o, %s : tensor<?x64x128xbf16>, tensor<?x64x128x128xf32>
}

// PTX: gpu.binary @ds_kernels
// PTX-SAME: ld.global.v4.b32
// PTX-SAME: st.global.v4.b32
