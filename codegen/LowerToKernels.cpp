// ds-lower-to-kernels: every ds op becomes gpu.func kernels plus launch-plan entries.
#include "codegen/CodegenPasses.h"
#include "codegen/Lowering.h"
#include "codegen/Pipelines.h"
#include "dialect/DSOps.h"
#include "dialect/DSTarget.h"
#include "runtime/Bundle.h"
#include "runtime/Expr.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "llvm/ADT/EquivalenceClasses.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"

#include <map>

namespace mlir {
namespace ds {
#define GEN_PASS_DEF_LOWERTOKERNELSPASS
#include "codegen/Passes.h.inc"
} // namespace ds
} // namespace mlir

using namespace mlir;
using namespace mlir::ds;

static std::string dtypeName(Type t) {
  if (t.isBF16())
    return "bf16";
  if (t.isF16())
    return "f16";
  if (t.isF32())
    return "f32";
  if (t.isInteger(32))
    return "i32";
  if (t.isInteger(64))
    return "i64";
  if (isa<Float8E4M3FNType>(t))
    return "f8e4m3";
  return "";
}

static int64_t elementBytes(Type t) { return std::max<int64_t>(1, t.getIntOrFloatBitWidth() / 8); }

BufferRef PlanContext::place(Value result, llvm::ArrayRef<std::string> dims) {
  BufferRef ref;
  ref.elementType = cast<RankedTensorType>(result.getType()).getElementType();
  ref.dims.assign(dims.begin(), dims.end());
  auto out = outputs.find(result);
  if (out != outputs.end()) {
    ref.source = "arg " + std::to_string(out->second);
  } else {
    std::string bytes = std::to_string(elementBytes(ref.elementType)) + "*" + ref.numElements();
    ref.source = "ws " + scratch(bytes);
  }
  buffers[result] = ref;
  return ref;
}

std::string PlanContext::scratch(llvm::StringRef bytes) {
  // 256-byte aligned slices, so every kernel may use 16-byte vector accesses.
  std::string offset = workspaceEnd;
  workspaceEnd = "(" + offset + ")+cdiv(" + bytes.str() + ",256)*256";
  return offset;
}

namespace {
using DimRef = std::pair<Value, unsigned>;

struct LowerToKernelsPass final : public mlir::ds::impl::LowerToKernelsPassBase<LowerToKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> funcs;
    // A function is lowered if it holds a ds op anywhere (an op of an unregistered dialect has
    // no dialect); lowerFunction refuses the shapes it cannot lower (several blocks, ds ops
    // inside another op's region) rather than leaving them behind.
    for (auto f : module.getOps<func::FuncOp>()) {
      if (f.isDeclaration())
        continue;
      const bool hasDS = f.walk([](Operation *op) {
                           return isa_and_nonnull<DSDialect>(op->getDialect())
                                      ? WalkResult::interrupt()
                                      : WalkResult::advance();
                         }).wasInterrupted();
      if (hasDS)
        funcs.push_back(f);
    }
    if (funcs.empty())
      return;
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), UnitAttr::get(&getContext()));
    OpBuilder b(module.getBodyRegion());
    b.setInsertionPointToEnd(module.getBody());
    auto kernels = gpu::GPUModuleOp::create(b, module.getLoc(), mlir::ds::kKernelsSymbol);
    for (func::FuncOp f : funcs)
      if (failed(lowerFunction(f, kernels)))
        return signalPassFailure();
  }

  LogicalResult lowerFunction(func::FuncOp f, gpu::GPUModuleOp kernels) {
    // The function's name starts its kernels' names, which PTX takes only from letters,
    // digits, '_', '$' and '.' (the NVPTX backend aborts on others).
    if (llvm::any_of(f.getSymName(), [](char c) {
          return !llvm::isAlnum(c) && c != '_' && c != '$' && c != '.';
        }))
      return f.emitError("function name '")
             << f.getSymName()
             << "' cannot start PTX kernel names: use letters, digits, '_', '$' and '.'";
    // The body is one straight-line block of ds ops ending in func.return.
    if (!f.getBody().hasOneBlock())
      return f.emitError("ds-lower-to-kernels: a function lowered to kernels must be one block "
                         "(it has ")
             << f.getBody().getBlocks().size() << ")";
    if (!isa<func::ReturnOp>(f.getBody().front().getTerminator()))
      return f.getBody().front().getTerminator()->emitOpError(
          "ds-lower-to-kernels: a function lowered to kernels must end in func.return");
    for (Operation &op : f.getBody().front().without_terminator()) {
      if (op.getNumRegions() == 0)
        continue;
      WalkResult nested = op.walk([&](Operation *inner) {
        if (inner != &op && isa_and_nonnull<DSDialect>(inner->getDialect())) {
          inner->emitOpError("ds-lower-to-kernels: ds ops must sit directly in the function's "
                             "body, not inside another op's region");
          return WalkResult::interrupt();
        }
        return WalkResult::advance();
      });
      if (nested.wasInterrupted())
        return failure();
    }
    PlanContext ctx(kernels, f.getSymName());
    SmallVector<std::string> argLines, symbolLines;
    Builder b(f.getContext());

    // Union of tied dims; the class's first argument dim names the symbol of all of them.
    llvm::EquivalenceClasses<std::pair<void *, unsigned>> tied;
    auto key = [](DimRef d) { return std::make_pair(d.first.getAsOpaquePointer(), d.second); };
    // Each op's groups, asked once: unioned here, scanned for static members below.
    SmallVector<std::pair<Operation *, DimGroup>> groups;
    f.walk([&](KernelOpInterface op) {
      SmallVector<DimGroup> opGroups;
      op.getTiedDims(opGroups);
      for (DimGroup &group : opGroups) {
        for (size_t i = 1; i < group.size(); ++i)
          tied.unionSets(key(group[0]), key(group[i]));
        groups.emplace_back(op, std::move(group));
      }
    });
    std::map<std::pair<void *, unsigned>, std::string> classSymbol;
    // A class with a static member is that size: its dynamic members (another argument's `?`)
    // are checked against it at launch instead of naming a free symbol of their own (a static
    // batch of 4 in q let a page table of 1 row through). Two static members that differ are
    // an error; the ops' verifiers catch most such pairs.
    std::map<std::pair<void *, unsigned>, int64_t> classStatic;
    auto recordStaticSizes = [&]() -> LogicalResult {
      for (const auto &[op, group] : groups)
        for (const DimRef &member : group) {
          auto type = dyn_cast<RankedTensorType>(member.first.getType());
          if (!type || member.second >= type.getRank() || type.isDynamicDim(member.second))
            continue;
          const int64_t size = type.getDimSize(member.second);
          auto [it, inserted] =
              classStatic.try_emplace(tied.getOrInsertLeaderValue(key(member)), size);
          if (!inserted && it->second != size)
            return op->emitOpError("ds-lower-to-kernels: dimension ")
                   << member.second << " of an operand is " << size
                   << ", but a dimension it must equal is " << it->second;
        }
      return success();
    };
    if (failed(recordStaticSizes()))
      return failure();
    for (auto &[leader, size] : classStatic)
      classSymbol[leader] = std::to_string(size);

    auto describe = [&](Value v, StringRef role, StringRef name, unsigned index) -> LogicalResult {
      auto type = dyn_cast<RankedTensorType>(v.getType());
      std::string dtype = type ? dtypeName(type.getElementType()) : "";
      if (dtype.empty())
        return emitError(v.getLoc()) << "ds-lower-to-kernels: '" << name
                                     << "' must be a ranked tensor of bf16, f16, f32, i32, i64 or f8E4M3FN";
      BufferRef ref;
      ref.source = "arg " + std::to_string(index);
      ref.elementType = type.getElementType();
      // Every tensor's pointer is 16-byte aligned: the kernels' vector accesses assume it.
      std::string line = name.str() + " " + role.str() + " " + dtype + " align=16";
      for (int64_t i = 0; i < type.getRank(); ++i) {
        std::string d;
        if (type.isDynamicDim(i)) {
          auto leader = tied.getOrInsertLeaderValue(key({v, static_cast<unsigned>(i)}));
          auto known = classSymbol.find(leader);
          if (known != classSymbol.end() && role != "out") {
            d = known->second;
          } else {
            d = name.str() + "_d" + std::to_string(i);
            symbolLines.push_back(d + " arg " + std::to_string(index) + " dim " + std::to_string(i));
            classSymbol[leader] = d;
          }
        } else {
          d = std::to_string(type.getDimSize(i));
        }
        ref.dims.push_back(d);
        line += " " + d;
      }
      argLines.push_back(line);
      if (role != "out")
        ctx.setBuffer(v, ref);
      return success();
    };

    // Arguments are bundle arguments; a returned value that is not an in-place update of an
    // argument becomes an extra `out` argument.
    auto ret = cast<func::ReturnOp>(f.getBody().front().getTerminator());
    llvm::DenseSet<Value> &updatedArgs = ctx.updatedArgs;
    f.walk([&](Operation *op) {
      for (Value r : op->getResults())
        if (Value src = inPlaceSource(r); src && isa<BlockArgument>(src))
          updatedArgs.insert(src);
    });
    // Argument names are the bundle's and the runtime's (errors, Python keywords): each an
    // identifier no expression function takes, unique, and none of the results' (result<i>).
    // They used to reach the bundle text unchecked (a newline in a name wrote a line of its own),
    // and the bundle's parser then failed with an "internal error" and no location.
    llvm::StringSet<> argNames;
    for (BlockArgument a : f.getArguments()) {
      std::string name = "arg" + std::to_string(a.getArgNumber());
      if (Attribute attr = f.getArgAttr(a.getArgNumber(), "ds.name")) {
        auto n = dyn_cast<StringAttr>(attr);
        if (!n)
          return f.emitOpError("argument ") << a.getArgNumber() << ": ds.name must be a string";
        name = n.str();
        if (!::ds::rt::isValidSymbolName(name) ||
            (llvm::StringRef(name).starts_with("result") && name.size() > 6 &&
             llvm::all_of(name.substr(6), [](char c) { return c >= '0' && c <= '9'; }))) {
          std::string shown; // a newline or a control byte shown escaped
          llvm::raw_string_ostream os(shown);
          llvm::printEscapedString(name, os);
          return emitError(a.getLoc(), "argument ")
                 << a.getArgNumber() << ": ds.name '" << shown
                 << "' must be an identifier ([A-Za-z_][A-Za-z0-9_]*) other than cdiv, min, max "
                    "and result<N> (the results' names)";
        }
      }
      if (!argNames.insert(name).second)
        return emitError(a.getLoc(), "argument ")
               << a.getArgNumber() << ": the name '" << name << "' is taken by another argument";
      if (auto type = dyn_cast<RankedTensorType>(a.getType());
          type && type.getRank() > int64_t(::ds::rt::ArgSpec::kMaxRank))
        return emitError(a.getLoc(), "argument ")
               << a.getArgNumber() << " ('" << name << "'): rank " << type.getRank()
               << " exceeds the runtime's " << ::ds::rt::ArgSpec::kMaxRank;
      if (failed(describe(a, updatedArgs.count(a) ? "inout" : "in", name, a.getArgNumber())))
        return failure();
    }
    unsigned nextArg = f.getNumArguments();
    for (auto [i, r] : llvm::enumerate(ret.getOperands())) {
      if (Value src = inPlaceSource(r); src && isa<BlockArgument>(src))
        continue;
      if (isa<BlockArgument>(r))
        return ret.emitOpError("ds-lower-to-kernels: returning an argument unchanged is not "
                               "supported (result ")
               << i << ")";
      if (ctx.outputs.count(r))
        return ret.emitOpError("ds-lower-to-kernels: a value is returned twice (result ") << i << ")";
      ctx.outputs[r] = nextArg++;
    }

    // lateWaitOk[i]: launch i may wait where its builder put the wait (after loads of read-only
    // inputs), i.e. the kernel before it on the stream is one of this pipeline's, which launched
    // after everything earlier on the stream had completed: an earlier op surely launched a
    // kernel. Not so for the first op's kernels (their predecessor is whatever ran before the
    // pipeline), nor after only ops that may launch nothing: those that lower to no kernel and
    // those that update a cache in place (appends launch nothing for no new tokens).
    SmallVector<bool> lateWaitOk;
    bool followsPipelineKernel = false;
    for (Operation &op : f.getBody().front().without_terminator()) {
      if (!isa_and_nonnull<DSDialect>(op.getDialect()))
        return op.emitOpError("ds-lower-to-kernels: only ds ops can be lowered to kernels");
      // Every op's config is checked against its family before any kernel is built.
      if (failed(requireKernelConfig(&op)))
        return failure();
      const size_t launchesBefore = ctx.launches.size();
      LogicalResult r = lookupKernelFamily(&op)->lower(&op, ctx);
      if (failed(r))
        return failure();
      lateWaitOk.resize(ctx.launches.size(), followsPipelineKernel);
      const bool updatesInPlace = llvm::any_of(
          op.getResults(), [](Value res) { return static_cast<bool>(inPlaceSource(res)); });
      if (ctx.launches.size() > launchesBefore && !updatesInPlace)
        followsPipelineKernel = true;
    }

    if (ctx.outputs.size() + f.getNumArguments() > ::ds::rt::Bundle::kMaxArgs)
      return f.emitOpError("ds-lower-to-kernels: ")
             << f.getNumArguments() << " arguments and " << ctx.outputs.size()
             << " results exceed the runtime's " << ::ds::rt::Bundle::kMaxArgs << " tensors";
    // Out arguments are described once their producers have placed them (dims known).
    for (Value r : ret.getOperands()) {
      auto it = ctx.outputs.find(r);
      if (it == ctx.outputs.end())
        continue;
      BufferRef ref = ctx.buffer(r);
      std::string line = "result" + std::to_string(it->second - f.getNumArguments()) + " out " +
                         dtypeName(ref.elementType) + " align=16";
      for (const std::string &d : ref.dims)
        line += " " + d;
      argLines.push_back(line);
    }

    symbolLines.append(ctx.symbols.begin(), ctx.symbols.end());
    auto strings = [&](ArrayRef<std::string> list) {
      SmallVector<Attribute> attrs;
      for (const std::string &s : list)
        attrs.push_back(b.getStringAttr(s));
      return b.getArrayAttr(attrs);
    };
    // The function becomes its plan: the same name, no tensors left, the launches as ops.
    OpBuilder ob(f);
    auto plan = PlanOp::create(ob, f.getLoc(), f.getSymName(), strings(argLines),
                               strings(symbolLines), b.getStringAttr(ctx.workspaceEnd));
    // The chip the kernels were built for: ds-emit-ptx compiles them for that chip only.
    if (Attribute target = f->getAttr("ds.target"))
      plan->setAttr("ds.target", target);
    plan.getBody().emplaceBlock();
    ob.setInsertionPointToStart(&plan.getBody().front());
    // Programmatic dependent launch (ds-select-kernel-config decided it from the target): every
    // kernel after the first waits for the previous one's completion and memory before anything
    // else (the wait is the first instruction, so no access can race the previous kernel: not its
    // outputs, not the buffers it still reads; or where its builder put it, after loads of inputs
    // no kernel of the pipeline writes, and before any store), and every kernel lets the next
    // one be launched as each of its CTAs finishes (griddepcontrol.launch_dependents before its
    // return), so the next kernel's launch overlaps this one's tail. Not at the start: a
    // multi-wave kernel would then let the next kernel's CTAs settle beside its last wave,
    // unevenly over the SMs, which measured slower for the decode grids sized to one even wave
    // (and again in session 40, H100: at the entry of decode_partial / page_score / every kernel,
    // Quest Hkv = 8 shared 69.1 -> 70.2-70.5 / 70.8 / 72.0 us, Quest B = 1 44.0-44.2 -> 44.2 /
    // 46.7 / 47.3; at topk's entry level).
    // The first kernel starts after everything before it on the stream, as any launch.
    // A builder may have placed the wait later (KernelBuilder::dependencyWait: loads of the
    // pipeline's read-only inputs before it): its marker becomes the wait, or goes.
    const bool programmatic = f->hasAttr(kProgrammaticLaunchAttr);
    for (auto [index, a] : llvm::enumerate(ctx.launches)) {
      auto step = cast<DictionaryAttr>(a);
      const bool waits = programmatic && index > 0;
      auto kernelFunc = ctx.kernels.lookupSymbol<gpu::GPUFuncOp>(step.getAs<StringAttr>("name"));
      if (!kernelFunc)
        return f.emitError("ds-lower-to-kernels: internal error: launch of unknown kernel '")
               << step.getAs<StringAttr>("name").getValue() << "'";
      SmallVector<LLVM::InlineAsmOp> markers;
      kernelFunc.walk([&](LLVM::InlineAsmOp asmOp) {
        if (asmOp.getAsmString() == kDependencyWaitMarker)
          markers.push_back(asmOp);
      });
      if (markers.size() > 1)
        return f.emitError("ds-lower-to-kernels: internal error: kernel '")
               << kernelFunc.getName() << "' has " << markers.size() << " dependency waits";
      // The builder's marker becomes the wait where the launch waits and may wait late;
      // otherwise it goes, and a waiting launch waits at the kernel's entry.
      const bool late = waits && lateWaitOk[index] && !markers.empty();
      for (LLVM::InlineAsmOp m : markers) {
        if (late)
          m.setAsmString("griddepcontrol.wait;");
        else
          m.erase();
      }
      if (programmatic) {
        OpBuilder kbld(kernelFunc.getBody());
        if (waits && !late) {
          kbld.setInsertionPointToStart(&kernelFunc.getBody().front());
          createMemoryFencedAsm(kbld, kernelFunc.getLoc(), "griddepcontrol.wait;");
        }
        kernelFunc.walk([&](gpu::ReturnOp ret) {
          kbld.setInsertionPoint(ret);
          NVVM::GriddepcontrolOp::create(kbld, ret.getLoc(),
                                         NVVM::GridDepActionKind::launch_dependents);
        });
      }
      SmallVector<int64_t> block;
      for (Attribute d : step.getAs<ArrayAttr>("block"))
        block.push_back(std::stoll(cast<StringAttr>(d).str()));
      auto kernel = SymbolRefAttr::get(
          ctx.kernels.getSymNameAttr(),
          {FlatSymbolRefAttr::get(step.getAs<StringAttr>("name"))});
      LaunchOp::create(ob, f.getLoc(), kernel, step.getAs<ArrayAttr>("grid"),
                       ob.getDenseI64ArrayAttr(block), step.getAs<StringAttr>("smem"),
                       step.getAs<ArrayAttr>("params"), waits);
    }
    f.erase();
    return success();
  }

  /// The operand a value updates in place (label cache, page summaries, states), if any.
  static Value inPlaceSource(Value v) {
    auto op = dyn_cast_or_null<KernelOpInterface>(v.getDefiningOp());
    return op ? op.getInPlaceSource(v) : Value();
  }
};
} // namespace
