#include "codegen/Pipelines.h"
#include "codegen/CodegenPasses.h"
#include "passes/Passes.h"

#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/NVGPUToNVVM/NVGPUToNVVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::ds::buildDSToPTXPipeline(OpPassManager &pm, const CompileOptions &options) {
  SelectKernelConfigPassOptions config;
  config.chip = options.chip;
  config.smCount = options.smCount;
  config.smemPerBlock = options.smemPerBlock;
  config.regsPerSM = options.regsPerSM;
  config.l2Bytes = options.l2Bytes;
  config.programmaticLaunch = options.programmaticLaunch;
  config.overrides.assign(options.configOverrides.begin(), options.configOverrides.end());
  // Fusion first: the fused op is tuned as one kernel. The config pass then sees the ops the
  // user wrote (its errors name them); the split partial keeps its decode op's config, and a
  // second run configures the merge the split adds.
  pm.addNestedPass<func::FuncOp>(createFuseScoreTopKPass());
  pm.addNestedPass<func::FuncOp>(createSelectKernelConfigPass(config));
  pm.addNestedPass<func::FuncOp>(createSplitDecodePass());
  pm.addNestedPass<func::FuncOp>(createSelectKernelConfigPass(config));
  pm.addPass(createLowerToKernelsPass());
  if (options.stopAfterLowering)
    return;
  // One gpu.module per kernel: the passes below and the PTX emission run on them in parallel
  // where the context has threads; ds-emit-ptx joins them into one PTX module.
  pm.addPass(createSplitKernelModulesPass());
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createSCFToControlFlowPass());
  kernels.addPass(createConvertNVGPUToNVVMPass()); // ldmatrix, cp.async of the tensor-core kernels
  // No libdevice calls: the PTX must load where there is a driver but no CUDA toolkit.
  kernels.addPass(createDirectFloatMathPass());
  // Kernel ABI: a buffer is one bare pointer (no memref descriptor).
  ConvertGpuOpsToNVVMOpsOptions toNVVM;
  toNVVM.useBarePtrCallConv = true;
  kernels.addPass(createConvertGpuOpsToNVVMOps(toNVVM));
  // NVVM ops that lower to inline PTX (wgmma.mma_async of the sm_90a prefill kernel).
  kernels.addPass(createConvertNVVMToLLVMPass());
  kernels.addPass(createExternDynamicSharedMemoryPass());
  kernels.addPass(createCanonicalizerPass());
  EmitPTXPassOptions emit;
  emit.chip = options.chip;
  // An unsupported chip never gets here: ds-select-kernel-config refuses it first.
  const ChipInfo *chip = lookupChip(options.chip);
  emit.features = "+ptx" + std::to_string(chip ? chip->ptx : 80);
  emit.optLevel = options.optLevel;
  pm.addPass(createEmitPTXPass(emit));
}

namespace {
struct PipelineOptions : public PassPipelineOptions<PipelineOptions> {
  Option<std::string> chip{*this, "chip", llvm::cl::desc("Target chip (ds-select-kernel-config lists them)"),
                           llvm::cl::init("sm_90")};
  Option<int64_t> smCount{*this, "sm-count", llvm::cl::desc("SMs of the target"),
                          llvm::cl::init(132)};
  Option<int> optLevel{*this, "opt-level",
                       llvm::cl::desc("LLVM optimization level of the kernels (0 to 3)"),
                       llvm::cl::init(3)};
  Option<bool> programmaticLaunch{
      *this, "programmatic-launch",
      llvm::cl::desc("Chain the kernels by programmatic dependent launch where the chip has it"),
      llvm::cl::init(true)};
  ListOption<std::string> overrides{
      *this, "override",
      llvm::cl::desc("Config overrides <op>.<field>=<value> (ds-select-kernel-config's override)")};
  Option<bool> stopAfterLowering{*this, "stop-after-lowering",
                                 llvm::cl::desc("Stop after ds-lower-to-kernels"),
                                 llvm::cl::init(false)};
};
} // namespace

void mlir::ds::registerDSPipelines() {
  // Registered without PassPipelineRegistration so that a pipeline nested under another op
  // (`func.func(ds-to-ptx)`) is refused with an error: its module passes aborted the process.
  registerPassPipeline(
      "ds-to-ptx", "Compile ds ops on tensors to PTX kernels and a launch plan",
      [](OpPassManager &pm, StringRef text,
         function_ref<LogicalResult(const Twine &)> errorHandler) -> LogicalResult {
        if (pm.getOpAnchorName() != ModuleOp::getOperationName())
          return errorHandler("ds-to-ptx runs on builtin.module, not nested in '" +
                              pm.getOpAnchorName() + "'");
        PipelineOptions o;
        if (failed(o.parseFromString(text)))
          return failure();
        CompileOptions options;
        options.chip = o.chip;
        options.smCount = o.smCount;
        options.stopAfterLowering = o.stopAfterLowering;
        options.optLevel = o.optLevel;
        options.programmaticLaunch = o.programmaticLaunch;
        options.configOverrides.assign(o.overrides.begin(), o.overrides.end());
        buildDSToPTXPipeline(pm, options);
        return success();
      },
      [](function_ref<void(const mlir::detail::PassOptions &)> optHandler) {
        optHandler(PipelineOptions());
      });
}
