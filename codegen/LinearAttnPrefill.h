// Pieces shared by the linear-attention prefill kernels (LinearAttnPrefill.cpp: the mma.sync
// chunked kernel and the recurrent one; LinearAttnWgmma.cpp: the sm_90a warpgroup-MMA kernel).
#ifndef DS_CODEGEN_LINEARATTNPREFILL_H
#define DS_CODEGEN_LINEARATTNPREFILL_H

#include "codegen/Lowering.h"
#include "dialect/DSOps.h"

namespace mlir::ds::linear_attn {

constexpr int64_t kChunk = 64;  // tokens per chunk: 4 warps x 16 rows
constexpr int64_t kWarps = 4;   // the chunked kernels' CTA (one warpgroup)
constexpr int64_t kEBlock = 64; // columns of e (and of S) per CTA
/// The CTAs of one (request, head) of the tensor-core kernels: blocks of kEBlock columns of e.
inline int64_t columnBlocks(int64_t e) { return (e + kEBlock - 1) / kEBlock; }
constexpr float kLog2e = 1.4426950408889634f;

/// Whether the chunked kernels tile key dim `d` and value dim `e`: rows of whole 16-byte copies
/// (multiples of 8 elements), d padded to 64 or 128 in shared memory (d <= 128: the f32 state
/// slice stays in registers), e padded to whole blocks of 64 columns; the padding is zero-filled
/// on load and never stored.
inline bool chunkedTiles(int64_t d, int64_t e) {
  return d >= 8 && d <= 128 && d % 8 == 0 && e >= 8 && e % 8 == 0;
}
inline int64_t paddedKeyDim(int64_t d) { return d <= 64 ? 64 : 128; }
/// Whether the tensor-core kernels compute a prefill of these dims, chunk size and
/// keep_intermediate (the config pass's choice; the recurrent kernel takes the rest).
inline bool tensorCoreShape(int64_t d, int64_t e, int64_t chunkSize, bool keepIntermediate) {
  return chunkedTiles(d, e) && chunkSize == kChunk && !keepIntermediate;
}
/// The largest key dim the recurrent kernel holds with value dim `e` (one of 4, 8, ..., 128:
/// verifyLinearAttnValueDim): at most 128 f32 state values per thread.
int64_t recurrentMaxKeyDim(int64_t e);

/// Shared-memory element offset of 16-byte chunk `chunk` of row `row` in a row-major tile of
/// `rowElems` 16-bit elements (>= 64), the chunk index XOR-ed with the row's low 3 bits.
Value swizzled(KernelBuilder &kb, Value row, Value chunk, int64_t rowElems);

/// The request a CTA serves: its token range and state slot.
struct Request {
  Value start, end; // index
  Value slot;       // index, 0 when invalid
  Value slotOk, init;
};
Request loadRequest(KernelBuilder &kb, Value cuM, Value cuLen, Value slotM, Value initM,
                    Value req, Value tokensI32, Value numSlots);

/// Operands of the prefill op as kernel parameters, in one order for every kernel:
/// q k v slopes cu state_indices has_initial_state states o [intermediate] T slots cu-length.
void addParams(KernelBuilder &kb, LinearAttnPrefillOp op, PlanContext &ctx,
               const BufferRef &states, const BufferRef &out, const BufferRef *inter);

/// o = 0 over the request's tokens, columns [eBase, eBase + 64) (those below e), for a request
/// whose slot is invalid; `threads` threads (a multiple of 8).
void zeroOutput(KernelBuilder &kb, const Request &r, Value oM, Value eBase, Value head, int64_t h,
                int64_t e, Type elem, int64_t threads = kWarps * 32);

/// Segment split of a request's chunks (config `splits` = S > 1): the chunked kernel runs twice.
/// Pass 1 ("states") computes, for every segment but a request's last, the state its tokens
/// leave (the first segment from the request's initial state, the others from zero); pass 2
/// ("outputs") runs every segment from the state before it, composed from pass 1's, in parallel.
/// Request b of n_b tokens (c_b = cdiv(n_b, 64) chunks) in a batch of T tokens gets
///   segs_b = max(1, min(S, cdiv(c_b, L)))   L = max(kMinSegChunks, cdiv(cdiv(T, 64), S))
/// segments of cdiv(c_b, segs_b) chunks each (the last one shorter): requests shorter than their
/// share of the batch's chunks are not split. With S <= kMinSegChunks every segment but the last
/// is whole and the last is not empty. Workspace: B x S states [H, d, e] (f32): ws[b][0] the
/// request's initial state, ws[b][1 + i] what segment i leaves (from zero, or from the initial
/// state for i = 0).
enum class PrefillPass { Whole, States, Outputs };
constexpr int64_t kMinSegChunks = 8;
constexpr int64_t kMaxSegments = kMinSegChunks;
struct Segment {
  Value j;          // segment of this CTA (grid y)
  Value start, end; // its tokens (index)
  Value active;     // this CTA has a segment in its pass
  Value split;      // the request has more than one segment
  Value last;       // this is the request's last segment
  Value segTokens;  // tokens of every segment but the last
};
Segment segmentOf(KernelBuilder &kb, const Request &r, Value tokensI32, int64_t splits,
                  bool statesPass);
/// This thread's values of the state segment `seg` starts from (its request split): ws[b][0]
/// for the first segment, else sum over i < j of λ^((j-1-i) L) ws[b][1 + i] (L = segTokens).
/// `wsRequest`: element offset of ws[b][0][head]; `load(base)`: this thread's values of the
/// state at element offset `base` of the workspace; `l2` = -slope log2(e).
SmallVector<Value> segmentStart(KernelBuilder &kb, const Segment &seg, Value l2, Value wsRequest,
                                int64_t stateElems, TypeRange types,
                                llvm::function_ref<SmallVector<Value>(Value)> load);

/// This thread's values of the f32 state slice [d, 64 columns of e] a chunked kernel keeps in
/// registers, as pairs: pair p (values 2p and 2p + 1, two neighbouring columns) is at element
/// offset `at(p).first` of a [d, e] state; `at(p).second` is false where the pair is padding
/// (past d or e; null: never). Padding loads as 0 and is not stored.
using StatePairAt = llvm::function_ref<std::pair<Value, Value>(int64_t)>;
SmallVector<Value> loadState(KernelBuilder &kb, Value mem, Value base, int64_t pairs,
                             StatePairAt at);
void storeState(KernelBuilder &kb, Value mem, Value base, ArrayRef<Value> s, StatePairAt at);

/// Where a chunked kernel's states live: the slot's state at `stateBase` of `states`; in a
/// segment split the workspace `ws`, its request's states from `wsRequest` (each `stateElems`
/// apart); `l2` = -slope log2(e) of the CTA's head.
struct StateHome {
  Value states, stateBase, ws, wsRequest, l2;
  int64_t stateElems = 0;
};
/// The state a chunked kernel's CTA starts from in `pass`: the slot's (0 without an initial
/// state); in a split, the first segment's states pass starts from it and keeps a copy in
/// ws[b][0], the other segments start from 0 (states pass) or from the composed states before
/// them (outputs pass, segmentStart).
SmallVector<Value> initialState(KernelBuilder &kb, PrefillPass pass, const Request &r,
                                const Segment &seg, const StateHome &home, int64_t pairs,
                                StatePairAt at);
/// Where the CTA's final state goes: back to the slot (in a split, from the request's last
/// segment), or, in the states pass, what the segment leaves to ws[b][1 + j].
void finalState(KernelBuilder &kb, PrefillPass pass, const Segment &seg, const StateHome &home,
                ArrayRef<Value> s, StatePairAt at);

/// What both chunked kernels read first: their parameters (addParams' order, the workspace
/// after o in a split) and where the CTA is: column block, head and request of its block index,
/// its thread's warp, group (lane / 4) and thread in group, and its tokens (its segment's in a
/// split).
struct ChunkedCTA {
  Value q, k, v, slopes, states, o, ws, tokensI32;
  Value eBase, head, req, tid, lane, warp, g, tig;
  Request r;
  Segment seg;      // set in a split
  Value wsRequest;  // ws[b][0][head] in a split
};
ChunkedCTA chunkedCTA(KernelBuilder &kb, int64_t h, int64_t d, int64_t e, PrefillPass pass,
                      bool hasWs, int64_t splits);
/// This thread's part of the f32 state slice S[dp rows, 64 columns from eBase] a chunked kernel
/// keeps in registers, in the m16n8 accumulator layout: value i (0..3) of (mt, nt) is at row
/// warpRows w + mtRows mt + 8 (i / 2) + g (warp w), column 8 nt + 2 t + i % 2 of the CTA's
/// block; pair p = 16 mt + 2 nt + half holds values 2 half, 2 half + 1 of (mt, nt).
struct StateSlice {
  /// `rowBase`: warpRows w built once by the caller (else built at each use). The two give the
  /// same values but not the same PTX: each kernel keeps the form its PTX had before StateSlice.
  StateSlice(KernelBuilder &kb, const ChunkedCTA &cta, int64_t warpRows, int64_t mtRows, int64_t d,
             int64_t e, Value rowBase = {});
  Value rowBase() const; // warpRows w
  Value row(int64_t mt, int64_t half) const;
  Value col(int64_t nt) const;
  static int64_t index(int64_t mt, int64_t nt, int64_t i) { return (mt * 8 + nt) * 4 + i; }
  /// Whether (mt, half, nt)'s pair is inside the d x e state; null (and no op built) without
  /// padding.
  Value inside(int64_t mt, int64_t half, int64_t nt) const;
  /// Pair p as loadState / storeState take it: its element offset in a [d, e] state, inside().
  std::pair<Value, Value> pairAt(int64_t p) const;

  KernelBuilder &kb;
  Value warp, g, tig, eBase, base;
  int64_t warpRows, mtRows, d, e;
  bool padD, padE;
};

/// The decay table λ^i (i = 0..64) of the CTA's head in shared memory (filled, not yet
/// published by a barrier), and l2 = -slope log2(e).
std::pair<Value, Value> decayTable(KernelBuilder &kb, const ChunkedCTA &cta);
/// From the decay table `tbl`: λ^(a-key) where a >= key, else 0 (M[a, key], the intra-chunk
/// decay mask).
Value causalDecay(KernelBuilder &kb, Value tbl, Value a, Value key);
/// From the decay table `tbl`: λ^(n-1-key) for a key among the chunk's n tokens, else 0 (what
/// the state update weights key `key` by).
Value keyDecay(KernelBuilder &kb, Value tbl, Value key, Value n);
/// Opens the CTA's work: nothing for a split's CTA without a segment in its pass; an invalid
/// slot writes o = 0 over the CTA's tokens (not in the states pass; the CTA's `threads`).
/// Leaves the builder where a valid slot's work goes and returns the op to continue after.
Operation *openChunkedBody(KernelBuilder &kb, const ChunkedCTA &cta, PrefillPass pass, int64_t h,
                           int64_t e, Type elem, int64_t threads = kWarps * 32);
/// cp.async of `count` 16-byte pieces per thread (of the CTA's `threads`, `cta.tid` each) of a
/// chunk's rows (tokens from `first`) of `src` ([T, H, srcRowElems], from column `srcCol`) into
/// shared memory at `dstOff(row, piece)`; pieces past the CTA's tokens (and with `padded`, at or
/// past column srcRowElems) are zero-filled, not read. A chunk wholly inside the CTA's tokens
/// (unpadded, `threads` a multiple of `piecesPerRow`) copies without bounds, its offsets a
/// per-thread invariant plus constants.
void copyChunkRows(KernelBuilder &kb, const ChunkedCTA &cta, Value smem, Value first, Value src,
                   int64_t h, int64_t piecesPerRow, int64_t srcRowElems, Value srcCol,
                   bool padded, int64_t count, llvm::function_ref<Value(Value, Value)> dstOff,
                   int64_t threads = kWarps * 32);
/// The chunk's o rows `rowA`, `rowB` (of its `n` tokens from `chunkStart`), this thread's
/// columns 8 nt + 2 t (+ 1) of the CTA's block, `at(nt, i)` the value of (nt, row i / 2, column
/// i % 2) in f32.
void storeOutputRows(KernelBuilder &kb, const ChunkedCTA &cta, Value rowA, Value rowB, Value n,
                     Value chunkStart, int64_t h, int64_t e, Type elem,
                     llvm::function_ref<Value(int64_t, int64_t)> at);

/// The warpgroup-MMA chunked kernel (sm_90a; LinearAttnWgmma.cpp), `stages` chunks of Q, K and
/// V in flight (config `stages`, 2 to kMaxWgmmaStages), on `warpgroups` warpgroups (config
/// `warps` / 4): 1, one warpgroup computes everything; 2, warpgroup 0 the outputs and
/// warpgroup 1 the state, at the same time; 3 (four stages; not the states pass), warpgroup 0
/// the state, warpgroups 1 and 2 the outputs of alternate chunks and the next chunk's weighted
/// V. The launch's grid is multiplied by `gate` (a plan
/// expression of 0 or 1: which of the plan's two forms a launch runs).
constexpr int64_t kMaxWgmmaStages = 4;
/// The three-warpgroup kernel's ring, fixed by its schedule (two chunks read by the outputs, one
/// weighted ahead, one loading): config `stages` must be this on 12 warps.
constexpr int64_t kThreeWarpgroupStages = 4;
/// The stages of the one-warpgroup kernel that a plan of two or three warpgroups launches past
/// one wave: two, so that two of its CTAs share an SM (105 KB each at d = 128); config `stages`
/// is that of the plan's larger kernel, which holds an SM alone anyway.
constexpr int64_t kFallbackStages = 2;
LogicalResult buildWgmma(LinearAttnPrefillOp op, PlanContext &ctx, const BufferRef &states,
                         const BufferRef &out, PrefillPass pass, const BufferRef *ws,
                         int64_t splits, int64_t stages, int64_t warpgroups,
                         const PlanExpr &gate = PlanExpr(1));
/// Whether the two-warpgroup kernel's state warpgroup weights the next chunk's V while its
/// product of this chunk is in flight (off its serial chain; two Vw tiles): where three or more
/// stages leave the next chunk's copies complete at the top of this one (the copies then lead by
/// stages - 2 chunks instead of stages - 1). H100 80GB HBM3, H = 64, d = e = 128, bf16, four
/// stages, against weighting in the chain: 1 x 4096 tokens 115.0-115.4 -> 112.7-113.0 us,
/// 1 x 16384 430.1-431.6 -> 412.9-414.9.
inline bool weightsAhead(int64_t warpgroups, int64_t stages) {
  return warpgroups == 2 && stages >= 3;
}
/// Its dynamic shared memory at key dim `d`: `stages` stages of Q, K ([64 x dp] each) and V
/// ([64 x 64]), S_prev [dp x 64] (one per warpgroup: with two the state warpgroup writes chunk
/// c's while the output warpgroup reads chunk c - 1's; with three, two chunks' outputs read two)
/// and the decay-weighted V [64 x 64] (two where the next chunk's is weighted while the state
/// reads this one's: three warpgroups, or weightsAhead), 16-bit elements, plus 1024 bytes to
/// align the first tile.
inline int64_t vwTiles(int64_t warpgroups, int64_t stages) {
  return warpgroups == 3 || weightsAhead(warpgroups, stages) ? 2 : 1;
}
inline int64_t wgmmaSmemBytes(int64_t d, int64_t stages, int64_t warpgroups) {
  const int64_t dp = paddedKeyDim(d);
  return (stages * (2 * kChunk * dp + kChunk * kEBlock) + warpgroups * dp * kEBlock +
          vwTiles(warpgroups, stages) * kChunk * kEBlock) *
             2 +
         1024;
}
/// Its static shared memory: the decay table (decayTable, 2 * kChunk f32).
constexpr int64_t kWgmmaStaticSmemBytes = 2 * kChunk * 4;
/// Both: what the config pass and the verifier hold against the target's shared memory.
inline int64_t wgmmaSmemTotal(int64_t d, int64_t stages, int64_t warpgroups) {
  return wgmmaSmemBytes(d, stages, warpgroups) + kWgmmaStaticSmemBytes;
}

} // namespace mlir::ds::linear_attn

#endif // DS_CODEGEN_LINEARATTNPREFILL_H
