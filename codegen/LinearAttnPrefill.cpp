// Linear attention (Lightning Attention) prefill, ALGORITHMS.md §5, over a packed ragged batch.
//
// Chunked kernel, on tensor cores (mma.sync m16n8k16, bf16/f16 in, f32 accumulate): one CTA of 4
// warps per (request, head, 64-wide block of e) walks the request's 64-token chunks and keeps its
// slice S[d, 64] of the f32 state in registers. Per chunk, with Q, K, V staged in shared memory by
// cp.async one chunk ahead (double-buffered, 16-byte chunks XOR-swizzled so every ldmatrix is
// conflict-free):
//   O     = diag(λ^(a+1)) Q S_prev + ((Q Kᵀ) ⊙ M) V     M[a, b] = λ^(a-b) for a >= b, else 0
//   S_new = λ^n S_prev + (diag(λ^(n-1-b)) K)ᵀ V         n = tokens in the chunk
// Warp w owns chunk rows 16w..16w+15 of O (key blocks past the diagonal are skipped) and rows
// [w d/4, (w+1) d/4) of S. Q Kᵀ's accumulators become the A operand of the P V product in
// registers; Q S_prev reads S_prev rounded to the input type from shared memory (as the
// flash-linear-attention kernels do), the state itself stays f32.
// Dims that are not 64 or 128 (d) and whole 64-column blocks (e) are padded: d in [8, 128] to 64
// or 128, e to whole blocks, both multiples of 8 (rows of whole 16-byte copies); the padding is
// zero-filled by the copies (0 source bytes) and never stored.
//
// Recurrent kernel: one CTA per (request, head) runs S_t = λ S_{t-1} + k_tᵀ v_t, o_t = q_t S_t
// token by token with S in registers; it serves `keep_intermediate` (the state after every token
// is written, for speculative verify) and shapes the chunked kernel does not tile.
//
// Bounds (documented in the op): request b owns [clamp(cu[b], 0, T), clamp(cu[b+1], start, T));
// a slot outside [0, slots) gives o = 0 (and intermediate = 0) and no state read or write.
#include "codegen/LinearAttnPrefill.h"
#include "codegen/MmaFragments.h"
#include "dialect/DSTarget.h"

#include <algorithm>

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::linear_attn;

Value linear_attn::swizzled(KernelBuilder &kb, Value row, Value chunk, int64_t rowElems) {
  ImplicitLocOpBuilder &b = kb.b();
  Value x = arith::XOrIOp::create(b, chunk, arith::AndIOp::create(b, row, kb.c(7)));
  return kb.add(kb.mul(row, kb.c(rowElems)), kb.mul(x, kb.c(8)));
}

Request linear_attn::loadRequest(KernelBuilder &kb, Value cuM, Value cuLen, Value slotM,
                                 Value initM, Value req, Value tokensI32, Value numSlots) {
  ImplicitLocOpBuilder &b = kb.b();
  auto clampTo = [&](Value x, Value lo) {
    return arith::MinSIOp::create(b, arith::MaxSIOp::create(b, x, lo), tokensI32);
  };
  // cu_seqlens shorter than B + 1 (its length is not tied to B by the plan): the requests it does
  // not bound are empty.
  auto cuAt = [&](Value i, Value fallback) {
    Value in = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, cuLen);
    Value x = memref::LoadOp::create(b, cuM, ValueRange{arith::SelectOp::create(b, in, i, kb.c(0))});
    return arith::SelectOp::create(b, in, x, fallback);
  };
  Value s = clampTo(cuAt(req, kb.ci32(0)), kb.ci32(0));
  Value e = clampTo(cuAt(kb.add(req, kb.c(1)), s), s);
  Request r;
  r.start = kb.toIndex(s);
  r.end = kb.toIndex(e);
  Value slot = memref::LoadOp::create(b, slotM, ValueRange{req});
  r.slotOk = kb.inRange(slot, numSlots);
  r.slot = arith::SelectOp::create(b, r.slotOk, kb.toIndex(slot), kb.c(0));
  Value flag = memref::LoadOp::create(b, initM, ValueRange{req});
  r.init = arith::AndIOp::create(
      b, r.slotOk, arith::CmpIOp::create(b, arith::CmpIPredicate::ne, flag, kb.ci32(0)));
  return r;
}

void linear_attn::addParams(KernelBuilder &kb, LinearAttnPrefillOp op, PlanContext &ctx,
                            const BufferRef &states, const BufferRef &out,
                            const BufferRef *inter) {
  for (Value x : {op.getQ(), op.getK(), op.getV(), op.getSlopes(), op.getCuSeqlens(),
                  op.getStateIndices(), op.getHasInitialState()})
    kb.addBuffer(ctx.buffer(x));
  kb.addBuffer(states);
  kb.addBuffer(out);
  if (inter)
    kb.addBuffer(*inter);
  kb.addI32(dimExpr(ctx, op.getQ(), 0));
  kb.addI64(dimExpr(ctx, op.getStates(), 0));
  kb.addI64(dimExpr(ctx, op.getCuSeqlens(), 0));
}

void linear_attn::zeroOutput(KernelBuilder &kb, const Request &r, Value oM, Value eBase,
                             Value head, int64_t h, int64_t e, Type elem, int64_t threads) {
  ImplicitLocOpBuilder &b = kb.b();
  OpBuilder::InsertionGuard guard(b);
  Value tid = kb.threadId();
  Value zero = arith::ConstantOp::create(
      b, DenseElementsAttr::get(VectorType::get({8}, elem), b.getFloatAttr(elem, 0.0)));
  Value col = kb.add(eBase, kb.mul(kb.rem(tid, kb.c(8)), kb.c(8)));
  if (e % kEBlock != 0) { // the last block's columns past e are not o's
    auto inE = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, col, kb.c(e)), false);
    b.setInsertionPointToStart(&inE.getThenRegion().front());
  }
  auto loop =
      scf::ForOp::create(b, kb.add(r.start, kb.div(tid, kb.c(8))), r.end, kb.c(threads / 8));
  b.setInsertionPointToStart(loop.getBody());
  Value off = kb.add(kb.mul(kb.add(kb.mul(loop.getInductionVar(), kb.c(h)), head), kb.c(e)), col);
  vector::StoreOp::create(b, zero, oM, ValueRange{off}).setAlignment(16);
}

Segment linear_attn::segmentOf(KernelBuilder &kb, const Request &r, Value tokensI32,
                               int64_t splits, bool statesPass) {
  ImplicitLocOpBuilder &b = kb.b();
  auto cdiv = [&](Value x, Value y) { return kb.div(kb.add(x, kb.sub(y, kb.c(1))), y); };
  auto cmp = [&](arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, p, x, y);
  };
  Segment s;
  s.j = kb.blockId(gpu::Dimension::y);
  Value chunks = cdiv(kb.sub(r.end, r.start), kb.c(kChunk));
  Value total = cdiv(kb.toIndex(tokensI32), kb.c(kChunk));
  Value share = arith::MaxUIOp::create(b, kb.c(kMinSegChunks), cdiv(total, kb.c(splits)));
  Value segs = arith::MaxUIOp::create(b, kb.c(1), kb.minIdx(kb.c(splits), cdiv(chunks, share)));
  s.segTokens = kb.mul(cdiv(chunks, segs), kb.c(kChunk));
  s.start = kb.minIdx(kb.add(r.start, kb.mul(s.j, s.segTokens)), r.end);
  s.end = kb.minIdx(kb.add(s.start, s.segTokens), r.end);
  s.split = cmp(arith::CmpIPredicate::ugt, segs, kb.c(1));
  Value lastJ = kb.sub(segs, kb.c(1));
  s.last = cmp(arith::CmpIPredicate::eq, s.j, lastJ);
  s.active = cmp(arith::CmpIPredicate::ult, s.j, statesPass ? lastJ : segs);
  return s;
}

SmallVector<Value> linear_attn::segmentStart(KernelBuilder &kb, const Segment &seg, Value l2,
                                             Value wsRequest, int64_t stateElems,
                                             TypeRange types,
                                             llvm::function_ref<SmallVector<Value>(Value)> load) {
  ImplicitLocOpBuilder &b = kb.b();
  auto first = scf::IfOp::create(
      b, types, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, seg.j, kb.c(0)), true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&first.getThenRegion().front());
    scf::YieldOp::create(b, load(wsRequest));
    b.setInsertionPointToStart(&first.getElseRegion().front());
    // Horner over the segments before this one: acc = λ^L acc + ws[b][1 + i].
    Value len = arith::UIToFPOp::create(
        b, b.getF32Type(), arith::IndexCastOp::create(b, b.getI32Type(), seg.segTokens));
    Value decay = kb.exp2(arith::MulFOp::create(b, l2, len));
    auto loop = scf::ForOp::create(b, kb.c(0), seg.j, kb.c(1),
                                   SmallVector<Value>(types.size(), kb.cf32(0.0f)));
    b.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> next = load(
        kb.add(wsRequest, kb.mul(kb.add(loop.getInductionVar(), kb.c(1)), kb.c(stateElems))));
    for (auto [x, acc] : llvm::zip(next, loop.getRegionIterArgs()))
      x = arith::AddFOp::create(b, arith::MulFOp::create(b, acc, decay), x);
    scf::YieldOp::create(b, next);
    b.setInsertionPointAfter(loop);
    scf::YieldOp::create(b, loop.getResults());
  }
  return SmallVector<Value>(first.getResults());
}

SmallVector<Value> linear_attn::loadState(KernelBuilder &kb, Value mem, Value base,
                                          int64_t pairs, StatePairAt at) {
  ImplicitLocOpBuilder &b = kb.b();
  auto v2 = VectorType::get({2}, b.getF32Type());
  SmallVector<Value> s;
  for (int64_t p = 0; p < pairs; ++p) {
    auto [rel, in] = at(p);
    Value off = kb.add(base, rel);
    if (in) // padding: 0, read from the slice's start instead
      off = arith::SelectOp::create(b, in, off, base);
    Value v = kb.loadVecF32(mem, off, 2);
    if (in)
      v = arith::SelectOp::create(
          b, in, v, arith::ConstantOp::create(b, DenseElementsAttr::get(v2, 0.0f)));
    s.push_back(vector::ExtractOp::create(b, v, ArrayRef<int64_t>{0}));
    s.push_back(vector::ExtractOp::create(b, v, ArrayRef<int64_t>{1}));
  }
  return s;
}

void linear_attn::storeState(KernelBuilder &kb, Value mem, Value base, ArrayRef<Value> s,
                             StatePairAt at) {
  ImplicitLocOpBuilder &b = kb.b();
  for (int64_t p = 0; p < int64_t(s.size()) / 2; ++p) {
    OpBuilder::InsertionGuard guard(b);
    auto [rel, in] = at(p);
    if (in) { // padding rows and columns are not the state's
      auto store = scf::IfOp::create(b, in, false);
      b.setInsertionPointToStart(&store.getThenRegion().front());
    }
    Value v = vector::FromElementsOp::create(b, VectorType::get({2}, b.getF32Type()),
                                             ValueRange{s[2 * p], s[2 * p + 1]});
    vector::StoreOp::create(b, v, mem, ValueRange{kb.add(base, rel)}).setAlignment(8);
  }
}

SmallVector<Value> linear_attn::initialState(KernelBuilder &kb, PrefillPass pass,
                                             const Request &r, const Segment &seg,
                                             const StateHome &home, int64_t pairs,
                                             StatePairAt at) {
  ImplicitLocOpBuilder &b = kb.b();
  SmallVector<Type> types(2 * pairs, b.getF32Type());
  auto slotOrZero = [&](Value cond) {
    auto ifInit = scf::IfOp::create(b, types, cond, true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifInit.getThenRegion().front());
    scf::YieldOp::create(b, loadState(kb, home.states, home.stateBase, pairs, at));
    b.setInsertionPointToStart(&ifInit.getElseRegion().front());
    scf::YieldOp::create(b, SmallVector<Value>(2 * pairs, kb.cf32(0.0f)));
    return SmallVector<Value>(ifInit.getResults());
  };
  if (pass == PrefillPass::Whole)
    return slotOrZero(r.init);
  if (pass == PrefillPass::States) {
    Value first = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, seg.j, kb.c(0));
    SmallVector<Value> init = slotOrZero(arith::AndIOp::create(b, r.init, first));
    kb.ifThen(first, [&] { storeState(kb, home.ws, home.wsRequest, init, at); });
    return init;
  }
  auto ifSplit = scf::IfOp::create(b, types, seg.split, true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifSplit.getThenRegion().front());
  scf::YieldOp::create(b, segmentStart(kb, seg, home.l2, home.wsRequest, home.stateElems, types,
                                       [&](Value base) {
                                         return loadState(kb, home.ws, base, pairs, at);
                                       }));
  b.setInsertionPointToStart(&ifSplit.getElseRegion().front());
  scf::YieldOp::create(b, slotOrZero(r.init));
  return SmallVector<Value>(ifSplit.getResults());
}

void linear_attn::finalState(KernelBuilder &kb, PrefillPass pass, const Segment &seg,
                             const StateHome &home, ArrayRef<Value> s, StatePairAt at) {
  if (pass == PrefillPass::Whole)
    return storeState(kb, home.states, home.stateBase, s, at);
  if (pass == PrefillPass::States)
    return storeState(kb, home.ws,
                      kb.add(home.wsRequest, kb.mul(kb.add(seg.j, kb.c(1)), kb.c(home.stateElems))),
                      s, at);
  kb.ifThen(seg.last, [&] { storeState(kb, home.states, home.stateBase, s, at); });
}

StateSlice::StateSlice(KernelBuilder &kb, const ChunkedCTA &cta, int64_t warpRows,
                       int64_t mtRows, int64_t d, int64_t e, Value rowBase)
    : kb(kb), warp(cta.warp), g(cta.g), tig(cta.tig), eBase(cta.eBase), base(rowBase),
      warpRows(warpRows), mtRows(mtRows), d(d), e(e), padD(paddedKeyDim(d) != d),
      padE(e % kEBlock != 0) {}

Value StateSlice::rowBase() const { return base ? base : kb.mul(warp, kb.c(warpRows)); }
Value StateSlice::row(int64_t mt, int64_t half) const {
  return kb.add(rowBase(), kb.add(kb.c(mtRows * mt + 8 * half), g));
}
Value StateSlice::col(int64_t nt) const { return kb.add(kb.c(8 * nt), kb.mul(tig, kb.c(2))); }

Value StateSlice::inside(int64_t mt, int64_t half, int64_t nt) const {
  ImplicitLocOpBuilder &b = kb.b();
  Value in;
  auto both = [&](Value c) { in = in ? arith::AndIOp::create(b, in, c) : c; };
  if (padD)
    both(arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row(mt, half), kb.c(d)));
  if (padE)
    both(arith::CmpIOp::create(b, arith::CmpIPredicate::ult, kb.add(eBase, col(nt)), kb.c(e)));
  return in;
}

std::pair<Value, Value> StateSlice::pairAt(int64_t p) const {
  const int64_t mt = p / 16, nt = p / 2 % 8, half = p % 2;
  Value rel = kb.add(kb.mul(row(mt, half), kb.c(e)), kb.add(eBase, col(nt)));
  return {rel, inside(mt, half, nt)};
}

ChunkedCTA linear_attn::chunkedCTA(KernelBuilder &kb, int64_t h, int64_t d, int64_t e,
                                   PrefillPass pass, bool hasWs, int64_t splits) {
  const int64_t nE = columnBlocks(e);
  ChunkedCTA c;
  c.q = kb.arg(0), c.k = kb.arg(1), c.v = kb.arg(2), c.slopes = kb.arg(3);
  Value cuM = kb.arg(4), slotM = kb.arg(5), initM = kb.arg(6);
  c.states = kb.arg(7), c.o = kb.arg(8);
  c.ws = hasWs ? kb.arg(9) : Value();
  const unsigned scalars = hasWs ? 10 : 9;
  c.tokensI32 = kb.arg(scalars);
  Value numSlots = kb.toIndex(kb.arg(scalars + 1)), cuLen = kb.toIndex(kb.arg(scalars + 2));
  Value bid = kb.blockId(gpu::Dimension::x);
  c.eBase = kb.mul(kb.rem(bid, kb.c(nE)), kb.c(kEBlock));
  Value bh = kb.div(bid, kb.c(nE));
  c.head = kb.rem(bh, kb.c(h)), c.req = kb.div(bh, kb.c(h));
  c.tid = kb.threadId(), c.lane = kb.lane(), c.warp = kb.warpId();
  c.g = kb.div(c.lane, kb.c(4)), c.tig = kb.rem(c.lane, kb.c(4));
  c.r = loadRequest(kb, cuM, cuLen, slotM, initM, c.req, c.tokensI32, numSlots);
  if (pass != PrefillPass::Whole) {
    c.seg = segmentOf(kb, c.r, c.tokensI32, splits, pass == PrefillPass::States);
    c.r.start = c.seg.start;
    c.r.end = c.seg.end;
    c.wsRequest =
        kb.mul(kb.add(kb.mul(kb.mul(c.req, kb.c(splits)), kb.c(h)), c.head), kb.c(d * e));
  }
  return c;
}

std::pair<Value, Value> linear_attn::decayTable(KernelBuilder &kb, const ChunkedCTA &cta) {
  ImplicitLocOpBuilder &b = kb.b();
  Type f32 = b.getF32Type();
  Value tbl = kb.addShared(f32, 2 * kChunk);
  Value l2 = arith::MulFOp::create(b, memref::LoadOp::create(b, cta.slopes, ValueRange{cta.head}),
                                   kb.cf32(-kLog2e));
  auto fill = scf::IfOp::create(
      b, arith::CmpIOp::create(b, arith::CmpIPredicate::ule, cta.tid, kb.c(kChunk)), false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&fill.getThenRegion().front());
  Value i = arith::UIToFPOp::create(b, f32, arith::IndexCastOp::create(b, b.getI32Type(), cta.tid));
  memref::StoreOp::create(b, kb.exp2(arith::MulFOp::create(b, l2, i)), tbl, ValueRange{cta.tid});
  return {tbl, l2};
}

Value linear_attn::causalDecay(KernelBuilder &kb, Value tbl, Value a, Value key) {
  ImplicitLocOpBuilder &b = kb.b();
  Value ge = arith::CmpIOp::create(b, arith::CmpIPredicate::uge, a, key);
  Value diff = arith::SelectOp::create(b, ge, kb.sub(a, key), kb.c(0));
  Value x = memref::LoadOp::create(b, tbl, ValueRange{diff});
  return arith::SelectOp::create(b, ge, x, kb.cf32(0.0f));
}

Value linear_attn::keyDecay(KernelBuilder &kb, Value tbl, Value key, Value n) {
  ImplicitLocOpBuilder &b = kb.b();
  Value in = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, key, n);
  Value idx = arith::SelectOp::create(b, in, kb.sub(kb.sub(n, kb.c(1)), key), kb.c(0));
  Value x = memref::LoadOp::create(b, tbl, ValueRange{idx});
  return arith::SelectOp::create(b, in, x, kb.cf32(0.0f));
}

Operation *linear_attn::openChunkedBody(KernelBuilder &kb, const ChunkedCTA &cta,
                                        PrefillPass pass, int64_t h, int64_t e, Type elem,
                                        int64_t threads) {
  ImplicitLocOpBuilder &b = kb.b();
  const bool statesPass = pass == PrefillPass::States;
  Operation *top = nullptr;
  if (pass != PrefillPass::Whole) {
    auto active = scf::IfOp::create(b, cta.seg.active, false);
    top = active;
    b.setInsertionPointToStart(&active.getThenRegion().front());
  }
  auto valid = scf::IfOp::create(b, cta.r.slotOk, !statesPass);
  if (!top)
    top = valid;
  if (!statesPass) {
    b.setInsertionPointToStart(&valid.getElseRegion().front());
    zeroOutput(kb, cta.r, cta.o, cta.eBase, cta.head, h, e, elem, threads);
  }
  b.setInsertionPointToStart(&valid.getThenRegion().front());
  return top;
}

namespace {
/// copyChunkRows for any chunk: each piece checked against the CTA's tokens (and columns).
void copyChunkRowsChecked(KernelBuilder &kb, const ChunkedCTA &cta, Value first, int64_t h,
                          int64_t piecesPerRow, int64_t srcRowElems, Value srcCol, bool padded,
                          int64_t count, llvm::function_ref<Value(Value, Value)> dstOff,
                          int64_t threads, llvm::function_ref<void(Value, Value, Value)> copyOne) {
  ImplicitLocOpBuilder &b = kb.b();
  for (int64_t i = 0; i < count; ++i) {
    Value idx = kb.add(cta.tid, kb.c(i * threads));
    Value row = kb.div(idx, kb.c(piecesPerRow)), ch = kb.rem(idx, kb.c(piecesPerRow));
    Value tok = kb.add(first, row);
    Value in = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, tok, cta.r.end);
    Value col = kb.add(srcCol, kb.mul(ch, kb.c(8)));
    if (padded) {
      in = arith::AndIOp::create(
          b, in, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, col, kb.c(srcRowElems)));
      col = arith::SelectOp::create(b, in, col, kb.c(0));
    }
    Value tokC = arith::SelectOp::create(b, in, tok, cta.r.start);
    Value srcOff =
        kb.add(kb.mul(kb.add(kb.mul(tokC, kb.c(h)), cta.head), kb.c(srcRowElems)), col);
    copyOne(dstOff(row, ch), srcOff, arith::SelectOp::create(b, in, kb.c(8), kb.c(0)));
  }
}
} // namespace

void linear_attn::copyChunkRows(KernelBuilder &kb, const ChunkedCTA &cta, Value smem, Value first,
                                Value src, int64_t h, int64_t piecesPerRow, int64_t srcRowElems,
                                Value srcCol, bool padded, int64_t count,
                                llvm::function_ref<Value(Value, Value)> dstOff, int64_t threads) {
  ImplicitLocOpBuilder &b = kb.b();
  auto copyOne = [&](Value dst, Value srcOff, Value n) {
    nvgpu::DeviceAsyncCopyOp::create(b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), smem,
                                     ValueRange{dst}, src, ValueRange{srcOff}, b.getIndexAttr(8),
                                     n, b.getUnitAttr());
  };
  // A chunk wholly inside the CTA's tokens, columns unpadded, and every thread on the same
  // piece of a row in each of its copies (the CTA's threads a multiple of the pieces of a row):
  // piece i of this thread is row row0 + i * rowsPerStep, piece `ch` of it, so that its source
  // offset is the chunk's offset plus a per-thread invariant plus a constant, and its
  // destination the same row-invariant swizzle plus a constant; no bounds, no selects (about
  // 2 PTX instructions a copy instead of 8-10; ncu counted 905 warp instructions of copies per
  // CTA and chunk of the two-warpgroup kernel before, about 650 after).
  OpBuilder::InsertionGuard guard(b);
  if (!padded && threads % piecesPerRow == 0) {
    const int64_t rowsPerStep = threads / piecesPerRow;
    Value full = arith::CmpIOp::create(b, arith::CmpIPredicate::ule,
                                       kb.add(first, kb.c(kChunk)), cta.r.end);
    auto ifFull = scf::IfOp::create(b, full, /*withElseRegion=*/true);
    b.setInsertionPointToStart(&ifFull.getThenRegion().front());
    Value row0 = kb.div(cta.tid, kb.c(piecesPerRow)), ch = kb.rem(cta.tid, kb.c(piecesPerRow));
    Value rowBase = kb.add(kb.mul(row0, kb.c(h)), cta.head);
    Value inv = kb.add(kb.mul(rowBase, kb.c(srcRowElems)), kb.add(srcCol, kb.mul(ch, kb.c(8))));
    Value at = kb.add(kb.mul(first, kb.c(h * srcRowElems)), inv);
    for (int64_t i = 0; i < count; ++i) {
      Value row = kb.add(row0, kb.c(i * rowsPerStep));
      copyOne(dstOff(row, ch), kb.add(at, kb.c(i * rowsPerStep * h * srcRowElems)), kb.c(8));
    }
    b.setInsertionPointToStart(&ifFull.getElseRegion().front()); // any other chunk: checked
  }
  copyChunkRowsChecked(kb, cta, first, h, piecesPerRow, srcRowElems, srcCol, padded, count, dstOff,
                       threads, copyOne);
}

void linear_attn::storeOutputRows(KernelBuilder &kb, const ChunkedCTA &cta, Value rowA,
                                  Value rowB, Value n, Value chunkStart, int64_t h, int64_t e,
                                  Type elem, llvm::function_ref<Value(int64_t, int64_t)> at) {
  ImplicitLocOpBuilder &b = kb.b();
  auto v2 = VectorType::get({2}, b.getF32Type());
  for (int64_t half = 0; half < 2; ++half) {
    Value a = half ? rowB : rowA;
    auto in = scf::IfOp::create(b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, a, n),
                                false);
    OpBuilder::InsertionGuard g2(b);
    b.setInsertionPointToStart(&in.getThenRegion().front());
    Value rowOff = kb.mul(kb.add(kb.mul(kb.add(chunkStart, a), kb.c(h)), cta.head), kb.c(e));
    for (int64_t nt = 0; nt < 8; ++nt) {
      OpBuilder::InsertionGuard g3(b);
      Value col = kb.add(cta.eBase, kb.add(kb.c(8 * nt), kb.mul(cta.tig, kb.c(2))));
      if (e % kEBlock != 0) { // columns past e: padding
        auto inE = scf::IfOp::create(
            b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, col, kb.c(e)), false);
        b.setInsertionPointToStart(&inE.getThenRegion().front());
      }
      Value v = vector::FromElementsOp::create(
          b, v2, ValueRange{at(nt, 2 * half), at(nt, 2 * half + 1)});
      vector::StoreOp::create(b, arith::TruncFOp::create(b, VectorType::get({2}, elem), v), cta.o,
                              ValueRange{kb.add(rowOff, col)})
          .setAlignment(4);
    }
  }
}

namespace {
/// Whether the target has warpgroup MMA (wgmma.mma_async: sm_90a only).
bool hasWgmma(TargetAttr target) { return target.getChip() == "sm_90a"; }
constexpr int64_t kRecWarps = 8; // the recurrent kernel's CTA
constexpr int64_t kVecE = 4;     // f32 per 16-byte state vector (recurrent kernel)
constexpr llvm::StringLiteral kChunkedVariant = "chunked", kRecurrentVariant = "recurrent",
                              kWgmmaVariant = "wgmma";

/// The mma.sync chunked kernel; `pass` and `ws` (the workspace of a segment split, `splits` > 1)
/// make it one of the split's two passes (segmentOf).
LogicalResult buildChunked(LinearAttnPrefillOp op, PlanContext &ctx, const BufferRef &states,
                           const BufferRef &out, PrefillPass pass, const BufferRef *ws,
                           int64_t splits) {
  Value q = op.getQ();
  const int64_t h = dimOf(q, 1), d = dimOf(q, 2), e = dimOf(op.getV(), 2);
  // dp: the key dim as tiled (zero rows of S and zero columns of q and k past d); the last of
  // the nE column blocks holds e % 64 columns when e is not a multiple of 64.
  const int64_t dp = paddedKeyDim(d), nE = columnBlocks(e);
  const bool padD = dp != d, padE = e % kEBlock != 0;
  const int64_t kd = dp / 16, mTiles = dp / 64, rowsPerWarp = dp / kWarps;
  const int64_t stageElems = 2 * kChunk * dp + kChunk * kEBlock;
  const int64_t smemElems = 2 * stageElems + dp * kEBlock;
  Type elem = cast<RankedTensorType>(q.getType()).getElementType();
  const std::string batch = dimExpr(ctx, op.getStateIndices(), 0);

  const bool whole = pass == PrefillPass::Whole, statesPass = pass == PrefillPass::States;
  KernelBuilder kb(ctx.kernels,
                   ctx.kernelName(statesPass ? "linear_attn_prefill_states"
                                             : "linear_attn_prefill_chunked"),
                   op->getLoc());
  addParams(kb, op, ctx, states, out, ws);
  kb.begin(kWarps * 32, "(" + batch + ")*" + std::to_string(h * nE),
           std::to_string(whole ? 1 : statesPass ? splits - 1 : splits), "1",
           std::to_string(smemElems * 2));
  ImplicitLocOpBuilder &b = kb.b();
  Type f32 = b.getF32Type();
  Mma mma(kb, elem);
  ChunkedCTA cta = chunkedCTA(kb, h, d, e, pass, ws, splits);
  Value qM = cta.q, kM = cta.k, vM = cta.v, sM = cta.states, eBase = cta.eBase, head = cta.head,
        lane = cta.lane, warp = cta.warp, g = cta.g, tig = cta.tig;
  const Request &r = cta.r;
  Value l8 = kb.rem(lane, kb.c(8));                                   // row within a tile
  Value lBit3 = kb.rem(kb.div(lane, kb.c(8)), kb.c(2)), lHi = kb.div(lane, kb.c(16));

  Value smem = kb.dynamicShared(elem, kb.c(smemElems));
  Value tbl, l2; // λ^i, i = 0..64
  std::tie(tbl, l2) = decayTable(kb, cta);
  Value sBase = kb.c(2 * stageElems);
  Value stateBase = kb.mul(kb.add(kb.mul(r.slot, kb.c(h)), head), kb.c(d * e));
  // Warp w holds rows w dp / 4 .. (w + 1) dp / 4 of the state slice, 16 per m-tile.
  const StateSlice sl(kb, cta, rowsPerWarp, 16, d, e, kb.mul(warp, kb.c(rowsPerWarp)));
  auto sIdx = StateSlice::index;
  auto writeSmemS = [&](ArrayRef<Value> s) {
    for (int64_t mt = 0; mt < mTiles; ++mt)
      for (int64_t nt = 0; nt < 8; ++nt)
        for (int64_t half = 0; half < 2; ++half) {
          Value row = sl.row(mt, half);
          Value off = kb.add(kb.add(sBase, swizzled(kb, row, kb.c(nt), kEBlock)),
                             kb.mul(tig, kb.c(2)));
          auto v2 = VectorType::get({2}, f32);
          Value v = vector::FromElementsOp::create(
              b, v2, ValueRange{s[sIdx(mt, nt, 2 * half)], s[sIdx(mt, nt, 2 * half + 1)]});
          vector::StoreOp::create(b, arith::TruncFOp::create(b, VectorType::get({2}, elem), v),
                                  smem, ValueRange{off});
        }
  };
  // Chunk `c` of the request into stage `stage` (cp.async, zero-filled past the request's end).
  auto loadChunk = [&](Value c, Value stage) {
    Value base = kb.mul(stage, kb.c(stageElems));
    Value first = kb.add(r.start, kb.mul(c, kb.c(kChunk)));
    // Rows of `rowElems` in shared memory (XOR-swizzled) from rows of `srcRowElems` from
    // column `srcCol`.
    auto copy = [&](Value src, int64_t rowElems, int64_t srcRowElems, Value srcCol, bool padded,
                    Value dst, int64_t count) {
      copyChunkRows(kb, cta, smem, first, src, h, rowElems / 8, srcRowElems, srcCol, padded,
                    count, [&](Value row, Value ch) {
                      return kb.add(dst, swizzled(kb, row, ch, rowElems));
                    });
    };
    const int64_t qkCopies = kChunk * dp / 8 / (kWarps * 32);
    if (!statesPass) // the states pass reads K and V only
      copy(qM, dp, d, kb.c(0), padD, base, qkCopies);
    copy(kM, dp, d, kb.c(0), padD, kb.add(base, kb.c(kChunk * dp)), qkCopies);
    copy(vM, kEBlock, e, eBase, padE, kb.add(base, kb.c(2 * kChunk * dp)),
         kChunk * kEBlock / 8 / (kWarps * 32));
    NVVM::CpAsyncCommitGroupOp::create(b);
  };

  Operation *top = openChunkedBody(kb, cta, pass, h, e, elem);

  // The state slice in registers: accumulator layout of S[rows of this warp, 64 columns].
  const int64_t pairs = mTiles * 8 * 2;
  auto pairAt = [&](int64_t p) { return sl.pairAt(p); };
  StateHome home{sM, stateBase, cta.ws, cta.wsRequest, l2, h * d * e};
  SmallVector<Value> init = initialState(kb, pass, r, cta.seg, home, pairs, pairAt);
  if (!statesPass)
    writeSmemS(init);
  Value numChunks = kb.div(kb.add(kb.sub(r.end, r.start), kb.c(kChunk - 1)), kb.c(kChunk));
  {
    auto any = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, numChunks, kb.c(0)), false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&any.getThenRegion().front());
    loadChunk(kb.c(0), kb.c(0));
  }

  auto loop = scf::ForOp::create(b, kb.c(0), numChunks, kb.c(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value c = loop.getInductionVar();
    SmallVector<Value> s(loop.getRegionIterArgs());
    NVVM::CpAsyncWaitGroupOp::create(b, 0);
    gpu::BarrierOp::create(b);
    // Prefetch the next chunk into the other stage (everyone is past reading it).
    Value next = kb.add(c, kb.c(1));
    auto pre = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, next, numChunks), false);
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(&pre.getThenRegion().front());
      loadChunk(next, kb.rem(next, kb.c(2)));
    }
    Value stage = kb.mul(kb.rem(c, kb.c(2)), kb.c(stageElems));
    Value qBase = stage, kBase = kb.add(stage, kb.c(kChunk * dp)),
          vBase = kb.add(stage, kb.c(2 * kChunk * dp));
    Value chunkStart = kb.add(r.start, kb.mul(c, kb.c(kChunk)));
    Value n = kb.minIdx(kb.sub(r.end, chunkStart), kb.c(kChunk));
    Value m0 = kb.mul(warp, kb.c(16));

    // B fragments of a [k rows][n cols] tile stored row-major with 64-element rows: two n-tiles
    // (jj, jj + 1) for the 16 k rows from `k0`.
    auto ldB = [&](Value base, Value k0, int64_t jj) {
      Value row = kb.add(k0, kb.add(l8, kb.mul(lBit3, kb.c(8))));
      return mma.ldsm(smem, kb.add(base, swizzled(kb, row, kb.add(kb.c(jj), lHi), kEBlock)), 4,
                      true);
    };

    // The outputs (not in the states pass).
    if (!statesPass) {
      // Q fragments of this warp's 16 rows, all of d.
      SmallVector<SmallVector<Value>> qa;
      for (int64_t ks = 0; ks < kd; ++ks)
        qa.push_back(mma.ldsm(
            smem,
            kb.add(qBase, swizzled(kb, kb.add(m0, kb.add(l8, kb.mul(lBit3, kb.c(8)))),
                                   kb.add(kb.c(2 * ks), lHi), dp)),
            4, false));

      // Inter-chunk term: O = diag(λ^(a+1)) Q S_prev.
      SmallVector<SmallVector<Value>> o(8, SmallVector<Value>(4, kb.cf32(0.0f)));
      for (int64_t ks = 0; ks < kd; ++ks)
        for (int64_t jj = 0; jj < 8; jj += 2) {
          SmallVector<Value> bf = ldB(sBase, kb.c(16 * ks), jj);
          mma.mma(qa[ks], {bf[0], bf[1]}, o[jj]);
          mma.mma(qa[ks], {bf[2], bf[3]}, o[jj + 1]);
        }
      Value rowA = kb.add(m0, g), rowB = kb.add(rowA, kb.c(8));
      Value decA = memref::LoadOp::create(b, tbl, ValueRange{kb.add(rowA, kb.c(1))});
      Value decB = memref::LoadOp::create(b, tbl, ValueRange{kb.add(rowB, kb.c(1))});
      for (auto &t : o)
        for (int64_t i = 0; i < 4; ++i)
          t[i] = arith::MulFOp::create(b, t[i], i < 2 ? decA : decB);

      // Intra-chunk term, one 16-key block t at a time, blocks past the diagonal skipped.
      for (int64_t t = 0; t < kWarps; ++t) {
        SmallVector<Value> flat;
        for (auto &x : o)
          flat.append(x.begin(), x.end());
        SmallVector<Type> types(flat.size(), f32);
        auto blk = scf::IfOp::create(
            b, types, arith::CmpIOp::create(b, arith::CmpIPredicate::ule, kb.c(t), warp), true);
        {
          OpBuilder::InsertionGuard g2(b);
          b.setInsertionPointToStart(&blk.getThenRegion().front());
          SmallVector<SmallVector<Value>> p(2, SmallVector<Value>(4, kb.cf32(0.0f)));
          for (int64_t j = 0; j < 2; ++j) {
            Value keyRow = kb.add(kb.c(16 * t + 8 * j), l8);
            for (int64_t s2 = 0; s2 < kd / 2; ++s2) {
              SmallVector<Value> kf = mma.ldsm(
                  smem,
                  kb.add(kBase,
                         swizzled(kb, keyRow, kb.add(kb.c(4 * s2), kb.div(lane, kb.c(8))), dp)),
                  4, false);
              mma.mma(qa[2 * s2], {kf[0], kf[1]}, p[j]);
              mma.mma(qa[2 * s2 + 1], {kf[2], kf[3]}, p[j]);
            }
            // Decay mask: λ^(a-b) where a >= b, else 0.
            for (int64_t i = 0; i < 4; ++i) {
              Value key = kb.add(kb.c(16 * t + 8 * j + (i % 2)), kb.mul(tig, kb.c(2)));
              p[j][i] = arith::MulFOp::create(
                  b, p[j][i], causalDecay(kb, tbl, i < 2 ? rowA : rowB, key));
            }
          }
          SmallVector<Value> pa = {mma.pack(p[0][0], p[0][1]), mma.pack(p[0][2], p[0][3]),
                                   mma.pack(p[1][0], p[1][1]), mma.pack(p[1][2], p[1][3])};
          SmallVector<SmallVector<Value>> on = o;
          for (int64_t jj = 0; jj < 8; jj += 2) {
            SmallVector<Value> vf = ldB(vBase, kb.c(16 * t), jj);
            mma.mma(pa, {vf[0], vf[1]}, on[jj]);
            mma.mma(pa, {vf[2], vf[3]}, on[jj + 1]);
          }
          SmallVector<Value> res;
          for (auto &x : on)
            res.append(x.begin(), x.end());
          scf::YieldOp::create(b, res);
          b.setInsertionPointToStart(&blk.getElseRegion().front());
          scf::YieldOp::create(b, flat);
        }
        for (int64_t nt = 0; nt < 8; ++nt)
          for (int64_t i = 0; i < 4; ++i)
            o[nt][i] = blk.getResult(nt * 4 + i);
      }
      // O rows inside the request.
      storeOutputRows(kb, cta, rowA, rowB, n, chunkStart, h, e, elem,
                      [&](int64_t nt, int64_t i) { return o[nt][i]; });
      gpu::BarrierOp::create(b); // everyone is done reading S_prev from shared memory
    }

    // State update: S = λ^n S + (diag(λ^(n-1-b)) K)ᵀ V.
    Value decN = memref::LoadOp::create(b, tbl, ValueRange{n});
    for (Value &x : s)
      x = arith::MulFOp::create(b, x, decN);
    for (int64_t t = 0; t < kWarps; ++t) {
      SmallVector<Value> w;
      for (int64_t i = 0; i < 4; ++i) { // keys 2tig, 2tig + 1, 2tig + 8, 2tig + 9 of block t
        Value key = kb.add(kb.c(16 * t + (i / 2) * 8 + (i % 2)), kb.mul(tig, kb.c(2)));
        w.push_back(keyDecay(kb, tbl, key, n));
      }
      SmallVector<SmallVector<Value>> ka;
      for (int64_t mt = 0; mt < mTiles; ++mt) {
        Value row = kb.add(kb.c(16 * t), kb.add(l8, kb.mul(lHi, kb.c(8))));
        Value ch = kb.add(kb.div(kb.add(sl.rowBase(), kb.c(16 * mt)), kb.c(8)), lBit3);
        SmallVector<Value> a = mma.ldsm(smem, kb.add(kBase, swizzled(kb, row, ch, dp)), 4, true);
        a[0] = mma.scale(a[0], w[0], w[1]);
        a[1] = mma.scale(a[1], w[0], w[1]);
        a[2] = mma.scale(a[2], w[2], w[3]);
        a[3] = mma.scale(a[3], w[2], w[3]);
        ka.push_back(a);
      }
      for (int64_t jj = 0; jj < 8; jj += 2) {
        SmallVector<Value> vf = ldB(vBase, kb.c(16 * t), jj);
        for (int64_t mt = 0; mt < mTiles; ++mt)
          for (int64_t j = 0; j < 2; ++j) {
            SmallVector<Value> acc;
            for (int64_t i = 0; i < 4; ++i)
              acc.push_back(s[sIdx(mt, jj + j, i)]);
            mma.mma(ka[mt], {vf[2 * j], vf[2 * j + 1]}, acc);
            for (int64_t i = 0; i < 4; ++i)
              s[sIdx(mt, jj + j, i)] = acc[i];
          }
      }
    }
    if (!statesPass)
      writeSmemS(s);
    scf::YieldOp::create(b, s);
  }
  finalState(kb, pass, cta.seg, home, SmallVector<Value>(loop.getResults()), pairAt);
  b.setInsertionPointAfter(top);
  ctx.addLaunch(kb.finish());
  return success();
}


LogicalResult buildRecurrent(LinearAttnPrefillOp op, PlanContext &ctx, const BufferRef &states,
                             const BufferRef &out, const BufferRef *inter) {
  Value q = op.getQ();
  const int64_t h = dimOf(q, 1), d = dimOf(q, 2), e = dimOf(op.getV(), 2);
  const int64_t lanesPerRow = e / kVecE, rowsPerStep = 32 / lanesPerRow;
  const int64_t step = kRecWarps * rowsPerStep, rowsPerThread = (d + step - 1) / step;
  const std::string batch = dimExpr(ctx, op.getStateIndices(), 0);

  KernelBuilder kb(ctx.kernels, ctx.kernelName("linear_attn_prefill_recurrent"), op->getLoc());
  addParams(kb, op, ctx, states, out, inter);
  kb.begin(kRecWarps * 32, "(" + batch + ")*" + std::to_string(h));
  ImplicitLocOpBuilder &b = kb.b();
  Value qM = kb.arg(0), kM = kb.arg(1), vM = kb.arg(2), slopeM = kb.arg(3), cuM = kb.arg(4),
        slotM = kb.arg(5), initM = kb.arg(6), sM = kb.arg(7), oM = kb.arg(8);
  Value interM = inter ? kb.arg(9) : Value();
  unsigned next = inter ? 10 : 9;
  Value tokensI32 = kb.arg(next), numSlots = kb.toIndex(kb.arg(next + 1)),
        cuLen = kb.toIndex(kb.arg(next + 2));
  Type f32 = b.getF32Type();
  auto vecTy = VectorType::get({kVecE}, f32);

  Value bh = kb.blockId(gpu::Dimension::x);
  Value head = kb.rem(bh, kb.c(h)), req = kb.div(bh, kb.c(h));
  Value lane = kb.lane(), warp = kb.warpId();
  Value col = kb.mul(kb.rem(lane, kb.c(lanesPerRow)), kb.c(kVecE));
  Value first = kb.add(kb.mul(warp, kb.c(rowsPerStep)), kb.div(lane, kb.c(lanesPerRow)));
  Request r = loadRequest(kb, cuM, cuLen, slotM, initM, req, tokensI32, numSlots);
  Value slope = memref::LoadOp::create(b, slopeM, ValueRange{head});
  Value lambda = kb.exp2(arith::MulFOp::create(b, slope, kb.cf32(-kLog2e)));
  Value lambdaV = vector::BroadcastOp::create(b, vecTy, lambda);
  // An invalid slot runs with k = 0: S stays 0, so o and the intermediates are 0.
  Value kScale = arith::SelectOp::create(b, r.slotOk, kb.cf32(1.0f), kb.cf32(0.0f));
  Value stateBase = kb.mul(kb.add(kb.mul(r.slot, kb.c(h)), head), kb.c(d * e));
  Value zero = arith::ConstantOp::create(b, DenseElementsAttr::get(vecTy, 0.0f));

  SmallVector<Value> rows, rowOk;
  for (int64_t i = 0; i < rowsPerThread; ++i) {
    Value row = kb.add(first, kb.c(i * step));
    Value in = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row, kb.c(d));
    rowOk.push_back(in);
    rows.push_back(arith::SelectOp::create(b, in, row, kb.c(0)));
  }
  SmallVector<Type> sTypes(rowsPerThread, vecTy);
  auto ifInit = scf::IfOp::create(b, sTypes, r.init, true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifInit.getThenRegion().front());
    SmallVector<Value> s;
    for (int64_t i = 0; i < rowsPerThread; ++i) {
      Value v = kb.loadVecF32(sM, kb.add(stateBase, kb.add(kb.mul(rows[i], kb.c(e)), col)), kVecE);
      s.push_back(arith::SelectOp::create(b, rowOk[i], v, zero));
    }
    scf::YieldOp::create(b, s);
    b.setInsertionPointToStart(&ifInit.getElseRegion().front());
    scf::YieldOp::create(b, SmallVector<Value>(rowsPerThread, zero));
  }
  Value red = kb.addShared(f32, kRecWarps * e);
  auto loop = scf::ForOp::create(b, r.start, r.end, kb.c(1), ifInit.getResults());
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value t = loop.getInductionVar();
    Value qkBase = kb.mul(kb.add(kb.mul(t, kb.c(h)), head), kb.c(d));
    Value vBase = kb.mul(kb.add(kb.mul(t, kb.c(h)), head), kb.c(e));
    Value vv = kb.loadVecF32(vM, kb.add(vBase, col), kVecE);
    Value acc = zero;
    SmallVector<Value> s(loop.getRegionIterArgs());
    for (int64_t i = 0; i < rowsPerThread; ++i) {
      Value kd = arith::MulFOp::create(b, kb.loadF32(kM, kb.add(qkBase, rows[i])), kScale);
      kd = arith::SelectOp::create(b, rowOk[i], kd, kb.cf32(0.0f));
      Value qd = arith::SelectOp::create(b, rowOk[i], kb.loadF32(qM, kb.add(qkBase, rows[i])),
                                         kb.cf32(0.0f));
      s[i] = vector::FMAOp::create(b, vector::BroadcastOp::create(b, vecTy, kd), vv,
                                   arith::MulFOp::create(b, lambdaV, s[i]));
      acc = vector::FMAOp::create(b, vector::BroadcastOp::create(b, vecTy, qd), s[i], acc);
      if (interM) {
        auto ifIn = scf::IfOp::create(b, rowOk[i], false);
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(&ifIn.getThenRegion().front());
        Value off = kb.add(kb.mul(kb.add(kb.mul(t, kb.c(h)), head), kb.c(d * e)),
                           kb.add(kb.mul(rows[i], kb.c(e)), col));
        vector::StoreOp::create(b, s[i], interM, ValueRange{off}).setAlignment(16);
      }
    }
    // o_t: the row groups of a warp, then the warps, summed in shared memory.
    emitLinearAttnOutput(kb, acc, col, lanesPerRow, kRecWarps, e, red, oM, vBase);
    gpu::BarrierOp::create(b);
    scf::YieldOp::create(b, s);
  }
  auto write = scf::IfOp::create(b, r.slotOk, false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&write.getThenRegion().front());
    for (int64_t i = 0; i < rowsPerThread; ++i) {
      auto ifIn = scf::IfOp::create(b, rowOk[i], false);
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(&ifIn.getThenRegion().front());
      Value off = kb.add(stateBase, kb.add(kb.mul(rows[i], kb.c(e)), col));
      vector::StoreOp::create(b, loop.getResult(i), sM, ValueRange{off}).setAlignment(16);
    }
  }
  ctx.addLaunch(kb.finish());
  return success();
}
} // namespace

static LogicalResult lowerLinearAttnPrefill(Operation *operation, PlanContext &ctx) {
  auto op = cast<LinearAttnPrefillOp>(operation);
  auto cfg = configOf(op);
  Value q = op.getQ(), v = op.getV();
  const int64_t h = dimOf(q, 1), d = dimOf(q, 2), e = dimOf(v, 2);
  BufferRef states = ctx.alias(op.getNewStates(), op.getStates());
  const std::string tokens = dimExpr(ctx, q, 0);
  BufferRef out = ctx.place(op.getO(), {tokens, std::to_string(h), std::to_string(e)});
  if (cfg.getVariant() == kChunkedVariant || cfg.getVariant() == kWgmmaVariant) {
    const int64_t splits = cfg.getSplits();
    // "wgmma" on 8 (12) warps: the plan holds the two- (three-) warpgroup kernel at `stages`,
    // launched where the launch's CTAs (requests x heads x column blocks x segments) fit the SMs
    // once, and the one-warpgroup kernel at two stages, launched otherwise (two of its CTAs share
    // an SM; CTAs of more warpgroups do not). A split's states pass computes no outputs: two
    // warpgroups there.
    PlanExpr twoGate(0), oneGate(1);
    const int64_t warpgroups = cfg.getWarps() / kWarps;
    if (cfg.getVariant() == kWgmmaVariant && warpgroups > 1) {
      FailureOr<TargetAttr> target = requireTarget(op);
      if (failed(target))
        return failure();
      const PlanExpr ctas =
          dimPlan(ctx, op.getStateIndices(), 0) * (h * columnBlocks(e) * splits);
      twoGate = atMostGate(ctas, target->getSmCount());
      oneGate = PlanExpr(1) - twoGate;
    }
    auto build = [&](PrefillPass pass, const BufferRef *ws, int64_t splits) -> LogicalResult {
      if (cfg.getVariant() != kWgmmaVariant)
        return buildChunked(op, ctx, states, out, pass, ws, splits);
      const int64_t many = pass == PrefillPass::States ? std::min<int64_t>(warpgroups, 2)
                                                       : std::max<int64_t>(warpgroups, 2);
      for (auto [gate, wgs] : {std::pair(oneGate, int64_t(1)), std::pair(twoGate, many)})
        if (gate.constant() != 0 &&
            failed(buildWgmma(op, ctx, states, out, pass, ws, splits,
                              wgs == 1 && warpgroups > 1 ? kFallbackStages : cfg.getStages(),
                              wgs, gate)))
          return failure();
      return success();
    };
    if (splits == 1)
      return build(PrefillPass::Whole, nullptr, 1);
    // A segment split: B x splits states [H, d, e] of workspace, the states pass, then the
    // outputs pass.
    BufferRef ws;
    ws.elementType = Float32Type::get(op->getContext());
    ws.dims = {"(" + dimExpr(ctx, op.getStateIndices(), 0) + ")*" +
               std::to_string(splits * h * d * e)};
    ws.source = "ws " + ctx.scratch("4*" + ws.numElements());
    if (failed(build(PrefillPass::States, &ws, splits)))
      return failure();
    return build(PrefillPass::Outputs, &ws, splits);
  }
  if (Value inter = op.getIntermediate()) {
    BufferRef interRef = ctx.place(inter, {tokens, std::to_string(h), std::to_string(d),
                                           std::to_string(e)});
    return buildRecurrent(op, ctx, states, out, &interRef);
  }
  return buildRecurrent(op, ctx, states, out, nullptr);
}

int64_t linear_attn::recurrentMaxKeyDim(int64_t e) {
  // A step of the CTA holds kRecWarps x 32 / (e / kVecE) state rows, one 16-byte vector of each
  // per thread; a thread holds at most 128 / kVecE vectors.
  return 128 / kVecE * kRecWarps * (32 / (e / kVecE));
}

namespace {
/// CTAs of a launch of the tensor-core kernels over a static batch (requests x heads x column
/// blocks x segments); the batch must be static.
int64_t launchCtas(LinearAttnPrefillOp op, int64_t splits) {
  return saturatingMul(dimOf(op.getStateIndices(), 0),
                       dimOf(op.getQ(), 1) * columnBlocks(dimOf(op.getV(), 2)) * splits);
}
/// Whether the "wgmma" kernel on more than one warpgroup never launches: lowerLinearAttnPrefill
/// gates it on the launch's CTAs fitting the SMs once, which a static batch folds.
bool manyWarpgroupsNeverRun(LinearAttnPrefillOp op, int64_t splits, TargetAttr target) {
  return !ShapedType::isDynamic(dimOf(op.getStateIndices(), 0)) &&
         launchCtas(op, splits) > target.getSmCount();
}
} // namespace

void mlir::ds::registerLinearAttnPrefillFamily() {
  KernelFamily f;
  f.name = "linear_attn_prefill";
  f.ops = {LinearAttnPrefillOp::getOperationName().str()};
  // The tensor-core kernel where it tiles the shape (chunkedTiles: d <= 128 and e in whole
  // 16-byte rows, padded to the 64-wide tiles; chunks of 64 tokens); the recurrent kernel for
  // the rest and for keep_intermediate.
  f.choose = [](Operation *operation, TargetAttr target) {
    auto op = cast<LinearAttnPrefillOp>(operation);
    const int64_t d = dimOf(op.getQ(), 2), e = dimOf(op.getV(), 2);
    MLIRContext *ctx = op->getContext();
    if (tensorCoreShape(d, e, op.getChunkSize(), op.getKeepIntermediate())) {
      // Segments: as many as fill the SMs once with the (head, column block) CTAs of one
      // request, at most kMaxSegments (segmentOf splits only requests longer than their share of
      // the batch). Not more: every segment but a request's last reads its K and V twice (the
      // states pass, then the outputs pass): at H = 64, d = e = 128 (128 CTAs a request) a
      // split of 2 moves 1.25x the bytes of q, k, v and o (one request of 16384 tokens: 1342
      // MB, 317 us at the H200's copy rate, past issue 13's 300 us bar).
      const int64_t ctas = dimOf(op.getQ(), 1) * columnBlocks(e);
      const int64_t splits = std::clamp<int64_t>(target.getSmCount() / ctas, 1, kMaxSegments);
      // The one-warpgroup kernel keeps two stages (kFallbackStages, also for mma.sync): two
      // CTAs fit an SM (105 KB each at d = 128), which a batch that fills the SMs more than once
      // needs (4 x 4096 tokens lost 14% at four stages; H200, H = 64, d = e = 128).
      // "wgmma" on 8 warps: the plan's two-warpgroup kernel for launches of one wave, the
      // one-warpgroup kernel past that (see lowerLinearAttnPrefill). H200, bf16, H = 64 and
      // d = e = 128 unless given, against the one-warpgroup kernel alone (warps = 4), same run:
      // 1 x 4096 tokens 109.8 / 131.1 us, 1 x 16384 413.7 / 489.5, H = 16 1 x 16384 180.9 /
      // 196.2, H = 8 1 x 65536 (8 segments) 338.7 / 365.2, d = e = 64 82.8 / 85.9; batches past
      // one wave run the same kernel either way (4 x 4096 426.3 / 425.7, 2 x 4096 215.9 / 215.9).
      // On 8 warps the two-warpgroup kernel holds an SM alone, so it takes four stages where
      // they fit (the one-warpgroup kernel past one wave keeps two). H100 80GB HBM3, same runs
      // (twice, within 1.2 us), 8 warps at 4 / 2 stages: 1 x 4096 115.9 / 117.1 us, 1 x 16384
      // 428.3 / 434.4, and the split launches H = 16 1 x 16384 175.0 / 186.1, H = 8 1 x 65536
      // 326.5 / 350.3, d = e = 64 1 x 4096 77.0 / 95.1; three warpgroups (12 warps, four stages)
      // 120.1 / 440.5 / 169.1 / 326.3 / 83.7 there, so 8 stays the choice.
      // A static batch whose launch takes more than one wave has the one-warpgroup kernel
      // alone (lowerLinearAttnPrefill's gate folds): 4 warps at two stages, as that gate picks.
      if (hasWgmma(target) && manyWarpgroupsNeverRun(op, splits, target))
        return KernelConfigAttr::get(ctx, kChunk, kWarps, splits, kFallbackStages, 8,
                                     kWgmmaVariant);
      if (hasWgmma(target))
        return KernelConfigAttr::get(
            ctx, kChunk, 2 * kWarps, splits,
            wgmmaSmemTotal(d, kMaxWgmmaStages, 2) <= target.getSmemPerBlock() ? kMaxWgmmaStages
                                                                               : kFallbackStages,
            8, kWgmmaVariant);
      return KernelConfigAttr::get(ctx, kChunk, kWarps, splits, 2, 8, kChunkedVariant);
    }
    return KernelConfigAttr::get(ctx, 1, kRecWarps, 1, 1, kVecE, kRecurrentVariant);
  };
  f.verify = [](Operation *operation, KernelConfigAttr cfg, TargetAttr target) -> LogicalResult {
    auto op = cast<LinearAttnPrefillOp>(operation);
    const int64_t d = dimOf(op.getQ(), 2), e = dimOf(op.getV(), 2);
    if (failed(verifyUnusedConfigFields(op, cfg, kUseBlockTokens | kUseWarps | kUseSplits |
                                                     kUseStages | kUseVectorWidth | kUseVariant)))
      return failure();
    if (cfg.getVariant() == kChunkedVariant || cfg.getVariant() == kWgmmaVariant) {
      if (cfg.getSplits() < 1 || cfg.getSplits() > kMaxSegments)
        return configError(op, "splits")
               << "(segments of a request, ds.linear_attn_prefill's segment split) must be in [1, "
               << kMaxSegments << "], got " << cfg.getSplits();
    } else if (failed(expectConfigField(op, "splits", cfg.getSplits(), 1,
                                        "the recurrent kernel does not split requests"))) {
      return failure();
    }
    if (cfg.getVariant() == kWgmmaVariant && !hasWgmma(target))
      return configError(op, "variant")
             << "\"wgmma\" needs warpgroup MMA (target sm_90a), got " << target.getChip();
    if (cfg.getVariant() == kWgmmaVariant && cfg.getWarps() > kWarps &&
        manyWarpgroupsNeverRun(op, cfg.getSplits(), target))
      return configError(op, "warps")
             << "(" << cfg.getWarps() / kWarps << " warpgroups) launches nothing at these sizes: "
             << "that kernel runs where the launch's CTAs fit the SMs once, and "
             << dimOf(op.getStateIndices(), 0) << " requests take "
             << launchCtas(op, cfg.getSplits()) << " of " << target.getSmCount()
             << " (the one-warpgroup kernel runs, at " << kFallbackStages
             << " stages); use warps = " << kWarps << " and stages = " << kFallbackStages;
    if (cfg.getVariant() == kChunkedVariant || cfg.getVariant() == kWgmmaVariant) {
      if (failed(expectConfigField(op, "block_tokens", cfg.getBlockTokens(), kChunk,
                                   "tokens per chunk of the tensor-core kernel")) ||
          failed(expectConfigField(op, "vector_width", cfg.getVectorWidth(), 8,
                                   "16-byte cp.async copies")))
        return failure();
      // One warpgroup (16 rows of a chunk per warp); "wgmma" also runs on two, one computing
      // the outputs, the other the state, or on three, two of them computing the outputs of
      // alternate chunks.
      if (cfg.getVariant() == kWgmmaVariant) {
        if (cfg.getWarps() != kWarps && cfg.getWarps() != 2 * kWarps &&
            cfg.getWarps() != 3 * kWarps)
          return configError(op, "warps")
                 << "(of the \"wgmma\" kernel) must be " << kWarps << " (one warpgroup), "
                 << 2 * kWarps << " (an output and a state warpgroup) or " << 3 * kWarps
                 << " (two output warpgroups and a state one), got " << cfg.getWarps();
      } else if (failed(expectConfigField(op, "warps", cfg.getWarps(), kWarps,
                                          "16 rows of a chunk per warp"))) {
        return failure();
      }
      if (cfg.getVariant() == kChunkedVariant &&
          failed(expectConfigField(op, "stages", cfg.getStages(), 2, "double-buffered chunk loads")))
        return failure();
      if (cfg.getVariant() == kWgmmaVariant) {
        if (cfg.getWarps() == 3 * kWarps) {
          if (failed(expectConfigField(op, "stages", cfg.getStages(), kThreeWarpgroupStages,
                                       "the ring of the \"wgmma\" kernel on 12 warps: two chunks "
                                       "read by the outputs, one weighted ahead, one loading")))
            return failure();
        } else if (cfg.getStages() < 2 || cfg.getStages() > kMaxWgmmaStages) {
          return configError(op, "stages")
                 << "(chunks in flight of the \"wgmma\" kernel) must be in [2, "
                 << kMaxWgmmaStages << "], got " << cfg.getStages();
        }
        // The plan's largest kernel (the one-warpgroup kernel beside it runs two stages).
        const int64_t bytes = wgmmaSmemTotal(d, cfg.getStages(), cfg.getWarps() / kWarps);
        if (chunkedTiles(d, e) && bytes > target.getSmemPerBlock())
          return configError(op, "stages")
                 << cfg.getStages() << " stages of the \"wgmma\" kernel on " << cfg.getWarps()
                 << " warps need " << bytes
                 << " bytes of shared memory, the target has " << target.getSmemPerBlock();
      }
      if (op.getChunkSize() != kChunk)
        return configError(op, "variant")
               << "\"" << cfg.getVariant() << "\" computes chunks of " << kChunk
               << " tokens, the op's chunk_size is " << op.getChunkSize()
               << ": use \"recurrent\" or chunk_size = " << kChunk;
      if (op.getKeepIntermediate())
        return configError(op, "variant")
               << "\"" << cfg.getVariant()
               << "\" does not write intermediate states: keep_intermediate needs \"recurrent\"";
      if (!chunkedTiles(d, e))
        return configError(op, "variant")
               << "\"" << cfg.getVariant() << "\" tiles key dims 8 to 128 and value dims of at least 8, both "
                  "multiples of 8 (16-byte rows), got d = "
               << d << ", e = " << e;
      return success();
    }
    if (cfg.getVariant() != kRecurrentVariant)
      return configError(op, "variant") << "must be \"chunked\", \"wgmma\" or \"recurrent\", got \""
                                        << cfg.getVariant() << "\"";
    if (failed(expectConfigField(op, "block_tokens", cfg.getBlockTokens(), 1,
                                 "the recurrent kernel walks token by token")) ||
        failed(expectConfigField(op, "warps", cfg.getWarps(), kRecWarps,
                                 "the recurrent kernel's CTA")) ||
        failed(expectConfigField(op, "stages", cfg.getStages(), 1, "no pipelined loads")) ||
        failed(expectConfigField(op, "vector_width", cfg.getVectorWidth(), kVecE,
                                 "16-byte vectors of the f32 state")) ||
        failed(verifyLinearAttnValueDim(op, e)))
      return failure();
    const int64_t step = kRecWarps * (32 / (e / kVecE)); // state rows a step of the CTA holds
    const int64_t rows = d / step + (d % step != 0);     // no overflow at huge d
    if (d > recurrentMaxKeyDim(e))
      return op->emitOpError("GPU lowering holds at most 128 state values per thread; key dim ")
             << d << " with value dim " << e << " needs " << rows * kVecE;
    return success();
  };
  f.lower = lowerLinearAttnPrefill;
  registerKernelFamily(std::move(f));
}
