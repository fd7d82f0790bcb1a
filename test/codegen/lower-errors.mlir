// RUN: ds-opt %s -split-input-file -verify-diagnostics --pass-pipeline='builtin.module(func.func(ds-select-kernel-config),ds-lower-to-kernels)'
// Every diagnostic of ds-lower-to-kernels and of the kernel families, at the op the user wrote.

func.func @decode_not_split(%q: tensor<?x32x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x128xbf16> {
  // expected-error @+1 {{is lowered after ds-split-decode (decode_partial + decode_merge)}}
  %o = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.125 : f32}
      : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}

// -----

func.func @linear_decode_value_dim(%q: tensor<?x8x64xbf16>, %v: tensor<?x8x12xbf16>, %slopes: tensor<8xf32>, %st: tensor<?x8x64x12xf32>, %si: tensor<?xi32>)
    -> (tensor<?x8x12xbf16>, tensor<?x8x64x12xf32>) {
  // expected-error @+1 {{GPU lowering supports value dims 4 to 128 that divide 128, got 12}}
  %o, %s = ds.linear_attn_decode %q, %q, %v, %slopes, %st, %si
      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x12xbf16>, tensor<8xf32>, tensor<?x8x64x12xf32>, tensor<?xi32>)
      -> (tensor<?x8x12xbf16>, tensor<?x8x64x12xf32>)
  return %o, %s : tensor<?x8x12xbf16>, tensor<?x8x64x12xf32>
}

// -----

func.func @prefill_state_too_big(%q: tensor<?x2x512xbf16>, %v: tensor<?x2x128xbf16>, %slopes: tensor<2xf32>, %cu: tensor<?xi32>,
                                 %st: tensor<?x2x512x128xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) -> (tensor<?x2x128xbf16>, tensor<?x2x512x128xf32>) {
  // expected-error @+1 {{GPU lowering holds at most 128 state values per thread; key dim 512 with value dim 128 needs 256}}
  %o, %s = ds.linear_attn_prefill %q, %q, %v, %slopes, %cu, %st, %si, %hi
      : (tensor<?x2x512xbf16>, tensor<?x2x512xbf16>, tensor<?x2x128xbf16>, tensor<2xf32>, tensor<?xi32>,
         tensor<?x2x512x128xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x2x128xbf16>, tensor<?x2x512x128xf32>)
  return %o, %s : tensor<?x2x128xbf16>, tensor<?x2x512x128xf32>
}

// -----

func.func @topk_huge_k(%s: tensor<?x8x?xf32>, %sl: tensor<?xi32>) -> tensor<?x8x2147483648xi32> {
  // expected-error @+1 {{GPU lowering supports k <= 2^30}}
  %i = ds.topk %s, %sl {k = 2147483648 : i64} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x2147483648xi32>
  return %i : tensor<?x8x2147483648xi32>
}

// -----

func.func @score_topk_huge_k(%ql: tensor<?x8x16xbf16>, %cache: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x2147483648xi32> {
  // expected-error @+1 {{GPU lowering supports k <= 2^30}}
  %i = ds.score_topk %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, k = 2147483648 : i64}
      : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x2147483648xi32>
  return %i : tensor<?x8x2147483648xi32>
}

// -----

func.func @quest_dynamic_heads(%k: tensor<?x?x128xbf16>, %slots: tensor<?xi32>, %kmin: tensor<?x?x128xbf16>)
    -> (tensor<?x?x128xbf16>, tensor<?x?x128xbf16>) {
  // expected-error @+1 {{GPU lowering needs static kv heads and head dim in kmin}}
  %mn, %mx = ds.page_summary_append %kmin, %kmin, %k, %slots {page_size = 16 : i64}
      : (tensor<?x?x128xbf16>, tensor<?x?x128xbf16>, tensor<?x?x128xbf16>, tensor<?xi32>) -> (tensor<?x?x128xbf16>, tensor<?x?x128xbf16>)
  return %mn, %mx : tensor<?x?x128xbf16>, tensor<?x?x128xbf16>
}

// -----

func.func @quest_vector_width(%q: tensor<?x8x128xbf16>, %kmin: tensor<?x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x?xf32> {
  // expected-error @+1 {{config field 'vector_width' must divide the head dim (128) and fit 16 bytes, got 16}}
  %u = ds.page_score %q, %kmin, %kmin, %pt, %sl {page_size = 16 : i64,
      config = #ds.kernel_config<block_tokens = 1, warps = 8, splits = 1, stages = 1, vector_width = 16>}
      : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return %u : tensor<?x8x?xf32>
}

// -----

func.func @quest_head_dim(%q: tensor<?x8x512xbf16>, %kmin: tensor<?x8x512xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x?xf32> {
  // expected-error @+1 {{GPU lowering supports head dims up to 256, got 512}}
  %u = ds.page_score %q, %kmin, %kmin, %pt, %sl {page_size = 16 : i64}
      : (tensor<?x8x512xbf16>, tensor<?x8x512xbf16>, tensor<?x8x512xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return %u : tensor<?x8x?xf32>
}

// -----

func.func @returns_argument(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) -> (tensor<?x8x16xbf16>, tensor<8x16xi32>) {
  %l = ds.label_gather %x, %ch : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  // expected-error @+1 {{ds-lower-to-kernels: returning an argument unchanged is not supported (result 1)}}
  return %l, %ch : tensor<?x8x16xbf16>, tensor<8x16xi32>
}

// -----

func.func @returns_twice(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) -> (tensor<?x8x16xbf16>, tensor<?x8x16xbf16>) {
  %l = ds.label_gather %x, %ch : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  // expected-error @+1 {{ds-lower-to-kernels: a value is returned twice (result 1)}}
  return %l, %l : tensor<?x8x16xbf16>, tensor<?x8x16xbf16>
}

// -----

func.func @other_dialect(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) -> tensor<?x8x16xbf16> {
  %l = ds.label_gather %x, %ch : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  // expected-error @+1 {{ds-lower-to-kernels: only ds ops can be lowered to kernels}}
  %c = arith.constant 1 : i32
  return %l : tensor<?x8x16xbf16>
}

// -----

// expected-error @+1 {{ds-lower-to-kernels: 'arg0' must be a ranked tensor of bf16, f16, f32, i32, i64 or f8E4M3FN}}
func.func @unranked_argument(%u: tensor<*xf32>, %x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) -> tensor<?x8x16xbf16> {
  %l = ds.label_gather %x, %ch : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  return %l : tensor<?x8x16xbf16>
}

// -----

// A function's name starts its kernels' names, and PTX names take letters, digits, '_', '$' and
// '.' only (the NVPTX backend aborted on others).
// expected-error @+1 {{function name 'a-b' cannot start PTX kernel names: use letters, digits, '_', '$' and '.'}}
func.func @"a-b"(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) -> tensor<?x8x16xbf16> {
  %l = ds.label_gather %x, %ch : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  return %l : tensor<?x8x16xbf16>
}

// -----

// A pipeline is one block of ds ops: a branch's blocks would have been dropped, not lowered.
// expected-error @+1 {{ds-lower-to-kernels: a function lowered to kernels must be one block (it has 2)}}
func.func @two_blocks(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) -> tensor<?x8x16xbf16> {
  %l = ds.label_gather %x, %ch : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  cf.br ^bb1
^bb1:
  return %l : tensor<?x8x16xbf16>
}

// -----

// A ds op inside another op's region was left unlowered, and the pass succeeded.
func.func @nested(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) -> tensor<?x8x16xbf16> {
  %l = scf.execute_region -> tensor<?x8x16xbf16> {
    // expected-error @+1 {{ds-lower-to-kernels: ds ops must sit directly in the function's body, not inside another op's region}}
    %i = ds.label_gather %x, %ch : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
    scf.yield %i : tensor<?x8x16xbf16>
  }
  return %l : tensor<?x8x16xbf16>
}
