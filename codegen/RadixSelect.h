#ifndef DS_CODEGEN_RADIXSELECT_H
#define DS_CODEGEN_RADIXSELECT_H

// Radix select of the k largest f32 scores of one row by one CTA, shared by the topk kernel
// (scores in global memory) and the score_topk kernel (scores it computed into shared memory or
// a workspace, counting the first digit while scoring).
//
// Scores map to order-preserving u32 keys (`key = sign ? ~bits : bits | 0x80000000`). Three
// digit passes (bits 31..20, 19..10, 9..0) each zero a shared histogram, count the keys that
// match the prefix chosen so far (shared atomics), and find with a block-wide suffix scan the
// digit that holds the sel_k-th largest key and how many keys lie above it. The last digit fixes
// the threshold key T, `above` = #keys > T and `need` = sel_k - above ties. A final pass writes
// every position with key > T at [0, above) and the first `need` (in atomic order) with key == T
// at [above, sel_k) through two shared counters. Each pass reads the row coalesced (thread i
// reads i, i + threads, ...), 4 loads in flight per thread; a thread reads only the positions a
// caller that stores the row with the same mapping wrote itself.
#include "codegen/KernelBuilder.h"
#include "codegen/PlanExpr.h"
#include "dialect/DSTarget.h"
#include "passes/KernelFamily.h"

namespace mlir {
namespace ds {

/// A radix select runs on `warps * 32` threads with warps a power of two in [1, 32]; emits the
/// config error on `op` otherwise.
LogicalResult verifyRadixSelectWarps(Operation *op, KernelConfigAttr cfg);
/// The same for the config field `field` holding `warps` (a cluster kernel's `cluster_warps`).
LogicalResult verifyRadixSelectWarps(Operation *op, StringRef field, int64_t warps);
/// A select split over a cluster of `splits` CTAs per row: splits must be 1, 2, 4 or 8, and
/// above 1 the target must have thread-block clusters (sm_90) and the CTA at least 2 warps
/// (`warps`, or `cluster_warps` with `clusterWarps`: a family whose cluster kernel has a CTA size
/// of its own); emits the config error on `op` otherwise.
LogicalResult verifyClusterSplits(Operation *op, KernelConfigAttr cfg, TargetAttr target,
                                  bool clusterWarps = false);
/// The plan gate of a select's cluster variant (`ctas` CTAs per row): 1 when the rows' clusters
/// fit one CTA per SM of `target` (rows * ctas at most its SMs) and minN < n <= ctas *
/// keysPerCta, else 0 (folded where `rows` and `n` are constants).
PlanExpr clusterGate(TargetAttr target, const PlanExpr &rows, const PlanExpr &n, int64_t ctas,
                     int64_t keysPerCta, int64_t minN);
/// What an op's static sizes leave of the cluster variant whose gate is clusterGate: `rows` the
/// rows of its launches, `n` the row length where static (else ShapedType::kDynamic). Where no
/// launch takes it, `field` names the config field to blame and `why` says why (`field` is empty
/// where some launch may); `always` says whether every launch takes it (rows and n static, inside
/// its bounds: clusterGate folds to 1). A config whose cluster never runs is refused, and the
/// config pass does not choose one; where it always runs, the one-CTA kernels' fields are
/// neutral.
struct StaticRows; // codegen/Lowering.h
struct ClusterReach {
  StringRef field;
  std::string why;
  bool always = false;
};
ClusterReach clusterReach(TargetAttr target, const StaticRows &rows, int64_t n, int64_t ctas,
                          int64_t keysPerCta, int64_t minN);
/// The positions [lo, lo + n) of a row of `len` that the cluster's CTA `rank` holds: slices of
/// cdiv(len, ctas), the last ones shorter or empty. Index values.
std::pair<Value, Value> clusterSlice(KernelBuilder &kb, Value len, Value rank, int64_t ctas);

/// Keys in the sample of the sampled selects (32 runs of 128 spread over the row): the size of
/// the `sample` array of RadixSelect::selectClusterSampledBy.
constexpr int64_t kRadixSampleKeys = 4096;

class RadixSelect {
public:
  /// Adds the select's static shared memory (4096-bin i32 histogram, one i32 per warp, five
  /// counters: chosen digit, keys above it, the > T and == T write counters, the candidate
  /// list's) to the kernel `kb` is building; `threads` per CTA, a power of two in [32, 1024].
  RadixSelect(KernelBuilder &kb, int64_t threads);

  /// Order-preserving u32 key (as i32) of an f32 score.
  Value key(Value score);
  /// Zeroes the write counters and the first digit's histogram, then a barrier: the start of a
  /// select whose caller counts the first digit itself. Every thread of the CTA calls it.
  void clearFirstDigit();
  /// Counts `key` in the first digit's histogram (every key matches the empty prefix).
  void countFirstDigit(Value key);
  /// Positions >= `capacity` of a row whose first `capacity` scores are in `scores` (shared
  /// memory) live at spill[base + i - capacity] (global memory).
  struct Spill {
    Value buffer, base, capacity;
  };
  /// Writes to `out[outBase + j]`, j < selK, the positions i of the selK largest
  /// `scores[rowBase + i]`, i < len (len > selK, all indices `index`; scores a memref<?xf32> in
  /// any memory space): three digit passes over the row, then the write pass. Every thread of the
  /// CTA calls it (it has barriers).
  void select(Value scores, Value rowBase, Value len, int64_t selK, Value out, Value outBase);

  /// select() after the caller ran clearFirstDigit() and countFirstDigit() for every position
  /// (each thread for positions tid + m * threads), over one more pass of the row
  /// (`loadsInFlight` loads per thread; `fallbackLoadsInFlight` in the overflow fallback's
  /// walks): after
  /// digit 1, one pass writes the keys above its bucket straight to `out` and appends the bucket's
  /// (key, position) pairs to `list` (shared memory, 2 * listCap i32); digit 3 and the final pass
  /// then walk the list, or the row again when the bucket overflowed it.
  void selectCompacted(Value scores, Value rowBase, Value len, int64_t selK, Value out,
                       Value outBase, Value list, int64_t listCap, const Spill &spill = {},
                       int64_t loadsInFlight = 4, int64_t fallbackLoadsInFlight = 4);

  /// A walk over a row whose keys are computed, not stored: walk(body) calls body(position (an
  /// index), key) for every position of the row, each thread its own, the same keys on every
  /// call (score_topk rescoring its tokens).
  using RowWalk = llvm::function_ref<void(llvm::function_ref<void(Value, Value)>)>;
  /// The keys of positions `pos` (indices below the row's length), computed together.
  using KeysAt = llvm::function_ref<SmallVector<Value>(ArrayRef<Value>)>;
  /// selectCompacted() over walks instead of a stored row: `walk` splits the first digit's
  /// bucket off, `walkAgain` runs where the bucket overflowed the list. The caller counted the
  /// first digit after clearFirstDigit().
  void selectCompactedBy(RowWalk walk, RowWalk walkAgain, int64_t selK, Value out, Value outBase,
                         Value list, int64_t listCap);

  /// The two-pass select over walks: `walk` counts the first digit (after clearFirstDigit()),
  /// then selectCompactedBy(walk, walkAgain).
  void selectTwoPassBy(RowWalk walk, RowWalk walkAgain, int64_t selK, Value out, Value outBase,
                       Value list, int64_t listCap);

  /// select() in two passes over the row: one counts the first digit, then selectCompacted()
  /// with the candidate list `list` (shared memory, 2 * listCap i32). `loadsInFlight` loads per
  /// thread in each pass over the row. Every thread of the CTA calls it.
  void selectTwoPass(Value scores, Value rowBase, Value len, int64_t selK, Value out,
                     Value outBase, Value list, int64_t listCap, int64_t loadsInFlight);

  /// selectTwoPass() preceded, on rows of at least `minLen` positions, by a select that reads
  /// the row once: a sample of kSampleKeys scores (32 runs of 128 spread evenly over the row) puts
  /// a threshold key at the sample's r-th largest, r = cdiv(2 * selK * kSampleKeys, len) + 16 (a
  /// threshold expected to have about 2 * selK + 16 * len / kSampleKeys keys of the row at or
  /// above it); one pass over the row (16-byte loads, `loadsInFlight` per thread) appends every
  /// key at or above the threshold with its position to `list`; when the list then holds from
  /// selK to listCap keys, they include the selK largest and the select finishes on them (three
  /// digits and the write pass in shared memory). Otherwise (a sample that misled, dense ties) it
  /// falls back to selectTwoPass(), as it does without sampling for rows that are short, not
  /// 16-byte aligned (rowBase or `rowEnd`, the row's readable positions, not a multiple of 4) or
  /// whose expected list would not fit listCap with room to spare. Every thread of the CTA calls
  /// it.
  void selectSampled(Value scores, Value rowBase, Value len, Value rowEnd, int64_t selK,
                     Value out, Value outBase, Value list, int64_t listCap, int64_t loadsInFlight,
                     int64_t minLen);

  /// selectSampled() over keys that are computed, not loaded (score_topk scoring its row): the
  /// sample's kSampleKeys keys from `keysAt`, `batch` positions at a time; one `listWalk` over
  /// the row appends every key at or above the threshold to `list` (2 * listCap i32, at least
  /// kSampleKeys); where that list holds from selK to listCap keys the select finishes on it.
  /// Otherwise, and without sampling for rows shorter than `minLen` (at least kSampleKeys) or
  /// whose expected list would not fit listCap with room to spare (selectSampled's rule), the
  /// two-pass select over `walk`s of the row (selectCompactedBy): two walks, four where the first
  /// digit's bucket overflows the list. `len` > selK. Every thread of the CTA calls it.
  void selectSampledBy(Value len, int64_t selK, Value out, Value outBase, Value list,
                       int64_t listCap, int64_t minLen, int64_t batch, KeysAt keysAt,
                       RowWalk listWalk, RowWalk walk);

  /// select() of a row split over a thread-block cluster of `ctas` CTAs (2, 4 or 8; sm_90),
  /// called by every thread of every CTA of the cluster with the same `selK`, on at least 64
  /// threads: this CTA holds the row's positions [lo, lo + n) (n may be 0). One pass loads their
  /// scores (`loadsInFlight` per thread) into `keys` (shared memory, at least n i32) as keys and
  /// counts the first digit; the other passes read `keys`. Each digit: the CTA sums its counts
  /// by groups of bins, a cluster barrier, then the first warp of every CTA sums the cluster's
  /// group sums through distributed shared memory (`mapa`), picks the group, sums that group's
  /// bins over the cluster and picks the digit, the same in every CTA. The write pass takes its
  /// output slots from counters in the first CTA's shared memory (atom.shared::cluster); a last
  /// cluster barrier keeps them alive until every CTA is done. Adds 8.5 KB of static shared
  /// memory (the CTA's counts of digits 2 and 3 and the group sums; digit 1 is counted in the
  /// select's histogram).
  void selectCluster(Value scores, Value rowBase, Value lo, Value n, int64_t selK, Value out,
                     Value outBase, Value keys, int64_t ctas, int64_t loadsInFlight);
  /// selectCluster() whose first pass is the caller's: `fill`, called by every thread after the
  /// select's counts are zeroed, stores key(score) of position lo + i at `keys[i]` for every
  /// i < n and counts each with countFirstDigit() (score_topk scores its slice there).
  void selectClusterFilled(Value lo, Value n, int64_t selK, Value out, Value outBase, Value keys,
                           int64_t ctas, llvm::function_ref<void()> fill);
  /// selectClusterFilled() preceded, on rows of `len` >= `minLen` positions whose expected list
  /// fits (selectSampled's rule), by a select over a sampled threshold: the cluster's CTAs
  /// compute the sample's kRadixSampleKeys keys of the row (CTA `rank` (an index) the rank-th
  /// share, from `keysAt`, `batch` at a time) into `sample` (shared memory, kRadixSampleKeys
  /// i32) and read the other shares through distributed shared memory, so every CTA derives the
  /// same threshold; one `listWalk` over this CTA's slice appends every key at or above it to
  /// `list` (2 * listCap i32). Where the cluster's lists hold selK to listCap keys in all, the first
  /// CTA gathers them into its list and selects on them alone (a local select(); the other CTAs
  /// are done); otherwise every CTA runs selectClusterFilled(`fill`), whose `keys` may share
  /// memory with `list` and `sample`. No key of the row is stored on the sampled path.
  void selectClusterSampledBy(Value lo, Value n, Value len, Value rank, int64_t selK, Value out,
                              Value outBase, Value keys, Value list, Value sample,
                              int64_t listCap, int64_t ctas, int64_t minLen, int64_t batch,
                              KeysAt keysAt, RowWalk listWalk, llvm::function_ref<void()> fill);

private:
  /// The block-wide scan of `bins` histogram bins (after a barrier): the digit that holds the
  /// kRem-th largest key and how many keys lie in the bins above it (uniform values).
  std::pair<Value, Value> chooseDigit(int64_t bins, Value kRem) {
    return chooseDigit(hist, bins, kRem);
  }
  /// The same over the histogram `counts` (shared memory, `bins` i32).
  std::pair<Value, Value> chooseDigit(Value counts, int64_t bins, Value kRem);
  /// The three digit passes and the write pass of select() over candidates that
  /// `forEachCandidate(body)` walks, calling body(position as i32, key) for each (every thread its
  /// own; the same candidates on every call); the write counters must be zero.
  void selectOver(
      llvm::function_ref<void(llvm::function_ref<void(Value, Value)>)> forEachCandidate,
      int64_t selK, Value out, Value outBase);
  /// body(position, key) for each of the first `n` (an i32) (key, position) pairs of `list`, each
  /// thread its own (thread t the pairs t, t + threads, ...).
  void forEachListed(Value list, Value n, llvm::function_ref<void(Value, Value)> body);
  Value loadScore(Value scores, Value rowBase, Value i);
  /// The write pass's step for one key at position `pos` (i32): above the threshold T at the next
  /// slot of the > T counter, a tie at [aboveIdx, aboveIdx + need) while ties are still needed.
  void writeSelected(Value pos, Value key, Value T, Value need, Value aboveIdx, Value out,
                     Value outBase);
  Spill spill;
  /// body(i, key) for every position i < len of the row, `unroll` loads issued first.
  void forEachKey(Value scores, Value rowBase, Value len,
                  llvm::function_ref<void(Value, Value)> body, int64_t unroll = 4);
  void zeroCounters();
  /// The sampled select's frame (selectSampled, selectSampledBy): tried where len >= minLen,
  /// `moreConditions` and the expected list fits listCap with room to spare; then
  /// clearFirstDigit(), `fillSample(stride)` puts the sample's keys (32 runs of kSampleRun at
  /// c * stride) in list[0, kSampleKeys) and counts their first digit, `listAbove(low)` appends
  /// every key >= the threshold with its position to the list and counts them all in the list
  /// counter, and the select finishes on the list where it holds selK to listCap keys; else,
  /// after a barrier, `fallback()`.
  /// `sample` (default: `list`) is where fillSample puts the sample's keys; `finish(listN)`,
  /// where given, replaces the select on the list (listN its local count, an i32) and returns
  /// whether it selected (uniform over the CTA; false runs the fallback).
  void sampledSelect(Value len, int64_t selK, Value out, Value outBase, Value list,
                     int64_t listCap, int64_t minLen,
                     llvm::function_ref<SmallVector<Value>()> moreConditions,
                     llvm::function_ref<void(Value)> fillSample,
                     llvm::function_ref<void(Value)> listAbove,
                     llvm::function_ref<void()> fallback, Value sample = Value(),
                     llvm::function_ref<Value(Value)> finish = nullptr);
  /// body(s, key) for the sample's keys s in [first, first + count) (first an index, or none for
  /// 0), each thread its own (s = first + t + m * threads), `batch` of a thread's keys computed
  /// at once by `keysAt` (count a multiple of threads * batch, or below threads with batch 1).
  void forSampleKeys(Value stride, Value first, int64_t count, int64_t batch, KeysAt keysAt,
                     llvm::function_ref<void(Value, Value)> body);
  /// Whether a list of every key >= a threshold, `n` of them (an i32, counted even past the
  /// list's room), decides the select: selK <= n <= listCap.
  Value listDecides(Value n, int64_t selK, int64_t listCap);
  /// One `listWalk` appending every key >= `low` and its position to `list` while it has room
  /// (listCap entries); the list counter counts them all.
  void listAtOrAbove(RowWalk listWalk, Value low, Value list, int64_t listCap);
  /// The sample's threshold key: the first two digits of the r-th largest (r an index) of the
  /// kSampleKeys keys in list[0, kSampleKeys) (the list or a sample array), whose first digit the
  /// caller counted after clearFirstDigit(). Ends with a barrier.
  Value sampleThreshold(Value list, Value r);

  KernelBuilder &kb;
  int64_t threads, warps;
  Value hist, warpSums, misc;
};

/// One row of a top-k (ds.topk's rules) by a CTA of `threads`: a row with n_b <= k lists
/// 0 .. n_b - 1 and pads with -1 at out[outBase .. outBase + k); a longer row calls
/// `selectLong(selLen, selK)` to place the selK = k - keep_last largest of its first
/// selLen = n_b - keep_last positions (not called when selK = 0), and with keep_last puts
/// n_b - 1 at position k - 1. `nb` is an index, uniform over the CTA. With `writer` (an i1,
/// uniform over the CTA; the CTAs of a cluster that share a row) only the CTAs where it holds
/// write the short row's list and the last index; every CTA runs `selectLong`.
void emitTopKRow(KernelBuilder &kb, int64_t threads, Value out, Value outBase, Value nb,
                 int64_t k, bool keepLast,
                 llvm::function_ref<void(Value selLen, int64_t selK)> selectLong,
                 Value writer = nullptr);

} // namespace ds
} // namespace mlir

#endif // DS_CODEGEN_RADIXSELECT_H
