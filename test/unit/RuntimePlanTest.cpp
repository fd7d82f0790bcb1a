// Host-side launch planning (symbol binding, shape checks, launch limits, parameter bytes),
// exercised without a GPU.
#include "runtime/Pipeline.h"
#include "runtime/Plan.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

using namespace ds::rt;

namespace {

const char *kBundle = R"(dsbundle 1
target sm_90
symbol T arg 0 dim 0
symbol Hkv arg 0 dim 1
symbol d arg 0 dim 2
symbol r arg 1 dim 1
symbol S arg 3 dim 1
symbol N expr T*Hkv*r
arg new_k in bf16 T Hkv d
arg channels in i32 Hkv r
arg slot_mapping in i32 T
arg label_cache inout bf16 Hkv S r
workspace 16*cdiv(N,128)
image ptx 1
x
kernel label_append
  grid cdiv(N,128) 1 1
  block 128 1 1
  smem 0
  param ptr arg 0
  param ptr arg 1
  param ptr arg 2
  param ptr arg 3
  param i64 T
  param i64 Hkv
  param i64 d
  param i64 r
  param i64 S
end
kernel second
  grid Hkv T 1
  block 32 4 1
  smem r*1024
  param ptr ws 16
  param i32 -d
  param f32 -1.5
  param i32 S-T
end
)";

Bundle bundle() {
  auto b = Bundle::parse(kBundle);
  EXPECT_TRUE(b.ok()) << b.message();
  return b.ok() ? *b : Bundle();
}

// T=37, Hkv=8, d=128, r=16, S=64.
std::vector<TensorArg> goodArgs(int64_t T = 37) {
  return {TensorArg(0x1000, {T, 8, 128}), TensorArg(0x2000, {8, 16}), TensorArg(0x3000, {T}),
          TensorArg(0x4000, {8, 64, 16})};
}

std::string planError(const Bundle &b, const std::vector<TensorArg> &args, Workspace ws = {0x9000, 1 << 20},
                      std::vector<KernelLimits> limits = {}) {
  auto p = planLaunch(b, args, ws, limits);
  EXPECT_FALSE(p.ok());
  return p.ok() ? "" : p.message();
}

bool contains(const std::string &s, const std::string &sub) { return s.find(sub) != std::string::npos; }

} // namespace

TEST(RuntimePlan, BindsSymbolsAndPlansKernels) {
  Bundle b = bundle();
  auto p = planLaunch(b, goodArgs(), {0x9000, 1 << 20});
  ASSERT_TRUE(p.ok()) << p.message();
  EXPECT_EQ(p->symbols, (std::vector<int64_t>{37, 8, 128, 16, 64, 37 * 8 * 16}));
  EXPECT_EQ(p->workspaceBytes, size_t(16 * 37));
  ASSERT_EQ(p->kernels.size(), 2u);

  const KernelPlan &k0 = p->kernels[0];
  EXPECT_EQ(k0.config.grid, (std::array<unsigned, 3>{37, 1, 1}));
  EXPECT_EQ(k0.config.block, (std::array<unsigned, 3>{128, 1, 1}));
  EXPECT_EQ(k0.config.smem, 0u);
  EXPECT_FALSE(k0.config.skip);
  EXPECT_EQ(k0.params, (std::vector<uint64_t>{0x1000, 0x2000, 0x3000, 0x4000, 37, 8, 128, 16, 64}));

  const KernelPlan &k1 = p->kernels[1];
  EXPECT_EQ(k1.config.grid, (std::array<unsigned, 3>{8, 37, 1}));
  EXPECT_EQ(k1.config.block, (std::array<unsigned, 3>{32, 4, 1}));
  EXPECT_EQ(k1.config.smem, 16u * 1024);
  ASSERT_EQ(k1.params.size(), 4u);
  EXPECT_EQ(k1.params[0], 0x9000u + 16);
  int32_t i32;
  std::memcpy(&i32, &k1.params[1], 4);
  EXPECT_EQ(i32, -128);
  float f;
  std::memcpy(&f, &k1.params[2], 4);
  EXPECT_EQ(f, -1.5f);
  std::memcpy(&i32, &k1.params[3], 4);
  EXPECT_EQ(i32, 64 - 37);
}

TEST(RuntimePlan, ShapeErrorsNameArgumentAndDim) {
  Bundle b = bundle();
  auto args = goodArgs();
  args[1] = TensorArg(0x2000, {8, 17}); // r = 17 is bound from channels; fine by itself...
  // ...but label_cache's last dim (r) is still 16.
  std::string m = planError(b, args);
  EXPECT_TRUE(contains(m, "argument 'label_cache' (#3) dim 2: expected 17 (r), got 16")) << m;

  args = goodArgs();
  args[2] = TensorArg(0x3000, {36});
  m = planError(b, args);
  EXPECT_TRUE(contains(m, "argument 'slot_mapping' (#2) dim 0: expected 37 (T), got 36")) << m;

  args = goodArgs();
  args[1] = TensorArg(0x2000, {9, 16});
  m = planError(b, args);
  EXPECT_TRUE(contains(m, "argument 'channels' (#1) dim 0: expected 8 (Hkv), got 9")) << m;

  args = goodArgs();
  args[3] = TensorArg(0x4000, {8, 64});
  m = planError(b, args);
  EXPECT_TRUE(contains(m, "argument 'label_cache' (#3): expected rank 3, got rank 2")) << m;

  args = goodArgs();
  args.pop_back();
  EXPECT_TRUE(contains(planError(b, args), "expected 4 arguments, got 3"));

  args = goodArgs();
  args[0].shape[1] = -8;
  EXPECT_TRUE(contains(planError(b, args), "argument 'new_k' (#0): dim 1 is negative"));

  args = goodArgs();
  args[0].ptr = 0;
  EXPECT_TRUE(contains(planError(b, args), "argument 'new_k' (#0): null device pointer"));

  std::vector<int64_t> nine(9, 1);
  args = goodArgs();
  args[0] = TensorArg(0x1000, Span<const int64_t>(nine));
  EXPECT_TRUE(contains(planError(b, args), "expected rank 3, got rank 9"));
}

TEST(RuntimePlan, AlignedArgumentsAreCheckedAtLaunch) {
  // `align=16` on an argument: a pointer off by 8 bytes is refused, naming the argument, before
  // any launch; the alignment survives a serialize/parse round trip.
  std::string text = kBundle;
  text.replace(text.find("arg channels in i32"), 19, "arg channels in i32 align=16");
  Expected<Bundle> b = Bundle::parse(text);
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_EQ(b->args[1].align, 16);
  EXPECT_EQ(b->args[0].align, 1);
  Expected<Bundle> again = Bundle::parse(b->serialize());
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(again->args[1].align, 16);
  auto args = goodArgs();
  auto ok = planLaunch(*b, args, Workspace{0x9000, 1 << 20}, {});
  EXPECT_TRUE(ok.ok()) << ok.message();
  args[1].ptr += 8;
  EXPECT_TRUE(contains(planError(*b, args), "argument 'channels' (#1): device pointer is not 16-byte aligned"))
      << planError(*b, args);
  for (const char *bad : {"align=3", "align=0", "align=512", "align=x"}) {
    std::string t = kBundle;
    t.replace(t.find("arg channels in i32"), 19, std::string("arg channels in i32 ") + bad);
    Expected<Bundle> e = Bundle::parse(t);
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_TRUE(contains(e.message(), "align must be a power of two in [1, 256]")) << e.message();
  }
}

TEST(RuntimePlan, TensorBytesChecks) {
  Bundle b = bundle();
  // channels [8, r] with r = 2^62: 2^65 bytes of i32 (T = 0, so that the symbols' expressions,
  // N = T * Hkv * r, do not overflow first).
  auto args = goodArgs(0);
  const int64_t huge = int64_t(1) << 62;
  args[1] = TensorArg(0x2000, {8, huge});
  args[3] = TensorArg(0x4000, {8, 64, huge});
  std::string m = planError(b, args);
  EXPECT_TRUE(contains(m, "argument 'channels' (#1): shape [8, 4611686018427387904] is more than 2^63 bytes"))
      << m;
  // A tensor that would wrap the address space: 37 x 8 x 128 bf16 at 2^64 - 256.
  args = goodArgs();
  args[0].ptr = ~uint64_t(0) - 255;
  m = planError(b, args);
  EXPECT_TRUE(contains(m, "argument 'new_k' (#0): shape [37, 8, 128] at pointer 18446744073709551360 "
                          "passes the end of the address space"))
      << m;
  // An empty tensor holds no bytes, wherever it points and however aligned (an empty slice
  // x[1:1] of a tensor): accepted, as the launch rules say.
  args = goodArgs(0);
  args[0].ptr = ~uint64_t(0) - 255;
  args[2].ptr = 0x3002;
  EXPECT_TRUE(planLaunch(b, args, Workspace{0x9000, 1 << 20}, {}).ok());
  // A bundle built in code and never validated: a symbol reading an argument that is not there
  // is an error (it read past the arguments).
  Bundle unchecked = bundle();
  unchecked.symbols[0].arg = 7;
  m = planError(unchecked, goodArgs());
  EXPECT_TRUE(contains(m, "reads dim 0 of argument 7, which the arguments do not have")) << m;
}

TEST(RuntimePlan, WorkspaceChecks) {
  Bundle b = bundle();
  std::string m = planError(b, goodArgs(), {0x9000, 100});
  EXPECT_TRUE(contains(m, "workspace too small: need 592 bytes, got 100")) << m;
  m = planError(b, goodArgs(), {0, 4096});
  EXPECT_TRUE(contains(m, "pointer is null")) << m;
  // The plan's slices are 256-byte offsets from the base: a base off 256 bytes is refused.
  for (uint64_t base : {0x9001ull, 0x9010ull, 0x9080ull}) {
    m = planError(b, goodArgs(), {base, 4096});
    EXPECT_TRUE(contains(m, "workspace pointer is not 256-byte aligned")) << base << ": " << m;
  }
  EXPECT_TRUE(planLaunch(b, goodArgs(), Workspace{0x9100, 4096}, {}).ok());
  b.kernels[1].params[0] = Param::wsPtr(Expr(1 << 21));
  m = planError(b, goodArgs());
  EXPECT_TRUE(contains(m, "kernel 'second' (#1): param 0: workspace offset 2097152 outside")) << m;
  b = bundle();
  b.workspace = *b.expr("T-100");
  EXPECT_TRUE(contains(planError(b, goodArgs()), "workspace size is negative"));
}

TEST(RuntimePlan, ZeroGridSkipsLaunch) {
  Bundle b = bundle();
  // T = 0: empty tensors, zero-size grids; pointers may be null when a tensor is empty.
  auto args = goodArgs(0);
  args[0].ptr = 0;
  auto p = planLaunch(b, args, {0, 0});
  ASSERT_TRUE(p.ok()) << p.message();
  EXPECT_TRUE(p->kernels[0].config.skip);
  EXPECT_TRUE(p->kernels[1].config.skip);
}

TEST(RuntimePlan, LaunchLimits) {
  Bundle b = bundle();
  std::vector<KernelLimits> lim(2);

  b.kernels[0].block = {Expr(1024), Expr(2), Expr(1)};
  std::string m = planError(b, goodArgs(), {0x9000, 1 << 20}, lim);
  EXPECT_TRUE(contains(m, "kernel 'label_append' (#0): block of 2048 threads exceeds the limit of 1024")) << m;

  b = bundle();
  lim[0].maxThreadsPerBlock = 64; // the compiled kernel's own limit may be lower
  m = planError(b, goodArgs(), {0x9000, 1 << 20}, lim);
  EXPECT_TRUE(contains(m, "block of 128 threads exceeds the limit of 64")) << m;
  lim[0] = KernelLimits();

  b.kernels[0].block[0] = Expr(0);
  EXPECT_TRUE(contains(planError(b, goodArgs(), {0x9000, 1 << 20}, lim), "block x = 0 out of range [1, 1024]"));
  b = bundle();
  b.kernels[0].block[2] = Expr(65);
  EXPECT_TRUE(contains(planError(b, goodArgs(), {0x9000, 1 << 20}, lim), "block z = 65 out of range"));
  b = bundle();
  b.kernels[1].grid[1] = *b.expr("T*10000");
  EXPECT_TRUE(contains(planError(b, goodArgs(), {0x9000, 1 << 20}, lim),
                       "kernel 'second' (#1): grid y = 370000 out of range [0, 65535]"));
  b = bundle();
  b.kernels[1].grid[0] = *b.expr("-T");
  EXPECT_TRUE(contains(planError(b, goodArgs(), {0x9000, 1 << 20}, lim), "grid x = -37 out of range"));
  b = bundle();
  b.kernels[0].grid[0] = *b.expr("T/(S-64)");
  EXPECT_TRUE(contains(planError(b, goodArgs(), {0x9000, 1 << 20}, lim), "grid x: division by zero"));

  // Dynamic shared memory against the per-kernel limit.
  b = bundle();
  lim[1].maxDynamicSmem = 16 * 1024; // exactly enough for r=16
  EXPECT_TRUE(planLaunch(b, goodArgs(), {0x9000, 1 << 20}, lim).ok());
  lim[1].maxDynamicSmem = 16 * 1024 - 1;
  EXPECT_TRUE(contains(planError(b, goodArgs(), {0x9000, 1 << 20}, lim),
                       "kernel 'second' (#1): dynamic shared memory of 16384 bytes exceeds the available 16383 bytes"));
  lim[1] = KernelLimits();
  b.kernels[1].smem = Expr(int64_t(1) << 30);
  EXPECT_TRUE(contains(planError(b, goodArgs(), {0x9000, 1 << 20}, lim),
                       "dynamic shared memory of 1073741824 bytes exceeds"));

  // Parameter count against the compiled kernel's.
  b = bundle();
  lim[0].paramCount = 9;
  EXPECT_TRUE(planLaunch(b, goodArgs(), {0x9000, 1 << 20}, lim).ok());
  b.kernels[0].params.push_back(Param::i64(Expr(0)));
  EXPECT_TRUE(contains(planError(b, goodArgs(), {0x9000, 1 << 20}, lim),
                       "kernel 'label_append' (#0): bundle passes 10 params but the kernel takes 9"));

  // i32 parameters must fit.
  b = bundle();
  b.kernels[1].params[1] = Param::i32(*b.expr("d*100000000"));
  EXPECT_TRUE(contains(planError(b, goodArgs()), "param 1: value 12800000000 does not fit i32"));
}

TEST(RuntimePlan, AllocationFreePieces) {
  Bundle b = bundle();
  auto args = goodArgs();
  int64_t syms[Bundle::kMaxSymbols];
  ASSERT_TRUE(bindSymbols(b, args, Span<int64_t>(syms, b.symbols.size())).ok());
  EXPECT_EQ(syms[5], 37 * 8 * 16);
  size_t ws = 0;
  ASSERT_TRUE(evalWorkspaceBytes(b, Span<const int64_t>(syms, b.symbols.size()), ws).ok());
  EXPECT_EQ(ws, 592u);
  LaunchConfig cfg;
  uint64_t slots[KernelSpec::kMaxParams];
  ASSERT_TRUE(planKernel(b, 0, Span<const int64_t>(syms, b.symbols.size()), args, {0x9000, 592}, KernelLimits(),
                         cfg, Span<uint64_t>(slots, 9))
                  .ok());
  EXPECT_EQ(slots[3], 0x4000u);
  EXPECT_FALSE(planKernel(b, 5, Span<const int64_t>(syms, 6), args, {}, KernelLimits(), cfg, Span<uint64_t>(slots, 9))
                   .ok());
}

TEST(RuntimePlan, PtxEntryParamCount) {
  const char *ptx = ".visible .entry label_append_v2(\n .param .u64 a\n)\n{}\n"
                    ".visible .entry label_append(\n\t.param .u64 label_append_param_0,\n"
                    "\t.param .u64 label_append_param_1,\n\t.param .u32 label_append_param_2\n)\n{\n}\n"
                    ".entry empty()\n{}\n.entry noparens\n{}\n";
  EXPECT_EQ(ptxEntryParamCount(ptx, "label_append"), 3);
  EXPECT_EQ(ptxEntryParamCount(ptx, "label_append_v2"), 1);
  EXPECT_EQ(ptxEntryParamCount(ptx, "empty"), 0);
  EXPECT_EQ(ptxEntryParamCount(ptx, "noparens"), 0);
  EXPECT_EQ(ptxEntryParamCount(ptx, "missing"), -1);
}
