// RUN: ds-opt %s --allow-unregistered-dialect -split-input-file -verify-diagnostics --pass-pipeline='builtin.module(func.func(ds-select-kernel-config),ds-lower-to-kernels)'
// Ops of an unregistered dialect have no dialect: ds-lower-to-kernels crashed on them.

// No ds op: the function is left as it is.
func.func @other_only() {
  "x.y"() : () -> ()
  return
}

// -----

func.func @after_ds(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) -> tensor<?x8x16xbf16> {
  %l = ds.label_gather %x, %ch : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  // expected-error @+1 {{ds-lower-to-kernels: only ds ops can be lowered to kernels}}
  "x.y"() : () -> ()
  return %l : tensor<?x8x16xbf16>
}
