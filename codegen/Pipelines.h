#ifndef DS_CODEGEN_PIPELINES_H
#define DS_CODEGEN_PIPELINES_H

#include "dialect/DSTarget.h"
#include "mlir/Pass/PassManager.h"
#include <string>
#include <vector>

namespace mlir {
namespace ds {

/// The target (chip and SM count are required: there are no defaults; the JIT fills them and
/// the device facts from its device) and how far to go.
struct CompileOptions : TargetOptions {
  /// Stop after ds-lower-to-kernels (kernels still in gpu/scf/vector form).
  bool stopAfterLowering = false;
  /// The name diagnostics give the source (a file name; "<ds-source>" when empty).
  std::string sourceName;
  /// Also assemble a cubin with the CUDA toolkit's ptxas where one is installed (the PTX is in
  /// the bundle either way; without a cubin the driver JIT-compiles the PTX at load).
  bool cubin = true;
  /// LLVM's optimization level for the kernels' IR (0 to 3); ds-emit-ptx refuses others.
  int optLevel = 3;
  /// Chain the kernels by programmatic dependent launch where the chip has it (sm_90+): each
  /// kernel after the first may be scheduled while the previous one drains and waits for it on
  /// the GPU (ds-select-kernel-config's programmatic-launch).
  bool programmaticLaunch = true;
  /// Config overrides "<op>.<field>=<value>" (passes/ConfigOverride.h), given to
  /// ds-select-kernel-config.
  std::vector<std::string> configOverrides;
};

/// The gpu.module of a pipeline's kernels, and the gpu.binary of their PTX once compiled.
constexpr llvm::StringLiteral kKernelsSymbol = "ds_kernels";

/// The pipeline from ds on tensors to PTX, as numbered steps:
///  1. ds-fuse-score-topk: label_score feeding only a topk is one score_topk;
///  2. ds-select-kernel-config: the function carries #ds.target and every ds op (the fused ones
///     included) a #ds.kernel_config its family's kernels build exactly;
///  3. ds-split-decode: decode ops are split-K partials (with the decode op's config) + a merge,
///     which a second ds-select-kernel-config configures;
///  4. ds-lower-to-kernels: gpu.module @ds_kernels of gpu.func kernels; each function becomes a
///     `ds.plan` of the same name holding its `ds.launch` steps (no ds op is left);
///  5. ds-split-kernel-modules: one gpu.module per kernel (they compile in parallel below);
///  6. gpu.module(convert-scf-to-cf, convert-nvgpu-to-nvvm, ds-direct-float-math,
///     convert-gpu-to-nvvm, ds-extern-dynamic-smem, canonicalize): kernels in llvm + nvvm ops,
///     dynamic shared memory declared extern;
///  7. ds-emit-ptx: each module to PTX for `chip` (LLVM O3, NVPTX) on the context's threads,
///     joined into gpu.binary @ds_kernels holding one PTX module.
void buildDSToPTXPipeline(OpPassManager &pm, const CompileOptions &options);

/// Registers `ds-to-ptx` (options chip, sm-count) as a named pipeline.
void registerDSPipelines();

} // namespace ds
} // namespace mlir

#endif // DS_CODEGEN_PIPELINES_H
