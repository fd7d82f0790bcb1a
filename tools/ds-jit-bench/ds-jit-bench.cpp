// ds-jit-bench: what a serving process pays for a pipeline at start-up, on this machine, no GPU:
// the cold in-process compile of a spec (ds IR to PTX, no ptxas) and the JIT disk cache's hit
// (read, checksum, parse), each the median of --repeat runs.
//
//   ds-jit-bench [--spec=double-sparsity|quest|dense] [--chip=sm_90] [--repeat=N]
#include "codegen/JIT.h"
#include "codegen/JITCache.h"
#include "tools/ToolOptions.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

using namespace ds;
using namespace llvm;

static cl::OptionCategory category("ds-jit-bench options");
static cl::opt<std::string> specName("spec", cl::desc("double-sparsity | quest | dense"),
                                     cl::init("double-sparsity"), cl::cat(category));
static cl::opt<std::string> chip("chip", cl::desc("Target chip"), cl::init("sm_90"),
                                 cl::cat(category));
static cl::opt<int> repeat("repeat", cl::desc("Runs per measurement (median)"), cl::init(5),
                           cl::cat(category));

static cl::opt<bool> printIR("print-ir", cl::desc("Print the spec's ds IR and exit"),
                             cl::init(false), cl::cat(category));

static double medianMs(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int main(int argc, char **argv) {
  // Only this tool's options: LLVM's back-end and pass options are refused as unknown.
  ds::tools::acceptOnlyCategory(category);
  ds::tools::setVersionPrinter("ds-jit-bench");
  cl::ParseCommandLineOptions(argc, argv, "ds-jit-bench: cold JIT compile and disk-cache hit\n");
  if (repeat < 1) {
    std::fprintf(stderr, "ds-jit-bench: --repeat must be at least 1, got %d\n", int(repeat));
    return 2;
  }
  rt::Expected<std::string> ir = std::string();
  if (specName == "double-sparsity")
    ir = jit::doubleSparsityIR(jit::DoubleSparsitySpec());
  else if (specName == "quest")
    ir = jit::questIR(jit::QuestSpec());
  else if (specName == "dense")
    ir = jit::denseDecodeIR(jit::DenseDecodeSpec());
  else {
    std::fprintf(stderr, "ds-jit-bench: --spec must be double-sparsity, quest or dense, got '%s'\n",
                 specName.c_str());
    return 2;
  }
  if (!ir.ok()) {
    std::fprintf(stderr, "ds-jit-bench: %s\n", ir.message().c_str());
    return 1;
  }
  if (printIR) {
    std::fputs(ir->c_str(), stdout);
    return 0;
  }
  const jit::Target target{chip, 132};
  SmallString<128> dir;
  if (sys::fs::createUniqueDirectory("ds-jit-bench", dir)) {
    std::fprintf(stderr, "ds-jit-bench: cannot create a temporary folder\n");
    return 1;
  }
  // The folder goes on every exit from here (an error left it behind).
  struct RemoveOnExit {
    const SmallString<128> &path;
    ~RemoveOnExit() { sys::fs::remove_directories(path); }
  } removeOnExit{dir};
  jit::DiskCache cache{std::string(dir)};
  using clock = std::chrono::steady_clock;
  auto ms = [](clock::time_point a, clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
  };
  std::vector<double> cold, hit;
  size_t bytes = 0;
  for (int i = 0; i < repeat; ++i) {
    auto t0 = clock::now();
    auto b = jit::compileSource(*ir, target, "", /*cubin=*/false);
    auto t1 = clock::now();
    if (!b.ok()) {
      std::fprintf(stderr, "ds-jit-bench: %s\n", b.message().c_str());
      return 1;
    }
    cold.push_back(ms(t0, t1));
    bytes = b->serialize().size();
  }
  bool wasHit = false;
  (void)jit::compileSourceCached(*ir, target, cache, &wasHit); // stores the entry
  for (int i = 0; i < repeat; ++i) {
    auto t0 = clock::now();
    auto b = jit::compileSourceCached(*ir, target, cache, &wasHit);
    auto t1 = clock::now();
    if (!b.ok() || !wasHit) {
      std::fprintf(stderr, "ds-jit-bench: the disk cache missed\n");
      return 1;
    }
    hit.push_back(ms(t0, t1));
  }
  std::printf("spec %s, %s: cold compile %.1f ms, disk-cache hit %.2f ms (entry %zu bytes; "
              "median of %d)\n",
              specName.c_str(), chip.c_str(), medianMs(cold), medianMs(hit), bytes, int(repeat));
  return 0;
}
