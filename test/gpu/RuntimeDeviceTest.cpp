// Runtime tests that need a GPU: device properties, memory, events, module loading.
#include "runtime/Device.h"
#include "runtime/Driver.h"

#include "test/gpu/RuntimeGpuTest.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

using namespace ds::rt;

namespace {

using RuntimeDevice = RuntimeGpuTest;


} // namespace

TEST_F(RuntimeDevice, PropertiesAreSane) {
  const DeviceProperties &p = ctx.properties();
  EXPECT_FALSE(p.name.empty());
  EXPECT_GT(p.smCount, 0);
  EXPECT_GE(p.ccMajor, 5);
  EXPECT_GE(p.ccMinor, 0);
  EXPECT_GE(p.maxSharedPerBlock, 48 * 1024);
  EXPECT_GE(p.maxSharedPerBlockOptin, p.maxSharedPerBlock);
  EXPECT_GT(p.l2Bytes, 0);
  EXPECT_EQ(p.maxThreadsPerBlock, 1024);
  EXPECT_GE(p.maxGridDim[0], 65535);
  EXPECT_EQ(p.smName(), "sm_" + std::to_string(p.ccMajor * 10 + p.ccMinor));
  EXPECT_GE(ctx.driver().version(), 11000);
  auto n = Context::deviceCount();
  ASSERT_TRUE(n.ok()) << n.message();
  EXPECT_GE(*n, 1);
  auto bad = Context::open(*n);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::NoDevice);
  std::printf("device: %s, %s, %d SMs, smem opt-in %d B, L2 %d B, driver %d, cuFuncGetParamInfo %s\n",
              p.name.c_str(), p.smName().c_str(), p.smCount, p.maxSharedPerBlockOptin, p.l2Bytes,
              ctx.driver().version(), ctx.driver().hasFuncGetParamInfo() ? "yes" : "no");
}

TEST_F(RuntimeDevice, MemoryRoundTrip) {
  const size_t n = (1 << 20) + 3;
  std::vector<uint8_t> host(n), back(n, 0);
  for (size_t i = 0; i < n; ++i)
    host[i] = uint8_t(i * 131 + (i >> 9));
  auto a = ctx.alloc(n);
  auto b = ctx.alloc(n);
  ASSERT_TRUE(a.ok()) << a.message();
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_NE(a->ptr(), 0u);
  EXPECT_EQ(a->bytes(), n);
  ASSERT_TRUE(a->upload(host.data(), n).ok());
  ASSERT_TRUE(ctx.copyDtoD(b->ptr(), a->ptr(), n).ok());
  ASSERT_TRUE(b->download(back.data(), n).ok());
  EXPECT_EQ(host, back);

  ASSERT_TRUE(ctx.memset8(b->ptr() + 10, 0xAB, 100).ok());
  ASSERT_TRUE(ctx.copyDtoH(back.data(), b->ptr(), n).ok());
  for (size_t i = 0; i < n; ++i)
    ASSERT_EQ(back[i], (i >= 10 && i < 110) ? 0xAB : host[i]) << i;
  ASSERT_TRUE(b->fill(0).ok());
  ASSERT_TRUE(b->download(back.data(), 16, 64).ok());
  for (int i = 0; i < 16; ++i)
    EXPECT_EQ(back[size_t(i)], 0);

  Status s = a->upload(host.data(), 16, n - 8);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(contains(s.message(), "exceeds buffer")) << s.message();

  DeviceBuffer moved = std::move(*a);
  EXPECT_EQ(a->ptr(), 0u);
  EXPECT_EQ(moved.bytes(), n);
  moved.reset();
  EXPECT_EQ(moved.ptr(), 0u);

  auto empty = ctx.alloc(0);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->ptr(), 0u);

  auto huge = ctx.alloc(size_t(1) << 50);
  ASSERT_FALSE(huge.ok());
  EXPECT_TRUE(contains(huge.message(), "cuMemAlloc of")) << huge.message();
  EXPECT_TRUE(contains(huge.message(), "CUDA_ERROR_OUT_OF_MEMORY")) << huge.message();
}

TEST_F(RuntimeDevice, EventTiming) {
  auto stream = ctx.createStream();
  auto start = ctx.createEvent();
  auto end = ctx.createEvent();
  ASSERT_TRUE(stream.ok() && start.ok() && end.ok());
  auto buf = ctx.alloc(64 << 20);
  ASSERT_TRUE(buf.ok());
  ASSERT_TRUE(start->record(stream->handle()).ok());
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(buf->fill(uint8_t(i)).ok());
  ASSERT_TRUE(end->record(stream->handle()).ok());
  ASSERT_TRUE(end->synchronize().ok());
  ASSERT_TRUE(stream->synchronize().ok());
  auto ms = Event::elapsedMs(*start, *end);
  ASSERT_TRUE(ms.ok()) << ms.message();
  EXPECT_GE(*ms, 0.0f);
  EXPECT_LT(*ms, 10000.0f);
}

TEST_F(RuntimeDevice, BadPtxSurfacesJitLog) {
  const char *ptx = ".version 7.0\n.target sm_75\n.address_size 64\n"
                    ".visible .entry broken()\n{\n  frobnicate.u32 %r1, 7;\n  ret;\n}\n";
  auto m = ctx.loadPtx(ptx);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), ErrorCode::Driver);
  EXPECT_TRUE(contains(m.message(), "loading PTX module: CUDA_ERROR_INVALID_PTX")) << m.message();
  EXPECT_TRUE(contains(m.message(), "JIT error log:")) << m.message();
  EXPECT_TRUE(contains(m.message(), "frobnicate")) << m.message();

  auto c = ctx.loadCubin("not an elf", 10);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(contains(c.message(), "loading cubin module")) << c.message();
}

TEST_F(RuntimeDevice, KernelLookupAndLaunch) {
  // out[threadIdx.x] = threadIdx.x + value
  const char *ptx = ".version 7.0\n.target sm_75\n.address_size 64\n"
                    ".visible .entry iota(.param .u64 out, .param .u32 value)\n{\n"
                    "  .reg .b32 %r<4>;\n  .reg .b64 %rd<4>;\n"
                    "  ld.param.u64 %rd1, [out];\n  ld.param.u32 %r1, [value];\n"
                    "  cvta.to.global.u64 %rd2, %rd1;\n  mov.u32 %r2, %tid.x;\n"
                    "  add.s32 %r3, %r2, %r1;\n  mul.wide.u32 %rd3, %r2, 4;\n"
                    "  add.s64 %rd2, %rd2, %rd3;\n  st.global.u32 [%rd2], %r3;\n  ret;\n}\n";
  auto m = ctx.loadPtx(ptx);
  ASSERT_TRUE(m.ok()) << m.message();
  auto missing = m->kernel("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(contains(missing.message(), "looking up kernel 'nope'")) << missing.message();
  EXPECT_TRUE(contains(missing.message(), "CUDA_ERROR_NOT_FOUND")) << missing.message();
  auto k = m->kernel("iota");
  ASSERT_TRUE(k.ok()) << k.message();
  EXPECT_EQ(k->staticSmemBytes(), 0);
  EXPECT_GE(k->maxThreadsPerBlock(), 256);
  if (k->paramInfoKnown()) {
    EXPECT_EQ(k->paramSizes(), (std::vector<size_t>{8, 4}));
  }
  auto out = ctx.alloc(256 * 4);
  ASSERT_TRUE(out.ok());
  CUdeviceptr p = out->ptr();
  uint32_t value = 1000;
  void *params[] = {&p, &value};
  ASSERT_TRUE(k->launch({1, 1, 1}, {256, 1, 1}, 0, nullptr, params).ok());
  ASSERT_TRUE(ctx.synchronize().ok());
  std::vector<uint32_t> host(256);
  ASSERT_TRUE(out->download(host.data(), 256 * 4).ok());
  for (uint32_t i = 0; i < 256; ++i)
    ASSERT_EQ(host[i], i + 1000);
  // The driver's own refusal is reported with the kernel name.
  Status s = k->launch({1, 1, 1}, {4096, 1, 1}, 0, nullptr, params);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(contains(s.message(), "launching kernel 'iota'")) << s.message();
  EXPECT_TRUE(ctx.synchronize().ok());
}
