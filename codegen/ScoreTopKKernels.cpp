// score_topk: label scoring fused with the top-k radix select, ONE kernel.
//
// One CTA per (request b, score row): grid B * Hs. The plan holds two variants and launches one:
// 512 threads (two CTAs per SM) for N <= 16384 and B * Hs >= 128, else `warps * 32` threads.
// With `channels` the query labels are gathered from q (an absorbed ds.label_gather). A row with
// n_b <= k needs no score (0..n_b-1, then -1). A longer row is scored straight into a per-row
// buffer while the first radix digit's histogram is built (LabelScorer, U = `stages` tokens per
// thread and step, thread `tid` scoring positions tid + m * threads), then
// RadixSelect::selectCompacted reads the scores back once and finishes on its candidate list
// (RadixSelect.h). The buffer is the kernel's dynamic shared memory, min(N, C) floats with
// N = max_pages * P and C = block_tokens of the config (48K floats on sm_90, kScoreSmemTokens); a
// longer row keeps its first C scores there and the other n_b - C in its slice of a workspace
// [B, Hs, N - C] f32, which the plan sizes 0 unless N > C. Each thread reads back only the
// positions it wrote, so the scores need no barrier of their own; the barriers are the select's.
//
// Shared memory: static 16 KB histogram (4096 i32) + warp sums + 5 counters (+ the q rows for
// group_reduce = max with many heads), dynamic 4 * min(N, C) bytes of scores + the 16 KB
// candidate list.
#include "codegen/LabelScoring.h"
#include "codegen/Lowering.h"
#include "codegen/RadixSelect.h"
#include "dialect/DSOps.h"

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
/// Static shared memory of the radix select that the score buffer shares the SM with (16 KB of
/// histogram, warp sums and counters, rounded up).
constexpr int64_t kRadixSelectSmemBytes = 17 * 1024;
/// Entries (key, position) of the candidate list the select compacts the threshold's top-digit
/// bucket into, in dynamic shared memory after the scores (8 bytes each).
constexpr int64_t kSelectListEntries = 2048;

/// Shared memory of one CTA besides the scores: the radix select's, the candidate list and the
/// query rows when the scorer keeps them there (LabelScoreShape::qShared).
int64_t fixedSmemBytes(ScoreTopKOp s) {
  const LabelScoreShape shape = LabelScoreShape::of(s);
  int64_t qBytes = shape.qShared() ? shape.qRows() * shape.r * 4 : 0;
  return kRadixSelectSmemBytes + 8 * kSelectListEntries + qBytes;
}
} // namespace

namespace {
/// One score_topk kernel of `threads` threads per row, launched over B * rows CTAs times `gate`
/// (an expression that is 1 for the row lengths this variant serves and 0 otherwise).
void buildScoreTopK(ScoreTopKOp fused, PlanContext &ctx, int64_t threads, int64_t unroll,
                    int64_t minBlocks, int64_t capacity, const std::string &gate,
                    const BufferRef &out, const BufferRef &spill) {
  Operation *op = fused;
  Value ql = fused.getQLabel(), cache = fused.getLabelCache(), pt = fused.getPageTable(),
        sl = fused.getSeqLens();
  const LabelScoreShape shape = LabelScoreShape::of(fused);
  const int64_t k = static_cast<int64_t>(fused.getK());
  const bool keepLast = fused.getKeepLast();
  const int64_t rows = shape.rows(), pageSize = shape.pageSize;
  std::string batch = dimExpr(ctx, ql, 0), rowsExpr = std::to_string(rows);
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
  // Dynamic shared memory: the row's scores, then the select's candidate list.
  kb.begin(threads, "(" + batch + ")*" + rowsExpr + "*" + gate, "1", "1",
           "4*min(" + n + "," + cap + ")+" + std::to_string(8 * kSelectListEntries));
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
  Value bIdx = kb.div(bid, kb.c(rows)), row = kb.rem(bid, kb.c(rows));
  Value nMax = kb.mul(maxPages, kb.c(pageSize)); // N
  // n_b = clamp(seq_lens[b], 0, N), in 64-bit arithmetic.
  Value nRaw = memref::LoadOp::create(b, slA, ValueRange{bIdx});
  Value nb = kb.minIdx(kb.toIndex(arith::MaxSIOp::create(b, nRaw, kb.ci32(0))), nMax);
  Value outBase = kb.mul(bid, kb.c(k));

  emitTopKRow(kb, threads, oA, outBase, nb, k, keepLast, [&](Value selLen, int64_t selK) {
    scorer.loadQuery(bIdx, row);
    radix.clearFirstDigit();
    // Scores of positions < sel_len into buf[base + t], counting their first digit, then the
    // select over them.
    Value smemBuf = kb.dynamicShared(b.getF32Type(), kb.minIdx(nMax, kb.c(capacity)));
    Value list = kb.dynamicShared(b.getI32Type(), kb.c(2 * kSelectListEntries),
                                  kb.mul(kb.minIdx(nMax, kb.c(capacity)), kb.c(4)));
    auto scoreAndSelect = [&](Value buf, Value base, const RadixSelect::Spill &sp) {
      // With a low-bit cache the page-table entries of a step are read one step ahead
      // (loop-carried), so a step waits for its label loads only, not for a page-table read and
      // then the labels (H200, N = 65536: fp8 B = 8 177.0 -> 170.4 us, B = 32 657 -> 629; int4
      // 146 -> 145, 539 -> 531). 16-bit labels keep the plain loop: there the extra live values
      // cost more than they hide (B = 8 228.6 -> 240.6, B = 32 856 -> 901).
      const bool prefetch = shape.lowBit();
      auto positions = [&](Value first) {
        SmallVector<Value> pos;
        for (int64_t u = 0; u < unroll; ++u)
          pos.push_back(kb.add(first, kb.c(u * threads)));
        return pos;
      };
      SmallVector<Value> firstPages;
      if (prefetch)
        firstPages = scorer.pages(positions(kb.threadId()), selLen);
      auto loop = scf::ForOp::create(b, kb.threadId(), selLen, kb.c(threads * unroll), firstPages);
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(loop.getBody());
        SmallVector<Value> pos = positions(loop.getInductionVar());
        SmallVector<Value> next, scores;
        if (prefetch) {
          next = scorer.pages(positions(kb.add(loop.getInductionVar(), kb.c(threads * unroll))),
                              selLen);
          SmallVector<Value> carried(loop.getRegionIterArgs().begin(),
                                     loop.getRegionIterArgs().end());
          scores = scorer.score(pos, selLen, carried);
        } else {
          scores = scorer.score(pos, selLen);
        }
        for (int64_t u = 0; u < unroll; ++u) {
          auto ifIn = scf::IfOp::create(
              b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, pos[u], selLen), false);
          OpBuilder::InsertionGuard inner(b);
          b.setInsertionPointToStart(&ifIn.getThenRegion().front());
          if (!sp.buffer) {
            memref::StoreOp::create(b, scores[u], buf, ValueRange{kb.add(base, pos[u])});
          } else {
            auto inS = scf::IfOp::create(
                b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, pos[u], sp.capacity), true);
            OpBuilder::InsertionGuard g2(b);
            b.setInsertionPointToStart(&inS.getThenRegion().front());
            memref::StoreOp::create(b, scores[u], buf, ValueRange{kb.add(base, pos[u])});
            b.setInsertionPointToStart(&inS.getElseRegion().front());
            memref::StoreOp::create(b, scores[u], sp.buffer,
                                    ValueRange{kb.add(sp.base, kb.sub(pos[u], sp.capacity))});
          }
          radix.countFirstDigit(radix.key(scores[u]));
        }
        if (prefetch)
          scf::YieldOp::create(b, next);
      }
      radix.selectCompacted(buf, base, selLen, selK, oA, outBase, list, kSelectListEntries, sp);
    };
    Value inSmem = arith::CmpIOp::create(b, arith::CmpIPredicate::ule, nb, kb.c(capacity));
    auto ifSmem = scf::IfOp::create(b, inSmem, true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifSmem.getThenRegion().front());
    scoreAndSelect(smemBuf, kb.c(0), {});
    // A longer row keeps its first C scores in shared memory and the rest in its workspace row.
    b.setInsertionPointToStart(&ifSmem.getElseRegion().front());
    scoreAndSelect(smemBuf, kb.c(0),
                   {wsA, kb.mul(bid, kb.sub(nMax, kb.c(capacity))), kb.c(capacity)});
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
  const int64_t capacity = cfg.getBlockTokens();
  const int64_t rows = shape.rows(), pageSize = shape.pageSize;

  std::string batch = dimExpr(ctx, ql, 0), rowsExpr = std::to_string(rows);
  std::string n = "(" + dimExpr(ctx, pt, 1) + ")*" + std::to_string(pageSize);
  std::string cap = std::to_string(capacity);
  const BufferRef &out = ctx.place(fused.getIndices(), {batch, rowsExpr, std::to_string(k)});
  // Workspace rows for scores beyond the shared-memory capacity: only when N > C.
  BufferRef spill;
  spill.elementType = Float32Type::get(op->getContext());
  spill.dims = {"(" + batch + ")*" + rowsExpr + "*max(" + n + "-" + cap + ",0)"};
  spill.source = "ws " + ctx.scratch("4*" + spill.numElements());

  // Many short rows run 512-thread CTAs, two per SM, so one row's select overlaps another's
  // scoring; long rows, or few rows, run 1024-thread CTAs (more loads in flight per row). The
  // plan launches the one whose gate is 1 for the actual N and B.
  std::string shortN = "min(max(" + std::to_string(kShortRowTokens + 1) + "-" + n + ",0),1)";
  std::string manyRows = "min(max((" + batch + ")*" + rowsExpr + "-" +
                         std::to_string(kShortVariantRows - 1) + ",0),1)";
  std::string shortRows = "(" + shortN + "*" + manyRows + ")";
  std::string longRows = "(1-" + shortRows + ")";
  // Static B and N decide here which variant exists at all.
  const int64_t staticB = cast<RankedTensorType>(ql.getType()).getDimSize(0);
  const int64_t staticPages = cast<RankedTensorType>(pt.getType()).getDimSize(1);
  const bool known = !ShapedType::isDynamic(staticB) && !ShapedType::isDynamic(staticPages);
  const bool useShort = staticPages * pageSize <= kShortRowTokens && staticB * rows >= kShortVariantRows;
  // Low-bit labels are fewer bytes per token: the short variant scores more tokens per step too.
  const int64_t shortUnroll = tokensPerStep(shape);
  if (!known || useShort)
    buildScoreTopK(fused, ctx, std::min<int64_t>(threads, 512), shortUnroll, 2, capacity,
                   known ? "1" : shortRows, out, spill);
  if (!known || !useShort)
    buildScoreTopK(fused, ctx, threads, unroll, 1, capacity, known ? "1" : longRows, out, spill);
  return success();
}

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
    return KernelConfigAttr::get(op->getContext(), capacity, 32, 1, tokensPerStep(shape),
                                 shape.vectorWidth());
  };
  f.verify = [](Operation *op, KernelConfigAttr cfg, TargetAttr target) -> LogicalResult {
    auto s = cast<ScoreTopKOp>(op);
    if (failed(verifyUnusedConfigFields(op, cfg, kUseBlockTokens | kUseWarps | kUseStages | kUseVectorWidth)) ||
        failed(verifyRadixSelectWarps(op, cfg)))
      return failure();
    if (cfg.getStages() > 8)
      return configError(op, "stages") << "(tokens scored per thread and step) must be in [1, 8], got "
                                       << cfg.getStages();
    int64_t bytes = 4 * cfg.getBlockTokens() + fixedSmemBytes(s);
    if (bytes > target.getSmemPerBlock())
      return configError(op, "block_tokens")
             << "(" << cfg.getBlockTokens() << " scores in shared memory) needs " << bytes
             << " bytes of shared memory per block with the select's, the target has "
             << target.getSmemPerBlock();
    if (s.getK() > (uint64_t(1) << 30))
      return op->emitOpError("GPU lowering supports k <= 2^30");
    return verifyLabelConfig(op, cfg, LabelScoreShape::of(s));
  };
  f.lower = lowerScoreTopK;
  registerKernelFamily(std::move(f));
}
