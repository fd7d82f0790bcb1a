// The CPU reference itself: conversions and the small ops, on hand-checkable inputs.
#include "tools/reference/Reference.h"

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
