#include "runtime/DeviceInternal.h"

#include <cstring>

namespace ds::rt {

using detail::ModuleState;

namespace {

Expected<std::shared_ptr<ModuleState>> loadImage(const Context &ctx, const void *image, const char *what) {
  DS_RT_RETURN_IF_ERROR(ctx.makeCurrent());
  const Driver &d = ctx.driver();
  constexpr size_t kLogBytes = 16384;
  std::string errorLog(kLogBytes, '\0');
  int options[] = {cu::JIT_ERROR_LOG_BUFFER, cu::JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {errorLog.data(), reinterpret_cast<void *>(static_cast<uintptr_t>(kLogBytes))};
  CUmodule mod = nullptr;
  CUresult r = d.cuModuleLoadDataEx(&mod, image, 2, options, values);
  if (r != cu::SUCCESS) {
    errorLog.resize(strnlen(errorLog.data(), kLogBytes));
    std::string msg = std::string("loading ") + what + " module: " + d.errorText(r);
    if (!errorLog.empty())
      msg += "\nJIT error log:\n" + errorLog;
    return Status::error(std::move(msg), ErrorCode::Driver);
  }
  auto st = std::make_shared<ModuleState>();
  st->ctx = ctx.state();
  st->module = mod;
  return st;
}

} // namespace

Expected<Module> Context::loadPtx(std::string_view ptx) const {
  std::string text(ptx); // the JIT needs a NUL-terminated string
  auto st = loadImage(*this, text.c_str(), "PTX");
  if (!st)
    return st.status();
  Module m;
  m.state_ = std::move(*st);
  return m;
}

Expected<Module> Context::loadCubin(const void *data, size_t bytes) const {
  if (!data || bytes == 0)
    return Status::error("loading cubin module: empty image");
  auto st = loadImage(*this, data, "cubin");
  if (!st)
    return st.status();
  Module m;
  m.state_ = std::move(*st);
  return m;
}

CUmodule Module::handle() const { return state_ ? state_->module : nullptr; }

Expected<Kernel> Module::kernel(const std::string &name, int paramCount) const {
  if (!state_)
    return Status::error("kernel lookup in an empty Module");
  const Driver &d = *state_->ctx->driver;
  DS_RT_RETURN_IF_ERROR(state_->ctx->makeCurrent());
  Kernel k;
  k.mod_ = state_;
  k.name_ = name;
  DS_RT_RETURN_IF_ERROR(d.check(d.cuModuleGetFunction(&k.fn_, state_->module, name.c_str()),
                                "looking up kernel '" + name + "'"));
  auto attr = [&](int a, int *out, const char *what) {
    return d.check(d.cuFuncGetAttribute(out, a, k.fn_),
                   "cuFuncGetAttribute(" + std::string(what) + ") of kernel '" + name + "'");
  };
  DS_RT_RETURN_IF_ERROR(attr(cu::FUNC_SHARED_SIZE_BYTES, &k.staticSmem_, "shared size"));
  DS_RT_RETURN_IF_ERROR(attr(cu::FUNC_MAX_THREADS_PER_BLOCK, &k.maxThreads_, "max threads"));
  DS_RT_RETURN_IF_ERROR(attr(cu::FUNC_NUM_REGS, &k.numRegs_, "num regs"));
  if (d.cuFuncGetParamInfo) {
    // Ask for the known parameters, or probe until the driver says the index is out of range.
    const size_t limit = paramCount >= 0 ? size_t(paramCount) : 4096;
    for (size_t i = 0; i < limit; ++i) {
      size_t offset = 0, size = 0;
      CUresult r = d.cuFuncGetParamInfo(k.fn_, i, &offset, &size);
      if (r == cu::ERROR_INVALID_VALUE && paramCount < 0)
        break;
      DS_RT_RETURN_IF_ERROR(d.check(r, "cuFuncGetParamInfo of kernel '" + name + "'"));
      k.paramSizes_.push_back(size);
    }
    k.paramInfoKnown_ = true;
  }
  return k;
}

Status Kernel::setMaxDynamicSmem(int bytes) const {
  if (!mod_)
    return Status::error("setMaxDynamicSmem on an empty Kernel");
  const Driver &d = *mod_->ctx->driver;
  return d.check(d.cuFuncSetAttribute(fn_, cu::FUNC_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes),
                 "setting max dynamic shared memory of kernel '" + name_ + "' to " +
                     std::to_string(bytes) + " bytes");
}

Status Kernel::launch(Dim3 grid, Dim3 block, unsigned smemBytes, CUstream stream,
                      void **params, bool programmatic) const {
  if (!mod_)
    return Status::error("launch of an empty Kernel");
  const Driver &d = *mod_->ctx->driver;
  CUresult r;
  if (programmatic && d.cuLaunchKernelEx) {
    CUlaunchAttribute attr;
    attr.id = cu::LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    attr.value.programmaticStreamSerializationAllowed = 1;
    CUlaunchConfig config{grid.x, grid.y, grid.z, block.x, block.y, block.z, smemBytes, stream,
                          &attr, 1};
    r = d.cuLaunchKernelEx(&config, fn_, params, nullptr);
  } else {
    r = d.cuLaunchKernel(fn_, grid.x, grid.y, grid.z, block.x, block.y, block.z, smemBytes, stream,
                         params, nullptr);
  }
  if (r == cu::SUCCESS)
    return Status::success();
  return d.check(r, "launching kernel '" + name_ + "'");
}

} // namespace ds::rt
