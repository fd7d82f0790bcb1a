// score_topk: label scoring fused with the top-k radix select, ONE kernel.
//
// One CTA per (request b, score row): grid B * Hs. The plan holds up to five variants and
// launches one: with `splits` = C > 1 (sm_90) a thread-block cluster of C CTAs of
// `cluster_warps` warps per row for few long rows (B * Hs * C at most the target's SMs,
// kClusterMinN < N <= C * M; a second cluster kernel, sampled, for N >=
// kClusterSampledMinTokens with k <= kSampledMaxK); else, for B * Hs >= 128,
// `warps * 16` threads (two CTAs per SM; none with warps = 1), keeping the scores (N <=
// min(16384, M)) or sampled (longer N); else `warps * 32` threads, sampled (static B and N build
// only the one they launch). N = max_pages * P, M = block_tokens of the config (48K floats on
// sm_90, kScoreSmemTokens).
// With `channels` the query labels are gathered from q (an absorbed ds.label_gather). A row with
// n_b <= k needs no score (0..n_b-1, then -1). A longer row is scored by LabelScorer (U =
// `stages` tokens per thread and step, `cluster_stages` in the cluster kernels, thread `tid`
// scoring positions tid + m * threads).
//
// Kept scores: straight into dynamic shared memory (min(N, M) floats) while the first radix
// digit's histogram is built, then RadixSelect::selectCompacted reads them back once and
// finishes on its candidate list (RadixSelect.h). Each thread reads back only the positions it
// wrote, so the scores need no barrier of their own; the barriers are the select's.
//
// Sampled (RadixSelect::selectSampledBy): the keys of 4096 positions spread over the row (32
// runs of 128) set a threshold, one scoring walk appends every key at or above it with its
// position to a candidate list in shared memory (8192 entries), and the select finishes on the
// list; no score is stored and the row's labels are read once (plus the sample's). Where the
// list cannot decide (a misleading sample, dense ties) the row is scored again by the two-pass
// select's walks. Rows of up to min(12288, M) to score keep their scores in shared memory as
// above (within the list's 64 KB).
//
// In the cluster variant CTA r of a row's cluster scores positions [r * S, (r + 1) * S) of the
// n_b - keep_last, S = cdiv(n_b - keep_last, C): a row's labels are read by C SMs at once, and
// its scores never leave the chip. With k <= kSampledMaxK, rows of at least
// kClusterSampledMinTokens to score are sampled (RadixSelect::selectClusterSampledBy): the CTAs
// share the sample's keys through distributed shared memory, each lists its slice's keys at or
// above the sample's threshold while scoring, and the first CTA gathers the lists and selects on
// them. Shorter rows, and rows the sample cannot decide, are scored into shared memory as radix
// keys while their first digit is counted, and RadixSelect::selectClusterFilled finishes the
// select over the cluster (the digits' counts summed through distributed shared memory).
//
// Shared memory: static 16 KB histogram (4096 i32) + warp sums + 5 counters (+ the q rows for
// group_reduce = max with many heads); dynamic: kept scores 4 * min(N, M) bytes + the 16 KB
// candidate list; sampled the 64 KB list (+ the page-table entry ring with 16-bit labels, 8 * U
// * threads bytes); the cluster variant: 8.5 KB more static (the cluster select's counts),
// dynamic 4 * min(cdiv(N, C), M) bytes of keys, sampled at least 80 KB (the sample's 16 KB and
// the 64 KB list, in the keys' memory).
#include "codegen/LabelScoring.h"
#include "codegen/Lowering.h"
#include "codegen/RadixSelect.h"
#include "dialect/DSOps.h"
#include "dialect/DSTarget.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

using namespace mlir;
using namespace mlir::ds;

namespace {
/// Rows of at most this many tokens (N = max_pages * P) take the 512-thread variant when there
/// are at least kShortVariantRows rows (B * rows) to run two per SM.
constexpr int64_t kShortRowTokens = 16384;
constexpr int64_t kShortVariantRows = 128;
constexpr int64_t kShortUnroll = 2;
/// Tokens scored per thread and step: 2, or 4 with fp8 / int4 labels (H200, B = 8 and 32, N = 65536:
/// 4 beat 2, 6 and 8 for both formats, e.g. int4 B = 8 208 / 146 / 160 / 161 us).
int64_t tokensPerStep(const LabelScoreShape &shape) { return shape.lowBit() ? 4 : kShortUnroll; }
/// At most this many scores of a row stay in shared memory (48K floats, 192 KB: with the radix
/// histogram within the H100's 227 KB opt-in limit); the config may choose fewer.
constexpr int64_t kScoreSmemTokens = 48 * 1024;
/// CTAs per row of the cluster variant the config pass picks on sm_90, and the row lengths
/// (N = max_pages * P) above which the plan launches it. H200, score_topk alone, one CTA of 1024
/// threads per row / clusters of 2 x 1024 (/ 4 x 1024 / 4 x 512): B = 8, Hkv = 8 shared (64
/// rows) N = 65536 84.9 / 63.8 us, N = 16384 30.0 / 28.6, N = 4096 14.7 / 17.2; B = 1, Hq = 32
/// (32 rows) N = 16384 25.2 / 22.9 (/ 31.7 / 22.8), N = 4096 12.7 / 14.8 (/ 22.9 / 15.2); B = 2,
/// 64 rows, N = 65536 81.9 / 62.2.
constexpr int64_t kClusterCtas = 2;
constexpr int64_t kClusterMinN = 8192;
/// The cluster kernels' CTAs (`cluster_warps`) and tokens scored per thread and step
/// (`cluster_stages`, fields of their own so a sweep can set them apart from the one-CTA
/// kernels' `warps` and `stages`): 1024 threads and tokensPerStep, as the one-CTA kernels. H100,
/// step (us), two rounds each, `cluster_stages` 2 / 1 (16-bit labels): the sampled cluster kernel
/// (N >= kClusterSampledMinTokens) Hkv = 8 shared, B = 8, N = 65536 91.0-91.4 / 90.0-90.2 and B
/// = 2 (64 rows) 89.4-89.6 / 87.2-87.3, but B = 1 (32 rows) 65.2 / 66.0-66.3; the other
/// cluster kernel shared B = 8, N = 16384 53.5-53.6 / 54.1-54.2, B = 1, N = 16384 37.4-37.5 /
/// 38.8-38.9, vAttention B = 1, N = 16384 56.2-56.4 / 57.3-57.7. At two the sampled kernel
/// (64-register cap) spills 40 bytes of stores and 136 of loads per thread (ptxas, sm_90a), at one
/// 4 / 8. 512 threads (`cluster_warps` = 16) at two / four tokens: shared B = 8, N = 65536 98.2-98.5
/// / 96.2, B = 1, N = 65536 79.6-79.7 / 76.1. Low-bit labels, B = 2, N = 65536, 4 / 2 / 1 tokens:
/// fp8 70.2-70.3 / 71.0 / 71.6, int4 59.5-59.6 / 60.0 / 64.4-64.6.
constexpr int64_t kClusterWarps = 32;
/// Static shared memory of the radix select that the score buffer shares the SM with (16 KB of
/// histogram, warp sums and counters, rounded up).
constexpr int64_t kRadixSelectSmemBytes = 17 * 1024;
/// Entries (key, position) of the candidate list the select compacts the threshold's top-digit
/// bucket into, in dynamic shared memory after the scores (8 bytes each).
constexpr int64_t kSelectListEntries = 2048;
/// A scoring walk over a long row reads its page-table entries (16-bit labels) through a ring
/// in shared memory, cp.async'd a step ahead, so a step's label loads wait on no page-table
/// round trip (H200, 16-bit labels, step / score_topk stage: B = 8, N = 65536 224-231 / 185 ->
/// 217 / 178 us, B = 32 838 / 699.5 -> 811 / 672, the kept-scores variant): the sampled variants'
/// listing walk, and the kept-scores long-row variant's walk of rows of more than kRingMinTokens
/// (in its candidate list; with the ring at every length B = 1, N = 4096 was 0.3 us slower and
/// the 512-thread variant's N = 16384 / 4096 rows 0.1-0.9 us slower, so short rows and that
/// variant keep the page-table loads in the loop). Low-bit labels read their entries a step
/// ahead into registers instead.
constexpr int64_t kRingMinTokens = 16384;
/// The sampled variants (k <= kSampledMaxK): a row's keys at or above a sampled threshold go to
/// a candidate list of this many entries (64 KB) while the row is scored; no score is stored.
/// Rows of up to a variant's smallTokens to score keep their scores in shared memory instead:
/// kSampledSmemTokens in the 512-thread variant (48 KB, then a candidate list of
/// kSelectListEntries: the list's 64 KB), kShortRowTokens in the 1024-thread one (64 KB, then the
/// list: the list's and the ring's 80 KB). Keeping more in the 1024-thread variant (up to
/// block_tokens, 208 KB of shared memory at every N) slowed its sampled rows (H100, step: B = 3,
/// N = 65536 0.912 -> 0.936 of the kept-scores variant's time, B = 2, N = 131072 0.714 -> 0.80;
/// less L1 beside that much shared memory is the likely cause, not profiled).
/// The expected list of a 65536-token row, about 2 k + 256 keys, must leave the list room to
/// spare (RadixSelect::selectSampledBy): larger k keep their scores (in a workspace beyond
/// block_tokens).
constexpr int64_t kSampledListEntries = 8192;
constexpr int64_t kSampledSmemTokens = 12288;
constexpr int64_t kSampledMaxK = 2048;
static_assert(4 * kSampledSmemTokens + 8 * kSelectListEntries <= 8 * kSampledListEntries,
              "the short rows' scores and list fit the sampled variant's list");
/// Sample positions the sampled variant scores at once (the sample's loads in flight).
constexpr int64_t kSampleBatch = 2;
/// The sampled cluster kernel (k <= kSampledMaxK): rows of at least this many positions to
/// score take the sampled select over the cluster (RadixSelect::selectClusterSampledBy);
/// shorter ones the cluster select over stored keys. H100, score_topk stage (us), clusters of
/// 2 x 1024, stored keys / sampled from 16384 on: Hkv = 8 shared, B = 8 (64 rows), N = 65536
/// 77.4 / 73.8, 32768 49.3 / 50.1, 16384 32.6 / 34.1; B = 2, Hq = 32 (64 rows), N = 65536 76.0 /
/// 72.7; B = 1, N = 16384 24.6 / 26.0. With the select left out (a temporary hook: a bound, not
/// a select) the shared B = 8, N = 65536 row took 63.7: the sampled select's sample, threshold,
/// list exchange and select on the list are a chain of barriers too, about 10 us against the
/// stored keys' 14. Its shared memory: the sample's keys (kRadixSampleKeys i32), then the list of
/// kSampledListEntries.
constexpr int64_t kClusterSampledMinTokens = 49152;
constexpr int64_t kClusterSampledBytes = 4 * kRadixSampleKeys + 8 * kSampledListEntries;

/// Shared memory of one CTA besides the scores: the radix select's, the candidate list and the
/// query rows when the scorer keeps them there (LabelScoreShape::qShared).
int64_t fixedSmemBytes(ScoreTopKOp s) {
  const LabelScoreShape shape = LabelScoreShape::of(s);
  int64_t qBytes = shape.qShared() ? shape.qRows() * shape.r * 4 : 0;
  return kRadixSelectSmemBytes + 8 * kSelectListEntries + qBytes;
}
} // namespace

namespace {
/// One score_topk kernel of `threads` threads per row, `ctas` CTAs per row (a cluster when > 1),
/// launched over B * rows * ctas CTAs times `gate` (an expression that is 1 for the row lengths
/// and batches this variant serves and 0 otherwise). The one-CTA kernels keep a row's scores in
/// shared memory, the first `capacity` of them, the rest in the workspace `spill` (`maxServedN`,
/// where known, bounds the N (max_pages * P) the variant is launched for: at most `capacity`, no
/// workspace path), or, `sampled`, list the keys at or above a sampled threshold while scoring
/// (rows of up to `smallTokens` to score keep their scores in shared memory instead).
void buildScoreTopK(ScoreTopKOp fused, PlanContext &ctx, int64_t threads, int64_t unroll,
                    int64_t minBlocks, int64_t capacity, int64_t ctas, const PlanExpr &gate,
                    const BufferRef &out, const BufferRef &spill,
                    std::optional<int64_t> maxServedN, bool entryRing, bool sampled,
                    int64_t smallTokens = 0) {
  Operation *op = fused;
  Value ql = fused.getQLabel(), cache = fused.getLabelCache(), pt = fused.getPageTable(),
        sl = fused.getSeqLens();
  const LabelScoreShape shape = LabelScoreShape::of(fused);
  const int64_t k = static_cast<int64_t>(fused.getK());
  const bool keepLast = fused.getKeepLast();
  const int64_t rows = shape.rows(), pageSize = shape.pageSize;
  std::string n = "(" + dimExpr(ctx, pt, 1) + ")*" + std::to_string(pageSize);
  std::string cap = std::to_string(capacity);
  KernelBuilder kb(ctx.kernels, ctx.kernelName("score_topk"), op->getLoc());
  kb.addBuffer(ctx.buffer(ql));
  kb.addBuffer(labelCacheRef(ctx, shape, cache));
  kb.addBuffer(ctx.buffer(pt));
  kb.addBuffer(ctx.buffer(sl));
  kb.addBuffer(out);
  kb.addBuffer(spill);
  Value channels = fused.getChannels();
  if (channels)
    kb.addBuffer(ctx.buffer(channels));
  if (shape.lowBit())
    kb.addBuffer(ctx.buffer(fused.getLabelScales()));
  kb.addI64(dimExpr(ctx, cache, 1)); // S: slots of the label cache
  kb.addI64(dimExpr(ctx, pt, 1));    // max_pages
  if (shape.qShared())
    kb.addI64(std::to_string(shape.qRows())); // g: heads of a group (max), a loop bound
  // Dynamic shared memory: the row's scores, then the select's candidate list; a cluster's CTA
  // keeps its slice's keys only; the sampled variant its candidate list and (16-bit labels) the
  // entry ring after it, or the short rows' scores and their list where those take more.
  const bool sampledRing = sampled && !shape.lowBit();
  // Bytes of `held` kept scores and the candidate list after them.
  auto keptBytes = [&](const std::string &held) {
    return "4*min(" + n + "," + held + ")+" + std::to_string(8 * kSelectListEntries);
  };
  const int64_t sampledBytes = 8 * kSampledListEntries + (sampledRing ? 8 * unroll * threads : 0);
  // The sampled cluster kernel's sample and list share the keys' memory (its fallback's).
  const std::string clusterKeys =
      "4*min(cdiv(" + n + "," + std::to_string(ctas) + ")," + cap + ")";
  std::string smem =
      sampled     ? (ctas > 1 ? "max(" + std::to_string(kClusterSampledBytes) + "," +
                                    clusterKeys + ")"
                              : "max(" + std::to_string(sampledBytes) + "," +
                                    keptBytes(std::to_string(smallTokens)) + ")")
      : ctas == 1 ? keptBytes(cap)
                  : clusterKeys;
  PlanExpr grid = dimPlan(ctx, ql, 0) * rows * ctas * gate;
  kb.begin(threads, grid.text(), "1", "1", smem);
  if (ctas > 1)
    kb.setClusterSize(ctas);
  if (minBlocks > 1)
    kb.setMinBlocksPerSM(minBlocks);
  ImplicitLocOpBuilder &b = kb.b();
  Value slA = kb.arg(3), oA = kb.arg(4), wsA = kb.arg(5);
  unsigned p = 6 + (channels ? 1 : 0) + (shape.lowBit() ? 1 : 0); // the scalars after the buffers
  Value maxPages = kb.toIndex(kb.arg(p + 1));
  LabelScoreArgs args{kb.arg(0), kb.arg(1), kb.arg(2), kb.toIndex(kb.arg(p)), maxPages,
                      shape.qShared() ? kb.toIndex(kb.arg(p + 2)) : Value()};
  if (channels) {
    args.channels = kb.arg(6);
    args.headDim = cast<RankedTensorType>(ql.getType()).getDimSize(2);
  }
  if (shape.lowBit())
    args.labelScales = kb.arg(channels ? 7 : 6);
  LabelScorer scorer(kb, shape, args, threads,
                     configOf(op).getVectorWidth());
  RadixSelect radix(kb, threads);

  Value bid = kb.blockId(gpu::Dimension::x);
  Value rowId = kb.div(bid, kb.c(ctas)), rank = kb.rem(bid, kb.c(ctas));
  Value bIdx = kb.div(rowId, kb.c(rows)), row = kb.rem(rowId, kb.c(rows));
  Value nMax = kb.mul(maxPages, kb.c(pageSize)); // N
  // n_b = clamp(seq_lens[b], 0, N), in 64-bit arithmetic.
  Value nRaw = memref::LoadOp::create(b, slA, ValueRange{bIdx});
  Value nb = kb.minIdx(kb.toIndex(arith::MaxSIOp::create(b, nRaw, kb.ci32(0))), nMax);
  Value outBase = kb.mul(rowId, kb.c(k));

  // Scores the row's positions [begin, end), thread t taking begin + t + m * threads, `unroll`
  // per step, and hands each position < end and its score to `sink` (inside an scf.if).
  auto scoreRange = [&](Value begin, Value end, llvm::function_ref<void(Value, Value)> sink,
                        Value ring = Value()) {
    // With a low-bit cache the page-table entries of a step are read one step ahead
    // (loop-carried), so a step waits for its label loads only, not for a page-table read and
    // then the labels (H200, N = 65536: fp8 B = 8 177.0 -> 170.4 us, B = 32 657 -> 629; int4
    // 146 -> 145, 539 -> 531). 16-bit labels keep the plain loop: there the extra live values
    // cost more than they hide (B = 8 228.6 -> 240.6, B = 32 856 -> 901).
    const bool prefetch = shape.lowBit();
    const bool viaRing = static_cast<bool>(ring); // never with low-bit labels (see `ring`)
    auto positions = [&](Value first) {
      SmallVector<Value> pos;
      for (int64_t u = 0; u < unroll; ++u)
        pos.push_back(kb.add(first, kb.c(u * threads)));
      return pos;
    };
    Value start = kb.add(begin, kb.threadId());
    // With a ring, a step's page-table entries reach shared memory by cp.async a step ahead
    // (two slots of unroll x threads entries; a thread copies and reads only its own), so the
    // label loads wait on no page-table round trip and no register holds the next entries.
    auto ringAt = [&](Value slot, int64_t u) {
      return kb.add(kb.mul(kb.add(kb.mul(slot, kb.c(unroll)), kb.c(u)), kb.c(threads)),
                    kb.threadId());
    };
    auto issueEntries = [&](Value first, Value slot) {
      for (int64_t u = 0; u < unroll; ++u) {
        Value t = kb.add(first, kb.c(u * threads));
        Value in = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, t, end);
        Value tc = arith::SelectOp::create(b, in, t, kb.c(0));
        Value idx = kb.add(kb.mul(bIdx, maxPages), kb.div(tc, kb.c(pageSize)));
        Value n = arith::SelectOp::create(b, in, kb.c(1), kb.c(0));
        nvgpu::DeviceAsyncCopyOp::create(b, nvgpu::DeviceAsyncTokenType::get(b.getContext()),
                                         ring, ValueRange{ringAt(slot, u)}, kb.arg(2),
                                         ValueRange{idx}, b.getIndexAttr(1), n, UnitAttr());
      }
      NVVM::CpAsyncCommitGroupOp::create(b);
    };
    SmallVector<Value> firstPages;
    if (prefetch)
      firstPages = scorer.pages(positions(start), end);
    if (viaRing) {
      issueEntries(start, kb.c(0));
      firstPages.push_back(kb.c(0));
    }
    auto loop = scf::ForOp::create(b, start, end, kb.c(threads * unroll), firstPages);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> pos = positions(loop.getInductionVar());
    SmallVector<Value> next, scores;
    if (viaRing) {
      Value slot = loop.getRegionIterArgs()[0];
      NVVM::CpAsyncWaitGroupOp::create(b, 0);
      SmallVector<Value> pages;
      for (int64_t u = 0; u < unroll; ++u) {
        Value e = memref::LoadOp::create(b, ring, ValueRange{ringAt(slot, u)});
        Value in = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, pos[u], end);
        pages.push_back(arith::SelectOp::create(b, in, e, kb.ci32(-1)));
      }
      Value other = kb.sub(kb.c(1), slot);
      issueEntries(kb.add(loop.getInductionVar(), kb.c(threads * unroll)), other);
      scores = scorer.score(pos, end, pages);
      next.push_back(other);
    } else if (prefetch) {
      next = scorer.pages(positions(kb.add(loop.getInductionVar(), kb.c(threads * unroll))), end);
      SmallVector<Value> carried(loop.getRegionIterArgs().begin(), loop.getRegionIterArgs().end());
      scores = scorer.score(pos, end, carried);
    } else {
      scores = scorer.score(pos, end);
    }
    for (int64_t u = 0; u < unroll; ++u) {
      auto ifIn = scf::IfOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, pos[u], end), false);
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(&ifIn.getThenRegion().front());
      sink(pos[u], scores[u]);
    }
    if (prefetch || viaRing)
      scf::YieldOp::create(b, next);
    if (viaRing) {
      // The copies issued past the row's end (zero-filled) land before the ring is reused.
      b.setInsertionPointAfter(loop);
      NVVM::CpAsyncWaitGroupOp::create(b, 0);
    }
  };

  // The radix keys of a row's positions `pos` (below `end`), scored together: the sampled
  // selects' sample.
  auto keysAt = [&](ArrayRef<Value> pos, Value end) {
    SmallVector<Value> keys;
    for (Value score : scorer.score(pos, end))
      keys.push_back(radix.key(score));
    return keys;
  };
  // A scoring walk over [begin, end) handing body(position, radix key) (scoreRange's ring).
  auto walkKeys = [&](Value begin, Value end, Value ring,
                      llvm::function_ref<void(Value, Value)> body) {
    scoreRange(
        begin, end, [&](Value pos, Value score) { body(pos, radix.key(score)); }, ring);
  };

  // Kept scores: positions < selLen scored into buf (below sp.capacity where the row spills,
  // the rest to its workspace slice), their first digit counted, then the select over them
  // with the candidate list `list` (kSelectListEntries). Rows of more than kRingMinTokens take
  // the page-table entry ring where there is one (a uniform branch).
  auto keepScores = [&](Value buf, Value list, Value selLen, int64_t selK,
                        const RadixSelect::Spill &sp, Value ring) {
    auto sink = [&](Value pos, Value score) {
      if (!sp.buffer) {
        memref::StoreOp::create(b, score, buf, ValueRange{pos});
      } else {
        auto inS = scf::IfOp::create(
            b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, pos, sp.capacity), true);
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(&inS.getThenRegion().front());
        memref::StoreOp::create(b, score, buf, ValueRange{pos});
        b.setInsertionPointToStart(&inS.getElseRegion().front());
        memref::StoreOp::create(b, score, sp.buffer,
                                ValueRange{kb.add(sp.base, kb.sub(pos, sp.capacity))});
      }
      radix.countFirstDigit(radix.key(score));
    };
    if (!ring) {
      scoreRange(kb.c(0), selLen, sink);
    } else {
      auto ifRing = scf::IfOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, selLen, kb.c(kRingMinTokens)),
          true);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(&ifRing.getThenRegion().front());
      scoreRange(kb.c(0), selLen, sink, ring);
      b.setInsertionPointToStart(&ifRing.getElseRegion().front());
      scoreRange(kb.c(0), selLen, sink);
    }
    radix.selectCompacted(buf, kb.c(0), selLen, selK, oA, outBase, list, kSelectListEntries, sp);
  };

  if (ctas > 1) {
    // CTA r of the row's cluster scores positions [r * S, (r + 1) * S) of the n_b - keep_last,
    // S = cdiv(n_b - keep_last, C), into shared memory as keys; the cluster selects from them.
    Value first = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, rank, kb.c(0));
    emitTopKRow(
        kb, threads, oA, outBase, nb, k, keepLast,
        [&](Value selLen, int64_t selK) {
          scorer.loadQuery(bIdx, row);
          Value keys = kb.dynamicShared(
              b.getI32Type(),
              kb.minIdx(kb.div(kb.add(nMax, kb.c(ctas - 1)), kb.c(ctas)), kb.c(capacity)));
          auto [lo, len] = clusterSlice(kb, selLen, rank, ctas);
          auto fill = [&] {
            walkKeys(lo, kb.add(lo, len), Value(), [&](Value pos, Value key) {
              memref::StoreOp::create(b, key, keys, ValueRange{kb.sub(pos, lo)});
              radix.countFirstDigit(key);
            });
          };
          if (!sampled) {
            radix.selectClusterFilled(lo, len, selK, oA, outBase, keys, ctas, fill);
            return;
          }
          // Sampled (rows of at least kClusterSampledMinTokens to score): the slice is scored
          // once to list the keys at or above a threshold that the cluster's shared sample sets.
          Type i32 = b.getI32Type();
          Value sample = kb.dynamicShared(i32, kb.c(kRadixSampleKeys));
          Value list = kb.dynamicShared(i32, kb.c(2 * kSampledListEntries),
                                        kb.c(4 * kRadixSampleKeys));
          radix.selectClusterSampledBy(
              lo, len, selLen, rank, selK, oA, outBase, keys, list, sample, kSampledListEntries,
              ctas, kClusterSampledMinTokens, kSampleBatch,
              [&](ArrayRef<Value> pos) { return keysAt(pos, selLen); },
              [&](llvm::function_ref<void(Value, Value)> body) {
                walkKeys(lo, kb.add(lo, len), Value(), body);
              },
              fill);
        },
        first);
    ctx.addLaunch(kb.finish());
    return;
  }

  if (sampled) {
    // No score is stored: a sample of the row's scores sets a threshold, one scoring walk lists
    // the keys at or above it, and the select finishes on the list; where it cannot (a misleading
    // sample, dense ties, short rows) the row is scored again by the two-pass select's walks.
    emitTopKRow(kb, threads, oA, outBase, nb, k, keepLast, [&](Value selLen, int64_t selK) {
      scorer.loadQuery(bIdx, row);
      Type i32 = b.getI32Type();
      // Rows of up to smallTokens to score: their scores in shared memory (from its start), a
      // candidate list of kSelectListEntries after them, one scoring walk and the select over
      // the stored scores (a uniform branch).
      auto ifSmall = scf::IfOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::ule, selLen, kb.c(smallTokens)), true);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(&ifSmall.getThenRegion().front());
      {
        radix.clearFirstDigit();
        Value held = kb.minIdx(nMax, kb.c(smallTokens));
        Value buf = kb.dynamicShared(b.getF32Type(), held);
        Value cand = kb.dynamicShared(i32, kb.c(2 * kSelectListEntries), kb.mul(held, kb.c(4)));
        keepScores(buf, cand, selLen, selK, {}, Value());
      }
      b.setInsertionPointToStart(&ifSmall.getElseRegion().front());
      Value list = kb.dynamicShared(i32, kb.c(2 * kSampledListEntries));
      Value ring = sampledRing ? kb.dynamicShared(i32, kb.c(2 * unroll * threads),
                                                  kb.c(8 * kSampledListEntries))
                               : Value();
      radix.selectSampledBy(
          selLen, selK, oA, outBase, list, kSampledListEntries, kSampledSmemTokens, kSampleBatch,
          [&](ArrayRef<Value> pos) { return keysAt(pos, selLen); },
          [&](llvm::function_ref<void(Value, Value)> body) {
            walkKeys(kb.c(0), selLen, ring, body);
          },
          [&](llvm::function_ref<void(Value, Value)> body) {
            walkKeys(kb.c(0), selLen, Value(), body);
          });
    });
    ctx.addLaunch(kb.finish());
    return;
  }

  emitTopKRow(kb, threads, oA, outBase, nb, k, keepLast, [&](Value selLen, int64_t selK) {
    scorer.loadQuery(bIdx, row);
    radix.clearFirstDigit();
    Value smemBuf = kb.dynamicShared(b.getF32Type(), kb.minIdx(nMax, kb.c(capacity)));
    Value list = kb.dynamicShared(b.getI32Type(), kb.c(2 * kSelectListEntries),
                                  kb.mul(kb.minIdx(nMax, kb.c(capacity)), kb.c(4)));
    // The candidate list is free until the select: in the variant for long rows it holds the
    // scoring loop's page-table entry ring (16-bit labels; low-bit ones read their entries a step
    // ahead into registers instead).
    Value ring = entryRing && !shape.lowBit() && 2 * unroll * threads <= 2 * kSelectListEntries
                     ? list
                     : Value();
    // A variant launched only for N <= capacity keeps every score in shared memory. Any other
    // scores every row through the workspace-aware path: positions below the capacity to shared
    // memory, the others to the row's slice of the workspace (a row of n_b <= capacity never
    // reaches it). One path, not one per case: the kernel's registers and its compile time are
    // those of one scoring loop and one select (the DS spec's cold compile, 2-core machine: see
    // docs/performance.md).
    if (maxServedN && *maxServedN <= capacity)
      keepScores(smemBuf, list, selLen, selK, {}, ring);
    else
      keepScores(smemBuf, list, selLen, selK,
                 {wsA, kb.mul(rowId, kb.sub(nMax, kb.c(capacity))), kb.c(capacity)}, ring);
  });
  ctx.addLaunch(kb.finish());
}
} // namespace

static LogicalResult lowerScoreTopK(Operation *op, PlanContext &ctx) {
  auto fused = cast<ScoreTopKOp>(op);
  KernelConfigAttr cfg = configOf(op);
  Value ql = fused.getQLabel(), pt = fused.getPageTable();
  const LabelScoreShape shape = LabelScoreShape::of(fused);
  const int64_t k = static_cast<int64_t>(fused.getK());
  const int64_t threads = cfg.getWarps() * 32;
  const int64_t unroll = cfg.getStages();
  const int64_t clusterThreads = cfg.getClusterWarps() * 32;
  const int64_t clusterUnroll = cfg.getClusterStages();
  const int64_t capacity = cfg.getBlockTokens();
  const int64_t rows = shape.rows(), pageSize = shape.pageSize;

  std::string batch = dimExpr(ctx, ql, 0), rowsExpr = std::to_string(rows);
  std::string n = "(" + dimExpr(ctx, pt, 1) + ")*" + std::to_string(pageSize);
  std::string cap = std::to_string(capacity);
  const BufferRef &out = ctx.place(fused.getIndices(), {batch, rowsExpr, std::to_string(k)});

  // Workspace rows for scores beyond the shared-memory capacity: only the kept-scores variant
  // for few long rows uses them (k > kSampledMaxK), and only when N > block_tokens.
  const bool sampling = k <= kSampledMaxK;
  BufferRef spill;
  spill.elementType = Float32Type::get(op->getContext());
  spill.dims = {sampling ? std::string("0")
                         : "(" + batch + ")*" + rowsExpr + "*max(" + n + "-" + cap + ",0)"};
  spill.source = "ws " + ctx.scratch("4*" + spill.numElements());

  // Variants, the plan launching the one whose gate is 1 for the actual N and B (static sizes
  // fold the gates, and a variant whose gate folds to 0 is not built):
  // - with `splits` = C > 1 (sm_90), few long rows on clusters of C CTAs (B * rows * C at most
  //   the target's SMs, kClusterMinN < N <= C * block_tokens), each scoring its slice into
  //   shared memory (CTAs of `cluster_warps`, `cluster_stages` tokens per thread and step);
  // - else many rows (B * rows >= kShortVariantRows) on CTAs of warps / 2 warps (512 threads at
  //   the chosen 32), two per SM, so one row's select overlaps another's scoring: rows of N <=
  //   min(kShortRowTokens, block_tokens) keep their scores in shared memory, longer ones take
  //   the sampled select (none with warps = 1; with k > kSampledMaxK the kept-scores variant
  //   below serves them);
  // - else CTAs of `warps` (more loads in flight per row): sampled, keeping the scores of rows
  //   up to min(kShortRowTokens, block_tokens); with k > kSampledMaxK the kept scores, beyond
  //   block_tokens in the workspace (and a static N <= block_tokens always keeps them).
  // The one-CTA kernels score `stages` tokens per thread and step.
  const PlanExpr rowsTotal = dimPlan(ctx, ql, 0) * rows;
  const PlanExpr N = dimPlan(ctx, pt, 1) * pageSize;
  const int64_t C = cfg.getSplits();
  PlanExpr cluster = 0;
  if (C > 1) {
    FailureOr<TargetAttr> target = requireTarget(op);
    if (failed(target))
      return failure();
    cluster = clusterGate(*target, rowsTotal, N, C, capacity, kClusterMinN);
  }
  const int64_t shortLimit = std::min(kShortRowTokens, capacity);
  const PlanExpr manyRows =
      threads >= 64 ? aboveGate(rowsTotal, kShortVariantRows - 1) : PlanExpr(0);
  const PlanExpr shortRows = atMostGate(N, shortLimit) * manyRows;
  const PlanExpr sampledRows = sampling ? aboveGate(N, shortLimit) * manyRows : PlanExpr(0);
  const PlanExpr notCluster = PlanExpr(1) - cluster;
  const std::optional<int64_t> staticN = N.constant();
  const bool fewSampled = sampling && !(staticN && *staticN <= capacity);
  // Clusters: where k allows, a sampled kernel for N >= kClusterSampledMinTokens (its rows
  // shorter than that take its select over stored keys) and the kernel without sampling for
  // shorter N (the sampled kernel's stored-keys path is about 1 us slower: H100, shared B = 8,
  // N = 32768 49.3 -> 50.5 us, N = 16384 32.6 -> 33.6).
  const PlanExpr longN =
      sampling ? aboveGate(N, kClusterSampledMinTokens - 1) : PlanExpr(0);
  if (PlanExpr gate = cluster * (PlanExpr(1) - longN); gate.constant() != 0)
    buildScoreTopK(fused, ctx, clusterThreads, clusterUnroll, 1, capacity, C, gate, out, spill,
                   staticN, false, false);
  if (PlanExpr gate = cluster * longN; gate.constant() != 0)
    buildScoreTopK(fused, ctx, clusterThreads, clusterUnroll, 1, capacity, C, gate, out, spill,
                   staticN, false, true);
  if (PlanExpr gate = shortRows * notCluster; gate.constant() != 0)
    buildScoreTopK(fused, ctx, threads / 2, unroll, 2, capacity, 1, gate, out, spill,
                   std::min(shortLimit, staticN.value_or(shortLimit)), false, false);
  if (PlanExpr gate = sampledRows * notCluster; gate.constant() != 0)
    buildScoreTopK(fused, ctx, threads / 2, unroll, 2, capacity, 1, gate, out, spill, staticN,
                   false, true, std::min(capacity, kSampledSmemTokens));
  if (PlanExpr gate = (PlanExpr(1) - shortRows - sampledRows) * notCluster;
      gate.constant() != 0)
    buildScoreTopK(fused, ctx, threads, unroll, 1, capacity, 1, gate, out, spill, staticN,
                   /*entryRing=*/!fewSampled, fewSampled, std::min(capacity, kShortRowTokens));
  return success();
}

namespace {
/// What a score_topk's static sizes (B x rows of N = max_pages x page_size) leave of its
/// cluster kernels (lowerScoreTopK's gate).
ClusterReach clusterReachOf(ScoreTopKOp op, TargetAttr target, int64_t ctas, int64_t keysPerCta) {
  const LabelScoreShape shape = LabelScoreShape::of(op);
  const int64_t pages = dimOf(op.getPageTable(), 1);
  return clusterReach(target, StaticRows().times(op.getQLabel(), {0}).times(shape.rows()),
                      ShapedType::isDynamic(pages) ? ShapedType::kDynamic
                                                   : saturatingMul(pages, shape.pageSize),
                      ctas, keysPerCta, kClusterMinN);
}
} // namespace

void mlir::ds::registerScoreTopKFamily() {
  KernelFamily f;
  f.name = "score_topk";
  f.ops = {ScoreTopKOp::getOperationName().str()};
  f.choose = [](Operation *op, TargetAttr target) {
    auto s = cast<ScoreTopKOp>(op);
    // One CTA of 1024 threads per row (the top-k's shape), 2 tokens scored per thread and step
    // (4 with a low-bit cache);
    // block_tokens = scores kept in shared memory, what the target's opt-in shared memory holds
    // beside the radix select, the candidate list and the query rows (longer rows go through a
    // workspace).
    int64_t fit = (target.getSmemPerBlock() - fixedSmemBytes(s)) / 4;
    int64_t capacity = std::max<int64_t>(std::min(kScoreSmemTokens, fit / 1024 * 1024), 1024);
    const LabelScoreShape shape = LabelScoreShape::of(s);
    // Few long rows (B * rows * C <= SMs) are split over clusters of C CTAs on sm_90, whose
    // CTAs take the one-CTA kernels' shape; without clusters their fields are unused (0).
    const ChipInfo *chip = lookupChip(target.getChip());
    bool clusters = chip && chip->version >= 90;
    const int64_t tokens = tokensPerStep(shape);
    // Static sizes may rule either kind of kernel out: no cluster where no launch takes one
    // (splits = 1), and where every launch does, the one-CTA kernels' `warps` and `stages` are
    // neutral (1).
    const ClusterReach reach = clusterReachOf(s, target, kClusterCtas, capacity);
    clusters = clusters && reach.field.empty();
    const bool always = clusters && reach.always;
    return KernelConfigAttr::get(op->getContext(), capacity, always ? 1 : 32,
                                 clusters ? kClusterCtas : 1, always ? 1 : tokens,
                                 shape.vectorWidth(), "", 0, 0, clusters ? kClusterWarps : 0,
                                 clusters ? tokens : 0);
  };
  f.verify = [](Operation *op, KernelConfigAttr cfg, TargetAttr target) -> LogicalResult {
    auto s = cast<ScoreTopKOp>(op);
    const int64_t C = cfg.getSplits();
    const unsigned used = kUseBlockTokens | kUseWarps | kUseSplits | kUseStages | kUseVectorWidth |
                          (C > 1 ? kUseClusterWarps | kUseClusterStages : 0u);
    if (failed(verifyClusterSplits(op, cfg, target, /*clusterWarps=*/true)) ||
        failed(verifyUnusedConfigFields(op, cfg, used)) || failed(verifyRadixSelectWarps(op, cfg)))
      return failure();
    if (C > 1 && failed(verifyRadixSelectWarps(op, "cluster_warps", cfg.getClusterWarps())))
      return failure();
    for (auto [field, value] : {std::pair<StringRef, int64_t>{"stages", cfg.getStages()},
                                {"cluster_stages", C > 1 ? cfg.getClusterStages() : 1}})
      if (value < 1 || value > 8)
        return configError(op, field) << "(tokens scored per thread and step) must be in [1, 8], got "
                                      << value;
    int64_t bytes = 4 * cfg.getBlockTokens() + fixedSmemBytes(s);
    if (bytes > target.getSmemPerBlock())
      return configError(op, "block_tokens")
             << "(" << cfg.getBlockTokens() << " scores in shared memory) needs " << bytes
             << " bytes of shared memory per block with the select's, the target has "
             << target.getSmemPerBlock();
    if (s.getK() > uint64_t(kMaxTopK))
      return op->emitOpError("GPU lowering supports k <= 2^30");
    // The lowering builds no kernel that static sizes rule out: a cluster no launch takes is
    // refused, and where every launch takes it, the one-CTA kernels' fields must be neutral.
    if (C > 1) {
      const ClusterReach reach = clusterReachOf(s, target, C, cfg.getBlockTokens());
      if (!reach.field.empty())
        return configError(op, reach.field) << reach.why;
      if (reach.always &&
          failed(verifyUnusedConfigFields(op, cfg, ~unsigned(kUseWarps | kUseStages),
                                          "every launch of these sizes takes the cluster kernel")))
        return failure();
    }
    return verifyLabelConfig(op, cfg, LabelScoreShape::of(s));
  };
  f.lower = lowerScoreTopK;
  registerKernelFamily(std::move(f));
}
