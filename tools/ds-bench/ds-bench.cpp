// ds-bench: times generated pipelines on the GPU as the issues' reference figures were taken
// (L2 flushed by writing 256 MiB before each timed call, CUDA events, warm-ups, median), per
// stage and end to end, and reports the bytes the step must move as GB/s and as a share of the
// device-to-device copy bandwidth measured in the same run. Table on stdout, CSV with --csv.
//
//   ds-bench --suite=ds            Double Sparsity, Hq = Hkv = 32, d = 128, r = 16, P = 1, bf16
//   ds-bench --suite=ds-gqa        same with Hkv = 8, selection shared by the group
//   ds-bench --suite=ds-lowbit     DS with fp8 and int4 label caches, B = 8 and 32, N = 65536
//   ds-bench --suite=dense         dense decode B = 8, N = 16384
//   ds-bench --suite=quest         Quest decode step (page scores, top pages, decode over them),
//                                  Hq = 32, d = 128, P = 16, budget 2048 / 4096 tokens; and the
//                                  dense decode of the same shape for comparison
//   ds-bench --op=quest --B=8 --N=32768 --k=2048 --P=16 [--hkv=8 --shared]: k = token budget
//   ds-bench --suite=la            linear-attention decode, B = 64 and 256, H = 64, d = e = 128;
//                                  prefill of B x N tokens (1 x 4096, 1 x 16384, 4 x 4096), and
//                                  64 x 8 tokens from initial states without and with the state
//                                  after every token (speculative verify)
//   ds-bench --op=ds --B=8 --N=4096 --k=1024 [--hq --hkv --d --r --P --dtype=f16 --shared]
//   ds-bench --op=la-prefill --B=1 --N=4096 [--hq=64 --d=128 --dtype=f16 --initial
//                                  --intermediate]: N tokens per request
//   ds-bench --op=topk --B=8 --hq=32 --N=65536 --k=1024: ds.topk alone over B x Hq f32 rows
//   ds-bench --suite=topk          ds.topk alone: 256 x 65536 (k = 1024), 32 and 256 x 2048 (k = 128)
//   ds-bench --op=topp --B=8 --hq=32 --k=4096 [--top-p=0.9]: ds.topp alone, B x Hq rows of k
//                                  candidates with random logits
//   ds-bench --suite=vattention    vAttention step (label top-k, sinks, window, samples, weighted
//                                  decode), B = 8, N = 65536 (and B = 1, N = 16384)
//   ds-bench --op=vattention --B=8 --N=65536 --k=1024 [--sinks=64 --window=512 --samples=1024]
//   ds-bench --suite=twilight      topp alone; Twilight step over DS candidates (label estimate,
//                                  top-p, decode) and the DS step with k = 4096 beside it
//   ds-bench --op=twilight --B=8 --N=65536 --k=4096 [--top-p=0.9 --estimate=int4]: k = candidates,
//                                  their logits estimated from the labels or from int4 keys
//   --scatter: each request's pages are a random permutation of the pool (default: consecutive)
//   --chain: also each pipeline up to each of its kernels, chained as in the step (their shares)
//   --rounds=N: every shape timed N times in turn (later rounds without compiles in between)
//   --flush=clean: empty the L2 by writing, then reading 256 MiB. Writing alone leaves the L2
//                  full of dirty lines that the timed call writes back as it evicts them (ncu,
//                  H100: 10-11 MB written by a Quest page_score that stores 0.26 MB, 2 MB after a
//                  clean flush). The kernels before attention in an engine's decode step write
//                  a few MB of activations, so the clean flush is the closer model of the L2 a
//                  step finds (an estimate, not measured in an engine; docs/performance.md).
//                  The reads are loads from the SMs (a generated dense decode over a zeroed
//                  256 MiB K/V cache): copies by cuMemcpyDtoD left some processes as slow as
//                  after the write alone (session 52), these none in 16 (session 53)
// Every option, every shape's spec and IR, and the --csv path are checked before a GPU is opened;
// --help lists the options.
#include "codegen/Compiler.h"
#include "codegen/JIT.h"
#include "dialect/DSTarget.h"
#include "passes/ConfigOverride.h"
#include "runtime/Device.h"
#include "runtime/Pipeline.h"
#include "runtime/Slopes.h"
#include "tools/ToolOptions.h"
#include "tools/reference/Reference.h"
#include "tools/reference/Sampling.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace cl = llvm::cl;
using namespace ds;

namespace {

struct Shape {
  std::string op = "ds"; // ds | dense | quest | la-decode | la-prefill | topk
  int64_t B = 8, N = 4096, k = 1024, hq = 32, hkv = 32, d = 128, r = 16, P = 1;
  bool bf16 = true, shared = false, scatter = false;
  bool initial = false; ///< la-prefill: has_initial_state = 1 (the states are read too)
  bool intermediate = false; ///< la-prefill: keep_intermediate (the state after every token)
  int64_t sinks = 64, window = 512, samples = 1024; ///< vattention
  double topP = 0.9;                                ///< topp, twilight
  bool int4 = false;                                ///< twilight: the int4-key estimate
  std::string labelFormat = "same";                 ///< ds: same | fp8 | int4 label cache
  /// Bytes of one token's labels in the label cache, and with its scale (low-bit formats).
  double labelCacheBytes() const {
    return labelFormat == "fp8" ? r : labelFormat == "int4" ? r / 2.0 : 2.0 * r;
  }
  double labelBytes() const { return labelCacheBytes() + (labelFormat == "same" ? 0.0 : 2.0); }
  std::string label() const {
    char s[160];
    if (op == "la-prefill") {
      // N tokens per request, packed: T = B * N; H = hq, d = e.
      std::snprintf(s, sizeof(s), "la-prefill B=%lld N=%lld T=%lld H=%lld d=e=%lld %s%s%s",
                    (long long)B, (long long)N, (long long)(B * N), (long long)hq, (long long)d,
                    bf16 ? "bf16" : "f16", initial ? " initial" : "",
                    intermediate ? " intermediate" : "");
      return s;
    }
    if (op == "topp") {
      std::snprintf(s, sizeof(s), "topp rows=%lld (B=%lld Hq=%lld) candidates=%lld top_p=%g",
                    (long long)(B * hq), (long long)B, (long long)hq, (long long)k, topP);
      return s;
    }
    std::string extra = op == "ds" || op == "topk" ? " k=" + std::to_string(k)
                        : op == "quest"            ? " budget=" + std::to_string(k)
                        : op == "twilight"
                            ? " cand=" + std::to_string(k) + " p=" + std::to_string(topP).substr(0, 4) +
                                  (int4 ? " int4" : " labels")
                        : op == "vattention" ? " " + std::to_string(sinks) + "+" +
                                                   std::to_string(window) + "+top" +
                                                   std::to_string(k) + "+" + std::to_string(samples)
                                             : "";
    std::snprintf(s, sizeof(s), "%s B=%lld N=%lld%s Hq=%lld Hkv=%lld d=%lld%s P=%lld %s%s",
                  op.c_str(), (long long)B, (long long)N, extra.c_str(),
                  (long long)hq,
                  (long long)hkv, (long long)d,
                  op == "ds" || op == "vattention" || op == "twilight"
                      ? (" r=" + std::to_string(r) +
                         (labelFormat == "same" ? std::string() : " " + labelFormat))
                            .c_str()
                      : "",
                  (long long)P,
                  bf16 ? "bf16" : "f16", shared ? " shared" : "");
    if (scatter)
      return std::string(s) + " scattered";
    return s;
  }
};

[[noreturn]] void die(const std::string &what) {
  std::fprintf(stderr, "ds-bench: %s\n", what.c_str());
  std::exit(1);
}

template <typename T> T check(rt::Expected<T> e, const char *what) {
  if (!e)
    die(std::string(what) + ": " + e.message());
  return std::move(*e);
}
void check(const rt::Status &s, const char *what) {
  if (!s.ok())
    die(std::string(what) + ": " + s.message());
}

/// How the L2 is emptied before each timed call (--flush).
enum class Flush {
  /// Writing 256 MiB (the issues' reference method): the L2 is left full of dirty lines of the
  /// flush buffer, which the timed call's misses then write back to memory.
  Write,
  /// Writing 256 MiB, then reading 256 MiB through the SMs (a generated dense decode over a
  /// 256 MiB K/V cache that the Timer zeroed once), then a 4 MiB memset: the L2 is left holding
  /// clean lines, at most a few MB of them dirty (the decode's partials, o, the memset).
  Clean,
};

/// The clean flush's reader: a dense decode (bf16, 8 requests of 8192 tokens, 8 heads of 128,
/// pages of 16) whose K and V caches are 128 MiB each, zeroed once. Reading them through the SMs
/// allocates every line in the L2, so 256 MiB of them evict whatever the write left dirty.
/// Session 51's reads were 64 cuMemcpyDtoD of 4 MiB, which in some processes left a step as
/// slow as after the write alone (H100, Quest B = 1 / Hkv = 8 shared, round 1 / round 2 of 4
/// processes each: copies 37.7-44.4 / 62.0-70.3 us, 4 of 16 figures at the write's 43.7-44.0 /
/// 69.1-69.6; these reads 37.3-37.9 / 62.0-62.6, none; docs/performance.md, session 53).
struct FlushReader {
  static constexpr int64_t kB = 8, kTokens = 8192, kHeads = 8, kDim = 128, kPage = 16;
  std::shared_ptr<const rt::Pipeline> pipeline;
  rt::DeviceBuffer q, k, v, pageTable, seqLens, o;
  rt::OwnedWorkspace ws;
  std::vector<rt::TensorArg> args;
  FlushReader(const rt::Context &ctx, jit::JIT &jit) {
    jit::DenseDecodeSpec spec;
    spec.heads = spec.kvHeads = kHeads, spec.headDim = kDim, spec.pageSize = kPage;
    pipeline = check(jit.denseDecode(spec), "compile the clean flush's reader");
    const int64_t pages = kB * kTokens / kPage, perRequest = kTokens / kPage;
    const size_t cacheBytes = static_cast<size_t>(pages) * kPage * kHeads * kDim * 2,
                 qoBytes = kB * kHeads * kDim * 2;
    q = check(ctx.alloc(qoBytes), "flush reader q");
    o = check(ctx.alloc(qoBytes), "flush reader o");
    k = check(ctx.alloc(cacheBytes), "flush reader k_cache");
    v = check(ctx.alloc(cacheBytes), "flush reader v_cache");
    pageTable = check(ctx.alloc(pages * 4), "flush reader page_table");
    seqLens = check(ctx.alloc(kB * 4), "flush reader seq_lens");
    for (rt::DeviceBuffer *buf : {&q, &k, &v})
      check(buf->fill(0), "flush reader");
    std::vector<int32_t> table(pages), lens(kB, static_cast<int32_t>(kTokens));
    for (int64_t i = 0; i < pages; ++i)
      table[i] = static_cast<int32_t>(i);
    check(pageTable.upload(table.data(), table.size() * 4), "flush reader page_table");
    check(seqLens.upload(lens.data(), lens.size() * 4), "flush reader seq_lens");
    args = {rt::TensorArg(q.ptr(), {kB, kHeads, kDim}),
            rt::TensorArg(k.ptr(), {pages, kPage, kHeads, kDim}),
            rt::TensorArg(v.ptr(), {pages, kPage, kHeads, kDim}),
            rt::TensorArg(pageTable.ptr(), {kB, perRequest}), rt::TensorArg(seqLens.ptr(), {kB}),
            rt::TensorArg(o.ptr(), {kB, kHeads, kDim})};
    ws = check(rt::OwnedWorkspace::allocate(*pipeline, args), "flush reader workspace");
  }
  void read() { check(pipeline->launch(args, ws.get(), nullptr), "L2 flush (reads)"); }
};

struct Timer {
  const rt::Context &ctx;
  Flush mode;
  rt::DeviceBuffer flush, sink;
  std::unique_ptr<FlushReader> reader; ///< Clean only
  rt::Event start, stop;
  bool chains = false; ///< --chain: timeStages also times the step up to each kernel
  static constexpr size_t kFlushBytes = 256u << 20, kSinkBytes = 4u << 20;
  Timer(const rt::Context &c, jit::JIT &jit, Flush m) : ctx(c), mode(m) {
    flush = check(ctx.alloc(kFlushBytes), "flush buffer");
    if (mode == Flush::Clean) {
      reader = std::make_unique<FlushReader>(ctx, jit);
      sink = check(ctx.alloc(kSinkBytes), "flush sink buffer");
    }
    start = check(ctx.createEvent(), "event");
    stop = check(ctx.createEvent(), "event");
  }
  void emptyL2(int i) {
    check(flush.fill(static_cast<uint8_t>(i)), "L2 flush");
    if (mode == Flush::Write)
      return;
    // Clean: after the write (every line the last call left is evicted the same way each time),
    // 256 MiB of loads from the SMs evict its dirty lines, writing them back before the timed
    // call. The last operation is a memset, as with --flush=write; it writes only the sink.
    reader->read();
    check(sink.fill(static_cast<uint8_t>(i)), "L2 flush");
  }
  /// Median of `iters` timed calls of `fn`, L2 flushed before each; `warmup` untimed calls first.
  template <typename F> double medianUs(F &&fn, int warmup, int iters) {
    for (int i = 0; i < warmup; ++i)
      fn();
    std::vector<double> t;
    for (int i = 0; i < iters; ++i) {
      emptyL2(i);
      check(start.record(nullptr), "event record");
      fn();
      check(stop.record(nullptr), "event record");
      check(stop.synchronize(), "event sync");
      t.push_back(1000.0 * check(rt::Event::elapsedMs(start, stop), "elapsed"));
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
  }
};

/// Fills a device buffer with random 16-bit values: one random block uploaded, then tiled.
void fillRandom(const rt::Context &ctx, const rt::DeviceBuffer &buf, ref::Rng &rng, ref::Half t) {
  size_t block = std::min<size_t>(buf.bytes(), 64u << 20) / 2;
  std::vector<uint16_t> host(block);
  for (auto &x : host)
    x = ref::fromFloat(static_cast<float>(rng.uniform(-1, 1)), t);
  check(buf.upload(host.data(), block * 2), "upload");
  for (size_t off = block * 2; off < buf.bytes(); off += block * 2)
    check(ctx.copyDtoD(buf.ptr() + off, buf.ptr(), std::min(block * 2, buf.bytes() - off)),
          "tile");
}

/// Random fp8 (e4m3) codes, NaN codes (0x7f, 0xff) excluded; any bytes for int4 words.
void fillRandomBytes(const rt::Context &ctx, const rt::DeviceBuffer &buf, ref::Rng &rng, bool fp8) {
  size_t block = std::min<size_t>(buf.bytes(), 64u << 20);
  std::vector<uint8_t> host(block);
  for (auto &x : host) {
    x = static_cast<uint8_t>(rng.below(256));
    if (fp8 && (x & 0x7f) == 0x7f)
      x ^= 1;
  }
  check(buf.upload(host.data(), block), "upload");
  for (size_t off = block; off < buf.bytes(); off += block)
    check(ctx.copyDtoD(buf.ptr() + off, buf.ptr(), std::min(block, buf.bytes() - off)), "tile");
}

double copyBandwidthGBs(const rt::Context &ctx, Timer &timer) {
  size_t bytes = 1u << 30;
  rt::DeviceBuffer a = check(ctx.alloc(bytes), "copy buffer"), b = check(ctx.alloc(bytes), "copy buffer");
  double us = timer.medianUs([&] { check(ctx.copyDtoD(b.ptr(), a.ptr(), bytes), "copy"); }, 3, 20);
  return 2.0 * bytes / (us * 1e3); // read + write
}

struct Row {
  Shape shape;
  std::vector<std::pair<std::string, double>> stages;
  double totalUs = 0, bytes = 0;
  double flops = 0; ///< useful floating-point operations (0: not reported)
};

/// Times every kernel of `pipeline` that these shapes launch alone (when it launches several),
/// then the whole pipeline; with --chain also its kernels up to each one launched as in the step,
/// so that successive rows give each kernel's share of the chained step (launch latency and
/// overlap included). Kernels whose grid is empty at these shapes (the plan's variants for other
/// sizes) are left out of both.
void timeStages(const rt::Pipeline &pipeline, const std::vector<rt::TensorArg> &args,
                Timer &timer, int warmup, int iters, Row &row) {
  rt::OwnedWorkspace ws = check(rt::OwnedWorkspace::allocate(pipeline, args), "workspace");
  const auto &kernels = pipeline.bundle().kernels;
  std::vector<rt::KernelLimits> limits;
  for (size_t i = 0; i < kernels.size(); ++i)
    limits.push_back(pipeline.limits(i));
  rt::LaunchPlan plan = check(rt::planLaunch(pipeline.bundle(), args, ws.get(), limits), "plan");
  std::vector<size_t> launched;
  for (size_t i = 0; i < kernels.size(); ++i)
    if (!plan.kernels[i].config.skip)
      launched.push_back(i);
  if (launched.size() > 1)
    for (size_t i : launched) {
      double us = timer.medianUs(
          [&] { check(pipeline.launchKernels(args, ws.get(), nullptr, i, i + 1), "launch"); },
          warmup, iters);
      row.stages.push_back({kernels[i].name, us});
    }
  if (timer.chains && launched.size() > 1)
    for (size_t j = 0; j + 1 < launched.size(); ++j) {
      double us = timer.medianUs(
          [&] {
            check(pipeline.launchKernels(args, ws.get(), nullptr, 0, launched[j] + 1), "launch");
          },
          warmup, iters);
      row.stages.push_back({"chain through " + kernels[launched[j]].name, us});
    }
  row.totalUs = timer.medianUs([&] { check(pipeline.launch(args, ws.get(), nullptr), "launch"); },
                               warmup, iters);
  if (launched.size() == 1)
    row.stages.push_back({kernels[launched[0]].name, row.totalUs});
}

/// The ds IR of a shape's pipeline: its family's JIT spec (the same IR the JIT's spec entry points
/// compile), or ds.topk / ds.topp alone. Made for every shape before the device is opened, so that
/// a spec the family refuses is reported, naming its field, without a GPU.
rt::Expected<std::string> sourceOf(const Shape &s) {
  const jit::DataType dt = s.bf16 ? jit::DataType::BF16 : jit::DataType::F16;
  if (s.op == "topk") {
    const std::string h = std::to_string(s.hq), k = std::to_string(s.k);
    const std::string in = "tensor<?x" + h + "x?xf32>", out = "tensor<?x" + h + "x" + k + "xi32>";
    const std::string ir =
        "func.func @topk(%s: " + in + " {ds.name = \"scores\"}, %l: tensor<?xi32> {ds.name = "
        "\"lens\"}) -> " + out + " {\n  %i = ds.topk %s, %l {k = " + k + " : i64} : (" + in +
        ", tensor<?xi32>) -> " + out + "\n  return %i : " + out + "\n}\n";
    return ir;
  }
  if (s.op == "topp") {
    const std::string h = std::to_string(s.hq), k = std::to_string(s.k);
    const std::string t = "tensor<?x" + h + "x" + k, cnt = "tensor<?x" + h + "xi32>";
    char p[32];
    std::snprintf(p, sizeof(p), "%.9e", s.topP);
    const std::string ir = "func.func @topp(%l: " + t + "xf32>, %i: " + t + "xi32>) -> (" + t +
                           "xi32>, " + cnt + ") {\n  %k, %c = ds.topp %l, %i {top_p = " + p +
                           " : f32} : (" + t + "xf32>, " + t + "xi32>) -> (" + t + "xi32>, " + cnt +
                           ")\n  return %k, %c : " + t + "xi32>, " + cnt + "\n}\n";
    return ir;
  }
  if (s.op == "la-prefill" || s.op == "la-decode") {
    // H = hq, d = e.
    if (s.op == "la-decode") {
      jit::LinearAttnDecodeSpec spec;
      spec.heads = s.hq, spec.keyDim = s.d, spec.valueDim = s.d, spec.dtype = dt;
      return jit::linearAttnDecodeIR(spec);
    }
    jit::LinearAttnPrefillSpec spec;
    spec.heads = s.hq, spec.keyDim = s.d, spec.valueDim = s.d, spec.dtype = dt;
    spec.keepIntermediate = s.intermediate;
    return jit::linearAttnPrefillIR(spec);
  }
  if (s.op == "quest") {
    jit::QuestSpec spec;
    spec.heads = s.hq, spec.kvHeads = s.hkv, spec.headDim = s.d, spec.pageSize = s.P;
    spec.tokenBudget = s.k, spec.sharedSelection = s.shared, spec.dtype = dt;
    return jit::questIR(spec);
  }
  if (s.op == "dense") {
    jit::DenseDecodeSpec spec;
    spec.heads = s.hq, spec.kvHeads = s.hkv, spec.headDim = s.d, spec.pageSize = s.P;
    spec.dtype = dt;
    return jit::denseDecodeIR(spec);
  }
  if (s.op == "vattention") {
    jit::VAttentionSpec spec;
    spec.heads = s.hq, spec.kvHeads = s.hkv, spec.headDim = s.d, spec.labelDim = s.r;
    spec.pageSize = s.P, spec.sharedSelection = s.shared, spec.dtype = dt;
    spec.sinks = s.sinks, spec.window = s.window, spec.k = s.k, spec.numSamples = s.samples;
    return jit::vattentionIR(spec);
  }
  if (s.op == "twilight") {
    jit::TwilightSpec spec;
    spec.heads = s.hq, spec.kvHeads = s.hkv, spec.headDim = s.d, spec.labelDim = s.r;
    spec.pageSize = s.P, spec.sharedSelection = s.shared, spec.dtype = dt;
    spec.candidates = s.k, spec.topP = static_cast<float>(s.topP), spec.int4Estimate = s.int4;
    return jit::twilightIR(spec);
  }
  jit::DoubleSparsitySpec spec;
  spec.heads = s.hq, spec.kvHeads = s.hkv, spec.headDim = s.d, spec.labelDim = s.r;
  spec.k = s.k, spec.pageSize = s.P, spec.sharedSelection = s.shared, spec.dtype = dt;
  spec.labelFormat = s.labelFormat == "fp8"    ? jit::LabelFormat::FP8
                     : s.labelFormat == "int4" ? jit::LabelFormat::Int4
                                               : jit::LabelFormat::Same;
  return jit::doubleSparsityIR(spec);
}

/// Linear-attention prefill: B requests of N tokens each, packed (T = B N), one state slot each,
/// has_initial_state = 0 unless --initial. Useful work: per token and head k^T v into the state
/// and q S out, 4 d e flops. Bytes: q, k, v, o once (16-bit) plus the f32 states written (and
/// read with --initial), and with --intermediate the f32 state after every token written.
Row runLinearAttnPrefill(const rt::Context &ctx, jit::JIT &jit, Timer &timer, const Shape &s,
                         const std::string &source, int warmup, int iters) {
  Row row{s, {}, 0, 0, 0};
  ref::Half ht = s.bf16 ? ref::Half::BF16 : ref::Half::F16;
  ref::Rng rng(42);
  const int64_t B = s.B, T = s.B * s.N, H = s.hq, d = s.d, e = s.d;
  rt::DeviceBuffer q = check(ctx.alloc(T * H * d * 2), "alloc q");
  rt::DeviceBuffer k = check(ctx.alloc(T * H * d * 2), "alloc k");
  rt::DeviceBuffer v = check(ctx.alloc(T * H * e * 2), "alloc v");
  rt::DeviceBuffer o = check(ctx.alloc(T * H * e * 2), "alloc o");
  rt::DeviceBuffer sl = check(ctx.alloc(H * 4), "alloc slopes");
  rt::DeviceBuffer cu = check(ctx.alloc((B + 1) * 4), "alloc cu_seqlens");
  rt::DeviceBuffer st = check(ctx.alloc(static_cast<size_t>(B) * H * d * e * 4), "alloc states");
  rt::DeviceBuffer idx = check(ctx.alloc(B * 4), "alloc state_indices");
  rt::DeviceBuffer init = check(ctx.alloc(B * 4), "alloc has_initial_state");
  const size_t interBytes = s.intermediate ? static_cast<size_t>(T) * H * d * e * 4 : 0;
  rt::DeviceBuffer inter;
  if (s.intermediate)
    inter = check(ctx.alloc(interBytes), "alloc intermediate");
  fillRandom(ctx, q, rng, ht);
  fillRandom(ctx, k, rng, ht);
  fillRandom(ctx, v, rng, ht);
  check(st.fill(0), "zero states");
  std::vector<float> slopes = rt::lightningSlopes(static_cast<int>(H));
  std::vector<int32_t> cuSeqlens(B + 1), slotOf(B), hasInitial(B, s.initial ? 1 : 0);
  for (int64_t b = 0; b <= B; ++b)
    cuSeqlens[b] = static_cast<int32_t>(b * s.N);
  for (int64_t b = 0; b < B; ++b)
    slotOf[b] = static_cast<int32_t>(b);
  check(sl.upload(slopes.data(), H * 4), "upload");
  check(cu.upload(cuSeqlens.data(), (B + 1) * 4), "upload");
  check(idx.upload(slotOf.data(), B * 4), "upload");
  check(init.upload(hasInitial.data(), B * 4), "upload");
  auto pipeline = check(jit.fromSource(source), "compile");
  std::vector<rt::TensorArg> args = {
      rt::TensorArg(q.ptr(), {T, H, d}), rt::TensorArg(k.ptr(), {T, H, d}),
      rt::TensorArg(v.ptr(), {T, H, e}), rt::TensorArg(sl.ptr(), {H}),
      rt::TensorArg(cu.ptr(), {B + 1}),  rt::TensorArg(st.ptr(), {B, H, d, e}),
      rt::TensorArg(idx.ptr(), {B}),     rt::TensorArg(init.ptr(), {B}),
      rt::TensorArg(o.ptr(), {T, H, e})};
  if (s.intermediate)
    args.push_back(rt::TensorArg(inter.ptr(), {T, H, d, e}));
  const double stateBytes = 1.0 * B * H * d * e * 4;
  row.bytes = 1.0 * T * H * (2 * d + 2 * e) * 2 + stateBytes * (s.initial ? 2 : 1) +
              static_cast<double>(interBytes);
  row.flops = 4.0 * T * H * d * e;
  // Repeating one kernel only rewrites the states and o.
  timeStages(*pipeline, args, timer, warmup, iters, row);
  return row;
}

/// ds.topk alone: B x Hq rows of N random f32 scores (every row full length), k of each; bytes:
/// the scores read once and the indices written.
Row runTopK(jit::JIT &jit, const rt::Context &ctx, Timer &timer, const Shape &s,
            const std::string &source, int warmup, int iters) {
  Row row{s, {}, 0, 0};
  auto pipeline = check(jit.fromSource(source), "compile");
  const size_t n = static_cast<size_t>(s.B) * s.hq * s.N;
  rt::DeviceBuffer scores = check(ctx.alloc(n * 4), "alloc scores");
  rt::DeviceBuffer lens = check(ctx.alloc(s.B * 4), "alloc lens");
  rt::DeviceBuffer idx = check(ctx.alloc(static_cast<size_t>(s.B) * s.hq * s.k * 4), "alloc indices");
  ref::Rng rng(42);
  std::vector<float> host(n);
  for (float &x : host)
    x = static_cast<float>(rng.uniform(-4, 4));
  check(scores.upload(host.data(), n * 4), "upload");
  std::vector<int32_t> l(s.B, static_cast<int32_t>(s.N));
  check(lens.upload(l.data(), s.B * 4), "upload");
  std::vector<rt::TensorArg> args = {rt::TensorArg(scores.ptr(), {s.B, s.hq, s.N}),
                                     rt::TensorArg(lens.ptr(), {s.B}),
                                     rt::TensorArg(idx.ptr(), {s.B, s.hq, s.k})};
  row.bytes = 4.0 * n + 4.0 * s.B * s.hq * s.k;
  timeStages(*pipeline, args, timer, warmup, iters, row);
  return row;
}

/// ds.topp alone: B x Hq rows of k candidates (distinct ids, no padding) with random logits
/// (a few large values, a long tail); bytes: logits and indices read, kept written.
Row runTopP(jit::JIT &jit, const rt::Context &ctx, Timer &timer, const Shape &s,
            const std::string &source, int warmup, int iters) {
  Row row{s, {}, 0, 0};
  auto pipeline = check(jit.fromSource(source), "compile");
  const size_t n = static_cast<size_t>(s.B) * s.hq * s.k;
  rt::DeviceBuffer logits = check(ctx.alloc(n * 4), "alloc logits");
  rt::DeviceBuffer idx = check(ctx.alloc(n * 4), "alloc indices");
  rt::DeviceBuffer kept = check(ctx.alloc(n * 4), "alloc kept");
  rt::DeviceBuffer counts = check(ctx.alloc(static_cast<size_t>(s.B) * s.hq * 4), "alloc counts");
  ref::Rng rng(42);
  std::vector<float> hl(n);
  std::vector<int32_t> hi(n);
  for (size_t i = 0; i < n; ++i) {
    double u = rng.uniform(0, 1);
    hl[i] = static_cast<float>(12.0 * u * u * u);
    hi[i] = static_cast<int32_t>(i % static_cast<size_t>(s.k));
  }
  check(logits.upload(hl.data(), n * 4), "upload");
  check(idx.upload(hi.data(), n * 4), "upload");
  std::vector<rt::TensorArg> args = {rt::TensorArg(logits.ptr(), {s.B, s.hq, s.k}),
                                     rt::TensorArg(idx.ptr(), {s.B, s.hq, s.k}),
                                     rt::TensorArg(kept.ptr(), {s.B, s.hq, s.k}),
                                     rt::TensorArg(counts.ptr(), {s.B, s.hq})};
  row.bytes = 12.0 * n + 4.0 * s.B * s.hq;
  timeStages(*pipeline, args, timer, warmup, iters, row);
  return row;
}

/// Linear-attention decode: q, k [B, H, d], v [B, H, e], f32 states [B, H, d, e] (e = d, H = hq),
/// one state slot each; bytes: the states read and written, q, k, v and o.
Row runLinearAttnDecode(const rt::Context &ctx, jit::JIT &jit, Timer &timer, const Shape &s,
                        const std::string &source, int warmup, int iters) {
  Row row{s, {}, 0, 0};
  ref::Half ht = s.bf16 ? ref::Half::BF16 : ref::Half::F16;
  ref::Rng rng(42);
  const int64_t H = s.hq, d = s.d;
  rt::DeviceBuffer q = check(ctx.alloc(s.B * H * d * 2), "alloc q");
  rt::DeviceBuffer k = check(ctx.alloc(s.B * H * d * 2), "alloc k");
  rt::DeviceBuffer v = check(ctx.alloc(s.B * H * d * 2), "alloc v");
  rt::DeviceBuffer o = check(ctx.alloc(s.B * H * d * 2), "alloc o");
  rt::DeviceBuffer st = check(ctx.alloc(static_cast<size_t>(s.B) * H * d * d * 4), "alloc states");
  rt::DeviceBuffer sl = check(ctx.alloc(H * 4), "alloc slopes");
  rt::DeviceBuffer idx = check(ctx.alloc(s.B * 4), "alloc state_indices");
  fillRandom(ctx, q, rng, ht);
  fillRandom(ctx, k, rng, ht);
  fillRandom(ctx, v, rng, ht);
  check(st.fill(0), "zero states");
  std::vector<float> slopes = rt::lightningSlopes(static_cast<int>(H));
  std::vector<int32_t> slotOf(s.B);
  for (int64_t b = 0; b < s.B; ++b)
    slotOf[b] = static_cast<int32_t>(b);
  check(sl.upload(slopes.data(), H * 4), "upload");
  check(idx.upload(slotOf.data(), s.B * 4), "upload");
  auto pipeline = check(jit.fromSource(source), "compile");
  std::vector<rt::TensorArg> args = {
      rt::TensorArg(q.ptr(), {s.B, H, d}),     rt::TensorArg(k.ptr(), {s.B, H, d}),
      rt::TensorArg(v.ptr(), {s.B, H, d}),     rt::TensorArg(sl.ptr(), {H}),
      rt::TensorArg(st.ptr(), {s.B, H, d, d}), rt::TensorArg(idx.ptr(), {s.B}),
      rt::TensorArg(o.ptr(), {s.B, H, d})};
  row.bytes = 2.0 * s.B * H * d * d * 4 + 4.0 * s.B * H * d * 2;
  row.totalUs = timer.medianUs([&] { check(pipeline->launch(args, {}, nullptr), "launch"); },
                               warmup, iters);
  row.stages.push_back({pipeline->bundle().kernels[0].name, row.totalUs});
  return row;
}

Row run(const rt::Context &ctx, jit::JIT &jit, Timer &timer, const Shape &s,
        const std::string &source, int warmup, int iters) {
  if (s.op == "topp")
    return runTopP(jit, ctx, timer, s, source, warmup, iters);
  if (s.op == "la-prefill")
    return runLinearAttnPrefill(ctx, jit, timer, s, source, warmup, iters);
  if (s.op == "la-decode")
    return runLinearAttnDecode(ctx, jit, timer, s, source, warmup, iters);
  if (s.op == "topk")
    return runTopK(jit, ctx, timer, s, source, warmup, iters);
  Row row{s, {}, 0, 0};
  ref::Half ht = s.bf16 ? ref::Half::BF16 : ref::Half::F16;
  ref::Rng rng(42);
  const int64_t pages = s.B * ((s.N + s.P - 1) / s.P), maxPages = (s.N + s.P - 1) / s.P;
  const int64_t slots = pages * s.P;
  // Each request owns its pages: consecutive in the pool by default (a request's cache allocated
  // at once, as in a fresh server), a random permutation of the pool with --scatter.
  std::vector<int32_t> pool(pages);
  for (int64_t i = 0; i < pages; ++i)
    pool[i] = static_cast<int32_t>(i);
  if (s.scatter)
    for (int64_t i = pages - 1; i > 0; --i)
      std::swap(pool[i], pool[rng.below(i + 1)]);
  std::vector<int32_t> pageTable(pool.begin(), pool.end()), seqLens(s.B, static_cast<int32_t>(s.N));

  size_t kvBytes = static_cast<size_t>(slots) * s.hkv * s.d * 2;
  rt::DeviceBuffer q = check(ctx.alloc(s.B * s.hq * s.d * 2), "alloc q");
  rt::DeviceBuffer kc = check(ctx.alloc(kvBytes), "alloc k_cache");
  rt::DeviceBuffer vc = check(ctx.alloc(kvBytes), "alloc v_cache");
  rt::DeviceBuffer pt = check(ctx.alloc(pageTable.size() * 4), "alloc page_table");
  rt::DeviceBuffer sl = check(ctx.alloc(s.B * 4), "alloc seq_lens");
  rt::DeviceBuffer o = check(ctx.alloc(s.B * s.hq * s.d * 2), "alloc o");
  fillRandom(ctx, q, rng, ht);
  fillRandom(ctx, kc, rng, ht);
  fillRandom(ctx, vc, rng, ht);
  check(pt.upload(pageTable.data(), pageTable.size() * 4), "upload");
  check(sl.upload(seqLens.data(), seqLens.size() * 4), "upload");

  std::shared_ptr<const rt::Pipeline> pipeline;
  std::vector<rt::TensorArg> args;
  rt::DeviceBuffer labels, channels, idx, extra, extra2, kq;
  double qo = 2.0 * s.B * s.hq * s.d * 2;
  if (s.op == "quest") {
    // Page summaries of random keys (their values only steer which pages are kept); bytes:
    // every summary row once per kv head (min and max), each kept page's K and V rows once per
    // selection row, q and o.
    pipeline = check(jit.fromSource(source), "compile");
    const int64_t hsel = s.shared ? s.hkv : s.hq, keep = s.k / s.P;
    labels = check(ctx.alloc(static_cast<size_t>(pages) * s.hkv * s.d * 2), "alloc kmin");
    channels = check(ctx.alloc(static_cast<size_t>(pages) * s.hkv * s.d * 2), "alloc kmax");
    fillRandom(ctx, labels, rng, ht);
    fillRandom(ctx, channels, rng, ht);
    idx = check(ctx.alloc(s.B * hsel * keep * 4), "alloc selected_pages");
    args = {rt::TensorArg(q.ptr(), {s.B, s.hq, s.d}),
            rt::TensorArg(kc.ptr(), {pages, s.P, s.hkv, s.d}),
            rt::TensorArg(vc.ptr(), {pages, s.P, s.hkv, s.d}),
            rt::TensorArg(labels.ptr(), {pages, s.hkv, s.d}),
            rt::TensorArg(channels.ptr(), {pages, s.hkv, s.d}),
            rt::TensorArg(pt.ptr(), {s.B, maxPages}), rt::TensorArg(sl.ptr(), {s.B}),
            rt::TensorArg(o.ptr(), {s.B, s.hq, s.d}),
            rt::TensorArg(idx.ptr(), {s.B, hsel, keep})};
    row.bytes = 2.0 * s.B * maxPages * s.hkv * s.d * 2 +
                2.0 * s.B * hsel * std::min(keep * s.P, s.N) * s.d * 2 + qo;
  } else if (s.op == "dense") {
    pipeline = check(jit.fromSource(source), "compile");
    args = {rt::TensorArg(q.ptr(), {s.B, s.hq, s.d}),
            rt::TensorArg(kc.ptr(), {pages, s.P, s.hkv, s.d}),
            rt::TensorArg(vc.ptr(), {pages, s.P, s.hkv, s.d}),
            rt::TensorArg(pt.ptr(), {s.B, maxPages}), rt::TensorArg(sl.ptr(), {s.B}),
            rt::TensorArg(o.ptr(), {s.B, s.hq, s.d})};
    row.bytes = 2.0 * s.B * s.N * s.hkv * s.d * 2 + qo;
  } else {
    int64_t hsel = s.shared ? s.hkv : s.hq, perRow = s.k; // selection entries per row
    pipeline = check(jit.fromSource(source), "compile");
    if (s.op == "vattention")
      perRow = s.sinks + s.window + s.k + s.samples;
    const bool lowBit = s.labelFormat != "same";
    labels = check(ctx.alloc(static_cast<size_t>(s.hkv) * slots *
                             static_cast<size_t>(s.labelCacheBytes())),
                   "alloc labels");
    if (lowBit) {
      fillRandomBytes(ctx, labels, rng, s.labelFormat == "fp8");
      extra2 = check(ctx.alloc(static_cast<size_t>(s.hkv) * slots * 2), "alloc label_scales");
      fillRandom(ctx, extra2, rng, ref::Half::F16);
    } else {
      fillRandom(ctx, labels, rng, ht);
    }
    std::vector<int32_t> ch(s.hkv * s.r);
    for (int64_t h = 0; h < s.hkv; ++h)
      for (int64_t j = 0; j < s.r; ++j)
        ch[h * s.r + j] = static_cast<int32_t>((j * 7 + h) % s.d);
    channels = check(ctx.alloc(ch.size() * 4), "alloc channels");
    check(channels.upload(ch.data(), ch.size() * 4), "upload");
    idx = check(ctx.alloc(s.B * hsel * perRow * 4), "alloc selection");
    args = {rt::TensorArg(q.ptr(), {s.B, s.hq, s.d}),
            rt::TensorArg(kc.ptr(), {pages, s.P, s.hkv, s.d}),
            rt::TensorArg(vc.ptr(), {pages, s.P, s.hkv, s.d}),
            rt::TensorArg(labels.ptr(), {s.hkv, slots, s.labelFormat == "int4" ? s.r / 8 : s.r})};
    if (lowBit)
      args.push_back(rt::TensorArg(extra2.ptr(), {s.hkv, slots}));
    args.push_back(rt::TensorArg(channels.ptr(), {s.hkv, s.r}));
    if (s.int4) {
      // int4 records [slots, Hkv, d / 8 + 4] (ds.int4_append's layout) of random f16 halves:
      // random words and scales (their values only steer which candidates are kept).
      const int64_t recordWords = ref::int4RecordWords(s.d);
      kq = check(ctx.alloc(static_cast<size_t>(slots) * s.hkv * recordWords * 4), "alloc kq");
      fillRandom(ctx, kq, rng, ref::Half::F16);
      args.push_back(rt::TensorArg(kq.ptr(), {slots, s.hkv, recordWords}));
    }
    args.push_back(rt::TensorArg(pt.ptr(), {s.B, maxPages}));
    args.push_back(rt::TensorArg(sl.ptr(), {s.B}));
    if (s.op == "vattention") {
      // philox = [seed, offset]; outputs o, selected, log_weights.
      extra = check(ctx.alloc(16), "alloc philox");
      std::vector<int64_t> seed = {1234, 0};
      check(extra.upload(seed.data(), 16), "upload");
      extra2 = check(ctx.alloc(s.B * hsel * perRow * 4), "alloc log_weights");
      args.push_back(rt::TensorArg(extra.ptr(), {2}));
      args.push_back(rt::TensorArg(o.ptr(), {s.B, s.hq, s.d}));
      args.push_back(rt::TensorArg(idx.ptr(), {s.B, hsel, perRow}));
      args.push_back(rt::TensorArg(extra2.ptr(), {s.B, hsel, perRow}));
    } else {
      args.push_back(rt::TensorArg(o.ptr(), {s.B, s.hq, s.d}));
      args.push_back(rt::TensorArg(idx.ptr(), {s.B, hsel, perRow}));
      if (s.op == "twilight") {
        extra = check(ctx.alloc(s.B * hsel * 4), "alloc kept_counts");
        args.push_back(rt::TensorArg(extra.ptr(), {s.B, hsel}));
      }
    }
    // Every label row scored once per kv head, each selected K and V row once, q and o; Twilight
    // adds each candidate's label row once more (the estimate) and decodes the kept tokens only.
    double decodeRows = 1.0 * s.B * hsel * std::min(perRow, s.N);
    row.bytes = 1.0 * s.B * s.hkv * s.N * s.labelBytes() + qo;
    if (s.op != "twilight")
      row.bytes += 2.0 * decodeRows * s.d * 2;
  }
  timeStages(*pipeline, args, timer, warmup, iters, row);
  if (s.op == "twilight") {
    std::vector<int32_t> counts(s.B * (s.shared ? s.hkv : s.hq));
    check(extra.download(counts.data(), counts.size() * 4), "download kept_counts");
    double kept = 0;
    for (int32_t c : counts)
      kept += c;
    // The estimate reads each candidate's label row, or its int4 values and scales (72 of the
    // record's 80 bytes at d = 128).
    const double perCandidate = s.int4 ? s.d / 2.0 + s.d / 16.0 : 2.0 * s.r;
    row.bytes += perCandidate * counts.size() * s.k + 2.0 * kept * s.d * 2;
    row.stages.push_back({"(mean kept per row: " + std::to_string(int64_t(kept / counts.size())) +
                              " of " + std::to_string(s.k) + ")",
                          0.0});
  }
  return row;
}

std::vector<Shape> suite(const std::string &name) {
  std::vector<Shape> rows;
  auto ds = [&](int64_t B, int64_t N, int64_t k, int64_t hkv, bool shared) {
    Shape s;
    s.B = B, s.N = N, s.k = k, s.hkv = hkv, s.shared = shared;
    rows.push_back(s);
  };
  if (name == "ds" || name == "all")
    for (auto [B, N, k] : std::vector<std::array<int64_t, 3>>{
             {1, 4096, 256}, {8, 4096, 1024}, {8, 16384, 1024}, {8, 65536, 1024}, {32, 65536, 1024}})
      ds(B, N, k, 32, false);
  if (name == "ds-gqa" || name == "all")
    for (auto [B, N, k] : std::vector<std::array<int64_t, 3>>{
             {1, 4096, 256}, {8, 4096, 1024}, {8, 16384, 1024}, {8, 65536, 1024}, {32, 65536, 1024}})
      ds(B, N, k, 8, true);
  if (name == "ds-lowbit" || name == "all")
    for (const char *format : {"fp8", "int4"})
      for (auto [B, N, k] : std::vector<std::array<int64_t, 3>>{{8, 65536, 1024}, {32, 65536, 1024}}) {
        Shape s;
        s.B = B, s.N = N, s.k = k, s.labelFormat = format;
        rows.push_back(s);
      }
  if (name == "dense" || name == "all") {
    Shape s;
    s.op = "dense", s.B = 8, s.N = 16384;
    rows.push_back(s);
  }
  if (name == "la" || name == "all") {
    for (int64_t B : {64, 256}) {
      Shape s;
      s.op = "la-decode", s.B = B, s.hq = 64, s.hkv = 64, s.d = 128, s.N = 1;
      rows.push_back(s);
    }
    // Prefill from zero states: one request of 4096 and of 16384 tokens, four of 4096 packed.
    for (auto [B, N] : std::vector<std::array<int64_t, 2>>{{1, 4096}, {1, 16384}, {4, 4096}}) {
      Shape s;
      s.op = "la-prefill", s.B = B, s.N = N, s.hq = 64, s.hkv = 64, s.d = 128;
      rows.push_back(s);
    }
    // Speculative verify: 64 requests of 8 tokens from their states, without and with the
    // state after every token.
    for (bool intermediate : {false, true}) {
      Shape s;
      s.op = "la-prefill", s.B = 64, s.N = 8, s.hq = 64, s.hkv = 64, s.d = 128;
      s.initial = true, s.intermediate = intermediate;
      rows.push_back(s);
    }
  }
  if (name == "quest" || name == "all") {
    // The Quest issue's rows: B = 8, N = 32768, budget 2048 (MHA and Hkv = 8 shared), B = 1,
    // B = 32 N = 65536 budget 4096; then dense decode at B = 8, N = 32768 for the ratio.
    for (auto [B, N, budget, hkv] : std::vector<std::array<int64_t, 4>>{
             {8, 32768, 2048, 32}, {8, 32768, 2048, 8}, {1, 32768, 2048, 32}, {32, 65536, 4096, 32}}) {
      Shape s;
      s.op = "quest", s.B = B, s.N = N, s.k = budget, s.hkv = hkv, s.P = 16, s.shared = hkv != 32;
      rows.push_back(s);
    }
    Shape s;
    s.op = "dense", s.B = 8, s.N = 32768, s.P = 16;
    rows.push_back(s);
  }
  if (name == "twilight" || name == "all") {
    // topp alone (256 rows of 4096 candidates); the Twilight step over 4096 DS candidates and
    // the DS step at k = 4096 it adds to.
    Shape t;
    t.op = "topp", t.B = 8, t.k = 4096;
    rows.push_back(t);
    for (int variant = 0; variant < 3; ++variant) {
      Shape s;
      s.op = variant < 2 ? "twilight" : "ds", s.B = 8, s.N = 65536, s.k = 4096;
      s.int4 = variant == 1;
      rows.push_back(s);
    }
  }
  if (name == "topk" || name == "all") {
    // ds.topk alone: 256 rows of 65536 scores, k = 1024 (issue 14's row), and the page rows of
    // Quest's B = 1 and B = 8 steps (2048 pages, k = 128).
    for (auto [B, N, k] : std::vector<std::array<int64_t, 3>>{{8, 65536, 1024}, {1, 2048, 128}, {8, 2048, 128}}) {
      Shape s;
      s.op = "topk", s.B = B, s.N = N, s.k = k;
      rows.push_back(s);
    }
  }
  if (name == "vattention" || name == "all") {
    // 64 sinks + 512 local + top-1024 + 1024 samples.
    for (auto [B, N] : std::vector<std::array<int64_t, 2>>{{8, 65536}, {1, 16384}}) {
      Shape s;
      s.op = "vattention", s.B = B, s.N = N, s.k = 1024;
      rows.push_back(s);
    }
  }
  if (rows.empty())
    die("--suite must be ds, ds-gqa, ds-lowbit, dense, la, quest, twilight, topk, vattention or all, got '" +
        name + "'");
  return rows;
}

/// Every option is checked here, before a device is opened.
cl::OptionCategory category("ds-bench options");
cl::opt<std::string> suiteName("suite", cl::desc("A suite of shapes: ds | ds-gqa | ds-lowbit | dense | la | quest | topk | "
                                                 "twilight | vattention | all "
                                                 "(else one shape from the flags below)"),
                               cl::value_desc("name"), cl::cat(category));
cl::opt<std::string> opName("op", cl::desc("ds | dense | quest | la-decode | la-prefill | topk | topp | "
                                           "vattention | twilight"), cl::init("ds"),
                            cl::cat(category));
cl::opt<int64_t> optB("B", cl::desc("Batch (requests)"), cl::init(8), cl::cat(category));
cl::opt<int64_t> optN("N", cl::desc("Tokens per request"), cl::init(4096), cl::cat(category));
cl::opt<int64_t> optK("k", cl::desc("Tokens selected (ds); the token budget (quest)"), cl::init(1024), cl::cat(category));
cl::opt<int64_t> optHq("hq", cl::desc("Query heads (default 32; 64 for la-prefill)"), cl::init(32),
                       cl::cat(category));
cl::opt<int64_t> optHkv("hkv", cl::desc("KV heads"), cl::init(32), cl::cat(category));
cl::opt<int64_t> optD("d", cl::desc("Head dim"), cl::init(128), cl::cat(category));
cl::opt<int64_t> optR("r", cl::desc("Label dim (ds)"), cl::init(16), cl::cat(category));
cl::opt<int64_t> optP("P", cl::desc("Page size"), cl::init(1), cl::cat(category));
cl::opt<std::string> dtypeName("dtype", cl::desc("bf16 | f16"), cl::init("bf16"),
                               cl::cat(category));
cl::opt<bool> sharedFlag("shared", cl::desc("ds: one selection per KV head group"),
                         cl::cat(category));
cl::opt<bool> initialFlag("initial", cl::desc("la-prefill: has_initial_state = 1"),
                          cl::cat(category));
cl::opt<bool> intermediateFlag("intermediate",
                               cl::desc("la-prefill: also write the state after every token "
                                        "(keep_intermediate)"),
                               cl::cat(category));
cl::opt<bool> scatterFlag("scatter",
                          cl::desc("Each request's pages a random permutation of the pool "
                                   "(default: consecutive)"),
                          cl::cat(category));
cl::opt<int64_t> sinksFlag("sinks", cl::desc("vattention: sink tokens"), cl::init(64),
                          cl::cat(category));
cl::opt<int64_t> windowFlag("window", cl::desc("vattention: local window tokens"), cl::init(512),
                           cl::cat(category));
cl::opt<int64_t> samplesFlag("samples", cl::desc("vattention: sampled tokens"), cl::init(1024),
                            cl::cat(category));
cl::opt<double> topPFlag("top-p", cl::desc("topp, twilight: the mass to keep, in (0, 1]"),
                         cl::init(0.9), cl::cat(category));
cl::opt<std::string> estimateName("estimate", cl::desc("twilight: labels | int4"),
                                  cl::init("labels"), cl::cat(category));
cl::opt<std::string> labelFormatName("label-format",
                                     cl::desc("ds: the label cache's format, same (the dtype) | "
                                              "fp8 | int4 (with f16 scales)"),
                                     cl::init("same"), cl::cat(category));
cl::opt<bool> pdlFlag("pdl",
                     cl::desc("Chain each pipeline's kernels by programmatic dependent launch "
                              "where the GPU has it (sm_90+); --pdl=false to compare"),
                     cl::init(true), cl::cat(category));
cl::opt<bool> chainFlag("chain",
                       cl::desc("Also time each pipeline up to each of its kernels, chained as "
                                "in the step (each kernel's share of the step), not only each "
                                "kernel alone"),
                       cl::init(false), cl::cat(category));
cl::opt<int64_t> warmupFlag("warmup", cl::desc("Untimed calls before timing"), cl::init(10),
                            cl::cat(category));
cl::opt<int64_t> itersFlag("iters", cl::desc("Timed calls (the median is reported)"),
                           cl::init(100), cl::cat(category));
cl::opt<int64_t> roundsFlag(
    "rounds",
    cl::desc("Times every shape, in order, this many times (the first round compiles each "
             "pipeline just before timing it, later rounds reuse them; each round allocates and "
             "fills its buffers anew): run-to-run spread within one run, and rounds after the "
             "first with no compile between timings"),
    cl::init(1), cl::cat(category));
cl::list<std::string> configFlags(
    "config",
    cl::desc("Config override <op>.<field>=<value> (e.g. topp.warps=16), repeated or comma "
             "separated: sets that field of the chosen config of every such op; every pipeline "
             "timed must have the op, and the config is checked like any other"),
    cl::value_desc("op.field=value"), cl::CommaSeparated, cl::cat(category));
cl::opt<std::string> flushName(
    "flush",
    cl::desc("How the L2 is emptied before each timed call: write (256 MiB written, the "
             "issues' reference method: the L2 is left full of dirty lines, which the timed call "
             "writes back as it evicts them) | clean (the same, then 256 MiB read by a generated "
             "dense decode: the L2 is left holding clean lines, a few MB of them dirty)"),
    cl::init("write"), cl::cat(category));
cl::opt<std::string> csvPath("csv",
                             cl::desc("Also write the results as CSV (rows shape,stage,value; "
                                      "the first two give the run's copy bandwidth and flush)"),
                             cl::value_desc("file"), cl::cat(category));

/// What no GPU could run or the benchmark's i32 tables cannot hold: an error naming the flags, or
/// nullopt. Sizes past these fail later as the driver's out-of-memory error.
std::optional<std::string> shapeError(const Shape &s) {
  constexpr double kMaxI32 = 2147483647.0, kMaxBufferBytes = 256.0 * (1 << 30);
  const double B = s.B, N = s.N, P = s.P;
  if (N > kMaxI32)
    return "--N must be at most 2147483647 (seq_lens are i32), got " + std::to_string(s.N);
  double largest = 0; // bytes of the largest device buffer
  if (s.op == "topk" || s.op == "topp") {
    largest = 4.0 * B * s.hq * (s.op == "topk" ? N : double(s.k));
  } else if (s.op == "la-prefill") {
    if (B * N > kMaxI32)
      return "--B x --N tokens must be at most 2147483647 (cu_seqlens are i32)";
    // q, k, v, o; the f32 states; the state after every token.
    largest = std::max({2.0 * B * N * s.hq * s.d, 4.0 * B * s.hq * s.d * s.d,
                        s.intermediate ? 4.0 * B * N * s.hq * s.d * s.d : 0.0});
  } else if (s.op == "la-decode") {
    largest = 4.0 * B * s.hq * s.d * s.d;
  } else {
    const double pages = B * std::ceil(N / P);
    if (pages > kMaxI32)
      return "--B x ceil(--N / --P) pages must be at most 2147483647 (page ids are i32)";
    largest = 2.0 * pages * P * s.hkv * s.d;
  }
  if (largest > kMaxBufferBytes)
    return "the shape '" + s.label() + "' needs a device buffer of " +
           std::to_string(static_cast<int64_t>(largest / (1 << 30))) +
           " GiB; ds-bench refuses buffers over 256 GiB";
  return std::nullopt;
}

/// One timed shape: its table row and stages on stdout, and its CSV rows when `csv` is open.
void report(const std::string &label, const Row &r, double copyGBs, std::FILE *csv) {
  double gbs = r.bytes / (r.totalUs * 1e3);
  std::printf("%-62s %10.1f %10.1f %9.0f %6.1f%%", label.c_str(), r.totalUs, r.bytes / 1e6, gbs,
              100.0 * gbs / copyGBs);
  if (r.flops > 0) // useful work only (prefill)
    std::printf(" %8.1f", r.flops / (r.totalUs * 1e6));
  std::printf("\n");
  for (auto &[stage, us] : r.stages)
    std::printf("    %-58s %10.1f\n", stage.c_str(), us);
  if (csv) {
    for (auto &[stage, us] : r.stages)
      std::fprintf(csv, "\"%s\",%s,%.2f\n", label.c_str(), stage.c_str(), us);
    std::fprintf(csv, "\"%s\",total,%.2f\n\"%s\",bytes,%.0f\n\"%s\",pct_copy_bw,%.2f\n",
                 label.c_str(), r.totalUs, label.c_str(), r.bytes, label.c_str(),
                 100.0 * gbs / copyGBs);
    if (r.flops > 0)
      std::fprintf(csv, "\"%s\",tflops,%.2f\n", label.c_str(), r.flops / (r.totalUs * 1e6));
  }
  std::fflush(stdout);
}

/// A size or count flag must be a positive integer.
void positive(const cl::opt<int64_t> &flag) {
  if (flag < 1)
    die("--" + flag.ArgStr.str() + " must be a positive integer, got " + std::to_string(flag));
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Only this tool's options: LLVM's back-end and pass options are refused as unknown.
  ds::tools::acceptOnlyCategory(category);
  ds::tools::setVersionPrinter("ds-bench");
  cl::ParseCommandLineOptions(argc, argv,
                              "ds-bench: times generated pipelines on the GPU (CUDA events, L2 "
                              "flushed, median)\n");
  // Every value is checked, even where --suite makes it unused.
  const std::string op = opName;
  if (op != "ds" && op != "dense" && op != "quest" && op != "la-decode" && op != "la-prefill" &&
      op != "topk" && op != "topp" && op != "vattention" && op != "twilight")
    die("--op must be ds, dense, quest, la-decode, la-prefill, topk, topp, vattention or "
        "twilight, got '" + op + "'");
  if (flushName != "write" && flushName != "clean")
    die("--flush must be write or clean, got '" + flushName + "'");
  const Flush flushMode = flushName == "clean" ? Flush::Clean : Flush::Write;
  if (!(topPFlag > 0.0 && topPFlag <= 1.0))
    die("--top-p must be in (0, 1], got " + std::to_string(topPFlag));
  if (estimateName != "labels" && estimateName != "int4")
    die("--estimate must be labels or int4, got '" + estimateName + "'");
  if (sinksFlag < 0 || windowFlag < 0)
    die("--sinks and --window must be >= 0");
  if (labelFormatName != "same" && labelFormatName != "fp8" && labelFormatName != "int4")
    die("--label-format must be same, fp8 or int4, got '" + labelFormatName + "'");
  if (labelFormatName != "same" && op != "ds")
    die("--label-format applies to --op=ds only");
  if ((initialFlag || intermediateFlag) && op != "la-prefill")
    die(std::string("--") + (initialFlag ? "initial" : "intermediate") +
        " applies to --op=la-prefill only");
  if ((labelFormatName == "int4" && optR % 8 != 0) || (labelFormatName == "fp8" && optR % 4 != 0))
    die("--r must be a multiple of 8 (int4) or 4 (fp8) labels with --label-format=" +
        labelFormatName);
  if (dtypeName != "bf16" && dtypeName != "f16")
    die("--dtype must be bf16 or f16, got '" + dtypeName + "'");
  for (const cl::opt<int64_t> *flag : {&optB, &optN, &optK, &optHq, &optHkv, &optD, &optR, &optP,
                                       &samplesFlag, &warmupFlag, &itersFlag, &roundsFlag})
    positive(*flag);
  const std::vector<std::string> overrides(configFlags.begin(), configFlags.end());
  if (auto error = mlir::ds::configOverridesError(overrides))
    die("--config: " + *error);
  std::vector<Shape> shapes;
  if (suiteName.getNumOccurrences()) {
    shapes = suite(suiteName);
  } else {
    Shape s;
    s.op = op;
    s.B = optB, s.N = optN, s.k = optK;
    s.hq = optHq.getNumOccurrences() ? int64_t(optHq) : (s.op == "la-prefill" ? 64 : 32);
    s.hkv = optHkv, s.d = optD, s.r = optR, s.P = optP;
    s.bf16 = dtypeName == "bf16";
    s.shared = sharedFlag;
    s.initial = initialFlag;
    s.intermediate = intermediateFlag;
    s.sinks = sinksFlag, s.window = windowFlag, s.samples = samplesFlag, s.topP = topPFlag;
    s.int4 = estimateName == "int4";
    s.labelFormat = labelFormatName;
    shapes.push_back(s);
  }
  if (scatterFlag)
    for (Shape &s : shapes)
      s.scatter = true;
  int warmup = static_cast<int>(std::min<int64_t>(warmupFlag, INT32_MAX));
  int iters = static_cast<int>(std::min<int64_t>(itersFlag, INT32_MAX));
  // Every shape's sizes, and its pipeline as ds IR checked by its family's spec rules, every
  // op's verifier and the overrides' ops; then the CSV path: all before the device.
  std::vector<std::string> sources;
  for (const Shape &s : shapes) {
    if (auto error = shapeError(s))
      die(*error);
    rt::Expected<std::string> source = sourceOf(s);
    if (!source)
      die("'" + s.label() + "': " + source.message() +
          "\n  (spec fields from flags: heads --hq, kvHeads --hkv, headDim --d, labelDim --r, "
          "pageSize --P, k / tokenBudget / candidates -k, numSamples --samples)");
    if (rt::Status valid = mlir::ds::verifySource(*source, s.op + ".mlir", overrides);
        !valid.ok())
      die("'" + s.label() + "': " + valid.message());
    sources.push_back(std::move(*source));
  }
  // The CSV file opened for appending (an earlier file is kept if the device then fails); it is
  // rewritten once the device is open.
  const bool csvWanted = csvPath.getNumOccurrences() > 0;
  if (csvWanted) {
    std::FILE *probe = std::fopen(csvPath.c_str(), "a");
    if (!probe)
      die("cannot write " + csvPath + ": " + std::strerror(errno));
    std::fclose(probe);
  }

  rt::Context ctx = check(rt::Context::open(0), "open device");
  check(ctx.makeCurrent(), "context");
  jit::JIT jit(ctx);
  jit.setProgrammaticLaunch(pdlFlag);
  Timer timer(ctx, jit, flushMode); // the clean flush's reader compiled without the overrides
  double copyGBs = copyBandwidthGBs(ctx, timer);
  std::printf("device: %s, %d SMs; device-to-device copy bandwidth (read + write): %.0f GB/s\n",
              ctx.properties().name.c_str(), ctx.properties().smCount, copyGBs);
  std::printf("L2 emptied before each timed call by %s\n",
              flushMode == Flush::Write ? "writing 256 MiB (--flush=write)"
                                        : "writing, then reading 256 MiB (--flush=clean)");
  jit.setConfigOverrides(overrides);
  if (!overrides.empty())
    std::printf("config overrides: %s\n", llvm::join(overrides, ", ").c_str());
  timer.chains = chainFlag;
  std::printf("programmatic dependent launch: %s\n",
              !pdlFlag ? "off (--pdl=false)"
              : ctx.properties().smVersion() >= mlir::ds::kProgrammaticLaunchVersion
                  ? "on"
                  : "off (the GPU has no griddepcontrol)");
  std::FILE *csv = csvWanted ? std::fopen(csvPath.c_str(), "w") : nullptr;
  if (csvWanted && !csv)
    die("cannot write " + csvPath + ": " + std::strerror(errno));
  if (csv) // the run's own rows first: the copy rate the shares are of, and the L2 flush used
    std::fprintf(csv, "shape,stage,us\n\"(run)\",copy_bw_gbs,%.0f\n\"(run)\",flush_clean,%d\n",
                 copyGBs, flushMode == Flush::Clean ? 1 : 0);
  std::printf("%-62s %10s %10s %9s %7s %8s\n", "shape", "total_us", "MB_moved", "GB/s", "%copy",
              "TFLOP/s");
  const int64_t rounds = roundsFlag;
  for (int64_t round = 1; round <= rounds; ++round) {
    if (rounds > 1)
      std::printf("round %lld of %lld\n", static_cast<long long>(round),
                  static_cast<long long>(rounds));
    for (size_t i = 0; i < shapes.size(); ++i) {
      Row r = run(ctx, jit, timer, shapes[i], sources[i], warmup, iters);
      // With several rounds a row's shape names its round (in the CSV too).
      report(rounds > 1 ? shapes[i].label() + " [round " + std::to_string(round) + "]"
                        : shapes[i].label(),
             r, copyGBs, csv);
    }
  }
  // A write error (a full disk) would otherwise lose the CSV behind a successful exit.
  if (csv) {
    const bool writeFailed = std::ferror(csv) != 0;
    if (std::fclose(csv) != 0 || writeFailed)
      die("cannot write " + csvPath + ": the CSV is incomplete");
  }
  return 0;
}
