#include "runtime/Driver.h"

#include <cstdlib>
#include <dlfcn.h>

namespace ds::rt {

std::string Driver::defaultLibraryPath() {
  const char *env = std::getenv("DS_CUDA_DRIVER_LIB");
  if (env && *env)
    return env;
  return "libcuda.so.1";
}

namespace {

// Resolves the first of `names` that the library exports into `fn`.
template <typename Fn>
bool resolve(void *lib, Fn &fn, std::initializer_list<const char *> names) {
  for (const char *name : names) {
    if (void *sym = dlsym(lib, name)) {
      fn = reinterpret_cast<Fn>(sym);
      return true;
    }
  }
  return false;
}

} // namespace

Expected<std::shared_ptr<const Driver>> Driver::open(const std::string &libPath) {
  std::string path = libPath.empty() ? defaultLibraryPath() : libPath;
  dlerror();
  void *lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    return Status::error("CUDA driver not found (dlopen " + path + ": " +
                             (why ? why : "unknown error") + ")",
                         ErrorCode::DriverNotFound);
  }
  std::shared_ptr<Driver> d(new Driver());
  d->path_ = path;
  std::string missing;
  auto need = [&](auto &fn, std::initializer_list<const char *> names) {
    if (!resolve(lib, fn, names))
      missing += std::string(missing.empty() ? "" : ", ") + *names.begin();
  };
  need(d->cuInit, {"cuInit"});
  need(d->cuDriverGetVersion, {"cuDriverGetVersion"});
  need(d->cuGetErrorName, {"cuGetErrorName"});
  need(d->cuGetErrorString, {"cuGetErrorString"});
  need(d->cuDeviceGetCount, {"cuDeviceGetCount"});
  need(d->cuDeviceGet, {"cuDeviceGet"});
  need(d->cuDeviceGetName, {"cuDeviceGetName"});
  need(d->cuDeviceGetAttribute, {"cuDeviceGetAttribute"});
  need(d->cuDevicePrimaryCtxRetain, {"cuDevicePrimaryCtxRetain"});
  need(d->cuDevicePrimaryCtxRelease, {"cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"});
  need(d->cuCtxSetCurrent, {"cuCtxSetCurrent"});
  need(d->cuCtxSynchronize, {"cuCtxSynchronize"});
  need(d->cuMemAlloc, {"cuMemAlloc_v2"});
  need(d->cuMemFree, {"cuMemFree_v2"});
  need(d->cuMemcpyHtoD, {"cuMemcpyHtoD_v2"});
  need(d->cuMemcpyDtoH, {"cuMemcpyDtoH_v2"});
  need(d->cuMemcpyDtoD, {"cuMemcpyDtoD_v2"});
  need(d->cuMemsetD8, {"cuMemsetD8_v2"});
  need(d->cuModuleLoadDataEx, {"cuModuleLoadDataEx"});
  need(d->cuModuleUnload, {"cuModuleUnload"});
  need(d->cuModuleGetFunction, {"cuModuleGetFunction"});
  need(d->cuFuncGetAttribute, {"cuFuncGetAttribute"});
  need(d->cuFuncSetAttribute, {"cuFuncSetAttribute"});
  need(d->cuLaunchKernel, {"cuLaunchKernel"});
  need(d->cuStreamCreate, {"cuStreamCreate"});
  need(d->cuStreamDestroy, {"cuStreamDestroy_v2", "cuStreamDestroy"});
  need(d->cuStreamSynchronize, {"cuStreamSynchronize"});
  need(d->cuEventCreate, {"cuEventCreate"});
  need(d->cuEventDestroy, {"cuEventDestroy_v2", "cuEventDestroy"});
  need(d->cuEventRecord, {"cuEventRecord"});
  need(d->cuEventSynchronize, {"cuEventSynchronize"});
  need(d->cuEventElapsedTime, {"cuEventElapsedTime_v2", "cuEventElapsedTime"});
  resolve(lib, d->cuFuncGetParamInfo, {"cuFuncGetParamInfo"}); // optional (CUDA 12.4+)
  resolve(lib, d->cuLaunchKernelEx, {"cuLaunchKernelEx"});     // optional (CUDA 12.0+)
  if (!missing.empty()) {
    dlclose(lib);
    return Status::error("CUDA driver " + path + " is too old or not a CUDA driver: missing " +
                             missing,
                         ErrorCode::DriverNotFound);
  }
  // The library stays loaded for the life of the process (unloading the driver is unsafe).
  CUresult r = d->cuInit(0);
  if (r != cu::SUCCESS) {
    Status s = d->check(r, "cuInit");
    if (r == cu::ERROR_NO_DEVICE)
      return Status::error("no CUDA device: " + s.message(), ErrorCode::NoDevice);
    return s.withContext("initializing the CUDA driver " + path);
  }
  if (Status s = d->check(d->cuDriverGetVersion(&d->version_), "cuDriverGetVersion"); !s.ok())
    return s;
  return std::shared_ptr<const Driver>(std::move(d));
}

Expected<std::shared_ptr<const Driver>> Driver::get() {
  static const Expected<std::shared_ptr<const Driver>> instance = open();
  return instance;
}

std::string Driver::errorText(CUresult result) const {
  const char *name = nullptr;
  const char *text = nullptr;
  if (cuGetErrorName(result, &name) != cu::SUCCESS || !name)
    name = nullptr;
  if (cuGetErrorString(result, &text) != cu::SUCCESS || !text)
    text = nullptr;
  std::string out = name ? name : "CUDA error " + std::to_string(result);
  out += " (";
  out += text ? text : "unrecognized error code";
  out += ")";
  return out;
}

Status Driver::check(CUresult result, const char *what) const {
  if (result == cu::SUCCESS)
    return Status::success();
  return Status::error(std::string(what) + ": " + errorText(result),
                       result == cu::ERROR_NO_DEVICE ? ErrorCode::NoDevice : ErrorCode::Driver);
}

} // namespace ds::rt
