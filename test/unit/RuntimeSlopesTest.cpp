// The slope generator of linear attention (runtime/Slopes.h).
#include "runtime/Slopes.h"

#include <gtest/gtest.h>

#include <cmath>

namespace ds::rt {
namespace {

TEST(LightningSlopes, FollowAlibi) {
  std::vector<float> s8 = lightningSlopes(8);
  ASSERT_EQ(s8.size(), 8u);
  EXPECT_FLOAT_EQ(s8[0], 0.5f);
  EXPECT_FLOAT_EQ(s8[7], 1.0f / 256);
  std::vector<float> s6 = lightningSlopes(6); // 4 of n = 4, then slopes 0 and 2 of n = 8
  ASSERT_EQ(s6.size(), 6u);
  EXPECT_FLOAT_EQ(s6[0], 0.25f);
  EXPECT_FLOAT_EQ(s6[4], std::pow(2.0f, -1.0f));
  EXPECT_FLOAT_EQ(s6[5], std::pow(2.0f, -3.0f));
  std::vector<float> last = lightningSlopes(8, 7, 8);
  EXPECT_NEAR(last[0], 0.5f * 1e-5f, 1e-9);
}

} // namespace
} // namespace ds::rt
