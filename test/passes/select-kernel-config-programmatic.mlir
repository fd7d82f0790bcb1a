// RUN: ds-opt %s --ds-select-kernel-config | FileCheck %s
// RUN: ds-opt %s --ds-select-kernel-config="programmatic-launch=0" | FileCheck %s --check-prefix=OFF
// RUN: ds-opt %s --ds-select-kernel-config="chip=sm_89" | FileCheck %s --check-prefix=OFF

// CHECK: func.func @decode({{.*}}attributes {ds.programmatic_launch, ds.target = #ds.target<chip = "sm_90"
// OFF: func.func @decode(
// OFF-NOT: ds.programmatic_launch
// OFF: ds.target = #ds.target
func.func @decode(%q: tensor<?x32x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x128xbf16> {
  %o = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.125 : f32}
      : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}
