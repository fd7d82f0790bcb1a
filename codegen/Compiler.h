#ifndef DS_CODEGEN_COMPILER_H
#define DS_CODEGEN_COMPILER_H

// ds on tensors in, a kernel bundle out: the one driver used by ds-compile, ds-run, ds-bench and
// the JIT.
#include "codegen/Pipelines.h"
#include "runtime/Bundle.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <optional>
#include <string>

namespace mlir {
class MLIRContext;
namespace ds {

/// A context with every dialect and interface the pipeline needs, threading off (the JIT runs
/// compiles on its own threads).
std::unique_ptr<MLIRContext> createCompilerContext();

/// Runs the ds-to-ptx pipeline on `module` in place and turns function `funcName` (empty: the
/// only function) into a bundle; adds a cubin when `ptxas` is found (CUDA toolkit). Diagnostics
/// go to the context's handlers; the error text says which step failed.
::ds::rt::Expected<::ds::rt::Bundle> compileToBundle(ModuleOp module, const CompileOptions &options,
                                                 llvm::StringRef funcName = "");

/// MLIR's parser recurses once per level of nested regions, brackets and angle brackets, so a
/// text nested thousands deep overflows the stack: an error ("NAME:LINE: the source nests more
/// than 256 levels ...") for a text nested deeper than any compiled pipeline, else nullopt.
std::optional<std::string> sourceNestingError(llvm::StringRef text, llvm::StringRef name);

/// Parses and verifies MLIR text without compiling it (every op's verifier): the diagnostics
/// (NAME:LINE:COL: error: ...) in the error. With `configOverrides` (each one
/// configOverridesError accepts), also checks that every function has the op of each, as the
/// config pass sees the function (after ds-fuse-score-topk, the one pass run here). Tools check
/// sources with it before they open a device.
::ds::rt::Status verifySource(llvm::StringRef source, llvm::StringRef name,
                              llvm::ArrayRef<std::string> configOverrides = {});

/// Parses MLIR text and compiles it; diagnostics are captured into the returned error.
::ds::rt::Expected<::ds::rt::Bundle> compileSourceToBundle(llvm::StringRef source,
                                                       const CompileOptions &options,
                                                       llvm::StringRef funcName = "");

/// The bundle of an already lowered module (after ds-to-ptx): PTX from gpu.binary, the launch
/// plan from the `ds.plan` op of that name; with `cubin`, also ptxas's cubin where ptxas exists.
::ds::rt::Expected<::ds::rt::Bundle> emitBundle(ModuleOp module, llvm::StringRef funcName,
                                            llvm::StringRef chip, bool cubin = true);

/// For tools that compile user-written IR (ds-opt, ds-compile, ds-run): an LLVM fatal error or
/// a crash while ds-emit-ptx translates a kernel module (hand-written LLVM or NVVM dialect that
/// NVPTX cannot compile) becomes an error diagnostic on that module instead of ending the
/// process. Process-wide (signal handlers and LLVM's fatal error handler), so libraries such as
/// the JIT do not call it. Call once, early in main.
void enableCompilerErrorRecovery();

} // namespace ds
} // namespace mlir

#endif // DS_CODEGEN_COMPILER_H
