// ds-split-kernel-modules and ds-emit-ptx: the kernels of a pipeline compile one module each, in
// parallel on the context's threads, and their PTX is joined into the one module the bundle holds.
#include "codegen/CodegenPasses.h"
#include "codegen/Pipelines.h"
#include "dialect/DSOps.h"
#include "dialect/DSTarget.h"

#include "mlir/IR/Threading.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Target/LLVM/ModuleToObject.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Analysis/CGSCCPassManager.h"
#include "llvm/Analysis/LoopAnalysisManager.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/PassInstrumentation.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/CrashRecoveryContext.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Target/TargetMachine.h"

#include <cctype>
#include <mutex>

extern "C" {
void LLVMInitializeNVPTXTarget();
void LLVMInitializeNVPTXTargetInfo();
void LLVMInitializeNVPTXTargetMC();
void LLVMInitializeNVPTXAsmPrinter();
}

namespace mlir {
namespace ds {
#define GEN_PASS_DEF_SPLITKERNELMODULESPASS
#define GEN_PASS_DEF_EMITPTXPASS
#include "codegen/Passes.h.inc"
} // namespace ds
} // namespace mlir

using namespace mlir;

namespace {
constexpr llvm::StringLiteral kKernels = mlir::ds::kKernelsSymbol;
constexpr llvm::StringLiteral kTriple = "nvptx64-nvidia-cuda";

/// The first type of `op` (its results, operands, block arguments or a TypeAttr attribute, such
/// as a global's or a GEP's element type) that LLVM IR has no counterpart for, or null. The LLVM
/// dialect's verifier lets some through (e.g. an array of f8E4M3FN), and their translation
/// crashed.
Type untranslatableType(Operation *op) {
  auto bad = [](Type t) { return !LLVM::isCompatibleType(t); };
  for (Type t : op->getResultTypes())
    if (bad(t))
      return t;
  for (Type t : op->getOperandTypes())
    if (bad(t))
      return t;
  for (Region &r : op->getRegions())
    for (Block &blk : r)
      for (BlockArgument a : blk.getArguments())
        if (bad(a.getType()))
          return a.getType();
  for (NamedAttribute a : op->getAttrs())
    if (auto ta = dyn_cast<TypeAttr>(a.getValue()); ta && !isa<FunctionType>(ta.getValue()) &&
                                                     !isa<LLVM::LLVMFunctionType>(ta.getValue()) &&
                                                     bad(ta.getValue()))
      return ta.getValue();
  return Type();
}

/// What the translation to LLVM IR and NVPTX's printer would abort the process on is refused
/// with a diagnostic first: a type LLVM IR does not have (untranslatableType), and a global NVPTX
/// cannot place (globals live in the generic (0), global (1) or constant (4) space, and shared
/// (3) or local (5) ones take no initial value).
LogicalResult checkTranslatable(ArrayRef<gpu::GPUModuleOp> modules) {
  bool ok = true;
  for (gpu::GPUModuleOp m : modules) {
    m.walk([&](Operation *op) {
      if (op == m.getOperation() ||
          !isa_and_nonnull<LLVM::LLVMDialect, NVVM::NVVMDialect>(op->getDialect()))
        return;
      if (Type t = untranslatableType(op)) {
        op->emitError("ds-emit-ptx: type ") << t << " does not translate to LLVM IR";
        ok = false;
      }
    });
    for (auto g : m.getOps<LLVM::GlobalOp>()) {
      const unsigned space = g.getAddrSpace();
      const bool initialized = g.getValueOrNull() || !g.getInitializerRegion().empty();
      if (space == 0 || space == 1 || space == 4 || ((space == 3 || space == 5) && !initialized))
        continue;
      InFlightDiagnostic d = g.emitError("ds-emit-ptx: global '") << g.getSymName() << "' ";
      if (space == 3 || space == 5)
        d << "in address space " << space << " cannot have an initial value";
      else
        d << "is in address space " << space
          << ", which PTX has no globals in (0 generic, 1 global, 3 shared, 4 constant, 5 local)";
      ok = false;
    }
  }
  return success(ok);
}

/// The reason of the LLVM fatal error that ended this thread's protected backend run.
thread_local std::string backendFailure;

/// Inside a protected backend run (ds-emit-ptx under enableCompilerErrorRecovery), an LLVM fatal
/// error (an intrinsic or operation NVPTX cannot select, a symbol PTX cannot name, ...) ends the
/// run with its reason instead of the process; elsewhere it is reported as LLVM does.
void onFatalError(void *, const char *reason, bool) {
  if (llvm::CrashRecoveryContext *crc = llvm::CrashRecoveryContext::GetCurrent()) {
    backendFailure = reason;
    crc->HandleExit(1);
  }
  llvm::errs() << "LLVM ERROR: " << reason << "\n";
}

/// The chip and PTX features ds-emit-ptx was given, checked before any module reaches the NVPTX
/// backend (which aborts on a chip or PTX version it cannot pair).
LogicalResult checkTarget(ModuleOp top, StringRef chip, StringRef features) {
  const mlir::ds::ChipInfo *info = mlir::ds::lookupChip(chip);
  if (!info)
    return top.emitError("ds-emit-ptx: unsupported chip '")
           << chip << "' (supported: " << mlir::ds::supportedChipList() << ")";
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(llvm::Triple(kTriple), error);
  if (!target)
    return top.emitError("ds-emit-ptx: no NVPTX target: ") << error;
  std::unique_ptr<llvm::MCSubtargetInfo> sti(
      target->createMCSubtargetInfo(llvm::Triple(kTriple), chip, ""));
  StringRef digits = features;
  unsigned version = 0;
  const bool known =
      sti && digits.consume_front("+ptx") && !digits.getAsInteger(10, version) &&
      llvm::any_of(sti->getAllProcessorFeatures(), [&](const llvm::SubtargetFeatureKV &kv) {
        return StringRef(kv.Key) == features.drop_front();
      });
  if (!known || version < static_cast<unsigned>(info->ptx))
    return top.emitError("ds-emit-ptx: features must be '+ptxNN', a PTX ISA version LLVM's NVPTX "
                         "backend knows, at least ")
           << info->ptx / 10 << "." << info->ptx % 10 << " (+ptx" << info->ptx << ") for " << chip
           << "; got '" << features << "'";
  // Kernels lowered for one chip (its instructions, its tuned configs) compile for that chip
  // only: ds-lower-to-kernels records it on each plan.
  bool ok = true;
  top.walk([&](mlir::ds::PlanOp plan) {
    auto lowered = plan->getAttrOfType<mlir::ds::TargetAttr>("ds.target");
    if (lowered && lowered.getChip() != chip) {
      plan.emitError("ds-emit-ptx: the kernels of '")
          << plan.getSymName() << "' were lowered for " << lowered.getChip()
          << " and cannot be compiled for " << chip << ": lower the function again for " << chip;
      ok = false;
    }
  });
  return success(ok);
}

/// Points every ds.launch whose kernel is `@<any>::@leaf` at `@module::@leaf`, for the leaves
/// `moduleOf` knows.
void retargetLaunches(ModuleOp top, const llvm::StringMap<StringAttr> &moduleOf) {
  top.walk([&](ds::LaunchOp launch) {
    StringAttr leaf = launch.getKernel().getLeafReference();
    auto it = moduleOf.find(leaf.getValue());
    if (it == moduleOf.end())
      return;
    launch.setKernelAttr(SymbolRefAttr::get(it->second, {FlatSymbolRefAttr::get(leaf)}));
  });
}

struct SplitKernelModulesPass final
    : public ds::impl::SplitKernelModulesPassBase<SplitKernelModulesPass> {
  void runOnOperation() override {
    ModuleOp top = getOperation();
    gpu::GPUModuleOp kernels;
    for (auto m : top.getOps<gpu::GPUModuleOp>())
      if (m.getSymName() == kKernels)
        kernels = m;
    if (!kernels)
      return;
    SmallVector<gpu::GPUFuncOp> funcs;
    for (auto f : kernels.getOps<gpu::GPUFuncOp>())
      if (f.isKernel())
        funcs.push_back(f);
    if (funcs.size() < 2)
      return;
    OpBuilder b(kernels);
    llvm::StringMap<StringAttr> moduleOf;
    for (auto [i, f] : llvm::enumerate(funcs)) {
      // A module holding this kernel (moved) and a copy of every non-kernel op.
      auto part = cast<gpu::GPUModuleOp>(b.cloneWithoutRegions(*kernels));
      StringAttr name = b.getStringAttr((kKernels + "_" + llvm::Twine(i)).str());
      part.setSymName(name.getValue());
      Block *body = new Block();
      part.getBodyRegion().push_back(body);
      OpBuilder inside = OpBuilder::atBlockEnd(body);
      for (Operation &op : kernels.getBody()->getOperations()) {
        auto g = dyn_cast<gpu::GPUFuncOp>(op);
        if (!g || !g.isKernel())
          inside.clone(op);
      }
      f->moveBefore(body, body->begin());
      moduleOf[f.getName()] = name;
    }
    kernels.erase();
    retargetLaunches(top, moduleOf);
  }
};

/// Translation, optimization and NVPTX code generation of one gpu.module; no bitcode linked.
class PTXWriter : public LLVM::ModuleToObject {
public:
  PTXWriter(Operation &module, StringRef chip, StringRef features, int optLevel)
      : ModuleToObject(module, kTriple, chip, features, optLevel) {}

protected:
  /// The target machine, or an error on the module when the chip has none.
  FailureOr<llvm::TargetMachine *> targetMachine() {
    FailureOr<llvm::TargetMachine *> machine = getOrCreateTargetMachine();
    if (failed(machine))
      getOperation().emitError("no NVPTX target machine for ") << chip;
    return machine;
  }
  /// MLIR's O3 pipeline (ModuleToObject::optimizeModule) without the loop and SLP vectorizers,
  /// and without the passes that change none of ds's kernels (`skipsPass`). The kernel builders
  /// emit their vector loads and stores themselves; over the examples, the JIT specs and the lit
  /// inputs (bf16 and f16, sm_80 and sm_90: 55 compilations, 279 kernels) the PTX is
  /// byte-identical without any of them. The code generator runs at O2 for O3 (`codegenLevel`).
  LogicalResult optimizeModule(llvm::Module &llvmModule, int optL) override {
    FailureOr<llvm::TargetMachine *> machine = targetMachine();
    if (failed(machine))
      return failure();
    (*machine)->setOptLevel(codegenLevel(optL));
    llvm::PipelineTuningOptions tuning;
    tuning.LoopUnrolling = true;
    tuning.LoopInterleaving = true;
    tuning.LoopVectorization = false;
    tuning.SLPVectorization = false;
    llvm::PassInstrumentationCallbacks skips;
    // Runs of each optional pass asked so far, per IR unit (a kernel module holds one function).
    llvm::DenseMap<std::pair<llvm::StringRef, const void *>, int> runs; // names: static strings
    skips.registerShouldRunOptionalPassCallback([&](llvm::StringRef pass, llvm::Any ir) {
      const void *unit = nullptr;
      if (const auto *f = llvm::any_cast<const llvm::Function *>(&ir))
        unit = *f;
      return !skipsPass(pass, runs[{pass, unit}]++);
    });
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(*machine, tuning, std::nullopt, optL == 3 ? &skips : nullptr);
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    const llvm::OptimizationLevel levels[] = {
        llvm::OptimizationLevel::O0, llvm::OptimizationLevel::O1, llvm::OptimizationLevel::O2,
        llvm::OptimizationLevel::O3};
    llvm::ModulePassManager mpm =
        optL == 0 ? pb.buildO0DefaultPipeline(levels[0])
                  : pb.buildPerModuleDefaultPipeline(levels[optL]);
    mpm.run(llvmModule, mam);
    return success();
  }
  /// The code generator's level for an optimization level: O2 for O3. NVPTX's O3 code generator
  /// differs by running GVN where O2 runs EarlyCSE after its straight-line scalar passes; after
  /// the pipeline above the PTX of the 279 kernels is byte-identical at both levels, and GVN was
  /// about 15% of the code generator's time (DS spec, 2-core machine: cold compile 274-289 ->
  /// 251-269 ms, interleaved).
  static llvm::CodeGenOptLevel codegenLevel(int optL) {
    return optL == 3 ? llvm::CodeGenOptLevel::Default : static_cast<llvm::CodeGenOptLevel>(optL);
  }
  /// Whether the O3 pipeline's `run`-th request (0-based, per function) to run the optional pass
  /// `pass` is skipped: passes whose removal changes the PTX of none of the 279 kernels above
  /// (tried pass by pass, then as one set, against the full pipeline). Some of them do change
  /// the IR of some kernels (InstSimplify, LoopDeletion, InstCombine's 5th and 6th runs, ...) in
  /// ways that the passes after them redo; InferAlignment, which reports no change, is kept: the
  /// code generator's load/store vectorizer needs its alignments. The positions are those of
  /// LLVM 22's O3 pipeline without vectorizers (8 InstCombine runs, 8 SimplifyCFG runs); a
  /// different pipeline costs speed, never correctness (every skipped pass is an optimization).
  static bool skipsPass(llvm::StringRef pass, int run) {
    static const llvm::StringSet<> never = {
        "ADCEPass", "AggressiveInstCombinePass", "BDCEPass", "CGProfilePass",
        "CallSiteSplittingPass", "CalledValuePropagationPass", "DSEPass",
        "DeadArgumentEliminationPass", "Float2IntPass", "GlobalDCEPass", "GlobalOptPass",
        "InjectTLIMappings", "InstSimplifyPass", "LibCallsShrinkWrapPass",
        "LoopDeletionPass", "LoopDistributePass", "LoopIdiomRecognizePass",
        "LoopInstSimplifyPass", "LoopLoadEliminationPass", "LoopSimplifyCFGPass",
        "LoopVectorizePass", "LowerConstantIntrinsicsPass", "LowerExpectIntrinsicPass",
        "MemCpyOptPass", "MemProfRemoveInfo", "MergedLoadStoreMotionPass", "OpenMPOptPass",
        "RecomputeGlobalsAAPass", "SROAPass", "SimpleLoopUnswitchPass", "TailCallElimPass",
        "WarnMissedTransformationsPass"};
    if (never.contains(pass))
      return true;
    if (pass == "InstCombinePass")
      return run >= 4 && run <= 6; // runs 5-7 of 8
    if (pass == "SimplifyCFGPass")
      return run == 3;
    return false;
  }
  FailureOr<SmallVector<char, 0>> moduleToObject(llvm::Module &llvmModule) override {
    FailureOr<llvm::TargetMachine *> machine = targetMachine();
    if (failed(machine))
      return failure();
    FailureOr<SmallString<0>> ptx = translateModuleToISA(
        llvmModule, **machine, [&] { return getOperation().emitError(); });
    if (failed(ptx))
      return failure();
    return SmallVector<char, 0>(ptx->begin(), ptx->end());
  }
};

/// A top-level PTX statement: a declaration (`...;`, its lines trimmed and the comments before
/// it dropped) or a definition (`... { ... }`, verbatim with the comments before it).
struct Statement {
  std::string text;
  std::string symbol; ///< The declared name of a declaration; empty for definitions.
};

/// The name a declaration such as `.extern .shared .align 16 .b8 __dynamic_shmem__0[];` declares:
/// the last identifier before `[`, `=` or `;`.
std::string declaredName(StringRef decl) {
  size_t end = decl.find_first_of("[=;");
  StringRef head = decl.take_front(end).rtrim();
  size_t start = head.find_last_of(" \t\n");
  return (start == StringRef::npos ? head : head.drop_front(start + 1)).str();
}

/// Splits PTX after its header into top-level statements (comments, braces and `;` aware).
FailureOr<SmallVector<Statement>> statementsOf(StringRef body) {
  SmallVector<Statement> out;
  size_t start = 0, i = 0;
  int depth = 0;
  auto take = [&](size_t end, bool declaration) {
    Statement s;
    StringRef code = body.slice(start, end);
    if (declaration) {
      // The comments before a declaration are not part of its identity.
      SmallVector<StringRef> lines;
      code.split(lines, '\n');
      for (StringRef line : lines)
        if (!line.trim().starts_with("//") && !line.trim().empty())
          s.text += line.trim().str() + "\n";
      s.symbol = declaredName(s.text);
    } else {
      s.text = code.str();
    }
    out.push_back(std::move(s));
    start = end;
  };
  bool initializer = false; // inside `= { ... }` of a top-level variable
  char last = 0;            // the last character outside comments and spaces
  while (i < body.size()) {
    char c = body[i];
    if (c == '/' && i + 1 < body.size() && body[i + 1] == '/') {
      i = body.find('\n', i);
      if (i == StringRef::npos)
        i = body.size();
      continue;
    }
    if (c == '{') {
      if (depth == 0 && last == '=')
        initializer = true;
      ++depth;
    } else if (c == '}') {
      if (--depth < 0)
        return failure();
      if (depth == 0 && !initializer)
        take(i + 1, /*declaration=*/false);
    } else if (c == ';' && depth == 0) {
      initializer = false;
      take(i + 1, /*declaration=*/true);
    }
    if (!std::isspace(static_cast<unsigned char>(c)))
      last = c;
    ++i;
  }
  if (depth != 0)
    return failure();
  // Trailing comments and blank lines.
  if (!body.drop_front(start).trim().empty())
    out.push_back({body.drop_front(start).str(), ""});
  return out;
}

/// Joins PTX modules of one target: the first header, each shared declaration once, every
/// definition in order. Fails (with `error`) when the headers differ or one name is declared two
/// ways.
FailureOr<std::string> joinPTX(ArrayRef<std::string> parts, std::string &error) {
  std::string header, joined;
  llvm::StringMap<std::string> declared;
  for (const std::string &part : parts) {
    StringRef text(part);
    size_t at = text.find(".address_size");
    size_t eol = at == StringRef::npos ? StringRef::npos : text.find('\n', at);
    if (eol == StringRef::npos) {
      error = "a kernel module's PTX has no .address_size line";
      return failure();
    }
    StringRef head = text.take_front(eol + 1);
    if (header.empty())
      header = head.str();
    else if (head != header) {
      error = "the kernel modules' PTX headers differ";
      return failure();
    }
    FailureOr<SmallVector<Statement>> statements = statementsOf(text.drop_front(eol + 1));
    if (failed(statements)) {
      error = "unbalanced braces in a kernel module's PTX";
      return failure();
    }
    for (Statement &s : *statements) {
      if (!s.symbol.empty()) {
        auto [it, inserted] = declared.try_emplace(s.symbol, s.text);
        if (!inserted) {
          if (it->second != s.text) {
            error = "kernel modules declare '" + s.symbol + "' differently";
            return failure();
          }
          continue;
        }
        joined += "\n" + s.text;
        continue;
      }
      joined += s.text;
    }
  }
  return header + joined + "\n";
}

struct EmitPTXPass final : public ds::impl::EmitPTXPassBase<EmitPTXPass> {
  using Base::Base;

  void runOnOperation() override {
    static std::once_flag initialized;
    std::call_once(initialized, [] {
      LLVMInitializeNVPTXTargetInfo();
      LLVMInitializeNVPTXTarget();
      LLVMInitializeNVPTXTargetMC();
      LLVMInitializeNVPTXAsmPrinter();
    });
    ModuleOp top = getOperation();
    SmallVector<gpu::GPUModuleOp> modules(top.getOps<gpu::GPUModuleOp>());
    if (modules.empty())
      return;
    if (optLevel < 0 || optLevel > 3) {
      top.emitError("ds-emit-ptx: opt-level must be 0 to 3, got ") << static_cast<int>(optLevel);
      return signalPassFailure();
    }
    // The kernels are verified here, before their translation to LLVM IR, whether or not the
    // pass manager verifies after each pass (the in-process compiler does not: see
    // compileToBundle).
    if (failed(verify(top)))
      return signalPassFailure();
    if (failed(checkTarget(top, chip, features)))
      return signalPassFailure();
    if (failed(checkTranslatable(modules)))
      return signalPassFailure();
    SmallVector<std::string> ptx(modules.size());
    // The context's threads take the modules largest first (by operation count), so that a
    // large kernel does not start last while the other threads idle; each module's PTX keeps
    // its place in the joined text.
    SmallVector<size_t> order(modules.size());
    SmallVector<int64_t> size(modules.size(), 0);
    for (size_t i = 0; i < modules.size(); ++i) {
      order[i] = i;
      modules[i]->walk([&](Operation *) { ++size[i]; });
    }
    llvm::stable_sort(order, [&](size_t a, size_t b) { return size[a] > size[b]; });
    auto compileOne = [&](size_t at) -> LogicalResult {
      const size_t i = order[at];
      PTXWriter writer(*modules[i], chip, features, optLevel);
      std::optional<SmallVector<char, 0>> out;
      // Where the tool enabled recovery (enableCompilerErrorRecovery), a fatal error or a crash
      // in LLVM's translation and code generation fails this module with a diagnostic; without
      // it (the JIT, whose kernels the builders made) RunSafely just calls the function.
      llvm::CrashRecoveryContext crc;
      backendFailure.clear();
      if (!crc.RunSafely([&] { out = writer.run(); })) {
        modules[i].emitError("ds-emit-ptx: LLVM's NVPTX backend failed on this kernel module: ")
            << (backendFailure.empty() ? std::string("it crashed") : backendFailure);
        return failure();
      }
      if (!out)
        return failure();
      ptx[i].assign(out->begin(), out->end());
      return success();
    };
    if (failed(failableParallelForEachN(&getContext(), 0, modules.size(), compileOne)))
      return signalPassFailure();
    std::string error;
    FailureOr<std::string> joined = joinPTX(ptx, error);
    if (failed(joined)) {
      top.emitError("internal error: cannot join the kernels' PTX: ") << error;
      return signalPassFailure();
    }
    llvm::StringMap<StringAttr> moduleOf;
    StringAttr name = StringAttr::get(&getContext(), kKernels);
    for (gpu::GPUModuleOp m : modules)
      for (auto f : m.getOps<LLVM::LLVMFuncOp>())
        if (f->hasAttr(NVVM::NVVMDialect::getKernelFuncAttrName()))
          moduleOf[f.getSymName()] = name;
    OpBuilder b(modules.front());
    auto target = NVVM::NVVMTargetAttr::get(&getContext(), optLevel, kTriple, chip, features);
    auto object = gpu::ObjectAttr::get(&getContext(), target, gpu::CompilationTarget::Assembly,
                                       b.getStringAttr(*joined), nullptr, nullptr);
    gpu::BinaryOp::create(b, modules.front().getLoc(), kKernels, nullptr,
                          b.getArrayAttr({object}));
    for (gpu::GPUModuleOp m : modules)
      m.erase();
    retargetLaunches(top, moduleOf);
  }
};
} // namespace

namespace mlir::ds {
// Declared in codegen/Compiler.h.
void enableCompilerErrorRecovery() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::CrashRecoveryContext::Enable();
    llvm::install_fatal_error_handler(onFatalError);
  });
}
} // namespace mlir::ds
