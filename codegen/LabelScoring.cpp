#include "codegen/LabelScoring.h"
#include "codegen/Lowering.h"
#include "dialect/DSOps.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

using namespace mlir;
using namespace mlir::ds;

namespace {
constexpr int64_t kMaxQRegs = 32; // f32 query-label values one thread keeps in registers

} // namespace

int64_t LabelScoreShape::vectorWidth() const {
  // 16 bytes of labels per load where r allows; low-bit labels are loaded as whole words.
  int64_t w = 128 / labelBits(), minW = lowBit() ? 32 / labelBits() : 1;
  while (w > minW && r % w != 0)
    w /= 2;
  return w;
}

llvm::SmallVector<std::pair<int64_t, int64_t>> mlir::ds::lowBitPairs(LabelFormat format) {
  if (format == LabelFormat::FP8)
    return {{0, 1}, {2, 3}};
  return {{0, 4}, {1, 5}, {2, 6}, {3, 7}};
}

// Low-bit caches keep the query rows in registers as f16 pairs (verifyLabelConfig bounds them).
bool LabelScoreShape::qShared() const { return !lowBit() && qRows() * r > kMaxQRegs; }

LogicalResult mlir::ds::verifyLabelConfig(Operation *op, KernelConfigAttr cfg,
                                          const LabelScoreShape &shape) {
  const int64_t w = cfg.getVectorWidth(), bits = shape.labelBits();
  if (shape.r % w != 0 || w * bits > 128 || (shape.lowBit() && (w * bits) % 32 != 0))
    return configError(op, "vector_width")
           << "must divide the label dim (" << shape.r << ") and fit 16 bytes"
           << (shape.lowBit() ? " in whole 32-bit words of labels" : "") << ", got " << w;
  if (shape.lowBit() && shape.qRows() * shape.r > 2 * kMaxQRegs)
    return op->emitOpError("with an fp8 or int4 label cache the query rows stay in registers: ")
           << "query rows scored apart (" << shape.qRows() << ") * labels (" << shape.r
           << ") must be <= " << 2 * kMaxQRegs;
  return success();
}

template <typename OpTy> LabelScoreShape LabelScoreShape::of(OpTy op) {
  auto cache = cast<RankedTensorType>(op.getLabelCache().getType());
  LabelFormat format = labelFormatOf(cache.getElementType());
  LabelScoreShape s{dimOf(op.getQLabel(), 1), cache.getDimSize(0),
                    cache.getDimSize(2) * labelsPerElement(format),
                    static_cast<int64_t>(op.getPageSize()), op.getGroupReduce(),
                    op.getScale().convertToFloat()};
  s.format = format;
  s.qBits = cast<RankedTensorType>(op.getQLabel().getType()).getElementTypeBitWidth();
  return s;
}
template LabelScoreShape LabelScoreShape::of(LabelScoreOp);
template LabelScoreShape LabelScoreShape::of(ScoreTopKOp);

LabelScorer::LabelScorer(KernelBuilder &kb, const LabelScoreShape &shape,
                         const LabelScoreArgs &args, int64_t threads, int64_t vectorWidth)
    : kb(kb), shape(shape), args(args), threads(threads), w(vectorWidth),
      vecs(shape.r / w) {
  ImplicitLocOpBuilder &b = kb.b();
  vecTy = VectorType::get({w}, b.getF32Type());
  negInf = kb.cf32(-std::numeric_limits<float>::infinity());
  zeroVec = arith::ConstantOp::create(b, DenseElementsAttr::get(vecTy, 0.0f));
  if (shape.qShared())
    qSmem = kb.addShared(b.getF32Type(), shape.qRows() * shape.r);
}

void LabelScorer::loadQuery(Value bIdxV, Value row) {
  ImplicitLocOpBuilder &b = kb.b();
  const GroupReduce reduce = shape.reduce;
  const int64_t g = shape.groupSize(), r = shape.r, qRows = shape.qRows();
  bIdx = bIdxV;
  hk = reduce == GroupReduce::none ? kb.div(row, kb.c(g)) : row;
  Value h0 = reduce == GroupReduce::none ? row : kb.mul(row, kb.c(g));
  // qv[j][c] is vector c of row j (a head of the group for max; for sum the group's heads
  // added up).
  int64_t groupHeads = reduce == GroupReduce::none ? 1 : g;
  Value scaleVec = vector::BroadcastOp::create(b, vecTy, kb.cf32(shape.scale));
  // w query labels of head h0 + j from channel c: q_label's row, or gathered from q's row through
  // the kv head's channels (a channel outside [0, d) reads 0, as ds.label_gather).
  auto loadQ = [&](Value j, Value c) -> Value {
    Value head = kb.add(kb.add(kb.mul(bIdx, kb.c(shape.hq)), h0), j);
    if (!args.channels)
      return kb.loadVecF32(args.qLabel, kb.add(kb.mul(head, kb.c(r)), c), w);
    SmallVector<Value> elems;
    for (int64_t i = 0; i < w; ++i) {
      Value ch = memref::LoadOp::create(
          b, args.channels, ValueRange{kb.add(kb.mul(hk, kb.c(r)), kb.add(c, kb.c(i)))});
      Value ok = kb.inRange(ch, kb.c(args.headDim));
      Value chIdx = arith::SelectOp::create(b, ok, kb.toIndex(ch), kb.c(0));
      Value x = kb.loadF32(args.qLabel, kb.add(kb.mul(head, kb.c(args.headDim)), chIdx));
      elems.push_back(arith::SelectOp::create(b, ok, x, kb.cf32(0.0f)));
    }
    return vector::FromElementsOp::create(b, vecTy, elems);
  };
  if (!qSmem) {
    qv.assign(qRows, SmallVector<Value>(vecs, zeroVec));
    for (int64_t j = 0; j < groupHeads; ++j) {
      int64_t dst = reduce == GroupReduce::max ? j : 0;
      for (int64_t cI = 0; cI < vecs; ++cI) {
        Value v = loadQ(kb.c(j), kb.c(cI * w));
        qv[dst][cI] = arith::AddFOp::create(b, qv[dst][cI], v);
      }
    }
    for (auto &rowVecs : qv)
      for (Value &v : rowVecs)
        v = arith::MulFOp::create(b, v, scaleVec);
    if (shape.lowBit())
      packLowBitQuery();
    return;
  }
  // max with many heads: the g scaled rows (contiguous in q_label) go to shared memory, one
  // vector per thread, and are read back as broadcast vectors.
  auto loop = scf::ForOp::create(b, kb.mul(kb.threadId(), kb.c(w)), kb.c(qRows * r),
                                 kb.c(threads * w));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value e = loop.getInductionVar();
    Value v = loadQ(kb.div(e, kb.c(r)), kb.rem(e, kb.c(r)));
    vector::StoreOp::create(b, arith::MulFOp::create(b, v, scaleVec), qSmem, ValueRange{e});
  }
  gpu::BarrierOp::create(b);
}

void LabelScorer::packLowBitQuery() {
  // Each row normalized to its largest magnitude m (f16 products and sums stay far from
  // overflow: |q| <= 1, |label| <= 1.75 for fp8 decoded times 2^-8, <= 15 for int4), then packed
  // as the f16 pairs the cache words decode into.
  ImplicitLocOpBuilder &b = kb.b();
  const int64_t perWord = 32 / shape.labelBits();
  const auto pairs = lowBitPairs(shape.format);
  auto pairTy = VectorType::get({2}, b.getF16Type());
  qh.assign(qv.size(), {});
  rowScale.assign(qv.size(), Value());
  for (size_t j = 0; j < qv.size(); ++j) {
    Value m = kb.cf32(0.0f);
    for (Value v : qv[j])
      for (int64_t e = 0; e < w; ++e) {
        Value x = vector::ExtractOp::create(b, v, e);
        m = kb.fmax(m, kb.fmax(x, arith::NegFOp::create(b, x)));
      }
    Value pos = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, m, kb.cf32(0.0f));
    Value inv = arith::SelectOp::create(
        b, pos, arith::DivFOp::create(b, kb.cf32(1.0f), m), kb.cf32(0.0f));
    for (Value v : qv[j])
      for (int64_t word = 0; word < w / perWord; ++word)
        for (auto [lo, hi] : pairs) {
          auto half = [&](int64_t e) -> Value {
            Value x = vector::ExtractOp::create(b, v, word * perWord + e);
            return arith::TruncFOp::create(b, b.getF16Type(), arith::MulFOp::create(b, x, inv));
          };
          Value lo16 = half(lo), hi16 = half(hi);
          qh[j].push_back(vector::FromElementsOp::create(b, pairTy, ValueRange{lo16, hi16}));
        }
    // fp8 words decode to the label times 2^-8.
    float factor = shape.format == LabelFormat::FP8 ? 256.0f : 1.0f;
    rowScale[j] = arith::MulFOp::create(b, m, kb.cf32(factor));
  }
}

Value LabelScorer::loadPage(Value t, Value inRow) {
  ImplicitLocOpBuilder &b = kb.b();
  auto ifPage = scf::IfOp::create(b, TypeRange{b.getI32Type()}, inRow, true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifPage.getThenRegion().front());
  Value page = memref::LoadOp::create(
      b, args.pageTable,
      ValueRange{kb.add(kb.mul(bIdx, args.maxPages), kb.div(t, kb.c(shape.pageSize)))});
  scf::YieldOp::create(b, ValueRange{page});
  b.setInsertionPointToStart(&ifPage.getElseRegion().front());
  scf::YieldOp::create(b, ValueRange{kb.ci32(-1)});
  return ifPage.getResult(0);
}

SmallVector<Value> LabelScorer::pages(llvm::ArrayRef<Value> pos, Value nb) {
  SmallVector<Value> out;
  for (Value t : pos)
    out.push_back(loadPage(t, arith::CmpIOp::create(kb.b(), arith::CmpIPredicate::ult, t, nb)));
  return out;
}

SmallVector<Value> LabelScorer::score(llvm::ArrayRef<Value> pos, Value nb) {
  return score(pos, nb, {});
}

SmallVector<Value> LabelScorer::score(llvm::ArrayRef<Value> pos, Value nb,
                                      llvm::ArrayRef<Value> pageOf) {
  ImplicitLocOpBuilder &b = kb.b();
  const int64_t unroll = pos.size(), pageSize = shape.pageSize, r = shape.r;
  auto cmp = [&](arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, p, x, y).getResult();
  };
  // 1. Page-table reads of the U tokens (unless pages() read them ahead), their slots.
  SmallVector<Value> valid, slotIdx;
  for (int64_t u = 0; u < unroll; ++u) {
    Value t = pos[u];
    Value ok = cmp(arith::CmpIPredicate::ult, t, nb);
    // slot = page * P + t % P in 64-bit signed arithmetic; valid when 0 <= slot < S.
    Value page = kb.toIndex(pageOf.empty() ? loadPage(t, ok) : pageOf[u]);
    Value slot = kb.add(kb.mul(page, kb.c(pageSize)), kb.rem(t, kb.c(pageSize)));
    ok = arith::AndIOp::create(b, ok, cmp(arith::CmpIPredicate::sge, slot, kb.c(0)));
    ok = arith::AndIOp::create(b, ok, cmp(arith::CmpIPredicate::slt, slot, args.slots));
    valid.push_back(ok);
    slotIdx.push_back(slot);
  }
  if (shape.lowBit())
    return scoreLowBit(valid, slotIdx);
  // 2. All label loads, in one branch (taken when the cache has slots): an invalid token reads
  // slot 0 of its head instead (its score is -inf below). With a branch per token LLVM moved
  // the widening to f32 into each token's branch (docs/performance.md, session 25, has the
  // H200 figures; low-bit labels keep a branch per token, measured no better with one).
  SmallVector<SmallVector<Value>> kv(unroll);
  SmallVector<std::pair<Value, Value>> at;
  for (int64_t u = 0; u < unroll; ++u) {
    Value slot = arith::SelectOp::create(b, valid[u], slotIdx[u], kb.c(0));
    Value base = kb.mul(kb.add(kb.mul(hk, args.slots), slot), kb.c(r));
    for (int64_t cI = 0; cI < vecs; ++cI)
      at.push_back({args.labelCache, kb.add(base, kb.c(cI * w))});
  }
  SmallVector<Value> raw =
      kb.loadVecsIf(cmp(arith::CmpIPredicate::sgt, args.slots, kb.c(0)), at, w);
  for (int64_t u = 0; u < unroll; ++u)
    for (int64_t cI = 0; cI < vecs; ++cI)
      kv[u].push_back(kb.widenF32(raw[u * vecs + cI]));
  // 3. Dot products. For max with shared q rows the group's rows are walked in a loop whose trip
  // count is a kernel parameter (g), so the q vectors are not all hoisted into registers; each q
  // vector is read once for the U tokens.
  auto dots = [&](llvm::function_ref<Value(int64_t)> qAt, SmallVector<Value> &best) {
    for (int64_t u = 0; u < unroll; ++u) {
      Value acc = arith::MulFOp::create(b, qAt(0), kv[u][0]);
      for (int64_t cI = 1; cI < vecs; ++cI)
        acc = vector::FMAOp::create(b, qAt(cI), kv[u][cI], acc);
      Value dot = kb.sumF32(acc);
      best[u] = best[u] ? kb.fmax(best[u], dot) : dot;
    }
  };
  SmallVector<Value> best(unroll);
  if (!qSmem) {
    for (SmallVector<Value> &q : qv)
      dots([&](int64_t cI) { return q[cI]; }, best);
  } else {
    SmallVector<Value> init(unroll, negInf);
    auto loop = scf::ForOp::create(b, kb.c(0), args.groupSize, kb.c(1), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value base = kb.mul(loop.getInductionVar(), kb.c(r));
      SmallVector<Value> q;
      for (int64_t cI = 0; cI < vecs; ++cI)
        q.push_back(
            vector::LoadOp::create(b, vecTy, qSmem, ValueRange{kb.add(base, kb.c(cI * w))}));
      SmallVector<Value> acc(loop.getRegionIterArgs().begin(), loop.getRegionIterArgs().end());
      dots([&](int64_t cI) { return q[cI]; }, acc);
      scf::YieldOp::create(b, acc);
    }
    best.assign(loop.getResults().begin(), loop.getResults().end());
  }
  for (int64_t u = 0; u < unroll; ++u)
    best[u] = arith::SelectOp::create(b, valid[u], best[u], negInf);
  return best;
}

SmallVector<Value> LabelScorer::scoreLowBit(llvm::ArrayRef<Value> valid,
                                            llvm::ArrayRef<Value> slotIdx) {
  ImplicitLocOpBuilder &b = kb.b();
  const int64_t unroll = valid.size();
  const int64_t perWord = 32 / shape.labelBits(), words = w / perWord;
  const int64_t rowWords = shape.r / perWord;
  Type i32 = b.getI32Type(), f16 = b.getF16Type(), f32 = b.getF32Type();
  auto wordsTy = VectorType::get({words}, i32);
  auto pairTy = VectorType::get({2}, f16);
  Value zeroWords = arith::ConstantOp::create(b, DenseElementsAttr::get(wordsTy, int32_t(0)));
  // f16 splats (an APFloat of the element's own semantics: a float one would be reinterpreted).
  auto halfSplat = [&](double v) -> Value {
    return arith::ConstantOp::create(b, DenseElementsAttr::get(pairTy, b.getF16FloatAttr(v).getValue()));
  };
  Value zeroPair = halfSplat(0.0);
  // 2. All label loads (whole words) and the tokens' scales.
  SmallVector<SmallVector<Value>> kw(unroll);
  SmallVector<Value> ks(unroll), zBias(unroll);
  for (int64_t u = 0; u < unroll; ++u) {
    SmallVector<Type> types(vecs, wordsTy);
    types.push_back(f16);
    auto ifLoad = scf::IfOp::create(b, types, valid[u], true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifLoad.getThenRegion().front());
      Value row = kb.add(kb.mul(hk, args.slots), slotIdx[u]);
      Value base = kb.mul(row, kb.c(rowWords));
      SmallVector<Value> loaded;
      for (int64_t cI = 0; cI < vecs; ++cI) {
        auto load = vector::LoadOp::create(b, wordsTy, args.labelCache,
                                           ValueRange{kb.add(base, kb.c(cI * words))});
        load.setAlignment(words * 4);
        loaded.push_back(load);
      }
      loaded.push_back(memref::LoadOp::create(b, args.labelScales, ValueRange{row}));
      scf::YieldOp::create(b, loaded);
      b.setInsertionPointToStart(&ifLoad.getElseRegion().front());
      SmallVector<Value> zeros(vecs, zeroWords);
      zeros.push_back(arith::ConstantOp::create(b, b.getF16FloatAttr(0.0)));
      scf::YieldOp::create(b, zeros);
    }
    kw[u].assign(ifLoad.getResults().begin(), ifLoad.getResults().begin() + vecs);
    Value scale = ifLoad.getResult(vecs);
    if (shape.format == LabelFormat::Int4) {
      // The scale's low 4 bits are the zero point z: labels read as s * (c - z). The f16 pair
      // 1024 + z, 1024 + z is z * 0x10001 + 0x64006400: (1024 + c) - (1024 + z) = c - z exactly.
      Value bits = arith::ExtUIOp::create(
          b, i32, arith::BitcastOp::create(b, b.getI16Type(), scale));
      Value z = arith::AndIOp::create(b, bits, kb.ci32(0xF));
      zBias[u] = LLVM::BitcastOp::create(
          b, pairTy,
          arith::AddIOp::create(b, arith::MulIOp::create(b, z, kb.ci32(0x00010001)),
                                kb.ci32(0x64006400)));
    }
    ks[u] = arith::ExtFOp::create(b, f32, scale);
  }
  // 3. Decode and dot products: f16 pairs per load, f32 across loads.
  const auto pairs = lowBitPairs(shape.format);
  auto decode = [&](Value word, int64_t p, Value bias) -> Value {
    Value h;
    if (shape.format == LabelFormat::FP8) {
      // Bytes 2p and 2p + 1 into the high bytes of the two halves, then the e4m3 fields into
      // f16's: sign kept, exponent and mantissa shifted right by one (the value times 2^-8).
      Value sel = kb.ci32(p == 0 ? 0x1404 : 0x3424);
      Value x = NVVM::PermuteOp::create(b, i32, word, kb.ci32(0), sel, NVVM::PermuteMode::DEFAULT);
      Value sign = arith::AndIOp::create(b, x, kb.ci32(static_cast<int32_t>(0x80008000u)));
      Value mag = arith::AndIOp::create(b, arith::ShRUIOp::create(b, x, kb.ci32(1)),
                                        kb.ci32(0x3F803F80));
      h = arith::OrIOp::create(b, sign, mag);
      return LLVM::BitcastOp::create(b, pairTy, h);
    }
    // int4: codes p and p + 4 as f16 1024 + c, less the token's 1024 + z.
    Value nib = arith::AndIOp::create(b, arith::ShRUIOp::create(b, word, kb.ci32(4 * p)),
                                      kb.ci32(0x000F000F));
    h = arith::OrIOp::create(b, nib, kb.ci32(0x64006400));
    Value v = LLVM::BitcastOp::create(b, pairTy, h);
    return arith::SubFOp::create(b, v, bias);
  };
  const int64_t pairsPerLoad = words * static_cast<int64_t>(pairs.size());
  SmallVector<Value> best(unroll);
  for (int64_t u = 0; u < unroll; ++u) {
    SmallVector<Value> wordsU;
    for (int64_t cI = 0; cI < vecs; ++cI)
      for (int64_t wi = 0; wi < words; ++wi)
        wordsU.push_back(vector::ExtractOp::create(b, kw[u][cI], wi));
    // The token's labels as f16 pairs in qh's order, each decoded where the first query row
    // uses it and reused by the others.
    SmallVector<Value> h(vecs * pairsPerLoad);
    for (size_t j = 0; j < qh.size(); ++j) {
      Value acc = kb.cf32(0.0f);
      for (int64_t cI = 0; cI < vecs; ++cI) {
        Value acc16 = zeroPair;
        for (int64_t i = cI * pairsPerLoad; i < (cI + 1) * pairsPerLoad; ++i) {
          if (!h[i])
            h[i] = decode(wordsU[i / pairs.size()], i % pairs.size(), zBias[u]);
          acc16 = vector::FMAOp::create(b, qh[j][i], h[i], acc16);
        }
        for (int64_t e = 0; e < 2; ++e)
          acc = arith::AddFOp::create(
              b, acc, arith::ExtFOp::create(b, f32, Value(vector::ExtractOp::create(b, acc16, e))));
      }
      Value dot = arith::MulFOp::create(b, acc, rowScale[j]);
      best[u] = best[u] ? kb.fmax(best[u], dot) : dot;
    }
    best[u] = arith::SelectOp::create(b, valid[u], arith::MulFOp::create(b, best[u], ks[u]),
                                      negInf);
  }
  return best;
}
