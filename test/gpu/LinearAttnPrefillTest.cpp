// The linear-attention prefill generated through the JIT (chunked, tensor-core matmuls) against the
// recurrent f64 reference (tools/reference/LinearAttention.h) over packed ragged batches: lengths
// 1, C - 1, C + 1, multiples and non-multiples of the chunk size C and ~1000 tokens; from the
// slot's state or from zero; the state after every token (keepIntermediate); decode steps
// continuing from the prefilled states; out-of-range slots (o = 0, no state touched) and
// cu_seqlens clamped to [0, T].
//
// Tolerances. The kernel multiplies bf16/f16 tiles with f32 accumulation, and its inter-chunk term
// multiplies q by the state rounded to bf16/f16, so an element's error follows the size of its
// neighbours rather than its own. Each (request, head) is compared against its own scale:
//   o:      |got - ref| <= rtol * max |ref o of that request and head| + 1e-3,
//           rtol = 2e-2 (bf16), 1e-2 (f16);
//   states: |got - ref| <= rtol * max |ref state of that slot and head| + 1e-5 (final states;
//           intermediates: max over the request's tokens), rtol = 1e-2 (bf16), 5e-3 (f16).
// Slots no request updates must come back bit for bit; o (and intermediate) rows of a request
// whose slot is out of range must be exactly 0 (outputs start as NaN, so unwritten rows fail).
#include "codegen/JIT.h"
#include "runtime/Slopes.h"
#include "test/gpu/GpuTestUtil.h"
#include "tools/reference/LinearAttention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <string>

using namespace ds;

namespace {

const int32_t kChunk = static_cast<int32_t>(jit::LinearAttnPrefillSpec().chunkSize);

ref::Half halfOf(jit::DataType t) {
  return t == jit::DataType::BF16 ? ref::Half::BF16 : ref::Half::F16;
}
double outTol(ref::Half t) { return t == ref::Half::BF16 ? 2e-2 : 1e-2; }
double stateTol(ref::Half t) { return t == ref::Half::BF16 ? 1e-2 : 5e-3; }
constexpr double kOutAtol = 1e-3, kStateAtol = 1e-5;

/// Config overrides "<op>.<field>=<value>" (none: the config pass's choices).
using Overrides = std::vector<std::string>;

/// The JIT of the tests, one per list of config overrides.
jit::JIT &jitFor(const rt::Context &ctx, const Overrides &config = {}) {
  static std::map<Overrides, std::unique_ptr<jit::JIT>> jits;
  std::unique_ptr<jit::JIT> &jit = jits[config];
  if (!jit) {
    jit = std::make_unique<jit::JIT>(ctx);
    jit->setConfigOverrides(config);
  }
  return *jit;
}

/// A packed batch of requests of the given lengths (cu_seqlens = their prefix sums), q, v ~
/// U(-1, 1) and k ~ U(-1, 1) / sqrt(d) so that o stays O(1) over long sequences. Slopes from
/// runtime/Slopes.h for layer `layer` of 8 (0: the strongest decay, 7: almost none). Request b
/// gets slot b and no initial state; callers change those.
ref::LinearAttnBatch makeBatch(ref::Rng &rng, const std::vector<int32_t> &lens, int64_t heads,
                               int64_t d, int64_t e, ref::Half type, int layer) {
  ref::LinearAttnBatch batch;
  batch.heads = heads, batch.d = d, batch.e = e, batch.type = type;
  batch.cuSeqlens = {0};
  for (int32_t n : lens)
    batch.cuSeqlens.push_back(batch.cuSeqlens.back() + n);
  batch.tokens = batch.cuSeqlens.back();
  const double kScale = 1.0 / std::sqrt(static_cast<double>(d));
  batch.q = test::randomHalf(rng, batch.tokens * heads * d, type);
  batch.k = test::randomHalf(rng, batch.tokens * heads * d, type, -kScale, kScale);
  batch.v = test::randomHalf(rng, batch.tokens * heads * e, type);
  batch.slopes = rt::lightningSlopes(static_cast<int>(heads), layer, 8);
  for (size_t b = 0; b < lens.size(); ++b) {
    batch.stateIndices.push_back(static_cast<int32_t>(b));
    batch.hasInitialState.push_back(0);
  }
  return batch;
}

/// A state pool [slots, H, d, e] of the size a step from k, v as above reaches.
std::vector<float> randomPool(ref::Rng &rng, int64_t slots, const ref::LinearAttnBatch &batch) {
  std::vector<float> pool(slots * batch.heads * batch.d * batch.e);
  const double s = 1.0 / std::sqrt(static_cast<double>(batch.d));
  for (float &x : pool)
    x = static_cast<float>(rng.uniform(-s, s));
  return pool;
}

/// The argument order JIT.h documents: q, k, v, slopes, cu_seqlens, states (in place),
/// state_indices, has_initial_state; then o and, with keepIntermediate, intermediate.
void expectDocumentedArgs(const rt::Bundle &bundle, bool keep) {
  const char *names[] = {
      "q", "k", "v", "slopes", "cu_seqlens", "states", "state_indices", "has_initial_state"};
  ASSERT_EQ(bundle.args.size(), keep ? 10u : 9u);
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(bundle.args[i].name, names[i]);
    EXPECT_EQ(bundle.args[i].role, i == 5 ? rt::ArgRole::InOut : rt::ArgRole::In) << names[i];
  }
  EXPECT_EQ(bundle.args[8].role, rt::ArgRole::Out);
  if (keep) {
    EXPECT_EQ(bundle.args[9].role, rt::ArgRole::Out);
    EXPECT_EQ(bundle.args[9].dtype, rt::DType::F32);
  }
}

/// What a prefill produced, as f64: o [T, H, e], states [slots, H, d, e] and, with
/// keepIntermediate, intermediate [T, H, d, e].
struct Outputs {
  std::vector<double> o, states, intermediate;
};

/// Runs the generated prefill on `batch` with the device pool `dPool` ([slots, H, d, e], updated
/// in place). o and intermediate start as NaN.
void launchPrefill(const rt::Context &ctx, const ref::LinearAttnBatch &batch,
                   const rt::DeviceBuffer &dPool, int64_t slots, bool keep, Outputs &got,
                   const Overrides &config) {
  const int64_t T = batch.tokens, H = batch.heads, d = batch.d, e = batch.e, B = batch.batch();
  jit::LinearAttnPrefillSpec spec;
  spec.heads = H, spec.keyDim = d, spec.valueDim = e, spec.keepIntermediate = keep;
  spec.dtype = batch.type == ref::Half::BF16 ? jit::DataType::BF16 : jit::DataType::F16;
  auto pipeline = jitFor(ctx, config).linearAttnPrefill(spec);
  ASSERT_TRUE(pipeline.ok()) << pipeline.message();
  ASSERT_NO_FATAL_FAILURE(expectDocumentedArgs((*pipeline)->bundle(), keep));

  auto dq = test::upload(ctx, batch.q), dk = test::upload(ctx, batch.k),
       dv = test::upload(ctx, batch.v), dSlopes = test::upload(ctx, batch.slopes),
       dCu = test::upload(ctx, batch.cuSeqlens), dIdx = test::upload(ctx, batch.stateIndices),
       dInit = test::upload(ctx, batch.hasInitialState);
  auto dOut = test::upload(
      ctx, std::vector<uint16_t>(T * H * e, ref::fromFloat(std::nanf(""), batch.type)));
  rt::DeviceBuffer dInter;
  if (keep)
    dInter = test::upload(ctx, std::vector<float>(T * H * d * e, std::nanf("")));
  std::vector<rt::TensorArg> args = {
      rt::TensorArg(dq.ptr(), {T, H, d}),  rt::TensorArg(dk.ptr(), {T, H, d}),
      rt::TensorArg(dv.ptr(), {T, H, e}),  rt::TensorArg(dSlopes.ptr(), {H}),
      rt::TensorArg(dCu.ptr(), {B + 1}),   rt::TensorArg(dPool.ptr(), {slots, H, d, e}),
      rt::TensorArg(dIdx.ptr(), {B}),      rt::TensorArg(dInit.ptr(), {B}),
      rt::TensorArg(dOut.ptr(), {T, H, e})};
  if (keep)
    args.push_back(rt::TensorArg(dInter.ptr(), {T, H, d, e}));
  auto ws = rt::OwnedWorkspace::allocate(**pipeline, args);
  ASSERT_TRUE(ws.ok()) << ws.message();
  rt::Status st = (*pipeline)->launch(args, ws->get(), nullptr);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_TRUE(ctx.synchronize().ok());

  got.o.clear();
  for (uint16_t x : test::download<uint16_t>(dOut, T * H * e))
    got.o.push_back(ref::toFloat(x, batch.type));
  std::vector<float> pool = test::download<float>(dPool, slots * H * d * e);
  got.states.assign(pool.begin(), pool.end());
  got.intermediate.clear();
  if (keep) {
    std::vector<float> inter = test::download<float>(dInter, T * H * d * e);
    got.intermediate.assign(inter.begin(), inter.end());
  }
}

/// Worst |got - want| / (rtol * max |want| + atol) over head h of rows [first, end) of two
/// [rows, H, width] arrays (<= 1 passes), where it is and how many elements fail: a failing
/// kernel's message says which token and column, so a layout error shows its pattern.
struct HeadCheck {
  double worst = 0;
  int64_t row = -1, col = -1, failing = 0;
  double got = 0, want = 0;
};
std::ostream &operator<<(std::ostream &os, const HeadCheck &c) {
  if (c.row < 0)
    return os << "(empty)";
  return os << "worst " << c.worst << " at row " << c.row << " column " << c.col << ": got "
            << c.got << ", want " << c.want << "; " << c.failing << " elements fail";
}
HeadCheck headCheck(const std::vector<double> &got, const std::vector<double> &want, int64_t first,
                    int64_t end, int64_t H, int64_t h, int64_t width, double rtol, double atol) {
  double scale = 0;
  for (int64_t r = first; r < end; ++r)
    for (int64_t j = 0; j < width; ++j)
      scale = std::max(scale, std::fabs(want[(r * H + h) * width + j]));
  HeadCheck c;
  for (int64_t r = first; r < end; ++r)
    for (int64_t j = 0; j < width; ++j) {
      size_t i = (r * H + h) * width + j;
      double ratio = std::fabs(got[i] - want[i]) / (rtol * scale + atol);
      if (std::isnan(ratio))
        ratio = std::numeric_limits<double>::infinity(); // NaN counts as worst
      c.failing += ratio > 1.0;
      if (c.row < 0 || ratio > c.worst)
        c = HeadCheck{ratio, r, j, c.failing, got[i], want[i]};
    }
  return c;
}
double headRatio(const std::vector<double> &got, const std::vector<double> &want, int64_t first,
                 int64_t end, int64_t H, int64_t h, int64_t width, double rtol, double atol) {
  return headCheck(got, want, first, end, H, h, width, rtol, atol).worst;
}

/// Elements of rows [first, end) of a [rows, width] array that are not exactly 0 (NaN counts).
int64_t nonZero(const std::vector<double> &v, int64_t first, int64_t end, int64_t width) {
  int64_t n = 0;
  for (int64_t i = first * width; i < end * width; ++i)
    n += !(v[i] == 0.0);
  return n;
}

/// Compares the GPU's outputs with the reference's, per (request, head) and per slot: see the
/// tolerances at the top. `initialPool` is the pool before the launch.
void expectMatches(const ref::LinearAttnBatch &batch, int64_t slots,
                   const std::vector<float> &initialPool, const Outputs &got, const Outputs &want,
                   bool keep, const std::string &what) {
  const int64_t H = batch.heads, d = batch.d, e = batch.e, stateSize = H * d * e;
  const double oTol = outTol(batch.type), sTol = stateTol(batch.type);
  std::vector<bool> updated(slots, false);
  for (int64_t b = 0; b < batch.batch(); ++b) {
    auto [start, end] = batch.span(b);
    int64_t s = batch.stateIndices[b];
    if (s < 0 || s >= slots) {
      EXPECT_EQ(nonZero(got.o, start, end, H * e), 0)
          << what << ": o of request " << b << " (slot " << s << " out of range)";
      if (keep) {
        EXPECT_EQ(nonZero(got.intermediate, start, end, stateSize), 0)
            << what << ": intermediate of request " << b << " (slot " << s << " out of range)";
      }
      continue;
    }
    updated[s] = true;
    for (int64_t h = 0; h < H; ++h) {
      HeadCheck o = headCheck(got.o, want.o, start, end, H, h, e, oTol, kOutAtol);
      EXPECT_LE(o.worst, 1.0) << what << ": o of request " << b << " [" << start << ", " << end
                              << ") head " << h << ": " << o;
      if (keep) {
        EXPECT_LE(headRatio(got.intermediate, want.intermediate, start, end, H, h, d * e, sTol,
                            kStateAtol),
                  1.0)
            << what << ": intermediate of request " << b << " head " << h;
      }
    }
  }
  for (int64_t s = 0; s < slots; ++s) {
    if (updated[s]) {
      for (int64_t h = 0; h < H; ++h) {
        HeadCheck st = headCheck(got.states, want.states, s, s + 1, H, h, d * e, sTol, kStateAtol);
        EXPECT_LE(st.worst, 1.0) << what << ": state of slot " << s << " head " << h << " (column "
                                 << "= key row x " << e << " + value column): " << st;
      }
      continue;
    }
    bool same = true;
    for (int64_t i = s * stateSize; i < (s + 1) * stateSize; ++i)
      same &= got.states[i] == static_cast<double>(initialPool[i]);
    EXPECT_TRUE(same) << what << ": slot " << s << " (no request's) was written";
  }
}

/// The prefill of `batch` over `pool` on the GPU and in the reference, compared. The device pool
/// and the reference's states are left for further steps (the decode test).
void checkPrefill(const rt::Context &ctx, const ref::LinearAttnBatch &batch,
                  const std::vector<float> &pool, bool keep, const std::string &what,
                  rt::DeviceBuffer &dPool, Outputs &want, const Overrides &config = {}) {
  const int64_t slots = static_cast<int64_t>(pool.size()) / (batch.heads * batch.d * batch.e);
  dPool = test::upload(ctx, pool);
  Outputs got;
  ASSERT_NO_FATAL_FAILURE(launchPrefill(ctx, batch, dPool, slots, keep, got, config));
  want.states.assign(pool.begin(), pool.end());
  ref::linearAttnPrefill(batch, want.states, want.o, keep ? &want.intermediate : nullptr);
  expectMatches(batch, slots, pool, got, want, keep, what);
}

// --- Ragged batches over the shapes and types --------------------------------------------------

struct PrefillCase {
  std::vector<int32_t> lens;
  int64_t heads, d, e;
  jit::DataType dtype;
  bool initial; ///< every request starts from its slot (else from zero, the slot holding garbage)
  int layer;    ///< slopes of layer `layer` of 8
  /// Config overrides (jitFor), for a form the config pass does not choose; all but warps = 4
  /// alone need warpgroup MMA.
  Overrides config = {};
};
/// The warpgroup-MMA plan with the two-warpgroup kernel (outputs and state at the same time)
/// beside the one-warpgroup kernel, one launched by the launch's CTAs (the config pass's choice
/// on sm_90a, there at four stages), and the one-warpgroup kernel alone (also valid for the
/// mma.sync kernel).
const char *const kTwoWarpgroups = "linear_attn_prefill.warps=8";
const char *const kOneWarpgroup = "linear_attn_prefill.warps=4";
/// The plan with the three-warpgroup kernel (two output warpgroups on alternate chunks, one for
/// the state; a ring of four chunks, config stages = 4) beside the one-warpgroup kernel.
const char *const kThreeWarpgroups = "linear_attn_prefill.warps=12";

/// "_warps8_stages3" for {"linear_attn_prefill.warps=8", "linear_attn_prefill.stages=3"}.
std::string configName(const Overrides &config) {
  std::string out;
  for (std::string one : config) {
    one = one.substr(one.find('.') + 1);
    one.erase(std::remove(one.begin(), one.end(), '='), one.end());
    out += "_" + one;
  }
  return out;
}

std::string name(const PrefillCase &c) {
  int64_t T = 0;
  for (int32_t n : c.lens)
    T += n;
  return "B" + std::to_string(c.lens.size()) + "_T" + std::to_string(T) + "_H" +
         std::to_string(c.heads) + "_d" + std::to_string(c.d) + "_e" + std::to_string(c.e) +
         (c.dtype == jit::DataType::BF16 ? "_bf16" : "_f16") + (c.initial ? "_init" : "_zero") +
         "_L" + std::to_string(c.layer) + configName(c.config);
}

void PrintTo(const PrefillCase &c, std::ostream *os) { *os << name(c); }

/// B in {1, 4} x H in {8, 64} x d = e in {64, 128} x {bf16, f16} x {from the slot, from zero},
/// then four (d, e) the kernel pads.
/// B = 4: lengths C + 1, 1, a long one, C - 1 (packed in that order); B = 1: one long request,
/// not a multiple of C in bf16, a multiple in f16. H = 64, d = 128 keeps T to a few hundred
/// tokens (the CPU reference costs T * H * d * e), except for one 1000-token request.
std::vector<PrefillCase> prefillCases() {
  const int32_t C = kChunk;
  std::vector<PrefillCase> cases;
  int layer = 0;
  for (int64_t B : {1, 4})
    for (int64_t H : {8, 64})
      for (int64_t d : {64, 128})
        for (jit::DataType t : {jit::DataType::BF16, jit::DataType::F16})
          for (bool initial : {false, true}) {
            const bool big = H == 64 && d == 128;
            std::vector<int32_t> lens;
            if (B == 1 && t == jit::DataType::BF16)
              lens = {big && !initial ? 5 * C - 20 : 1000};
            else if (B == 1)
              lens = {big ? 3 * C : 9 * C};
            else
              lens = {C + 1, 1, big ? 3 * C - 1 : H == 8 ? 1000 : 5 * C - 20, C - 1};
            cases.push_back({lens, H, d, d, t, initial, layer});
            layer = (layer + 3) % 8; // every decay regime appears with every shape class
          }
  // Dims the tensor-core kernel pads (d to 64 or 128, e to a block of 64): zero-filled q, k and
  // v columns, state rows and columns past d and e neither read nor written, o columns past e
  // not stored (the pool's and o's other values are checked too).
  cases.push_back({{C + 1, 1, 1000, C - 1}, 8, 96, 32, jit::DataType::BF16, true, 1});
  cases.push_back({{5 * C - 20}, 8, 32, 16, jit::DataType::F16, false, 4});
  cases.push_back({{C + 1, 1, 3 * C - 1, C - 1}, 8, 8, 64, jit::DataType::F16, true, 6});
  cases.push_back({{3 * C}, 8, 120, 8, jit::DataType::BF16, true, 2});
  // Long requests the chunked kernel splits into segments (8 a request at H = 8 on the H200),
  // alone and beside short ones that are not split.
  cases.push_back({{70000}, 8, 64, 64, jit::DataType::BF16, true, 5});
  cases.push_back({{1, 63, 65, 20000}, 8, 64, 64, jit::DataType::BF16, true, 3});
  cases.push_back({{20000, 1, 63, 65}, 8, 64, 64, jit::DataType::F16, false, 7});
  // On sm_90a the config pass's plan (warps = 8, four stages) launches the two-warpgroup kernel
  // where B x H x cdiv(e, 64) x splits CTAs fit the SMs once: on 132 SMs the one-request cases
  // above, and the one-warpgroup kernel (two stages) for the others (B = 4 at H = 64, and at
  // H = 8 with the config pass's 8 segments). The one-warpgroup kernel alone (warps = 4) over the same kinds of case:
  // H = 64, d = e = 128 (one request and B = 4, both types, from the slot and from zero), the
  // padded dims and segment splits. Then more stages (the ring reuses a stage one chunk after
  // both warpgroups last read it), and several requests on two warpgroups (fewer segments: 64
  // CTAs or fewer).
  const size_t before = cases.size();
  for (size_t i = 0; i < before; ++i) {
    const PrefillCase &c = cases[i];
    if ((c.heads == 64 && c.d == 128) || c.d != c.e || c.lens.back() >= 20000 ||
        c.lens.front() >= 20000) {
      PrefillCase one = c;
      one.config = {kOneWarpgroup};
      cases.push_back(one);
    }
  }
  cases.push_back({{C + 1, 1, 3 * C - 1, C - 1}, 64, 128, 128, jit::DataType::BF16, true, 2,
                   {kTwoWarpgroups, "linear_attn_prefill.stages=3"}});
  cases.push_back({{1000}, 8, 64, 64, jit::DataType::F16, false, 6,
                   {kTwoWarpgroups, "linear_attn_prefill.stages=4"}});
  cases.push_back({{C + 1, 1, 3 * C - 1, C - 1}, 8, 128, 128, jit::DataType::F16, true, 4,
                   {kTwoWarpgroups, "linear_attn_prefill.stages=2", "linear_attn_prefill.splits=1"}});
  const char *const kOneSegment = "linear_attn_prefill.splits=1";
  cases.push_back({{C + 1, 1, 3 * C - 1, C - 1}, 8, 128, 128, jit::DataType::BF16, true, 2,
                   {kTwoWarpgroups, kOneSegment}});
  cases.push_back({{C + 1, 1, 3 * C - 1, C - 1}, 8, 128, 128, jit::DataType::F16, false, 5,
                   {kTwoWarpgroups, kOneSegment}});
  cases.push_back({{C + 1, 1, 1000, C - 1}, 8, 96, 32, jit::DataType::BF16, true, 1,
                   {kTwoWarpgroups, kOneSegment}});
  cases.push_back({{1, 63, 65, 20000}, 8, 64, 64, jit::DataType::BF16, true, 3,
                   {kTwoWarpgroups, "linear_attn_prefill.splits=2"}});
  // Three warpgroups where the launch fits the SMs once: requests of odd and even chunk counts
  // (the output warpgroups' last steps differ), one request at H = 64, d = e = 128 (128 CTAs),
  // padded dims, and segment splits (whose states pass runs on two warpgroups at four stages).
  const char *const kThreeStages = "linear_attn_prefill.stages=4";
  cases.push_back({{C + 1, 1, 3 * C - 1, C - 1}, 8, 128, 128, jit::DataType::BF16, true, 2,
                   {kThreeWarpgroups, kThreeStages, kOneSegment}});
  cases.push_back({{C + 1, 1, 3 * C - 1, C - 1}, 8, 128, 128, jit::DataType::F16, false, 5,
                   {kThreeWarpgroups, kThreeStages, kOneSegment}});
  cases.push_back({{5 * C - 20}, 64, 128, 128, jit::DataType::BF16, false, 4,
                   {kThreeWarpgroups, kThreeStages}});
  cases.push_back({{3 * C}, 8, 120, 8, jit::DataType::BF16, true, 2,
                   {kThreeWarpgroups, kThreeStages, kOneSegment}});
  cases.push_back({{C + 1, 1, 1000, C - 1}, 8, 96, 32, jit::DataType::BF16, true, 1,
                   {kThreeWarpgroups, kThreeStages, kOneSegment}});
  cases.push_back({{1000}, 8, 64, 64, jit::DataType::F16, false, 6,
                   {kThreeWarpgroups, kThreeStages}});
  cases.push_back({{1, 63, 65, 20000}, 8, 64, 64, jit::DataType::BF16, true, 3,
                   {kThreeWarpgroups, kThreeStages, "linear_attn_prefill.splits=2"}});
  return cases;
}

class LinearAttnPrefill : public ::testing::TestWithParam<PrefillCase> {};

TEST_P(LinearAttnPrefill, MatchesTheRecurrence) {
  DS_REQUIRE_GPU(ctx);
  const PrefillCase &c = GetParam();
  ref::Rng rng(101 + c.lens.size() * 13 + c.heads + c.d + c.layer);
  ref::LinearAttnBatch batch = makeBatch(rng, c.lens, c.heads, c.d, c.e, halfOf(c.dtype), c.layer);
  const int64_t B = batch.batch(), slots = 2 * B + 1;
  // Request b uses slot 2 (B - 1 - b) + 1: slots in the opposite order, the even ones unused.
  // Any nonzero has_initial_state means "start from the slot".
  for (int64_t b = 0; b < B; ++b) {
    batch.stateIndices[b] = static_cast<int32_t>(2 * (B - 1 - b) + 1);
    batch.hasInitialState[b] = c.initial ? (b % 2 ? 2 : 1) : 0;
  }
  std::vector<float> pool = randomPool(rng, slots, batch);
  rt::DeviceBuffer dPool;
  Outputs want;
  if (c.config != Overrides{kOneWarpgroup} && !c.config.empty() &&
      jitFor(ctx).compileTarget().chip != "sm_90a") {
    // Without warpgroup MMA the form is refused by name, before anything runs.
    jit::LinearAttnPrefillSpec spec;
    spec.heads = c.heads, spec.keyDim = c.d, spec.valueDim = c.e, spec.dtype = c.dtype;
    auto pipeline = jitFor(ctx, c.config).linearAttnPrefill(spec);
    ASSERT_FALSE(pipeline.ok());
    EXPECT_NE(pipeline.message().find("config field 'warps'"), std::string::npos)
        << pipeline.message();
    return;
  }
  checkPrefill(ctx, batch, pool, false, name(c), dPool, want, c.config);
}

INSTANTIATE_TEST_SUITE_P(Gpu, LinearAttnPrefill, ::testing::ValuesIn(prefillCases()),
                         [](const auto &info) { return name(info.param); });

// --- The state after every token -----------------------------------------------------------------

struct KeepCase {
  std::vector<int32_t> lens;
  int64_t heads, d, e;
  jit::DataType dtype;
};

std::string name(const KeepCase &c) {
  return "B" + std::to_string(c.lens.size()) + "_H" + std::to_string(c.heads) + "_d" +
         std::to_string(c.d) + "_e" + std::to_string(c.e) +
         (c.dtype == jit::DataType::BF16 ? "_bf16" : "_f16");
}

void PrintTo(const KeepCase &c, std::ostream *os) { *os << name(c); }

class LinearAttnPrefillIntermediate : public ::testing::TestWithParam<KeepCase> {};

// Short requests (the speculative-verify shape), one crossing a chunk boundary, a mix of initial
// states, and one request with an out-of-range slot (its intermediate rows must be 0).
TEST_P(LinearAttnPrefillIntermediate, EveryTokensStateMatches) {
  DS_REQUIRE_GPU(ctx);
  const KeepCase &c = GetParam();
  ref::Rng rng(202 + c.heads + c.d);
  ref::LinearAttnBatch batch = makeBatch(rng, c.lens, c.heads, c.d, c.e, halfOf(c.dtype), 3);
  const int64_t B = batch.batch(), slots = B + 1;
  for (int64_t b = 0; b < B; ++b) {
    batch.stateIndices[b] = static_cast<int32_t>(b + 1);
    batch.hasInitialState[b] = b % 3 != 0;
  }
  batch.stateIndices[B / 2] = static_cast<int32_t>(slots + 3);
  std::vector<float> pool = randomPool(rng, slots, batch);
  rt::DeviceBuffer dPool;
  Outputs want;
  checkPrefill(ctx, batch, pool, true, name(c), dPool, want);
}

INSTANTIATE_TEST_SUITE_P(
    Gpu, LinearAttnPrefillIntermediate,
    ::testing::Values(
        KeepCase{{1, 2, 3, 4, 5, 6, 7, 8, 9, kChunk + 6}, 8, 64, 64, jit::DataType::BF16},
        KeepCase{{1, 2, 3, 5, 9}, 64, 128, 128, jit::DataType::F16}),
    [](const auto &info) { return name(info.param); });

// --- Decode steps continuing from the prefilled states -------------------------------------------

class LinearAttnPrefillThenDecode : public ::testing::TestWithParam<KeepCase> {};

TEST_P(LinearAttnPrefillThenDecode, MatchesTheRecurrenceOverTheWholeSequence) {
  DS_REQUIRE_GPU(ctx);
  const KeepCase &c = GetParam();
  const ref::Half ht = halfOf(c.dtype);
  ref::Rng rng(303 + c.heads + c.d);
  ref::LinearAttnBatch batch = makeBatch(rng, c.lens, c.heads, c.d, c.e, ht, 2);
  const int64_t B = batch.batch(), H = c.heads, d = c.d, e = c.e, slots = B + 2;
  for (int64_t b = 0; b < B; ++b) {
    batch.stateIndices[b] = static_cast<int32_t>(slots - 1 - b);
    batch.hasInitialState[b] = b != 1;
  }
  std::vector<float> pool = randomPool(rng, slots, batch);
  rt::DeviceBuffer dPool;
  Outputs want;
  ASSERT_NO_FATAL_FAILURE(checkPrefill(ctx, batch, pool, false, name(c) + " prefill", dPool, want));

  jit::LinearAttnDecodeSpec spec;
  spec.heads = H, spec.keyDim = d, spec.valueDim = e, spec.dtype = c.dtype;
  auto decode = jitFor(ctx).linearAttnDecode(spec);
  ASSERT_TRUE(decode.ok()) << decode.message();
  auto dSlopes = test::upload(ctx, batch.slopes), dIdx = test::upload(ctx, batch.stateIndices);
  const double kScale = 1.0 / std::sqrt(static_cast<double>(d));
  std::vector<double> &states = want.states; // the reference continues from its prefill
  for (int step = 0; step < 3; ++step) {
    std::vector<uint16_t> q = test::randomHalf(rng, B * H * d, ht),
                          k = test::randomHalf(rng, B * H * d, ht, -kScale, kScale),
                          v = test::randomHalf(rng, B * H * e, ht);
    auto dq = test::upload(ctx, q), dk = test::upload(ctx, k), dv = test::upload(ctx, v);
    auto dOut =
        test::upload(ctx, std::vector<uint16_t>(B * H * e, ref::fromFloat(std::nanf(""), ht)));
    std::vector<rt::TensorArg> args = {
        rt::TensorArg(dq.ptr(), {B, H, d}),           rt::TensorArg(dk.ptr(), {B, H, d}),
        rt::TensorArg(dv.ptr(), {B, H, e}),           rt::TensorArg(dSlopes.ptr(), {H}),
        rt::TensorArg(dPool.ptr(), {slots, H, d, e}), rt::TensorArg(dIdx.ptr(), {B}),
        rt::TensorArg(dOut.ptr(), {B, H, e})};
    rt::Status st = (*decode)->launch(args, {}, nullptr);
    ASSERT_TRUE(st.ok()) << st.message();
    ASSERT_TRUE(ctx.synchronize().ok());
    std::vector<double> got, wantO(B * H * e);
    for (uint16_t x : test::download<uint16_t>(dOut, B * H * e))
      got.push_back(ref::toFloat(x, ht));
    for (int64_t b = 0; b < B; ++b) {
      const int64_t s = batch.stateIndices[b];
      std::vector<double> state(states.begin() + s * H * d * e,
                                states.begin() + (s + 1) * H * d * e),
          out;
      ref::linearAttnRecurrent(&q[b * H * d], &k[b * H * d], &v[b * H * e], 1, H, d, e,
                               batch.slopes, ht, state, out);
      std::copy(state.begin(), state.end(), states.begin() + s * H * d * e);
      std::copy(out.begin(), out.end(), wantO.begin() + b * H * e);
    }
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        EXPECT_LE(headRatio(got, wantO, b, b + 1, H, h, e, outTol(ht), kOutAtol), 1.0)
            << name(c) << ": decode step " << step << " request " << b << " head " << h;
  }
  std::vector<float> gotPool = test::download<float>(dPool, pool.size());
  std::vector<double> gotStates(gotPool.begin(), gotPool.end());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t s = batch.stateIndices[b];
      EXPECT_LE(headRatio(gotStates, states, s, s + 1, H, h, d * e, stateTol(ht), kStateAtol), 1.0)
          << name(c) << ": state of slot " << s << " head " << h << " after the decode steps";
    }
}

INSTANTIATE_TEST_SUITE_P(
    Gpu, LinearAttnPrefillThenDecode,
    ::testing::Values(KeepCase{{kChunk + 6, 1, 2 * kChunk + 2}, 8, 128, 128, jit::DataType::BF16},
                      KeepCase{{3 * kChunk - 5, 17}, 64, 64, 64, jit::DataType::F16}),
    [](const auto &info) { return name(info.param); });

// --- Out-of-range slots and cu_seqlens --------------------------------------------------------

// Slots -1 and slots + 1: those requests' o is 0 and no state is read or written; the other
// requests are unaffected, and slots nobody names keep their bits.
TEST(LinearAttnPrefillGpu, OutOfRangeSlotsWriteZerosAndTouchNoState) {
  DS_REQUIRE_GPU(ctx);
  ref::Rng rng(404);
  ref::LinearAttnBatch batch = makeBatch(rng, {100, 37, kChunk, 5}, 8, 64, 64, ref::Half::BF16, 0);
  const int64_t slots = 6;
  batch.stateIndices = {3, -1, 0, static_cast<int32_t>(slots + 1)};
  batch.hasInitialState = {1, 1, 1, 0};
  std::vector<float> pool = randomPool(rng, slots, batch);
  rt::DeviceBuffer dPool;
  Outputs want;
  checkPrefill(ctx, batch, pool, false, "out-of-range slots", dPool, want);
}

// cu_seqlens = {-7, 70, 9999, 30} over T = 150: request 0 owns [0, 70) (start clamped to 0),
// request 1 [70, 150) (end clamped to T), request 2 nothing (start clamped to T, end below its
// start). Request 2 starts from its slot, so its state must come back unchanged.
TEST(LinearAttnPrefillGpu, CuSeqlensAreClamped) {
  DS_REQUIRE_GPU(ctx);
  ref::Rng rng(505);
  ref::LinearAttnBatch batch = makeBatch(rng, {70, 80}, 8, 64, 64, ref::Half::F16, 1);
  batch.cuSeqlens = {-7, 70, 9999, 30};
  batch.stateIndices = {1, 3, 0};
  batch.hasInitialState = {1, 0, 1};
  std::vector<float> pool = randomPool(rng, 4, batch);
  rt::DeviceBuffer dPool;
  Outputs want;
  checkPrefill(ctx, batch, pool, false, "clamped cu_seqlens", dPool, want);
}

} // namespace
