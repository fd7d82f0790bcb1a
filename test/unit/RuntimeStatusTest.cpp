#include "runtime/Status.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

using namespace ds::rt;

TEST(RuntimeStatus, OkAndError) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.code(), ErrorCode::Ok);
  EXPECT_TRUE(ok.message().empty());

  Status e = Status::error("boom", ErrorCode::Driver);
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.code(), ErrorCode::Driver);
  EXPECT_EQ(e.withContext("doing x").message(), "doing x: boom");
  EXPECT_EQ(e.withContext("doing x").code(), ErrorCode::Driver);
  EXPECT_TRUE(Status::success().withContext("ctx").ok());
  // An "error" with code Ok is still an error.
  EXPECT_FALSE(Status::error("x", ErrorCode::Ok).ok());
}

TEST(RuntimeStatus, Expected) {
  Expected<std::unique_ptr<int>> v(std::make_unique<int>(7));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(**v, 7);
  std::unique_ptr<int> moved = std::move(v).value();
  EXPECT_EQ(*moved, 7);

  Expected<int> e(Status::error("nope"));
  EXPECT_FALSE(e.ok());
  EXPECT_FALSE(bool(e));
  EXPECT_EQ(e.message(), "nope");

  Expected<int> bad(Status::success()); // misuse yields an error, not UB
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("internal error"), std::string::npos);
}

TEST(RuntimeStatus, Span) {
  std::vector<int> v{1, 2, 3};
  Span<const int> s(v);
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s[2], 3);
  int arr[2] = {4, 5};
  Span<int> a(arr);
  a[0] = 9;
  EXPECT_EQ(arr[0], 9);
  auto sum = [](Span<const int> x) {
    int t = 0;
    for (int i : x)
      t += i;
    return t;
  };
  EXPECT_EQ(sum({1, 2, 3, 4}), 10);
  EXPECT_EQ(sum({}), 0);
}
