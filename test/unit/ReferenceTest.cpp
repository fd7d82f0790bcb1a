// The CPU reference itself: conversions and the small ops, on hand-checkable inputs.
#include "tools/reference/Reference.h"
#include "tools/reference/LinearAttention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace ds::ref;

TEST(Reference, HalfConversionsRoundTrip) {
  for (float v : {0.0f, 1.0f, -2.5f, 0.333f, 65504.0f, 1e-6f}) {
    EXPECT_NEAR(toFloat(fromFloat(v, Half::F16), Half::F16), v, std::fabs(v) * 1e-3 + 1e-7);
    EXPECT_NEAR(toFloat(fromFloat(v, Half::BF16), Half::BF16), v, std::fabs(v) * 1e-2 + 1e-7);
  }
  EXPECT_EQ(fromFloat(1.0f, Half::BF16), 0x3f80);
  EXPECT_EQ(fromFloat(1.0f, Half::F16), 0x3c00);
  EXPECT_EQ(fromFloat(-2.0f, Half::F16), 0xc000);
}

TEST(Reference, TopKPadsAndKeepsLast) {
  double row[] = {0.5, 3.0, -1.0, 2.0, 7.0};
  EXPECT_EQ(topk(row, 5, 2, false), (std::vector<int32_t>{4, 1}));
  EXPECT_EQ(topk(row, 5, 2, true), (std::vector<int32_t>{1, 4}));
  EXPECT_EQ(topk(row, 2, 4, false), (std::vector<int32_t>{0, 1, -1, -1}));
}

TEST(Reference, AttendSkipsInvalidTokensAndWeighsBySoftmax) {
  PagedKV kv;
  kv.numPages = 2, kv.pageSize = 1, kv.kvHeads = 1, kv.headDim = 2, kv.type = Half::F16;
  kv.k = {fromFloat(1, Half::F16), 0, fromFloat(-1, Half::F16), 0};
  kv.v = {fromFloat(1, Half::F16), fromFloat(2, Half::F16), fromFloat(3, Half::F16),
          fromFloat(4, Half::F16)};
  Paging p;
  p.batch = 1, p.maxPages = 2, p.pageTable = {0, 1}, p.seqLens = {2};
  double q[2] = {std::log(3.0), 0}, out[2];
  attend(q, kv, p, 0, 0, {0, 1, -1, 5}, nullptr, 1.0, 0.0, out);
  // weights 3 : 1/3 -> 0.9, 0.1
  EXPECT_NEAR(out[0], 0.9 * 1 + 0.1 * 3, 1e-9);
  EXPECT_NEAR(out[1], 0.9 * 2 + 0.1 * 4, 1e-9);
  attend(q, kv, p, 0, 0, {-1}, nullptr, 1.0, 0.0, out);
  EXPECT_EQ(out[0], 0.0);
}

TEST(Reference, LinearAttnPrefillClampsSkipsAndStartsFromTheSlot) {
  // H = d = e = 1, lambda = exp(-ln 2) = 1/2. Request 0 owns tokens [0, 2) (cu_seqlens[0] = -3
  // clamped) and starts from slot 1 (= 4); request 1 owns [2, 4) with an out-of-range slot;
  // request 2 owns [4, 5) (cu_seqlens[3] = 99 clamped) and starts from zero although slot 0 holds
  // 100.
  const Half f16 = Half::F16;
  auto h = [&](std::vector<float> xs) {
    std::vector<uint16_t> out;
    for (float x : xs)
      out.push_back(fromFloat(x, f16));
    return out;
  };
  LinearAttnBatch batch;
  batch.tokens = 5, batch.heads = 1, batch.d = 1, batch.e = 1, batch.type = f16;
  batch.q = h({1, 2, 5, 5, 3}), batch.k = h({1, 1, 2, 1, 1}), batch.v = h({2, 4, 1, 8, 2});
  batch.slopes = {static_cast<float>(std::log(2.0))};
  batch.cuSeqlens = {-3, 2, 4, 99};
  batch.stateIndices = {1, 7, 0};
  batch.hasInitialState = {1, 1, 0};
  EXPECT_EQ(batch.span(0), (std::pair<int64_t, int64_t>{0, 2}));
  EXPECT_EQ(batch.span(2), (std::pair<int64_t, int64_t>{4, 5}));
  std::vector<double> states = {100, 4}, o, inter;
  linearAttnPrefill(batch, states, o, &inter);
  // Request 0: S = 4/2 + 1*2 = 4, o = 1*4; S = 4/2 + 1*4 = 6, o = 2*6. Request 2: S = 2, o = 6.
  const std::vector<double> wantO = {4, 12, 0, 0, 6}, wantS = {4, 6, 0, 0, 2};
  ASSERT_EQ(o.size(), 5u);
  ASSERT_EQ(inter.size(), 5u);
  for (size_t t = 0; t < 5; ++t) {
    EXPECT_NEAR(o[t], wantO[t], 1e-6) << "token " << t;
    EXPECT_NEAR(inter[t], wantS[t], 1e-6) << "token " << t;
  }
  EXPECT_NEAR(states[0], 2, 1e-6);
  EXPECT_NEAR(states[1], 6, 1e-6);

  // cu_seqlens going down: the later request is empty (end clamped up to its start).
  batch.cuSeqlens = {0, 3, 1, 5};
  EXPECT_EQ(batch.span(1), (std::pair<int64_t, int64_t>{3, 3}));
}

TEST(Reference, LinearAttnPrefillMultipliesQByTheStateRows) {
  // d = e = 2, no decay: S = S0 + k^T v = [[1, 2], [3, 4]] + [1, 2]^T [3, 5] = [[4, 7], [9, 14]];
  // o = q S with q = (1, 0) is S's first row (its first column, 4 and 9, if S were transposed).
  LinearAttnBatch batch;
  batch.tokens = 1, batch.heads = 1, batch.d = 2, batch.e = 2, batch.type = Half::BF16;
  batch.q = {fromFloat(1, Half::BF16), 0};
  batch.k = {fromFloat(1, Half::BF16), fromFloat(2, Half::BF16)};
  batch.v = {fromFloat(3, Half::BF16), fromFloat(5, Half::BF16)};
  batch.slopes = {0.0f};
  batch.cuSeqlens = {0, 1};
  batch.stateIndices = {0};
  batch.hasInitialState = {1};
  std::vector<double> states = {1, 2, 3, 4}, o;
  linearAttnPrefill(batch, states, o);
  EXPECT_EQ(o, (std::vector<double>{4, 7}));
  EXPECT_EQ(states, (std::vector<double>{4, 7, 9, 14}));
}
