// Loading and launching a kernel bundle.
//
// Pipeline::load does all driver work up front (module load, kernel lookup, attribute queries,
// parameter checks, shared memory opt-in). Pipeline::launch then binds symbols from the argument
// shapes, checks everything on the host and issues nothing but cuLaunchKernel (cuLaunchKernelEx
// for a `programmatic` kernel): no allocation, no synchronization, no other driver call, so
// launches can be captured into a CUDA graph.
#pragma once

#include "runtime/Bundle.h"
#include "runtime/Device.h"
#include "runtime/Plan.h"
#include "runtime/Status.h"

#include <memory>
#include <string_view>
#include <vector>

namespace ds::rt {

struct LoadOptions {
  /// Load the cubin when the bundle has one for the device's architecture (else the PTX).
  bool preferCubin = true;
  /// Reject at load time a kernel whose parameter count or sizes differ from the compiled
  /// kernel's (when the driver reports them). launch() checks the count regardless.
  bool checkParams = true;
};

/// Number of parameters of `.entry <kernel>(...)` in PTX text, or -1 if the entry is not found.
/// Used to check parameter counts when the driver lacks cuFuncGetParamInfo.
int ptxEntryParamCount(std::string_view ptx, std::string_view kernel);

class Pipeline {
public:
  Pipeline() = default;

  static Expected<Pipeline> load(const Context &ctx, Bundle bundle, const LoadOptions &options = {});

  /// Launches every kernel in order on `stream`. Thread-safe (const, no shared scratch). The
  /// context must be current on the calling thread (Context::makeCurrent()).
  Status launch(Span<const TensorArg> args, const Workspace &workspace, CUstream stream) const;
  /// Launches kernels [first, end) only (per-stage timing in ds-bench); same checks as launch().
  Status launchKernels(Span<const TensorArg> args, const Workspace &workspace, CUstream stream,
                       size_t first, size_t end) const;

  /// Workspace bytes for these argument shapes (pointers are ignored).
  Expected<size_t> workspaceBytes(Span<const TensorArg> args) const;
  /// Workspace bytes for explicit symbol values (one per bundle symbol).
  Expected<size_t> workspaceBytesForSymbols(Span<const int64_t> symbolValues) const;

  const Bundle &bundle() const { return state_->bundle; }
  const Context &context() const { return state_->ctx; }
  /// The loaded kernels, in bundle order.
  const std::vector<Kernel> &kernels() const { return state_->kernels; }
  /// The limits launch() checks kernel i against.
  const KernelLimits &limits(size_t i) const { return state_->limits[i]; }
  /// "cubin" or "ptx": which image was loaded.
  const char *imageKind() const { return state_->usedCubin ? "cubin" : "ptx"; }

private:
  struct State {
    Context ctx;
    Bundle bundle;
    Module module;
    std::vector<Kernel> kernels;
    std::vector<KernelLimits> limits;
    bool usedCubin = false;
  };
  std::shared_ptr<const State> state_;
};

/// A workspace allocated once for the largest shapes a caller will launch with (the workspace
/// expression is assumed not to shrink as shapes grow).
class OwnedWorkspace {
public:
  OwnedWorkspace() = default;
  /// Allocates pipeline.workspaceBytes(maxShapes) bytes (none when the pipeline needs none).
  static Expected<OwnedWorkspace> allocate(const Pipeline &pipeline, Span<const TensorArg> maxShapes);

  Workspace get() const { return {buffer_.ptr(), buffer_.bytes()}; }
  size_t bytes() const { return buffer_.bytes(); }

private:
  DeviceBuffer buffer_;
};

} // namespace ds::rt
