#ifndef DS_CODEGEN_REGISTRATION_H
#define DS_CODEGEN_REGISTRATION_H

namespace mlir {
class DialectRegistry;
namespace ds {
/// The ds dialect plus every upstream dialect, interface and translation the pipeline from ds
/// to PTX needs (func, arith, math, scf, tensor, memref, vector, gpu, nvgpu, nvvm, llvm, ...).
/// Shared by ds-opt and the JIT so both see the same world.
void registerCompilerDialects(DialectRegistry &registry);
/// Every ds pass and pipeline plus the upstream passes the pipeline is made of.
void registerCompilerPasses();
} // namespace ds
} // namespace mlir

#endif // DS_CODEGEN_REGISTRATION_H
