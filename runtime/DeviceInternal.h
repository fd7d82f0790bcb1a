// Private to the runtime's .cpp files.
#pragma once

#include "runtime/Device.h"

namespace ds::rt::detail {

struct ContextState {
  std::shared_ptr<const Driver> driver;
  CUdevice device = 0;
  CUcontext ctx = nullptr;
  DeviceProperties props;
  ~ContextState() {
    if (ctx)
      (void)driver->cuDevicePrimaryCtxRelease(device);
  }
  Status makeCurrent() const { return driver->check(driver->cuCtxSetCurrent(ctx), "cuCtxSetCurrent"); }
};

struct ModuleState {
  std::shared_ptr<ContextState> ctx;
  CUmodule module = nullptr;
  ~ModuleState() {
    if (module && ctx->makeCurrent().ok())
      (void)ctx->driver->cuModuleUnload(module);
  }
};

} // namespace ds::rt::detail
