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
  if (!host.empty())
    EXPECT_TRUE(buf->upload(host.data(), host.size() * sizeof(T)).ok());
  return std::move(*buf);
}

template <typename T> std::vector<T> download(const rt::DeviceBuffer &buf, size_t count) {
  std::vector<T> host(count);
  if (count)
    EXPECT_TRUE(buf.download(host.data(), count * sizeof(T)).ok());
  return host;
}

inline std::vector<uint16_t> randomHalf(ref::Rng &rng, size_t n, ref::Half type, double lo = -1,
                                        double hi = 1) {
  std::vector<uint16_t> v(n);
  for (auto &x : v)
    x = ref::fromFloat(static_cast<float>(rng.uniform(lo, hi)), type);
  return v;
}

/// Paging of a ragged batch: each request gets distinct random pages (a random permutation of
/// the pool); unused page-table entries hold out-of-range page numbers, which must never be read.
inline ref::Paging makePaging(ref::Rng &rng, const std::vector<int32_t> &lens, int64_t pageSize,
                              int64_t &numPages) {
  ref::Paging p;
  p.batch = static_cast<int64_t>(lens.size());
  int64_t maxLen = 1, total = 0;
  for (int32_t n : lens) {
    maxLen = std::max<int64_t>(maxLen, n);
    total += (n + pageSize - 1) / pageSize;
  }
  p.maxPages = (maxLen + pageSize - 1) / pageSize + 1;
  numPages = total + 3;
  std::vector<int32_t> pool(numPages);
  for (int64_t i = 0; i < numPages; ++i)
    pool[i] = static_cast<int32_t>(i);
  for (int64_t i = numPages - 1; i > 0; --i)
    std::swap(pool[i], pool[rng.below(i + 1)]);
  p.pageTable.assign(p.batch * p.maxPages, 0);
  int64_t next = 0;
  for (int64_t b = 0; b < p.batch; ++b) {
    int64_t used = (lens[b] + pageSize - 1) / pageSize;
    for (int64_t i = 0; i < p.maxPages; ++i)
      p.pageTable[b * p.maxPages + i] =
          i < used ? pool[next++] : static_cast<int32_t>(i % 2 ? -7 : numPages + 1000);
  }
  p.seqLens = lens;
  return p;
}

} // namespace ds::test
