// Host-side launch planning: argument shapes -> symbol values -> concrete grid, block, dynamic
// shared memory and parameter bytes for each kernel of a bundle, with every check the launcher
// makes. Pure functions with no driver dependency (unit-testable without a GPU); Pipeline::launch
// uses the allocation-free ones.
#pragma once

#include "runtime/Bundle.h"
#include "runtime/Driver.h"
#include "runtime/Status.h"

#include <array>
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace ds::rt {

/// A tensor argument at launch: device pointer and shape (fixed capacity, no allocation).
struct TensorArg {
  static constexpr int kMaxRank = int(ArgSpec::kMaxRank);
  CUdeviceptr ptr = 0;
  int rank = 0; ///< May exceed kMaxRank (then only the first kMaxRank dims are stored and
                ///< binding fails with a clear error).
  int64_t shape[kMaxRank] = {};

  TensorArg() = default;
  TensorArg(CUdeviceptr p, std::initializer_list<int64_t> dims);
  TensorArg(CUdeviceptr p, Span<const int64_t> dims);
};

/// Workspace memory handed to a launch.
struct Workspace {
  CUdeviceptr ptr = 0;
  size_t bytes = 0;
};

/// What a kernel may be launched with; defaults are the CUDA limits of current GPUs.
struct KernelLimits {
  int64_t maxThreadsPerBlock = 1024; ///< min(device limit, kernel's own limit)
  std::array<int64_t, 3> maxBlockDim{1024, 1024, 64};
  std::array<int64_t, 3> maxGridDim{2147483647, 65535, 65535};
  int64_t maxDynamicSmem = 48 * 1024; ///< device opt-in limit minus the kernel's static smem
  int paramCount = -1;                ///< the compiled kernel's parameter count; -1 if unknown
};

/// Concrete launch configuration of one kernel.
struct LaunchConfig {
  std::array<unsigned, 3> grid{};
  std::array<unsigned, 3> block{};
  unsigned smem = 0;
  bool skip = false; ///< a grid dimension is zero: nothing to launch
};

/// Binds every symbol: ArgDim symbols from the argument shapes, then Expr symbols in order; then
/// checks each argument's count, rank, dims (against its declared expressions) and pointer.
/// `symbolValues` must hold bundle.symbols.size() entries. Errors name the argument and dim.
Status bindSymbols(const Bundle &bundle, Span<const TensorArg> args, Span<int64_t> symbolValues);

/// Workspace bytes for bound symbols (error if negative).
Status evalWorkspaceBytes(const Bundle &bundle, Span<const int64_t> symbolValues, size_t &bytes);

/// The alignment a workspace's base must have (the device allocator's 256 bytes): the plan
/// carves it into 256-byte aligned slices from the base.
constexpr uint64_t kWorkspaceAlign = 256;

/// Checks the workspace against the bundle's requirement for bound symbols: its size, and a
/// non-null, kWorkspaceAlign-aligned pointer when the plan needs any.
Status checkWorkspace(const Bundle &bundle, Span<const int64_t> symbolValues, const Workspace &ws);

/// Evaluates kernel `k`'s grid, block, smem and parameters and checks them against `limits`.
/// Parameter i is written to paramSlots[i] (an 8-byte slot; 4-byte params in its low bytes, the
/// layout cuLaunchKernel reads through a pointer to the slot). paramSlots must hold
/// bundle.kernels[k].params.size() entries. Errors name the kernel.
Status planKernel(const Bundle &bundle, size_t k, Span<const int64_t> symbolValues,
                  Span<const TensorArg> args, const Workspace &ws, const KernelLimits &limits,
                  LaunchConfig &config, Span<uint64_t> paramSlots);

/// The whole plan of a launch, by value (allocates; for tests, tools and debugging).
struct KernelPlan {
  LaunchConfig config;
  std::vector<uint64_t> params;
};
struct LaunchPlan {
  std::vector<int64_t> symbols;
  size_t workspaceBytes = 0;
  std::vector<KernelPlan> kernels;
};
/// `limits` holds one entry per kernel, or is empty for the defaults.
Expected<LaunchPlan> planLaunch(const Bundle &bundle, Span<const TensorArg> args, const Workspace &ws,
                                Span<const KernelLimits> limits = {});

} // namespace ds::rt
