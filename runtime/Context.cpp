#include "runtime/DeviceInternal.h"

namespace ds::rt {

using detail::ContextState;

Expected<int> Context::deviceCount() {
  auto drv = Driver::get();
  if (!drv)
    return drv.status();
  int n = 0;
  DS_RT_RETURN_IF_ERROR((*drv)->check((*drv)->cuDeviceGetCount(&n), "cuDeviceGetCount"));
  return n;
}

Expected<Context> Context::open(int ordinal) {
  auto drv = Driver::get();
  if (!drv)
    return drv.status();
  return open(ordinal, *drv);
}

Expected<Context> Context::open(int ordinal, std::shared_ptr<const Driver> driver) {
  if (!driver)
    return Status::error("Context::open: null driver");
  const Driver &d = *driver;
  int count = 0;
  DS_RT_RETURN_IF_ERROR(d.check(d.cuDeviceGetCount(&count), "cuDeviceGetCount"));
  if (count == 0)
    return Status::error("no CUDA device found", ErrorCode::NoDevice);
  if (ordinal < 0 || ordinal >= count)
    return Status::error("CUDA device " + std::to_string(ordinal) + " requested but " +
                             std::to_string(count) + " device(s) present",
                         ErrorCode::NoDevice);
  auto st = std::make_shared<ContextState>();
  st->driver = std::move(driver);
  DS_RT_RETURN_IF_ERROR(d.check(d.cuDeviceGet(&st->device, ordinal), "cuDeviceGet"));
  DS_RT_RETURN_IF_ERROR(
      d.check(d.cuDevicePrimaryCtxRetain(&st->ctx, st->device), "cuDevicePrimaryCtxRetain"));
  DS_RT_RETURN_IF_ERROR(st->makeCurrent());

  DeviceProperties &p = st->props;
  p.ordinal = ordinal;
  char name[256] = {};
  DS_RT_RETURN_IF_ERROR(d.check(d.cuDeviceGetName(name, sizeof(name) - 1, st->device), "cuDeviceGetName"));
  p.name = name;
  struct {
    int *out;
    int attr;
    const char *what;
  } attrs[] = {
      {&p.smCount, cu::DEV_MULTIPROCESSOR_COUNT, "multiprocessor count"},
      {&p.ccMajor, cu::DEV_COMPUTE_CAPABILITY_MAJOR, "compute capability major"},
      {&p.ccMinor, cu::DEV_COMPUTE_CAPABILITY_MINOR, "compute capability minor"},
      {&p.maxSharedPerBlock, cu::DEV_MAX_SHARED_MEMORY_PER_BLOCK, "max shared memory per block"},
      {&p.maxSharedPerBlockOptin, cu::DEV_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
       "max opt-in shared memory per block"},
      {&p.l2Bytes, cu::DEV_L2_CACHE_SIZE, "L2 cache size"},
      {&p.maxThreadsPerBlock, cu::DEV_MAX_THREADS_PER_BLOCK, "max threads per block"},
      {&p.maxBlockDim[0], cu::DEV_MAX_BLOCK_DIM_X, "max block dim x"},
      {&p.maxBlockDim[1], cu::DEV_MAX_BLOCK_DIM_X + 1, "max block dim y"},
      {&p.maxBlockDim[2], cu::DEV_MAX_BLOCK_DIM_X + 2, "max block dim z"},
      {&p.maxGridDim[0], cu::DEV_MAX_GRID_DIM_X, "max grid dim x"},
      {&p.maxGridDim[1], cu::DEV_MAX_GRID_DIM_X + 1, "max grid dim y"},
      {&p.maxGridDim[2], cu::DEV_MAX_GRID_DIM_X + 2, "max grid dim z"},
  };
  for (auto &a : attrs)
    DS_RT_RETURN_IF_ERROR(d.check(d.cuDeviceGetAttribute(a.out, a.attr, st->device),
                                  std::string("cuDeviceGetAttribute(") + a.what + ")"));
  return Context(std::move(st));
}

const DeviceProperties &Context::properties() const { return state_->props; }
const Driver &Context::driver() const { return *state_->driver; }
CUcontext Context::handle() const { return state_->ctx; }
CUdevice Context::device() const { return state_->device; }
Status Context::makeCurrent() const { return state_->makeCurrent(); }

Status Context::synchronize() const {
  DS_RT_RETURN_IF_ERROR(makeCurrent());
  return driver().check(driver().cuCtxSynchronize(), "cuCtxSynchronize");
}

Expected<DeviceBuffer> Context::alloc(size_t bytes) const {
  DeviceBuffer buf;
  buf.ctx_ = state_;
  if (bytes == 0)
    return buf;
  DS_RT_RETURN_IF_ERROR(makeCurrent());
  DS_RT_RETURN_IF_ERROR(driver().check(driver().cuMemAlloc(&buf.ptr_, bytes),
                                       "cuMemAlloc of " + std::to_string(bytes) + " bytes"));
  buf.bytes_ = bytes;
  return buf;
}

Status Context::copyHtoD(CUdeviceptr dst, const void *src, size_t bytes) const {
  if (bytes == 0)
    return Status::success();
  DS_RT_RETURN_IF_ERROR(makeCurrent());
  return driver().check(driver().cuMemcpyHtoD(dst, src, bytes), "cuMemcpyHtoD");
}

Status Context::copyDtoH(void *dst, CUdeviceptr src, size_t bytes) const {
  if (bytes == 0)
    return Status::success();
  DS_RT_RETURN_IF_ERROR(makeCurrent());
  return driver().check(driver().cuMemcpyDtoH(dst, src, bytes), "cuMemcpyDtoH");
}

Status Context::copyDtoD(CUdeviceptr dst, CUdeviceptr src, size_t bytes) const {
  if (bytes == 0)
    return Status::success();
  DS_RT_RETURN_IF_ERROR(makeCurrent());
  return driver().check(driver().cuMemcpyDtoD(dst, src, bytes), "cuMemcpyDtoD");
}

Status Context::memset8(CUdeviceptr dst, uint8_t value, size_t bytes) const {
  if (bytes == 0)
    return Status::success();
  DS_RT_RETURN_IF_ERROR(makeCurrent());
  return driver().check(driver().cuMemsetD8(dst, value, bytes), "cuMemsetD8");
}

// DeviceBuffer ---------------------------------------------------------------------------------

DeviceBuffer::DeviceBuffer(DeviceBuffer &&o) noexcept
    : ctx_(std::move(o.ctx_)), ptr_(o.ptr_), bytes_(o.bytes_) {
  o.ptr_ = 0;
  o.bytes_ = 0;
}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&o) noexcept {
  if (this != &o) {
    reset();
    ctx_ = std::move(o.ctx_);
    ptr_ = o.ptr_;
    bytes_ = o.bytes_;
    o.ptr_ = 0;
    o.bytes_ = 0;
  }
  return *this;
}

DeviceBuffer::~DeviceBuffer() { reset(); }

void DeviceBuffer::reset() {
  if (ptr_ && ctx_ && ctx_->makeCurrent().ok())
    (void)ctx_->driver->cuMemFree(ptr_);
  ptr_ = 0;
  bytes_ = 0;
}

static Status checkRange(size_t offset, size_t bytes, size_t size, const char *what) {
  if (offset > size || bytes > size - offset)
    return Status::error(std::string(what) + " of " + std::to_string(bytes) + " bytes at offset " +
                         std::to_string(offset) + " exceeds buffer of " + std::to_string(size) +
                         " bytes");
  return Status::success();
}

Status DeviceBuffer::upload(const void *src, size_t bytes, size_t offset) const {
  DS_RT_RETURN_IF_ERROR(checkRange(offset, bytes, bytes_, "upload"));
  if (bytes == 0)
    return Status::success();
  return Context(ctx_).copyHtoD(ptr_ + offset, src, bytes);
}

Status DeviceBuffer::download(void *dst, size_t bytes, size_t offset) const {
  DS_RT_RETURN_IF_ERROR(checkRange(offset, bytes, bytes_, "download"));
  if (bytes == 0)
    return Status::success();
  return Context(ctx_).copyDtoH(dst, ptr_ + offset, bytes);
}

Status DeviceBuffer::fill(uint8_t value) const {
  if (bytes_ == 0)
    return Status::success();
  return Context(ctx_).memset8(ptr_, value, bytes_);
}

} // namespace ds::rt
