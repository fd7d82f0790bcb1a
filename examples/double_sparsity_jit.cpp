// Example: JIT-compile a Double Sparsity decode step from C++, run it on random data and check it
// against the CPU reference.
//
//   ds-example                        compile from a spec (ds::jit::DoubleSparsitySpec)
//   ds-example examples/double_sparsity.mlir   compile that ds function instead (same signature)
//
// Without a GPU it compiles the pipeline (PTX + bundle) and says that nothing ran.
#include "codegen/JIT.h"
#include "runtime/Device.h"
#include "tools/ToolOptions.h"
#include "tools/reference/DoubleSparsity.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <string>
#include <vector>

namespace cl = llvm::cl;
using namespace ds;

namespace {

cl::OptionCategory category("ds-example options");
cl::opt<std::string> sourcePath(cl::Positional,
                                cl::desc("[<ds function .mlir> (default: built from a spec)]"),
                                cl::cat(category));

[[noreturn]] void die(const std::string &what) {
  std::fprintf(stderr, "ds-example: %s\n", what.c_str());
  std::exit(1);
}

/// The text of `path`: a readable, non-empty file (an empty one would silently mean "no source").
std::string readSource(const std::string &path) {
  if (llvm::sys::fs::is_directory(path))
    die("cannot read '" + path + "': is a directory");
  if (auto notFile = ds::tools::sourceFileError(path))
    die(*notFile);
  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!file)
    die("cannot read '" + path + "': " + file.getError().message());
  llvm::StringRef text = (*file)->getBuffer();
  if (text.trim().empty())
    die("'" + path + "' is empty: give a file holding a ds function, or no file for the built-in "
        "example");
  return text.str();
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Only this tool's options: LLVM's back-end and pass options are refused as unknown.
  ds::tools::acceptOnlyCategory(category);
  ds::tools::setVersionPrinter("ds-example");
  cl::ParseCommandLineOptions(
      argc, argv,
      "ds-example: JIT-compiles a Double Sparsity decode step (from a spec, or from the given "
      ".mlir with the same signature), runs it on random ragged requests and checks it against "
      "the CPU reference; without a GPU it only compiles\n");
  jit::DoubleSparsitySpec spec; // Hq = Hkv = 32, d = 128, r = 16, k = 256, page size 1, bf16
  std::string source;
  if (sourcePath.getNumOccurrences())
    source = readSource(sourcePath);
  // The pipeline compiles (for an H100: sm_90, 132 SMs) before the GPU is opened, and a given
  // source must have the built-in step's signature: q, k_cache, v_cache, label_cache, channels,
  // page_table, seq_lens in; o and the selected indices out.
  jit::Target target;
  target.chip = "sm_90";
  target.smCount = 132;
  auto bundle = source.empty() ? jit::compileDoubleSparsity(spec, target)
                               : jit::compileSource(source, target);
  if (!bundle) {
    std::fprintf(stderr, "ds-example: %s\n", bundle.message().c_str());
    return 1;
  }
  const size_t ranks[] = {3, 4, 4, 3, 2, 2, 1, 3, 3};
  bool signature = bundle->args.size() == std::size(ranks);
  for (size_t i = 0; signature && i < std::size(ranks); ++i)
    signature = bundle->args[i].dims.size() == ranks[i] &&
                (bundle->args[i].role == rt::ArgRole::Out) == (i >= 7);
  if (!signature) {
    std::fprintf(stderr,
                 "ds-example: '%s' does not have the Double Sparsity step's signature (q [B, Hq, "
                 "d], k_cache and v_cache [pages, P, Hkv, d], label_cache [Hkv, slots, r], "
                 "channels [Hkv, r], page_table [B, pages], seq_lens [B] in; o [B, Hq, d] and "
                 "indices [B, Hq, k] out)\n",
                 sourcePath.c_str());
    return 1;
  }
  rt::Expected<rt::Context> ctx = rt::Context::open(0);
  if (!ctx) {
    std::printf("compiled: %zu kernels, %zu bytes of PTX; not run: %s\n", bundle->kernels.size(),
                bundle->ptx.size(), ctx.message().c_str());
    return 0;
  }
  jit::JIT jit(*ctx);
  auto pipeline = source.empty() ? jit.doubleSparsity(spec) : jit.fromSource(source);
  if (!pipeline) {
    std::fprintf(stderr, "ds-example: %s\n", pipeline.message().c_str());
    return 1;
  }
  ref::DSShape shape; // the spec's defaults
  shape.lens = {4096, 1000, 200, 4097, 1, 77};
  ref::DSProblem p = ref::makeDSProblem(shape, 7);
  const int64_t B = p.paging.batch;
  auto up = [&](const auto &host) {
    auto buf = ctx->alloc(std::max<size_t>(16, host.size() * sizeof(host[0])));
    if (!buf || !buf->upload(host.data(), host.size() * sizeof(host[0])).ok()) {
      std::fprintf(stderr, "ds-example: device memory: %s\n", buf.message().c_str());
      std::exit(1);
    }
    return std::move(*buf);
  };
  auto dq = up(p.q), dk = up(p.kv.k), dv = up(p.kv.v), dl = up(p.labels), dch = up(p.channels);
  auto dpt = up(p.paging.pageTable), dsl = up(p.paging.seqLens);
  auto dout = up(std::vector<uint16_t>(B * 32 * 128)), didx = up(std::vector<int32_t>(B * 32 * 256));
  std::vector<rt::TensorArg> args = {
      rt::TensorArg(dq.ptr(), {B, 32, 128}), rt::TensorArg(dk.ptr(), {p.kv.numPages, 1, 32, 128}),
      rt::TensorArg(dv.ptr(), {p.kv.numPages, 1, 32, 128}),
      rt::TensorArg(dl.ptr(), {32, p.slots(), 16}), rt::TensorArg(dch.ptr(), {32, 16}),
      rt::TensorArg(dpt.ptr(), {B, p.paging.maxPages}), rt::TensorArg(dsl.ptr(), {B}),
      rt::TensorArg(dout.ptr(), {B, 32, 128}), rt::TensorArg(didx.ptr(), {B, 32, 256})};
  auto ws = rt::OwnedWorkspace::allocate(**pipeline, args);
  rt::Status st = ws ? (*pipeline)->launch(args, ws->get(), nullptr) : ws.status();
  if (st.ok())
    st = ctx->synchronize();
  if (!st.ok()) {
    std::fprintf(stderr, "ds-example: %s\n", st.message().c_str());
    return 1;
  }
  std::vector<int32_t> idx(B * 32 * 256);
  std::vector<uint16_t> out(B * 32 * 128);
  if (!didx.download(idx.data(), idx.size() * 4).ok() ||
      !dout.download(out.data(), out.size() * 2).ok()) {
    std::fprintf(stderr, "ds-example: download failed\n");
    return 1;
  }
  std::string errors = ref::checkDS(p, idx, out);
  std::printf("ran %zu kernels (%s) on %s for B = %lld ragged requests: %s\n",
              (*pipeline)->kernels().size(), (*pipeline)->imageKind(),
              ctx->properties().name.c_str(), static_cast<long long>(B),
              errors.empty() ? "matches the CPU reference" : "MISMATCH");
  if (!errors.empty())
    std::fprintf(stderr, "%s", errors.c_str());
  return errors.empty() ? 0 : 1;
}
