#ifndef DS_CODEGEN_KERNELBUILDER_H
#define DS_CODEGEN_KERNELBUILDER_H

// Shared machinery of the per-family kernel builders: a gpu.func whose parameters are recorded
// as launch-plan entries (the bundle's `param` lines), plus the arithmetic, vector-load and
// warp-reduction helpers every family uses.
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <string>

namespace mlir {
namespace ds {

/// The static size of every buffer parameter's memref (the kernel ABI is a bare pointer; sizes a
/// kernel needs are scalar parameters).
constexpr int64_t kBareBufferElements = int64_t(1) << 48;

/// A tensor as the launch plan sees it: where its bytes live and its dims as size expressions
/// (the bundle's expression language: integers, symbols, + - * / %, cdiv/min/max).
struct BufferRef {
  std::string source; ///< "arg <i>" or "ws <byte-offset-expr>"
  Type elementType;
  llvm::SmallVector<std::string> dims;
  /// Product of the dims, as an expression.
  std::string numElements() const;
};

/// The inline-asm text of KernelBuilder::dependencyWait's marker.
constexpr llvm::StringLiteral kDependencyWaitMarker = "// ds.dependency_wait";

/// Inline PTX `text` with side effects and a memory clobber (no load is moved across it), as
/// griddepcontrol.wait is emitted: the NVVM intrinsic is modelled as touching no memory, which
/// would leave LLVM free to hoist a load above it.
void createMemoryFencedAsm(OpBuilder &b, Location loc, llvm::StringRef text);

/// A built kernel and its launch-plan entry: {name, grid, block, smem, params}, each in the
/// bundle's syntax (docs/bundle.md).
struct LaunchStep {
  gpu::GPUFuncOp kernel;
  DictionaryAttr step;
};

/// Builds one gpu.func kernel in `module` and records how to launch it. The launch description
/// becomes a `ds.launch` of the function's `ds.plan` (the kernel itself loses its attributes when it is
/// translated to PTX).
class KernelBuilder {
public:
  KernelBuilder(gpu::GPUModuleOp module, llvm::StringRef name, Location loc);

  /// Declares the kernel's parameters. Buffers become memref<kBareBufferElements x T> passed as
  /// one bare pointer; scalars become i32/i64 params from expressions.
  void addBuffer(const BufferRef &buffer);
  void addI32(llvm::StringRef expr);
  void addI64(llvm::StringRef expr);
  void addF32(float value);

  /// Creates the function from the declared parameters and positions the builder in its body.
  /// `blockX` threads per block (1-D blocks), grid from expressions.
  void begin(int64_t blockX, llvm::StringRef gridX, llvm::StringRef gridY = "1",
             llvm::StringRef gridZ = "1", llvm::StringRef dynamicSmemBytes = "0");
  /// Asks the backend to fit `blocks` CTAs per SM (nvvm.minctasm: caps registers per thread),
  /// for memory-bound kernels whose loads in flight scale with resident warps. After begin().
  void setMinBlocksPerSM(int64_t blocks);
  /// Compiles the kernel for thread-block clusters of `ctas` CTAs along x (nvvm.cluster_dim,
  /// .reqnctapercluster: a plain launch forms them; the grid's x must be a multiple). sm_90+.
  void setClusterSize(int64_t ctas);
  /// Where the kernel waits for the pipeline's previous kernel (programmatic dependent launch):
  /// here instead of at its entry. Only loads of the pipeline's read-only inputs
  /// (PlanContext::isReadOnlyInput) may come before it, and no store. ds-lower-to-kernels turns
  /// the marker into `griddepcontrol.wait` where the kernel is launched programmatically and
  /// drops it elsewhere. At most once, at the kernel's top level.
  void dependencyWait();

  /// Terminates the body and returns the kernel with its launch step.
  LaunchStep finish();

  /// Static shared memory of the kernel (a workgroup attribution): `elements` of `type`.
  Value addShared(Type type, int64_t elements);
  /// The kernel's dynamic shared memory (as many bytes as begin()'s `dynamicSmemBytes` launches
  /// it with) viewed from its start as a memref<?xT> of `elements` (an index value) of `type`.
  Value dynamicShared(Type type, Value elements);
  /// The same from `byteOffset` (an index, a multiple of the type's size) into it.
  Value dynamicShared(Type type, Value elements, Value byteOffset);
  /// The start of a shared-memory memref (static or dynamic) as a shared-space pointer
  /// (!llvm.ptr<3>).
  Value sharedPointer(Value memref);
  /// The same shared memory (`local`, a shared-space pointer) of the cluster's CTA `rank` (an
  /// i32), as a shared::cluster pointer (!llvm.ptr<7>, `mapa`; sm_90).
  Value clusterPointer(Value local, Value rank);

  ImplicitLocOpBuilder &b() { return builder; }
  Value arg(unsigned i) { return func.getArgument(i); }

  // Index arithmetic (all `index` typed).
  Value c(int64_t v);
  Value ci32(int32_t v);
  Value cf32(float v);
  Value add(Value a, Value b);
  Value sub(Value a, Value b);
  Value mul(Value a, Value b);
  Value div(Value a, Value b); // unsigned
  Value rem(Value a, Value b); // unsigned
  Value minIdx(Value a, Value b);
  Value toIndex(Value i32OrI64);
  Value threadId();
  Value blockId(gpu::Dimension dim);
  Value lane();   // thread id % 32
  Value warpId(); // thread id / 32
  /// `0 <= v < bound` for a signed i32 `v` and an index `bound`.
  Value inRange(Value v, Value bound);

  // f32 math that lowers without libdevice.
  Value exp2(Value x);
  Value tanh(Value x);
  Value fmax(Value a, Value b);
  Value fmin(Value a, Value b);
  /// max(min(v, hi), lo) (f32; NaN-free inputs).
  Value clampF(Value v, float lo, float hi);
  /// sum_i a[i] b[i] of two f32 vectors as one chain of fmas (products unrounded). The backend
  /// keeps `mul` and `add` apart (PTX's .rn forms), so a product vector and a reduction cost
  /// twice the instructions.
  Value dotF32(Value a, Value b);
  /// The sum of an f32 vector's elements in order, without the +0.0 a vector reduction starts
  /// from (which the backend cannot drop: it would turn -0.0 into +0.0).
  Value sumF32(Value v);
  /// Round half to even of an f32 with |v| <= 2^22: adds and subtracts 1.5 * 2^23 (llvm.roundeven
  /// would become a libdevice call).
  Value roundEven(Value v);
  /// The int4 value of an f32 `v` (a value divided by its scale) as an i32 in [-8, 7]:
  /// clamp(round_half_even(v), -8, 7), v first clamped to [-16, 16] (ds.int4_append's and the
  /// int4 label cache's quantization).
  Value int4Value(Value v);

  /// if (cond) { body() } at the insertion point (no results); the insertion point stays after
  /// the scf.if.
  void ifThen(Value cond, llvm::function_ref<void()> body);

  /// Butterfly reduction over the 32 lanes of a warp (`width` lanes: 1..32, power of two), of an
  /// f32 (or vector of f32) or, for warpSum, of an integer too.
  Value warpSum(Value x, int64_t width = 32);
  /// The sums of several f32 values over each aligned group of `width` lanes, every lane getting
  /// all of them. For G values (a power of two up to `width`) a transposed butterfly: each level
  /// sends half of a lane's values and keeps the other half, so G values cost G - 1 + log2(width
  /// / G) shuffle-adds and G indexed broadcasts instead of G log2(width) shuffle-adds (4 values
  /// over 16 lanes: 9 shuffles and 5 adds instead of 16 and 16). Other counts: one butterfly each.
  SmallVector<Value> warpSums(ArrayRef<Value> xs, int64_t width);
  Value warpMax(Value x, int64_t width = 32);

  /// How values combine in warpCombine and combineWarpSlots: f32 sum, f32 maximum (maxnum),
  /// u32 maximum (warpMax's integer form is signed).
  enum class Combine { SumF, MaxF, MaxU };
  /// A butterfly over the warp's 32 lanes: every lane gets the same combination.
  Value warpCombine(Combine how, Value v);
  /// A warp-uniform value for slot `slot` of `smem` (32 elements a slot, one per warp).
  struct WarpSlot {
    Value val, smem;
    int64_t slot;
  };
  /// Warp-uniform values to every thread through one barrier: lane 31 of warp w stores each
  /// item's value at smem[slot * 32 + w], then the barrier. No barrier follows, so those slots
  /// must not be written again before the next barrier: exchanges between two barriers take
  /// slots of their own.
  void toWarpSlots(llvm::ArrayRef<WarpSlot> items);
  /// After toWarpSlots: the `warps` warps' values of a slot combined, the same in every thread.
  /// Up to 8 warps each thread reads them and combines them in warp order (no shuffle after the
  /// barrier); with more, lane l reads warp l's and a butterfly combines them.
  Value combineWarpSlots(Combine how, Value smem, int64_t slot, int64_t warps);
  /// After toWarpSlots of i32 values: the slot's sum over the warps before this thread's, and
  /// over all `warps` warps.
  std::pair<Value, Value> prefixWarpSlots(Value smem, int64_t slot, int64_t warps);

  /// Block-wide reductions over the CTA's `warps` warps through shared `smem` (at least `warps`
  /// elements of the value's type; toWarpSlots' slot 0): the result is uniform. Each has two
  /// barriers, so `smem` can be reused right after.
  Value blockSum(Value x, Value smem, int64_t warps);
  Value blockMax(Value x, Value smem, int64_t warps);
  /// Block-wide sums (or maxima with `isMax`) of several f32 values at once with one barrier:
  /// warp w's partial of values[v] goes to smem[(firstSlot + v) * 32 + w] (`smem` an f32 memref
  /// of at least (firstSlot + values.size()) * 32 elements); the results are uniform. No barrier
  /// follows, as for toWarpSlots.
  llvm::SmallVector<Value> blockReduce(llvm::ArrayRef<Value> values, bool isMax, Value smem,
                                       int64_t firstSlot, int64_t warps);
  /// Block-wide exclusive prefix sum of an i32 `x` in thread order: {this thread's exclusive
  /// sum, the total (uniform)}. Two barriers, as above (`smem` at least `warps` i32).
  std::pair<Value, Value> blockScan(Value x, Value smem, int64_t warps);
  /// Inclusive prefix sum of an i32 over the 32 lanes of a warp.
  Value warpScan(Value x);
  /// `x` of lane `from` (an i32) in every lane of the warp (an indexed shuffle).
  Value fromLane(Value x, Value from);

  /// Loads `n` consecutive elements at element offset `off` of a memref<?xT> as a vector<n x T>,
  /// with the alignment asserted when `n * sizeof(T)` is 4, 8 or 16 bytes (the caller guarantees
  /// it).
  Value loadVec(Value memref, Value off, int64_t n);
  /// loadVec at each (memref, offset) of `at`, all in one branch taken where `cond` holds (zeros
  /// elsewhere, and no load issued; every offset in bounds whenever `cond` holds), so that the
  /// loads issue back to back. (With a branch per load, LLVM moves a widening of the loaded
  /// vector into its branch.)
  SmallVector<Value> loadVecsIf(Value cond, llvm::ArrayRef<std::pair<Value, Value>> at, int64_t n);
  /// loadVecsIf of one vector.
  Value loadVecOrZero(Value cond, Value memref, Value off, int64_t n);
  /// loadVec widened to f32.
  Value loadVecF32(Value memref, Value off, int64_t n);
  /// A float vector (or scalar) as f32: extended, unless it already is.
  Value widenF32(Value v);
  /// Loads one element as f32 / stores an f32 value converted to the memref's element type.
  Value loadF32(Value memref, Value off);
  void storeF32(Value value, Value memref, Value off);
  /// Stores a vector<n x f32> converted to the memref's element type at element offset `off`,
  /// with the alignment asserted as loadVecF32 does.
  void storeVecF32(Value value, Value memref, Value off);

private:
  gpu::GPUModuleOp module;
  std::string name;
  Location loc;
  OpBuilder moduleBuilder;
  ImplicitLocOpBuilder builder;
  gpu::GPUFuncOp func;
  llvm::SmallVector<Type> argTypes;
  llvm::SmallVector<std::string> params;
  llvm::SmallVector<std::string> launch; // grid x y z, block x y z, smem
};

/// if (cond) { body() } with a bare builder (KernelBuilder::ifThen for code that has one).
void ifThen(ImplicitLocOpBuilder &b, Value cond, llvm::function_ref<void()> body);

} // namespace ds
} // namespace mlir

#endif // DS_CODEGEN_KERNELBUILDER_H
