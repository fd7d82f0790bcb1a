// Every JIT spec's bundle plans a launch for any size of its dynamic dims, 0 included: an empty
// batch (or no new tokens, no pages, an empty pool) is a launch of nothing or of kernels with
// nothing to do, never a plan error such as a division by zero. Host-side only (rt::planLaunch,
// the checks the launcher makes), no GPU.
#include "codegen/JIT.h"
#include "runtime/Plan.h"
#include "test/common/BundleShapes.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

using namespace ds;

namespace {

struct Case {
  std::string name;
  std::function<rt::Expected<std::string>()> ir;
};

std::vector<Case> cases() {
  std::vector<Case> c;
  c.push_back({"double_sparsity", [] { return jit::doubleSparsityIR({}); }});
  c.push_back({"double_sparsity_shared", [] {
                 jit::DoubleSparsitySpec s;
                 s.kvHeads = 8;
                 s.sharedSelection = true;
                 return jit::doubleSparsityIR(s);
               }});
  c.push_back({"dense_decode", [] { return jit::denseDecodeIR({}); }});
  c.push_back({"label_append", [] { return jit::labelAppendIR({}); }});
  c.push_back({"linear_attn_decode", [] { return jit::linearAttnDecodeIR({}); }});
  c.push_back({"linear_attn_prefill", [] { return jit::linearAttnPrefillIR({}); }});
  c.push_back({"quest", [] { return jit::questIR({}); }});
  c.push_back({"quest_summary", [] { return jit::questSummaryIR({}); }});
  c.push_back({"vattention", [] { return jit::vattentionIR({}); }});
  c.push_back({"twilight", [] { return jit::twilightIR({}); }});
  c.push_back({"int4_append", [] { return jit::int4AppendIR({}); }});
  return c;
}

/// Fake argument pointers for planning (never dereferenced): distinct and 256-byte aligned, null
/// for an empty tensor, as frameworks give it.
std::vector<rt::TensorArg> planArgs(const test::BundleShapes &s) {
  std::vector<rt::TensorArg> args;
  for (size_t a = 0; a < s.dims.size(); ++a)
    args.emplace_back(test::numel(s.dims[a]) == 0 ? rt::CUdeviceptr(0)
                                                  : rt::CUdeviceptr(0x100000 * (a + 1)),
                      rt::Span<const int64_t>(s.dims[a].data(), s.dims[a].size()));
  return args;
}

/// The case's bundle for sm_90a, 132 SMs, compiled once for both tests.
const rt::Expected<rt::Bundle> &bundleOf(const Case &c) {
  static std::map<std::string, rt::Expected<rt::Bundle>> compiled;
  auto it = compiled.find(c.name);
  if (it == compiled.end()) {
    rt::Expected<std::string> ir = c.ir();
    it = compiled
             .emplace(c.name, ir.ok() ? jit::compileSource(*ir, jit::Target{"sm_90a", 132})
                                      : rt::Expected<rt::Bundle>(rt::Status::error(ir.message())))
             .first;
  }
  return it->second;
}

/// Plans a launch with the limits of an sm_90 GPU (227 KB of opt-in shared memory a block).
rt::Expected<rt::LaunchPlan> plan(const rt::Bundle &b, const test::BundleShapes &s) {
  rt::KernelLimits sm90;
  sm90.maxDynamicSmem = 227 * 1024;
  std::vector<rt::KernelLimits> limits(b.kernels.size(), sm90);
  return rt::planLaunch(b, planArgs(s), rt::Workspace{rt::CUdeviceptr(0x10000000), size_t(1) << 40},
                        limits);
}

TEST(EmptyBatch, EverySpecPlansZeroSizedDims) {
  for (const Case &c : cases()) {
    SCOPED_TRACE(c.name);
    const rt::Expected<rt::Bundle> &b = bundleOf(c);
    ASSERT_TRUE(b.ok()) << b.message();
    int argDims = 0;
    for (size_t z = 0; z < b->symbols.size(); ++z) {
      if (b->symbols[z].kind != rt::Symbol::Kind::ArgDim)
        continue;
      ++argDims;
      SCOPED_TRACE(b->symbols[z].name + " = 0");
      rt::Expected<test::BundleShapes> s = test::bundleShapes(*b, static_cast<int>(z), 3);
      ASSERT_TRUE(s.ok()) << s.message();
      rt::Expected<rt::LaunchPlan> p = plan(*b, *s);
      EXPECT_TRUE(p.ok()) << p.message();
    }
    EXPECT_GT(argDims, 0);
  }
}

TEST(EmptyBatch, DecodeStepsWithNoRequestsLaunchNothing) {
  // Batch 0 (dim 0 of q, the first argument): every kernel's grid is empty.
  for (const Case &c : cases()) {
    if (c.name.find("append") != std::string::npos || c.name == "quest_summary" ||
        c.name == "linear_attn_prefill")
      continue;
    SCOPED_TRACE(c.name);
    const rt::Expected<rt::Bundle> &b = bundleOf(c);
    ASSERT_TRUE(b.ok()) << b.message();
    const int batch = test::argDimSymbol(*b, 0, 0);
    ASSERT_GE(batch, 0);
    rt::Expected<test::BundleShapes> s = test::bundleShapes(*b, batch, 3);
    ASSERT_TRUE(s.ok()) << s.message();
    rt::Expected<rt::LaunchPlan> p = plan(*b, *s);
    ASSERT_TRUE(p.ok()) << p.message();
    ASSERT_FALSE(p->kernels.empty());
    for (size_t k = 0; k < p->kernels.size(); ++k)
      EXPECT_TRUE(p->kernels[k].config.skip) << "kernel " << b->kernels[k].name;
  }
}

} // namespace
