#ifndef DS_CODEGEN_PIPELINES_H
#define DS_CODEGEN_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include <string>

namespace mlir {
namespace ds {

struct CompileOptions {
  std::string chip = "sm_90";
  int64_t smCount = 132;
  /// Stop after ds-lower-to-kernels (kernels still in gpu/scf/vector form).
  bool stopAfterLowering = false;
};

/// The pipeline from ds on tensors to PTX, as numbered steps:
///  1. ds-select-kernel-config: every ds op carries #ds.kernel_config;
///  2. ds-split-decode: decode ops are split-K partials + a merge;
///  3. ds-lower-to-kernels: gpu.module @ds_kernels of gpu.func kernels, `ds.plan` on each func;
///  4. gpu.module(convert-scf-to-cf, convert-gpu-to-nvvm): kernels in llvm + nvvm ops;
///  5. nvvm-attach-target: the module targets `chip`;
///  6. gpu-module-to-binary{format=isa}: gpu.binary holding the PTX text.
void buildDSToPTXPipeline(OpPassManager &pm, const CompileOptions &options);

/// Registers `ds-to-ptx` (options chip, sm-count) as a named pipeline.
void registerDSPipelines();

} // namespace ds
} // namespace mlir

#endif // DS_CODEGEN_PIPELINES_H
