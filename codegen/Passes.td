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
                           "::mlir::NVVM::NVVMDialect", "::mlir::math::MathDialect"];
}

#endif // DS_CODEGEN_PASSES_TD
