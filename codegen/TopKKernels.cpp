// topk: indices of the k largest scores of every ragged row, by radix select (no sort).
//
// Up to three kernels, and the plan launches the one that serves the row length N (all exist
// when N is dynamic; a static N builds only its own):
// - the cluster kernel (`splits` = C > 1, sm_90): a thread-block cluster of C CTAs of
//   `cluster_warps * 32` threads per row (b, h), CTA r holding the positions
//   [r * S, (r + 1) * S) of the row's n_b - keep_last, S = cdiv(n_b - keep_last, C). Its scores
//   are read from global memory once, kept in shared memory as keys (`block_tokens` of them at
//   most), and the digits are counted per CTA and summed over the cluster through distributed
//   shared memory (RadixSelect::selectCluster). It serves rows of 16384 < N <= C * block_tokens
//   positions when there are few rows (B * H * C at most the target's SMs);
// - the one-CTA kernel (`splits` = 1, or the other rows): one CTA of `warps * 32` threads per
//   row, two passes over the row in global memory (RadixSelect::selectTwoPass): the first counts
//   the top digit, the second writes the keys above its threshold bucket and compacts the bucket
//   into a candidate list in shared memory, on which the last two digits and the ties are
//   settled (the row is walked again only when the bucket overflows the list). With
//   N >= kSampledMinLen a second form of it tries first to read a row once
//   (RadixSelect::selectSampled): a threshold from a sample of the row, one pass listing the
//   keys at or above it, the select on the list; its rows that are short, not 16-byte aligned,
//   or whose sample misled take the two passes.
// A row with n_b <= k lists 0..n_b-1 and pads with -1; with keep_last, index n_b - 1 goes to
// position k - 1 and the select takes k - 1 among the first n_b - 1 positions.
#include "codegen/Lowering.h"
#include "codegen/RadixSelect.h"
#include "dialect/DSOps.h"
#include "dialect/DSTarget.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::ds;

namespace {
/// Static shared memory of the cluster kernel beside its keys: the radix select's (16 KB of
/// histogram, warp sums, counters) and the counts of digits 2 and 3 with the group sums
/// (8.5 KB), rounded up.
constexpr int64_t kClusterFixedSmemBytes = 25 * 1024;
/// Entries (key, position) of the one-CTA kernel's candidate list (dynamic shared memory, at most
/// 64 KB): the threshold's top-digit bucket, compacted by the select's second pass. Uniform
/// scores in (-4, 4) put about 2048 of 65536 in the bucket of the 1024th largest (a top digit
/// spans an eighth of an octave).
constexpr int64_t kListEntries = 8192;
/// The radix select's static shared memory (16 KB of histogram, warp sums, counters), rounded up.
constexpr int64_t kSelectStaticSmem = 17 * 1024;
/// Loads in flight per thread in the one-CTA kernel's passes over the row (H200, ds-bench
/// --suite=topk, 4 / 8 / 16: 256 x 65536 66.5 / 61.3 / 60.7 us, 32 x 2048 7.4 / 8.0 / 9.5,
/// 256 x 2048 9.9 / 13.4 / 16.2 (no spills at 8: 48 registers against 42): more pay on long
/// rows and cost Quest's short page rows more).
constexpr int64_t kRowLoadsInFlight = 4;
/// Rows of at least this many positions first try the one-pass select on a sampled threshold
/// (RadixSelect::selectSampled); shorter ones (Quest's pages) take the two passes.
constexpr int64_t kSampledMinLen = 16384;
/// Keys a CTA of the cluster kernel keeps at most (128 KB, one CTA of 1024 threads per SM).
constexpr int64_t kClusterKeys = 32768;
/// Warps per CTA of the one-CTA kernels and of the cluster kernel on sm_90 (registerTopKFamily).
constexpr int64_t kOneCtaWarps = 16, kClusterWarps = 32;
/// Rows of at most this many positions take the one-CTA kernel (H200, 32 rows: N = 2048 7.6 us
/// on one CTA per row against 11.8 on clusters of 2; N = 16384 level, 15.6 / 15.3).
constexpr int64_t kClusterMinN = 16384;

struct TopKShape {
  PlanExpr batch, heads, n; // constants where static
};

/// The kernel over the B * H rows, `ctas` CTAs per row (1: the one-CTA kernel); the launch
/// multiplies its grid by `gate`, an expression that is 1 for the rows it serves and 0 otherwise.
void buildTopK(TopKOp topk, PlanContext &ctx, TargetAttr target, const TopKShape &shape,
               const BufferRef &out, int64_t ctas, bool sampled, const PlanExpr &gate) {
  KernelConfigAttr cfg = configOf(topk);
  const int64_t k = static_cast<int64_t>(topk.getK());
  const int64_t divisor = static_cast<int64_t>(topk.getDivisor());
  const bool keepLast = topk.getKeepLast();
  const int64_t threads = (ctas == 1 ? cfg.getWarps() : cfg.getClusterWarps()) * 32;
  const int64_t cap = cfg.getBlockTokens();

  KernelBuilder kb(ctx.kernels, ctx.kernelName("topk"), topk->getLoc());
  kb.addBuffer(ctx.buffer(topk.getScores()));
  kb.addBuffer(ctx.buffer(topk.getLens()));
  kb.addBuffer(out);
  kb.addI64(shape.heads.text());
  kb.addI64(shape.n.text());
  PlanExpr grid = shape.batch * shape.heads * ctas * gate;
  // The one-CTA kernel's candidate list: min(N, listCap) (key, position) pairs, listCap =
  // kListEntries or what the target's shared memory holds beside the select's static 17 KB (a
  // target may declare as little as 48 KB per block); a cluster's CTA keeps its slice's keys.
  const int64_t listCap =
      std::min<int64_t>(kListEntries, (target.getSmemPerBlock() - kSelectStaticSmem) / 8);
  std::string smem =
      (ctas == 1 ? 8 * min(shape.n, listCap) : 4 * min(cdiv(shape.n, ctas), cap)).text();
  kb.begin(threads, grid.text(), "1", "1", smem);
  ImplicitLocOpBuilder &b = kb.b();
  // The sampling kernel's shared memory (17 KB + a 64 KB list) leaves room for two CTAs per SM:
  // with at most 512 threads its registers are capped so that two fit.
  if (ctas == 1 && sampled && threads <= 512)
    kb.setMinBlocksPerSM(2);
  if (ctas > 1) {
    kb.setClusterSize(ctas);
    if (cfg.getOccupancy() > 0)
      kb.setMinBlocksPerSM(cfg.getOccupancy());
  }
  Value sA = kb.arg(0), lA = kb.arg(1), oA = kb.arg(2);
  Value hV = kb.toIndex(kb.arg(3)), nV = kb.toIndex(kb.arg(4));
  RadixSelect radix(kb, threads);

  Value bid = kb.blockId(gpu::Dimension::x);
  Value row = kb.div(bid, kb.c(ctas)), rank = kb.rem(bid, kb.c(ctas));
  Value bIdx = kb.div(row, hV);
  // n_b = clamp(cdiv(lens[b], divisor), 0, N), in 64-bit arithmetic.
  Value len = kb.toIndex(arith::MaxSIOp::create(b, memref::LoadOp::create(b, lA, ValueRange{bIdx}),
                                                kb.ci32(0)));
  Value nb = kb.minIdx(kb.div(kb.add(len, kb.c(divisor - 1)), kb.c(divisor)), nV);
  // The row's length from a pipeline input is read while the previous kernel (the one writing
  // the scores) drains; the scores only after the wait.
  if (ctx.isReadOnlyInput(topk.getLens()))
    kb.dependencyWait();
  Value outBase = kb.mul(row, kb.c(k)), rowBase = kb.mul(row, nV);
  if (ctas == 1) {
    Value list = kb.dynamicShared(b.getI32Type(), kb.mul(kb.minIdx(nV, kb.c(listCap)), kb.c(2)));
    emitTopKRow(kb, threads, oA, outBase, nb, k, keepLast, [&](Value selLen, int64_t selK) {
      // A list of min(N, listCap) entries: a bucket of a row never holds more than N.
      if (sampled)
        radix.selectSampled(sA, rowBase, selLen, nV, selK, oA, outBase, list, listCap,
                            kRowLoadsInFlight, kSampledMinLen);
      else
        radix.selectTwoPass(sA, rowBase, selLen, selK, oA, outBase, list, listCap,
                            kRowLoadsInFlight);
    });
  } else {
    Value keys = kb.dynamicShared(b.getI32Type(), kb.minIdx(kb.div(kb.add(nV, kb.c(ctas - 1)),
                                                                   kb.c(ctas)),
                                                            kb.c(cap)));
    Value first = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, rank, kb.c(0));
    emitTopKRow(
        kb, threads, oA, outBase, nb, k, keepLast,
        [&](Value selLen, int64_t selK) {
          auto [lo, n] = clusterSlice(kb, selLen, rank, ctas);
          radix.selectCluster(sA, rowBase, lo, n, selK, oA, outBase, keys, ctas,
                              cfg.getStages());
        },
        first);
  }
  ctx.addLaunch(kb.finish());
}

LogicalResult lowerTopK(Operation *op, PlanContext &ctx) {
  auto topk = cast<TopKOp>(op);
  KernelConfigAttr cfg = configOf(op);
  Value scores = topk.getScores();
  const int64_t k = static_cast<int64_t>(topk.getK());
  TopKShape shape{dimPlan(ctx, scores, 0), dimPlan(ctx, scores, 1), dimPlan(ctx, scores, 2)};
  const BufferRef &out = ctx.place(
      topk.getIndices(), {dimExpr(ctx, scores, 0), dimExpr(ctx, scores, 1), std::to_string(k)});
  const int64_t C = cfg.getSplits();
  // The cluster kernel serves rows of kClusterMinN < N <= C * block_tokens positions when the
  // rows' clusters fit one CTA per SM (B * H * C <= the target's SMs): with more rows the one-CTA
  // kernel keeps every SM busy without the clusters' barriers. Static sizes fold the gate; a
  // kernel whose gate folds to 0 is not built.
  FailureOr<TargetAttr> target = requireTarget(op);
  if (failed(target))
    return failure();
  const PlanExpr cluster =
      C > 1 ? clusterGate(*target, shape.batch * shape.heads, shape.n, C, cfg.getBlockTokens(),
                          kClusterMinN)
            : PlanExpr(0);
  if (cluster.constant() != 0)
    buildTopK(topk, ctx, *target, shape, out, C, /*sampled=*/false, cluster);
  // The other rows take the one-CTA kernel: with N >= kSampledMinLen its sampling form (whose
  // rows shorter than that still take the two passes), else the two-pass form alone.
  const PlanExpr oneCta = PlanExpr(1) - cluster, longRows = aboveGate(shape.n, kSampledMinLen - 1);
  if (PlanExpr gate = oneCta * longRows; gate.constant() != 0)
    buildTopK(topk, ctx, *target, shape, out, 1, /*sampled=*/true, gate);
  if (PlanExpr gate = oneCta * (PlanExpr(1) - longRows); gate.constant() != 0)
    buildTopK(topk, ctx, *target, shape, out, 1, /*sampled=*/false, gate);
  return success();
}
} // namespace

namespace {
/// What a topk's static sizes (B x H rows of N) leave of its cluster kernel (lowerTopK's gate).
ClusterReach clusterReachOf(TopKOp op, TargetAttr target, int64_t ctas, int64_t keysPerCta) {
  Value scores = op.getScores();
  return clusterReach(target, StaticRows().times(scores, {0, 1}), dimOf(scores, 2), ctas,
                      keysPerCta, kClusterMinN);
}
} // namespace

void mlir::ds::registerTopKFamily() {
  KernelFamily f;
  f.name = "topk";
  f.ops = {TopKOp::getOperationName().str()};
  // One CTA per row: 512 threads on sm_90 (two per SM: the sampled pass's registers are capped
  // for two, its 17 KB + 64 KB of shared memory fit twice), 1024 elsewhere (not measured at
  // 512). With clusters (sm_90) few long rows are each split over 2 CTAs of 1024 threads, each
  // keeping up to 32768 keys (128 KB) in shared memory with 16 loads in flight per thread.
  // Measured on the H200 (ds-bench --op=topk, N = 65536, k = 1024, one CTA per row / this
  // cluster / 4 x 512 threads / 8 x 256): 32 rows 46.1 / 26.2 / 26.0 / 24.9 us, 64 rows 46.9 /
  // 27.7 / 42.0 / 42.4, 256 rows 91.4 / 98.2 / 106.1 / 126.8 (hence the one-CTA kernel there;
  // these one-CTA figures predate its two-pass select, 256 rows 66.5). One-CTA kernel, 1024 /
  // 512 threads (ds-bench --suite=topk): 256 x 65536 39.3 / 34.4 us, 256 x 2048 9.8 / 9.0; the
  // cluster kernel at 512 threads slowed 32 and 64 rows of 65536 from 26.0 / 27.6 to 32.4 /
  // 33.6 us, hence a CTA size of its own.
  // Static sizes may rule either kernel out: no cluster where no launch takes one (splits = 1),
  // and where every launch does, the one-CTA kernel's `warps` is neutral (1).
  f.choose = [](Operation *op, TargetAttr target) {
    const ChipInfo *chip = lookupChip(target.getChip());
    // Keys per CTA: kClusterKeys, or fewer: whole thousands that the target's shared memory holds.
    const int64_t fit = (target.getSmemPerBlock() - kClusterFixedSmemBytes) / 4 / 1024 * 1024;
    const int64_t cap = std::min<int64_t>(kClusterKeys, fit);
    if (chip && chip->version >= 90 && cap >= 1024) {
      const ClusterReach reach = clusterReachOf(cast<TopKOp>(op), target, 2, cap);
      if (reach.field.empty())
        return KernelConfigAttr::get(op->getContext(), cap, reach.always ? 1 : kOneCtaWarps, 2,
                                     16, 1, "", 0, 0, kClusterWarps);
      return KernelConfigAttr::get(op->getContext(), 1, kOneCtaWarps, 1, 1, 1);
    }
    return KernelConfigAttr::get(op->getContext(), 1, 32, 1, 1, 1);
  };
  f.verify = [](Operation *op, KernelConfigAttr cfg, TargetAttr target) -> LogicalResult {
    const int64_t C = cfg.getSplits();
    if (failed(verifyClusterSplits(op, cfg, target, /*clusterWarps=*/true)))
      return failure();
    const unsigned used = C == 1 ? unsigned(kUseWarps)
                                 : unsigned(kUseWarps | kUseSplits | kUseBlockTokens |
                                            kUseStages | kUseOccupancy | kUseClusterWarps);
    if (failed(verifyUnusedConfigFields(op, cfg, used)) || failed(verifyRadixSelectWarps(op, cfg)))
      return failure();
    if (C > 1 && failed(verifyRadixSelectWarps(op, "cluster_warps", cfg.getClusterWarps())))
      return failure();
    if (cast<TopKOp>(op).getK() > uint64_t(kMaxTopK))
      return op->emitOpError("GPU lowering supports k <= 2^30");
    if (C == 1)
      return success();
    if (cfg.getStages() < 1 || cfg.getStages() > 16)
      return configError(op, "stages") << "(score loads in flight per thread) must be in [1, 16], "
                                       << "got " << cfg.getStages();
    const int64_t cap = cfg.getBlockTokens();
    if (cap < 1 || 4 * cap + kClusterFixedSmemBytes > target.getSmemPerBlock())
      return configError(op, "block_tokens")
             << "(keys per CTA in shared memory) must be in [1, "
             << (target.getSmemPerBlock() - kClusterFixedSmemBytes) / 4 << "] on "
             << target.getChip() << ", got " << cap;
    if (cfg.getOccupancy() * cfg.getClusterWarps() * 32 > 2048)
      return configError(op, "occupancy")
             << "(CTAs per SM the cluster kernel's registers are capped for) times its "
             << cfg.getClusterWarps() * 32 << " threads must be at most 2048, got "
             << cfg.getOccupancy();
    // The lowering builds no kernel that static sizes rule out: a cluster no launch takes is
    // refused, and where every launch takes it, the one-CTA kernel's `warps` must be neutral.
    const ClusterReach reach = clusterReachOf(cast<TopKOp>(op), target, C, cap);
    if (!reach.field.empty())
      return configError(op, reach.field) << reach.why;
    if (reach.always)
      return verifyUnusedConfigFields(op, cfg, ~unsigned(kUseWarps),
                                      "every launch of these sizes takes the cluster kernel");
    return success();
  };
  f.lower = lowerTopK;
  registerKernelFamily(std::move(f));
}
