// The float ops convert-gpu-to-nvvm would lower to libdevice calls become LLVM intrinsics, so the
// PTX needs no CUDA toolkit (libdevice) to load: only the driver.
// RUN: ds-opt %s --pass-pipeline='builtin.module(gpu.module(ds-direct-float-math))' | FileCheck %s
// RUN: env -u CUDA_HOME -u CUDA_ROOT -u CUDA_PATH ds-opt %S/../../examples/double_sparsity.mlir --ds-to-ptx | FileCheck %s --check-prefix=PTX --implicit-check-not=__nv_
// RUN: env -u CUDA_HOME -u CUDA_ROOT -u CUDA_PATH ds-opt %S/../../examples/twilight.mlir --ds-to-ptx | FileCheck %s --check-prefix=PTX --implicit-check-not=__nv_

// CHECK-LABEL: gpu.func @k
// CHECK: llvm.intr.maxnum
// CHECK: llvm.intr.minnum
// CHECK: llvm.intr.fma
// CHECK-NOT: arith.maxnumf
// CHECK-NOT: arith.minnumf
// CHECK-NOT: math.fma
gpu.module @m {
  gpu.func @k(%a: f32, %b: f32, %c: f32, %p: memref<4xf32>) kernel {
    %0 = arith.maxnumf %a, %b : f32
    %1 = arith.minnumf %0, %c : f32
    %2 = math.fma %0, %1, %c : f32
    %i = arith.constant 0 : index
    memref.store %2, %p[%i] : memref<4xf32>
    gpu.return
  }
}

// PTX: .entry
// PTX: max.f32
// PTX: fma.rn.f32
