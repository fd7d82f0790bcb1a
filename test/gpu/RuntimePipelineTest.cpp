// Runtime tests that need a GPU: loading and launching bundles, including the one the project's
// compiler produces (label_append.dsb in $DS_TEST_BUNDLE_DIR).
#include "runtime/Bundle.h"
#include "runtime/Device.h"
#include "runtime/Pipeline.h"

#include "test/gpu/RuntimeGpuTest.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

using namespace ds::rt;

namespace {

// A runtime-only probe of the driver's dynamic-shared-memory opt-in path (> 48 KiB), not a product
// kernel: smem_probe(int *out, long long n) fills n bytes of dynamic shared memory and writes the
// last word to out[0]. Product kernels come from the compiler (label_append.dsb below).
const char *kSmemProbePtx = R"PTX(.version 7.0
.target sm_75
.address_size 64
	// .globl	smem_probe
.extern .shared .align 16 .b8 buf[];
.visible .entry smem_probe(
	.param .u64 smem_probe_param_0,
	.param .u64 smem_probe_param_1
)
{
	.reg .pred 	%p<4>;
	.reg .b32 	%r<14>;
	.reg .b64 	%rd<13>;
	ld.param.u64 	%rd6, [smem_probe_param_0];
	ld.param.u64 	%rd7, [smem_probe_param_1];
	mov.u32 	%r1, %tid.x;
	cvt.u64.u32 	%rd1, %r1;
	shr.s64 	%rd8, %rd7, 63;
	shr.u64 	%rd9, %rd8, 62;
	add.s64 	%rd10, %rd7, %rd9;
	shr.s64 	%rd2, %rd10, 2;
	setp.le.s64 	%p1, %rd2, %rd1;
	@%p1 bra 	$L__BB0_3;
	mov.u32 	%r2, %ntid.x;
	cvt.u64.u32 	%rd3, %r2;
	mov.u32 	%r6, buf;
	mov.u64 	%rd12, %rd1;
$L__BB0_2:
	cvt.u32.u64 	%r3, %rd12;
	mul.lo.s32 	%r4, %r3, 3;
	shl.b32 	%r5, %r3, 2;
	add.s32 	%r7, %r6, %r5;
	st.shared.u32 	[%r7], %r4;
	add.s64 	%rd12, %rd12, %rd3;
	setp.lt.s64 	%p2, %rd12, %rd2;
	@%p2 bra 	$L__BB0_2;
$L__BB0_3:
	cvt.u32.u64 	%r8, %rd1;
	bar.sync 	0;
	setp.ne.s32 	%p3, %r8, 0;
	@%p3 bra 	$L__BB0_5;
	cvt.u32.u64 	%r9, %rd2;
	shl.b32 	%r10, %r9, 2;
	mov.u32 	%r11, buf;
	add.s32 	%r12, %r11, %r10;
	ld.shared.u32 	%r13, [%r12+-4];
	cvta.to.global.u64 	%rd11, %rd6;
	st.global.u32 	[%rd11], %r13;
$L__BB0_5:
	ret;
}
)PTX";

using RuntimePipeline = RuntimeGpuTest;


Expr ex(const Bundle &b, const char *text) {
  auto e = b.expr(text);
  EXPECT_TRUE(e.ok()) << e.message();
  return e.ok() ? *e : Expr();
}

std::string bundleDir() {
  const char *env = std::getenv("DS_TEST_BUNDLE_DIR");
  return env && *env ? env : DS_TEST_BUNDLE_DIR;
}

// The label_append bundle the project's compiler writes (test/gpu/inputs/label_append.mlir, built
// by ds-compile). Missing while a GPU is present is a failure, not a skip.
Bundle compilerLabelAppend() {
  std::string path = bundleDir() + "/label_append.dsb";
  auto b = Bundle::readFile(path);
  EXPECT_TRUE(b.ok()) << "the compiler-produced bundle is missing or unreadable (set "
                         "DS_TEST_BUNDLE_DIR or build it into " DS_TEST_BUNDLE_DIR "): "
                      << b.message();
  return b.ok() ? *b : Bundle();
}

// Device data and CPU reference for label_append (bf16 as uint16 bit patterns).
struct LabelAppendCase {
  int64_t T = 37, Hkv = 8, d = 128, r = 16, S = 64;
  std::vector<uint16_t> newK, cacheInit, expected;
  std::vector<int32_t> channels, slots;
  DeviceBuffer dNewK, dChannels, dSlots, dCache;

  void makeData(uint32_t seed) {
    std::mt19937 rng(seed);
    newK.resize(size_t(T * Hkv * d));
    for (auto &v : newK)
      v = uint16_t(rng());
    cacheInit.resize(size_t(Hkv * S * r));
    for (auto &v : cacheInit)
      v = uint16_t(rng());
    channels.resize(size_t(Hkv * r));
    for (auto &c : channels)
      c = int32_t(rng() % uint32_t(d));
    channels[3] = -1;                               // out of range: writes 0
    channels[size_t(Hkv * r - 1)] = int32_t(d) + 5; // out of range: writes 0
    // Distinct slots (no two tokens write the same entry), a few out of range.
    std::vector<int32_t> perm(static_cast<size_t>(S));
    for (int32_t i = 0; i < int32_t(S); ++i)
      perm[size_t(i)] = i;
    std::shuffle(perm.begin(), perm.end(), rng);
    slots.assign(perm.begin(), perm.begin() + T);
    slots[0] = -1;
    slots[5] = int32_t(S);
    slots[size_t(T - 1)] = int32_t(S) + 100;
    expected = cacheInit;
    for (int64_t t = 0; t < T; ++t) {
      int64_t slot = slots[size_t(t)];
      if (slot < 0 || slot >= S)
        continue;
      for (int64_t h = 0; h < Hkv; ++h)
        for (int64_t j = 0; j < r; ++j) {
          int64_t c = channels[size_t(h * r + j)];
          expected[size_t((h * S + slot) * r + j)] =
              c < 0 || c >= d ? uint16_t(0) : newK[size_t((t * Hkv + h) * d + c)];
        }
    }
  }

  Status upload(const Context &ctx) {
    auto put = [&](DeviceBuffer &dst, const void *src, size_t bytes) {
      auto b = ctx.alloc(bytes);
      if (!b.ok())
        return b.status();
      dst = std::move(*b);
      return dst.upload(src, bytes);
    };
    DS_RT_RETURN_IF_ERROR(put(dNewK, newK.data(), newK.size() * 2));
    DS_RT_RETURN_IF_ERROR(put(dChannels, channels.data(), channels.size() * 4));
    DS_RT_RETURN_IF_ERROR(put(dSlots, slots.data(), slots.size() * 4));
    return put(dCache, cacheInit.data(), cacheInit.size() * 2);
  }

  std::vector<TensorArg> args() const {
    return {TensorArg(dNewK.ptr(), {T, Hkv, d}), TensorArg(dChannels.ptr(), {Hkv, r}),
            TensorArg(dSlots.ptr(), {T}), TensorArg(dCache.ptr(), {Hkv, S, r})};
  }

  std::vector<uint16_t> readCache() const {
    std::vector<uint16_t> out(cacheInit.size());
    EXPECT_TRUE(dCache.download(out.data(), out.size() * 2).ok());
    return out;
  }
};

// Loads `bundle`, launches it on a stream and compares with the CPU reference.
void runAndCheck(const Context &ctx, const Bundle &bundle) {
  auto pipe = Pipeline::load(ctx, bundle);
  ASSERT_TRUE(pipe.ok()) << pipe.message();
  LabelAppendCase c;
  c.makeData(1234);
  ASSERT_TRUE(c.upload(ctx).ok());
  auto args = c.args();
  auto ws = OwnedWorkspace::allocate(*pipe, args);
  ASSERT_TRUE(ws.ok()) << ws.message();
  auto need = pipe->workspaceBytes(args);
  ASSERT_TRUE(need.ok()) << need.message();
  EXPECT_EQ(ws->bytes(), *need);
  auto stream = ctx.createStream();
  ASSERT_TRUE(stream.ok()) << stream.message();
  // Launching twice is idempotent for this kernel; the second launch reuses everything cached.
  for (int i = 0; i < 2; ++i) {
    Status s = pipe->launch(args, ws->get(), stream->handle());
    ASSERT_TRUE(s.ok()) << s.message();
  }
  ASSERT_TRUE(stream->synchronize().ok());
  std::vector<uint16_t> got = c.readCache();
  ASSERT_EQ(got.size(), c.expected.size());
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != c.expected[i] && bad++ < 10)
      ADD_FAILURE() << "label_cache[" << i << "] = " << got[i] << ", expected " << c.expected[i];
  EXPECT_EQ(bad, 0u);

  // A wrong argument shape is refused naming the argument, and nothing runs.
  auto wrong = args;
  wrong[2] = TensorArg(c.dSlots.ptr(), {c.T + 1});
  Status s = pipe->launch(wrong, ws->get(), stream->handle());
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(contains(s.message(), "argument 'slot_mapping' (#2) dim 0")) << s.message();
  wrong = args;
  wrong[3] = TensorArg(c.dCache.ptr(), {c.Hkv, c.S * c.r});
  s = pipe->launch(wrong, ws->get(), stream->handle());
  EXPECT_TRUE(contains(s.message(), "argument 'label_cache' (#3): expected rank 3, got rank 2")) << s.message();
}

} // namespace

TEST_F(RuntimePipeline, CompilerLabelAppend) {
  Bundle b = compilerLabelAppend();
  ASSERT_FALSE(b.kernels.empty());
  ASSERT_EQ(b.args.size(), 4u);
  EXPECT_EQ(b.args[0].name, "new_k");
  EXPECT_EQ(b.args[0].dtype, DType::BF16);
  EXPECT_EQ(b.args[3].role, ArgRole::InOut);
  EXPECT_FALSE(b.ptx.empty());
  runAndCheck(ctx, b);
}

TEST_F(RuntimePipeline, CompilerBundleThroughFilePtxAndCubin) {
  Bundle b = compilerLabelAppend();
  ASSERT_FALSE(b.kernels.empty());
  b.workspace = ex(b, "64*new_k_d0"); // unused by the kernel; exercises workspace sizing
  std::string path = ::testing::TempDir() + "ds_label_append_roundtrip.dsb";
  ASSERT_TRUE(b.writeFile(path).ok());
  auto back = Bundle::readFile(path);
  std::remove(path.c_str());
  ASSERT_TRUE(back.ok()) << back.message();
  // From the PTX (driver JIT) ...
  Bundle ptxOnly = *back;
  ptxOnly.cubin.clear();
  runAndCheck(ctx, ptxOnly);
  // ... and from the cubin ptxas made, when the compiler found ptxas.
  if (!back->cubin.empty()) {
    auto pipe = Pipeline::load(ctx, *back);
    ASSERT_TRUE(pipe.ok()) << pipe.message();
    if (back->target == ctx.properties().smName()) {
      EXPECT_STREQ(pipe->imageKind(), "cubin");
    }
    runAndCheck(ctx, *back);
  }
}

TEST_F(RuntimePipeline, RefusesWrongParamCount) {
  Bundle b = compilerLabelAppend();
  ASSERT_FALSE(b.kernels.empty());
  const std::string kn = "kernel '" + b.kernels[0].name + "' (#0)";
  const size_t n = b.kernels[0].params.size();
  b.kernels[0].params.push_back(Param::i64(Expr(0)));
  auto rejected = Pipeline::load(ctx, b);
  ASSERT_FALSE(rejected.ok());
  EXPECT_TRUE(contains(rejected.message(), kn + ": bundle passes " + std::to_string(n + 1) + " params"))
      << rejected.message();

  LoadOptions lenient;
  lenient.checkParams = false;
  auto pipe = Pipeline::load(ctx, b, lenient);
  ASSERT_TRUE(pipe.ok()) << pipe.message();
  EXPECT_EQ(pipe->limits(0).paramCount, int(n));
  LabelAppendCase c;
  c.makeData(7);
  ASSERT_TRUE(c.upload(ctx).ok());
  auto ws = OwnedWorkspace::allocate(*pipe, c.args());
  ASSERT_TRUE(ws.ok());
  Status s = pipe->launch(c.args(), ws->get(), nullptr);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(contains(s.message(), kn + ": bundle passes " + std::to_string(n + 1) +
                                        " params but the kernel takes " + std::to_string(n)))
      << s.message();
  ASSERT_TRUE(ctx.synchronize().ok());
  EXPECT_EQ(c.readCache(), c.cacheInit); // nothing ran
}

TEST_F(RuntimePipeline, RefusesTooMuchDynamicSmem) {
  Bundle b = compilerLabelAppend();
  ASSERT_FALSE(b.kernels.empty());
  const std::string kn = "kernel '" + b.kernels[0].name + "' (#0)";
  b.kernels[0].smem = Expr(int64_t(1) << 30);
  auto rejected = Pipeline::load(ctx, b);
  ASSERT_FALSE(rejected.ok());
  EXPECT_TRUE(contains(rejected.message(), kn + ": dynamic shared memory of 1073741824 bytes"))
      << rejected.message();

  b.kernels[0].smem = ex(b, "1073741824+new_k_d0-new_k_d0"); // only known at launch
  b.workspace = ex(b, "64*new_k_d0");
  auto pipe = Pipeline::load(ctx, b);
  ASSERT_TRUE(pipe.ok()) << pipe.message();
  LabelAppendCase c;
  c.makeData(8);
  ASSERT_TRUE(c.upload(ctx).ok());
  auto ws = OwnedWorkspace::allocate(*pipe, c.args());
  ASSERT_TRUE(ws.ok());
  Status s = pipe->launch(c.args(), ws->get(), nullptr);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(contains(s.message(), kn + ": dynamic shared memory of 1073741824 bytes exceeds"))
      << s.message();
  ASSERT_TRUE(ctx.synchronize().ok());
  EXPECT_EQ(c.readCache(), c.cacheInit);

  // Too small a workspace is refused too.
  s = pipe->launch(c.args(), Workspace{ws->get().ptr, 8}, nullptr);
  EXPECT_TRUE(contains(s.message(), "workspace too small")) << s.message();
}

TEST_F(RuntimePipeline, DynamicSmemAboveDefaultLimit) {
  const DeviceProperties &p = ctx.properties();
  Bundle b;
  b.target = "sm_75";
  ASSERT_TRUE(b.addArgDimSymbol("W", 0, 0).ok());
  b.args.push_back({"out", ArgRole::InOut, DType::I32, {ex(b, "W")}});
  b.ptx = kSmemProbePtx;
  KernelSpec k;
  k.name = "smem_probe";
  k.block = {Expr(256), Expr(1), Expr(1)};
  k.smem = ex(b, "4*W");
  k.params = {Param::argPtr(0), Param::i64(ex(b, "4*W"))};
  b.kernels.push_back(k);
  auto pipe = Pipeline::load(ctx, b);
  ASSERT_TRUE(pipe.ok()) << pipe.message();
  EXPECT_STREQ(pipe->imageKind(), "ptx");

  int64_t words = (p.maxSharedPerBlockOptin - pipe->kernels()[0].staticSmemBytes()) / 4;
  ASSERT_GT(words * 4, 48 * 1024) << "device has no opt-in shared memory above 48 KiB";
  auto out = ctx.alloc(size_t(words) * 4);
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(out->fill(0).ok());
  Status s = pipe->launch({TensorArg(out->ptr(), {words})}, {}, nullptr);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(ctx.synchronize().ok());
  int32_t first = 0;
  ASSERT_TRUE(out->download(&first, 4).ok());
  EXPECT_EQ(first, int32_t((words - 1) * 3));

  s = pipe->launch({TensorArg(out->ptr(), {words + 1})}, {}, nullptr);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(contains(s.message(), "dynamic shared memory of")) << s.message();
}
