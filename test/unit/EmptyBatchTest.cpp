// Every JIT spec's bundle plans a launch for any size of its dynamic dims, 0 included: an empty
// batch (or no new tokens, no pages, an empty pool) is a launch of nothing or of kernels with
// nothing to do, never a plan error such as a division by zero. Host-side only (rt::planLaunch,
// the checks the launcher makes), no GPU.
#include "codegen/JIT.h"
#include "runtime/Plan.h"

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

/// Symbol values with every argument-dim symbol `other` but symbol `zero`, which is 0, the derived
/// symbols evaluated in order, and argument shapes from their declared dims.
struct Shapes {
  std::vector<int64_t> symbols;
  std::vector<rt::TensorArg> args;
};

rt::Expected<Shapes> shapes(const rt::Bundle &b, int zero, int64_t other) {
  Shapes s;
  s.symbols.assign(b.symbols.size(), 0);
  for (size_t i = 0; i < b.symbols.size(); ++i) {
    const rt::Symbol &sym = b.symbols[i];
    if (sym.kind == rt::Symbol::Kind::ArgDim) {
      s.symbols[i] = static_cast<int>(i) == zero ? 0 : other;
      continue;
    }
    rt::Expected<int64_t> v = sym.expr.eval(s.symbols);
    if (!v.ok())
      return rt::Status::error("symbol '" + sym.name + "': " + v.message());
    s.symbols[i] = *v;
  }
  for (size_t a = 0; a < b.args.size(); ++a) {
    std::vector<int64_t> dims;
    for (const rt::Expr &e : b.args[a].dims) {
      rt::Expected<int64_t> v = e.eval(s.symbols);
      if (!v.ok())
        return rt::Status::error("argument '" + b.args[a].name + "': " + v.message());
      dims.push_back(*v);
    }
    // Distinct, 256-byte aligned fake device pointers (planning never dereferences them); null
    // for an empty tensor, as frameworks give it.
    int64_t numel = 1;
    for (int64_t d : dims)
      numel *= d;
    s.args.emplace_back(numel == 0 ? rt::CUdeviceptr(0) : rt::CUdeviceptr(0x100000 * (a + 1)),
                        rt::Span<const int64_t>(dims.data(), dims.size()));
  }
  return s;
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
rt::Expected<rt::LaunchPlan> plan(const rt::Bundle &b, const Shapes &s) {
  rt::KernelLimits sm90;
  sm90.maxDynamicSmem = 227 * 1024;
  std::vector<rt::KernelLimits> limits(b.kernels.size(), sm90);
  return rt::planLaunch(b, s.args, rt::Workspace{rt::CUdeviceptr(0x10000000), size_t(1) << 40},
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
      rt::Expected<Shapes> s = shapes(*b, static_cast<int>(z), 3);
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
    int batch = -1;
    for (size_t z = 0; z < b->symbols.size(); ++z)
      if (b->symbols[z].kind == rt::Symbol::Kind::ArgDim && b->symbols[z].arg == 0 &&
          b->symbols[z].dim == 0)
        batch = static_cast<int>(z);
    ASSERT_GE(batch, 0);
    rt::Expected<Shapes> s = shapes(*b, batch, 3);
    ASSERT_TRUE(s.ok()) << s.message();
    rt::Expected<rt::LaunchPlan> p = plan(*b, *s);
    ASSERT_TRUE(p.ok()) << p.message();
    ASSERT_FALSE(p->kernels.empty());
    for (size_t k = 0; k < p->kernels.size(); ++k)
      EXPECT_TRUE(p->kernels[k].config.skip) << "kernel " << b->kernels[k].name;
  }
}

} // namespace
