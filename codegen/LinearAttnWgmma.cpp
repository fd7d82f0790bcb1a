// Linear-attention prefill on Hopper's warpgroup MMA (variant "wgmma", sm_90a).
//
// The same chunked algorithm and CTA shape as the mma.sync kernel (LinearAttnPrefill.cpp): one
// warpgroup (4 warps) per (request, head, 64-wide block of e) walks the request's 64-token chunks
// with its f32 slice S[dp, 64] of the state in registers, Q, K, V staged by cp.async one chunk
// ahead. The products run as wgmma.mma_async m64n64k16, B always and A mostly in shared memory
// (P is the register A operand of O += P V), each shared tile laid out in 128-byte-swizzle atoms
// (8 rows of 128 bytes, 16-byte chunk c of row r at c ^ (r % 8), every tile 1024-byte aligned):
//   O  = Q S_prev            A = Q [64 x dp] K-major,   B = S_prev [dp x 64] (input type) N-major
//   P  = Q Kᵀ                A = Q,                     B = K [64 x dp] K-major
//   P ⊙= M, O *= diag(λ^(a+1)) in registers; P (input type) stays there as an A operand;
//   Vw = diag(λ^(n-1-b)) V   (input type, shared memory)
//   O += P V                 A = P [64 x 64] registers, B = V [64 x 64] N-major
//   S  = λ^n S + Kᵀ Vw       A = K (M-major, one m64 product per 64 rows of dp), B = Vw N-major
// Two warpgroups (config warps = 8): the state's chain (Vw, S = λ^n S + Kᵀ Vw) no longer waits
// for the outputs' products, nor they for it. Warpgroup 1 keeps S in registers and writes S_c (input
// type) to one of two shared slots; warpgroup 0 computes chunk c's outputs from S_(c-1), written
// in the chunk before, at the same time (P = Q Kᵀ committed first, so that its mask overlaps
// O = Q S_prev). One barrier of the CTA per chunk. At three or more stages warpgroup 1 weights
// the next chunk's V while its product runs (two Vw tiles); at two it weights this chunk's first
// and publishes Vw to itself through named barrier 1.
// Q and K are stored as dp / 64 tiles of [64 x 64] (one atom wide); V, S_prev and Vw are
// [rows x 64]. An accumulator of m64n64 holds, per thread, the values of rows 16 w + g and
// 16 w + g + 8 at columns 8 j + 2 t, + 1 (warp w, lane 4 g + t): mma.sync's C layout per warp, so
// the decay, the mask and the stores are those of the mma.sync kernel.
#include "codegen/LinearAttnPrefill.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"


using namespace mlir;
using namespace mlir::ds;
using namespace mlir::ds::linear_attn;

namespace {
constexpr int64_t kTile = kChunk * 64; // elements of a [64 x 64] tile of 16-bit values (8 KB)
constexpr int64_t kAtomAlign = 1024;   // bytes: where a 128-byte swizzle pattern starts
constexpr int64_t kGroupBytes = 1024;  // 8 rows of 128 bytes: the stride of 8-row groups
constexpr int64_t kKStepBytes = 32;    // k16 of a K-major operand inside its 128-byte rows

/// wgmma.mma_async m64n64k16 (f32 accumulate) of one warpgroup, operands in shared memory.
class Wgmma {
public:
  Wgmma(KernelBuilder &kb, Type elem)
      : kb(kb), b(kb.b()), f32(b.getF32Type()),
        type(elem.isBF16() ? NVVM::WGMMATypes::bf16 : NVVM::WGMMATypes::f16) {
    acc = LLVM::LLVMStructType::getLiteral(b.getContext(), SmallVector<Type>(kAcc, f32));
  }
  static constexpr int64_t kAcc = 32; // f32 per thread of an m64n64 accumulator

  /// An operand tile's descriptor: 128-byte swizzle, 8-row groups 1024 bytes apart; the
  /// leading-dimension offset is unused (every operand is one atom, 64 elements, along its
  /// leading dimension) and set to 16 bytes. Its low half for the 16-byte aligned shared address
  /// `addr` (i64, below 256 KB): the start address in 16-byte units (bits 0-13) and the
  /// leading-dimension offset. Adding n 16-byte units to it gives the low half at addr + 16 n
  /// (no carry leaves bits 0-13 while the address stays in shared memory).
  Value descriptorLow(Value addr) {
    Type i64 = b.getI64Type();
    auto c64 = [&](int64_t v) { return arith::ConstantIntOp::create(b, i64, v); };
    Value start = arith::ShRUIOp::create(b, arith::AndIOp::create(b, addr, c64(0x3FFFF)), c64(4));
    return arith::TruncIOp::create(b, b.getI32Type(), arith::OrIOp::create(b, start, c64(1 << 16)));
  }
  /// The descriptor whose low half is `low` (i32): the stride offset and the swizzle mode above.
  Value descriptorFromLow(Value low) {
    Type i64 = b.getI64Type();
    const int64_t high = (int64_t(kGroupBytes >> 4) << 32) | (int64_t(1) << 62);
    return arith::OrIOp::create(b, arith::ExtUIOp::create(b, i64, low),
                                arith::ConstantIntOp::create(b, i64, high));
  }

  /// acc = A B (+ acc when `in` is not empty). `aKMajor` / `bKMajor`: the operand's rows run
  /// along K (else along M / N).
  SmallVector<Value> mma(Value descA, bool aKMajor, Value descB, bool bKMajor,
                         ArrayRef<Value> in) {
    Value init = LLVM::UndefOp::create(b, acc);
    for (auto [i, v] : llvm::enumerate(in))
      init = LLVM::InsertValueOp::create(b, init, v, ArrayRef<int64_t>{int64_t(i)});
    auto scaleD = in.empty() ? NVVM::WGMMAScaleOut::zero : NVVM::WGMMAScaleOut::one;
    Value r = NVVM::WgmmaMmaAsyncOp::create(
        b, acc, init, descA, descB, NVVM::MMAShapeAttr::get(b.getContext(), 64, 64, 16), type,
        type, NVVM::WGMMATypes::f32, scaleD, NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one,
        aKMajor ? NVVM::MMALayout::row : NVVM::MMALayout::col,
        bKMajor ? NVVM::MMALayout::col : NVVM::MMALayout::row, nullptr);
    SmallVector<Value> out;
    for (int64_t i = 0; i < kAcc; ++i)
      out.push_back(LLVM::ExtractValueOp::create(b, r, ArrayRef<int64_t>{i}));
    return out;
  }
  /// acc = A B + acc with A in registers: `a`, four i32 (two 16-bit values each) per thread in
  /// the layout of an m64n64 accumulator's columns 16 ks .. 16 ks + 15 (mma.sync's A fragment of
  /// warp w's rows 16 w ..), B in shared memory. The NVVM op takes A from shared memory only, so
  /// this one instruction is inline PTX, its accumulators tied in and out.
  SmallVector<Value> mmaRegA(ArrayRef<Value> a, Value descB, bool bKMajor, ArrayRef<Value> in) {
    assert(a.size() == 4 && in.size() == size_t(kAcc) && "four A registers, a full accumulator");
    std::string text = "{\n.reg .pred p;\nsetp.ne.b32 p, $69, 0;\nwgmma.mma_async.sync.aligned."
                       "m64n64k16.f32." +
                       std::string(type == NVVM::WGMMATypes::bf16 ? "bf16.bf16" : "f16.f16") + " {";
    std::string constraints;
    for (int64_t i = 0; i < kAcc; ++i) {
      text += (i ? ", $" : "$") + std::to_string(i);
      constraints += "=f,";
    }
    text += "}, {$64, $65, $66, $67}, $68, p, 1, 1, " + std::string(bKMajor ? "0" : "1") + ";\n}";
    for (int64_t i = 0; i < kAcc; ++i)
      constraints += std::to_string(i) + ",";
    constraints += "r,r,r,r,l,r";
    SmallVector<Value> operands(in.begin(), in.end());
    operands.append(a.begin(), a.end());
    operands.push_back(descB);
    operands.push_back(arith::ConstantIntOp::create(b, b.getI32Type(), 1)); // scale-d: accumulate
    Value r = LLVM::InlineAsmOp::create(b, TypeRange{acc}, operands, text, constraints,
                                        /*has_side_effects=*/true, /*is_align_stack=*/false,
                                        LLVM::tailcallkind::TailCallKind::None,
                                        LLVM::AsmDialectAttr(), ArrayAttr())
                  .getResult(0);
    SmallVector<Value> out;
    for (int64_t i = 0; i < kAcc; ++i)
      out.push_back(LLVM::ExtractValueOp::create(b, r, ArrayRef<int64_t>{i}));
    return out;
  }
  void fence() { NVVM::WgmmaFenceAlignedOp::create(b); }
  /// Commits the products issued since the last commit as one group.
  void commit() { NVVM::WgmmaGroupSyncAlignedOp::create(b); }
  /// Waits until at most `pending` committed groups are in flight, then passes the accumulators
  /// `accs` (the results of the products waited for) through empty volatile inline asm, which
  /// LLVM keeps after the wait: with no data dependence on the wait, a use of an accumulator
  /// could otherwise be scheduled above it (undefined behaviour in the PTX ISA; CUTLASS's
  /// warpgroup_fence_operand).
  void wait(ArrayRef<SmallVector<Value> *> accs = {}, int64_t pending = 0) {
    NVVM::WgmmaWaitGroupSyncOp::create(b, pending);
    for (SmallVector<Value> *a : accs)
      for (size_t i = 0; i < a->size(); i += kAcc) {
        const size_t n = std::min<size_t>(kAcc, a->size() - i);
        std::string constraints;
        for (size_t j = 0; j < n; ++j)
          constraints += "=f,";
        for (size_t j = 0; j < n; ++j)
          constraints += std::to_string(j) + (j + 1 < n ? "," : "");
        auto type = LLVM::LLVMStructType::getLiteral(
            b.getContext(), SmallVector<Type>(n, b.getF32Type()));
        Value r = LLVM::InlineAsmOp::create(b, TypeRange{type},
                                            ArrayRef<Value>(*a).slice(i, n), "", constraints,
                                            /*has_side_effects=*/true, /*is_align_stack=*/false,
                                            LLVM::tailcallkind::TailCallKind::None,
                                            LLVM::AsmDialectAttr(), ArrayAttr())
                      .getResult(0);
        for (size_t j = 0; j < n; ++j)
          (*a)[i + j] = LLVM::ExtractValueOp::create(b, r, ArrayRef<int64_t>{int64_t(j)});
      }
  }
  /// Orders this thread's earlier shared-memory writes (stores, cp.async) before later reads by
  /// the async proxy (wgmma's operand loads); a barrier after it publishes them to the warpgroup.
  void fenceProxy() {
    NVVM::FenceProxyOp::create(
        b, NVVM::ProxyKind::async_shared,
        NVVM::SharedSpaceAttr::get(b.getContext(), NVVM::SharedSpace::shared_cta));
  }

private:
  KernelBuilder &kb;
  ImplicitLocOpBuilder &b;
  Type f32;
  NVVM::WGMMATypes type;
  Type acc;
};
} // namespace

LogicalResult linear_attn::buildWgmma(LinearAttnPrefillOp op, PlanContext &ctx,
                                      const BufferRef &states, const BufferRef &out,
                                      PrefillPass pass, const BufferRef *ws, int64_t splits,
                                      int64_t stages, int64_t warpgroups,
                                      const PlanExpr &gate) {
  Value q = op.getQ();
  const int64_t h = dimOf(q, 1), d = dimOf(q, 2), e = dimOf(op.getV(), 2);
  const int64_t dp = paddedKeyDim(d), nE = columnBlocks(e);
  const bool padD = dp != d, padE = e % kEBlock != 0;
  const int64_t kd = dp / 16, mTiles = dp / 64;
  assert(warpgroups >= 1 && warpgroups <= 3 && "the config checks warps");
  const bool two = warpgroups == 2, three = warpgroups == 3;
  assert(!(three && pass == PrefillPass::States) && "three warpgroups compute outputs");
  const int64_t threads = warpgroups * kWarps * 32, wgThreads = kWarps * 32;
  // Shared memory, in 16-bit elements from a 1024-byte boundary: `stages` stages of Q, K (mTiles
  // tiles each) and V; then S_prev [dp x 64] (one slot per warpgroup) and Vw. P never goes
  // through shared memory: it is the register A operand of O += P V (measured on the H200 at
  // H = 64, d = e = 128: 4 x 4096 tokens 427 us against 440 us with P in shared memory). One
  // warpgroup: 105 KB at dp = 128 and two stages with the alignment slack, two CTAs fit an SM.
  const int64_t stageElems = 2 * kChunk * dp + kTile, sSlot = dp * kEBlock;
  const int64_t sOff = stages * stageElems, vwOff = sOff + warpgroups * sSlot;
  // Vw: one tile, two where the next chunk's is weighted while the state reads this one's (three
  // warpgroups; two at three or more stages, weightsAhead, where the outputs are computed: the
  // states pass, whose state warpgroup has the CTA's time to itself, keeps the copies' longer
  // lead instead, and leaves the second tile unused).
  const bool ahead = weightsAhead(warpgroups, stages) && pass != PrefillPass::States;
  const int64_t smemElems = vwOff + vwTiles(warpgroups, stages) * kTile;
  assert(smemElems * 2 + kAtomAlign == wgmmaSmemBytes(d, stages, warpgroups) &&
         "the layout the config checks");
  // The ring waits for all but stages - 2 copy groups each chunk, stages - 3 weighting ahead (the
  // config checks stages >= 2; three warpgroups run their own ring of four, below).
  assert(stages >= 2 && "the config checks stages");
  Type elem = cast<RankedTensorType>(q.getType()).getElementType();

  const bool whole = pass == PrefillPass::Whole, statesPass = pass == PrefillPass::States;
  const std::string name = std::string(statesPass ? "linear_attn_prefill_wgmma_states"
                                                  : "linear_attn_prefill_wgmma") +
                           (two ? "_2wg" : three ? "_3wg" : "");
  KernelBuilder kb(ctx.kernels, ctx.kernelName(name), op->getLoc());
  addParams(kb, op, ctx, states, out, ws);
  kb.begin(threads, (dimPlan(ctx, op.getStateIndices(), 0) * (h * nE) * gate).text(),
           std::to_string(whole ? 1 : statesPass ? splits - 1 : splits), "1",
           std::to_string(smemElems * 2 + kAtomAlign));
  ImplicitLocOpBuilder &b = kb.b();
  Type f32 = b.getF32Type();
  Wgmma wg(kb, elem);
  ChunkedCTA cta = chunkedCTA(kb, h, d, e, pass, ws, splits);
  Value qM = cta.q, kM = cta.k, vM = cta.v, sM = cta.states, eBase = cta.eBase, head = cta.head,
        g = cta.g, tig = cta.tig;
  const Request &r = cta.r;
  // The thread's warpgroup, and its thread and warp in it: the accumulator layouts are a
  // warpgroup's. With one warpgroup those are the CTA's.
  ChunkedCTA wcta = cta;
  // Two warpgroups: this thread computes the state (warpgroup 1); three: warpgroup 0 does, 1 and
  // 2 compute the outputs of even and odd chunks.
  Value isState;
  if (two || three) {
    isState = arith::CmpIOp::create(b, three ? arith::CmpIPredicate::ult : arith::CmpIPredicate::uge,
                                    cta.tid, kb.c(wgThreads));
    wcta.tid = kb.rem(cta.tid, kb.c(wgThreads));
    wcta.warp = kb.rem(cta.warp, kb.c(kWarps));
  }
  Value tid = wcta.tid, warp = wcta.warp;

  // The dynamic shared memory from its first 1024-byte boundary (the swizzle pattern is a
  // function of the address: every tile must start on one).
  Value raw = kb.dynamicShared(b.getI8Type(), kb.c(smemElems * 2 + kAtomAlign));
  Value rawAddr = memref::ExtractAlignedPointerAsIndexOp::create(b, raw);
  Value pad = kb.rem(kb.sub(kb.c(kAtomAlign), kb.rem(rawAddr, kb.c(kAtomAlign))), kb.c(kAtomAlign));
  Value smem = kb.dynamicShared(elem, kb.c(smemElems), pad);
  Value smemAddr = arith::IndexCastOp::create(b, b.getI64Type(), kb.add(rawAddr, pad));
  // Descriptor of the operand at element offset `off` (index, a multiple of 8: every tile and
  // slot starts on a 1024-byte boundary) plus `bytes` (a multiple of 16): the dynamic shared
  // memory's descriptor low half plus off / 8 + bytes / 16 in 32 bits, so that operands of one
  // tile (the same `off`) differ by a constant only (one add each, not a 64-bit address, mask,
  // shift and or).
  Value descLow0 = wg.descriptorLow(smemAddr);
  auto desc = [&](Value off, int64_t bytes) {
    assert(bytes % 16 == 0 && "16-byte units");
    Value units = arith::IndexCastOp::create(b, b.getI32Type(), kb.div(off, kb.c(8)));
    Value low = arith::AddIOp::create(b, arith::AddIOp::create(b, descLow0, units),
                                      kb.ci32(static_cast<int32_t>(bytes / 16)));
    return wg.descriptorFromLow(low);
  };

  Value tbl, l2; // λ^i, i = 0..64
  std::tie(tbl, l2) = decayTable(kb, cta);
  Value stateBase = kb.mul(kb.add(kb.mul(r.slot, kb.c(h)), head), kb.c(d * e));
  // Chunk `c` of the request into stage `stage` (cp.async by the `loaderThreads` threads of
  // `loader`: every thread of the CTA, three warpgroups' two output warpgroups, or warpgroup 0
  // of the two-warpgroup states pass; zero-filled past the request's end and past d / e).
  ChunkedCTA loader = cta;
  if (three) // the output warpgroups' threads 0 .. 255
    loader.tid = kb.sub(cta.tid, kb.c(wgThreads));
  // The states pass on two warpgroups: warpgroup 0, which has no outputs to compute, issues
  // every copy, off the state's chain (H100, H = 16, 1 x 16384 tokens: that pass 55.7 -> 51.2
  // us). Where warpgroup 0 computes outputs, each warpgroup issues half of them: warpgroup 0
  // issuing all of them made the outputs the longer chain (1 x 16384 tokens at H = 64: 414.9
  // -> 447.2 us).
  const bool wg0Copies = two && statesPass;
  const int64_t loaderThreads = three ? 2 * wgThreads : wg0Copies ? wgThreads : threads;
  auto loadChunk = [&](Value c, Value stage) {
    Value base = kb.mul(stage, kb.c(stageElems));
    Value first = kb.add(r.start, kb.mul(c, kb.c(kChunk)));
    // Rows of `rowElems` in shared memory (tiles of 64 columns) from rows of `srcRowElems` at
    // column `srcCol`.
    auto copy = [&](Value src, int64_t rowElems, int64_t srcRowElems, Value srcCol, bool padded,
                    Value dst, int64_t count) {
      copyChunkRows(
          kb, loader, smem, first, src, h, rowElems / 8, srcRowElems, srcCol, padded, count,
          [&](Value row, Value ch) {
            Value tileOff = kb.mul(kb.div(ch, kb.c(8)), kb.c(kTile));
            return kb.add(kb.add(dst, tileOff), swizzled(kb, row, kb.rem(ch, kb.c(8)), kEBlock));
          },
          loaderThreads);
    };
    const int64_t qkCopies = kChunk * dp / 8 / loaderThreads;
    if (!statesPass) // the states pass reads K and V only
      copy(qM, dp, d, kb.c(0), padD, base, qkCopies);
    copy(kM, dp, d, kb.c(0), padD, kb.add(base, kb.c(kChunk * dp)), qkCopies);
    copy(vM, kEBlock, e, eBase, padE, kb.add(base, kb.c(2 * kChunk * dp)),
         kChunk * kEBlock / 8 / loaderThreads);
  };
  // Chunk `c` into stage c % stages where the request has it, then a commit group (empty past
  // the request's chunks: every thread counts one group per chunk slot).
  auto loadChunkIf = [&](Value c, Value numChunks) {
    Value cond = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, c, numChunks);
    if (wg0Copies)
      cond = arith::AndIOp::create(
          b, cond, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, cta.tid, kb.c(wgThreads)));
    auto any = scf::IfOp::create(b, cond, false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&any.getThenRegion().front());
      loadChunk(c, kb.rem(c, kb.c(stages)));
    }
    NVVM::CpAsyncCommitGroupOp::create(b);
  };

  Operation *top = openChunkedBody(kb, cta, pass, h, e, elem, threads);

  // State values of this thread (of the state's warpgroup): rows 64 mt + 16 w + 8 half + g (an
  // m64 accumulator per 64 rows), columns 8 nt + 2 t (+ 1).
  const StateSlice sl(kb, wcta, 16, 64, d, e);
  auto sIdx = StateSlice::index;
  // S (input type) into the S_prev slot at element offset `slot`, by stmatrix: a warp's
  // accumulator pairs of 16 rows x 16 columns are four 8 x 8 matrices in the layout stmatrix
  // takes (thread l holds row l / 4, columns 2 (l % 4), + 1), so one stmatrix.x4 writes them;
  // lane l gives the address of row l % 8 of matrix m = l / 8 (row 8 (m % 2) + l % 8 of the
  // warp's 16, columns 8 (2 j + m / 2) of the 64): 16 contiguous bytes at their swizzled place.
  Value lane = kb.rem(tid, kb.c(32)), lm = kb.div(lane, kb.c(8));
  Value laneRow = kb.add(kb.add(kb.mul(warp, kb.c(16)), kb.mul(kb.rem(lm, kb.c(2)), kb.c(8))),
                         kb.rem(lane, kb.c(8)));
  Value laneChunk = kb.div(lm, kb.c(2));
  // Two f32 rounded to the input type, as the i32 that holds them.
  auto packPair = [&](Value x, Value y) -> Value {
    auto v2 = VectorType::get({2}, f32);
    Value v = arith::TruncFOp::create(b, VectorType::get({2}, elem),
                                      vector::FromElementsOp::create(b, v2, ValueRange{x, y}));
    return LLVM::BitcastOp::create(b, b.getI32Type(), v);
  };
  auto writeSmemS = [&](Value slot, ArrayRef<Value> s) {
    auto ptrTy = LLVM::LLVMPointerType::get(b.getContext(), 3);
    for (int64_t mt = 0; mt < mTiles; ++mt)
      for (int64_t j = 0; j < 4; ++j) {
        Value row = kb.add(kb.c(64 * mt), laneRow);
        Value off = kb.add(slot, swizzled(kb, row, kb.add(kb.c(2 * j), laneChunk), kEBlock));
        Value addr = arith::AddIOp::create(
            b, smemAddr, arith::IndexCastOp::create(b, b.getI64Type(), kb.mul(off, kb.c(2))));
        Value ptr = LLVM::IntToPtrOp::create(b, ptrTy, addr);
        SmallVector<Value> src;
        for (int64_t m = 0; m < 4; ++m) {
          const int64_t nt = 2 * j + m / 2, half = m % 2;
          src.push_back(packPair(s[sIdx(mt, nt, 2 * half)], s[sIdx(mt, nt, 2 * half + 1)]));
        }
        NVVM::StMatrixOp::create(b, ptr, src, NVVM::MMALayout::row,
                                 NVVM::LdStMatrixShapeAttr::get(b.getContext(), 8, 8),
                                 NVVM::LdStMatrixEltType::B16);
      }
  };
  // Slot i % warpgroups (two or three warpgroups): S_c goes to slot c % warpgroups, S_(-1) (the
  // initial state) to the last.
  auto slotOf = [&](Value i) {
    return kb.add(kb.c(sOff), kb.mul(kb.rem(i, kb.c(warpgroups)), kb.c(sSlot)));
  };

  const int64_t pairs = mTiles * Wgmma::kAcc / 2;
  auto pairAt = [&](int64_t p) { return sl.pairAt(p); };
  StateHome home{sM, stateBase, cta.ws, cta.wsRequest, l2, h * d * e};
  SmallVector<Value> init;
  if (warpgroups == 1) {
    init = initialState(kb, pass, r, cta.seg, home, pairs, pairAt);
    if (!statesPass)
      writeSmemS(kb.c(sOff), init);
  } else {
    // The state's warpgroup loads it and leaves S_(-1) in the last slot for chunk 0's outputs;
    // the output warpgroups carry zeros they never read.
    SmallVector<Type> types(2 * pairs, f32);
    auto ifState = scf::IfOp::create(b, types, isState, true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifState.getThenRegion().front());
    SmallVector<Value> s0 = initialState(kb, pass, r, cta.seg, home, pairs, pairAt);
    if (!statesPass)
      writeSmemS(slotOf(kb.c(warpgroups - 1)), s0);
    scf::YieldOp::create(b, s0);
    b.setInsertionPointToStart(&ifState.getElseRegion().front());
    scf::YieldOp::create(b, SmallVector<Value>(2 * pairs, kb.cf32(0.0f)));
    init.assign(ifState.getResults().begin(), ifState.getResults().end());
  }
  Value numChunks = kb.div(kb.add(kb.sub(r.end, r.start), kb.c(kChunk - 1)), kb.c(kChunk));
  if (!three) // three warpgroups: the output warpgroups' first copies are in their branch
    for (int64_t i = 0; i + 1 < stages; ++i)
      loadChunkIf(kb.c(i), numChunks);

  // What every chunk multiplies by, in registers (the same for every chunk): this thread's
  // values of the decay mask M[a, b] = λ^(a-b) where a >= b, else 0 (accumulator layout), and
  // the row decays λ^(a+1).
  gpu::BarrierOp::create(b); // the table is written
  Value rowA = kb.add(kb.mul(warp, kb.c(16)), g), rowB = kb.add(rowA, kb.c(8));
  Value decA = memref::LoadOp::create(b, tbl, ValueRange{kb.add(rowA, kb.c(1))});
  Value decB = memref::LoadOp::create(b, tbl, ValueRange{kb.add(rowB, kb.c(1))});
  SmallVector<Value> mask;
  for (int64_t i = 0; i < Wgmma::kAcc; ++i) {
    Value key = kb.add(kb.c(8 * (i / 4) + i % 2), kb.mul(tig, kb.c(2)));
    mask.push_back(causalDecay(kb, tbl, i % 4 < 2 ? rowA : rowB, key));
  }

  // The products and the element-wise steps of a chunk, shared by both forms.
  auto qkDesc = [&](Value tileBase, int64_t ks) {
    return desc(tileBase, (ks / 4) * kTile * 2 + (ks % 4) * kKStepBytes);
  };
  auto stateOutput = [&](Value qBase, Value sBase, SmallVector<Value> &o) { // O = Q S_prev
    for (int64_t ks = 0; ks < kd; ++ks)
      o = wg.mma(qkDesc(qBase, ks), true, desc(sBase, ks * 2 * kGroupBytes), false, o);
  };
  auto scores = [&](Value qBase, Value kBase, SmallVector<Value> &p) { // P = Q Kᵀ
    for (int64_t ks = 0; ks < kd; ++ks)
      p = wg.mma(qkDesc(qBase, ks), true, qkDesc(kBase, ks), true, p);
  };
  // Vw = diag(λ^(n-1-b)) V: this thread's four 16-byte pieces (of its warpgroup's), at the same
  // swizzled places.
  auto weightV = [&](Value vBase, Value n, Value vwBase) {
    for (int64_t i = 0; i < kTile / 8 / wgThreads; ++i) {
      Value idx = kb.add(tid, kb.c(i * wgThreads));
      Value key = kb.div(idx, kb.c(8));
      Value off = swizzled(kb, key, kb.rem(idx, kb.c(8)), kEBlock);
      Value w = keyDecay(kb, tbl, key, n);
      auto v8 = VectorType::get({8}, elem), f8 = VectorType::get({8}, f32);
      Value v = vector::LoadOp::create(b, v8, smem, ValueRange{kb.add(vBase, off)});
      Value scaled = arith::MulFOp::create(b, arith::ExtFOp::create(b, f8, v),
                                           vector::BroadcastOp::create(b, f8, w));
      vector::StoreOp::create(b, arith::TruncFOp::create(b, v8, scaled), smem,
                              ValueRange{kb.add(vwBase, off)});
    }
  };
  // λ^n S (after the products that defined S were waited for: ptxas would otherwise wait for the
  // products in flight itself).
  auto decayState = [&](SmallVector<Value> &s, Value n) {
    Value decN = memref::LoadOp::create(b, tbl, ValueRange{n});
    for (Value &x : s)
      x = arith::MulFOp::create(b, x, decN);
  };
  auto decayOutput = [&](SmallVector<Value> &o) { // O *= diag(λ^(a+1))
    for (int64_t i = 0; i < Wgmma::kAcc; ++i)
      o[i] = arith::MulFOp::create(b, o[i], i % 4 < 2 ? decA : decB);
  };
  // P ⊙= M into the A registers of the k16 step ks (pairs 8 ks + 2 j, + 1 of the accumulator in
  // register j).
  auto maskScores = [&](ArrayRef<Value> p) {
    SmallVector<Value> pRegs;
    for (int64_t i = 0; i < Wgmma::kAcc; i += 2) {
      Value x = arith::MulFOp::create(b, p[i], mask[i]);
      Value y = arith::MulFOp::create(b, p[i + 1], mask[i + 1]);
      pRegs.push_back(packPair(x, y));
    }
    return pRegs;
  };
  auto valueOutput = [&](ArrayRef<Value> pRegs, Value vBase, SmallVector<Value> &o) { // O += P V
    for (int64_t ks = 0; ks < kChunk / 16; ++ks)
      o = wg.mmaRegA(pRegs.slice(4 * ks, 4), desc(vBase, ks * 2 * kGroupBytes), false, o);
  };
  // S = λ^n S + Kᵀ Vw (one m64 product per 64 rows of S), k16 steps over the keys.
  auto updateState = [&](Value kBase, Value vwBase, SmallVector<Value> &s) {
    for (int64_t mt = 0; mt < mTiles; ++mt) {
      SmallVector<Value> acc(s.begin() + mt * Wgmma::kAcc, s.begin() + (mt + 1) * Wgmma::kAcc);
      for (int64_t ks = 0; ks < kChunk / 16; ++ks)
        acc = wg.mma(desc(kBase, mt * kTile * 2 + ks * 2 * kGroupBytes), false,
                     desc(vwBase, ks * 2 * kGroupBytes), false, acc);
      std::copy(acc.begin(), acc.end(), s.begin() + mt * Wgmma::kAcc);
    }
  };
  auto storeOutput = [&](ArrayRef<Value> o, Value n, Value chunkStart) {
    storeOutputRows(kb, cta, rowA, rowB, n, chunkStart, h, e, elem,
                    [&](int64_t nt, int64_t i) { return o[nt * 4 + i]; });
  };
  // Vw slot t % 2 (of two).
  auto vwSlot = [&](Value t) {
    return kb.add(kb.c(vwOff), kb.mul(kb.rem(t, kb.c(2)), kb.c(kTile)));
  };
  // Chunk c's stage (its Q, K and V tiles), its first token and its tokens.
  struct ChunkTiles {
    Value q, k, v, start, n;
  };
  auto tilesOf = [&](Value c) {
    ChunkTiles t;
    t.q = kb.mul(kb.rem(c, kb.c(stages)), kb.c(stageElems));
    t.k = kb.add(t.q, kb.c(kChunk * dp));
    t.v = kb.add(t.q, kb.c(2 * kChunk * dp));
    t.start = kb.add(r.start, kb.mul(c, kb.c(kChunk)));
    t.n = kb.minIdx(kb.sub(r.end, t.start), kb.c(kChunk));
    return t;
  };
  // Where V is weighted a chunk ahead (three warpgroups; two at three or more stages): the state
  // warpgroup issues and commits chunk c's S = λ^n S + Kᵀ Vw_c (not waited for), Vw_c in slot
  // c % 2, weighted in chunk c - 1 and published by the CTA's barrier; chunk 0's is weighted here
  // and published to the warpgroup by named barrier 1.
  auto issueStateAhead = [&](Value c, const ChunkTiles &ch, SmallVector<Value> &s) {
    kb.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, c, kb.c(0)), [&] {
      weightV(ch.v, ch.n, vwSlot(c));
      wg.fenceProxy();
      NVVM::BarrierOp::create(b, TypeRange{}, kb.ci32(1), kb.ci32(wgThreads), {}, Value());
    });
    decayState(s, ch.n);
    wg.fence();
    updateState(ch.k, vwSlot(c), s);
    wg.commit();
  };
  // Vw_next into slot next % 2 where the request has chunk `next` (the slot was last read by
  // chunk next - 2's product, waited for).
  auto weightNext = [&](Value next) {
    kb.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::ult, next, numChunks), [&] {
      ChunkTiles nx = tilesOf(next);
      weightV(nx.v, nx.n, vwSlot(next));
    });
  };

  // Three warpgroups: the state's chain alone is serial, so everything else leaves it. The CTA
  // moves in steps, one barrier each (steps 0 to numChunks): in step t warpgroup 0 computes
  // S_t = λ^n S_(t-1) + Kᵀ Vw_t into S slot t % 3 from Vw_t in Vw slot t % 2 (weighted by the
  // state's warpgroup itself for t = 0). Output warpgroup 1 + (c % 2) issues chunk c's
  // P = Q Kᵀ and O = Q S_(c-1) (S slot (c + 2) % 3, published by step c's barrier) in step c,
  // weights Vw_(c+1) while they run, and in step c + 1, with the products still in flight across
  // its barrier, masks P, adds P V and stores chunk c's rows, while the other output warpgroup
  // starts chunk c + 1. So step s reads chunks s - 1 to s + 1 (complete at its barrier: the copies
  // are one step ahead) and fills chunk s - 2's stage with chunk s + 2 (four stages); S_(s-2)'s
  // slot and Vw_(s-1)'s are free once it starts. The output warpgroups issue every copy (one
  // group each a step; warpgroup 0 none).
  auto buildThreeWarpgroups = [&]() {
    // One CTA an SM (.minnctapersm 1 with .maxntid 384: 168 registers a thread at entry, which
    // setmaxnreg needs to know); the state's warpgroup then gives registers to the output
    // warpgroups: 128 x 120 + 256 x 192 <= 65536. ptxas (sm_90a, d = e = 128): no spills at
    // 120 / 192; at 112 / 200 the state's loop spills, at 152 / 176 the outputs' do (and at
    // 168 each, 116 bytes).
    kb.setMinBlocksPerSM(1);
    constexpr int32_t kStateRegs = 120, kOutputRegs = 192;
    assert(stages == kThreeWarpgroupStages && "the plan passes the fixed ring");
    // Step `t`'s barrier: chunks t and t + 1 are complete and visible to the async proxy, and so
    // are S_(t-1) and Vw_t; then (output warpgroups) the copies of chunk t + 2.
    auto step = [&](Value t, bool copies) {
      NVVM::CpAsyncWaitGroupOp::create(b, stages - 4);
      wg.fenceProxy();
      gpu::BarrierOp::create(b);
      if (copies)
        loadChunkIf(kb.add(t, kb.c(stages - 2)), numChunks);
    };
    auto role = scf::IfOp::create(b, isState, /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&role.getThenRegion().front());
      NVVM::SetMaxRegisterOp::create(b, kStateRegs, NVVM::SetMaxRegisterAction::decrease);
      auto loop = scf::ForOp::create(b, kb.c(0), numChunks, kb.c(1), init);
      {
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(loop.getBody());
        Value t = loop.getInductionVar();
        SmallVector<Value> s(loop.getRegionIterArgs());
        step(t, false);
        issueStateAhead(t, tilesOf(t), s);
        wg.wait({&s});
        writeSmemS(slotOf(t), s);
        scf::YieldOp::create(b, s);
      }
      step(numChunks, false); // the last chunk's outputs
      SmallVector<Value> last(loop.getResults());
      finalState(kb, pass, cta.seg, home, last, pairAt);
    }
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&role.getElseRegion().front());
    NVVM::SetMaxRegisterOp::create(b, kOutputRegs, NVVM::SetMaxRegisterAction::increase);
    // The output warpgroups: warpgroup 1 + x computes chunks x, x + 2, ..., each in two steps.
    for (int64_t i = 0; i + 2 < stages; ++i)
      loadChunkIf(kb.c(i), numChunks);
    Value x = kb.sub(kb.div(cta.tid, kb.c(wgThreads)), kb.c(1));
    Value odd = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, x, kb.c(1));
    kb.ifThen(odd, [&] { step(kb.c(0), true); });
    auto loop = scf::ForOp::create(b, x, numChunks, kb.c(2));
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(loop.getBody());
      Value c = loop.getInductionVar();
      ChunkTiles ch = tilesOf(c);
      step(c, true);
      SmallVector<Value> o, p;
      wg.fence();
      scores(ch.q, ch.k, p);
      wg.commit();
      stateOutput(ch.q, slotOf(kb.add(c, kb.c(2))), o);
      wg.commit();
      Value next = kb.add(c, kb.c(1));
      weightNext(next);
      step(next, true);
      wg.wait({&p}, 1);
      SmallVector<Value> pRegs = maskScores(p);
      wg.wait({&o});
      decayOutput(o);
      wg.fence();
      valueOutput(pRegs, ch.v, o);
      wg.commit();
      wg.wait({&o});
      storeOutput(o, ch.n, ch.start);
    }
    // Steps 0 to numChunks for every warpgroup: one more where numChunks + x is even.
    Value even = arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                       kb.rem(kb.add(numChunks, x), kb.c(2)), kb.c(0));
    kb.ifThen(even, [&] { step(numChunks, true); });
  };

  if (three) {
    buildThreeWarpgroups();
    b.setInsertionPointAfter(top);
    ctx.addLaunch(kb.finish());
    return success();
  }
  auto loop = scf::ForOp::create(b, kb.c(0), numChunks, kb.c(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value c = loop.getInductionVar();
    SmallVector<Value> s(loop.getRegionIterArgs());
    // This chunk's tiles (its group is complete once at most stages - 2 later ones are pending)
    // and S_prev, written in the previous chunk, are complete and visible to the async proxy;
    // every product of the previous chunk has completed (each thread waited for its own), so its
    // stage is free for chunk c + stages - 1, whose copies are issued first: issued after this
    // chunk's first products they kept more registers live across them (68 bytes spilled at
    // d = 128 instead of 12) and cost 15-30% on the H200 (one warpgroup).
    // Weighting ahead, the next chunk's tiles are complete too (one group fewer pending).
    NVVM::CpAsyncWaitGroupOp::create(b, ahead ? stages - 3 : stages - 2);
    wg.fenceProxy();
    gpu::BarrierOp::create(b);
    loadChunkIf(kb.add(c, kb.c(stages - 1)), numChunks);
    const ChunkTiles ch = tilesOf(c);
    Value qBase = ch.q, kBase = ch.k, vBase = ch.v, chunkStart = ch.start, n = ch.n;

    if (!two) {
      // O = Q S_prev and P = Q Kᵀ (not in the states pass), Vw while they run.
      SmallVector<Value> o, p;
      if (!statesPass) {
        wg.fence();
        stateOutput(qBase, kb.c(sOff), o);
        scores(qBase, kBase, p);
        wg.commit();
      }
      weightV(vBase, n, kb.c(vwOff));
      if (!statesPass)
        wg.wait({&o, &p});
      decayState(s, n);
      SmallVector<Value> pRegs;
      if (!statesPass) {
        decayOutput(o);
        pRegs = maskScores(p);
      }
      wg.fenceProxy();
      gpu::BarrierOp::create(b); // Vw complete
      // O += P V; S = λ^n S + Kᵀ Vw.
      wg.fence();
      if (!statesPass)
        valueOutput(pRegs, vBase, o);
      updateState(kBase, kb.c(vwOff), s);
      wg.commit();
      wg.wait({&o, &s});
      if (!statesPass) {
        // O rows inside the request.
        storeOutput(o, n, chunkStart);
        // S_prev for the next chunk (last read by this chunk's first products, which every
        // thread waited for before the barrier that published Vw; the next chunk's first
        // barrier orders these writes before any product reads them).
        writeSmemS(kb.c(sOff), s);
      }
      scf::YieldOp::create(b, s);
    } else {
      const SmallVector<Value> carried = s;
      auto role = scf::IfOp::create(b, TypeRange(ValueRange(s)), isState, true);
      {
        // Warpgroup 1: S_c = λ^n S_(c-1) + Kᵀ Vw, into slot c % 2 (last read by chunk c - 1's
        // outputs, waited for before this chunk's barrier; the next chunk's barrier publishes it).
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(&role.getThenRegion().front());
        if (!ahead) {
          weightV(vBase, n, kb.c(vwOff));
          decayState(s, n);
          wg.fenceProxy();
          NVVM::BarrierOp::create(b, TypeRange{}, kb.ci32(1), kb.ci32(wgThreads), {}, Value());
          wg.fence();
          updateState(kBase, kb.c(vwOff), s);
          wg.commit();
        } else { // Vw_(c + 1) weighted while this chunk's product runs
          issueStateAhead(c, ch, s);
          weightNext(kb.add(c, kb.c(1)));
        }
        wg.wait({&s});
        if (!statesPass)
          writeSmemS(slotOf(c), s);
        scf::YieldOp::create(b, s);
        // Warpgroup 0: chunk c's outputs from S_(c-1) in slot (c + 1) % 2.
        b.setInsertionPointToStart(&role.getElseRegion().front());
        if (!statesPass) {
          SmallVector<Value> o, p;
          wg.fence();
          scores(qBase, kBase, p);
          wg.commit();
          stateOutput(qBase, slotOf(kb.add(c, kb.c(1))), o);
          wg.commit();
          wg.wait({&p}, 1);
          SmallVector<Value> pRegs = maskScores(p);
          wg.wait({&o});
          decayOutput(o);
          wg.fence();
          valueOutput(pRegs, vBase, o);
          wg.commit();
          wg.wait({&o});
          storeOutput(o, n, chunkStart);
        }
        scf::YieldOp::create(b, carried);
      }
      scf::YieldOp::create(b, role.getResults());
    }
  }
  SmallVector<Value> last(loop.getResults());
  if (!two)
    finalState(kb, pass, cta.seg, home, last, pairAt);
  else
    kb.ifThen(isState, [&] { finalState(kb, pass, cta.seg, home, last, pairAt); });
  b.setInsertionPointAfter(top);
  ctx.addLaunch(kb.finish());
  return success();
}
