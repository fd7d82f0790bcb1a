// ds.topk alone, generated through the JIT: the cluster kernel (a row split over 2, 4 or 8 CTAs
// that keep its scores in shared memory and sum their digit counts through distributed shared
// memory; few rows of 16384 < N <= splits * block_tokens) and the one-CTA kernel, under the
// config pass's choice and under explicit configs,
// against the selection rule: the selected scores are exactly the k largest of the row (as a
// multiset, so ties at the threshold may be taken in any order), each position once and in
// range, short rows listed whole and padded with -1, keep_last's last position at k - 1.
#include "codegen/JIT.h"
#include "test/gpu/GpuTestUtil.h"

#include <algorithm>
#include <functional>
#include <set>
#include <string>

using namespace ds;

namespace {

/// StripedHigh / StripedLow: random in [-4, 4), plus 8 where `position % 512 < 128` (StripedHigh)
/// or elsewhere (StripedLow). The one-CTA kernel samples runs of 128 scores at multiples of
/// 4 * floor(n / 128) (2048 for n = 65536), which then see only the high or only the low
/// scores: a threshold that keeps too few keys or too many, and the select's fallback.
enum class Data { Random, FewValues, AllEqual, SignedZeros, StripedHigh, StripedLow };

struct TopKCase {
  std::string name;
  std::vector<int32_t> lens; ///< per request; n_b = min(cdiv(lens[b], divisor), N)
  int64_t heads, N, k, divisor;
  bool keepLast;
  Data data;
  std::string config; ///< empty: the config pass's
};
void PrintTo(const TopKCase &c, std::ostream *os) { *os << c.name; }

float scoreOf(ref::Rng &rng, Data data, int64_t pos) {
  switch (data) {
  case Data::StripedHigh:
  case Data::StripedLow:
    return static_cast<float>(rng.uniform(-4, 4)) +
           (((pos % 512) < 128) == (data == Data::StripedHigh) ? 8.0f : 0.0f);
  case Data::Random:
    return static_cast<float>(rng.uniform(-4, 4));
  case Data::FewValues:
    return static_cast<float>(rng.below(7)) - 3.0f; // heavy ties at every threshold
  case Data::AllEqual:
    return 1.5f;
  case Data::SignedZeros:
    return rng.below(3) == 0 ? 0.25f : (rng.below(2) ? 0.0f : -0.0f);
  }
  return 0;
}

/// Row (b, h)'s selection against the rule; `row` holds its N scores.
void checkRow(const int32_t *sel, const float *row, int64_t nb, int64_t k, bool keepLast,
              const std::string &where) {
  const int64_t keep = std::min(k, nb);
  std::set<int32_t> seen;
  for (int64_t i = 0; i < keep; ++i) {
    ASSERT_TRUE(sel[i] >= 0 && sel[i] < nb) << where << " entry " << i << " = " << sel[i];
    ASSERT_TRUE(seen.insert(sel[i]).second) << where << ": position " << sel[i] << " twice";
  }
  for (int64_t i = keep; i < k; ++i)
    ASSERT_EQ(sel[i], -1) << where << " entry " << i;
  if (nb <= k)
    return; // keep distinct in-range positions = all of them
  int64_t selLen = nb, selK = k;
  if (keepLast) {
    ASSERT_EQ(sel[k - 1], nb - 1) << where << ": the last position is not at k - 1";
    selLen = nb - 1;
    selK = k - 1;
  }
  std::vector<float> want(row, row + selLen), got;
  std::sort(want.begin(), want.end(), std::greater<float>());
  want.resize(selK);
  for (int64_t i = 0; i < selK; ++i) {
    ASSERT_LT(sel[i], selLen) << where << " entry " << i;
    got.push_back(row[sel[i]]);
  }
  std::sort(got.begin(), got.end(), std::greater<float>());
  for (int64_t i = 0; i < selK; ++i)
    ASSERT_EQ(got[i], want[i]) << where << ": the " << i << "-th largest selected score";
}

class TopK : public ::testing::TestWithParam<TopKCase> {};

TEST_P(TopK, SelectsTheLargestScores) {
  DS_REQUIRE_GPU(ctx);
  const TopKCase c = GetParam();
  static jit::JIT jit(ctx);
  const int64_t B = static_cast<int64_t>(c.lens.size()), H = c.heads, N = c.N, k = c.k;
  const std::string h = std::to_string(H), ks = std::to_string(k);
  const std::string in = "tensor<?x" + h + "x?xf32>", out = "tensor<?x" + h + "x" + ks + "xi32>";
  std::string attrs = "k = " + ks + " : i64, divisor = " + std::to_string(c.divisor) + " : i64";
  if (c.keepLast)
    attrs += ", keep_last";
  if (!c.config.empty())
    attrs += ", config = " + c.config;
  const std::string src = "func.func @topk(%s: " + in + " {ds.name = \"scores\"}, %l: "
                          "tensor<?xi32> {ds.name = \"lens\"}) -> " + out + " {\n  %i = ds.topk "
                          "%s, %l {" + attrs + "} : (" + in + ", tensor<?xi32>) -> " + out +
                          "\n  return %i : " + out + "\n}\n";
  auto pipeline = jit.fromSource(src);
  ASSERT_TRUE(pipeline.ok()) << pipeline.message();
  ref::Rng rng(99 + N + k);
  std::vector<float> scores(B * H * N);
  for (size_t i = 0; i < scores.size(); ++i)
    scores[i] = scoreOf(rng, c.data, static_cast<int64_t>(i) % N);
  auto ds = test::upload(ctx, scores), dl = test::upload(ctx, c.lens);
  auto di = test::upload(ctx, std::vector<int32_t>(B * H * k, -7));
  std::vector<rt::TensorArg> args = {rt::TensorArg(ds.ptr(), {B, H, N}),
                                     rt::TensorArg(dl.ptr(), {B}),
                                     rt::TensorArg(di.ptr(), {B, H, k})};
  auto ws = rt::OwnedWorkspace::allocate(**pipeline, args);
  ASSERT_TRUE(ws.ok()) << ws.message();
  ASSERT_TRUE((*pipeline)->launch(args, ws->get(), nullptr).ok());
  ASSERT_TRUE(ctx.synchronize().ok());
  std::vector<int32_t> sel = test::download<int32_t>(di, B * H * k);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t len = std::max<int64_t>(c.lens[b], 0);
    const int64_t nb = std::min((len + c.divisor - 1) / c.divisor, N);
    for (int64_t hh = 0; hh < H; ++hh) {
      const int64_t r = b * H + hh;
      checkRow(&sel[r * k], &scores[r * N], nb, k, c.keepLast,
               c.name + " b=" + std::to_string(b) + " h=" + std::to_string(hh));
      if (::testing::Test::HasFatalFailure())
        return;
    }
  }
}

/// A topk config: `warps` sizes the one-CTA kernels, `clusterWarps` the cluster kernel's CTAs
/// (splits > 1 only).
std::string cfg(int64_t blockTokens, int64_t warps, int64_t splits, int64_t stages,
                int64_t occupancy, int64_t clusterWarps = 0) {
  return "#ds.kernel_config<block_tokens = " + std::to_string(blockTokens) +
         ", warps = " + std::to_string(warps) + ", splits = " + std::to_string(splits) +
         ", stages = " + std::to_string(stages) + ", vector_width = 1, occupancy = " +
         std::to_string(occupancy) + ", cluster_warps = " + std::to_string(clusterWarps) + ">";
}

std::vector<TopKCase> topkCases() {
  // Ragged rows: empty, shorter than k, exactly k, k + 1, part and whole of N.
  const std::vector<int32_t> ragged = {65536, 0, 1023, 1024, 1025, 40001, -5};
  return {
      // The config pass's choice: on sm_90 a cluster of 2 CTAs for 16384 < N <= 65536 when the
      // rows' clusters fit the SMs (here 28 and 6 rows), else one CTA per row.
      {"default_N65536", ragged, 4, 65536, 1024, 1, false, Data::Random, ""},
      {"default_N65536_fewvalues", {65536, 30000}, 3, 65536, 1024, 1, false, Data::FewValues, ""},
      {"default_N65536_allequal", {65536, 2000}, 2, 65536, 1024, 1, true, Data::AllEqual, ""},
      {"default_N20000_zeros", {20000, 500, 17000}, 5, 20000, 128, 1, false, Data::SignedZeros, ""},
      // 96 rows: too many for clusters on 132 SMs, the one-CTA kernel.
      {"default_N65536_manyrows", {65536, 50000, 3}, 32, 65536, 1024, 1, false, Data::Random, ""},
      // The one-CTA kernel's candidate list overflowed by ties (the bucket walked on the row).
      {"default_N65536_manyrows_fewvalues", {65536, 40000, 1025}, 32, 65536, 1024, 1, false,
       Data::FewValues, ""},
      {"splits1_allequal_keeplast", {20000, 4000, 2049}, 3, 20000, 2048, 1, true, Data::AllEqual,
       cfg(1, 32, 1, 1, 0)},
      // Short rows (Quest's pages) and rows longer than 2 * 32768: the one-CTA kernel.
      {"default_N4099_pages", {4099 * 16, 16 * 700 + 3, 16 * 64, 16 * 65 + 1}, 8, 4099, 64, 16, true,
       Data::Random, ""},
      {"default_N70001_fallback", {70001, 65537, 3000}, 2, 70001, 1024, 1, true, Data::Random, ""},
      // Long rows of the one-CTA kernel (96 rows, too many for clusters, under the config pass's
      // choice; then explicit one-CTA configs): one pass over the row with a threshold from a
      // sample, the select on the keys above it; lengths not a multiple of 4 (the last vector
      // masked), at and just below the 16384 from which it samples; N not a multiple of 4 (rows
      // not 16-byte aligned: the two passes); samples that mislead (too few keys above the
      // threshold or too many: the two passes).
      {"default_N70000_sampled", {69999, 65537, 16384, 16383, 40001, 1024, 70000, 33335}, 12, 70000,
       1024, 1, false, Data::Random, ""},
      {"default_N65536_sampled_k100_keeplast", {65536, 65535, 20001}, 32, 65536, 100, 1, true,
       Data::Random, ""},
      {"default_N65536_sampled_zeros", {65536, 30000}, 48, 65536, 512, 1, false,
       Data::SignedZeros, ""},
      {"default_N65538_unaligned", {65538, 65537, 20000}, 32, 65538, 1024, 1, false,
       Data::Random, ""},
      {"default_N65536_sample_sees_high", {65536, 65533}, 48, 65536, 1024, 1, false,
       Data::StripedHigh, ""},
      {"default_N65536_sample_sees_low", {65536, 65533}, 48, 65536, 1024, 1, true,
       Data::StripedLow, ""},
      {"splits1_warps16_sampled", {65536, 50000, 16384}, 8, 65536, 2048, 1, false, Data::Random,
       cfg(1, 16, 1, 1, 0)},
      {"splits1_warps1_sampled", {40000, 39999}, 2, 40000, 300, 1, false, Data::Random,
       cfg(1, 1, 1, 1, 0)},
      // Explicit configs: clusters of 2, 4 and 8, few and many loads in flight, small and large
      // cluster CTAs (their one-CTA kernels of another size), and a block_tokens that sends
      // N = 32769 to the one-CTA kernel (2 warps) beside clusters of 8-warp CTAs.
      {"splits2_clusterwarps4_stages1", {20000, 19999, 333}, 3, 20000, 256, 1, false,
       Data::Random, cfg(16384, 8, 2, 1, 0, 4)},
      {"splits8_clusterwarps32_stages16", {20000, 19999, 4097}, 2, 20000, 1024, 1, true,
       Data::FewValues, cfg(4096, 16, 8, 16, 1, 32)},
      {"splits4_cap8192_fallback", {32769, 32000}, 2, 32769, 100, 1, false, Data::Random,
       cfg(8192, 2, 4, 4, 4, 8)},
      {"splits4_cap8192_fits", {32768, 32767}, 2, 32768, 100, 1, false, Data::FewValues,
       cfg(8192, 2, 4, 4, 4, 8)},
      {"splits1_warps32", {20000, 1500}, 2, 20000, 1024, 1, false, Data::Random,
       cfg(1, 32, 1, 1, 0)},
  };
}

INSTANTIATE_TEST_SUITE_P(Gpu, TopK, ::testing::ValuesIn(topkCases()),
                         [](const auto &info) { return info.param.name; });

} // namespace
