// The fixture of the runtime's GPU tests: opens device 0 and skips only where there is no CUDA
// driver or no GPU (any other failure to open the device fails the test). Runtime only: no
// compiler or reference needed.
#pragma once

#include "runtime/Device.h"

#include <gtest/gtest.h>

#include <string>

namespace ds::rt {

class RuntimeGpuTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto c = Context::open(0);
    if (!c.ok()) {
      if (c.status().code() == ErrorCode::DriverNotFound || c.status().code() == ErrorCode::NoDevice)
        GTEST_SKIP() << "no CUDA driver or GPU: " << c.message();
      FAIL() << "opening CUDA device 0: " << c.message();
    }
    ctx = *c;
  }
  Context ctx;
};

inline bool contains(const std::string &s, const std::string &sub) {
  return s.find(sub) != std::string::npos;
}

} // namespace ds::rt
