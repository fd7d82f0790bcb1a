#include "runtime/Plan.h"

#include <cstring>
#include <limits>

namespace ds::rt {

TensorArg::TensorArg(CUdeviceptr p, std::initializer_list<int64_t> dims)
    : TensorArg(p, Span<const int64_t>(dims.begin(), dims.size())) {}

TensorArg::TensorArg(CUdeviceptr p, Span<const int64_t> dims) : ptr(p), rank(int(dims.size())) {
  for (size_t i = 0; i < dims.size() && i < size_t(kMaxRank); ++i)
    shape[i] = dims[i];
}

namespace {

std::string argName(const Bundle &b, size_t i) {
  return "argument '" + b.args[i].name + "' (#" + std::to_string(i) + ")";
}

std::string shapeText(const TensorArg &t) {
  std::string s = "[";
  for (int i = 0; i < t.rank && i < TensorArg::kMaxRank; ++i)
    s += (i ? ", " : "") + std::to_string(t.shape[i]);
  return s + "]";
}

} // namespace

Status bindSymbols(const Bundle &b, Span<const TensorArg> args, Span<int64_t> syms) {
  if (args.size() != b.args.size())
    return Status::error("expected " + std::to_string(b.args.size()) + " arguments, got " +
                         std::to_string(args.size()));
  if (syms.size() < b.symbols.size())
    return Status::error("symbol buffer too small");
  for (size_t i = 0; i < args.size(); ++i) {
    const TensorArg &t = args[i];
    if (t.rank < 0 || t.rank > TensorArg::kMaxRank || size_t(t.rank) != b.args[i].dims.size())
      return Status::error(argName(b, i) + ": expected rank " + std::to_string(b.args[i].dims.size()) +
                           ", got rank " + std::to_string(t.rank));
    for (int d = 0; d < t.rank; ++d)
      if (t.shape[d] < 0)
        return Status::error(argName(b, i) + ": dim " + std::to_string(d) + " is negative (" +
                             std::to_string(t.shape[d]) + ")");
  }
  for (size_t s = 0; s < b.symbols.size(); ++s) {
    const Symbol &sym = b.symbols[s];
    if (sym.kind == Symbol::Kind::ArgDim) {
      // Bundle::parse validates this; a bundle built in code may not have been.
      if (sym.arg < 0 || size_t(sym.arg) >= args.size() || sym.dim < 0 ||
          sym.dim >= args[size_t(sym.arg)].rank)
        return Status::error("symbol '" + sym.name + "' reads dim " + std::to_string(sym.dim) +
                             " of argument " + std::to_string(sym.arg) +
                             ", which the arguments do not have (an unvalidated bundle)");
      syms[s] = args[size_t(sym.arg)].shape[sym.dim];
    } else {
      Status st = sym.expr.eval(Span<const int64_t>(syms.data(), s), syms[s]);
      if (!st.ok())
        return st.withContext("symbol '" + sym.name + "'");
    }
  }
  Span<const int64_t> bound(syms.data(), b.symbols.size());
  for (size_t i = 0; i < args.size(); ++i) {
    const TensorArg &t = args[i];
    int64_t numel = 1;
    // The tensor's bytes, checked for overflow: the kernels index in 64 bits, and a shape whose
    // bytes pass 2^63 (or a pointer whose tensor wraps the address space) was launched.
    uint64_t bytes = dtypeBytes(b.args[i].dtype);
    bool tooLarge = false;
    for (int d = 0; d < t.rank; ++d) {
      int64_t want = 0;
      Status st = b.args[i].dims[size_t(d)].eval(bound, want);
      if (!st.ok())
        return st.withContext(argName(b, i) + " dim " + std::to_string(d));
      if (want != t.shape[d])
        return Status::error(argName(b, i) + " dim " + std::to_string(d) + ": expected " +
                             std::to_string(want) + " (" + b.args[i].dims[size_t(d)].text() +
                             "), got " + std::to_string(t.shape[d]) + " (shape " + shapeText(t) + ")");
      numel = t.shape[d] == 0 || numel == 0 ? 0 : 1;
      tooLarge = tooLarge || __builtin_mul_overflow(bytes, uint64_t(t.shape[d]), &bytes);
    }
    if (numel != 0 && (tooLarge || bytes > uint64_t(INT64_MAX) || t.ptr + bytes < t.ptr))
      return Status::error(argName(b, i) + ": shape " + shapeText(t) +
                           (tooLarge || bytes > uint64_t(INT64_MAX)
                                ? std::string(" is more than 2^63 bytes")
                                : " at pointer " + std::to_string(t.ptr) +
                                      " passes the end of the address space"));
    if (t.ptr == 0 && numel != 0)
      return Status::error(argName(b, i) + ": null device pointer");
    if (numel != 0 && b.args[i].align > 1 && t.ptr % uint64_t(b.args[i].align) != 0)
      return Status::error(argName(b, i) + ": device pointer is not " +
                           std::to_string(b.args[i].align) + "-byte aligned");
  }
  return Status::success();
}

Status evalWorkspaceBytes(const Bundle &b, Span<const int64_t> syms, size_t &bytes) {
  int64_t v = 0;
  Status st = b.workspace.eval(syms, v);
  if (!st.ok())
    return st.withContext("workspace size");
  if (v < 0)
    return Status::error("workspace size is negative (" + std::to_string(v) + " from '" +
                         b.workspace.text() + "')");
  bytes = size_t(v);
  return Status::success();
}

Status checkWorkspace(const Bundle &b, Span<const int64_t> syms, const Workspace &ws) {
  size_t need = 0;
  DS_RT_RETURN_IF_ERROR(evalWorkspaceBytes(b, syms, need));
  if (ws.bytes < need)
    return Status::error("workspace too small: need " + std::to_string(need) + " bytes, got " +
                         std::to_string(ws.bytes));
  if (need > 0 && ws.ptr == 0)
    return Status::error("workspace of " + std::to_string(need) + " bytes needed but its pointer is null");
  // The plan's slices are 256-byte aligned offsets from the base, and the kernels use vector
  // accesses on them: a misaligned base would fault on the GPU (a sticky context error).
  if (need > 0 && ws.ptr % kWorkspaceAlign != 0)
    return Status::error("workspace pointer is not " + std::to_string(kWorkspaceAlign) +
                         "-byte aligned");
  return Status::success();
}

Status planKernel(const Bundle &b, size_t k, Span<const int64_t> syms, Span<const TensorArg> args,
                  const Workspace &ws, const KernelLimits &lim, LaunchConfig &cfg,
                  Span<uint64_t> slots) {
  if (k >= b.kernels.size())
    return Status::error("kernel index " + std::to_string(k) + " out of range");
  const KernelSpec &ks = b.kernels[k];
  auto fail = [&](const std::string &m) {
    return Status::error("kernel '" + ks.name + "' (#" + std::to_string(k) + "): " + m);
  };
  if (lim.paramCount >= 0 && size_t(lim.paramCount) != ks.params.size())
    return fail("bundle passes " + std::to_string(ks.params.size()) + " params but the kernel takes " +
                std::to_string(lim.paramCount));
  if (slots.size() < ks.params.size())
    return fail("param buffer too small");
  static const char *const xyz[] = {"x", "y", "z"};
  int64_t threads = 1;
  cfg.skip = false;
  for (size_t d = 0; d < 3; ++d) {
    int64_t g = 0, bl = 0;
    Status st = ks.grid[d].eval(syms, g);
    if (!st.ok())
      return fail("grid " + std::string(xyz[d]) + ": " + st.message());
    st = ks.block[d].eval(syms, bl);
    if (!st.ok())
      return fail("block " + std::string(xyz[d]) + ": " + st.message());
    if (g < 0 || g > lim.maxGridDim[d])
      return fail("grid " + std::string(xyz[d]) + " = " + std::to_string(g) + " out of range [0, " +
                  std::to_string(lim.maxGridDim[d]) + "]");
    if (bl < 1 || bl > lim.maxBlockDim[d])
      return fail("block " + std::string(xyz[d]) + " = " + std::to_string(bl) + " out of range [1, " +
                  std::to_string(lim.maxBlockDim[d]) + "]");
    threads *= bl;
    if (g == 0)
      cfg.skip = true;
    cfg.grid[d] = unsigned(g);
    cfg.block[d] = unsigned(bl);
  }
  if (threads > lim.maxThreadsPerBlock)
    return fail("block of " + std::to_string(threads) + " threads exceeds the limit of " +
                std::to_string(lim.maxThreadsPerBlock));
  int64_t smem = 0;
  Status st = ks.smem.eval(syms, smem);
  if (!st.ok())
    return fail("smem: " + st.message());
  if (smem < 0 || smem > lim.maxDynamicSmem)
    return fail("dynamic shared memory of " + std::to_string(smem) + " bytes exceeds the available " +
                std::to_string(lim.maxDynamicSmem) + " bytes");
  cfg.smem = unsigned(smem);
  for (size_t p = 0; p < ks.params.size(); ++p) {
    const Param &pa = ks.params[p];
    uint64_t slot = 0;
    int64_t v = 0;
    if (pa.kind != Param::Kind::ArgPtr && pa.kind != Param::Kind::F32) {
      st = pa.value.eval(syms, v);
      if (!st.ok())
        return fail("param " + std::to_string(p) + ": " + st.message());
    }
    switch (pa.kind) {
    case Param::Kind::ArgPtr:
      if (pa.arg < 0 || size_t(pa.arg) >= args.size())
        return fail("param " + std::to_string(p) + ": argument index " + std::to_string(pa.arg) + " out of range");
      slot = args[size_t(pa.arg)].ptr;
      break;
    case Param::Kind::WsPtr:
      // (Not checked for a skipped launch: an empty problem may come with an empty workspace.)
      if (!cfg.skip && (v < 0 || uint64_t(v) > ws.bytes))
        return fail("param " + std::to_string(p) + ": workspace offset " + std::to_string(v) +
                    " outside the workspace of " + std::to_string(ws.bytes) + " bytes");
      slot = ws.ptr + uint64_t(v);
      break;
    case Param::Kind::I64:
      std::memcpy(&slot, &v, 8);
      break;
    case Param::Kind::I32: {
      if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
        return fail("param " + std::to_string(p) + ": value " + std::to_string(v) + " does not fit i32");
      int32_t v32 = int32_t(v);
      std::memcpy(&slot, &v32, 4);
      break;
    }
    case Param::Kind::F32:
      std::memcpy(&slot, &pa.f32, 4);
      break;
    }
    slots[p] = slot;
  }
  return Status::success();
}

Expected<LaunchPlan> planLaunch(const Bundle &b, Span<const TensorArg> args, const Workspace &ws,
                                Span<const KernelLimits> limits) {
  if (!limits.empty() && limits.size() != b.kernels.size())
    return Status::error("planLaunch: " + std::to_string(limits.size()) + " limits for " +
                         std::to_string(b.kernels.size()) + " kernels");
  LaunchPlan plan;
  plan.symbols.resize(b.symbols.size());
  DS_RT_RETURN_IF_ERROR(bindSymbols(b, args, plan.symbols));
  DS_RT_RETURN_IF_ERROR(evalWorkspaceBytes(b, plan.symbols, plan.workspaceBytes));
  DS_RT_RETURN_IF_ERROR(checkWorkspace(b, plan.symbols, ws));
  KernelLimits defaults;
  for (size_t k = 0; k < b.kernels.size(); ++k) {
    KernelPlan kp;
    kp.params.resize(b.kernels[k].params.size());
    DS_RT_RETURN_IF_ERROR(planKernel(b, k, plan.symbols, args, ws, limits.empty() ? defaults : limits[k],
                                     kp.config, kp.params));
    plan.kernels.push_back(std::move(kp));
  }
  return plan;
}

} // namespace ds::rt
