#ifndef DS_CODEGEN_JIT_H
#define DS_CODEGEN_JIT_H

// JIT kernel generation from C++: a spec in, a loaded, launchable pipeline out. The spec is
// turned into ds IR in memory, compiled to PTX (and cubin where ptxas exists) and loaded through
// the runtime. Compiled pipelines are cached by spec and target: the same spec twice compiles
// once, also when several threads ask at the same time.
//
//   auto ctx = ds::rt::Context::open(0);
//   ds::jit::JIT jit(*ctx);
//   ds::jit::DoubleSparsitySpec spec;           // Hq = Hkv = 32, d = 128, r = 16, k = 256, bf16
//   auto pipeline = jit.doubleSparsity(spec);    // Expected<std::shared_ptr<const Pipeline>>
//   (*pipeline)->launch(args, workspace, stream);
#include "runtime/Pipeline.h"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <future>
#include <string>
#include <vector>

namespace ds::jit {

enum class DataType { BF16, F16 };

/// How the label cache stores labels (ds.label_append): in the spec's dtype, or low-bit with an
/// f16 scale per (kv head, slot): fp8 e4m3 (a byte per label) or int4 (8 labels per i32 word).
enum class LabelFormat { Same, FP8, Int4 };

/// One Double Sparsity decode step (ALGORITHMS.md §1): label gather of q, label scoring over the
/// paged label cache, top-k, sparse decode over the selected tokens; requests shorter than
/// `denseBelow` (and any with n <= k) attend to all their tokens.
///
/// Pipeline arguments, in order: q [B, Hq, d], k_cache and v_cache [pages, P, Hkv, d],
/// label_cache [Hkv, pages * P, r] (head-major, written by labelAppend), channels [Hkv, r] i32,
/// page_table [B, max_pages] i32, seq_lens [B] i32; outputs o [B, Hq, d] and
/// heavy_tokens [B, Hsel, k] i32 (Hsel = Hkv with sharedSelection, else Hq). With a low-bit
/// labelFormat the label cache is [Hkv, S, r] f8e4m3 or [Hkv, S, r / 8] i32 (int4) and
/// label_scales [Hkv, S] f16 follows it.
struct DoubleSparsitySpec {
  int64_t heads = 32, kvHeads = 32, headDim = 128, labelDim = 16, k = 256, pageSize = 1;
  DataType dtype = DataType::BF16;
  LabelFormat labelFormat = LabelFormat::Same;
  int64_t denseBelow = 0;
  float scale = 0.0f;  ///< 0: 1 / sqrt(headDim)
  float softCap = 0.0f; ///< 0: none
  bool sharedSelection = false; ///< GQA: one selection per kv head (scores summed over the group)
};

/// Dense decode: q, k_cache, v_cache, page_table, seq_lens -> o.
struct DenseDecodeSpec {
  int64_t heads = 32, kvHeads = 32, headDim = 128, pageSize = 1;
  DataType dtype = DataType::BF16;
  float scale = 0.0f, softCap = 0.0f;
};

/// Label append: new_k [T, Hkv, d], channels [Hkv, r], slot_mapping [T], label_cache (inout)
/// [Hkv, S, r] (low-bit: as DoubleSparsitySpec says, then label_scales (inout) [Hkv, S] f16).
struct LabelAppendSpec {
  int64_t kvHeads = 32, headDim = 128, labelDim = 16;
  DataType dtype = DataType::BF16;
  LabelFormat labelFormat = LabelFormat::Same;
};

/// One linear-attention decode step per request (ALGORITHMS.md §5): arguments q, k [B, H, d],
/// v [B, H, e], slopes [H] f32 (see runtime/Slopes.h), states [slots, H, d, e] f32 (updated in
/// place), state_indices [B] i32; output o [B, H, e].
struct LinearAttnDecodeSpec {
  int64_t heads = 64, keyDim = 128, valueDim = 128;
  DataType dtype = DataType::BF16;
};

/// Chunked linear-attention prefill over a packed ragged batch (ALGORITHMS.md §5): arguments
/// q, k [T, H, d], v [T, H, e], slopes [H] f32, cu_seqlens [B + 1] i32 (request b owns tokens
/// [cu_seqlens[b], cu_seqlens[b+1])), states [slots, H, d, e] f32 (read where has_initial_state[b]
/// != 0, the final state written back in place), state_indices [B] i32, has_initial_state [B] i32;
/// outputs o [T, H, e] and, with keepIntermediate, intermediate [T, H, d, e] f32 (the state after
/// each token, for speculative verify).
/// The tensor-core kernel serves keyDim in [8, 128] and valueDim >= 8, both multiples of 8, and
/// chunkSize 64 (warpgroup MMA on compute capability 9.0; long requests split into segments
/// that run in parallel); other shapes, and keepIntermediate, run a slower recurrent kernel.
struct LinearAttnPrefillSpec {
  int64_t heads = 64, keyDim = 128, valueDim = 128, chunkSize = 64;
  DataType dtype = DataType::BF16;
  bool keepIntermediate = false;
};

/// One Quest decode step (ALGORITHMS.md §2): page criticality from the page summaries, the top
/// `tokenBudget / pageSize` pages of every row (the partial last page always kept; a request of
/// at most tokenBudget tokens keeps all its pages, i.e. runs dense), then decode attention over
/// every token of the kept pages; requests shorter than `denseBelow` attend to all their tokens.
/// The caller keeps a layer dense (Quest: the first two) by running denseDecode instead.
///
/// Pipeline arguments, in order: q [B, Hq, d], k_cache and v_cache [pages, P, Hkv, d], kmin and
/// kmax [pages, Hkv, d] (the page summaries, kept by questSummaryAppend or questSummary),
/// page_table [B, max_pages] i32, seq_lens [B] i32; outputs o [B, Hq, d] and
/// selected_pages [B, Hsel, tokenBudget / pageSize] i32 (logical page numbers, -1 padded;
/// Hsel = Hkv with sharedSelection, the group's bounds summed, else Hq).
struct QuestSpec {
  int64_t heads = 32, kvHeads = 32, headDim = 128, pageSize = 16, tokenBudget = 2048;
  DataType dtype = DataType::BF16;
  bool sharedSelection = false;
  int64_t denseBelow = 0;
  float scale = 0.0f;   ///< 0: 1 / sqrt(headDim)
  float softCap = 0.0f; ///< 0: none
};

/// Quest's page summaries. With `fromCache`: arguments k_cache [pages, P, Hkv, d], page_table,
/// seq_lens, kmin, kmax (inout): every page of every request summarized from its present tokens.
/// Otherwise (the append that runs with each KV append): new_k [T, Hkv, d], slot_mapping [T] i32,
/// kmin, kmax (inout): a page's first token (offset 0) starts it, later tokens fold in.
struct QuestSummarySpec {
  int64_t kvHeads = 32, headDim = 128, pageSize = 16;
  DataType dtype = DataType::BF16;
  bool fromCache = false;
};

/// One vAttention decode step (ALGORITHMS.md §4): the deterministic set is the first `sinks`
/// tokens, the last `window` tokens and the top `k` by Double Sparsity's label scores; a uniform
/// sample of `numSamples` of the other tokens (Philox, keyed by philox = [seed, offset] on the
/// GPU and the row) is added with weight |R| / n_s; decode attention runs over all of it with the
/// samples' log-weights (the estimator of vAttention). A row whose residual is at most
/// numSamples tokens takes all of it (exact attention).
///
/// Pipeline arguments, in order: q [B, Hq, d], k_cache and v_cache [pages, P, Hkv, d],
/// label_cache [Hkv, pages * P, r], channels [Hkv, r] i32, page_table [B, max_pages] i32,
/// seq_lens [B] i32, philox [2] i64; outputs o [B, Hq, d], selected [B, Hsel, T] i32 and
/// log_weights [B, Hsel, T] f32 with T = sinks + window + k + numSamples (Hsel = Hkv with
/// sharedSelection, else Hq).
struct VAttentionSpec {
  int64_t heads = 32, kvHeads = 32, headDim = 128, labelDim = 16, pageSize = 1;
  int64_t sinks = 64, window = 512, k = 1024, numSamples = 1024;
  DataType dtype = DataType::BF16;
  float scale = 0.0f, softCap = 0.0f;
  bool sharedSelection = false;
};

/// One Twilight decode step (ALGORITHMS.md §3) over Double Sparsity's candidates: the top
/// `candidates` tokens by label score, their logits estimated from the same labels, pruned to
/// the smallest set whose estimated softmax mass reaches `topP` (ds.topp), and decode attention
/// over the kept tokens.
///
/// With `int4Estimate` the candidates' logits are estimated from an int4 copy of K instead
/// (Twilight's own estimate: ds.int4_score over kq [pages * P, Hkv, d / 8 + 4] i32, a record
/// of 4-bit values and f16 scales per slot and kv head, kept by int4Append alongside the KV
/// append).
///
/// Pipeline arguments as for DoubleSparsitySpec (with int4Estimate, kq follows channels);
/// outputs o [B, Hq, d], kept [B, Hsel, candidates] i32 (-1 padded) and kept_counts [B, Hsel] i32.
struct TwilightSpec {
  int64_t heads = 32, kvHeads = 32, headDim = 128, labelDim = 16, pageSize = 1;
  int64_t candidates = 4096;
  float topP = 0.9f;
  bool int4Estimate = false;
  /// Quest's pages as the candidates instead (page_score -> top `candidates / pageSize` pages,
  /// the partial last page kept -> their tokens); needs int4Estimate. Arguments: q, k_cache,
  /// v_cache, kmin, kmax (Quest's page summaries), kq, page_table, seq_lens.
  bool questCandidates = false;
  DataType dtype = DataType::BF16;
  float scale = 0.0f, softCap = 0.0f;
  bool sharedSelection = false;
};

/// Twilight's int4 keys append (ds.int4_append), run with each KV append: kq [slots, Hkv,
/// d / 8 + 4] i32 (inout; per slot and kv head d / 8 words of 4-bit values, then four words of
/// f16 scales), new_k [T, Hkv, d], slot_mapping [T] i32.
struct Int4AppendSpec {
  int64_t kvHeads = 32, headDim = 128;
  DataType dtype = DataType::BF16;
};

/// The ds IR of a spec, as MLIR text (what the JIT compiles; useful for ds-opt and tests).
rt::Expected<std::string> doubleSparsityIR(const DoubleSparsitySpec &spec);
rt::Expected<std::string> denseDecodeIR(const DenseDecodeSpec &spec);
rt::Expected<std::string> labelAppendIR(const LabelAppendSpec &spec);
rt::Expected<std::string> linearAttnDecodeIR(const LinearAttnDecodeSpec &spec);
rt::Expected<std::string> linearAttnPrefillIR(const LinearAttnPrefillSpec &spec);
rt::Expected<std::string> questIR(const QuestSpec &spec);
rt::Expected<std::string> questSummaryIR(const QuestSummarySpec &spec);
rt::Expected<std::string> vattentionIR(const VAttentionSpec &spec);
rt::Expected<std::string> twilightIR(const TwilightSpec &spec);
rt::Expected<std::string> int4AppendIR(const Int4AppendSpec &spec);

/// The GPU a compile targets: chip ("sm_90a", ...) and SM count are required; the device facts
/// left at 0 take the chip's defaults. The JIT takes all of it from its context's device.
struct Target {
  std::string chip;
  int64_t smCount = 0;
  int64_t smemPerBlock = 0, l2Bytes = 0, regsPerSM = 0;
  /// Chain a pipeline's kernels by programmatic dependent launch where the chip has it (sm_90+;
  /// CompileOptions::programmaticLaunch).
  bool programmaticLaunch = true;
  /// Config overrides "<op>.<field>=<value>" applied by ds-select-kernel-config to every op of
  /// that name (passes/ConfigOverride.h; CompileOptions::configOverrides): tuning sweeps.
  std::vector<std::string> configOverrides;
  /// The target of an open device (sm_XY from its compute capability, its SMs, shared memory
  /// and L2).
  static Target of(const rt::DeviceProperties &device);
  /// A stable text form (cache keys).
  std::string key() const;
};

/// Compiles without loading (no GPU needed): the bundle of a spec.
rt::Expected<rt::Bundle> compileDoubleSparsity(const DoubleSparsitySpec &spec, const Target &target);
/// Compiles MLIR text of ds ops without loading; diagnostics name the source `sourceName`.
/// With `cubin` false the bundle holds the PTX only (no ptxas run: what ds-jit-bench times).
rt::Expected<rt::Bundle> compileSource(const std::string &source, const Target &target,
                                       const std::string &sourceName = "", bool cubin = true);

class JIT {
public:
  /// Compiles for the context's device (Target::of its properties), through the disk cache of
  /// the environment (JITCache.h: $DS_JIT_CACHE_DIR, else the user's cache folder).
  explicit JIT(const rt::Context &context);
  /// The same with the disk cache in `cacheFolder` ("": no disk cache).
  JIT(const rt::Context &context, std::string cacheFolder);

  rt::Expected<std::shared_ptr<const rt::Pipeline>> doubleSparsity(const DoubleSparsitySpec &spec);
  rt::Expected<std::shared_ptr<const rt::Pipeline>> denseDecode(const DenseDecodeSpec &spec);
  rt::Expected<std::shared_ptr<const rt::Pipeline>> labelAppend(const LabelAppendSpec &spec);
  rt::Expected<std::shared_ptr<const rt::Pipeline>> linearAttnDecode(const LinearAttnDecodeSpec &spec);
  rt::Expected<std::shared_ptr<const rt::Pipeline>> linearAttnPrefill(const LinearAttnPrefillSpec &spec);
  rt::Expected<std::shared_ptr<const rt::Pipeline>> quest(const QuestSpec &spec);
  rt::Expected<std::shared_ptr<const rt::Pipeline>> questSummary(const QuestSummarySpec &spec);
  rt::Expected<std::shared_ptr<const rt::Pipeline>> vattention(const VAttentionSpec &spec);
  rt::Expected<std::shared_ptr<const rt::Pipeline>> twilight(const TwilightSpec &spec);
  rt::Expected<std::shared_ptr<const rt::Pipeline>> int4Append(const Int4AppendSpec &spec);
  /// Compiles MLIR text of ds ops (cached by text and target).
  rt::Expected<std::shared_ptr<const rt::Pipeline>> fromSource(const std::string &source);
  /// The target later compiles of this JIT use (a copy: the setters below may change it).
  Target compileTarget() const;
  /// Turns programmatic dependent launch off (or back on) for later compiles (Target::
  /// programmaticLaunch; part of the cache key). A compile already running keeps the target it
  /// started with.
  void setProgrammaticLaunch(bool on);
  /// Config overrides for later compiles (Target::configOverrides; part of the cache key), as
  /// setProgrammaticLaunch.
  void setConfigOverrides(std::vector<std::string> overrides);

  /// How many compilations ran (misses of the in-memory cache, disk hits included).
  int64_t compilations() const;
  /// How many of them the disk cache answered.
  int64_t diskHits() const;

private:
  using Result = rt::Expected<std::shared_ptr<const rt::Pipeline>>;
  Result fromIR(const rt::Expected<std::string> &ir);
  Result cached(const Target &compileFor, const std::string &source);

  rt::Context context;
  Target target;
  std::string diskFolder;
  mutable std::mutex mutex;
  std::map<std::string, std::shared_future<Result>> cache;
  int64_t compileCount = 0, diskHitCount = 0;
};

} // namespace ds::jit

#endif // DS_CODEGEN_JIT_H
