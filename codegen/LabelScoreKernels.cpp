// label_score: approximate scores from the head-major label cache (ALGORITHMS.md §1).
//
// One CTA per (request, score row, token tile): grid (B * Hs, cdiv(N, TILE)), `warps * 32`
// threads, TILE = U * threads with U = max(1, block_tokens / threads) tokens per thread. Thread
// `tid` owns tokens `tile * TILE + u * threads + tid` (u < U), so the f32 stores of a warp are
// coalesced. The scoring itself (query labels in registers or shared memory, page-table loads,
// then all label loads, then the math) is LabelScorer's (LabelScoring.h). Positions >= n_b,
// slots outside [0, S): -inf. With candidates the tiles run over the K entries of a candidate
// row: thread `tid`'s position is the candidate there (a -1 entry scores -inf).
#include "codegen/LabelScoring.h"
#include "codegen/Lowering.h"
#include "dialect/DSOps.h"

using namespace mlir;
using namespace mlir::ds;

static LogicalResult lowerLabelScore(Operation *op, PlanContext &ctx) {
  auto score = cast<LabelScoreOp>(op);
  KernelConfigAttr cfg = configOf(op);
  Value ql = score.getQLabel(), cache = score.getLabelCache(), pt = score.getPageTable(),
        sl = score.getSeqLens(), result = score.getScores();
  const LabelScoreShape shape = LabelScoreShape::of(score);
  const int64_t rows = shape.rows(), pageSize = shape.pageSize;
  // warps * 32 threads, each scoring block_tokens / threads tokens per tile (verified).
  const int64_t threads = cfg.getWarps() * 32;
  const int64_t tile = cfg.getBlockTokens(), unroll = tile / threads;

  Value cand = score.getCandidates();
  std::string batch = dimExpr(ctx, ql, 0);
  int64_t nStatic = dimOf(result, 2);
  std::string n = cand ? dimExpr(ctx, cand, 2)
                  : ShapedType::isDynamic(nStatic)
                      ? "(" + dimExpr(ctx, pt, 1) + ")*" + std::to_string(pageSize)
                      : std::to_string(nStatic);
  if (cand)
    nStatic = dimOf(cand, 2);
  const BufferRef &out = ctx.place(result, {batch, std::to_string(rows), n});

  KernelBuilder kb(ctx.kernels, ctx.kernelName("label_score"), op->getLoc());
  kb.addBuffer(ctx.buffer(ql));
  kb.addBuffer(labelCacheRef(ctx, shape, cache));
  kb.addBuffer(ctx.buffer(pt));
  kb.addBuffer(ctx.buffer(sl));
  kb.addBuffer(out);
  kb.addI64(dimExpr(ctx, cache, 1)); // S: slots of the label cache
  kb.addI64(dimExpr(ctx, pt, 1));    // max_pages
  kb.addI64(n);                      // N: scores per row
  if (shape.qShared())
    kb.addI64(std::to_string(shape.qRows())); // g: heads of a group (max), a loop bound
  if (cand)
    kb.addBuffer(ctx.buffer(cand));
  if (shape.lowBit())
    kb.addBuffer(ctx.buffer(score.getLabelScales()));
  kb.begin(threads, "(" + batch + ")*" + std::to_string(rows),
           cdiv(ShapedType::isDynamic(nStatic) ? PlanExpr::symbol(n) : PlanExpr(nStatic), tile)
               .text());
  if (cfg.getOccupancy() > 0)
    kb.setMinBlocksPerSM(cfg.getOccupancy());
  ImplicitLocOpBuilder &b = kb.b();
  Value slA = kb.arg(3), oA = kb.arg(4);
  Value maxPages = kb.toIndex(kb.arg(6)), nA = kb.toIndex(kb.arg(7));
  LabelScoreArgs args{kb.arg(0), kb.arg(1), kb.arg(2), kb.toIndex(kb.arg(5)), maxPages,
                      shape.qShared() ? kb.toIndex(kb.arg(8)) : Value()};
  if (shape.lowBit())
    args.labelScales = kb.arg(cand ? 9 : 8); // qShared is never true for low-bit caches
  LabelScorer scorer(kb, shape, args, threads, cfg.getVectorWidth());

  Value bid = kb.blockId(gpu::Dimension::x), tileId = kb.blockId(gpu::Dimension::y);
  Value bIdx = kb.div(bid, kb.c(rows)), row = kb.rem(bid, kb.c(rows));
  Value tid = kb.threadId();

  // n_b = clamp(seq_lens[b], 0, min(max_pages * P, N)); N does not bound a candidate list.
  Value nRaw = memref::LoadOp::create(b, slA, ValueRange{bIdx});
  Value nPos = arith::MaxSIOp::create(b, nRaw, kb.ci32(0));
  Value nb = kb.minIdx(kb.toIndex(nPos), kb.mul(maxPages, kb.c(pageSize)));
  if (!cand)
    nb = kb.minIdx(nb, nA);

  scorer.loadQuery(bIdx, row);
  Value tBase = kb.add(kb.mul(tileId, kb.c(tile)), tid);
  Value outRow = kb.mul(kb.add(kb.mul(bIdx, kb.c(rows)), row), nA);
  SmallVector<Value> slot, pos;
  for (int64_t u = 0; u < unroll; ++u)
    slot.push_back(kb.add(tBase, kb.c(u * threads)));
  if (!cand) {
    pos = slot;
  } else {
    // Candidate entries first (all loads issued), -1 and tiles past K mapped to n_b (-inf).
    Value cA = kb.arg(shape.qShared() ? 9 : 8);
    for (int64_t u = 0; u < unroll; ++u) {
      Value in = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, slot[u], nA);
      auto ifIn = scf::IfOp::create(b, TypeRange{b.getI32Type()}, in, true);
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(&ifIn.getThenRegion().front());
        scf::YieldOp::create(b, ValueRange{memref::LoadOp::create(
                                    b, cA, ValueRange{kb.add(outRow, slot[u])})});
        b.setInsertionPointToStart(&ifIn.getElseRegion().front());
        scf::YieldOp::create(b, ValueRange{kb.ci32(-1)});
      }
      Value c = ifIn.getResult(0);
      Value ok = arith::CmpIOp::create(b, arith::CmpIPredicate::sge, c, kb.ci32(0));
      pos.push_back(arith::SelectOp::create(b, ok, kb.toIndex(c), nb));
    }
  }
  SmallVector<Value> scores = scorer.score(pos, nb);
  for (int64_t u = 0; u < unroll; ++u) {
    auto ifStore = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, slot[u], nA), false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifStore.getThenRegion().front());
    memref::StoreOp::create(b, scores[u], oA, ValueRange{kb.add(outRow, slot[u])});
  }
  ctx.addLaunch(kb.finish());
  return success();
}

BufferRef mlir::ds::labelCacheRef(PlanContext &ctx, const LabelScoreShape &shape, Value cache) {
  BufferRef ref = ctx.buffer(cache);
  if (shape.lowBit()) // read as 32-bit words of labels
    ref.elementType = IntegerType::get(cache.getContext(), 32);
  return ref;
}

void mlir::ds::registerLabelScoreFamily() {
  KernelFamily f;
  f.name = "label_score";
  f.ops = {LabelScoreOp::getOperationName().str()};
  f.choose = [](Operation *op, TargetAttr) {
    auto s = cast<LabelScoreOp>(op);
    // 4 tokens per thread of 128 (8 label loads of 16 B in flight at r = 16): the best of the
    // variants measured on an H100 (2, 4 or 8 tokens; 128 or 256 threads). Memory bound:
    // registers capped so that 8 CTAs of 128 threads stay resident (B = 8, N = 65536: 301 us
    // uncapped at 165 registers -> 279 us).
    // Over a candidate list the candidate loads need more registers: capped at 64 they spill
    // (208 bytes at r = 16, group_reduce sum), so that variant keeps the default limit.
    return KernelConfigAttr::get(op->getContext(), 512, 4, 1, 1,
                                 LabelScoreShape::of(s).vectorWidth(), "",
                                 s.getCandidates() ? 0 : 8);
  };
  f.verify = [](Operation *op, KernelConfigAttr cfg, TargetAttr) -> LogicalResult {
    auto s = cast<LabelScoreOp>(op);
    if (failed(verifyUnusedConfigFields(op, cfg, kUseBlockTokens | kUseWarps | kUseVectorWidth | kUseOccupancy)) ||
        failed(verifyWarps(op, cfg, 1, 32)))
      return failure();
    int64_t threads = cfg.getWarps() * 32, bt = cfg.getBlockTokens();
    if (failed(verifyOccupancy(op, cfg, threads)))
      return failure();
    if (bt % threads != 0 || bt / threads < 1 || bt / threads > 8)
      return configError(op, "block_tokens")
             << "must be 1 to 8 tokens per thread times the threads (" << threads << "), got "
             << bt;
    return verifyLabelConfig(op, cfg, LabelScoreShape::of(s));
  };
  f.lower = lowerLabelScore;
  registerKernelFamily(std::move(f));
}
