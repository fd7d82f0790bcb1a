// The CUDA driver API, loaded at run time with dlopen("libcuda.so.1").
//
// The runtime never links libcuda (nor cudart or NVRTC): it declares the few driver types it
// needs here and resolves the entry points on first use, so everything builds and links on a
// machine without a driver and reports a clear error at run time instead.
#pragma once

#include "runtime/Status.h"

#include <cstddef>
#include <memory>
#include <string>

// Same opaque struct names as cuda.h, so handles from code that includes cuda.h convert freely.
struct CUctx_st;
struct CUmod_st;
struct CUfunc_st;
struct CUstream_st;
struct CUevent_st;

namespace ds::rt {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = CUctx_st *;
using CUmodule = CUmod_st *;
using CUfunction = CUfunc_st *;
using CUstream = CUstream_st *;
using CUevent = CUevent_st *;

/// Numeric values from cuda.h for the enumerators the runtime uses.
namespace cu {
constexpr CUresult SUCCESS = 0;
constexpr CUresult ERROR_INVALID_VALUE = 1;
constexpr CUresult ERROR_NO_DEVICE = 100;
// CUdevice_attribute
constexpr int DEV_MAX_THREADS_PER_BLOCK = 1;
constexpr int DEV_MAX_BLOCK_DIM_X = 2; // Y = 3, Z = 4
constexpr int DEV_MAX_GRID_DIM_X = 5;  // Y = 6, Z = 7
constexpr int DEV_MAX_SHARED_MEMORY_PER_BLOCK = 8;
constexpr int DEV_MULTIPROCESSOR_COUNT = 16;
constexpr int DEV_L2_CACHE_SIZE = 38;
constexpr int DEV_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int DEV_COMPUTE_CAPABILITY_MINOR = 76;
constexpr int DEV_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
// CUfunction_attribute
constexpr int FUNC_MAX_THREADS_PER_BLOCK = 0;
constexpr int FUNC_SHARED_SIZE_BYTES = 1;
constexpr int FUNC_NUM_REGS = 4;
constexpr int FUNC_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
// CUjit_option
constexpr int JIT_INFO_LOG_BUFFER = 3;
constexpr int JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4;
constexpr int JIT_ERROR_LOG_BUFFER = 5;
constexpr int JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
// Flags
constexpr unsigned STREAM_NON_BLOCKING = 0x1;
constexpr unsigned EVENT_DEFAULT = 0x0;
// CUlaunchAttributeID
constexpr int LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION = 6;
} // namespace cu

/// cuda.h's CUlaunchAttribute and CUlaunchConfig (same layout: a 4-byte id padded to 8, a 64-byte
/// value union), for cuLaunchKernelEx.
struct CUlaunchAttribute {
  int id = 0;
  char pad[4] = {};
  union alignas(8) Value { // 8-aligned as cuda.h's (it holds pointers)
    char pad[64];
    int programmaticStreamSerializationAllowed;
  } value{};
};
static_assert(sizeof(CUlaunchAttribute) == 72, "CUlaunchAttribute layout");
static_assert(alignof(CUlaunchAttribute) == 8, "CUlaunchAttribute alignment");
struct CUlaunchConfig {
  unsigned gridDimX = 1, gridDimY = 1, gridDimZ = 1;
  unsigned blockDimX = 1, blockDimY = 1, blockDimZ = 1;
  unsigned sharedMemBytes = 0;
  CUstream hStream = nullptr;
  CUlaunchAttribute *attrs = nullptr;
  unsigned numAttrs = 0;
};
static_assert(sizeof(CUlaunchConfig) == 56, "CUlaunchConfig layout");

/// A loaded driver library: its entry points plus error formatting. Immutable once opened, so it
/// may be shared between threads.
class Driver {
public:
  /// The library opened when no path is given: $DS_CUDA_DRIVER_LIB if set and non-empty, else
  /// "libcuda.so.1".
  static std::string defaultLibraryPath();

  /// Opens `libPath` (empty: defaultLibraryPath()), resolves every entry point and calls cuInit(0).
  /// Errors: ErrorCode::DriverNotFound "CUDA driver not found (dlopen <path>: <dlerror>)" or a
  /// missing symbol; ErrorCode::NoDevice when cuInit reports no device.
  static Expected<std::shared_ptr<const Driver>> open(const std::string &libPath = {});

  /// The process-wide driver, opened with defaultLibraryPath() on first call; later calls return
  /// the same driver (or the same error).
  static Expected<std::shared_ptr<const Driver>> get();

  const std::string &libraryPath() const { return path_; }
  /// cuDriverGetVersion, e.g. 13000.
  int version() const { return version_; }
  /// True when the driver exports cuFuncGetParamInfo (CUDA 12.4+).
  bool hasFuncGetParamInfo() const { return cuFuncGetParamInfo != nullptr; }
  /// True when the driver exports cuLaunchKernelEx (CUDA 12.0+): programmatic dependent launch.
  bool hasLaunchKernelEx() const { return cuLaunchKernelEx != nullptr; }

  /// "CUDA_ERROR_INVALID_VALUE (invalid argument)" for a result code.
  std::string errorText(CUresult result) const;
  /// Ok for CUDA_SUCCESS; otherwise an error "<what>: <errorText>" (ErrorCode::Driver, or NoDevice
  /// for CUDA_ERROR_NO_DEVICE).
  Status check(CUresult result, const char *what) const;
  Status check(CUresult result, const std::string &what) const { return check(result, what.c_str()); }

  // Entry points (the versioned symbol where the driver exports one). Always non-null once opened,
  // except cuFuncGetParamInfo and cuLaunchKernelEx, which old drivers lack.
  CUresult (*cuInit)(unsigned) = nullptr;
  CUresult (*cuDriverGetVersion)(int *) = nullptr;
  CUresult (*cuGetErrorName)(CUresult, const char **) = nullptr;
  CUresult (*cuGetErrorString)(CUresult, const char **) = nullptr;
  CUresult (*cuDeviceGetCount)(int *) = nullptr;
  CUresult (*cuDeviceGet)(CUdevice *, int) = nullptr;
  CUresult (*cuDeviceGetName)(char *, int, CUdevice) = nullptr;
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice) = nullptr;
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice) = nullptr;
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice) = nullptr; // _v2
  CUresult (*cuCtxSetCurrent)(CUcontext) = nullptr;
  CUresult (*cuCtxSynchronize)() = nullptr;
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t) = nullptr;                    // _v2
  CUresult (*cuMemFree)(CUdeviceptr) = nullptr;                               // _v2
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t) = nullptr;      // _v2
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t) = nullptr;            // _v2
  CUresult (*cuMemcpyDtoD)(CUdeviceptr, CUdeviceptr, size_t) = nullptr;       // _v2
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t) = nullptr;       // _v2
  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned, int *, void **) = nullptr;
  CUresult (*cuModuleUnload)(CUmodule) = nullptr;
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *) = nullptr;
  CUresult (*cuFuncGetAttribute)(int *, int, CUfunction) = nullptr;
  CUresult (*cuFuncSetAttribute)(CUfunction, int, int) = nullptr;
  CUresult (*cuFuncGetParamInfo)(CUfunction, size_t, size_t *, size_t *) = nullptr; // optional
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, CUstream, void **, void **) = nullptr;
  CUresult (*cuLaunchKernelEx)(const CUlaunchConfig *, CUfunction, void **, void **) = nullptr; // optional
  CUresult (*cuStreamCreate)(CUstream *, unsigned) = nullptr;
  CUresult (*cuStreamDestroy)(CUstream) = nullptr; // _v2
  CUresult (*cuStreamSynchronize)(CUstream) = nullptr;
  CUresult (*cuEventCreate)(CUevent *, unsigned) = nullptr;
  CUresult (*cuEventDestroy)(CUevent) = nullptr; // _v2
  CUresult (*cuEventRecord)(CUevent, CUstream) = nullptr;
  CUresult (*cuEventSynchronize)(CUevent) = nullptr;
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent) = nullptr; // _v2, else unversioned

private:
  Driver() = default;
  std::string path_;
  int version_ = 0;
};

} // namespace ds::rt
