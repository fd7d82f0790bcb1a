// RUN: not ds-opt %s --ds-select-kernel-config="chip=sm_80" 2>&1 | FileCheck %s
// A function marked for programmatic dependent launch on a chip without griddepcontrol is
// refused, not compiled without it.

// CHECK: select-kernel-config-programmatic-sm80.mlir:[[@LINE+1]]:1: error: ds-select-kernel-config: ds.programmatic_launch needs griddepcontrol (sm_90 or newer); the target is sm_80
func.func @marked(%q: tensor<?x32x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x128xbf16>
    attributes {ds.programmatic_launch} {
  %o = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.125 : f32}
      : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}
