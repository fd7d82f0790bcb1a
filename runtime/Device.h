// Device, primary context, memory, streams, events, modules and kernels.
//
// Every object holds a reference to the context it was made in, so a buffer, module or stream
// stays valid after the Context handle that created it is destroyed. Objects that own a driver
// resource (DeviceBuffer, Stream, Event, Module) are move-only and release it in the destructor.
#pragma once

#include "runtime/Driver.h"
#include "runtime/Status.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ds::rt {

struct DeviceProperties {
  int ordinal = 0;
  std::string name;
  int smCount = 0;
  int ccMajor = 0, ccMinor = 0;
  int maxSharedPerBlock = 0;      ///< Bytes, without opt-in (usually 48 KiB).
  int maxSharedPerBlockOptin = 0; ///< Bytes of shared memory a block may opt in to.
  int l2Bytes = 0;
  int maxThreadsPerBlock = 0;
  std::array<int, 3> maxBlockDim{};
  std::array<int, 3> maxGridDim{};

  /// 10 * major + minor, e.g. 90.
  int smVersion() const { return ccMajor * 10 + ccMinor; }
  /// "sm_90".
  std::string smName() const { return "sm_" + std::to_string(smVersion()); }
};

namespace detail {
struct ContextState;
struct ModuleState;
} // namespace detail

class DeviceBuffer;
class Stream;
class Event;
class Module;

/// A device with its primary context retained. Cheap to copy (shared handle); the primary context
/// is released when the last handle and the last object made from it are gone.
class Context {
public:
  /// An empty handle; use open().
  Context() = default;
  /// Number of CUDA devices (error if the driver cannot be loaded).
  static Expected<int> deviceCount();
  /// Retains device `ordinal`'s primary context and makes it current on the calling thread.
  /// ErrorCode::DriverNotFound / NoDevice when there is no driver / no such device.
  static Expected<Context> open(int ordinal = 0);
  static Expected<Context> open(int ordinal, std::shared_ptr<const Driver> driver);

  const DeviceProperties &properties() const;
  const Driver &driver() const;
  CUcontext handle() const;
  CUdevice device() const;

  /// Makes the context current on the calling thread. Context methods below do this themselves;
  /// call it before launching on a thread that did not open the context (Pipeline::launch and
  /// Kernel::launch issue nothing but cuLaunchKernel or cuLaunchKernelEx).
  Status makeCurrent() const;
  Status synchronize() const;

  Expected<DeviceBuffer> alloc(size_t bytes) const;
  Status copyHtoD(CUdeviceptr dst, const void *src, size_t bytes) const;
  Status copyDtoH(void *dst, CUdeviceptr src, size_t bytes) const;
  Status copyDtoD(CUdeviceptr dst, CUdeviceptr src, size_t bytes) const;
  Status memset8(CUdeviceptr dst, uint8_t value, size_t bytes) const;

  Expected<Stream> createStream(bool nonBlocking = true) const;
  Expected<Event> createEvent() const;

  /// Loads PTX text through the driver JIT; on failure the message carries the JIT error log.
  Expected<Module> loadPtx(std::string_view ptx) const;
  /// Loads a cubin (or fatbin) image.
  Expected<Module> loadCubin(const void *data, size_t bytes) const;

  /// Internal: the shared state behind this handle.
  const std::shared_ptr<detail::ContextState> &state() const { return state_; }
  explicit Context(std::shared_ptr<detail::ContextState> s) : state_(std::move(s)) {}

private:
  std::shared_ptr<detail::ContextState> state_;
};

/// Owned device memory.
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  DeviceBuffer(DeviceBuffer &&other) noexcept;
  DeviceBuffer &operator=(DeviceBuffer &&other) noexcept;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  ~DeviceBuffer();

  CUdeviceptr ptr() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  /// Frees now (errors are ignored, as in the destructor).
  void reset();

  Status upload(const void *src, size_t bytes, size_t offset = 0) const;
  Status download(void *dst, size_t bytes, size_t offset = 0) const;
  Status fill(uint8_t value) const;

private:
  friend class Context;
  std::shared_ptr<detail::ContextState> ctx_;
  CUdeviceptr ptr_ = 0;
  size_t bytes_ = 0;
};

class Stream {
public:
  Stream() = default;
  Stream(Stream &&other) noexcept;
  Stream &operator=(Stream &&other) noexcept;
  Stream(const Stream &) = delete;
  Stream &operator=(const Stream &) = delete;
  ~Stream();

  CUstream handle() const { return stream_; }
  Status synchronize() const;

private:
  friend class Context;
  std::shared_ptr<detail::ContextState> ctx_;
  CUstream stream_ = nullptr;
};

class Event {
public:
  Event() = default;
  Event(Event &&other) noexcept;
  Event &operator=(Event &&other) noexcept;
  Event(const Event &) = delete;
  Event &operator=(const Event &) = delete;
  ~Event();

  CUevent handle() const { return event_; }
  Status record(CUstream stream = nullptr) const;
  Status synchronize() const;
  /// Milliseconds between two recorded, completed events.
  static Expected<float> elapsedMs(const Event &start, const Event &end);

private:
  friend class Context;
  std::shared_ptr<detail::ContextState> ctx_;
  CUevent event_ = nullptr;
};

/// Launch geometry.
struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};

/// A kernel of a loaded module, with the attributes the launcher checks against. Copyable; keeps
/// its module loaded.
class Kernel {
public:
  Kernel() = default;
  CUfunction handle() const { return fn_; }
  const std::string &name() const { return name_; }
  int staticSmemBytes() const { return staticSmem_; }
  int maxThreadsPerBlock() const { return maxThreads_; }
  int numRegs() const { return numRegs_; }
  /// Parameter sizes in bytes from cuFuncGetParamInfo, when the driver has it.
  bool paramInfoKnown() const { return paramInfoKnown_; }
  const std::vector<size_t> &paramSizes() const { return paramSizes_; }

  /// cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES).
  Status setMaxDynamicSmem(int bytes) const;
  /// One driver call: cuLaunchKernel, or with `programmatic` (the kernel waits on griddepcontrol
  /// before it touches memory) cuLaunchKernelEx with programmatic stream serialization, so that it
  /// may start while the stream's previous kernel drains. A driver without cuLaunchKernelEx
  /// launches it plainly (same results: its wait then returns at once). `params` as for
  /// cuLaunchKernel.
  Status launch(Dim3 grid, Dim3 block, unsigned smemBytes, CUstream stream, void **params,
                bool programmatic = false) const;

private:
  friend class Module;
  std::shared_ptr<detail::ModuleState> mod_;
  CUfunction fn_ = nullptr;
  std::string name_;
  int staticSmem_ = 0, maxThreads_ = 0, numRegs_ = 0;
  bool paramInfoKnown_ = false;
  std::vector<size_t> paramSizes_;
};

class Module {
public:
  Module() = default;
  CUmodule handle() const;
  /// Looks up a kernel and reads its attributes (and parameter info when available).
  /// `paramCount` >= 0 (known from the PTX entry): the driver is asked about exactly those
  /// parameters; < 0: parameters are probed until the driver reports the index out of range
  /// (an API error that tools such as compute-sanitizer list).
  Expected<Kernel> kernel(const std::string &name, int paramCount = -1) const;

private:
  friend class Context;
  std::shared_ptr<detail::ModuleState> state_;
};

} // namespace ds::rt
