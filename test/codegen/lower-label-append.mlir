// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1})' | FileCheck %s
// RUN: ds-opt %s --ds-to-ptx | FileCheck %s --check-prefix=PTX

// label_append updates the label cache in place: the cache argument becomes `inout`, the returned
// value is not an extra output, and slot_mapping's length is tied to new_k's token count (one
// symbol), so the runtime rejects a mismatch before launching.
// CHECK-LABEL: ds.plan @label_append
// CHECK-SAME: args = ["new_k in bf16 align=16 new_k_d0 8 128", "channels in i32 align=16 8 16", "slot_mapping in i32 align=16 new_k_d0", "label_cache inout bf16 align=16 8 label_cache_d1 16"]
// CHECK-SAME: symbols = ["new_k_d0 arg 0 dim 0", "label_cache_d1 arg 3 dim 1"], workspace = "0"
// CHECK: ds.launch {{.*}}grid = ["cdiv((new_k_d0)*128,256)", "1", "1"]
// CHECK: gpu.func @label_append_label_append_0(%{{.*}}: memref<281474976710656xbf16>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xbf16>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: i64, %{{.*}}: i64) kernel
// Out-of-range channels read 0, out-of-range slots are skipped.
// CHECK: arith.select
// CHECK: scf.if
// CHECK: memref.store
func.func @label_append(%new_k: tensor<?x8x128xbf16> {ds.name = "new_k"},
                        %channels: tensor<8x16xi32> {ds.name = "channels"},
                        %slot_mapping: tensor<?xi32> {ds.name = "slot_mapping"},
                        %label_cache: tensor<8x?x16xbf16> {ds.name = "label_cache"})
    -> tensor<8x?x16xbf16> {
  %0 = ds.label_append %label_cache, %new_k, %channels, %slot_mapping
      : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return %0 : tensor<8x?x16xbf16>
}

// PTX: gpu.binary @ds_kernels
// PTX-SAME: .entry label_append_label_append_0
