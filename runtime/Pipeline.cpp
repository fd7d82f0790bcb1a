#include "runtime/Pipeline.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace ds::rt {

namespace {

// Number in "sm_90a" -> 90; -1 if malformed (Bundle::checkTarget allows 1 to 4 digits).
int targetVersion(const std::string &t) {
  if (t.size() < 4 || t.compare(0, 3, "sm_") != 0)
    return -1;
  int v = 0, digits = 0;
  for (size_t i = 3; i < t.size() && t[i] >= '0' && t[i] <= '9' && digits <= 4; ++i, ++digits)
    v = v * 10 + (t[i] - '0'); // at most 5 digits read: no overflow
  return digits >= 1 && digits <= 4 ? v : -1;
}

constexpr int64_t kDefaultSmemLimit = 48 * 1024;

} // namespace

int ptxEntryParamCount(std::string_view ptx, std::string_view kernel) {
  auto isIdent = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; };
  for (size_t at = ptx.find(".entry"); at != std::string_view::npos; at = ptx.find(".entry", at + 1)) {
    size_t i = at + 6;
    while (i < ptx.size() && std::isspace(static_cast<unsigned char>(ptx[i])))
      ++i;
    if (ptx.compare(i, kernel.size(), kernel) != 0)
      continue;
    i += kernel.size();
    if (i < ptx.size() && isIdent(ptx[i]))
      continue; // a longer name
    while (i < ptx.size() && std::isspace(static_cast<unsigned char>(ptx[i])))
      ++i;
    if (i >= ptx.size() || ptx[i] != '(')
      return 0; // no parameter list
    size_t close = ptx.find(')', i);
    if (close == std::string_view::npos)
      return -1;
    std::string_view list = ptx.substr(i, close - i);
    int n = 0;
    for (size_t p = list.find(".param"); p != std::string_view::npos; p = list.find(".param", p + 6))
      ++n;
    return n;
  }
  return -1;
}

Expected<Pipeline> Pipeline::load(const Context &ctx, Bundle bundle, const LoadOptions &opt) {
  DS_RT_RETURN_IF_ERROR(bundle.validate());
  auto st = std::make_shared<State>();
  st->ctx = ctx;
  const DeviceProperties &dev = ctx.properties();

  bool cubinMatches = !bundle.cubin.empty() && targetVersion(bundle.target) == dev.smVersion();
  if (opt.preferCubin && cubinMatches) {
    auto m = ctx.loadCubin(bundle.cubin.data(), bundle.cubin.size());
    if (!m)
      return m.status().withContext("loading bundle (target " + bundle.target + ")");
    st->module = std::move(*m);
    st->usedCubin = true;
  } else if (!bundle.ptx.empty()) {
    auto m = ctx.loadPtx(bundle.ptx);
    if (!m)
      return m.status().withContext("loading bundle (target " + bundle.target + ")");
    st->module = std::move(*m);
  } else if (!bundle.cubin.empty()) {
    return Status::error("bundle has only a cubin for " + bundle.target + " and no PTX, but the device is " +
                         dev.smName());
  } else {
    return Status::error("bundle has no image (neither PTX nor cubin)");
  }

  for (size_t k = 0; k < bundle.kernels.size(); ++k) {
    const KernelSpec &ks = bundle.kernels[k];
    std::string kn = "kernel '" + ks.name + "' (#" + std::to_string(k) + ")";
    // The PTX entry (present in every bundle the compiler writes, and the source of its cubin)
    // says how many parameters to ask the driver about.
    auto kern = st->module.kernel(ks.name, ptxEntryParamCount(bundle.ptx, ks.name));
    if (!kern)
      return kern.status();
    KernelLimits lim;
    lim.maxThreadsPerBlock = std::min<int64_t>(dev.maxThreadsPerBlock, kern->maxThreadsPerBlock());
    for (size_t d = 0; d < 3; ++d) {
      lim.maxBlockDim[d] = dev.maxBlockDim[d];
      lim.maxGridDim[d] = dev.maxGridDim[d];
    }
    lim.maxDynamicSmem = std::max<int64_t>(0, int64_t(dev.maxSharedPerBlockOptin) - kern->staticSmemBytes());
    if (kern->paramInfoKnown()) {
      const std::vector<size_t> &sizes = kern->paramSizes();
      lim.paramCount = int(sizes.size());
      if (opt.checkParams) {
        if (sizes.size() != ks.params.size())
          return Status::error(kn + ": bundle passes " + std::to_string(ks.params.size()) +
                               " params but the compiled kernel takes " + std::to_string(sizes.size()));
        for (size_t p = 0; p < sizes.size(); ++p)
          if (sizes[p] != ks.params[p].bytes())
            return Status::error(kn + ": param " + std::to_string(p) + " is " +
                                 std::to_string(ks.params[p].bytes()) + " bytes in the bundle but " +
                                 std::to_string(sizes[p]) + " bytes in the compiled kernel");
      }
    } else if (!st->usedCubin) {
      int n = ptxEntryParamCount(bundle.ptx, ks.name);
      if (n >= 0) {
        lim.paramCount = n;
        if (opt.checkParams && size_t(n) != ks.params.size())
          return Status::error(kn + ": bundle passes " + std::to_string(ks.params.size()) +
                               " params but the PTX entry takes " + std::to_string(n));
      }
    }
    // Dynamic shared memory: a constant is checked now; symbolic sizes are checked per launch.
    // Above the default 48 KiB a kernel must opt in, which is a driver call, so it happens here
    // (for the exact constant, or the device maximum when the size depends on shapes).
    int64_t optIn = 0;
    if (ks.smem.maxSymbolIndex() < 0) {
      int64_t smem = 0;
      Status s = ks.smem.eval({}, smem);
      if (!s.ok())
        return s.withContext(kn + " smem");
      if (smem < 0 || smem > lim.maxDynamicSmem)
        return Status::error(kn + ": dynamic shared memory of " + std::to_string(smem) +
                             " bytes exceeds the available " + std::to_string(lim.maxDynamicSmem) +
                             " bytes (device opt-in limit " + std::to_string(dev.maxSharedPerBlockOptin) +
                             " minus " + std::to_string(kern->staticSmemBytes()) + " static)");
      optIn = smem;
    } else {
      optIn = lim.maxDynamicSmem;
    }
    if (optIn + kern->staticSmemBytes() > kDefaultSmemLimit && optIn > 0)
      DS_RT_RETURN_IF_ERROR(kern->setMaxDynamicSmem(int(optIn)));
    st->kernels.push_back(std::move(*kern));
    st->limits.push_back(lim);
  }
  st->bundle = std::move(bundle);
  Pipeline p;
  p.state_ = std::move(st);
  return p;
}

Status Pipeline::launch(Span<const TensorArg> args, const Workspace &ws, CUstream stream) const {
  if (!state_)
    return Status::error("launch of an empty Pipeline");
  return launchKernels(args, ws, stream, 0, state_->bundle.kernels.size());
}

Status Pipeline::launchKernels(Span<const TensorArg> args, const Workspace &ws, CUstream stream,
                               size_t first, size_t end) const {
  if (!state_)
    return Status::error("launch of an empty Pipeline");
  const Bundle &b = state_->bundle;
  if (first > end || end > b.kernels.size())
    return Status::error("kernel range [" + std::to_string(first) + ", " + std::to_string(end) +
                         ") is outside the pipeline's " + std::to_string(b.kernels.size()) +
                         " kernels");
  int64_t symStorage[Bundle::kMaxSymbols];
  Span<int64_t> syms(symStorage, b.symbols.size());
  DS_RT_RETURN_IF_ERROR(bindSymbols(b, args, syms));
  DS_RT_RETURN_IF_ERROR(checkWorkspace(b, syms, ws));
  uint64_t slots[KernelSpec::kMaxParams];
  void *ptrs[KernelSpec::kMaxParams];
  for (size_t i = 0; i < KernelSpec::kMaxParams; ++i)
    ptrs[i] = &slots[i];
  LaunchConfig cfg;
  // A kernel flagged programmatic is launched so only after a kernel of this call: the first
  // one launched (kernel `first`, or a later one where a zero grid skipped those before it) starts
  // after everything before it on the stream, as the plan's first kernel does. Launched
  // programmatically, it could start while the stream's previous kernel (another pipeline's,
  // which lets its dependents launch early) still writes what it reads before its wait.
  bool launched = false;
  // Pass 1 checks every kernel so that an error launches nothing; pass 2 launches.
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t k = first; k < end; ++k) {
      DS_RT_RETURN_IF_ERROR(planKernel(b, k, syms, args, ws, state_->limits[k], cfg,
                                       Span<uint64_t>(slots, b.kernels[k].params.size())));
      if (pass == 0 || cfg.skip)
        continue;
      DS_RT_RETURN_IF_ERROR(state_->kernels[k].launch({cfg.grid[0], cfg.grid[1], cfg.grid[2]},
                                                      {cfg.block[0], cfg.block[1], cfg.block[2]},
                                                      cfg.smem, stream, ptrs,
                                                      b.kernels[k].programmatic && launched));
      launched = true;
    }
  }
  return Status::success();
}

Expected<size_t> Pipeline::workspaceBytes(Span<const TensorArg> args) const {
  if (!state_)
    return Status::error("workspaceBytes of an empty Pipeline");
  const Bundle &b = state_->bundle;
  int64_t symStorage[Bundle::kMaxSymbols];
  Span<int64_t> syms(symStorage, b.symbols.size());
  // Pointers do not matter here: give every argument a non-null dummy aligned for any `align=`
  // (a dummy of 1 failed the 16-byte alignment check of an empty tensor's null pointer).
  std::vector<TensorArg> shapes(args.begin(), args.end());
  for (TensorArg &t : shapes)
    t.ptr = 256;
  DS_RT_RETURN_IF_ERROR(bindSymbols(b, shapes, syms));
  return workspaceBytesForSymbols(syms);
}

Expected<size_t> Pipeline::workspaceBytesForSymbols(Span<const int64_t> symbolValues) const {
  if (!state_)
    return Status::error("workspaceBytes of an empty Pipeline");
  if (symbolValues.size() != state_->bundle.symbols.size())
    return Status::error("expected " + std::to_string(state_->bundle.symbols.size()) +
                         " symbol values, got " + std::to_string(symbolValues.size()));
  size_t bytes = 0;
  DS_RT_RETURN_IF_ERROR(evalWorkspaceBytes(state_->bundle, symbolValues, bytes));
  return bytes;
}

Expected<OwnedWorkspace> OwnedWorkspace::allocate(const Pipeline &pipeline, Span<const TensorArg> maxShapes) {
  auto bytes = pipeline.workspaceBytes(maxShapes);
  if (!bytes)
    return bytes.status().withContext("sizing the workspace");
  auto buf = pipeline.context().alloc(*bytes);
  if (!buf)
    return buf.status().withContext("allocating the workspace");
  OwnedWorkspace w;
  w.buffer_ = std::move(*buf);
  return w;
}

} // namespace ds::rt
