// The kernels of a pipeline compile one gpu.module each (in parallel where the context has
// threads) and their PTX is joined into one module: one header, shared declarations once.
// RUN: ds-opt %S/../../examples/double_sparsity.mlir --ds-to-ptx | FileCheck %s --check-prefix=JOINED
// RUN: ds-opt %S/../../examples/double_sparsity.mlir --ds-to-ptx --mlir-disable-threading | FileCheck %s --check-prefix=JOINED
// RUN: ds-opt %S/../../examples/double_sparsity.mlir --ds-to-ptx=stop-after-lowering | ds-opt --ds-split-kernel-modules | FileCheck %s --check-prefix=SPLIT
// RUN: ds-opt %s --split-input-file --verify-diagnostics --ds-emit-ptx
// RUN: not ds-opt %s --split-input-file --ds-emit-ptx=opt-level=7 2>&1 | FileCheck %s --check-prefix=OPT
// The chip and the PTX version are checked before the backend sees them (it aborted on both).
// RUN: not ds-opt %s --split-input-file --ds-emit-ptx=chip=sm_999 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not ds-opt %s --split-input-file --ds-emit-ptx=features=+ptx60 2>&1 | FileCheck %s --check-prefix=FEAT
// RUN: not ds-opt %s --split-input-file --ds-emit-ptx="chip=sm_100 features=+ptx80" 2>&1 | FileCheck %s --check-prefix=FEAT100
// RUN: not ds-opt %s --split-input-file --ds-emit-ptx=features=ptx80 2>&1 | FileCheck %s --check-prefix=FEATFORM
// CHIP: error: ds-emit-ptx: unsupported chip 'sm_999' (supported: sm_80,
// FEAT: error: ds-emit-ptx: features must be '+ptxNN', a PTX ISA version LLVM's NVPTX backend knows, at least 8.0 (+ptx80) for sm_90; got '+ptx60'
// FEAT100: error: ds-emit-ptx: features must be '+ptxNN', a PTX ISA version LLVM's NVPTX backend knows, at least 8.6 (+ptx86) for sm_100; got '+ptx80'
// FEATFORM: got 'ptx80'

// JOINED-NOT: gpu.module
// JOINED: ds.launch @ds_kernels::@double_sparsity_decode_score_topk_0
// JOINED: ds.launch @ds_kernels::@double_sparsity_decode_decode_partial_{{[0-9]+}}
// JOINED: gpu.binary @ds_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">, assembly = "
// JOINED-SAME: .version 8.0
// JOINED-NOT: .version
// JOINED-SAME: .extern .shared .align 16 .b8 __dynamic_shmem__0[];
// JOINED-NOT: __dynamic_shmem__0[];
// JOINED-SAME: .entry double_sparsity_decode_score_topk_0(
// JOINED-NOT: .version
// JOINED-SAME: .entry double_sparsity_decode_score_topk_1(
// JOINED-NOT: .version
// JOINED-SAME: .entry double_sparsity_decode_score_topk_2(
// JOINED-NOT: .version
// JOINED-SAME: .entry double_sparsity_decode_score_topk_3(
// JOINED-NOT: .version
// JOINED-SAME: .entry double_sparsity_decode_score_topk_4(
// JOINED-NOT: .version
// JOINED-SAME: .entry double_sparsity_decode_decode_partial_
// JOINED-NOT: .version
// JOINED-SAME: .entry double_sparsity_decode_decode_merge_
// JOINED-NOT: gpu.module

// SPLIT: ds.launch @ds_kernels_0::@double_sparsity_decode_score_topk_0
// SPLIT: ds.launch @ds_kernels_1::@double_sparsity_decode_score_topk_1
// SPLIT: ds.launch @ds_kernels_2::@double_sparsity_decode_score_topk_2
// SPLIT: ds.launch @ds_kernels_3::@double_sparsity_decode_score_topk_3
// SPLIT: ds.launch @ds_kernels_4::@double_sparsity_decode_score_topk_4
// SPLIT: ds.launch @ds_kernels_5::@double_sparsity_decode_decode_partial_
// SPLIT: ds.launch @ds_kernels_6::@double_sparsity_decode_decode_merge_
// SPLIT: gpu.module @ds_kernels_0
// SPLIT-NEXT: gpu.func @double_sparsity_decode_score_topk_0
// SPLIT-NOT: gpu.func
// SPLIT: gpu.module @ds_kernels_1
// SPLIT-NEXT: gpu.func @double_sparsity_decode_score_topk_1
// SPLIT-NOT: gpu.func
// SPLIT: gpu.module @ds_kernels_2
// SPLIT: gpu.module @ds_kernels_3
// SPLIT: gpu.module @ds_kernels_4
// SPLIT: gpu.module @ds_kernels_5
// SPLIT: gpu.module @ds_kernels_6
// SPLIT-NOT: gpu.module @ds_kernels

// Two kernel modules that define one global two ways cannot be one PTX module.
// expected-error @+1 {{internal error: cannot join the kernels' PTX: kernel modules declare 'g' differently}}
module {
  gpu.module @a {
    llvm.mlir.global external @g(1 : i32) {addr_space = 1 : i32} : i32
    llvm.func @ka() attributes {nvvm.kernel} { llvm.return }
  }
  gpu.module @b {
    llvm.mlir.global external @g(2 : i32) {addr_space = 1 : i32} : i32
    llvm.func @kb() attributes {nvvm.kernel} { llvm.return }
  }
}

// -----

// Globals NVPTX cannot place are refused with a diagnostic (LLVM's printer would abort).
module {
  gpu.module @a {
    // expected-error @+1 {{ds-emit-ptx: global 'g' is in address space 96, which PTX has no globals in (0 generic, 1 global, 3 shared, 4 constant, 5 local)}}
    llvm.mlir.global external @g(1 : i32) {addr_space = 96 : i32} : i32
    // expected-error @+1 {{ds-emit-ptx: global 'h' in address space 3 cannot have an initial value}}
    llvm.mlir.global internal @h(1 : i32) {addr_space = 3 : i32} : i32
    llvm.mlir.global internal @s() {addr_space = 3 : i32} : !llvm.array<4 x i32>
    llvm.mlir.global internal constant @c(7 : i32) {addr_space = 4 : i32} : i32
    // Types LLVM IR does not have (the LLVM dialect lets them through; translating them crashed).
    // expected-error @+1 {{ds-emit-ptx: type '!llvm.array<4 x f8E4M3FN>' does not translate to LLVM IR}}
    llvm.mlir.global internal constant @t(dense<[1, 2, 3, 4]> : tensor<4xi32>) {addr_space = 1 : i32} : !llvm.array<4 x f8E4M3FN>
    llvm.func @ka() attributes {nvvm.kernel} { llvm.return }
    llvm.func @kb(%i: i32) attributes {nvvm.kernel} {
      %c = llvm.mlir.addressof @c : !llvm.ptr<4>
      // expected-error @+1 {{ds-emit-ptx: type '!llvm.array<4 x f8E4M3FN>' does not translate to LLVM IR}}
      %g = llvm.getelementptr %c[0, %i] : (!llvm.ptr<4>, i32) -> !llvm.ptr<4>, !llvm.array<4 x f8E4M3FN>
      llvm.return
    }
  }
}

// -----

// A lone module compiles as it is; an opt level LLVM does not have is refused.
// OPT: error: ds-emit-ptx: opt-level must be 0 to 3, got 7
module {
  gpu.module @a {
    llvm.func @ka() attributes {nvvm.kernel} { llvm.return }
  }
}

// -----

// What NVPTX cannot compile (hand-written kernels) fails its module with LLVM's reason: ds-opt,
// ds-compile and ds-run recover from the backend's fatal errors, which aborted the process.
module {
  // expected-error @+1 {{ds-emit-ptx: LLVM's NVPTX backend failed on this kernel module: Cannot select: intrinsic %llvm.x86.sse2.pause}}
  gpu.module @a {
    llvm.func @llvm.x86.sse2.pause()
    llvm.func @k() attributes {nvvm.kernel} {
      llvm.call @llvm.x86.sse2.pause() : () -> ()
      llvm.return
    }
  }
}

// -----

module {
  // expected-error @+1 {{ds-emit-ptx: LLVM's NVPTX backend failed on this kernel module: Symbol name with unsupported characters}}
  gpu.module @a {
    llvm.func @"k-1"() attributes {nvvm.kernel} { llvm.return }
  }
  // The other modules still compile.
  gpu.module @b {
    llvm.func @kb() attributes {nvvm.kernel} { llvm.return }
  }
}

