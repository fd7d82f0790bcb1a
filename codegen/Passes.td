#ifndef DS_CODEGEN_PASSES_TD
#define DS_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerToKernelsPass : Pass<"ds-lower-to-kernels", "ModuleOp"> {
  let summary = "Lower every ds op to gpu.func kernels and a launch plan";
  let description = [{
    For each `func.func` made of ds ops, builds one or more `gpu.func` kernels per op in the
    `gpu.module @ds_kernels` (one builder per op family, driven by the op's
    `#ds.kernel_config`), and records on the function the launch plan the runtime interprets:
    `ds.plan = {args, symbols, workspace, kernels}` (bundle syntax, see docs/bundle.md). Each
    kernel carries its launch geometry and parameter list in `ds.launch`. Function arguments
    become bundle arguments; returned values become `out` arguments, or alias the argument they
    update in place; other intermediate tensors live in the workspace.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect", "::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect", "::mlir::math::MathDialect",
                           "::mlir::nvgpu::NVGPUDialect"];
}

def DirectFloatMathPass : Pass<"ds-direct-float-math", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Lower the float ops convert-gpu-to-nvvm would turn into libdevice calls to LLVM intrinsics";
  let description = [{
    `convert-gpu-to-nvvm` lowers `arith.maxnumf`, `arith.minnumf` and `math.fma` on f32/f64 to
    calls of libdevice's `__nv_fmaxf`, `__nv_fminf` and `__nv_fmaf`. The NVVM serializer links
    libdevice only where it finds a CUDA toolkit (CUDA_HOME and friends); elsewhere, e.g. a
    serving machine with only the driver, the PTX keeps unresolved `.extern .func` declarations
    and the driver refuses to load it. Run before `convert-gpu-to-nvvm`, this pass rewrites the
    three ops to `llvm.intr.maxnum`, `llvm.intr.minnum` and `llvm.intr.fma` (the same
    semantics: NaN-ignoring max/min, fused multiply-add), which NVPTX selects as `max.f32`,
    `min.f32` and `fma.rn.f32` with no library.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def ExternDynamicSharedMemoryPass : Pass<"ds-extern-dynamic-smem", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Give the dynamic shared memory symbol of lowered kernels external linkage";
  let description = [{
    `convert-gpu-to-nvvm` lowers `gpu.dynamic_shared_memory` to an internal zero-size global in
    address space 3 (`__dynamic_shmem__N`), which the NVPTX backend (LLVM 22) emits as a 1-byte
    static `.shared` variable instead of `.extern .shared .align 16 .b8 name[]`: the kernel's
    "dynamic" buffer then overlaps the static shared memory. Run after `convert-gpu-to-nvvm`,
    this pass makes every zero-size address-space-3 global external, which is how CUDA declares
    dynamic shared memory.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def SplitKernelModulesPass : Pass<"ds-split-kernel-modules", "ModuleOp"> {
  let summary = "One gpu.module per kernel, so that the kernels compile in parallel";
  let description = [{
    Moves every kernel of `gpu.module @ds_kernels` into a module of its own
    (`@ds_kernels_0`, `@ds_kernels_1`, ... in kernel order; the other symbols of the module are
    copied into each) and points the `ds.launch` ops at them. Nested passes on `gpu.module` then
    run on the kernels in parallel where the context has threads, and `ds-emit-ptx` compiles
    them in parallel and joins them into one PTX module again. The kernels never call each
    other, so each compiles alone to the code it would get in the shared module.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def EmitPTXPass : Pass<"ds-emit-ptx", "ModuleOp"> {
  let summary = "Compile the kernel modules to PTX in parallel and join them into gpu.binary @ds_kernels";
  let description = [{
    Translates each `gpu.module` (kernels in the LLVM and NVVM dialects) to LLVM IR, optimizes it
    at `opt-level` and emits PTX for `chip` with LLVM's NVPTX backend, one module per task of the
    context's thread pool. No bitcode library is linked: the kernels call none (see
    `ds-direct-float-math`), so the PTX is the same with or without a CUDA toolkit installed.
    The PTX texts are joined into one module (one header; declarations that several kernels
    share, such as the dynamic shared memory, once; a symbol declared differently by two modules
    is an error), held by `gpu.binary @ds_kernels` as an assembly object for
    `#nvvm.target<chip = chip, features = features>`. The `ds.launch` ops then name
    `@ds_kernels::@kernel` again.
  }];
  let options = [
    Option<"chip", "chip", "std::string", "\"sm_90\"", "Target chip">,
    Option<"features", "features", "std::string", "\"+ptx80\"", "Target features (PTX version)">,
    Option<"optLevel", "opt-level", "int", "3", "LLVM optimization level of the IR (0 to 3)">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::NVVM::NVVMDialect"];
}

#endif // DS_CODEGEN_PASSES_TD
