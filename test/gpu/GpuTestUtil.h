// Shared helpers of the GPU tests that run generated kernels against the CPU reference.
#pragma once

#include "runtime/Device.h"
#include "runtime/Pipeline.h"
#include "tools/reference/Reference.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace ds::test {

/// The device context, opened once per process.
inline const rt::Expected<rt::Context> &gpuContext() {
  static rt::Expected<rt::Context> ctx = rt::Context::open(0);
  return ctx;
}

/// Binds `ctx` to the device; skips the test only when there is no driver or no GPU (any other
/// failure to open the device fails the test).
#define DS_REQUIRE_GPU(ctx)                                                                        \
  const auto &ds_ctx_ = ::ds::test::gpuContext();                                                  \
  if (!ds_ctx_) {                                                                                  \
    auto ds_code_ = ds_ctx_.status().code();                                                       \
    if (ds_code_ == rt::ErrorCode::DriverNotFound || ds_code_ == rt::ErrorCode::NoDevice)          \
      GTEST_SKIP() << "no CUDA driver or GPU: " << ds_ctx_.message();                              \
    FAIL() << ds_ctx_.message();                                                                   \
  }                                                                                                \
  const rt::Context &ctx = *ds_ctx_;                                                               \
  ASSERT_TRUE(ctx.makeCurrent().ok())

/// A device copy of a host vector.
template <typename T> rt::DeviceBuffer upload(const rt::Context &ctx, const std::vector<T> &host) {
  size_t bytes = std::max<size_t>(host.size() * sizeof(T), 16);
  rt::Expected<rt::DeviceBuffer> buf = ctx.alloc(bytes);
  EXPECT_TRUE(buf.ok()) << buf.message();
  if (!buf)
    return {};
  EXPECT_TRUE(buf->fill(0).ok());
  if (!host.empty()) {
    EXPECT_TRUE(buf->upload(host.data(), host.size() * sizeof(T)).ok());
  }
  return std::move(*buf);
}

template <typename T> std::vector<T> download(const rt::DeviceBuffer &buf, size_t count) {
  std::vector<T> host(count);
  if (count) {
    EXPECT_TRUE(buf.download(host.data(), count * sizeof(T)).ok());
  }
  return host;
}

inline std::vector<uint16_t> randomHalf(ref::Rng &rng, size_t n, ref::Half type, double lo = -1,
                                        double hi = 1) {
  std::vector<uint16_t> v(n);
  for (auto &x : v)
    x = ref::fromFloat(static_cast<float>(rng.uniform(lo, hi)), type);
  return v;
}

/// A paged KV cache of `numPages` pages with random keys in [-2, 2) and values in [-1, 1).
inline ref::PagedKV randomPagedKV(ref::Rng &rng, int64_t numPages, int64_t pageSize,
                                  int64_t kvHeads, int64_t headDim, ref::Half type) {
  ref::PagedKV kv;
  kv.numPages = numPages;
  kv.pageSize = pageSize;
  kv.kvHeads = kvHeads;
  kv.headDim = headDim;
  kv.type = type;
  kv.k = randomHalf(rng, numPages * pageSize * kvHeads * headDim, type, -2, 2);
  kv.v = randomHalf(rng, kv.k.size(), type);
  return kv;
}

} // namespace ds::test
