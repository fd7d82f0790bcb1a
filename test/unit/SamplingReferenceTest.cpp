// The algorithms behind ds.sample_residual, ds.topp and ds.int4_append, on the host reference
// the GPU tests compare the kernels with (tools/reference/Sampling.h): the sampler's draws are
// distinct members of the residual and uniform (chi-square), Philox matches its published
// known-answer vector, top-p counts are minimal, int4 values round-trip within half a step.
#include "tools/reference/Sampling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

using namespace ds;

namespace {

// Random123's known-answer test for philox4x32-10: counter and key all ones.
TEST(Philox, MatchesKnownAnswer) {
  uint32_t ctr[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
  uint32_t key[2] = {0xffffffffu, 0xffffffffu}, out[4];
  ref::philox4x32(ctr, key, out);
  EXPECT_EQ(out[0], 0x408f276du);
  EXPECT_EQ(out[1], 0x41c83b0eu);
  EXPECT_EQ(out[2], 0xa20bc7c6u);
  EXPECT_EQ(out[3], 0x6d5451fdu);
  uint32_t zc[4] = {0, 0, 0, 0}, zk[2] = {0, 0};
  ref::philox4x32(zc, zk, out);
  EXPECT_EQ(out[0], 0x6627e8d5u);
  EXPECT_EQ(out[1], 0xe169c58du);
  EXPECT_EQ(out[2], 0xbc57ac4cu);
  EXPECT_EQ(out[3], 0x9b00dbd8u);
}

struct Row {
  std::vector<int32_t> idx;
  std::vector<double> w;
};
Row sample(const std::vector<int32_t> &fixed, int64_t n, int64_t sinks, int64_t window,
           int64_t ns, uint64_t seed, uint64_t offset, uint32_t row) {
  const int64_t total = sinks + window + static_cast<int64_t>(fixed.size()) + ns;
  Row r{std::vector<int32_t>(total), std::vector<double>(total)};
  ref::sampleResidualRow(fixed.data(), static_cast<int64_t>(fixed.size()), n, sinks, window, ns,
                         seed, offset, row, r.idx.data(), r.w.data());
  return r;
}

// Every residual size from 1 to 300 (the Feistel domain's every bit width, odd and even), some
// with more samples than residual tokens: distinct, in the residual, min(ns, |R|) of them.
TEST(SampleResidualReference, DrawsDistinctResidualTokens) {
  for (int64_t n = 1; n <= 300; ++n) {
    std::vector<int32_t> fixed = {-1, static_cast<int32_t>(n / 2), static_cast<int32_t>(n / 2),
                                  static_cast<int32_t>(n + 4), 0, static_cast<int32_t>(n - 1)};
    const int64_t sinks = 2, window = 3, ns = 40;
    Row r = sample(fixed, n, sinks, window, ns, 77, n, 5);
    const int64_t s = std::min<int64_t>(sinks, n), w = std::max<int64_t>(s, n - window);
    std::set<int32_t> residual;
    for (int64_t t = s; t < w; ++t)
      residual.insert(static_cast<int32_t>(t));
    for (int32_t f : fixed)
      residual.erase(f);
    const int64_t m = static_cast<int64_t>(residual.size()), want = std::min<int64_t>(ns, m);
    std::set<int32_t> drawn;
    for (int64_t j = 0; j < ns; ++j) {
      int32_t t = r.idx[sinks + window + fixed.size() + j];
      if (j >= want) {
        ASSERT_EQ(t, -1) << "n " << n;
        continue;
      }
      ASSERT_TRUE(residual.count(t)) << "n " << n << ": " << t;
      ASSERT_TRUE(drawn.insert(t).second) << "n " << n << ": " << t << " twice";
      ASSERT_NEAR(r.w[sinks + window + fixed.size() + j], std::log(double(m) / double(want)), 1e-12);
    }
  }
}

// Inclusion counts over 20000 draws of 10 from |R| = 90 are uniform (chi-square, 1e-3), and so
// are the first sample's values (the permutation's image of 0, which a weak mix would bias).
TEST(SampleResidualReference, UniformOverSeeds) {
  const std::vector<int32_t> fixed = {20, 30, 40, 50, 60, 70, 80, 90, 95, 96};
  std::map<int32_t, int64_t> incl, first;
  const int64_t draws = 20000, ns = 10;
  for (int64_t i = 0; i < draws; ++i) {
    Row r = sample(fixed, 110, 4, 6, ns, 1 + i / 100, i % 100, static_cast<uint32_t>(i));
    for (int64_t j = 0; j < ns; ++j)
      ++incl[r.idx[4 + 6 + fixed.size() + j]];
    ++first[r.idx[4 + 6 + fixed.size()]];
  }
  ASSERT_EQ(incl.size(), 90u);
  auto chi2 = [](const std::map<int32_t, int64_t> &c, double expected) {
    double x = 0;
    for (auto &[t, o] : c)
      x += (o - expected) * (o - expected) / expected;
    return x;
  };
  const double df = 89, z = 3.090232;
  const double critical = df * std::pow(1 - 2 / (9 * df) + z * std::sqrt(2 / (9 * df)), 3);
  EXPECT_LT(chi2(incl, double(draws) * ns / 90), critical);
  EXPECT_EQ(first.size(), 90u);
  EXPECT_LT(chi2(first, double(draws) / 90), critical);
}

TEST(SampleResidualReference, RowsShorterThanTheDeterministicSet) {
  std::vector<int32_t> fixed = {0, 1, 2};
  Row r = sample(fixed, 10, 8, 8, 4, 1, 1, 0);
  // s = 8, w = max(8, 2) = 8: sinks 0..7, window 8..9, nothing fixed or sampled.
  for (int j = 0; j < 8; ++j)
    EXPECT_EQ(r.idx[j], j);
  EXPECT_EQ(r.idx[8], 8);
  EXPECT_EQ(r.idx[9], 9);
  for (size_t j = 10; j < r.idx.size(); ++j)
    EXPECT_EQ(r.idx[j], -1);
}

TEST(TopPReference, MinimalCount) {
  const float logits[] = {3, 1, 2, 0, 5};
  const int32_t idx[] = {10, 11, -1, 13, 14};
  // Softmax over {3, 1, 0, 5}: 5 alone has 0.862 of the mass, with 3 0.978.
  EXPECT_EQ(ref::toppMinimalCount(logits, idx, 5, 0.8), 1);
  EXPECT_EQ(ref::toppMinimalCount(logits, idx, 5, 0.9), 2);
  EXPECT_EQ(ref::toppMinimalCount(logits, idx, 5, 1.0), 4);
  EXPECT_NEAR(ref::toppMass(logits, idx, 5, {0, 4}), 0.97841, 1e-5);
}

TEST(Int4Reference, RoundTripsWithinHalfAStep) {
  const int64_t d = 64, hkv = 2;
  std::vector<uint16_t> k(d * hkv);
  for (int64_t i = 0; i < d * hkv; ++i)
    k[i] = ref::fromFloat(static_cast<float>(std::sin(0.37 * i) * (1 + i % 5)), ref::Half::BF16);
  const int64_t R = ref::int4RecordWords(d);
  std::vector<int32_t> kq(hkv * R, -1);
  ref::int4Append(kq, 1, k, 1, hkv, d, {0}, ref::Half::BF16);
  for (int64_t h = 0; h < hkv; ++h) {
    // Two scales in the first tail word, zeros in the other three.
    for (int64_t i = 1; i < 4; ++i)
      EXPECT_EQ(kq[h * R + d / 8 + i], 0) << "h " << h << " tail word " << i;
    for (int64_t c = 0; c < d; ++c) {
      uint32_t word = static_cast<uint32_t>(kq[h * R + c / 8]);
      int32_t v = static_cast<int32_t>((word >> (4 * (c % 8))) & 0xF);
      v = v >= 8 ? v - 16 : v;
      const float s = ref::toFloat(ref::int4Scale(kq, h * R, d, c / 32), ref::Half::F16);
      const float x = ref::toFloat(k[h * d + c], ref::Half::BF16);
      EXPECT_LE(std::fabs(v * s - x), 0.5f * s * 1.01f + 1e-6f) << "h " << h << " c " << c;
    }
  }
}

} // namespace
