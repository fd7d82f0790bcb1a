// The no-driver path: everything must fail cleanly with a message saying why.
#include "runtime/Device.h"
#include "runtime/Driver.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

using namespace ds::rt;

namespace {

bool startsWith(const std::string &s, const std::string &prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// Sets an environment variable for the scope of a test.
class ScopedEnv {
public:
  ScopedEnv(const char *name, const char *value) : name_(name) {
    if (const char *old = std::getenv(name))
      old_ = old, hadOld_ = true;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (hadOld_)
      setenv(name_, old_.c_str(), 1);
    else
      unsetenv(name_);
  }

private:
  const char *name_;
  std::string old_;
  bool hadOld_ = false;
};

} // namespace

TEST(RuntimeDriver, MissingLibraryReportsDlopenError) {
  auto d = Driver::open("/nonexistent/dir/libcuda.so.1");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), ErrorCode::DriverNotFound);
  EXPECT_TRUE(startsWith(d.message(), "CUDA driver not found (dlopen /nonexistent/dir/libcuda.so.1: "))
      << d.message();
  EXPECT_NE(d.message().find("No such file"), std::string::npos) << d.message();
  EXPECT_EQ(d.message().back(), ')');
}

TEST(RuntimeDriver, EnvironmentOverridesLibraryName) {
  {
    ScopedEnv env("DS_CUDA_DRIVER_LIB", "/nonexistent/libfakecuda.so");
    EXPECT_EQ(Driver::defaultLibraryPath(), "/nonexistent/libfakecuda.so");
    auto d = Driver::open();
    ASSERT_FALSE(d.ok());
    EXPECT_TRUE(startsWith(d.message(), "CUDA driver not found (dlopen /nonexistent/libfakecuda.so: "))
        << d.message();
  }
  {
    ScopedEnv env("DS_CUDA_DRIVER_LIB", "");
    EXPECT_EQ(Driver::defaultLibraryPath(), "libcuda.so.1");
  }
}

TEST(RuntimeDriver, LibraryWithoutCudaSymbols) {
  // A real shared library that is not a CUDA driver.
  auto d = Driver::open("libm.so.6");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), ErrorCode::DriverNotFound);
  EXPECT_NE(d.message().find("missing cuInit"), std::string::npos) << d.message();
}

TEST(RuntimeDriver, ProcessDriverFailsCleanlyOrWorks) {
  // On CI there is no driver (DriverNotFound); on a machine without a GPU, NoDevice. Either way
  // Context::open must return an error, never crash.
  auto d = Driver::get();
  auto ctx = Context::open(0);
  if (!d.ok()) {
    EXPECT_TRUE(d.status().code() == ErrorCode::DriverNotFound || d.status().code() == ErrorCode::NoDevice)
        << d.message();
    if (d.status().code() == ErrorCode::DriverNotFound) {
      EXPECT_TRUE(startsWith(d.message(), "CUDA driver not found (dlopen ")) << d.message();
    }
    ASSERT_FALSE(ctx.ok());
    EXPECT_EQ(ctx.message(), d.message());
    EXPECT_FALSE(Context::deviceCount().ok());
  } else if (ctx.ok()) {
    EXPECT_FALSE(Context::open(1 << 20).ok()); // no such device
  }
}
