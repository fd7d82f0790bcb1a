// The whole Double Sparsity step (label gather, label scoring, top-k, sparse decode) generated
// through the JIT, against the CPU reference: the selected index set must be a top-k of the
// reference scores (ties aside) and o must match attention over the selected tokens.
#include "codegen/JIT.h"
#include "test/gpu/GpuTestUtil.h"
#include "tools/reference/DoubleSparsity.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

using namespace ds;

namespace {

struct DSCase {
  std::vector<int32_t> lens;
  int64_t hq, hkv, d, r, k, pageSize;
  jit::DataType dtype;
  bool shared = false;
  int64_t denseBelow = 0;
  float softCap = 0;
  bool overlongFirst = false; ///< seq_lens[0] beyond its page table: clamped to max_pages * P
  /// > 0: labels drawn from this many values (0, 1, ...): repeated scores; 1: all scores tie, so
  /// the threshold's bucket is the whole row (larger than the select's candidate list).
  int labelLevels = 0;
  /// Rows of at least 16384 tokens keep labels (hence nonzero scores) only at the positions of
  /// the sampled score_topk's sample (32 runs of 128 spread over the row): its threshold then
  /// lists fewer than k keys and the select falls back to scoring the row again.
  bool sampleOnly = false;
  /// Labels zero over the first half of every row of at least 16384 tokens: its scores there
  /// are 0, so a cluster's first CTA lists (almost) no key at or above a positive threshold.
  bool firstHalfZero = false;
  /// Config overrides the pipeline is compiled with (jit::Target::configOverrides), and the
  /// suffix naming them in the test's name.
  std::vector<std::string> config = {};
  std::string configTag = {};
};

std::string name(const DSCase &c) {
  std::string s = "B" + std::to_string(c.lens.size()) + "_H" + std::to_string(c.hq) + "_" +
                  std::to_string(c.hkv) + "_d" + std::to_string(c.d) + "_r" +
                  std::to_string(c.r) + "_k" + std::to_string(c.k) + "_P" +
                  std::to_string(c.pageSize) + (c.dtype == jit::DataType::BF16 ? "_bf16" : "_f16");
  if (c.shared)
    s += "_shared";
  if (c.denseBelow)
    s += "_dense" + std::to_string(c.denseBelow);
  if (c.softCap > 0)
    s += "_cap";
  if (c.overlongFirst)
    s += "_overlong";
  if (c.labelLevels)
    s += "_ties" + std::to_string(c.labelLevels);
  if (c.sampleOnly)
    s += "_sampleonly";
  if (c.firstHalfZero)
    s += "_halfzero";
  if (!c.configTag.empty())
    s += "_" + c.configTag;
  return s;
}

// gtest prints a parameter through this (instead of its bytes).
void PrintTo(const DSCase &c, std::ostream *os) { *os << name(c); }

class DoubleSparsity : public ::testing::TestWithParam<DSCase> {};

TEST_P(DoubleSparsity, MatchesReference) {
  DS_REQUIRE_GPU(ctx);
  const DSCase &c = GetParam();
  static jit::JIT jit(ctx), tuned(ctx);
  jit::DoubleSparsitySpec spec;
  spec.heads = c.hq, spec.kvHeads = c.hkv, spec.headDim = c.d, spec.labelDim = c.r;
  spec.k = c.k, spec.pageSize = c.pageSize, spec.dtype = c.dtype;
  spec.sharedSelection = c.shared, spec.denseBelow = c.denseBelow, spec.softCap = c.softCap;
  if (!c.config.empty())
    tuned.setConfigOverrides(c.config);
  auto pipeline = c.config.empty() ? jit.doubleSparsity(spec) : tuned.doubleSparsity(spec);
  ASSERT_TRUE(pipeline.ok()) << pipeline.message();

  ref::DSShape shape;
  shape.lens = c.lens, shape.hq = c.hq, shape.hkv = c.hkv, shape.d = c.d, shape.r = c.r;
  shape.k = c.k, shape.pageSize = c.pageSize, shape.shared = c.shared;
  shape.type = c.dtype == jit::DataType::BF16 ? ref::Half::BF16 : ref::Half::F16;
  shape.denseBelow = c.denseBelow, shape.softCap = c.softCap;
  ref::DSProblem p = ref::makeDSProblem(shape, 77 + c.lens.size() * 13 + c.k + c.d + c.r);
  if (c.overlongFirst) // the kernels and the reference clamp n to max_pages * P
    p.paging.seqLens[0] += 5000;
  if (c.labelLevels > 0) {
    ref::Rng tieRng(99);
    for (uint16_t &x : p.labels)
      x = ref::fromFloat(static_cast<float>(tieRng.below(c.labelLevels)), shape.type);
  }
  const int64_t B = p.paging.batch, P = c.pageSize, hsel = p.selRows();
  // Zeroes the labels of every row of at least 16384 tokens at the positions t where
  // zero(t, n) holds (n the row's length): all its kv heads' channels.
  auto zeroLongRows = [&](auto zero) {
    for (int64_t b = 0; b < B; ++b) {
      const int64_t n = p.paging.length(b, P);
      if (n < 16384)
        continue;
      for (int64_t t = 0; t < n; ++t) {
        if (!zero(t, n))
          continue;
        const int64_t slot = p.paging.page(b, t, P, p.kv.numPages) * P + t % P;
        for (int64_t h = 0; h < c.hkv; ++h)
          for (int64_t j = 0; j < c.r; ++j)
            p.labels[(h * p.slots() + slot) * c.r + j] = 0;
      }
    }
  };
  if (c.sampleOnly) // all but the sample's positions
    zeroLongRows([](int64_t t, int64_t n) {
      const int64_t stride = 4 * (n / 128); // the kernel's: 4 * floor(n / (4 * 32))
      return !(t % stride < 128 && t / stride < 32);
    });
  if (c.firstHalfZero)
    zeroLongRows([](int64_t t, int64_t n) { return t < n / 2; });

  auto dq = test::upload(ctx, p.q), dk = test::upload(ctx, p.kv.k), dv = test::upload(ctx, p.kv.v);
  auto dl = test::upload(ctx, p.labels), dch = test::upload(ctx, p.channels);
  auto dpt = test::upload(ctx, p.paging.pageTable), dsl = test::upload(ctx, p.paging.seqLens);
  auto dout = test::upload(ctx, std::vector<uint16_t>(B * c.hq * c.d, 0x7fc0)); // NaN fill
  auto didx = test::upload(ctx, std::vector<int32_t>(B * hsel * c.k, -2));
  std::vector<rt::TensorArg> args = {
      rt::TensorArg(dq.ptr(), {B, c.hq, c.d}),
      rt::TensorArg(dk.ptr(), {p.kv.numPages, P, c.hkv, c.d}),
      rt::TensorArg(dv.ptr(), {p.kv.numPages, P, c.hkv, c.d}),
      rt::TensorArg(dl.ptr(), {c.hkv, p.slots(), c.r}),
      rt::TensorArg(dch.ptr(), {c.hkv, c.r}),
      rt::TensorArg(dpt.ptr(), {B, p.paging.maxPages}),
      rt::TensorArg(dsl.ptr(), {B}),
      rt::TensorArg(dout.ptr(), {B, c.hq, c.d}),
      rt::TensorArg(didx.ptr(), {B, hsel, c.k})};
  auto ws = rt::OwnedWorkspace::allocate(**pipeline, args);
  ASSERT_TRUE(ws.ok()) << ws.message();
  rt::Status st = (*pipeline)->launch(args, ws->get(), nullptr);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_TRUE(ctx.synchronize().ok());
  std::string errors = ref::checkDS(p, test::download<int32_t>(didx, B * hsel * c.k),
                                    test::download<uint16_t>(dout, B * c.hq * c.d));
  EXPECT_EQ(errors, "") << name(c);
}

std::vector<DSCase> cases() {
  using jit::DataType;
  ref::Rng rng(2024);
  std::vector<int32_t> ragged16;
  for (int i = 0; i < 16; ++i)
    ragged16.push_back(static_cast<int32_t>(1 + rng.below(5000)));
  ragged16[3] = 1;
  ragged16[7] = 63;
  // ragged16 with its first rows replaced by `longRows`.
  auto ragged16With = [&](std::vector<int32_t> longRows) {
    std::vector<int32_t> lens = ragged16;
    std::copy(longRows.begin(), longRows.end(), lens.begin());
    return lens;
  };
  std::vector<DSCase> all = {
      // B = 1, 3, 16; n < k, n = 1, n not a multiple of any tile.
      {{4096}, 32, 32, 128, 16, 256, 1, DataType::BF16},
      {{1000, 1, 37}, 32, 32, 128, 16, 64, 1, DataType::BF16},
      {{1000, 1, 37}, 32, 8, 64, 8, 64, 16, DataType::F16},
      {{3001, 200, 1025}, 32, 8, 128, 16, 256, 16, DataType::BF16, true},
      {{3001, 200, 1025}, 32, 8, 128, 8, 256, 1, DataType::F16, false},
      {ragged16, 32, 32, 64, 16, 1024, 1, DataType::F16},
      {ragged16, 32, 8, 128, 16, 1024, 16, DataType::BF16, true},
      {ragged16, 32, 8, 64, 8, 256, 1, DataType::BF16, false, 2000},
      {{5000, 17, 2049}, 32, 32, 128, 8, 1024, 16, DataType::F16, false, 0, 30.0f},
      {{20000, 7}, 32, 8, 128, 16, 1024, 1, DataType::BF16, true},
      // k = 4096 over a 70000-token row: longer than the fused kernel's shared-memory capacity.
      {{70000, 3000}, 32, 8, 64, 16, 4096, 16, DataType::BF16},
      {{700, 2000, 5}, 32, 32, 64, 8, 256, 16, DataType::F16, false, 0, 0.0f, true},
      // All labels 0: every score ties. A row of 1500 keeps the whole bucket in the select's
      // candidate list; rows of 9000 and 60000 overflow it (the fallback over the row).
      {{1500, 9000, 60000}, 32, 8, 128, 16, 1024, 1, DataType::BF16, false, 0, 0.0f, false, 1},
      // Labels of 2 values: many repeated scores.
      {{1500, 9000}, 32, 32, 64, 8, 256, 16, DataType::F16, false, 0, 0.0f, false, 2},
      // Few long rows (B * rows * 2 <= the SMs, N > 8192): score_topk on clusters of 2 CTAs, each
      // scoring half of a row into shared memory. Rows of k + 1 (513 / 512 positions per CTA),
      // k and 2 tokens beside a long one; an overlong first row; every score tied (the tie
      // slots handed out over the cluster); P = 16 with a partial last page.
      {{30000, 1025, 1024, 2}, 32, 8, 64, 8, 1024, 1, DataType::F16, true},
      {{20000}, 32, 32, 128, 16, 1024, 1, DataType::BF16, false, 0, 0.0f, true},
      {{60000, 9000, 5}, 32, 8, 128, 16, 1024, 1, DataType::BF16, true, 0, 0.0f, false, 1},
      {{33333, 4097}, 32, 8, 64, 16, 512, 16, DataType::F16, true, 0, 0.0f, false, 2},
      // The cluster's sampled select (rows of at least 49152 to score, k <= 2048; the shorter
      // rows beside them take the select over stored keys): scores only at the sample's
      // positions (fewer than k listed over the cluster: the select over stored keys instead);
      // the first half of each long row scoring 0 (the first CTA lists next to nothing, the
      // second CTA's list carries the selection), P = 16.
      {{60001, 20000}, 32, 8, 64, 16, 1024, 1, DataType::BF16, true, 0, 0.0f, false, 0, true},
      {{60001, 17000}, 32, 8, 64, 16, 1024, 16, DataType::F16, false, 0, 0.0f, false, 0, false,
       true},
      // Many rows (B * rows >= 128) longer than 16384: score_topk's sampled variant (two CTAs of
      // 512 threads per SM; a sampled threshold, the keys at or above it listed while scoring).
      // Beside the long rows: a row shorter than k, rows of up to 12288 (their scores kept in
      // shared memory), P = 16 with partial last pages.
      {{40001, 20000, 1000, 17000}, 32, 8, 128, 16, 1024, 1, DataType::BF16},
      {{40001, 12000, 30000, 20000}, 32, 32, 64, 8, 256, 16, DataType::F16},
      {ragged16With({20000, 17001}), 32, 8, 64, 16, 512, 1, DataType::BF16, true},
      // Every score tied: the sample's threshold lists the whole row, which overflows the list
      // (the two-pass select over rescored walks, its bucket overflowing too; the row of 5000
      // kept, its bucket overflowing as well); labels of 2 values.
      {{30000, 20000, 5000, 17000}, 32, 8, 64, 16, 1024, 1, DataType::BF16, false, 0, 0.0f, false, 1},
      {{20000, 40001, 3000, 9000}, 32, 32, 64, 8, 512, 16, DataType::F16, false, 0, 0.0f, false, 2},
      // Scores only at the sample's positions: fewer than k keys reach its threshold.
      {{40001, 20000, 3000, 17001}, 32, 8, 64, 16, 1024, 1, DataType::BF16, false, 0, 0.0f, false, 0, true},
      // 96 rows (too many for clusters of 2, too few for two CTAs per SM): the sampled select on
      // 1024 threads, rows of up to 16384 to score kept in shared memory; every score tied.
      {{40001, 20000, 5000}, 32, 8, 64, 16, 1024, 1, DataType::F16},
      {{30000, 17001, 3000}, 32, 8, 64, 16, 1024, 16, DataType::BF16, false, 0, 0.0f, false, 1},
  };
  // score_topk's cluster kernels at configs other than the chosen one, as --config reaches
  // them: one token a step, and CTAs of 512 threads at three tokens a step, over the cluster
  // cases above (stored keys, every score tied, the sampled select with few keys listed and
  // with a first CTA listing next to nothing).
  const std::vector<DSCase> clusterCases = {
      {{30000, 1025, 1024, 2}, 32, 8, 64, 8, 1024, 1, DataType::F16, true},
      {{60000, 9000, 5}, 32, 8, 128, 16, 1024, 1, DataType::BF16, true, 0, 0.0f, false, 1},
      {{60001, 20000}, 32, 8, 64, 16, 1024, 1, DataType::BF16, true, 0, 0.0f, false, 0, true},
      {{60001, 17000}, 32, 8, 64, 16, 1024, 16, DataType::F16, false, 0, 0.0f, false, 0, false,
       true}};
  const std::pair<std::vector<std::string>, std::string> configs[] = {
      {{"score_topk.cluster_stages=1"}, "cs1"},
      {{"score_topk.cluster_warps=16", "score_topk.cluster_stages=3"}, "cw16cs3"}};
  for (const auto &[overrides, tag] : configs)
    for (DSCase c : clusterCases) {
      c.config = overrides, c.configTag = tag;
      all.push_back(std::move(c));
    }
  return all;
}

INSTANTIATE_TEST_SUITE_P(Gpu, DoubleSparsity, ::testing::ValuesIn(cases()),
                         [](const auto &info) { return name(info.param); });

// Programmatic dependent launch (the default on sm_90+): every kernel after the first is marked
// in the bundle and may start while the previous one drains. Five steps launched back to back
// without a host sync (each kernel's workspace reads racing the next step's writes if a wait
// were missing) still give the reference's selection and output, and the same as a pipeline
// compiled without it.
TEST(DoubleSparsityLaunch, ProgrammaticBackToBackMatchesPlain) {
  DS_REQUIRE_GPU(ctx);
  jit::JIT pdl(ctx, ""), plain(ctx, "");
  plain.setProgrammaticLaunch(false);
  jit::DoubleSparsitySpec spec;
  spec.heads = 32, spec.kvHeads = 8, spec.headDim = 128, spec.labelDim = 16, spec.k = 256;
  spec.pageSize = 16, spec.dtype = jit::DataType::BF16, spec.sharedSelection = false;
  auto a = pdl.doubleSparsity(spec), b = plain.doubleSparsity(spec);
  ASSERT_TRUE(a.ok()) << a.message();
  ASSERT_TRUE(b.ok()) << b.message();
  const bool hasPdl = ctx.properties().ccMajor >= 9;
  const auto &ka = (*a)->bundle().kernels;
  ASSERT_GE(ka.size(), 2u);
  for (size_t i = 0; i < ka.size(); ++i)
    EXPECT_EQ(ka[i].programmatic, hasPdl && i > 0) << ka[i].name;
  for (const rt::KernelSpec &k : (*b)->bundle().kernels)
    EXPECT_FALSE(k.programmatic) << k.name;

  ref::DSShape shape;
  shape.lens = {3001, 200, 1025, 1, 4000}, shape.hq = 32, shape.hkv = 8, shape.d = 128;
  shape.r = 16, shape.k = 256, shape.pageSize = 16, shape.type = ref::Half::BF16;
  ref::DSProblem p = ref::makeDSProblem(shape, 4242);
  const int64_t B = p.paging.batch, hsel = p.selRows();
  auto dq = test::upload(ctx, p.q), dk = test::upload(ctx, p.kv.k), dv = test::upload(ctx, p.kv.v);
  auto dl = test::upload(ctx, p.labels), dch = test::upload(ctx, p.channels);
  auto dpt = test::upload(ctx, p.paging.pageTable), dsl = test::upload(ctx, p.paging.seqLens);
  std::vector<std::vector<int32_t>> idx;
  std::vector<std::vector<uint16_t>> out;
  for (const auto *pipeline : {&*a, &*b}) {
    auto dout = test::upload(ctx, std::vector<uint16_t>(B * 32 * 128, 0x7fc0));
    auto didx = test::upload(ctx, std::vector<int32_t>(B * hsel * 256, -2));
    std::vector<rt::TensorArg> args = {
        rt::TensorArg(dq.ptr(), {B, 32, 128}),
        rt::TensorArg(dk.ptr(), {p.kv.numPages, 16, 8, 128}),
        rt::TensorArg(dv.ptr(), {p.kv.numPages, 16, 8, 128}),
        rt::TensorArg(dl.ptr(), {8, p.slots(), 16}),
        rt::TensorArg(dch.ptr(), {8, 16}),
        rt::TensorArg(dpt.ptr(), {B, p.paging.maxPages}),
        rt::TensorArg(dsl.ptr(), {B}),
        rt::TensorArg(dout.ptr(), {B, 32, 128}),
        rt::TensorArg(didx.ptr(), {B, hsel, 256})};
    auto ws = rt::OwnedWorkspace::allocate(**pipeline, args);
    ASSERT_TRUE(ws.ok()) << ws.message();
    for (int step = 0; step < 5; ++step) {
      rt::Status st = (*pipeline)->launch(args, ws->get(), nullptr);
      ASSERT_TRUE(st.ok()) << st.message();
    }
    ASSERT_TRUE(ctx.synchronize().ok());
    idx.push_back(test::download<int32_t>(didx, B * hsel * 256));
    out.push_back(test::download<uint16_t>(dout, B * 32 * 128));
    EXPECT_EQ(ref::checkDS(p, idx.back(), out.back()), "");
  }
  // The same selection (as sets: the top-k lists a row's tokens in no fixed order) and the
  // same output up to the summation order that follows from it.
  for (int64_t row = 0; row < B * hsel; ++row) {
    std::set<int32_t> x(idx[0].begin() + row * 256, idx[0].begin() + (row + 1) * 256);
    std::set<int32_t> y(idx[1].begin() + row * 256, idx[1].begin() + (row + 1) * 256);
    EXPECT_EQ(x, y) << "row " << row;
  }
  double maxDiff = 0;
  for (size_t i = 0; i < out[0].size(); ++i)
    maxDiff = std::max<double>(maxDiff, std::fabs(ref::toFloat(out[0][i], ref::Half::BF16) -
                                                  ref::toFloat(out[1][i], ref::Half::BF16)));
  EXPECT_LE(maxDiff, 1e-2);
}

} // namespace
