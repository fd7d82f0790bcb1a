// Twilight's int4 keys: int4_append bit-exact against the host quantization, int4_score against
// the f64 score of the same int4 values, and the Twilight step with the int4 estimate.
#include "codegen/JIT.h"
#include "test/gpu/DeviceProblem.h"
#include "test/gpu/GpuTestUtil.h"
#include "tools/reference/DoubleSparsity.h"
#include "tools/reference/Quest.h"
#include "tools/reference/Sampling.h"

#include <cmath>
#include <map>
#include <set>

using namespace ds;

namespace {

struct Int4Case {
  std::vector<int32_t> lens;
  int64_t hq, hkv, d, pageSize;
  bool f16, shared;
};
std::string name(const Int4Case &c) {
  return "B" + std::to_string(c.lens.size()) + "_H" + std::to_string(c.hq) + "_" +
         std::to_string(c.hkv) + "_d" + std::to_string(c.d) + "_P" + std::to_string(c.pageSize) +
         (c.f16 ? "_f16" : "_bf16") + (c.shared ? "_shared" : "");
}
void PrintTo(const Int4Case &c, std::ostream *os) { *os << name(c); }

class Int4 : public ::testing::TestWithParam<Int4Case> {};

std::string ty(const Int4Case &c) { return c.f16 ? "f16" : "bf16"; }

TEST_P(Int4, AppendIsBitExactAndScoresMatchReference) {
  DS_REQUIRE_GPU(ctx);
  const Int4Case &c = GetParam();
  static jit::JIT jit(ctx);
  const ref::Half ht = c.f16 ? ref::Half::F16 : ref::Half::BF16;
  ref::Rng rng(5 + c.d + c.lens.size());
  int64_t numPages = 0;
  ref::Paging paging = ref::makePaging(rng, c.lens, c.pageSize, numPages);
  ref::PagedKV kv = test::randomPagedKV(rng, numPages, c.pageSize, c.hkv, c.d, ht);
  const int64_t S = numPages * c.pageSize, B = paging.batch, W = c.d / 8, R = ref::int4RecordWords(c.d);
  // 1. Append every slot's key (the cache as new tokens, slot order permuted; some skipped).
  std::vector<int32_t> slotMap(S);
  for (int64_t s = 0; s < S; ++s)
    slotMap[s] = static_cast<int32_t>(s);
  for (int64_t s = S - 1; s > 0; --s)
    std::swap(slotMap[s], slotMap[rng.below(s + 1)]);
  slotMap[0] = -1;                            // skipped
  slotMap[1] = static_cast<int32_t>(S + 3);   // out of range: skipped
  std::vector<uint16_t> newK(S * c.hkv * c.d);
  for (int64_t t = 0; t < S; ++t)
    for (int64_t h = 0; h < c.hkv; ++h)
      for (int64_t j = 0; j < c.d; ++j) {
        int32_t s = std::max(0, std::min<int32_t>(slotMap[t], static_cast<int32_t>(S - 1)));
        newK[(t * c.hkv + h) * c.d + j] =
            kv.k[kv.rowOffset(s / c.pageSize, s % c.pageSize, h) + j];
      }
  for (int64_t j = 0; j < 32; ++j) // a group of zeros: scale 0, values 0
    newK[(2 * c.hkv) * c.d + j] = 0;
  // Records the append leaves alone keep their words and NaN scales.
  std::vector<int32_t> wantQ(S * c.hkv * R, 0x5a5a5a5a);
  for (int64_t r = 0; r < S * c.hkv; ++r)
    for (int64_t i = W; i < R; ++i)
      wantQ[r * R + i] = 0x7e007e00;
  const std::vector<int32_t> untouchedQ = wantQ;
  ref::int4Append(wantQ, S, newK, S, c.hkv, c.d, slotMap, ht);
  const std::string kqT = "tensor<?x" + std::to_string(c.hkv) + "x" + std::to_string(R) + "xi32>";
  const std::string kT = "tensor<?x" + std::to_string(c.hkv) + "x" + std::to_string(c.d) + "x" + ty(c) + ">";
  auto append = jit.fromSource(
      "func.func @a(%kq: " + kqT + ", %k: " + kT + ", %sm: tensor<?xi32>) -> " + kqT +
      " {\n  %q2 = ds.int4_append %kq, %k, %sm : (" + kqT + ", " + kT + ", tensor<?xi32>) -> " +
      kqT + "\n  return %q2 : " + kqT + "\n}\n");
  ASSERT_TRUE(append.ok()) << append.message();
  auto dq = test::upload(ctx, untouchedQ);
  auto dk = test::upload(ctx, newK), dsm = test::upload(ctx, slotMap);
  {
    std::vector<rt::TensorArg> args = {rt::TensorArg(dq.ptr(), {S, c.hkv, R}),
                                       rt::TensorArg(dk.ptr(), {S, c.hkv, c.d}),
                                       rt::TensorArg(dsm.ptr(), {S})};
    auto ws = rt::OwnedWorkspace::allocate(**append, args);
    ASSERT_TRUE(ws.ok()) << ws.message();
    ASSERT_TRUE((*append)->launch(args, ws->get(), nullptr).ok());
    ASSERT_TRUE(ctx.synchronize().ok());
  }
  std::vector<int32_t> gotQ = test::download<int32_t>(dq, wantQ.size());
  int64_t badQ = 0, badS = 0;
  for (size_t i = 0; i < wantQ.size(); ++i)
    (static_cast<int64_t>(i % R) < W ? badQ : badS) += gotQ[i] != wantQ[i];
  EXPECT_EQ(badQ, 0) << name(c) << ": int4 words differ";
  EXPECT_EQ(badS, 0) << name(c) << ": scale words differ";

  // 2. Score candidates (random tokens, -1, past n) with the appended keys.
  const int64_t rows = c.shared ? c.hkv : c.hq, K = 300;
  std::vector<int32_t> cand(B * rows * K);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < rows * K; ++i) {
      int64_t n = std::max<int32_t>(c.lens[b], 1), kind = rng.below(10);
      cand[b * rows * K + i] = kind == 0 ? -1 : kind == 1 ? static_cast<int32_t>(n + rng.below(5))
                                                          : static_cast<int32_t>(rng.below(n));
    }
  std::vector<uint16_t> q = test::randomHalf(rng, B * c.hq * c.d, ht, -1, 1);
  const double scale = 1.0 / std::sqrt(double(c.d));
  const std::string qT = "tensor<?x" + std::to_string(c.hq) + "x" + std::to_string(c.d) + "x" + ty(c) + ">";
  const std::string cT = "tensor<?x" + std::to_string(rows) + "x" + std::to_string(K);
  char sc[32];
  std::snprintf(sc, sizeof(sc), "%.9e", scale);
  auto score = jit.fromSource(
      "func.func @s(%q: " + qT + ", %kq: " + kqT +
      ", %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %c: " + cT + "xi32>) -> " + cT +
      "xf32> {\n  %e = ds.int4_score %q, %kq, %pt, %sl, %c {page_size = " +
      std::to_string(c.pageSize) + " : i64, scale = " + sc + " : f32" +
      (c.shared ? ", group_reduce = #ds.group_reduce<sum>" : "") + "} : (" + qT + ", " + kqT +
      ", tensor<?x?xi32>, tensor<?xi32>, " + cT + "xi32>) -> " + cT +
      "xf32>\n  return %e : " + cT + "xf32>\n}\n");
  ASSERT_TRUE(score.ok()) << score.message();
  auto dqq = test::upload(ctx, q), dpt = test::upload(ctx, paging.pageTable);
  auto dsl = test::upload(ctx, paging.seqLens), dc = test::upload(ctx, cand);
  auto dout = test::upload(ctx, std::vector<float>(B * rows * K, NAN));
  {
    std::vector<rt::TensorArg> args = {
        rt::TensorArg(dqq.ptr(), {B, c.hq, c.d}), rt::TensorArg(dq.ptr(), {S, c.hkv, R}),
        rt::TensorArg(dpt.ptr(), {B, paging.maxPages}),
        rt::TensorArg(dsl.ptr(), {B}), rt::TensorArg(dc.ptr(), {B, rows, K}),
        rt::TensorArg(dout.ptr(), {B, rows, K})};
    auto ws = rt::OwnedWorkspace::allocate(**score, args);
    ASSERT_TRUE(ws.ok()) << ws.message();
    ASSERT_TRUE((*score)->launch(args, ws->get(), nullptr).ok());
    ASSERT_TRUE(ctx.synchronize().ok());
  }
  std::vector<float> got = test::download<float>(dout, B * rows * K);
  std::vector<double> want =
      ref::int4Score(q, c.hq, wantQ, c.hkv, S, c.d, paging, c.pageSize, cand, K, scale,
                     c.shared ? ref::GroupReduce::Sum : ref::GroupReduce::None, ht);
  int64_t bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(want[i])) // a slot the append skipped: its scale is still the NaN it held
      bad += !std::isnan(got[i]);
    else if (std::isinf(want[i]))
      bad += !(std::isinf(got[i]) && got[i] < 0);
    else
      bad += !(std::fabs(got[i] - want[i]) <= 1e-4 * (1 + std::fabs(want[i])));
  }
  EXPECT_EQ(bad, 0) << name(c) << ": int4 scores differ from the reference";
}

std::vector<Int4Case> int4Cases() {
  return {
      {{3000, 17, 1025}, 32, 32, 128, 1, false, false},
      {{3000, 17, 1025}, 32, 8, 128, 16, true, true},
      {{700, 2000}, 32, 8, 64, 16, false, false},
      {{5}, 8, 8, 32, 8, true, false},
      {{900}, 16, 4, 256, 16, false, true},
  };
}

INSTANTIATE_TEST_SUITE_P(Gpu, Int4, ::testing::ValuesIn(int4Cases()),
                         [](const auto &info) { return name(info.param); });

// The Twilight step with the int4 estimate (jit::TwilightSpec::int4Estimate): the int4 keys
// appended by jit::Int4AppendSpec's pipeline; kept tokens distinct, in range, their int4-estimated
// mass over the reference's label candidates reaching top_p; o is attention over them.
TEST(Int4Twilight, KeptSetReachesTheEstimatedMass) {
  DS_REQUIRE_GPU(ctx);
  static jit::JIT jit(ctx);
  for (bool shared : {false, true}) {
    ref::DSShape shape;
    shape.lens = {3000, 700, 1200}, shape.hq = 32, shape.hkv = 8, shape.d = 128, shape.r = 16;
    shape.k = 512, shape.pageSize = 16, shape.shared = shared;
    ref::DSProblem p = ref::makeDSProblem(shape, 8 + shared);
    const int64_t B = p.paging.batch, rows = p.selRows(), K = 512, P = 16, S = p.slots();
    const int64_t d = 128, hkv = 8, R = ref::int4RecordWords(d);
    // Keys with a few strong directions so that the estimate is peaked.
    for (size_t i = 0; i < p.kv.k.size(); ++i)
      if (i % d < 4)
        p.kv.k[i] = ref::fromFloat(6.0f * ref::toFloat(p.kv.k[i], shape.type), shape.type);
    jit::Int4AppendSpec aspec;
    aspec.kvHeads = hkv, aspec.headDim = d;
    auto append = jit.int4Append(aspec);
    ASSERT_TRUE(append.ok()) << append.message();
    std::vector<int32_t> slots(S);
    std::vector<uint16_t> newK(S * hkv * d);
    for (int64_t s = 0; s < S; ++s) {
      slots[s] = static_cast<int32_t>(s);
      for (int64_t h = 0; h < hkv; ++h)
        for (int64_t j = 0; j < d; ++j)
          newK[(s * hkv + h) * d + j] = p.kv.k[p.kv.rowOffset(s / P, s % P, h) + j];
    }
    std::vector<int32_t> kq(S * hkv * R, 0);
    ref::int4Append(kq, S, newK, S, hkv, d, slots, shape.type);
    auto dkq = test::upload(ctx, std::vector<int32_t>(kq.size(), 0));
    auto dnk = test::upload(ctx, newK), dsm = test::upload(ctx, slots);
    {
      std::vector<rt::TensorArg> args = {rt::TensorArg(dkq.ptr(), {S, hkv, R}),
                                         rt::TensorArg(dnk.ptr(), {S, hkv, d}),
                                         rt::TensorArg(dsm.ptr(), {S})};
      auto ws = rt::OwnedWorkspace::allocate(**append, args);
      ASSERT_TRUE(ws.ok()) << ws.message();
      ASSERT_TRUE((*append)->launch(args, ws->get(), nullptr).ok());
    }
    jit::TwilightSpec spec;
    spec.heads = 32, spec.kvHeads = hkv, spec.headDim = d, spec.pageSize = P;
    spec.sharedSelection = shared, spec.candidates = K, spec.topP = 0.8f, spec.int4Estimate = true;
    auto pipeline = jit.twilight(spec);
    ASSERT_TRUE(pipeline.ok()) << pipeline.message();
    const test::DeviceDSProblem dev(ctx, p);
    auto dout = test::upload(ctx, std::vector<uint16_t>(B * 32 * d, 0x7fc0));
    auto dkept = test::upload(ctx, std::vector<int32_t>(B * rows * K, -2));
    auto dcnt = test::upload(ctx, std::vector<int32_t>(B * rows, -2));
    std::vector<rt::TensorArg> args = test::concat(
        {dev.front(p),
         {rt::TensorArg(dkq.ptr(), {S, hkv, R})},
         dev.paging(p),
         {rt::TensorArg(dout.ptr(), {B, 32, d}), rt::TensorArg(dkept.ptr(), {B, rows, K}),
          rt::TensorArg(dcnt.ptr(), {B, rows})}});
    auto ws = rt::OwnedWorkspace::allocate(**pipeline, args);
    ASSERT_TRUE(ws.ok()) << ws.message();
    ASSERT_TRUE((*pipeline)->launch(args, ws->get(), nullptr).ok());
    ASSERT_TRUE(ctx.synchronize().ok());
    EXPECT_EQ(test::download<int32_t>(dkq, kq.size()), kq) << "int4 append through the spec";
    std::vector<int32_t> kept = test::download<int32_t>(dkept, B * rows * K);
    std::vector<int32_t> counts = test::download<int32_t>(dcnt, B * rows);
    // Reference candidates: the label top-K; their int4 estimates.
    std::vector<uint16_t> ql = ref::labelGather(p.q, B, 32, d, p.channels, hkv, 16);
    const int64_t N = p.paging.maxPages * P;
    const ref::GroupReduce red = shared ? ref::GroupReduce::Sum : ref::GroupReduce::None;
    std::vector<double> scores = ref::labelScore(ql, 32, p.labels, hkv, S, 16, p.paging, P, N,
                                                 p.scale(), red, shape.type);
    std::vector<int32_t> cand(B * rows * K, -1);
    for (int64_t row = 0; row < B * rows; ++row) {
      std::vector<int32_t> top = ref::topk(&scores[row * N], p.paging.length(row / rows, P), K, false);
      std::copy(top.begin(), top.end(), cand.begin() + row * K);
    }
    std::vector<double> est = ref::int4Score(p.q, 32, kq, hkv, S, d, p.paging, P, cand, K,
                                             p.scale(), red, shape.type);
    for (int64_t row = 0; row < B * rows; ++row) {
      const std::string where = std::string(shared ? "shared" : "per-head") + " row " + std::to_string(row);
      const int64_t n = p.paging.length(row / rows, P), cnt = counts[row];
      ASSERT_TRUE(cnt >= 1 && cnt <= std::min(K, n)) << where << ": count " << cnt;
      std::map<int32_t, double> e;
      double mx = -INFINITY;
      for (int64_t i = 0; i < K; ++i)
        if (cand[row * K + i] >= 0) {
          e[cand[row * K + i]] = est[row * K + i];
          mx = std::max(mx, est[row * K + i]);
        }
      double z = 0, mass = 0;
      for (auto &[t, x] : e)
        z += std::exp(x - mx);
      std::set<int32_t> seen;
      for (int64_t j = 0; j < K; ++j) {
        int32_t t = kept[row * K + j];
        if (j >= cnt) {
          ASSERT_EQ(t, -1) << where;
          continue;
        }
        ASSERT_TRUE(t >= 0 && t < n && seen.insert(t).second) << where << ": " << t;
        if (e.count(t))
          mass += std::exp(e[t] - mx);
      }
      EXPECT_GE(mass / z, 0.8 - 5e-3) << where;
    }
    if (::testing::Test::HasFailure())
      return;
    // o: attention over the kept tokens.
    std::vector<double> want(B * 32 * d), got(B * 32 * d);
    std::vector<uint16_t> o = test::download<uint16_t>(dout, B * 32 * d);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < 32; ++h) {
        const int64_t row = b * rows + (shared ? h / 4 : h);
        std::vector<int64_t> tokens;
        for (int64_t j = 0; j < counts[row]; ++j)
          tokens.push_back(kept[row * K + j]);
        std::vector<double> qd(d);
        for (int64_t j = 0; j < d; ++j)
          qd[j] = ref::toFloat(p.q[(b * 32 + h) * d + j], shape.type);
        ref::attend(qd.data(), p.kv, p.paging, b, h / 4, tokens, nullptr, p.scale(), 0.0,
                    &want[(b * 32 + h) * d]);
      }
    for (size_t i = 0; i < o.size(); ++i)
      got[i] = ref::toFloat(o[i], shape.type);
    EXPECT_LE(ref::toleranceRatio(got, want, 1e-2, 1e-2), 1.0) << (shared ? "shared" : "per-head");
  }
}

} // namespace

namespace {

// Twilight over Quest's pages (TwilightSpec::questCandidates): summaries and int4 keys built on
// the host; every kept token is a distinct token of its request, lies on a page whose bound is
// at least the best bound left out (the candidates are the top pages' tokens), and o is
// attention over the kept tokens.
TEST(Int4Twilight, QuestCandidates) {
  DS_REQUIRE_GPU(ctx);
  static jit::JIT jit(ctx);
  const int64_t hq = 32, hkv = 8, d = 128, P = 16, budget = 512, pagesKept = budget / P;
  const std::vector<int32_t> lens = {3000, 200, 1500};
  ref::Rng rng(404);
  int64_t numPages = 0;
  ref::Paging paging = ref::makePaging(rng, lens, P, numPages);
  ref::PagedKV kv = test::randomPagedKV(rng, numPages, P, hkv, d, ref::Half::BF16);
  const int64_t S = numPages * P, B = paging.batch, R = ref::int4RecordWords(d);
  std::vector<uint16_t> q = test::randomHalf(rng, B * hq * d, ref::Half::BF16, -1, 1);
  ref::PageSummaries sum;
  sum.numPages = numPages, sum.kvHeads = hkv, sum.headDim = d;
  sum.kmin.assign(numPages * hkv * d, 0);
  sum.kmax.assign(numPages * hkv * d, 0);
  ref::pageSummary(sum, kv, paging);
  std::vector<int32_t> slots(S), kq(S * hkv * R, 0);
  std::vector<uint16_t> newK(S * hkv * d);
  for (int64_t s = 0; s < S; ++s) {
    slots[s] = static_cast<int32_t>(s);
    for (int64_t h = 0; h < hkv; ++h)
      for (int64_t j = 0; j < d; ++j)
        newK[(s * hkv + h) * d + j] = kv.k[kv.rowOffset(s / P, s % P, h) + j];
  }
  ref::int4Append(kq, S, newK, S, hkv, d, slots, ref::Half::BF16);
  jit::TwilightSpec spec;
  spec.heads = hq, spec.kvHeads = hkv, spec.headDim = d, spec.pageSize = P;
  spec.candidates = budget, spec.topP = 0.8f, spec.int4Estimate = true, spec.questCandidates = true;
  auto pipeline = jit.twilight(spec);
  ASSERT_TRUE(pipeline.ok()) << pipeline.message();
  auto dq = test::upload(ctx, q), dk = test::upload(ctx, kv.k), dv = test::upload(ctx, kv.v);
  auto dmn = test::upload(ctx, sum.kmin), dmx = test::upload(ctx, sum.kmax);
  auto dkq = test::upload(ctx, kq);
  auto dpt = test::upload(ctx, paging.pageTable), dsl = test::upload(ctx, paging.seqLens);
  auto dout = test::upload(ctx, std::vector<uint16_t>(B * hq * d, 0x7fc0));
  auto dkept = test::upload(ctx, std::vector<int32_t>(B * hq * budget, -2));
  auto dcnt = test::upload(ctx, std::vector<int32_t>(B * hq, -2));
  std::vector<rt::TensorArg> args = {
      rt::TensorArg(dq.ptr(), {B, hq, d}), rt::TensorArg(dk.ptr(), {numPages, P, hkv, d}),
      rt::TensorArg(dv.ptr(), {numPages, P, hkv, d}), rt::TensorArg(dmn.ptr(), {numPages, hkv, d}),
      rt::TensorArg(dmx.ptr(), {numPages, hkv, d}), rt::TensorArg(dkq.ptr(), {S, hkv, R}),
      rt::TensorArg(dpt.ptr(), {B, paging.maxPages}),
      rt::TensorArg(dsl.ptr(), {B}), rt::TensorArg(dout.ptr(), {B, hq, d}),
      rt::TensorArg(dkept.ptr(), {B, hq, budget}), rt::TensorArg(dcnt.ptr(), {B, hq})};
  auto ws = rt::OwnedWorkspace::allocate(**pipeline, args);
  ASSERT_TRUE(ws.ok()) << ws.message();
  ASSERT_TRUE((*pipeline)->launch(args, ws->get(), nullptr).ok());
  ASSERT_TRUE(ctx.synchronize().ok());
  std::vector<int32_t> kept = test::download<int32_t>(dkept, B * hq * budget);
  std::vector<int32_t> counts = test::download<int32_t>(dcnt, B * hq);
  std::vector<double> u =
      ref::pageScore(q, hq, sum, paging, P, ref::GroupReduce::None, ref::Half::BF16);
  std::vector<double> want(B * hq * d), got(B * hq * d);
  const double scale = 1.0 / std::sqrt(double(d));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = paging.length(b, P), pages = (n + P - 1) / P;
    for (int64_t h = 0; h < hq; ++h) {
      const int64_t row = b * hq + h, cnt = counts[row];
      const std::string where = "b " + std::to_string(b) + " h " + std::to_string(h);
      ASSERT_TRUE(cnt >= 1 && cnt <= std::min(budget, n)) << where << ": count " << cnt;
      // The best bound left out among the first pages - 1 (the last page is always kept): every
      // other kept page is bounded at least as high.
      std::vector<double> sorted(u.begin() + row * paging.maxPages,
                                 u.begin() + row * paging.maxPages + pages - 1);
      std::sort(sorted.rbegin(), sorted.rend());
      const double floor =
          pages - 1 > pagesKept - 1 ? sorted[pagesKept - 1] : -INFINITY;
      std::set<int32_t> seen;
      std::vector<int64_t> tokens;
      for (int64_t j = 0; j < budget; ++j) {
        int32_t t = kept[row * budget + j];
        if (j >= cnt) {
          ASSERT_EQ(t, -1) << where;
          continue;
        }
        ASSERT_TRUE(t >= 0 && t < n && seen.insert(t).second) << where << ": " << t;
        if (t / P != pages - 1) {
          EXPECT_GE(u[row * paging.maxPages + t / P], floor - 1e-3 * (1 + std::fabs(floor)))
              << where << ": token " << t << " on a page outside the top pages";
        }
        tokens.push_back(t);
      }
      std::vector<double> qd(d);
      for (int64_t j = 0; j < d; ++j)
        qd[j] = ref::toFloat(q[row * d + j], ref::Half::BF16);
      ref::attend(qd.data(), kv, paging, b, h / (hq / hkv), tokens, nullptr, scale, 0.0,
                  &want[row * d]);
    }
  }
  std::vector<uint16_t> o = test::download<uint16_t>(dout, B * hq * d);
  for (size_t i = 0; i < o.size(); ++i)
    got[i] = ref::toFloat(o[i], ref::Half::BF16);
  EXPECT_LE(ref::toleranceRatio(got, want, 1e-2, 1e-2), 1.0);
}

} // namespace
