// Fragments of mma.sync m16n8k16 (bf16 / f16 in, f32 accumulate) for kernels built with
// KernelBuilder.
#ifndef DS_CODEGEN_MMAFRAGMENTS_H
#define DS_CODEGEN_MMAFRAGMENTS_H

#include "codegen/KernelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <array>
#include <optional>
#include <utility>

namespace mlir::ds {

/// Register-level helpers of the tensor-core kernels (linear-attention prefill, GQA decode):
/// fragments of mma.sync m16n8k16 (PTX ISA "Matrix fragments for mma.m16n8k16"). A fragment
/// register is a pair of 16-bit values: an i32 for bf16 (as NVVM's mma takes it), a
/// vector<2xf16> for f16.
class Mma {
public:
  Mma(KernelBuilder &kb, Type elem) : b(kb.b()), elem(elem), bf16(elem.isBF16()) {}

  /// ldmatrix of `tiles` 8x8 tiles from shared memory at this lane's element offset.
  SmallVector<Value> ldsm(Value smem, Value off, int64_t tiles, bool trans) {
    auto ty = VectorType::get({tiles, 2}, elem);
    Value m = nvgpu::LdMatrixOp::create(b, ty, smem, ValueRange{off}, b.getBoolAttr(trans),
                                        b.getI32IntegerAttr(tiles));
    SmallVector<Value> regs;
    for (int64_t i = 0; i < tiles; ++i)
      regs.push_back(operand(vector::ExtractOp::create(b, m, ArrayRef<int64_t>{i})));
    return regs;
  }
  /// acc (4 f32) += A (4 regs) x B (2 regs).
  void mma(ArrayRef<Value> a, ArrayRef<Value> bb, SmallVectorImpl<Value> &acc) {
    Type f32 = b.getF32Type();
    auto resTy = LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
    NVVM::MMATypes t = bf16 ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
    Value r = NVVM::MmaOp::create(b, resTy, a, bb, acc, ArrayRef<int64_t>{16, 8, 16}, std::nullopt,
                                  std::nullopt, std::array<NVVM::MMATypes, 2>{t, t},
                                  std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                                                 NVVM::MMALayout::col});
    for (int64_t i = 0; i < 4; ++i)
      acc[i] = LLVM::ExtractValueOp::create(b, r, ArrayRef<int64_t>{i});
  }
  /// Two f32 rounded to the input type, as one fragment register.
  Value pack(Value x, Value y) {
    auto v2 = VectorType::get({2}, b.getF32Type());
    Value v = vector::FromElementsOp::create(b, v2, ValueRange{x, y});
    return operand(arith::TruncFOp::create(b, VectorType::get({2}, elem), v));
  }
  /// A fragment register with its two values multiplied by (wx, wy).
  Value scale(Value reg, Value wx, Value wy) {
    auto v2 = VectorType::get({2}, b.getF32Type());
    Value v = arith::ExtFOp::create(b, v2, pair(reg));
    Value w = vector::FromElementsOp::create(b, v2, ValueRange{wx, wy});
    return operand(arith::TruncFOp::create(b, VectorType::get({2}, elem),
                                           arith::MulFOp::create(b, v, w)));
  }

  /// Two f32 as a high and a low part in the input type (x = hi + lo up to the second
  /// rounding): a product with both carries about 16 bits of x instead of 8 (bf16).
  std::pair<Value, Value> packSplit(Value x, Value y) {
    auto v2 = VectorType::get({2}, b.getF32Type());
    Value v = vector::FromElementsOp::create(b, v2, ValueRange{x, y});
    Value hi = arith::TruncFOp::create(b, VectorType::get({2}, elem), v);
    Value rest = arith::SubFOp::create(b, v, arith::ExtFOp::create(b, v2, hi));
    return {operand(hi), operand(arith::TruncFOp::create(b, VectorType::get({2}, elem), rest))};
  }
  /// Element i of two vectors of the input type (x[i], y[i]) as one fragment register.
  Value pairOf(Value x, Value y, int64_t i) {
    const int64_t n = cast<VectorType>(x.getType()).getNumElements();
    return operand(vector::ShuffleOp::create(b, x, y, ArrayRef<int64_t>{i, n + i}));
  }
  /// Elements (2i, 2i + 1) of a vector of the input type as one fragment register.
  Value pairAt(Value x, int64_t i) {
    return operand(vector::ShuffleOp::create(b, x, x, ArrayRef<int64_t>{2 * i, 2 * i + 1}));
  }
  /// A fragment register of two zeros.
  Value zero() {
    return operand(arith::ConstantOp::create(
        b, DenseElementsAttr::get(VectorType::get({2}, elem), b.getFloatAttr(elem, 0.0))));
  }

  /// A vector<2 x elem> as a fragment register.
  Value operand(Value pair2) {
    if (!bf16)
      return pair2;
    Value i = vector::BitCastOp::create(b, VectorType::get({1}, b.getI32Type()), pair2);
    return vector::ExtractOp::create(b, i, ArrayRef<int64_t>{0});
  }
private:
  Value pair(Value reg) { // fragment register -> vector<2xelem>
    if (!bf16)
      return reg;
    Value v = vector::BroadcastOp::create(b, VectorType::get({1}, b.getI32Type()), reg);
    return vector::BitCastOp::create(b, VectorType::get({2}, elem), v);
  }

  ImplicitLocOpBuilder &b;
  Type elem;
  bool bf16;
};

} // namespace mlir::ds

#endif // DS_CODEGEN_MMAFRAGMENTS_H
