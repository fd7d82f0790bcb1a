#ifndef DS_INTERFACES_TD
#define DS_INTERFACES_TD

include "mlir/IR/OpBase.td"

// What the compiler needs to know of every ds op that becomes kernels, declared with the op:
// the dims its operands and results tie together, and the operand a result updates in place.
// The tuning and the kernels of an op live with its family in codegen (codegen/Families.cpp).
def DS_KernelOpInterface : OpInterface<"KernelOpInterface"> {
  let cppNamespace = "::mlir::ds";
  let description = [{
    Implemented by every ds op. `ds-lower-to-kernels` reads it to name the launch plan's symbols
    (dims the op ties share one symbol, so the runtime rejects inconsistent shapes before any
    launch) and to lay out buffers (a result updated in place shares its operand's buffer).
  }];
  let methods = [
    InterfaceMethod<[{
        Appends groups of (value, dim) that must be equal (the dynamic ones the verifier cannot
        check).
      }], "void", "getTiedDims",
      (ins "::llvm::SmallVectorImpl<::mlir::ds::DimGroup> &":$groups)>,
    InterfaceMethod<[{
        The operand whose buffer `result` updates in place (caches, summaries, states), or null.
      }], "::mlir::Value", "getInPlaceSource", (ins "::mlir::Value":$result), [{}],
      /*defaultImplementation=*/[{ return {}; }]>,
  ];
}

#endif // DS_INTERFACES_TD
