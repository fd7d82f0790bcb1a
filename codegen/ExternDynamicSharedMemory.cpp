// ds-extern-dynamic-smem: zero-size workgroup globals (the lowering of gpu.dynamic_shared_memory)
// become external, so NVPTX declares them as the launch's dynamic shared memory.
#include "codegen/CodegenPasses.h"

namespace mlir {
namespace ds {
#define GEN_PASS_DEF_EXTERNDYNAMICSHAREDMEMORYPASS
#include "codegen/Passes.h.inc"
} // namespace ds
} // namespace mlir

using namespace mlir;

namespace {
constexpr unsigned kSharedAddressSpace = 3; // NVVM's workgroup memory

struct ExternDynamicSharedMemoryPass final
    : public ds::impl::ExternDynamicSharedMemoryPassBase<ExternDynamicSharedMemoryPass> {
  void runOnOperation() override {
    getOperation().walk([](LLVM::GlobalOp global) {
      auto array = dyn_cast<LLVM::LLVMArrayType>(global.getGlobalType());
      if (global.getAddrSpace() != kSharedAddressSpace || !array || array.getNumElements() != 0 ||
          global.getInitializerRegion().getBlocks().size() || global.getValueAttr())
        return;
      global.setLinkage(LLVM::Linkage::External);
    });
  }
};
} // namespace
