// The linear-attention decode step generated through the JIT: several steps from a random initial
// state must match the recurrence over the whole sequence (f64 reference), per request slot; a
// request whose slot is out of range gets o = 0 and leaves the pool untouched.
#include "codegen/JIT.h"
#include "runtime/Slopes.h"
#include "test/gpu/GpuTestUtil.h"
#include "tools/reference/LinearAttention.h"

#include <cmath>

using namespace ds;

namespace {

struct LACase {
  int64_t batch, heads, d, e;
  jit::DataType dtype;
};

std::string name(const LACase &c) {
  return "B" + std::to_string(c.batch) + "_H" + std::to_string(c.heads) + "_d" +
         std::to_string(c.d) + "_e" + std::to_string(c.e) +
         (c.dtype == jit::DataType::BF16 ? "_bf16" : "_f16");
}

void PrintTo(const LACase &c, std::ostream *os) { *os << name(c); }

class LinearAttnDecode : public ::testing::TestWithParam<LACase> {};

TEST_P(LinearAttnDecode, StepsMatchTheRecurrence) {
  DS_REQUIRE_GPU(ctx);
  const LACase &c = GetParam();
  static jit::JIT jit(ctx);
  jit::LinearAttnDecodeSpec spec;
  spec.heads = c.heads, spec.keyDim = c.d, spec.valueDim = c.e, spec.dtype = c.dtype;
  auto pipeline = jit.linearAttnDecode(spec);
  ASSERT_TRUE(pipeline.ok()) << pipeline.message();
  const ref::Half ht = c.dtype == jit::DataType::BF16 ? ref::Half::BF16 : ref::Half::F16;
  ref::Rng rng(11 + c.batch + c.heads);
  const int64_t B = c.batch, H = c.heads, slots = 2 * B + 1, steps = 5;
  std::vector<float> slopes = rt::lightningSlopes(static_cast<int>(H), 3, 8);
  // Request b uses slot 2b + 1 (distinct slots, some left unused); the last request's slot is
  // out of range.
  std::vector<int32_t> slotOf(B);
  for (int64_t b = 0; b < B; ++b)
    slotOf[b] = static_cast<int32_t>(2 * b + 1);
  slotOf[B - 1] = static_cast<int32_t>(slots + 5);
  std::vector<float> pool(slots * H * c.d * c.e);
  for (auto &x : pool)
    x = static_cast<float>(rng.uniform(-0.5, 0.5));
  std::vector<float> initial = pool;
  auto dPool = test::upload(ctx, pool), dSlopes = test::upload(ctx, slopes),
       dIdx = test::upload(ctx, slotOf);
  std::vector<std::vector<uint16_t>> qs, ks, vs;
  std::vector<std::vector<uint16_t>> outs;
  for (int64_t t = 0; t < steps; ++t) {
    qs.push_back(test::randomHalf(rng, B * H * c.d, ht));
    ks.push_back(test::randomHalf(rng, B * H * c.d, ht));
    vs.push_back(test::randomHalf(rng, B * H * c.e, ht));
    auto dq = test::upload(ctx, qs.back()), dk = test::upload(ctx, ks.back()),
         dv = test::upload(ctx, vs.back());
    auto dout = test::upload(ctx, std::vector<uint16_t>(B * H * c.e, 0x7e00));
    std::vector<rt::TensorArg> args = {
        rt::TensorArg(dq.ptr(), {B, H, c.d}),          rt::TensorArg(dk.ptr(), {B, H, c.d}),
        rt::TensorArg(dv.ptr(), {B, H, c.e}),          rt::TensorArg(dSlopes.ptr(), {H}),
        rt::TensorArg(dPool.ptr(), {slots, H, c.d, c.e}), rt::TensorArg(dIdx.ptr(), {B}),
        rt::TensorArg(dout.ptr(), {B, H, c.e})};
    rt::Status st = (*pipeline)->launch(args, {}, nullptr);
    ASSERT_TRUE(st.ok()) << st.message();
    ASSERT_TRUE(ctx.synchronize().ok());
    outs.push_back(test::download<uint16_t>(dout, B * H * c.e));
  }
  std::vector<float> gotPool = test::download<float>(dPool, pool.size());
  const double tol = ht == ref::Half::BF16 ? 2e-2 : 4e-3;
  for (int64_t b = 0; b < B; ++b) {
    bool inRange = slotOf[b] >= 0 && slotOf[b] < slots;
    std::vector<double> state(H * c.d * c.e, 0.0);
    if (inRange)
      for (size_t i = 0; i < state.size(); ++i)
        state[i] = initial[slotOf[b] * H * c.d * c.e + i];
    std::vector<double> want, got;
    for (int64_t t = 0; t < steps; ++t) {
      if (inRange)
        ref::linearAttnRecurrent(&qs[t][b * H * c.d], &ks[t][b * H * c.d], &vs[t][b * H * c.e], 1,
                                 H, c.d, c.e, slopes, ht, state, want);
      else
        want.insert(want.end(), H * c.e, 0.0);
      for (int64_t i = 0; i < H * c.e; ++i)
        got.push_back(ref::toFloat(outs[t][b * H * c.e + i], ht));
    }
    // o grows like sqrt(d) * |S|: compare relative to the output's scale.
    double scale = 1e-6;
    for (double w : want)
      scale = std::max(scale, std::fabs(w));
    EXPECT_LE(ref::toleranceRatio(got, want, tol * scale, tol), 1.0) << name(c) << " request " << b;
    if (inRange) {
      std::vector<double> gotState(gotPool.begin() + slotOf[b] * H * c.d * c.e,
                                   gotPool.begin() + (slotOf[b] + 1) * H * c.d * c.e);
      EXPECT_LE(ref::toleranceRatio(gotState, state, 1e-4, 1e-4), 1.0) << name(c) << " state " << b;
    }
  }
  // Slots no request names are untouched.
  for (int64_t s = 0; s < slots; ++s) {
    bool used = false;
    for (int32_t x : slotOf)
      used |= x == s;
    if (!used) {
      EXPECT_TRUE(std::equal(gotPool.begin() + s * H * c.d * c.e,
                             gotPool.begin() + (s + 1) * H * c.d * c.e,
                             initial.begin() + s * H * c.d * c.e))
          << "slot " << s;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Gpu, LinearAttnDecode,
                         ::testing::Values(LACase{2, 8, 64, 64, jit::DataType::BF16},
                                           LACase{4, 8, 128, 128, jit::DataType::F16},
                                           LACase{4, 64, 128, 128, jit::DataType::BF16},
                                           LACase{3, 64, 64, 128, jit::DataType::F16},
                                           // CTAs of other warp counts (the config pass's rows
                                           // per thread): 12 warps of 32 columns, 4 of 8, the
                                           // fewest (2) for 64 columns, 32 x 4 rows at d = 256.
                                           LACase{3, 8, 96, 32, jit::DataType::BF16},
                                           LACase{2, 4, 120, 8, jit::DataType::F16},
                                           LACase{2, 8, 8, 64, jit::DataType::F16},
                                           LACase{2, 4, 256, 128, jit::DataType::BF16}),
                         [](const auto &info) { return name(info.param); });

} // namespace
