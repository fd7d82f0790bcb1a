// Runtime tests that need a GPU: loading and launching the bundles the project's compiler produces
// (label_append.dsb and double_sparsity.dsb in $DS_TEST_BUNDLE_DIR), whole or modified in memory
// where a test needs a defective one.
#include "runtime/Bundle.h"
#include "runtime/Device.h"
#include "runtime/Pipeline.h"

#include "test/common/BundleShapes.h"
#include "test/gpu/RuntimeGpuTest.h"

#include <gtest/gtest.h>

#include <cmath>
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

// A bundle the project's compiler writes into the bundle directory (built by CMake with
// ds-compile). Missing while a GPU is present is a failure, not a skip.
Bundle compilerBundle(const std::string &file) {
  std::string path = bundleDir() + "/" + file;
  auto b = Bundle::readFile(path);
  EXPECT_TRUE(b.ok()) << "the compiler-produced bundle " << file
                      << " is missing or unreadable (set DS_TEST_BUNDLE_DIR or build it into "
                         DS_TEST_BUNDLE_DIR "): "
                      << b.message();
  return b.ok() ? *b : Bundle();
}

// label_append.dsb, from test/gpu/inputs/label_append.mlir.
Bundle compilerLabelAppend() { return compilerBundle("label_append.dsb"); }

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

// Dynamic shared memory above the 48 KiB a launch gets without the driver's opt-in, from a
// compiler product: the Double Sparsity step of examples/double_sparsity.mlir (built into
// double_sparsity.dsb; Hq = Hkv = 32, d = 128, r = 16, page size 1, k = 256, bf16). Its fused
// score_topk kernel keeps a row's label scores in 4 * min(max_pages, block_tokens) bytes of
// dynamic shared memory, so a page table of 12800 entries needs 51200 bytes. The data make the
// result exact: every label score is +-16 * scale with exactly k heavy tokens per head, and zero
// keys give the selected tokens equal attention weights, so o is the mean of their values.
TEST_F(RuntimePipeline, CompilerDynamicSmemAboveDefaultLimit) {
  Bundle b = compilerBundle("double_sparsity.dsb");
  ASSERT_FALSE(b.kernels.empty());
  ASSERT_EQ(b.args.size(), 9u) << "q, k_cache, v_cache, label_cache, channels, page_table, "
                                  "seq_lens -> o, selected tokens";
  EXPECT_EQ(b.args[0].dtype, DType::BF16);
  const int64_t H = 32, d = 128, r = 16, k = 256, n = 1000, maxPages = 12800;
  const uint16_t one = 0x3F80, minusOne = 0xBF80; // bf16
  auto bf16 = [](int v) {
    float f = float(v);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    return uint16_t(bits >> 16); // exact for small integers
  };
  auto heavy = [&](int64_t h, int64_t t) { return (37 * t + 11 * h) % n < k; }; // k per head
  auto value = [](int64_t t, int64_t h, int64_t c) { return int((t + 3 * h + c) % 9) - 4; };

  std::vector<uint16_t> q(size_t(H * d), one), kCache(size_t(n * H * d), 0), vCache(kCache.size());
  for (int64_t t = 0; t < n; ++t)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t c = 0; c < d; ++c)
        vCache[size_t((t * H + h) * d + c)] = bf16(value(t, h, c));
  std::vector<uint16_t> labels(size_t(H * n * r));
  for (int64_t h = 0; h < H; ++h)
    for (int64_t t = 0; t < n; ++t)
      std::fill_n(labels.begin() + (h * n + t) * r, r, heavy(h, t) ? one : minusOne);
  std::vector<int32_t> channels(size_t(H * r)), pageTable(size_t(maxPages), 0), seqLens{int32_t(n)};
  for (size_t i = 0; i < channels.size(); ++i)
    channels[i] = int32_t(i % size_t(r));
  for (int32_t t = 0; t < int32_t(n); ++t)
    pageTable[size_t(t)] = t;

  std::vector<DeviceBuffer> bufs;
  auto put = [&](const void *src, size_t bytes) {
    auto buf = ctx.alloc(bytes);
    EXPECT_TRUE(buf.ok()) << buf.message();
    if (!buf.ok())
      return CUdeviceptr(0);
    EXPECT_TRUE(buf->upload(src, bytes).ok());
    bufs.push_back(std::move(*buf));
    return bufs.back().ptr();
  };
  std::vector<uint16_t> oInit(size_t(H * d), 0x7FC0); // NaN
  std::vector<int32_t> idxInit(size_t(H * k), -2);
  std::vector<TensorArg> args = {
      TensorArg(put(q.data(), q.size() * 2), {1, H, d}),
      TensorArg(put(kCache.data(), kCache.size() * 2), {n, 1, H, d}),
      TensorArg(put(vCache.data(), vCache.size() * 2), {n, 1, H, d}),
      TensorArg(put(labels.data(), labels.size() * 2), {H, n, r}),
      TensorArg(put(channels.data(), channels.size() * 4), {H, r}),
      TensorArg(put(pageTable.data(), pageTable.size() * 4), {1, maxPages}),
      TensorArg(put(seqLens.data(), 4), {1}),
      TensorArg(put(oInit.data(), oInit.size() * 2), {1, H, d}),
      TensorArg(put(idxInit.data(), idxInit.size() * 4), {1, H, k})};
  ASSERT_EQ(bufs.size(), args.size());

  auto pipe = Pipeline::load(ctx, b);
  ASSERT_TRUE(pipe.ok()) << pipe.message();
  auto ws = OwnedWorkspace::allocate(*pipe, args);
  ASSERT_TRUE(ws.ok()) << ws.message();

  // The largest dynamic shared memory of the launch is above 48 KiB and within the opt-in limit.
  std::vector<KernelLimits> limits;
  for (size_t i = 0; i < pipe->kernels().size(); ++i)
    limits.push_back(pipe->limits(i));
  auto plan = planLaunch(pipe->bundle(), args, ws->get(), limits);
  ASSERT_TRUE(plan.ok()) << plan.message();
  size_t big = 0;
  for (size_t i = 1; i < plan->kernels.size(); ++i)
    if (plan->kernels[i].config.smem > plan->kernels[big].config.smem)
      big = i;
  EXPECT_GT(int64_t(plan->kernels[big].config.smem), 48 * 1024)
      << "no kernel of the bundle uses dynamic shared memory above 48 KiB";
  ASSERT_LE(int64_t(plan->kernels[big].config.smem), limits[big].maxDynamicSmem)
      << "device has no opt-in shared memory for kernel '" << b.kernels[big].name << "'";

  Status s = pipe->launch(args, ws->get(), nullptr);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(ctx.synchronize().ok());
  std::vector<int32_t> idx(idxInit.size());
  ASSERT_TRUE(bufs[8].download(idx.data(), idx.size() * 4).ok());
  std::vector<uint16_t> o(oInit.size());
  ASSERT_TRUE(bufs[7].download(o.data(), o.size() * 2).ok());
  size_t bad = 0;
  for (int64_t h = 0; h < H; ++h) {
    std::vector<int32_t> got(idx.begin() + h * k, idx.begin() + (h + 1) * k), want;
    std::sort(got.begin(), got.end());
    for (int32_t t = 0; t < int32_t(n); ++t)
      if (heavy(h, t))
        want.push_back(t);
    if (got != want && bad++ < 5)
      ADD_FAILURE() << "head " << h << ": selected tokens differ from the " << k << " heavy ones";
    for (int64_t c = 0; c < d; ++c) {
      double mean = 0;
      for (int32_t t : want)
        mean += value(t, h, c);
      mean /= double(k);
      uint32_t bits = uint32_t(o[size_t(h * d + c)]) << 16;
      float gotO;
      std::memcpy(&gotO, &bits, 4);
      if (!(std::fabs(gotO - mean) <= 0.02) && bad++ < 10)
        ADD_FAILURE() << "o[0, " << h << ", " << c << "] = " << gotO << ", expected " << mean;
    }
  }
  EXPECT_EQ(bad, 0u);
}

TEST_F(RuntimePipeline, EmptyBatchLaunchesNothing) {
  // A Double Sparsity step with no requests (q, page_table, seq_lens of batch 0: null pointers,
  // as frameworks give empty tensors) plans every kernel's grid to 0: the launch succeeds, needs
  // no workspace and runs nothing. Shapes from the bundle's own dims, 3 for the other sizes.
  Bundle b = compilerBundle("double_sparsity.dsb");
  const int batch = ds::test::argDimSymbol(b, 0, 0);
  ASSERT_GE(batch, 0);
  auto shapes = ds::test::bundleShapes(b, batch, 3);
  ASSERT_TRUE(shapes.ok()) << shapes.message();
  std::vector<DeviceBuffer> buffers;
  std::vector<TensorArg> args;
  for (size_t a = 0; a < b.args.size(); ++a) {
    const std::vector<int64_t> &dims = shapes->dims[a];
    CUdeviceptr ptr = 0;
    if (int64_t n = ds::test::numel(dims); n > 0) {
      auto buf = ctx.alloc(size_t(n) * dtypeBytes(b.args[a].dtype));
      ASSERT_TRUE(buf.ok()) << buf.message();
      ptr = buf->ptr();
      buffers.push_back(std::move(*buf));
    }
    args.emplace_back(ptr, Span<const int64_t>(dims.data(), dims.size()));
  }
  auto pipe = Pipeline::load(ctx, b);
  ASSERT_TRUE(pipe.ok()) << pipe.message();
  auto need = pipe->workspaceBytes(args);
  ASSERT_TRUE(need.ok()) << need.message();
  EXPECT_EQ(*need, 0u);
  auto stream = ctx.createStream();
  ASSERT_TRUE(stream.ok()) << stream.message();
  Status s = pipe->launch(args, Workspace{}, stream->handle());
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(stream->synchronize().ok());
}
