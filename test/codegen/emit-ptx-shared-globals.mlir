// ds-emit-ptx joins kernel modules that each carry a copy of one initialized global: the PTX
// declares it once (its `= { ... }` initializer is not taken for a function body).
// RUN: ds-opt %s --ds-emit-ptx | FileCheck %s

// CHECK: gpu.binary @ds_kernels
// CHECK-SAME: .global .align 4 .b8 table[16] = {1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4};
// CHECK-NOT: table[16]
// CHECK-SAME: .entry ka(
// CHECK-NOT: table[16]
// CHECK-SAME: .entry kb(
// CHECK-NOT: table[16]
module {
  gpu.module @a {
    llvm.mlir.global internal constant @table(dense<[1, 2, 3, 4]> : tensor<4xi32>) {addr_space = 1 : i32} : !llvm.array<4 x i32>
    llvm.func @ka(%p: !llvm.ptr, %i: i32) attributes {nvvm.kernel} {
      %t = llvm.mlir.addressof @table : !llvm.ptr<1>
      %g = llvm.getelementptr %t[0, %i] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, !llvm.array<4 x i32>
      %v = llvm.load %g : !llvm.ptr<1> -> i32
      llvm.store %v, %p : i32, !llvm.ptr
      llvm.return
    }
  }
  gpu.module @b {
    llvm.mlir.global internal constant @table(dense<[1, 2, 3, 4]> : tensor<4xi32>) {addr_space = 1 : i32} : !llvm.array<4 x i32>
    llvm.func @kb(%p: !llvm.ptr, %i: i32) attributes {nvvm.kernel} {
      %t = llvm.mlir.addressof @table : !llvm.ptr<1>
      %g = llvm.getelementptr %t[0, %i] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, !llvm.array<4 x i32>
      %v = llvm.load %g : !llvm.ptr<1> -> i32
      llvm.store %v, %p : i32, !llvm.ptr
      llvm.return
    }
  }
}
