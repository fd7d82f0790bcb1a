// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1})' | FileCheck %s
// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1 programmatic-launch=0})' | FileCheck %s --check-prefix=OFF
// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1 chip=sm_89})' | FileCheck %s --check-prefix=OFF
// RUN: ds-opt %s --ds-to-ptx | FileCheck %s --check-prefix=PTX

// Programmatic dependent launch on sm_90+ (the default): the kernels after the first wait for
// the previous one before anything else, and every kernel lets the next one launch as its CTAs
// finish; only the waiting launches are marked `programmatic`. Off when asked and on chips
// without griddepcontrol.
// CHECK-LABEL: ds.plan @dense
// CHECK: ds.launch @ds_kernels::@dense_decode_partial_{{[0-9]+}} {{.*}}params = [{{[^]]*}}], smem =
// CHECK: ds.launch @ds_kernels::@dense_decode_merge_{{[0-9]+}} {{.*}}params = [{{[^]]*}}], programmatic, smem =
// CHECK: gpu.func @dense_decode_partial_{{[0-9]+}}
// CHECK-NOT: griddepcontrol.wait
// CHECK: nvvm.griddepcontrol launch_dependents
// CHECK-NEXT: gpu.return
// CHECK: gpu.func @dense_decode_merge_{{[0-9]+}}
// CHECK-NEXT: llvm.inline_asm has_side_effects "griddepcontrol.wait;", "~{memory}"
// CHECK: nvvm.griddepcontrol launch_dependents
// CHECK-NEXT: gpu.return

// OFF-NOT: programmatic
// OFF-NOT: griddepcontrol

// In the PTX the wait comes before the kernel's first global access (the memory clobber keeps
// every load below it).
// PTX: gpu.binary @ds_kernels
// PTX-SAME: .entry dense_decode_partial_{{[0-9]+}}(
// PTX-NOT: griddepcontrol.wait
// PTX-SAME: griddepcontrol.launch_dependents;
// PTX-SAME: .entry dense_decode_merge_{{[0-9]+}}(
// PTX-NOT: ld.global
// PTX-SAME: griddepcontrol.wait;
// PTX-SAME: ld.global
// PTX-SAME: griddepcontrol.launch_dependents;
func.func @dense(%q: tensor<?x32x128xbf16> {ds.name = "q"}, %k: tensor<?x16x8x128xbf16>, %v: tensor<?x16x8x128xbf16>,
                 %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x128xbf16> {
  %o = ds.dense_decode %q, %k, %v, %pt, %sl {scale = 0.0883883461 : f32}
     : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}

// A decode after a selection: the request's length and q (pipeline inputs no kernel of it
// writes) are loaded before the wait, the selection and the caches after it. The first op's
// kernels (the top-k's variants, only one of which runs) wait at their entry: what runs before
// them on the stream is not this pipeline's.
// CHECK: gpu.func @select_then_decode_topk_1(
// CHECK-NEXT: llvm.inline_asm has_side_effects "griddepcontrol.wait;", "~{memory}"
// CHECK: gpu.func @select_then_decode_decode_partial_{{[0-9]+}}(
// CHECK-NOT: griddepcontrol.wait
// CHECK: memref.load %arg4
// CHECK-NOT: griddepcontrol.wait
// CHECK: vector.load %arg0
// CHECK-NOT: memref.load %arg5
// CHECK: llvm.inline_asm has_side_effects "griddepcontrol.wait;", "~{memory}"
// CHECK: memref.load %arg5
// CHECK: gpu.func @select_then_decode_decode_merge_{{[0-9]+}}(
// CHECK-NEXT: llvm.inline_asm has_side_effects "griddepcontrol.wait;", "~{memory}"
// OFF-NOT: ds.dependency_wait
// PTX: .entry select_then_decode_decode_partial_{{[0-9]+}}(
// PTX-SAME: ld.global.v4
// PTX-SAME: griddepcontrol.wait;
func.func @select_then_decode(%s: tensor<?x32x?xf32>, %q: tensor<?x32x128xbf16>, %k: tensor<?x16x32x128xbf16>,
                              %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x128xbf16> {
  %idx = ds.topk %s, %sl {k = 64 : i64} : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x32x64xi32>
  %o = ds.sparse_decode %q, %k, %k, %pt, %sl, %idx {scale = 0.125 : f32}
     : (tensor<?x32x128xbf16>, tensor<?x16x32x128xbf16>, tensor<?x16x32x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}
