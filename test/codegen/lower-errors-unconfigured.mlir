// RUN: ds-opt %s -split-input-file -verify-diagnostics --ds-lower-to-kernels
// ds-lower-to-kernels reads the config and the target; it never chooses them.

func.func @no_target(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) -> tensor<?x8x16xbf16> {
  // expected-error @+1 {{has no target ('ds.target' on its function): run ds-select-kernel-config first}}
  %l = ds.label_gather %x, %ch {config = #ds.kernel_config<block_tokens = 1, warps = 8, splits = 1, stages = 1, vector_width = 1>}
      : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  return %l : tensor<?x8x16xbf16>
}

// -----

func.func @no_config(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) -> tensor<?x8x16xbf16> {
  // expected-error @+1 {{has no 'config' attribute: run ds-select-kernel-config first}}
  %l = ds.label_gather %x, %ch : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  return %l : tensor<?x8x16xbf16>
}

// -----

// A config written by hand is checked by the lowering too.
func.func @bad_config(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) -> tensor<?x8x16xbf16>
    attributes {ds.target = #ds.target<chip = "sm_90", sm_count = 132, smem_per_block = 232448, regs_per_sm = 65536, l2_bytes = 52428800, ptx = 80>} {
  // expected-error @+1 {{config field 'stages' must be 1 (the kernels do not read it), got 2}}
  %l = ds.label_gather %x, %ch {config = #ds.kernel_config<block_tokens = 1, warps = 8, splits = 1, stages = 2, vector_width = 1>}
      : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  return %l : tensor<?x8x16xbf16>
}
