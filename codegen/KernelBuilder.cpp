#include "codegen/KernelBuilder.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <limits>

using namespace mlir;
using namespace mlir::ds;

std::string BufferRef::numElements() const {
  std::string e;
  for (const std::string &d : dims)
    e += (e.empty() ? "(" : "*(") + d + ")";
  return e.empty() ? "1" : e;
}

KernelBuilder::KernelBuilder(gpu::GPUModuleOp module, llvm::StringRef name, Location loc)
    : module(module), name(name.str()), loc(loc), moduleBuilder(module.getContext()),
      builder(loc, module.getContext()) {}

void KernelBuilder::addBuffer(const BufferRef &buffer) {
  // A bare pointer (convert-gpu-to-nvvm's bare-pointer calling convention needs a static shape):
  // kernels index buffers linearly and take the sizes they read as scalar parameters, so the
  // static size is never read; it only has to exceed every real one.
  argTypes.push_back(MemRefType::get({kBareBufferElements}, buffer.elementType));
  params.push_back("ptr " + buffer.source);
}
void KernelBuilder::addI32(llvm::StringRef expr) {
  argTypes.push_back(builder.getI32Type());
  params.push_back("i32 " + expr.str());
}
void KernelBuilder::addI64(llvm::StringRef expr) {
  argTypes.push_back(builder.getI64Type());
  params.push_back("i64 " + expr.str());
}
void KernelBuilder::addF32(float value) {
  argTypes.push_back(builder.getF32Type());
  char text[64];
  snprintf(text, sizeof(text), "f32 %.9g", value);
  params.push_back(text);
}

void KernelBuilder::begin(int64_t blockX, llvm::StringRef gridX, llvm::StringRef gridY,
                          llvm::StringRef gridZ, llvm::StringRef dynamicSmemBytes) {
  moduleBuilder.setInsertionPointToEnd(module.getBody());
  func = gpu::GPUFuncOp::create(moduleBuilder, loc, name,
                                moduleBuilder.getFunctionType(argTypes, {}));
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), moduleBuilder.getUnitAttr());
  func.setKnownBlockSizeAttr(moduleBuilder.getDenseI32ArrayAttr(
      {static_cast<int32_t>(blockX), 1, 1}));
  launch = {gridX.str(), gridY.str(), gridZ.str(), std::to_string(blockX), "1", "1",
            dynamicSmemBytes.str()};
  builder.setInsertionPointToStart(&func.getBody().front());
}

void KernelBuilder::setMinBlocksPerSM(int64_t blocks) {
  func->setAttr("nvvm.minctasm", builder.getI32IntegerAttr(static_cast<int32_t>(blocks)));
}
void KernelBuilder::setClusterSize(int64_t ctas) {
  func->setAttr(NVVM::NVVMDialect::getClusterDimAttrName(),
                builder.getDenseI32ArrayAttr({static_cast<int32_t>(ctas), 1, 1}));
}

void mlir::ds::createMemoryFencedAsm(OpBuilder &b, Location loc, llvm::StringRef text) {
  LLVM::InlineAsmOp::create(b, loc, TypeRange{}, ValueRange{}, text, "~{memory}",
                            /*has_side_effects=*/true, /*is_align_stack=*/false,
                            LLVM::tailcallkind::TailCallKind::None, LLVM::AsmDialectAttr(),
                            ArrayAttr());
}

void KernelBuilder::dependencyWait() { createMemoryFencedAsm(builder, loc, kDependencyWaitMarker); }

LaunchStep KernelBuilder::finish() {
  gpu::ReturnOp::create(builder);
  auto strings = [&](llvm::ArrayRef<std::string> list) {
    llvm::SmallVector<Attribute> attrs;
    for (const std::string &s : list)
      attrs.push_back(builder.getStringAttr(s));
    return builder.getArrayAttr(attrs);
  };
  llvm::ArrayRef<std::string> l(launch);
  DictionaryAttr step = builder.getDictionaryAttr({
                    builder.getNamedAttr("name", builder.getStringAttr(name)),
                    builder.getNamedAttr("grid", strings(l.slice(0, 3))),
                    builder.getNamedAttr("block", strings(l.slice(3, 3))),
                    builder.getNamedAttr("smem", builder.getStringAttr(l[6])),
                    builder.getNamedAttr("params", strings(params)),
                });
  return {func, step};
}

Value KernelBuilder::addShared(Type type, int64_t elements) {
  auto space = gpu::AddressSpaceAttr::get(builder.getContext(), gpu::AddressSpace::Workgroup);
  Value buffer = func.addWorkgroupAttribution(
      MemRefType::get({elements}, type, MemRefLayoutAttrInterface(), space), loc);
  // 16-byte aligned, so the backend's vectorized shared loads (ld.shared.v4) are always legal.
  func.setWorkgroupAttributionAttr(func.getNumWorkgroupAttributions() - 1,
                                   LLVM::LLVMDialect::getAlignAttrName(),
                                   builder.getI64IntegerAttr(16));
  return buffer;
}

Value KernelBuilder::dynamicShared(Type type, Value elements) {
  return dynamicShared(type, elements, c(0));
}
Value KernelBuilder::dynamicShared(Type type, Value elements, Value byteOffset) {
  auto space = gpu::AddressSpaceAttr::get(builder.getContext(), gpu::AddressSpace::Workgroup);
  auto bytes = MemRefType::get({ShapedType::kDynamic}, builder.getI8Type(),
                               MemRefLayoutAttrInterface(), space);
  Value raw = gpu::DynamicSharedMemoryOp::create(builder, bytes);
  auto view = MemRefType::get({ShapedType::kDynamic}, type, MemRefLayoutAttrInterface(), space);
  return memref::ViewOp::create(builder, view, raw, byteOffset, ValueRange{elements});
}

Value KernelBuilder::c(int64_t v) { return arith::ConstantIndexOp::create(builder, v); }
Value KernelBuilder::ci32(int32_t v) { return arith::ConstantIntOp::create(builder, v, 32); }
Value KernelBuilder::cf32(float v) {
  return arith::ConstantFloatOp::create(builder, builder.getF32Type(), APFloat(v));
}
Value KernelBuilder::add(Value a, Value b) { return arith::AddIOp::create(builder, a, b); }
Value KernelBuilder::sub(Value a, Value b) { return arith::SubIOp::create(builder, a, b); }
Value KernelBuilder::mul(Value a, Value b) { return arith::MulIOp::create(builder, a, b); }
Value KernelBuilder::div(Value a, Value b) { return arith::DivUIOp::create(builder, a, b); }
Value KernelBuilder::rem(Value a, Value b) { return arith::RemUIOp::create(builder, a, b); }
Value KernelBuilder::minIdx(Value a, Value b) { return arith::MinUIOp::create(builder, a, b); }
Value KernelBuilder::toIndex(Value v) {
  return arith::IndexCastOp::create(builder, builder.getIndexType(), v);
}
Value KernelBuilder::threadId() { return gpu::ThreadIdOp::create(builder, gpu::Dimension::x); }
Value KernelBuilder::blockId(gpu::Dimension dim) { return gpu::BlockIdOp::create(builder, dim); }
Value KernelBuilder::lane() { return rem(threadId(), c(32)); }
Value KernelBuilder::warpId() { return div(threadId(), c(32)); }

Value KernelBuilder::inRange(Value v, Value bound) {
  Value zero = ci32(0);
  Value ge = arith::CmpIOp::create(builder, arith::CmpIPredicate::sge, v, zero);
  Value vi = arith::IndexCastOp::create(builder, builder.getIndexType(), v);
  Value lt = arith::CmpIOp::create(builder, arith::CmpIPredicate::slt, vi, bound);
  return arith::AndIOp::create(builder, ge, lt);
}

Value KernelBuilder::exp2(Value x) {
  // ex2.approx.ftz.f32 directly: llvm.intr.exp2 would be rewritten into a libdevice call, and the
  // JIT must not depend on libdevice being installed.
  return LLVM::CallIntrinsicOp::create(builder, builder.getF32Type(),
                                       builder.getStringAttr("llvm.nvvm.ex2.approx.ftz.f"),
                                       ValueRange{x})
      .getResult(0);
}
Value KernelBuilder::tanh(Value x) {
  // tanh(x) = 1 - 2 / (exp(2x) + 1), with exp through ex2; saturates correctly at +-inf.
  Value e = exp2(arith::MulFOp::create(builder, x, cf32(2.0f * 1.4426950408889634f)));
  Value den = arith::AddFOp::create(builder, e, cf32(1.0f));
  return arith::SubFOp::create(builder, cf32(1.0f),
                               arith::DivFOp::create(builder, cf32(2.0f), den));
}
Value KernelBuilder::fmax(Value a, Value b) { return arith::MaxNumFOp::create(builder, a, b); }
Value KernelBuilder::fmin(Value a, Value b) { return arith::MinNumFOp::create(builder, a, b); }
Value KernelBuilder::clampF(Value v, float lo, float hi) {
  return fmax(fmin(v, cf32(hi)), cf32(lo));
}
Value KernelBuilder::dotF32(Value a, Value b) {
  const int64_t n = cast<VectorType>(a.getType()).getNumElements();
  Value acc = arith::MulFOp::create(builder, vector::ExtractOp::create(builder, a, 0),
                                    vector::ExtractOp::create(builder, b, 0));
  for (int64_t i = 1; i < n; ++i)
    acc = math::FmaOp::create(builder, vector::ExtractOp::create(builder, a, i),
                              vector::ExtractOp::create(builder, b, i), acc);
  return acc;
}
Value KernelBuilder::sumF32(Value v) {
  const int64_t n = cast<VectorType>(v.getType()).getNumElements();
  Value acc = vector::ExtractOp::create(builder, v, 0);
  for (int64_t i = 1; i < n; ++i)
    acc = arith::AddFOp::create(builder, acc, vector::ExtractOp::create(builder, v, i));
  return acc;
}
Value KernelBuilder::sharedPointer(Value memref) {
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(builder, memref);
  return LLVM::IntToPtrOp::create(builder, LLVM::LLVMPointerType::get(builder.getContext(), 3),
                                  ValueRange{arith::IndexCastOp::create(builder, builder.getI64Type(), base)});
}
Value KernelBuilder::clusterPointer(Value local, Value rank) {
  return NVVM::MapaOp::create(builder, LLVM::LLVMPointerType::get(builder.getContext(), 7), local,
                              rank);
}
Value KernelBuilder::roundEven(Value v) {
  Value magic = cf32(12582912.0f);
  return arith::SubFOp::create(builder, arith::AddFOp::create(builder, v, magic), magic);
}
Value KernelBuilder::int4Value(Value v) {
  Value q = clampF(roundEven(clampF(v, -16.0f, 16.0f)), -8.0f, 7.0f);
  return arith::FPToSIOp::create(builder, builder.getI32Type(), q);
}

void mlir::ds::ifThen(ImplicitLocOpBuilder &b, Value cond, llvm::function_ref<void()> body) {
  auto ifOp = scf::IfOp::create(b, cond, false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  body();
}
void KernelBuilder::ifThen(Value cond, llvm::function_ref<void()> body) {
  ds::ifThen(builder, cond, body);
}

static Value warpReduce(ImplicitLocOpBuilder &b, Value x, int64_t width, bool isMax) {
  Value w = arith::ConstantIntOp::create(b, 32, 32);
  for (int64_t off = width / 2; off >= 1; off /= 2) {
    Value o = arith::ConstantIntOp::create(b, off, 32);
    Value other = gpu::ShuffleOp::create(b, x, o, w, gpu::ShuffleMode::XOR).getShuffleResult();
    if (isa<IntegerType>(x.getType()))
      x = isMax ? Value(arith::MaxSIOp::create(b, x, other)) : Value(arith::AddIOp::create(b, x, other));
    else
      x = isMax ? Value(arith::MaxNumFOp::create(b, x, other))
                : Value(arith::AddFOp::create(b, x, other));
  }
  return x;
}
Value KernelBuilder::warpSum(Value x, int64_t width) { return warpReduce(builder, x, width, false); }
Value KernelBuilder::warpMax(Value x, int64_t width) { return warpReduce(builder, x, width, true); }

Value KernelBuilder::warpScan(Value x) {
  Value ln = lane();
  for (int32_t off = 1; off < 32; off *= 2) {
    Value other =
        gpu::ShuffleOp::create(builder, x, off, 32, gpu::ShuffleMode::UP).getShuffleResult();
    Value take = arith::CmpIOp::create(builder, arith::CmpIPredicate::uge, ln, c(off));
    x = arith::SelectOp::create(builder, take, arith::AddIOp::create(builder, x, other), x);
  }
  return x;
}

/// x and y combined as `how` says.
static Value combineTwo(KernelBuilder &kb, KernelBuilder::Combine how, Value x, Value y) {
  switch (how) {
  case KernelBuilder::Combine::SumF:
    return arith::AddFOp::create(kb.b(), x, y);
  case KernelBuilder::Combine::MaxF:
    return kb.fmax(x, y);
  case KernelBuilder::Combine::MaxU:
    return arith::MaxUIOp::create(kb.b(), x, y);
  }
  llvm_unreachable("combineTwo");
}

Value KernelBuilder::warpCombine(Combine how, Value v) {
  for (int32_t m = 16; m >= 1; m /= 2)
    v = combineTwo(*this, how, v,
                   gpu::ShuffleOp::create(builder, v, ci32(m), ci32(32), gpu::ShuffleMode::XOR)
                       .getShuffleResult());
  return v;
}

void KernelBuilder::toWarpSlots(ArrayRef<WarpSlot> items) {
  ifThen(arith::CmpIOp::create(builder, arith::CmpIPredicate::eq, lane(), c(31)), [&] {
    for (const WarpSlot &it : items)
      memref::StoreOp::create(builder, it.val, it.smem, ValueRange{add(c(it.slot * 32), warpId())});
  });
  gpu::BarrierOp::create(builder);
}

/// Warp l's value of a slot in lane l, `identity` in lanes past the last warp.
static Value laneOfSlot(KernelBuilder &kb, Value smem, int64_t slot, int64_t warps,
                        Value identity) {
  ImplicitLocOpBuilder &b = kb.b();
  Value ln = kb.lane();
  Value ok = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, ln, kb.c(warps));
  Value v = memref::LoadOp::create(
      b, smem, ValueRange{kb.add(kb.c(slot * 32), arith::SelectOp::create(b, ok, ln, kb.c(0)))});
  return arith::SelectOp::create(b, ok, v, identity);
}

Value KernelBuilder::combineWarpSlots(Combine how, Value smem, int64_t slot, int64_t warps) {
  if (warps <= 8) {
    Value t = memref::LoadOp::create(builder, smem, ValueRange{c(slot * 32)});
    for (int64_t w = 1; w < warps; ++w)
      t = combineTwo(*this, how, t,
                     memref::LoadOp::create(builder, smem, ValueRange{c(slot * 32 + w)}));
    return t;
  }
  Value identity = how == Combine::MaxF   ? cf32(-std::numeric_limits<float>::infinity())
                   : how == Combine::SumF ? cf32(0.0f)
                                          : ci32(0);
  return warpCombine(how, laneOfSlot(*this, smem, slot, warps, identity));
}

std::pair<Value, Value> KernelBuilder::prefixWarpSlots(Value smem, int64_t slot, int64_t warps) {
  Value warpI32 = arith::IndexCastOp::create(builder, builder.getI32Type(), warpId());
  if (warps <= 8) {
    Value before = ci32(0), total = ci32(0);
    for (int64_t w = 0; w < warps; ++w) {
      Value t = memref::LoadOp::create(builder, smem, ValueRange{c(slot * 32 + w)});
      Value earlier =
          arith::CmpIOp::create(builder, arith::CmpIPredicate::slt, ci32(w), warpI32);
      before = arith::AddIOp::create(builder, before,
                                     arith::SelectOp::create(builder, earlier, t, ci32(0)));
      total = arith::AddIOp::create(builder, total, t);
    }
    return {before, total};
  }
  Value v = laneOfSlot(*this, smem, slot, warps, ci32(0));
  Value incl = warpScan(v);
  return {fromLane(arith::SubIOp::create(builder, incl, v), warpI32),
          fromLane(incl, ci32(static_cast<int32_t>(warps - 1)))};
}

Value KernelBuilder::blockSum(Value x, Value smem, int64_t warps) {
  Value r = blockReduce({x}, /*isMax=*/false, smem, 0, warps)[0];
  gpu::BarrierOp::create(builder); // the slots may be reused after
  return r;
}
Value KernelBuilder::blockMax(Value x, Value smem, int64_t warps) {
  Value r = blockReduce({x}, /*isMax=*/true, smem, 0, warps)[0];
  gpu::BarrierOp::create(builder);
  return r;
}
SmallVector<Value> KernelBuilder::blockReduce(ArrayRef<Value> values, bool isMax, Value smem,
                                              int64_t firstSlot, int64_t warps) {
  SmallVector<WarpSlot> items;
  for (auto [v, x] : llvm::enumerate(values))
    items.push_back({isMax ? warpMax(x) : warpSum(x), smem, firstSlot + static_cast<int64_t>(v)});
  toWarpSlots(items);
  SmallVector<Value> out;
  for (const WarpSlot &it : items)
    out.push_back(combineWarpSlots(isMax ? Combine::MaxF : Combine::SumF, smem, it.slot, warps));
  return out;
}
SmallVector<Value> KernelBuilder::warpSums(ArrayRef<Value> xs, int64_t width) {
  const int64_t g = xs.size();
  SmallVector<Value> vals(xs.begin(), xs.end());
  if (g == 1 || g > width || (g & (g - 1)) != 0) {
    for (Value &v : vals)
      v = warpSum(v, width);
    return vals;
  }
  Value laneI32 = arith::IndexCastOp::create(builder, builder.getI32Type(), lane());
  int64_t off = width / 2;
  for (; vals.size() > 1; off /= 2) {
    // Lanes with the offset's bit set keep the upper half of the values, the others the lower;
    // each sends the half it gives up to its partner and adds what it receives.
    Value upper = arith::CmpIOp::create(
        builder, arith::CmpIPredicate::ne,
        arith::AndIOp::create(builder, laneI32, ci32(static_cast<int32_t>(off))), ci32(0));
    const size_t half = vals.size() / 2;
    SmallVector<Value> next;
    for (size_t i = 0; i < half; ++i) {
      Value lo = vals[i], hi = vals[i + half];
      Value keep = arith::SelectOp::create(builder, upper, hi, lo);
      Value send = arith::SelectOp::create(builder, upper, lo, hi);
      Value recv = gpu::ShuffleOp::create(builder, send, ci32(static_cast<int32_t>(off)),
                                          ci32(32), gpu::ShuffleMode::XOR)
                       .getShuffleResult();
      next.push_back(arith::AddFOp::create(builder, keep, recv));
    }
    vals = std::move(next);
  }
  // The levels below the transposing ones: a plain butterfly over offsets off .. 1.
  Value sum = warpSum(vals.front(), 2 * off);
  // Value j ends in the lanes whose bits at the transposing levels (offsets width / 2 down to
  // width / g) spell j, most significant first: lane j * (width / g) of each group holds it.
  Value group = arith::AndIOp::create(builder, laneI32, ci32(static_cast<int32_t>(~(width - 1))));
  SmallVector<Value> out;
  for (int64_t j = 0; j < g; ++j)
    out.push_back(fromLane(sum, arith::AddIOp::create(
                                    builder, group, ci32(static_cast<int32_t>(j * (width / g))))));
  return out;
}
Value KernelBuilder::fromLane(Value x, Value from) {
  return gpu::ShuffleOp::create(builder, x, from, ci32(32), gpu::ShuffleMode::IDX)
      .getShuffleResult();
}
std::pair<Value, Value> KernelBuilder::blockScan(Value x, Value smem, int64_t warps) {
  Value incl = warpScan(x);
  toWarpSlots({{incl, smem, 0}}); // lane 31's inclusive sum: the warp's total
  auto [before, total] = prefixWarpSlots(smem, 0, warps);
  gpu::BarrierOp::create(builder);
  Value excl = arith::SubIOp::create(builder, arith::AddIOp::create(builder, before, incl), x);
  return {excl, total};
}

Value KernelBuilder::loadVec(Value memref, Value off, int64_t n) {
  Type elem = cast<MemRefType>(memref.getType()).getElementType();
  auto load = vector::LoadOp::create(builder, VectorType::get({n}, elem), memref, ValueRange{off});
  int64_t bytes = n * elem.getIntOrFloatBitWidth() / 8;
  if (bytes == 16 || bytes == 8 || bytes == 4)
    load.setAlignment(bytes);
  return load;
}
Value KernelBuilder::loadVecOrZero(Value cond, Value memref, Value off, int64_t n) {
  return loadVecsIf(cond, {{memref, off}}, n)[0];
}
SmallVector<Value> KernelBuilder::loadVecsIf(Value cond,
                                             llvm::ArrayRef<std::pair<Value, Value>> at,
                                             int64_t n) {
  SmallVector<Type> types;
  SmallVector<Value> zeros;
  for (auto [memref, off] : at) {
    Type elem = cast<MemRefType>(memref.getType()).getElementType();
    auto vecTy = VectorType::get({n}, elem);
    types.push_back(vecTy);
    zeros.push_back(arith::ConstantOp::create(builder, builder.getZeroAttr(vecTy)));
  }
  auto ifLoad = scf::IfOp::create(builder, types, cond, true);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(&ifLoad.getThenRegion().front());
  SmallVector<Value> loaded;
  for (auto [memref, off] : at)
    loaded.push_back(loadVec(memref, off, n));
  scf::YieldOp::create(builder, loaded);
  builder.setInsertionPointToStart(&ifLoad.getElseRegion().front());
  scf::YieldOp::create(builder, zeros);
  return SmallVector<Value>(ifLoad.getResults().begin(), ifLoad.getResults().end());
}
Value KernelBuilder::loadVecF32(Value memref, Value off, int64_t n) {
  return widenF32(loadVec(memref, off, n));
}
Value KernelBuilder::widenF32(Value v) {
  Type f32 = builder.getF32Type();
  if (auto vecTy = dyn_cast<VectorType>(v.getType())) {
    if (vecTy.getElementType().isF32())
      return v;
    return arith::ExtFOp::create(builder, vecTy.clone(f32), v);
  }
  return v.getType().isF32() ? v : arith::ExtFOp::create(builder, f32, v).getResult();
}
Value KernelBuilder::loadF32(Value memref, Value off) {
  return widenF32(memref::LoadOp::create(builder, memref, ValueRange{off}));
}
void KernelBuilder::storeF32(Value value, Value memref, Value off) {
  Type elem = cast<MemRefType>(memref.getType()).getElementType();
  if (!elem.isF32())
    value = arith::TruncFOp::create(builder, elem, value);
  memref::StoreOp::create(builder, value, memref, ValueRange{off});
}
void KernelBuilder::storeVecF32(Value value, Value memref, Value off) {
  Type elem = cast<MemRefType>(memref.getType()).getElementType();
  int64_t n = cast<VectorType>(value.getType()).getNumElements();
  if (!elem.isF32())
    value = arith::TruncFOp::create(builder, VectorType::get({n}, elem), value);
  auto store = vector::StoreOp::create(builder, value, memref, ValueRange{off});
  int64_t bytes = n * elem.getIntOrFloatBitWidth() / 8;
  if (bytes == 16 || bytes == 8 || bytes == 4)
    store.setAlignment(bytes);
}
