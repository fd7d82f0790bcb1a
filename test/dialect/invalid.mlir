// RUN: ds-opt %s -split-input-file -verify-diagnostics

// One case per verifier diagnostic of every ds op (DSOps.cpp), of #ds.kernel_config
// (DSDialect.cpp), and of the ODS-generated constraints (element types, required attributes,
// IntPositive attributes).

//===----------------------------------------------------------------------===//
// ODS-generated constraints
//===----------------------------------------------------------------------===//

func.func @data_f32(%x: tensor<?x8x128xf32>, %ch: tensor<8x16xi32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of bfloat16 type or 16-bit float values, but got 'tensor<?x8x128xf32>'}}
  %0 = ds.label_gather %x, %ch : (tensor<?x8x128xf32>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  return
}

// -----

func.func @indices_i64(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi64>) {
  // expected-error @+1 {{operand #1 must be ranked tensor of 32-bit signless integer values, but got 'tensor<8x16xi64>'}}
  %0 = ds.label_gather %x, %ch : (tensor<?x8x128xbf16>, tensor<8x16xi64>) -> tensor<?x8x16xbf16>
  return
}

// -----

func.func @unranked_data(%x: tensor<*xbf16>, %ch: tensor<8x16xi32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of bfloat16 type or 16-bit float values, but got 'tensor<*xbf16>'}}
  %0 = ds.label_gather %x, %ch : (tensor<*xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  return
}

// -----

func.func @scores_not_f32(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{result #0 must be ranked tensor of 32-bit float values, but got 'tensor<?x8x?xbf16>'}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32} : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xbf16>
  return
}

// -----

func.func @philox_i32(%f: tensor<?x8x16xi32>, %sl: tensor<?xi32>, %p: tensor<2xi32>) {
  // expected-error @+1 {{operand #2 must be ranked tensor of 64-bit signless integer values, but got 'tensor<2xi32>'}}
  %0:2 = ds.sample_residual %f, %sl, %p {num_samples = 4 : i64} : (tensor<?x8x16xi32>, tensor<?xi32>, tensor<2xi32>) -> (tensor<?x8x4xi32>, tensor<?x8x4xf32>)
  return
}

// -----

func.func @states_bf16(%q: tensor<?x8x64xbf16>, %slopes: tensor<8xf32>, %st: tensor<?x8x64x64xbf16>, %si: tensor<?xi32>) {
  // expected-error @+1 {{operand #4 must be ranked tensor of 32-bit float values, but got 'tensor<?x8x64x64xbf16>'}}
  %0:2 = ds.linear_attn_decode %q, %q, %q, %slopes, %st, %si : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<8xf32>, tensor<?x8x64x64xbf16>, tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>)
  return
}

// -----

func.func @missing_scale(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{requires attribute 'scale'}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64} : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @missing_page_size(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{requires attribute 'page_size'}}
  %0 = ds.label_score %ql, %c, %pt, %sl {scale = 0.25 : f32} : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @missing_k(%s: tensor<?x8x?xf32>, %l: tensor<?xi32>) {
  // expected-error @+1 {{requires attribute 'k'}}
  %0 = ds.topk %s, %l : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return
}

// -----

func.func @page_size_zero(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{attribute 'page_size' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 0 : i64, scale = 0.25 : f32} : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @page_size_negative(%kmin: tensor<?x8x128xbf16>, %k: tensor<?x8x128xbf16>, %s: tensor<?xi32>) {
  // expected-error @+1 {{attribute 'page_size' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %0:2 = ds.page_summary_append %kmin, %kmin, %k, %s {page_size = -16 : i64} : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return
}

// -----

func.func @k_zero(%s: tensor<?x8x?xf32>, %l: tensor<?xi32>) {
  // expected-error @+1 {{attribute 'k' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %0 = ds.topk %s, %l {k = 0 : i64} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x0xi32>
  return
}

// -----

func.func @divisor_zero(%s: tensor<?x8x?xf32>, %l: tensor<?xi32>) {
  // expected-error @+1 {{attribute 'divisor' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %0 = ds.topk %s, %l {k = 4 : i64, divisor = 0 : i64} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return
}

// -----

func.func @num_samples_zero(%f: tensor<?x8x16xi32>, %sl: tensor<?xi32>, %p: tensor<2xi64>) {
  // expected-error @+1 {{attribute 'num_samples' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %0:2 = ds.sample_residual %f, %sl, %p {num_samples = 0 : i64} : (tensor<?x8x16xi32>, tensor<?xi32>, tensor<2xi64>) -> (tensor<?x8x0xi32>, tensor<?x8x0xf32>)
  return
}

// -----

func.func @chunk_size_zero(%q: tensor<?x8x64xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x64xf32>, %si: tensor<?xi32>) {
  // expected-error @+1 {{attribute 'chunk_size' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %0:2 = ds.linear_attn_prefill %q, %q, %q, %slopes, %cu, %st, %si, %si {chunk_size = 0 : i64} : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x64xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>)
  return
}

// -----

func.func @scale_f64(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{attribute 'scale' failed to satisfy constraint: 32-bit float attribute}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f64} : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @group_reduce_wrong_attr(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{attribute 'group_reduce' failed to satisfy constraint: how GQA query heads of one group share a selection}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = 1 : i32} : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @config_wrong_attr(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) {
  // expected-error @+1 {{attribute 'config' failed to satisfy constraint}}
  %0 = ds.label_gather %x, %ch {config = 4 : i64} : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  return
}

//===----------------------------------------------------------------------===//
// #ds.kernel_config parameter ranges
//===----------------------------------------------------------------------===//

// -----

// expected-error @+1 {{kernel_config: block_tokens must be in [1, 16777216], got 0}}
func.func @cfg_block_tokens() attributes {cfg = #ds.kernel_config<block_tokens = 0, warps = 4, splits = 1, stages = 1, vector_width = 8>}

// -----

// expected-error @+1 {{kernel_config: warps must be in [1, 32], got 0}}
func.func @cfg_warps_zero() attributes {cfg = #ds.kernel_config<block_tokens = 64, warps = 0, splits = 1, stages = 1, vector_width = 8>}

// -----

// expected-error @+1 {{kernel_config: warps must be in [1, 32], got 33}}
func.func @cfg_warps_big() attributes {cfg = #ds.kernel_config<block_tokens = 64, warps = 33, splits = 1, stages = 1, vector_width = 8>}

// -----

// expected-error @+1 {{kernel_config: splits must be in [1, 65536], got 0}}
func.func @cfg_splits() attributes {cfg = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 0, stages = 1, vector_width = 8>}

// -----

// expected-error @+1 {{kernel_config: stages must be in [1, 64], got -1}}
func.func @cfg_stages() attributes {cfg = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = -1, vector_width = 8>}

// -----

// The upper bounds keep a builder's products of the fields inside int64_t.
// expected-error @+1 {{kernel_config: block_tokens must be in [1, 16777216], got 9223372036854775807}}
func.func @cfg_block_tokens_huge() attributes {cfg = #ds.kernel_config<block_tokens = 9223372036854775807, warps = 4, splits = 1, stages = 1, vector_width = 8>}

// -----

// expected-error @+1 {{kernel_config: splits must be in [1, 65536], got 65537}}
func.func @cfg_splits_huge() attributes {cfg = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 65537, stages = 1, vector_width = 8>}

// -----

// expected-error @+1 {{kernel_config: stages must be in [1, 64], got 65}}
func.func @cfg_stages_huge() attributes {cfg = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 65, vector_width = 8>}

// -----

// expected-error @+1 {{kernel_config: heads must be in [0, 1024], got 1025}}
func.func @cfg_heads_huge() attributes {cfg = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 1, vector_width = 8, heads = 1025>}

// -----

// expected-error @+1 {{kernel_config: vector_width must be a power of two in [1, 32], got 6}}
func.func @cfg_vector_width_npot() attributes {cfg = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 1, vector_width = 6>}

// -----

// expected-error @+1 {{kernel_config: vector_width must be a power of two in [1, 32], got 64}}
func.func @cfg_vector_width_big() attributes {cfg = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 1, vector_width = 64>}

// -----

// expected-error @+1 {{kernel_config: vector_width must be a power of two in [1, 32], got 0}}
func.func @cfg_vector_width_zero() attributes {cfg = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 1, vector_width = 0>}

// -----

func.func @cfg_on_op(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) {
  // expected-error @+1 {{kernel_config: warps must be in [1, 32], got 64}}
  %0 = ds.label_gather %x, %ch {config = #ds.kernel_config<block_tokens = 1, warps = 64, splits = 1, stages = 1, vector_width = 8>} : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  return
}

//===----------------------------------------------------------------------===//
// label_gather
//===----------------------------------------------------------------------===//

// -----

func.func @lg_x_rank(%x: tensor<8x128xbf16>, %ch: tensor<8x16xi32>) {
  // expected-error @+1 {{'ds.label_gather' op x must have rank 3, got 2}}
  %0 = ds.label_gather %x, %ch : (tensor<8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  return
}

// -----

func.func @lg_channels_rank(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16x1xi32>) {
  // expected-error @+1 {{'ds.label_gather' op channels must have rank 2, got 3}}
  %0 = ds.label_gather %x, %ch : (tensor<?x8x128xbf16>, tensor<8x16x1xi32>) -> tensor<?x8x16xbf16>
  return
}

// -----

func.func @lg_result_rank(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) {
  // expected-error @+1 {{'ds.label_gather' op result must have rank 3, got 4}}
  %0 = ds.label_gather %x, %ch : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16x1xbf16>
  return
}

// -----

func.func @lg_label_dim_dynamic(%x: tensor<?x8x128xbf16>, %ch: tensor<8x?xi32>) {
  // expected-error @+1 {{'ds.label_gather' op channels dim 1 (label dim) must be static}}
  %0 = ds.label_gather %x, %ch : (tensor<?x8x128xbf16>, tensor<8x?xi32>) -> tensor<?x8x?xbf16>
  return
}

// -----

func.func @lg_batch(%x: tensor<4x8x128xbf16>, %ch: tensor<8x16xi32>) {
  // expected-error @+1 {{'ds.label_gather' op x dim 0 (4) must equal result dim 0 (5)}}
  %0 = ds.label_gather %x, %ch : (tensor<4x8x128xbf16>, tensor<8x16xi32>) -> tensor<5x8x16xbf16>
  return
}

// -----

func.func @lg_heads(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) {
  // expected-error @+1 {{'ds.label_gather' op x dim 1 (8) must equal result dim 1 (4)}}
  %0 = ds.label_gather %x, %ch : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x4x16xbf16>
  return
}

// -----

func.func @lg_label_dim(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) {
  // expected-error @+1 {{'ds.label_gather' op channels dim 1 (16) must equal result dim 2 (8)}}
  %0 = ds.label_gather %x, %ch : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x8xbf16>
  return
}

// -----

func.func @lg_heads_dynamic(%x: tensor<?x?x128xbf16>, %ch: tensor<8x16xi32>) {
  // expected-error @+1 {{'ds.label_gather' op x dim 1 (query heads) must be static}}
  %0 = ds.label_gather %x, %ch : (tensor<?x?x128xbf16>, tensor<8x16xi32>) -> tensor<?x?x16xbf16>
  return
}

// -----

func.func @lg_kv_heads_dynamic(%x: tensor<?x8x128xbf16>, %ch: tensor<?x16xi32>) {
  // expected-error @+1 {{'ds.label_gather' op channels dim 0 (kv heads) must be static}}
  %0 = ds.label_gather %x, %ch : (tensor<?x8x128xbf16>, tensor<?x16xi32>) -> tensor<?x8x16xbf16>
  return
}

// -----

func.func @lg_groups(%x: tensor<?x32x128xbf16>, %ch: tensor<6x16xi32>) {
  // expected-error @+1 {{'ds.label_gather' op x heads (32) must be a multiple of channels heads (6)}}
  %0 = ds.label_gather %x, %ch : (tensor<?x32x128xbf16>, tensor<6x16xi32>) -> tensor<?x32x16xbf16>
  return
}

// -----

func.func @lg_head_dim_dynamic(%x: tensor<?x8x?xbf16>, %ch: tensor<8x16xi32>) {
  // expected-error @+1 {{'ds.label_gather' op x dim 2 (head dim) must be static}}
  %0 = ds.label_gather %x, %ch : (tensor<?x8x?xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  return
}

// -----

func.func @lg_label_gt_head(%x: tensor<?x8x8xbf16>, %ch: tensor<8x16xi32>) {
  // expected-error @+1 {{'ds.label_gather' op label dim (channels dim 1) must be <= head dim (x dim 2)}}
  %0 = ds.label_gather %x, %ch : (tensor<?x8x8xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  return
}

// -----

func.func @lg_elem(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) {
  // expected-error @+1 {{'ds.label_gather' op result element type 'f16' must match x ('bf16')}}
  %0 = ds.label_gather %x, %ch : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xf16>
  return
}

//===----------------------------------------------------------------------===//
// label_append
//===----------------------------------------------------------------------===//

// -----

func.func @la_cache_rank(%c: tensor<8x?xbf16>, %k: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_append' op label_cache must have rank 3, got 2}}
  %0 = ds.label_append %c, %k, %ch, %s : (tensor<8x?xbf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return
}

// -----

func.func @la_k_rank(%c: tensor<8x?x16xbf16>, %k: tensor<?x1x8x128xbf16>, %ch: tensor<8x16xi32>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_append' op k must have rank 3, got 4}}
  %0 = ds.label_append %c, %k, %ch, %s : (tensor<8x?x16xbf16>, tensor<?x1x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return
}

// -----

func.func @la_channels_rank(%c: tensor<8x?x16xbf16>, %k: tensor<?x8x128xbf16>, %ch: tensor<128xi32>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_append' op channels must have rank 2, got 1}}
  %0 = ds.label_append %c, %k, %ch, %s : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<128xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return
}

// -----

func.func @la_slots_rank(%c: tensor<8x?x16xbf16>, %k: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>, %s: tensor<?x1xi32>) {
  // expected-error @+1 {{'ds.label_append' op slot_mapping must have rank 1, got 2}}
  %0 = ds.label_append %c, %k, %ch, %s : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?x1xi32>) -> tensor<8x?x16xbf16>
  return
}

// -----

func.func @la_result_rank(%c: tensor<8x?x16xbf16>, %k: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_append' op result must have rank 3, got 2}}
  %0 = ds.label_append %c, %k, %ch, %s : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?xbf16>
  return
}

// -----

func.func @la_head_dim_dynamic(%c: tensor<8x?x16xbf16>, %k: tensor<?x8x?xbf16>, %ch: tensor<8x16xi32>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_append' op k dim 2 (head dim) must be static}}
  %0 = ds.label_append %c, %k, %ch, %s : (tensor<8x?x16xbf16>, tensor<?x8x?xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return
}

// -----

func.func @la_label_dim_dynamic(%c: tensor<8x?x16xbf16>, %k: tensor<?x8x128xbf16>, %ch: tensor<8x?xi32>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_append' op channels dim 1 (label dim) must be static}}
  %0 = ds.label_append %c, %k, %ch, %s : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<8x?xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return
}

// -----

func.func @la_cache_heads_k(%c: tensor<4x?x16xbf16>, %k: tensor<?x8x128xbf16>, %ch: tensor<4x16xi32>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_append' op label_cache dim 0 (4) must equal k dim 1 (8)}}
  %0 = ds.label_append %c, %k, %ch, %s : (tensor<4x?x16xbf16>, tensor<?x8x128xbf16>, tensor<4x16xi32>, tensor<?xi32>) -> tensor<4x?x16xbf16>
  return
}

// -----

func.func @la_cache_heads_channels(%c: tensor<8x?x16xbf16>, %k: tensor<?x8x128xbf16>, %ch: tensor<4x16xi32>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_append' op label_cache dim 0 (8) must equal channels dim 0 (4)}}
  %0 = ds.label_append %c, %k, %ch, %s : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<4x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return
}

// -----

func.func @la_label_dim(%c: tensor<8x?x16xbf16>, %k: tensor<?x8x128xbf16>, %ch: tensor<8x32xi32>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_append' op label_cache dim 2 must be the label dim (32), got 16}}
  %0 = ds.label_append %c, %k, %ch, %s : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<8x32xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return
}

// -----

func.func @la_tokens(%c: tensor<8x?x16xbf16>, %k: tensor<3x8x128xbf16>, %ch: tensor<8x16xi32>, %s: tensor<4xi32>) {
  // expected-error @+1 {{'ds.label_append' op slot_mapping dim 0 (4) must equal k dim 0 (3)}}
  %0 = ds.label_append %c, %k, %ch, %s : (tensor<8x?x16xbf16>, tensor<3x8x128xbf16>, tensor<8x16xi32>, tensor<4xi32>) -> tensor<8x?x16xbf16>
  return
}

// -----

func.func @la_result_slots(%c: tensor<8x1024x16xbf16>, %k: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_append' op label_cache dim 1 (1024) must equal result dim 1 (512)}}
  %0 = ds.label_append %c, %k, %ch, %s : (tensor<8x1024x16xbf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x512x16xbf16>
  return
}

// -----

func.func @la_label_gt_head(%c: tensor<8x?x16xbf16>, %k: tensor<?x8x8xbf16>, %ch: tensor<8x16xi32>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_append' op label dim (channels dim 1) must be <= head dim (k dim 2)}}
  %0 = ds.label_append %c, %k, %ch, %s : (tensor<8x?x16xbf16>, tensor<?x8x8xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return
}

// -----

func.func @la_k_elem(%c: tensor<8x?x16xbf16>, %k: tensor<?x8x128xf16>, %ch: tensor<8x16xi32>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_append' op k element type 'f16' must match label_cache ('bf16')}}
  %0 = ds.label_append %c, %k, %ch, %s : (tensor<8x?x16xbf16>, tensor<?x8x128xf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return
}

// -----

func.func @la_result_elem(%c: tensor<8x?x16xf16>, %k: tensor<?x8x128xf16>, %ch: tensor<8x16xi32>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_append' op result element type 'bf16' must match label_cache ('f16')}}
  %0 = ds.label_append %c, %k, %ch, %s : (tensor<8x?x16xf16>, tensor<?x8x128xf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return
}

//===----------------------------------------------------------------------===//
// label_score
//===----------------------------------------------------------------------===//

// -----

func.func @ls_q_rank(%ql: tensor<?x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op q_label must have rank 3, got 2}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32} : (tensor<?x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @ls_cache_rank(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x1x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op label_cache must have rank 3, got 4}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32} : (tensor<?x8x16xbf16>, tensor<8x?x1x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @ls_result_rank(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op result must have rank 3, got 2}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32} : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x?xf32>
  return
}

// -----

func.func @ls_label_dim_dynamic(%ql: tensor<?x8x?xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op q_label dim 2 (label dim) must be static}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32} : (tensor<?x8x?xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @ls_label_dim(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x32xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op label_cache dim 2 must be the label dim (16), got 32}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32} : (tensor<?x8x16xbf16>, tensor<8x?x32xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @ls_heads_dynamic(%ql: tensor<?x?x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op q_label dim 1 (query heads) must be static}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32} : (tensor<?x?x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @ls_kv_heads_dynamic(%ql: tensor<?x8x16xbf16>, %c: tensor<?x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op label_cache dim 0 (kv heads) must be static}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32} : (tensor<?x8x16xbf16>, tensor<?x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @ls_groups(%ql: tensor<?x32x16xbf16>, %c: tensor<6x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op q_label heads (32) must be a multiple of label_cache heads (6)}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32} : (tensor<?x32x16xbf16>, tensor<6x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x?xf32>
  return
}

// -----

func.func @ls_zero_kv_heads(%ql: tensor<?x8x16xbf16>, %c: tensor<0x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op label_cache dim 0 (kv heads) must be at least 1, got 0}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32} : (tensor<?x8x16xbf16>, tensor<0x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @ls_page_table_rank(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op page_table must have rank 2, got 1}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32} : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @ls_seq_lens_rank(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?x?xi32>) {
  // expected-error @+1 {{'ds.label_score' op seq_lens must have rank 1, got 2}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32} : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?x?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @ls_seq_lens_page_table(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<3x?xi32>, %sl: tensor<4xi32>) {
  // expected-error @+1 {{'ds.label_score' op seq_lens dim 0 (4) must equal page_table dim 0 (3)}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32} : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<3x?xi32>, tensor<4xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @ls_seq_lens_batch(%ql: tensor<2x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<4xi32>) {
  // expected-error @+1 {{'ds.label_score' op seq_lens dim 0 (4) must equal q_label dim 0 (2)}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32} : (tensor<2x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<4xi32>) -> tensor<2x8x?xf32>
  return
}

// -----

func.func @ls_result_batch(%ql: tensor<2x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op q_label dim 0 (2) must equal result dim 0 (3)}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32} : (tensor<2x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<3x8x?xf32>
  return
}

// -----

func.func @ls_elem(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op label_cache element type 'f16' must match q_label ('bf16')}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32} : (tensor<?x8x16xbf16>, tensor<8x?x16xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @ls_rows_none(%ql: tensor<?x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op result dim 1 must be query heads (32), got 8}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32} : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @ls_rows_sum(%ql: tensor<?x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op result dim 1 must be kv heads (group_reduce) (8), got 32}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>} : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x?xf32>
  return
}

// -----

func.func @ls_rows_dynamic(%ql: tensor<?x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op result dim 1 must be kv heads (group_reduce) (8), got ?}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<max>} : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x?x?xf32>
  return
}

// -----

func.func @ls_scale_zero(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op attribute 'scale' must be a positive finite number, got 0.000000e+00}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.0 : f32} : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @ls_scale_negative(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op attribute 'scale' must be a positive finite number, got -2.500000e-01}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = -0.25 : f32} : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @ls_scale_inf(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op attribute 'scale' must be a positive finite number, got INF}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0x7F800000 : f32} : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @ls_scale_nan(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op attribute 'scale' must be a positive finite number, got nan}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0x7FC00000 : f32} : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

//===----------------------------------------------------------------------===//
// page_summary
//===----------------------------------------------------------------------===//

// -----

func.func @ps_kmin_rank(%kmin: tensor<?x1024xbf16>, %kmax: tensor<?x8x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary' op kmin must have rank 3, got 2}}
  %0:2 = ds.page_summary %kmin, %kmax, %k, %pt, %sl : (tensor<?x1024xbf16>, tensor<?x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return
}

// -----

func.func @ps_kmax_rank(%kmin: tensor<?x8x128xbf16>, %kmax: tensor<?x1024xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary' op kmax must have rank 3, got 2}}
  %0:2 = ds.page_summary %kmin, %kmax, %k, %pt, %sl : (tensor<?x8x128xbf16>, tensor<?x1024xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return
}

// -----

func.func @ps_result0_rank(%kmin: tensor<?x8x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary' op result 0 must have rank 3, got 2}}
  %0:2 = ds.page_summary %kmin, %kmin, %k, %pt, %sl : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> (tensor<?x1024xbf16>, tensor<?x8x128xbf16>)
  return
}

// -----

func.func @ps_result1_rank(%kmin: tensor<?x8x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary' op result 1 must have rank 3, got 4}}
  %0:2 = ds.page_summary %kmin, %kmin, %k, %pt, %sl : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x1x8x128xbf16>)
  return
}

// -----

func.func @ps_kmin_kmax(%kmin: tensor<?x8x128xbf16>, %kmax: tensor<?x8x64xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary' op kmin dim 2 (128) must equal kmax dim 2 (64)}}
  %0:2 = ds.page_summary %kmin, %kmax, %k, %pt, %sl : (tensor<?x8x128xbf16>, tensor<?x8x64xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return
}

// -----

func.func @ps_kmin_result0(%kmin: tensor<64x8x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary' op kmin dim 0 (64) must equal result 0 dim 0 (32)}}
  %0:2 = ds.page_summary %kmin, %kmin, %k, %pt, %sl : (tensor<64x8x128xbf16>, tensor<64x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> (tensor<32x8x128xbf16>, tensor<64x8x128xbf16>)
  return
}

// -----

func.func @ps_kmin_result1(%kmin: tensor<?x8x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary' op kmin dim 1 (8) must equal result 1 dim 1 (4)}}
  %0:2 = ds.page_summary %kmin, %kmin, %k, %pt, %sl : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x4x128xbf16>)
  return
}

// -----

func.func @ps_kmax_elem(%kmin: tensor<?x8x128xbf16>, %kmax: tensor<?x8x128xf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary' op kmax element type 'f16' must match kmin ('bf16')}}
  %0:2 = ds.page_summary %kmin, %kmax, %k, %pt, %sl : (tensor<?x8x128xbf16>, tensor<?x8x128xf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return
}

// -----

func.func @ps_k_rank(%kmin: tensor<?x8x128xbf16>, %k: tensor<?x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary' op k must have rank 4, got 3}}
  %0:2 = ds.page_summary %kmin, %kmin, %k, %pt, %sl : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return
}

// -----

func.func @ps_page_size_dynamic(%kmin: tensor<?x8x128xbf16>, %k: tensor<?x?x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary' op k dim 1 (page size) must be static}}
  %0:2 = ds.page_summary %kmin, %kmin, %k, %pt, %sl : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return
}

// -----

func.func @ps_num_pages(%kmin: tensor<64x8x128xbf16>, %k: tensor<32x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary' op kmin dim 0 (64) must equal k dim 0 (32)}}
  %0:2 = ds.page_summary %kmin, %kmin, %k, %pt, %sl : (tensor<64x8x128xbf16>, tensor<64x8x128xbf16>, tensor<32x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> (tensor<64x8x128xbf16>, tensor<64x8x128xbf16>)
  return
}

// -----

func.func @ps_kv_heads(%kmin: tensor<?x8x128xbf16>, %k: tensor<?x16x4x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary' op kmin dim 1 (8) must equal k dim 2 (4)}}
  %0:2 = ds.page_summary %kmin, %kmin, %k, %pt, %sl : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x16x4x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return
}

// -----

func.func @ps_head_dim(%kmin: tensor<?x8x128xbf16>, %k: tensor<?x16x8x64xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary' op kmin dim 2 (128) must equal k dim 3 (64)}}
  %0:2 = ds.page_summary %kmin, %kmin, %k, %pt, %sl : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x16x8x64xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return
}

// -----

func.func @ps_k_elem(%kmin: tensor<?x8x128xbf16>, %k: tensor<?x16x8x128xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary' op k element type 'f16' must match kmin ('bf16')}}
  %0:2 = ds.page_summary %kmin, %kmin, %k, %pt, %sl : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x16x8x128xf16>, tensor<?x?xi32>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return
}

// -----

func.func @ps_page_table_rank(%kmin: tensor<?x8x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary' op page_table must have rank 2, got 1}}
  %0:2 = ds.page_summary %kmin, %kmin, %k, %pt, %sl : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return
}

// -----

func.func @ps_seq_lens_rank(%kmin: tensor<?x8x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<i32>) {
  // expected-error @+1 {{'ds.page_summary' op seq_lens must have rank 1, got 0}}
  %0:2 = ds.page_summary %kmin, %kmin, %k, %pt, %sl : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<i32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return
}

// -----

func.func @ps_batch(%kmin: tensor<?x8x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<2x?xi32>, %sl: tensor<3xi32>) {
  // expected-error @+1 {{'ds.page_summary' op seq_lens dim 0 (3) must equal page_table dim 0 (2)}}
  %0:2 = ds.page_summary %kmin, %kmin, %k, %pt, %sl : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<2x?xi32>, tensor<3xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return
}

//===----------------------------------------------------------------------===//
// page_summary_append
//===----------------------------------------------------------------------===//

// -----

func.func @psa_kmin_rank(%kmin: tensor<?x1024xbf16>, %kmax: tensor<?x8x128xbf16>, %k: tensor<?x8x128xbf16>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary_append' op kmin must have rank 3, got 2}}
  %0:2 = ds.page_summary_append %kmin, %kmax, %k, %s {page_size = 16 : i64} : (tensor<?x1024xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return
}

// -----

func.func @psa_kmin_kmax(%kmin: tensor<64x8x128xbf16>, %kmax: tensor<32x8x128xbf16>, %k: tensor<?x8x128xbf16>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary_append' op kmin dim 0 (64) must equal kmax dim 0 (32)}}
  %0:2 = ds.page_summary_append %kmin, %kmax, %k, %s {page_size = 16 : i64} : (tensor<64x8x128xbf16>, tensor<32x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?xi32>) -> (tensor<64x8x128xbf16>, tensor<64x8x128xbf16>)
  return
}

// -----

func.func @psa_kmax_elem(%kmin: tensor<?x8x128xf16>, %kmax: tensor<?x8x128xbf16>, %k: tensor<?x8x128xf16>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary_append' op kmax element type 'bf16' must match kmin ('f16')}}
  %0:2 = ds.page_summary_append %kmin, %kmax, %k, %s {page_size = 16 : i64} : (tensor<?x8x128xf16>, tensor<?x8x128xbf16>, tensor<?x8x128xf16>, tensor<?xi32>) -> (tensor<?x8x128xf16>, tensor<?x8x128xf16>)
  return
}

// -----

func.func @psa_k_rank(%kmin: tensor<?x8x128xbf16>, %k: tensor<?x16x8x128xbf16>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary_append' op k must have rank 3, got 4}}
  %0:2 = ds.page_summary_append %kmin, %kmin, %k, %s {page_size = 16 : i64} : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return
}

// -----

func.func @psa_slots_rank(%kmin: tensor<?x8x128xbf16>, %k: tensor<?x8x128xbf16>, %s: tensor<?x2xi32>) {
  // expected-error @+1 {{'ds.page_summary_append' op slot_mapping must have rank 1, got 2}}
  %0:2 = ds.page_summary_append %kmin, %kmin, %k, %s {page_size = 16 : i64} : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x2xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return
}

// -----

func.func @psa_heads(%kmin: tensor<?x8x128xbf16>, %k: tensor<?x4x128xbf16>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary_append' op kmin dim 1 (8) must equal k dim 1 (4)}}
  %0:2 = ds.page_summary_append %kmin, %kmin, %k, %s {page_size = 16 : i64} : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x4x128xbf16>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return
}

// -----

func.func @psa_head_dim(%kmin: tensor<?x8x128xbf16>, %k: tensor<?x8x64xbf16>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary_append' op kmin dim 2 (128) must equal k dim 2 (64)}}
  %0:2 = ds.page_summary_append %kmin, %kmin, %k, %s {page_size = 16 : i64} : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x64xbf16>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return
}

// -----

func.func @psa_tokens(%kmin: tensor<?x8x128xbf16>, %k: tensor<5x8x128xbf16>, %s: tensor<6xi32>) {
  // expected-error @+1 {{'ds.page_summary_append' op slot_mapping dim 0 (6) must equal k dim 0 (5)}}
  %0:2 = ds.page_summary_append %kmin, %kmin, %k, %s {page_size = 16 : i64} : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<5x8x128xbf16>, tensor<6xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return
}

// -----

func.func @psa_k_elem(%kmin: tensor<?x8x128xbf16>, %k: tensor<?x8x128xf16>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary_append' op k element type 'f16' must match kmin ('bf16')}}
  %0:2 = ds.page_summary_append %kmin, %kmin, %k, %s {page_size = 16 : i64} : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xf16>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return
}

//===----------------------------------------------------------------------===//
// page_score
//===----------------------------------------------------------------------===//

// -----

func.func @pg_q_rank(%q: tensor<?x1024xbf16>, %km: tensor<?x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_score' op q must have rank 3, got 2}}
  %0 = ds.page_score %q, %km, %km, %pt, %sl {page_size = 16 : i64} : (tensor<?x1024xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @pg_kmin_rank(%q: tensor<?x8x128xbf16>, %kmin: tensor<?x16x8x128xbf16>, %kmax: tensor<?x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_score' op kmin must have rank 3, got 4}}
  %0 = ds.page_score %q, %kmin, %kmax, %pt, %sl {page_size = 16 : i64} : (tensor<?x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @pg_kmax_rank(%q: tensor<?x8x128xbf16>, %kmin: tensor<?x8x128xbf16>, %kmax: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_score' op kmax must have rank 3, got 4}}
  %0 = ds.page_score %q, %kmin, %kmax, %pt, %sl {page_size = 16 : i64} : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @pg_result_rank(%q: tensor<?x8x128xbf16>, %km: tensor<?x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_score' op result must have rank 3, got 2}}
  %0 = ds.page_score %q, %km, %km, %pt, %sl {page_size = 16 : i64} : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x?xf32>
  return
}

// -----

func.func @pg_kmin_kmax(%q: tensor<?x8x128xbf16>, %kmin: tensor<64x8x128xbf16>, %kmax: tensor<32x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_score' op kmin dim 0 (64) must equal kmax dim 0 (32)}}
  %0 = ds.page_score %q, %kmin, %kmax, %pt, %sl {page_size = 16 : i64} : (tensor<?x8x128xbf16>, tensor<64x8x128xbf16>, tensor<32x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @pg_head_dim_dynamic(%q: tensor<?x8x?xbf16>, %km: tensor<?x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_score' op q dim 2 (head dim) must be static}}
  %0 = ds.page_score %q, %km, %km, %pt, %sl {page_size = 16 : i64} : (tensor<?x8x?xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @pg_head_dim(%q: tensor<?x8x64xbf16>, %km: tensor<?x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_score' op q dim 2 (64) must equal kmin dim 2 (128)}}
  %0 = ds.page_score %q, %km, %km, %pt, %sl {page_size = 16 : i64} : (tensor<?x8x64xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @pg_heads_dynamic(%q: tensor<?x?x128xbf16>, %km: tensor<?x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_score' op q dim 1 (query heads) must be static}}
  %0 = ds.page_score %q, %km, %km, %pt, %sl {page_size = 16 : i64} : (tensor<?x?x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @pg_kv_heads_dynamic(%q: tensor<?x8x128xbf16>, %km: tensor<?x?x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_score' op kmin dim 1 (kv heads) must be static}}
  %0 = ds.page_score %q, %km, %km, %pt, %sl {page_size = 16 : i64} : (tensor<?x8x128xbf16>, tensor<?x?x128xbf16>, tensor<?x?x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @pg_groups(%q: tensor<?x12x128xbf16>, %km: tensor<?x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_score' op q heads (12) must be a multiple of kmin heads (8)}}
  %0 = ds.page_score %q, %km, %km, %pt, %sl {page_size = 16 : i64} : (tensor<?x12x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x12x?xf32>
  return
}

// -----

func.func @pg_page_table_rank(%q: tensor<?x8x128xbf16>, %km: tensor<?x8x128xbf16>, %pt: tensor<?x?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_score' op page_table must have rank 2, got 3}}
  %0 = ds.page_score %q, %km, %km, %pt, %sl {page_size = 16 : i64} : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @pg_batch(%q: tensor<2x8x128xbf16>, %km: tensor<?x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<3xi32>) {
  // expected-error @+1 {{'ds.page_score' op seq_lens dim 0 (3) must equal q dim 0 (2)}}
  %0 = ds.page_score %q, %km, %km, %pt, %sl {page_size = 16 : i64} : (tensor<2x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<3xi32>) -> tensor<2x8x?xf32>
  return
}

// -----

func.func @pg_result_batch(%q: tensor<2x8x128xbf16>, %km: tensor<?x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_score' op q dim 0 (2) must equal result dim 0 (4)}}
  %0 = ds.page_score %q, %km, %km, %pt, %sl {page_size = 16 : i64} : (tensor<2x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<4x8x?xf32>
  return
}

// -----

func.func @pg_result_pages(%q: tensor<?x8x128xbf16>, %km: tensor<?x8x128xbf16>, %pt: tensor<?x64xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_score' op page_table dim 1 (64) must equal result dim 2 (32)}}
  %0 = ds.page_score %q, %km, %km, %pt, %sl {page_size = 16 : i64} : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x64xi32>, tensor<?xi32>) -> tensor<?x8x32xf32>
  return
}

// -----

func.func @pg_kmin_elem(%q: tensor<?x8x128xbf16>, %km: tensor<?x8x128xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_score' op kmin element type 'f16' must match q ('bf16')}}
  %0 = ds.page_score %q, %km, %km, %pt, %sl {page_size = 16 : i64} : (tensor<?x8x128xbf16>, tensor<?x8x128xf16>, tensor<?x8x128xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @pg_kmax_elem(%q: tensor<?x8x128xbf16>, %kmin: tensor<?x8x128xbf16>, %kmax: tensor<?x8x128xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_score' op kmax element type 'f16' must match q ('bf16')}}
  %0 = ds.page_score %q, %kmin, %kmax, %pt, %sl {page_size = 16 : i64} : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @pg_rows_none(%q: tensor<?x32x128xbf16>, %km: tensor<?x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_score' op result dim 1 must be query heads (32), got 8}}
  %0 = ds.page_score %q, %km, %km, %pt, %sl {page_size = 16 : i64} : (tensor<?x32x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @pg_rows_max(%q: tensor<?x32x128xbf16>, %km: tensor<?x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_score' op result dim 1 must be kv heads (group_reduce) (8), got 32}}
  %0 = ds.page_score %q, %km, %km, %pt, %sl {page_size = 16 : i64, group_reduce = #ds.group_reduce<max>} : (tensor<?x32x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x?xf32>
  return
}

// -----

func.func @pg_missing_page_size(%q: tensor<?x8x128xbf16>, %km: tensor<?x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{requires attribute 'page_size'}}
  %0 = ds.page_score %q, %km, %km, %pt, %sl : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

//===----------------------------------------------------------------------===//
// topk
//===----------------------------------------------------------------------===//

// -----

func.func @tk_scores_rank(%s: tensor<?x?xf32>, %l: tensor<?xi32>) {
  // expected-error @+1 {{'ds.topk' op scores must have rank 3, got 2}}
  %0 = ds.topk %s, %l {k = 4 : i64} : (tensor<?x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return
}

// -----

func.func @tk_lens_rank(%s: tensor<?x8x?xf32>, %l: tensor<?x1xi32>) {
  // expected-error @+1 {{'ds.topk' op lens must have rank 1, got 2}}
  %0 = ds.topk %s, %l {k = 4 : i64} : (tensor<?x8x?xf32>, tensor<?x1xi32>) -> tensor<?x8x4xi32>
  return
}

// -----

func.func @tk_result_rank(%s: tensor<?x8x?xf32>, %l: tensor<?xi32>) {
  // expected-error @+1 {{'ds.topk' op result must have rank 3, got 2}}
  %0 = ds.topk %s, %l {k = 4 : i64} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x4xi32>
  return
}

// -----

func.func @tk_lens_batch(%s: tensor<2x8x?xf32>, %l: tensor<3xi32>) {
  // expected-error @+1 {{'ds.topk' op scores dim 0 (2) must equal lens dim 0 (3)}}
  %0 = ds.topk %s, %l {k = 4 : i64} : (tensor<2x8x?xf32>, tensor<3xi32>) -> tensor<2x8x4xi32>
  return
}

// -----

func.func @tk_result_batch(%s: tensor<2x8x?xf32>, %l: tensor<?xi32>) {
  // expected-error @+1 {{'ds.topk' op scores dim 0 (2) must equal result dim 0 (1)}}
  %0 = ds.topk %s, %l {k = 4 : i64} : (tensor<2x8x?xf32>, tensor<?xi32>) -> tensor<1x8x4xi32>
  return
}

// -----

func.func @tk_result_heads(%s: tensor<?x32x?xf32>, %l: tensor<?xi32>) {
  // expected-error @+1 {{'ds.topk' op scores dim 1 (32) must equal result dim 1 (8)}}
  %0 = ds.topk %s, %l {k = 4 : i64} : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return
}

// -----

func.func @tk_result_k(%s: tensor<?x8x?xf32>, %l: tensor<?xi32>) {
  // expected-error @+1 {{'ds.topk' op result dim 2 must be k (256), got 128}}
  %0 = ds.topk %s, %l {k = 256 : i64} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x128xi32>
  return
}

// -----

func.func @tk_result_k_dynamic(%s: tensor<?x8x?xf32>, %l: tensor<?xi32>) {
  // expected-error @+1 {{'ds.topk' op result dim 2 must be k (256), got ?}}
  %0 = ds.topk %s, %l {k = 256 : i64} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x?xi32>
  return
}

// -----

func.func @tk_k_gt_n(%s: tensor<?x8x100xf32>, %l: tensor<?xi32>) {
  // expected-error @+1 {{'ds.topk' op attribute 'k' (128) must be <= scores dim 2 (100)}}
  %0 = ds.topk %s, %l {k = 128 : i64} : (tensor<?x8x100xf32>, tensor<?xi32>) -> tensor<?x8x128xi32>
  return
}

//===----------------------------------------------------------------------===//
// score_topk (label_score's operand checks, then the result's k)
//===----------------------------------------------------------------------===//

// -----

func.func @st_q_label_rank(%ql: tensor<?x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.score_topk' op q_label must have rank 3, got 2}}
  %0 = ds.score_topk %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, k = 64 : i64} : (tensor<?x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x64xi32>
  return
}

// -----

func.func @st_result_rank(%ql: tensor<?x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.score_topk' op result must have rank 3, got 2}}
  %0 = ds.score_topk %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, k = 64 : i64} : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x64xi32>
  return
}

// -----

func.func @st_label_dim(%ql: tensor<?x32x16xbf16>, %c: tensor<8x?x32xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.score_topk' op label_cache dim 2 must be the label dim (16), got 32}}
  %0 = ds.score_topk %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, k = 64 : i64} : (tensor<?x32x16xbf16>, tensor<8x?x32xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x64xi32>
  return
}

// -----

func.func @st_channels_rank(%q: tensor<?x32x128xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %ch: tensor<16xi32>) {
  // expected-error @+1 {{'ds.score_topk' op channels must have rank 2, got 1}}
  %0 = ds.score_topk %q, %c, %pt, %sl, %ch {page_size = 1 : i64, scale = 0.25 : f32, k = 64 : i64} : (tensor<?x32x128xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<16xi32>) -> tensor<?x32x64xi32>
  return
}

// -----

func.func @st_channels_label_dim(%q: tensor<?x32x128xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %ch: tensor<8x8xi32>) {
  // expected-error @+1 {{'ds.score_topk' op label_cache dim 2 must be the label dim (8), got 16}}
  %0 = ds.score_topk %q, %c, %pt, %sl, %ch {page_size = 1 : i64, scale = 0.25 : f32, k = 64 : i64} : (tensor<?x32x128xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<8x8xi32>) -> tensor<?x32x64xi32>
  return
}

// -----

func.func @st_channels_heads(%q: tensor<?x32x128xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %ch: tensor<4x16xi32>) {
  // expected-error @+1 {{'ds.score_topk' op channels dim 0 (4) must equal label_cache dim 0 (8)}}
  %0 = ds.score_topk %q, %c, %pt, %sl, %ch {page_size = 1 : i64, scale = 0.25 : f32, k = 64 : i64} : (tensor<?x32x128xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<4x16xi32>) -> tensor<?x32x64xi32>
  return
}

// -----

func.func @st_channels_head_dim(%q: tensor<?x32x8xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %ch: tensor<8x16xi32>) {
  // expected-error @+1 {{'ds.score_topk' op label dim (channels dim 1) must be <= head dim (q dim 2)}}
  %0 = ds.score_topk %q, %c, %pt, %sl, %ch {page_size = 1 : i64, scale = 0.25 : f32, k = 64 : i64} : (tensor<?x32x8xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<8x16xi32>) -> tensor<?x32x64xi32>
  return
}

// -----

func.func @st_groups(%ql: tensor<?x32x16xbf16>, %c: tensor<6x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.score_topk' op q_label heads (32) must be a multiple of label_cache heads (6)}}
  %0 = ds.score_topk %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, k = 64 : i64} : (tensor<?x32x16xbf16>, tensor<6x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x64xi32>
  return
}

// -----

func.func @st_seq_lens_batch(%ql: tensor<2x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<4xi32>) {
  // expected-error @+1 {{'ds.score_topk' op seq_lens dim 0 (4) must equal q_label dim 0 (2)}}
  %0 = ds.score_topk %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, k = 64 : i64} : (tensor<2x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<4xi32>) -> tensor<2x32x64xi32>
  return
}

// -----

func.func @st_result_batch(%ql: tensor<2x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.score_topk' op q_label dim 0 (2) must equal result dim 0 (3)}}
  %0 = ds.score_topk %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, k = 64 : i64} : (tensor<2x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<3x32x64xi32>
  return
}

// -----

func.func @st_element_type(%ql: tensor<?x32x16xbf16>, %c: tensor<8x?x16xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.score_topk' op label_cache element type 'f16' must match q_label ('bf16')}}
  %0 = ds.score_topk %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, k = 64 : i64} : (tensor<?x32x16xbf16>, tensor<8x?x16xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x64xi32>
  return
}

// -----

func.func @st_rows_per_head(%ql: tensor<?x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.score_topk' op result dim 1 must be query heads (32), got 8}}
  %0 = ds.score_topk %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, k = 64 : i64} : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return
}

// -----

func.func @st_rows_shared(%ql: tensor<?x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.score_topk' op result dim 1 must be kv heads (group_reduce) (8), got 32}}
  %0 = ds.score_topk %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, k = 64 : i64, group_reduce = #ds.group_reduce<max>} : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x64xi32>
  return
}

// -----

func.func @st_result_k(%ql: tensor<?x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.score_topk' op result dim 2 must be k (64), got 128}}
  %0 = ds.score_topk %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, k = 64 : i64} : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xi32>
  return
}

// -----

func.func @st_result_k_dynamic(%ql: tensor<?x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.score_topk' op result dim 2 must be k (64), got ?}}
  %0 = ds.score_topk %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, k = 64 : i64} : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x?xi32>
  return
}

// -----

func.func @st_scale_negative(%ql: tensor<?x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.score_topk' op attribute 'scale' must be a positive finite number, got -2.500000e-01}}
  %0 = ds.score_topk %ql, %c, %pt, %sl {page_size = 1 : i64, scale = -0.25 : f32, k = 64 : i64} : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x64xi32>
  return
}

// -----

func.func @st_missing_k(%ql: tensor<?x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{requires attribute 'k'}}
  %0 = ds.score_topk %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32} : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x64xi32>
  return
}

// -----

func.func @st_k_zero(%ql: tensor<?x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{attribute 'k' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %0 = ds.score_topk %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, k = 0 : i64} : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x0xi32>
  return
}

// -----

func.func @st_page_size_zero(%ql: tensor<?x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{attribute 'page_size' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %0 = ds.score_topk %ql, %c, %pt, %sl {page_size = 0 : i64, scale = 0.25 : f32, k = 64 : i64} : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x64xi32>
  return
}

//===----------------------------------------------------------------------===//
// topp
//===----------------------------------------------------------------------===//

// -----

func.func @tp_logits_rank(%lg: tensor<?x256xf32>, %i: tensor<?x8x256xi32>) {
  // expected-error @+1 {{'ds.topp' op logits must have rank 3, got 2}}
  %0:2 = ds.topp %lg, %i {top_p = 0.9 : f32} : (tensor<?x256xf32>, tensor<?x8x256xi32>) -> (tensor<?x8x256xi32>, tensor<?x8xi32>)
  return
}

// -----

func.func @tp_indices_rank(%lg: tensor<?x8x256xf32>, %i: tensor<?x256xi32>) {
  // expected-error @+1 {{'ds.topp' op indices must have rank 3, got 2}}
  %0:2 = ds.topp %lg, %i {top_p = 0.9 : f32} : (tensor<?x8x256xf32>, tensor<?x256xi32>) -> (tensor<?x8x256xi32>, tensor<?x8xi32>)
  return
}

// -----

func.func @tp_result0_rank(%lg: tensor<?x8x256xf32>, %i: tensor<?x8x256xi32>) {
  // expected-error @+1 {{'ds.topp' op result 0 must have rank 3, got 2}}
  %0:2 = ds.topp %lg, %i {top_p = 0.9 : f32} : (tensor<?x8x256xf32>, tensor<?x8x256xi32>) -> (tensor<?x256xi32>, tensor<?x8xi32>)
  return
}

// -----

func.func @tp_result1_rank(%lg: tensor<?x8x256xf32>, %i: tensor<?x8x256xi32>) {
  // expected-error @+1 {{'ds.topp' op result 1 must have rank 2, got 3}}
  %0:2 = ds.topp %lg, %i {top_p = 0.9 : f32} : (tensor<?x8x256xf32>, tensor<?x8x256xi32>) -> (tensor<?x8x256xi32>, tensor<?x8x1xi32>)
  return
}

// -----

func.func @tp_indices_dim(%lg: tensor<?x8x256xf32>, %i: tensor<?x8x128xi32>) {
  // expected-error @+1 {{'ds.topp' op logits dim 2 (256) must equal indices dim 2 (128)}}
  %0:2 = ds.topp %lg, %i {top_p = 0.9 : f32} : (tensor<?x8x256xf32>, tensor<?x8x128xi32>) -> (tensor<?x8x256xi32>, tensor<?x8xi32>)
  return
}

// -----

func.func @tp_kept_dim(%lg: tensor<?x8x256xf32>, %i: tensor<?x8x256xi32>) {
  // expected-error @+1 {{'ds.topp' op logits dim 1 (8) must equal result 0 dim 1 (4)}}
  %0:2 = ds.topp %lg, %i {top_p = 0.9 : f32} : (tensor<?x8x256xf32>, tensor<?x8x256xi32>) -> (tensor<?x4x256xi32>, tensor<?x8xi32>)
  return
}

// -----

func.func @tp_counts_batch(%lg: tensor<2x8x256xf32>, %i: tensor<2x8x256xi32>) {
  // expected-error @+1 {{'ds.topp' op logits dim 0 (2) must equal result 1 dim 0 (3)}}
  %0:2 = ds.topp %lg, %i {top_p = 0.9 : f32} : (tensor<2x8x256xf32>, tensor<2x8x256xi32>) -> (tensor<2x8x256xi32>, tensor<3x8xi32>)
  return
}

// -----

func.func @tp_counts_heads(%lg: tensor<?x8x256xf32>, %i: tensor<?x8x256xi32>) {
  // expected-error @+1 {{'ds.topp' op logits dim 1 (8) must equal result 1 dim 1 (16)}}
  %0:2 = ds.topp %lg, %i {top_p = 0.9 : f32} : (tensor<?x8x256xf32>, tensor<?x8x256xi32>) -> (tensor<?x8x256xi32>, tensor<?x16xi32>)
  return
}

// -----

func.func @tp_top_p_zero(%lg: tensor<?x8x256xf32>, %i: tensor<?x8x256xi32>) {
  // expected-error @+1 {{'ds.topp' op attribute 'top_p' must be in (0, 1], got 0.000000}}
  %0:2 = ds.topp %lg, %i {top_p = 0.0 : f32} : (tensor<?x8x256xf32>, tensor<?x8x256xi32>) -> (tensor<?x8x256xi32>, tensor<?x8xi32>)
  return
}

// -----

func.func @tp_top_p_big(%lg: tensor<?x8x256xf32>, %i: tensor<?x8x256xi32>) {
  // expected-error @+1 {{'ds.topp' op attribute 'top_p' must be in (0, 1], got 1.500000}}
  %0:2 = ds.topp %lg, %i {top_p = 1.5 : f32} : (tensor<?x8x256xf32>, tensor<?x8x256xi32>) -> (tensor<?x8x256xi32>, tensor<?x8xi32>)
  return
}

// -----

func.func @tp_missing_top_p(%lg: tensor<?x8x256xf32>, %i: tensor<?x8x256xi32>) {
  // expected-error @+1 {{requires attribute 'top_p'}}
  %0:2 = ds.topp %lg, %i : (tensor<?x8x256xf32>, tensor<?x8x256xi32>) -> (tensor<?x8x256xi32>, tensor<?x8xi32>)
  return
}

//===----------------------------------------------------------------------===//
// sample_residual
//===----------------------------------------------------------------------===//

// -----

func.func @sr_fixed_rank(%f: tensor<?x256xi32>, %sl: tensor<?xi32>, %p: tensor<2xi64>) {
  // expected-error @+1 {{'ds.sample_residual' op fixed must have rank 3, got 2}}
  %0:2 = ds.sample_residual %f, %sl, %p {num_samples = 64 : i64} : (tensor<?x256xi32>, tensor<?xi32>, tensor<2xi64>) -> (tensor<?x8x320xi32>, tensor<?x8x320xf32>)
  return
}

// -----

func.func @sr_seq_lens_rank(%f: tensor<?x8x256xi32>, %sl: tensor<?x1xi32>, %p: tensor<2xi64>) {
  // expected-error @+1 {{'ds.sample_residual' op seq_lens must have rank 1, got 2}}
  %0:2 = ds.sample_residual %f, %sl, %p {num_samples = 64 : i64} : (tensor<?x8x256xi32>, tensor<?x1xi32>, tensor<2xi64>) -> (tensor<?x8x320xi32>, tensor<?x8x320xf32>)
  return
}

// -----

func.func @sr_philox_rank(%f: tensor<?x8x256xi32>, %sl: tensor<?xi32>, %p: tensor<1x2xi64>) {
  // expected-error @+1 {{'ds.sample_residual' op philox must have rank 1, got 2}}
  %0:2 = ds.sample_residual %f, %sl, %p {num_samples = 64 : i64} : (tensor<?x8x256xi32>, tensor<?xi32>, tensor<1x2xi64>) -> (tensor<?x8x320xi32>, tensor<?x8x320xf32>)
  return
}

// -----

func.func @sr_result0_rank(%f: tensor<?x8x256xi32>, %sl: tensor<?xi32>, %p: tensor<2xi64>) {
  // expected-error @+1 {{'ds.sample_residual' op result 0 must have rank 3, got 2}}
  %0:2 = ds.sample_residual %f, %sl, %p {num_samples = 64 : i64} : (tensor<?x8x256xi32>, tensor<?xi32>, tensor<2xi64>) -> (tensor<?x64xi32>, tensor<?x8x64xf32>)
  return
}

// -----

func.func @sr_result1_rank(%f: tensor<?x8x256xi32>, %sl: tensor<?xi32>, %p: tensor<2xi64>) {
  // expected-error @+1 {{'ds.sample_residual' op result 1 must have rank 3, got 2}}
  %0:2 = ds.sample_residual %f, %sl, %p {num_samples = 64 : i64} : (tensor<?x8x256xi32>, tensor<?xi32>, tensor<2xi64>) -> (tensor<?x8x64xi32>, tensor<?x64xf32>)
  return
}

// -----

func.func @sr_philox_dim(%f: tensor<?x8x256xi32>, %sl: tensor<?xi32>, %p: tensor<3xi64>) {
  // expected-error @+1 {{'ds.sample_residual' op philox dim 0 must be [seed, offset] (2), got 3}}
  %0:2 = ds.sample_residual %f, %sl, %p {num_samples = 64 : i64} : (tensor<?x8x256xi32>, tensor<?xi32>, tensor<3xi64>) -> (tensor<?x8x320xi32>, tensor<?x8x320xf32>)
  return
}

// -----

func.func @sr_philox_dynamic(%f: tensor<?x8x256xi32>, %sl: tensor<?xi32>, %p: tensor<?xi64>) {
  // expected-error @+1 {{'ds.sample_residual' op philox dim 0 must be [seed, offset] (2), got ?}}
  %0:2 = ds.sample_residual %f, %sl, %p {num_samples = 64 : i64} : (tensor<?x8x256xi32>, tensor<?xi32>, tensor<?xi64>) -> (tensor<?x8x320xi32>, tensor<?x8x320xf32>)
  return
}

// -----

func.func @sr_batch(%f: tensor<2x8x256xi32>, %sl: tensor<3xi32>, %p: tensor<2xi64>) {
  // expected-error @+1 {{'ds.sample_residual' op fixed dim 0 (2) must equal seq_lens dim 0 (3)}}
  %0:2 = ds.sample_residual %f, %sl, %p {num_samples = 64 : i64} : (tensor<2x8x256xi32>, tensor<3xi32>, tensor<2xi64>) -> (tensor<2x8x320xi32>, tensor<2x8x320xf32>)
  return
}

// -----

func.func @sr_result_heads(%f: tensor<?x8x256xi32>, %sl: tensor<?xi32>, %p: tensor<2xi64>) {
  // expected-error @+1 {{'ds.sample_residual' op fixed dim 1 (8) must equal result 0 dim 1 (32)}}
  %0:2 = ds.sample_residual %f, %sl, %p {num_samples = 64 : i64} : (tensor<?x8x256xi32>, tensor<?xi32>, tensor<2xi64>) -> (tensor<?x32x320xi32>, tensor<?x32x320xf32>)
  return
}

// -----

func.func @sr_results_agree(%f: tensor<?x8x256xi32>, %sl: tensor<?xi32>, %p: tensor<2xi64>) {
  // expected-error @+1 {{'ds.sample_residual' op result 0 dim 2 (320) must equal result 1 dim 2 (32)}}
  %0:2 = ds.sample_residual %f, %sl, %p {num_samples = 64 : i64} : (tensor<?x8x256xi32>, tensor<?xi32>, tensor<2xi64>) -> (tensor<?x8x320xi32>, tensor<?x8x32xf32>)
  return
}

// -----

func.func @sr_num_samples(%f: tensor<?x8x256xi32>, %sl: tensor<?xi32>, %p: tensor<2xi64>) {
  // expected-error @+1 {{'ds.sample_residual' op result 0 dim 2 must be sinks + window + fixed dim 2 + num_samples (320), got 32}}
  %0:2 = ds.sample_residual %f, %sl, %p {num_samples = 64 : i64} : (tensor<?x8x256xi32>, tensor<?xi32>, tensor<2xi64>) -> (tensor<?x8x32xi32>, tensor<?x8x32xf32>)
  return
}

//===----------------------------------------------------------------------===//
// sparse_decode
//===----------------------------------------------------------------------===//

// -----

func.func @sd_q_rank(%q: tensor<?x4096xbf16>, %k: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op q must have rank 3, got 2}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<?x4096xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x128xbf16>
  return
}

// -----

func.func @sd_k_rank(%q: tensor<?x32x128xbf16>, %k: tensor<?x8x128xbf16>, %v: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op k_cache must have rank 4, got 3}}
  %0 = ds.sparse_decode %q, %k, %v, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<?x32x128xbf16>, tensor<?x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x128xbf16>
  return
}

// -----

func.func @sd_v_rank(%q: tensor<?x32x128xbf16>, %k: tensor<?x1x8x128xbf16>, %v: tensor<?x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op v_cache must have rank 4, got 3}}
  %0 = ds.sparse_decode %q, %k, %v, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<?x32x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x128xbf16>
  return
}

// -----

func.func @sd_head_dim_dynamic(%q: tensor<?x32x?xbf16>, %k: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op q dim 2 (head dim) must be static}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<?x32x?xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x?xbf16>
  return
}

// -----

func.func @sd_page_size_dynamic(%q: tensor<?x32x128xbf16>, %k: tensor<?x?x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op k_cache dim 1 (page size) must be static}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<?x32x128xbf16>, tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x128xbf16>
  return
}

// -----

func.func @sd_kv_pages(%q: tensor<?x32x128xbf16>, %k: tensor<64x16x8x128xbf16>, %v: tensor<32x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op k_cache dim 0 (64) must equal v_cache dim 0 (32)}}
  %0 = ds.sparse_decode %q, %k, %v, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<?x32x128xbf16>, tensor<64x16x8x128xbf16>, tensor<32x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x128xbf16>
  return
}

// -----

func.func @sd_kv_head_dim(%q: tensor<?x32x128xbf16>, %k: tensor<?x16x8x128xbf16>, %v: tensor<?x16x8x64xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op k_cache dim 3 (128) must equal v_cache dim 3 (64)}}
  %0 = ds.sparse_decode %q, %k, %v, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x64xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x128xbf16>
  return
}

// -----

func.func @sd_q_head_dim(%q: tensor<?x32x64xbf16>, %k: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op q dim 2 (64) must equal k_cache dim 3 (128)}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<?x32x64xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x64xbf16>
  return
}

// -----

func.func @sd_heads_dynamic(%q: tensor<?x?x128xbf16>, %k: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op q dim 1 (query heads) must be static}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<?x?x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x?x128xbf16>
  return
}

// -----

func.func @sd_kv_heads_dynamic(%q: tensor<?x32x128xbf16>, %k: tensor<?x1x?x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op k_cache dim 2 (kv heads) must be static}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<?x32x128xbf16>, tensor<?x1x?x128xbf16>, tensor<?x1x?x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x128xbf16>
  return
}

// -----

func.func @sd_groups(%q: tensor<?x32x128xbf16>, %k: tensor<?x1x3x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op q heads (32) must be a multiple of k_cache heads (3)}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<?x32x128xbf16>, tensor<?x1x3x128xbf16>, tensor<?x1x3x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x128xbf16>
  return
}

// -----

func.func @sd_k_elem(%q: tensor<?x32x128xbf16>, %k: tensor<?x1x8x128xf16>, %v: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op k_cache element type 'f16' must match q ('bf16')}}
  %0 = ds.sparse_decode %q, %k, %v, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<?x32x128xbf16>, tensor<?x1x8x128xf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x128xbf16>
  return
}

// -----

func.func @sd_v_elem(%q: tensor<?x32x128xf16>, %k: tensor<?x1x8x128xf16>, %v: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op v_cache element type 'bf16' must match q ('f16')}}
  %0 = ds.sparse_decode %q, %k, %v, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<?x32x128xf16>, tensor<?x1x8x128xf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x128xf16>
  return
}

// -----

func.func @sd_page_table_rank(%q: tensor<?x32x128xbf16>, %k: tensor<?x1x8x128xbf16>, %pt: tensor<?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op page_table must have rank 2, got 1}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<?x32x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x128xbf16>
  return
}

// -----

func.func @sd_seq_lens_q(%q: tensor<2x32x128xbf16>, %k: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<4xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op seq_lens dim 0 (4) must equal q dim 0 (2)}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<2x32x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<4xi32>, tensor<?x32x64xi32>) -> tensor<2x32x128xbf16>
  return
}

// -----

func.func @sd_indices_rank(%q: tensor<?x32x128xbf16>, %k: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op indices must have rank 3, got 2}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<?x32x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x64xi32>) -> tensor<?x32x128xbf16>
  return
}

// -----

func.func @sd_result_rank(%q: tensor<?x32x128xbf16>, %k: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op result must have rank 3, got 2}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<?x32x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x4096xbf16>
  return
}

// -----

func.func @sd_indices_batch(%q: tensor<2x32x128xbf16>, %k: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<3x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op q dim 0 (2) must equal indices dim 0 (3)}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<2x32x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<3x32x64xi32>) -> tensor<2x32x128xbf16>
  return
}

// -----

func.func @sd_result_dims(%q: tensor<?x32x128xbf16>, %k: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op q dim 1 (32) must equal result dim 1 (8)}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<?x32x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x8x128xbf16>
  return
}

// -----

func.func @sd_result_elem(%q: tensor<?x32x128xbf16>, %k: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op result element type 'f16' must match q ('bf16')}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<?x32x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x128xf16>
  return
}

// -----

func.func @sd_indices_heads(%q: tensor<?x32x128xbf16>, %k: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x16x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op indices dim 1 must be the query heads (32) or the kv heads (8), got 16}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<?x32x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x16x64xi32>) -> tensor<?x32x128xbf16>
  return
}

// -----

func.func @sd_indices_heads_dynamic(%q: tensor<?x32x128xbf16>, %k: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x?x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op indices dim 1 must be the query heads (32) or the kv heads (8), got ?}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i {scale = 0.125 : f32} : (tensor<?x32x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x?x64xi32>) -> tensor<?x32x128xbf16>
  return
}

// -----

func.func @sd_log_weights_rank(%q: tensor<?x32x128xbf16>, %k: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>, %w: tensor<?x64xf32>) {
  // expected-error @+1 {{'ds.sparse_decode' op log_weights must have rank 3, got 2}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i, %w {scale = 0.125 : f32} : (tensor<?x32x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>, tensor<?x64xf32>) -> tensor<?x32x128xbf16>
  return
}

// -----

func.func @sd_log_weights_dims(%q: tensor<?x32x128xbf16>, %k: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>, %w: tensor<?x32x32xf32>) {
  // expected-error @+1 {{'ds.sparse_decode' op indices dim 2 (64) must equal log_weights dim 2 (32)}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i, %w {scale = 0.125 : f32} : (tensor<?x32x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>, tensor<?x32x32xf32>) -> tensor<?x32x128xbf16>
  return
}

// -----

func.func @sd_log_weights_bf16(%q: tensor<?x32x128xbf16>, %k: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>, %w: tensor<?x32x64xbf16>) {
  // expected-error @+1 {{operand #6 must be ranked tensor of 32-bit float values, but got 'tensor<?x32x64xbf16>'}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i, %w {scale = 0.125 : f32} : (tensor<?x32x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>, tensor<?x32x64xbf16>) -> tensor<?x32x128xbf16>
  return
}

// -----

func.func @sd_scale_negative(%q: tensor<?x32x128xbf16>, %k: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op attribute 'scale' must be a positive finite number, got -1.250000e-01}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i {scale = -0.125 : f32} : (tensor<?x32x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x128xbf16>
  return
}

// -----

func.func @sd_soft_cap_negative(%q: tensor<?x32x128xbf16>, %k: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op attribute 'soft_cap' must be >= 0 (0 disables it), got -3.000000e+01}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i {scale = 0.125 : f32, soft_cap = -30.0 : f32} : (tensor<?x32x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x128xbf16>
  return
}

// -----

func.func @sd_soft_cap_inf(%q: tensor<?x32x128xbf16>, %k: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op attribute 'soft_cap' must be >= 0 (0 disables it), got INF}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i {scale = 0.125 : f32, soft_cap = 0x7F800000 : f32} : (tensor<?x32x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x128xbf16>
  return
}

// -----

func.func @sd_missing_scale(%q: tensor<?x32x128xbf16>, %k: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x64xi32>) {
  // expected-error @+1 {{requires attribute 'scale'}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i : (tensor<?x32x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x128xbf16>
  return
}

//===----------------------------------------------------------------------===//
// dense_decode
//===----------------------------------------------------------------------===//

// -----

func.func @dd_q_rank(%q: tensor<?x4096xf16>, %k: tensor<?x16x8x128xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.dense_decode' op q must have rank 3, got 2}}
  %0 = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.125 : f32} : (tensor<?x4096xf16>, tensor<?x16x8x128xf16>, tensor<?x16x8x128xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xf16>
  return
}

// -----

func.func @dd_k_rank(%q: tensor<?x32x128xf16>, %k: tensor<?x8x128xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.dense_decode' op k_cache must have rank 4, got 3}}
  %0 = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.125 : f32} : (tensor<?x32x128xf16>, tensor<?x8x128xf16>, tensor<?x8x128xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xf16>
  return
}

// -----

func.func @dd_page_size_dynamic(%q: tensor<?x32x128xf16>, %k: tensor<?x?x8x128xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.dense_decode' op k_cache dim 1 (page size) must be static}}
  %0 = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.125 : f32} : (tensor<?x32x128xf16>, tensor<?x?x8x128xf16>, tensor<?x?x8x128xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xf16>
  return
}

// -----

func.func @dd_kv_page_size(%q: tensor<?x32x128xf16>, %k: tensor<?x16x8x128xf16>, %v: tensor<?x32x8x128xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.dense_decode' op k_cache dim 1 (16) must equal v_cache dim 1 (32)}}
  %0 = ds.dense_decode %q, %k, %v, %pt, %sl {scale = 0.125 : f32} : (tensor<?x32x128xf16>, tensor<?x16x8x128xf16>, tensor<?x32x8x128xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xf16>
  return
}

// -----

func.func @dd_groups(%q: tensor<?x8x128xf16>, %k: tensor<?x16x16x128xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.dense_decode' op q heads (8) must be a multiple of k_cache heads (16)}}
  %0 = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.125 : f32} : (tensor<?x8x128xf16>, tensor<?x16x16x128xf16>, tensor<?x16x16x128xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x128xf16>
  return
}

// -----

func.func @dd_seq_lens_rank(%q: tensor<?x32x128xf16>, %k: tensor<?x16x8x128xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?x?xi32>) {
  // expected-error @+1 {{'ds.dense_decode' op seq_lens must have rank 1, got 2}}
  %0 = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.125 : f32} : (tensor<?x32x128xf16>, tensor<?x16x8x128xf16>, tensor<?x16x8x128xf16>, tensor<?x?xi32>, tensor<?x?xi32>) -> tensor<?x32x128xf16>
  return
}

// -----

func.func @dd_page_table_batch(%q: tensor<?x32x128xf16>, %k: tensor<?x16x8x128xf16>, %pt: tensor<5x?xi32>, %sl: tensor<4xi32>) {
  // expected-error @+1 {{'ds.dense_decode' op seq_lens dim 0 (4) must equal page_table dim 0 (5)}}
  %0 = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.125 : f32} : (tensor<?x32x128xf16>, tensor<?x16x8x128xf16>, tensor<?x16x8x128xf16>, tensor<5x?xi32>, tensor<4xi32>) -> tensor<?x32x128xf16>
  return
}

// -----

func.func @dd_result_rank(%q: tensor<?x32x128xf16>, %k: tensor<?x16x8x128xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.dense_decode' op result must have rank 3, got 4}}
  %0 = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.125 : f32} : (tensor<?x32x128xf16>, tensor<?x16x8x128xf16>, tensor<?x16x8x128xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x1x32x128xf16>
  return
}

// -----

func.func @dd_result_dims(%q: tensor<?x32x128xf16>, %k: tensor<?x16x8x128xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.dense_decode' op q dim 2 (128) must equal result dim 2 (64)}}
  %0 = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.125 : f32} : (tensor<?x32x128xf16>, tensor<?x16x8x128xf16>, tensor<?x16x8x128xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x64xf16>
  return
}

// -----

func.func @dd_result_elem(%q: tensor<?x32x128xf16>, %k: tensor<?x16x8x128xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.dense_decode' op result element type 'bf16' must match q ('f16')}}
  %0 = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.125 : f32} : (tensor<?x32x128xf16>, tensor<?x16x8x128xf16>, tensor<?x16x8x128xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xbf16>
  return
}

// -----

func.func @dd_scale_zero(%q: tensor<?x32x128xf16>, %k: tensor<?x16x8x128xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.dense_decode' op attribute 'scale' must be a positive finite number, got 0.000000e+00}}
  %0 = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.0 : f32} : (tensor<?x32x128xf16>, tensor<?x16x8x128xf16>, tensor<?x16x8x128xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xf16>
  return
}

// -----

func.func @dd_soft_cap_nan(%q: tensor<?x32x128xf16>, %k: tensor<?x16x8x128xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.dense_decode' op attribute 'soft_cap' must be >= 0 (0 disables it), got nan}}
  %0 = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.125 : f32, soft_cap = 0x7FC00000 : f32} : (tensor<?x32x128xf16>, tensor<?x16x8x128xf16>, tensor<?x16x8x128xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xf16>
  return
}

// -----

func.func @dd_missing_scale(%q: tensor<?x32x128xf16>, %k: tensor<?x16x8x128xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{requires attribute 'scale'}}
  %0 = ds.dense_decode %q, %k, %k, %pt, %sl {soft_cap = 30.0 : f32} : (tensor<?x32x128xf16>, tensor<?x16x8x128xf16>, tensor<?x16x8x128xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xf16>
  return
}

//===----------------------------------------------------------------------===//
// linear_attn_prefill / linear_attn_decode
//===----------------------------------------------------------------------===//

// -----

func.func @lp_q_rank(%q: tensor<?x512xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op q must have rank 3, got 2}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x512xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_k_rank(%q: tensor<?x8x64xbf16>, %k: tensor<?x1x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op k must have rank 3, got 4}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_v_rank(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x768xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op v must have rank 3, got 2}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x768xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_slopes_rank(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<1x8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op slopes must have rank 1, got 2}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<1x8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_states_rank(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x6144xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op states must have rank 4, got 3}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x6144xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_result0_rank(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op result 0 must have rank 3, got 2}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x768xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_q_k_tokens(%q: tensor<10x8x64xbf16>, %k: tensor<12x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op q dim 0 (10) must equal k dim 0 (12)}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<10x8x64xbf16>, tensor<12x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_q_k_dim(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x32xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op q dim 2 (64) must equal k dim 2 (32)}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x32xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_q_v_tokens(%q: tensor<10x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<11x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op q dim 0 (10) must equal v dim 0 (11)}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<10x8x64xbf16>, tensor<?x8x64xbf16>, tensor<11x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_q_v_heads(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x4x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op q dim 1 (8) must equal v dim 1 (4)}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x4x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_heads_dynamic(%q: tensor<?x?x64xbf16>, %k: tensor<?x?x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op q dim 1 (heads) must be static}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x?x64xbf16>, tensor<?x?x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_key_dim_dynamic(%q: tensor<?x8x?xbf16>, %k: tensor<?x8x?xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op q dim 2 (key dim) must be static}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x?xbf16>, tensor<?x8x?xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_value_dim_dynamic(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x?xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op v dim 2 (value dim) must be static}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x?xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_slopes_dim(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<16xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op q dim 1 (8) must equal slopes dim 0 (16)}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<16xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_states_heads(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x4x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op q dim 1 (8) must equal states dim 1 (4)}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x4x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_states_key_dim(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x96x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op q dim 2 (64) must equal states dim 2 (96)}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x96x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_states_value_dim(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x64xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op v dim 2 (96) must equal states dim 3 (64)}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x64xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_result0_dims(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op v dim 2 (96) must equal result 0 dim 2 (64)}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_k_elem(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op k element type 'f16' must match q ('bf16')}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_v_elem(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op v element type 'f16' must match q ('bf16')}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_result0_elem(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op result 0 element type 'f16' must match q ('bf16')}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_cu_rank(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?x1xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op cu_seqlens must have rank 1, got 2}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?x1xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_state_indices_rank(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<i32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op state_indices must have rank 1, got 0}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<i32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_has_initial_rank(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?x1xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op has_initial_state must have rank 1, got 2}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?x1xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_result1_rank(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op result 1 must have rank 4, got 3}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x6144xf32>)
  return
}

// -----

func.func @lp_result1_dims(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<16x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op states dim 0 (16) must equal result 1 dim 0 (8)}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<16x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<8x8x64x96xf32>)
  return
}

// -----

func.func @lp_batch(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<3xi32>, %hi: tensor<4xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op state_indices dim 0 (3) must equal has_initial_state dim 0 (4)}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<3xi32>, tensor<4xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_cu_seqlens(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<3xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<3xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op cu_seqlens dim 0 (3) must be state_indices dim 0 + 1 (4)}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<3xi32>, tensor<?x8x64x96xf32>, tensor<3xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_intermediate_without_flag(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op result 'intermediate' is present exactly when 'keep_intermediate' is set}}
  %0:3 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_flag_without_intermediate(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op result 'intermediate' is present exactly when 'keep_intermediate' is set}}
  %0:2 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi {keep_intermediate} : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @lp_intermediate_rank(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op intermediate must have rank 4, got 3}}
  %0:3 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi {keep_intermediate} : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>, tensor<?x8x6144xf32>)
  return
}

// -----

func.func @lp_intermediate_tokens(%q: tensor<10x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op intermediate dim 0 (9) must equal q dim 0 (10)}}
  %0:3 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi {keep_intermediate} : (tensor<10x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>, tensor<9x8x64x96xf32>)
  return
}

// -----

func.func @lp_intermediate_state(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op intermediate dim 3 (64) must equal states dim 3 (96)}}
  %0:3 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi {keep_intermediate} : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>, tensor<?x8x64x64xf32>)
  return
}

// -----

func.func @lp_intermediate_bf16(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{result #2 must be ranked tensor of 32-bit float values, but got 'tensor<?x8x64x96xbf16>'}}
  %0:3 = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %st, %si, %hi {keep_intermediate} : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>, tensor<?x8x64x96xbf16>)
  return
}

// -----

func.func @ld_q_rank(%q: tensor<?x1x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_decode' op q must have rank 3, got 4}}
  %0:2 = ds.linear_attn_decode %q, %k, %v, %slopes, %st, %si : (tensor<?x1x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?x8x64x96xf32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @ld_slopes_rank(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<f32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_decode' op slopes must have rank 1, got 0}}
  %0:2 = ds.linear_attn_decode %q, %k, %v, %slopes, %st, %si : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<f32>, tensor<?x8x64x96xf32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @ld_states_rank(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %st: tensor<8x64x96xf32>, %si: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_decode' op states must have rank 4, got 3}}
  %0:2 = ds.linear_attn_decode %q, %k, %v, %slopes, %st, %si : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<8x64x96xf32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @ld_q_k_heads(%q: tensor<?x8x64xbf16>, %k: tensor<?x4x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_decode' op q dim 1 (8) must equal k dim 1 (4)}}
  %0:2 = ds.linear_attn_decode %q, %k, %v, %slopes, %st, %si : (tensor<?x8x64xbf16>, tensor<?x4x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?x8x64x96xf32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @ld_value_dim_dynamic(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x?xbf16>, %slopes: tensor<8xf32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_decode' op v dim 2 (value dim) must be static}}
  %0:2 = ds.linear_attn_decode %q, %k, %v, %slopes, %st, %si : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x?xbf16>, tensor<8xf32>, tensor<?x8x64x96xf32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @ld_slopes_dim(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<4xf32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_decode' op q dim 1 (8) must equal slopes dim 0 (4)}}
  %0:2 = ds.linear_attn_decode %q, %k, %v, %slopes, %st, %si : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<4xf32>, tensor<?x8x64x96xf32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @ld_states_key_dim(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %st: tensor<?x8x32x96xf32>, %si: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_decode' op q dim 2 (64) must equal states dim 2 (32)}}
  %0:2 = ds.linear_attn_decode %q, %k, %v, %slopes, %st, %si : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?x8x32x96xf32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @ld_v_elem(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xf16>, %slopes: tensor<8xf32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_decode' op v element type 'f16' must match q ('bf16')}}
  %0:2 = ds.linear_attn_decode %q, %k, %v, %slopes, %st, %si : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xf16>, tensor<8xf32>, tensor<?x8x64x96xf32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @ld_state_indices_rank(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?x1xi32>) {
  // expected-error @+1 {{'ds.linear_attn_decode' op state_indices must have rank 1, got 2}}
  %0:2 = ds.linear_attn_decode %q, %k, %v, %slopes, %st, %si : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?x8x64x96xf32>, tensor<?x1xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @ld_result1_rank(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_decode' op result 1 must have rank 4, got 3}}
  %0:2 = ds.linear_attn_decode %q, %k, %v, %slopes, %st, %si : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?x8x64x96xf32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x6144xf32>)
  return
}

// -----

func.func @ld_batch(%q: tensor<4x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %st: tensor<?x8x64x96xf32>, %si: tensor<3xi32>) {
  // expected-error @+1 {{'ds.linear_attn_decode' op q dim 0 (4) must equal state_indices dim 0 (3)}}
  %0:2 = ds.linear_attn_decode %q, %k, %v, %slopes, %st, %si : (tensor<4x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?x8x64x96xf32>, tensor<3xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @ld_result1_dims(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_decode' op states dim 1 (8) must equal result 1 dim 1 (4)}}
  %0:2 = ds.linear_attn_decode %q, %k, %v, %slopes, %st, %si : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?x8x64x96xf32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x4x64x96xf32>)
  return
}

// -----

func.func @ld_result0_dims(%q: tensor<4x8x64xbf16>, %k: tensor<4x8x64xbf16>, %v: tensor<4x8x96xbf16>, %slopes: tensor<8xf32>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_decode' op v dim 0 (4) must equal result 0 dim 0 (2)}}
  %0:2 = ds.linear_attn_decode %q, %k, %v, %slopes, %st, %si : (tensor<4x8x64xbf16>, tensor<4x8x64xbf16>, tensor<4x8x96xbf16>, tensor<8xf32>, tensor<?x8x64x96xf32>, tensor<?xi32>) -> (tensor<2x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @ld_slopes_f16(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf16>, %st: tensor<?x8x64x96xf32>, %si: tensor<?xi32>) {
  // expected-error @+1 {{operand #3 must be ranked tensor of 32-bit float values, but got 'tensor<8xf16>'}}
  %0:2 = ds.linear_attn_decode %q, %k, %v, %slopes, %st, %si : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf16>, tensor<?x8x64x96xf32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return
}

// -----

func.func @page_summary_result_type(%kmin: tensor<?x8x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary' op result 0 element type 'f16' must match kmin ('bf16')}}
  %0:2 = ds.page_summary %kmin, %kmin, %k, %pt, %sl : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> (tensor<?x8x128xf16>, tensor<?x8x128xbf16>)
  return
}

// -----

func.func @page_summary_append_result_type(%kmin: tensor<?x8x128xbf16>, %k: tensor<?x8x128xbf16>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_summary_append' op result 1 element type 'f16' must match kmin ('bf16')}}
  %0:2 = ds.page_summary_append %kmin, %kmin, %k, %s {page_size = 16 : i64} : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xf16>)
  return
}

// -----

func.func @decode_partial_acc_rank(%q: tensor<?x32x64xbf16>, %k: tensor<?x1x8x64xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.decode_partial' op acc must have rank 4, got 3}}
  %a, %m = ds.decode_partial %q, %k, %k, %pt, %sl {scale = 0.125 : f32} : tensor<?x32x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x?xi32>, tensor<?xi32> -> tensor<?x32x64xf32>, tensor<?x32x?x2xf32>
  return
}

// -----

func.func @decode_partial_ml_pair(%q: tensor<?x32x64xbf16>, %k: tensor<?x1x8x64xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.decode_partial' op ml dim 3 must be (m, l) (2), got 3}}
  %a, %m = ds.decode_partial %q, %k, %k, %pt, %sl {scale = 0.125 : f32} : tensor<?x32x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x?xi32>, tensor<?xi32> -> tensor<?x32x?x64xf32>, tensor<?x32x?x3xf32>
  return
}

// -----

func.func @decode_partial_acc_dim(%q: tensor<?x32x64xbf16>, %k: tensor<?x1x8x64xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.decode_partial' op q dim 2 (64) must equal acc dim 3 (128)}}
  %a, %m = ds.decode_partial %q, %k, %k, %pt, %sl {scale = 0.125 : f32} : tensor<?x32x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x?xi32>, tensor<?xi32> -> tensor<?x32x?x128xf32>, tensor<?x32x?x2xf32>
  return
}

// -----

func.func @decode_partial_indices_heads(%q: tensor<?x32x64xbf16>, %k: tensor<?x1x8x64xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x4x16xi32>) {
  // expected-error @+1 {{'ds.decode_partial' op indices dim 1 must be the query heads or the kv heads}}
  %a, %m = ds.decode_partial %q, %k, %k, %pt, %sl indices %i {scale = 0.125 : f32} : tensor<?x32x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x4x16xi32> -> tensor<?x32x?x64xf32>, tensor<?x32x?x2xf32>
  return
}

// -----

func.func @decode_partial_indices_static(%q: tensor<?x32x64xbf16>, %k: tensor<?x1x8x64xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x8x?xi32>) {
  // expected-error @+1 {{'ds.decode_partial' op indices dim 2 (selection size) must be static}}
  %a, %m = ds.decode_partial %q, %k, %k, %pt, %sl indices %i {scale = 0.125 : f32} : tensor<?x32x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x8x?xi32> -> tensor<?x32x?x64xf32>, tensor<?x32x?x2xf32>
  return
}

// -----

func.func @decode_partial_weights_need_indices(%q: tensor<?x32x64xbf16>, %k: tensor<?x1x8x64xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %w: tensor<?x8x16xf32>) {
  // expected-error @+1 {{'ds.decode_partial' op log_weights need indices}}
  %a, %m = "ds.decode_partial"(%q, %k, %k, %pt, %sl, %w) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 1>, scale = 0.125 : f32}> : (tensor<?x32x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x8x16xf32>) -> (tensor<?x32x?x64xf32>, tensor<?x32x?x2xf32>)
  return
}

// -----

func.func @sparse_decode_dense_below(%q: tensor<?x32x64xbf16>, %k: tensor<?x1x8x64xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x32x16xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op attribute 'dense_below' must be >= 0, got -3}}
  %o = ds.sparse_decode %q, %k, %k, %pt, %sl, %i {scale = 0.125 : f32, dense_below = -3 : i64} : (tensor<?x32x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x16xi32>) -> tensor<?x32x64xbf16>
  return
}

// -----

func.func @decode_partial_weights_shape(%q: tensor<?x32x64xbf16>, %k: tensor<?x1x8x64xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x8x16xi32>, %w: tensor<?x8x32xf32>) {
  // expected-error @+1 {{'ds.decode_partial' op indices dim 2 (16) must equal log_weights dim 2 (32)}}
  %a, %m = ds.decode_partial %q, %k, %k, %pt, %sl indices %i weights %w {scale = 0.125 : f32} : tensor<?x32x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x8x16xi32>, tensor<?x8x32xf32> -> tensor<?x32x?x64xf32>, tensor<?x32x?x2xf32>
  return
}

// -----

func.func @decode_partial_dense_below(%q: tensor<?x32x64xbf16>, %k: tensor<?x1x8x64xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.decode_partial' op attribute 'dense_below' must be >= 0}}
  %a, %m = ds.decode_partial %q, %k, %k, %pt, %sl {scale = 0.125 : f32, dense_below = -1 : i64} : tensor<?x32x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x?xi32>, tensor<?xi32> -> tensor<?x32x?x64xf32>, tensor<?x32x?x2xf32>
  return
}

// -----

func.func @decode_partial_scale(%q: tensor<?x32x64xbf16>, %k: tensor<?x1x8x64xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.decode_partial' op attribute 'scale' must be a positive finite number}}
  %a, %m = ds.decode_partial %q, %k, %k, %pt, %sl {scale = 0.0 : f32} : tensor<?x32x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x?xi32>, tensor<?xi32> -> tensor<?x32x?x64xf32>, tensor<?x32x?x2xf32>
  return
}

// -----

func.func @decode_merge_rank(%a: tensor<?x32x?xf32>, %m: tensor<?x32x?x2xf32>) {
  // expected-error @+1 {{'ds.decode_merge' op acc must have rank 4, got 3}}
  %o = ds.decode_merge %a, %m : (tensor<?x32x?xf32>, tensor<?x32x?x2xf32>) -> tensor<?x32x64xbf16>
  return
}

// -----

func.func @decode_merge_pair(%a: tensor<?x32x?x64xf32>, %m: tensor<?x32x?x4xf32>) {
  // expected-error @+1 {{'ds.decode_merge' op ml dim 3 must be (m, l) (2), got 4}}
  %o = ds.decode_merge %a, %m : (tensor<?x32x?x64xf32>, tensor<?x32x?x4xf32>) -> tensor<?x32x64xbf16>
  return
}

// -----

func.func @decode_merge_splits(%a: tensor<?x32x4x64xf32>, %m: tensor<?x32x5x2xf32>) {
  // expected-error @+1 {{'ds.decode_merge' op acc dim 2 (4) must equal ml dim 2 (5)}}
  %o = ds.decode_merge %a, %m : (tensor<?x32x4x64xf32>, tensor<?x32x5x2xf32>) -> tensor<?x32x64xbf16>
  return
}

// -----

func.func @decode_merge_result(%a: tensor<?x32x?x64xf32>, %m: tensor<?x32x?x2xf32>) {
  // expected-error @+1 {{'ds.decode_merge' op acc dim 3 (64) must equal result dim 2 (128)}}
  %o = ds.decode_merge %a, %m : (tensor<?x32x?x64xf32>, tensor<?x32x?x2xf32>) -> tensor<?x32x128xbf16>
  return
}

// -----

func.func @decode_merge_dim_static(%a: tensor<?x32x?x?xf32>, %m: tensor<?x32x?x2xf32>) {
  // expected-error @+1 {{'ds.decode_merge' op acc dim 3 (head dim) must be static}}
  %o = ds.decode_merge %a, %m : (tensor<?x32x?x?xf32>, tensor<?x32x?x2xf32>) -> tensor<?x32x64xbf16>
  return
}

// -----

// A dynamic label dim in the label cache used to abort in codegen ("SmallVector unable to grow").
func.func @label_score_dynamic_cache_label_dim(%ql: tensor<?x8x16xbf16>, %cache: tensor<8x?x?xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x?xf32> {
  // expected-error @+1 {{label_cache dim 2 (labels per slot) must be static}}
  %a = ds.label_score %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32}
      : (tensor<?x8x16xbf16>, tensor<8x?x?xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return %a : tensor<?x8x?xf32>
}

// -----

// Compile time grows with the label dim (the kernels unroll over it): bounded.
func.func @label_score_huge_label_dim(%ql: tensor<?x8x2048xbf16>, %cache: tensor<8x?x2048xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x?xf32> {
  // expected-error @+1 {{q_label dim 2 (label dim, 2048) must be at most 256}}
  %a = ds.label_score %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32}
      : (tensor<?x8x2048xbf16>, tensor<8x?x2048xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return %a : tensor<?x8x?xf32>
}

// -----

func.func @dense_decode_too_many_heads(%q: tensor<?x16384x128xbf16>, %k: tensor<?x16x16384x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x16384x128xbf16> {
  // expected-error @+1 {{q dim 1 (query heads) must be at most 1024, got 16384}}
  %o = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.125 : f32}
      : (tensor<?x16384x128xbf16>, tensor<?x16x16384x128xbf16>, tensor<?x16x16384x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x16384x128xbf16>
  return %o : tensor<?x16384x128xbf16>
}

// -----

// expected-error @+1 {{kernel_config: occupancy must be in [0, 32], got 33}}
func.func @cfg_occupancy() attributes {cfg = #ds.kernel_config<block_tokens = 1, warps = 4, splits = 1, stages = 1, vector_width = 8, occupancy = 33>}

// -----

// expected-error @+1 {{kernel_config: cluster_warps must be in [0, 32], got 64}}
func.func @cfg_cluster_warps() attributes {cfg = #ds.kernel_config<block_tokens = 1, warps = 4, splits = 2, stages = 1, vector_width = 8, cluster_warps = 64>}

// -----

// expected-error @+1 {{target: chip 'sm_85' is not supported (supported: sm_80, sm_86, sm_89, sm_90, sm_90a, sm_100, sm_100a, sm_120, sm_120a)}}
func.func @target_chip() attributes {t = #ds.target<chip = "sm_85", sm_count = 1, smem_per_block = 49152, regs_per_sm = 1, l2_bytes = 0, ptx = 80>}

// -----

// expected-error @+1 {{target: sm_count must be in [1, 1024], got 0}}
func.func @target_sm_count() attributes {t = #ds.target<chip = "sm_90", sm_count = 0, smem_per_block = 49152, regs_per_sm = 1, l2_bytes = 0, ptx = 80>}

// -----

// expected-error @+1 {{target: smem_per_block must be >= 49152 and regs_per_sm >= 1}}
func.func @target_smem() attributes {t = #ds.target<chip = "sm_90", sm_count = 1, smem_per_block = 100, regs_per_sm = 1, l2_bytes = 0, ptx = 80>}

// -----

// expected-error @+1 {{target: sm_100 needs PTX 8.6 or newer, got ptx = 80}}
func.func @target_ptx() attributes {t = #ds.target<chip = "sm_100", sm_count = 1, smem_per_block = 49152, regs_per_sm = 1, l2_bytes = 0, ptx = 80>}

// -----

module attributes {gpu.container_module} {
  ds.plan @p attributes {args = [], symbols = [], workspace = "0"} {
    // expected-error @+1 {{kernel @k::@f takes 2 parameters, the launch passes 1}}
    ds.launch @k::@f {block = array<i64: 32, 1, 1>, grid = ["1", "1", "1"], params = ["ptr arg 0"], smem = "0"}
  }
  gpu.module @k {
    gpu.func @f(%a: memref<16xf32>, %n: i64) kernel attributes {known_block_size = array<i32: 32, 1, 1>} { gpu.return }
  }
}

// -----

module attributes {gpu.container_module} {
  ds.plan @p attributes {args = [], symbols = [], workspace = "0"} {
    // expected-error @+1 {{parameter 1 ('i32 4') does not match the kernel's 'i64' argument}}
    ds.launch @k::@f {block = array<i64: 32, 1, 1>, grid = ["1", "1", "1"], params = ["ptr arg 0", "i32 4"], smem = "0"}
  }
  gpu.module @k {
    gpu.func @f(%a: memref<16xf32>, %n: i64) kernel attributes {known_block_size = array<i32: 32, 1, 1>} { gpu.return }
  }
}

// -----

module attributes {gpu.container_module} {
  ds.plan @p attributes {args = [], symbols = [], workspace = "0"} {
    // expected-error @+1 {{block size does not match the kernel's known_block_size}}
    ds.launch @k::@f {block = array<i64: 64, 1, 1>, grid = ["1", "1", "1"], params = ["ptr arg 0", "i64 4"], smem = "0"}
  }
  gpu.module @k {
    gpu.func @f(%a: memref<16xf32>, %n: i64) kernel attributes {known_block_size = array<i32: 32, 1, 1>} { gpu.return }
  }
}

// -----

ds.plan @p attributes {args = [], symbols = [], workspace = "0"} {
  // expected-error @+1 {{kernel @k::@missing not found}}
  ds.launch @k::@missing {block = array<i64: 32, 1, 1>, grid = ["1", "1", "1"], params = [], smem = "0"}
}

// -----

ds.plan @p attributes {args = [], symbols = [], workspace = "0"} {
  // expected-error @+1 {{grid must have 3 expressions, got 1}}
  ds.launch @k::@f {block = array<i64: 32, 1, 1>, grid = ["1"], params = [], smem = "0"}
}

// -----

ds.plan @p attributes {args = [], symbols = [], workspace = "0"} {
  // expected-error @+1 {{a block has at most 1024 threads, got 2048}}
  ds.launch @k::@f {block = array<i64: 1024, 2, 1>, grid = ["1", "1", "1"], params = [], smem = "0"}
}

// -----

ds.plan @p attributes {args = [], symbols = [], workspace = "0"} {
  // expected-error @+1 {{parameter 'u8 1' must be 'ptr arg <i>', 'ptr ws <offset>', 'i64 <expr>', 'i32 <expr>' or 'f32 <value>'}}
  ds.launch @k::@f {block = array<i64: 32, 1, 1>, grid = ["1", "1", "1"], params = ["u8 1"], smem = "0"}
}

// -----

func.func @sr_fixed_dynamic(%f: tensor<?x8x?xi32>, %sl: tensor<?xi32>, %p: tensor<2xi64>) {
  // expected-error @+1 {{'ds.sample_residual' op fixed dim 2 must be static (it sizes the result)}}
  %0:2 = ds.sample_residual %f, %sl, %p {num_samples = 64 : i64} : (tensor<?x8x?xi32>, tensor<?xi32>, tensor<2xi64>) -> (tensor<?x8x64xi32>, tensor<?x8x64xf32>)
  return
}

// -----

func.func @sr_result_size(%f: tensor<?x8x16xi32>, %sl: tensor<?xi32>, %p: tensor<2xi64>) {
  // expected-error @+1 {{'ds.sample_residual' op result 0 dim 2 must be sinks + window + fixed dim 2 + num_samples (100), got 36}}
  %0:2 = ds.sample_residual %f, %sl, %p {sinks = 4 : i64, window = 16 : i64, num_samples = 64 : i64} : (tensor<?x8x16xi32>, tensor<?xi32>, tensor<2xi64>) -> (tensor<?x8x36xi32>, tensor<?x8x36xf32>)
  return
}

// -----

func.func @sr_negative_window(%f: tensor<?x8x16xi32>, %sl: tensor<?xi32>, %p: tensor<2xi64>) {
  // expected-error @+1 {{attribute 'window' failed to satisfy constraint: 64-bit signless integer attribute whose value is non-negative}}
  %0:2 = ds.sample_residual %f, %sl, %p {window = -1 : i64, num_samples = 4 : i64} : (tensor<?x8x16xi32>, tensor<?xi32>, tensor<2xi64>) -> (tensor<?x8x20xi32>, tensor<?x8x20xf32>)
  return
}

// -----

func.func @ls_candidates_shape(%ql: tensor<?x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %cand: tensor<?x8x128xi32>) {
  // expected-error @+1 {{'ds.label_score' op candidates dim 2 (128) must equal result dim 2 (256)}}
  %0 = ds.label_score %ql, %c, %pt, %sl, %cand {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>} : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x8x128xi32>) -> tensor<?x8x256xf32>
  return
}

// -----

func.func @int4_append_words(%kq: tensor<?x8x16xi32>, %k: tensor<?x8x128xbf16>, %sm: tensor<?xi32>) {
  // expected-error @+1 {{'ds.int4_append' op kq dim 2 must be head dim / 8 + 4 (the values, then four words of scales) (20), got 16}}
  %0 = ds.int4_append %kq, %k, %sm : (tensor<?x8x16xi32>, tensor<?x8x128xbf16>, tensor<?xi32>) -> tensor<?x8x16xi32>
  return
}

// -----

func.func @int4_append_head_dim(%kq: tensor<?x8x10xi32>, %k: tensor<?x8x48xbf16>, %sm: tensor<?xi32>) {
  // expected-error @+1 {{'ds.int4_append' op head dim must be a multiple of 32 (groups of 32 channels) up to 256, got 48}}
  %0 = ds.int4_append %kq, %k, %sm : (tensor<?x8x10xi32>, tensor<?x8x48xbf16>, tensor<?xi32>) -> tensor<?x8x10xi32>
  return
}

// -----

func.func @int4_append_wide_head(%kq: tensor<?x8x68xi32>, %k: tensor<?x8x512xbf16>, %sm: tensor<?xi32>) {
  // expected-error @+1 {{'ds.int4_append' op head dim must be a multiple of 32 (groups of 32 channels) up to 256, got 512}}
  %0 = ds.int4_append %kq, %k, %sm : (tensor<?x8x68xi32>, tensor<?x8x512xbf16>, tensor<?xi32>) -> tensor<?x8x68xi32>
  return
}

// -----

func.func @int4_append_heads(%kq: tensor<?x4x20xi32>, %k: tensor<?x8x128xbf16>, %sm: tensor<?xi32>) {
  // expected-error @+1 {{'ds.int4_append' op kq dim 1 (4) must equal k dim 1 (8)}}
  %0 = ds.int4_append %kq, %k, %sm : (tensor<?x4x20xi32>, tensor<?x8x128xbf16>, tensor<?xi32>) -> tensor<?x4x20xi32>
  return
}

// -----

func.func @int4_score_records(%q: tensor<?x32x128xbf16>, %kq: tensor<?x8x16xi32>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %c: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.int4_score' op kq dim 2 must be head dim / 8 + 4 (the values, then four words of scales) (20), got 16}}
  %0 = ds.int4_score %q, %kq, %pt, %sl, %c {page_size = 1 : i64, scale = 0.1 : f32} : (tensor<?x32x128xbf16>, tensor<?x8x16xi32>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x64xf32>
  return
}

// -----

func.func @int4_score_rows(%q: tensor<?x32x128xbf16>, %kq: tensor<?x8x20xi32>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %c: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.int4_score' op candidates dim 1 must be kv heads (group_reduce) (8), got 32}}
  %0 = ds.int4_score %q, %kq, %pt, %sl, %c {page_size = 1 : i64, scale = 0.1 : f32, group_reduce = #ds.group_reduce<sum>} : (tensor<?x32x128xbf16>, tensor<?x8x20xi32>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x64xf32>
  return
}

// -----

func.func @int4_score_head_dim(%q: tensor<?x32x96xbf16>, %kq: tensor<?x8x16xi32>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %c: tensor<?x32x64xi32>) {
  // expected-error @+1 {{'ds.int4_score' op head dim (q dim 2) must be 32, 64, 128 or 256, got 96}}
  %0 = ds.int4_score %q, %kq, %pt, %sl, %c {page_size = 1 : i64, scale = 0.1 : f32} : (tensor<?x32x96xbf16>, tensor<?x8x16xi32>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x64xf32>
  return
}

// -----

func.func @int4_append_dynamic_heads(%kq: tensor<?x?x20xi32>, %k: tensor<?x?x128xbf16>, %sm: tensor<?xi32>) {
  // expected-error @+1 {{'ds.int4_append' op k dim 1 (kv heads) must be static}}
  %0 = ds.int4_append %kq, %k, %sm : (tensor<?x?x20xi32>, tensor<?x?x128xbf16>, tensor<?xi32>) -> tensor<?x?x20xi32>
  return
}

// -----

func.func @expand_pages_result(%p: tensor<?x8x4xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.expand_pages' op result dim 2 must be pages dim 2 * page_size (64), got 60}}
  %0 = ds.expand_pages %p, %sl {page_size = 16 : i64} : (tensor<?x8x4xi32>, tensor<?xi32>) -> tensor<?x8x60xi32>
  return
}

//===----------------------------------------------------------------------===//
// Low-bit label caches (fp8 / int4 with label_scales)
//===----------------------------------------------------------------------===//

// -----

func.func @lowbit_no_scales(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xf8E4M3FN>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op an fp8 (f8E4M3FN) or int4 (i32) label cache needs its label_scales [Hkv, S] (f16)}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32} : (tensor<?x8x16xbf16>, tensor<8x?x16xf8E4M3FN>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @plain_with_scales(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xbf16>, %s: tensor<8x?xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.score_topk' op label_scales are only for fp8 (f8E4M3FN) and int4 (i32) label caches}}
  %0 = ds.score_topk %ql, %c scales(%s), %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, k = 64 : i64} : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<8x?xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return
}

// -----

func.func @int4_words(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xi32>, %s: tensor<8x?xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op label_cache dim 2 must be the label dim / 8 (i32 words of 8 int4 labels) (2), got 16}}
  %0 = ds.label_score %ql, %c scales(%s), %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32} : (tensor<?x8x16xbf16>, tensor<8x?x16xi32>, tensor<8x?xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @int4_label_dim(%ql: tensor<?x8x12xbf16>, %c: tensor<8x?x2xi32>, %s: tensor<8x?xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op an int4 label cache needs a label dim that is a multiple of 8, got 12}}
  %0 = ds.label_score %ql, %c scales(%s), %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32} : (tensor<?x8x12xbf16>, tensor<8x?x2xi32>, tensor<8x?xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @fp8_label_dim(%c: tensor<8x?x6xf8E4M3FN>, %s: tensor<8x?xf16>, %k: tensor<?x8x128xbf16>, %ch: tensor<8x6xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_append' op an fp8 label cache needs a label dim that is a multiple of 4 (whole 32-bit words of labels), got 6}}
  %0, %1 = ds.label_append %c scales(%s), %k, %ch, %sl : (tensor<8x?x6xf8E4M3FN>, tensor<8x?xf16>, tensor<?x8x128xbf16>, tensor<8x6xi32>, tensor<?xi32>) -> (tensor<8x?x6xf8E4M3FN>, tensor<8x?xf16>)
  return
}

// -----

func.func @scales_heads(%c: tensor<8x?x16xf8E4M3FN>, %s: tensor<4x?xf16>, %k: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_append' op label_scales dim 0 (4) must equal label_cache dim 0 (8)}}
  %0, %1 = ds.label_append %c scales(%s), %k, %ch, %sl : (tensor<8x?x16xf8E4M3FN>, tensor<4x?xf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> (tensor<8x?x16xf8E4M3FN>, tensor<4x?xf16>)
  return
}

// -----

func.func @scales_without_result(%c: tensor<8x?x16xf8E4M3FN>, %s: tensor<8x?xf16>, %k: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_append' op label_scales and the updated scales (result 1) come together}}
  %0 = ds.label_append %c scales(%s), %k, %ch, %sl : (tensor<8x?x16xf8E4M3FN>, tensor<8x?xf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xf8E4M3FN>
  return
}

// -----

func.func @scales_not_f16(%c: tensor<8x?x16xf8E4M3FN>, %s: tensor<8x?xf32>, %k: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{operand #1 must be ranked tensor of 16-bit float values, but got 'tensor<8x?xf32>'}}
  %0, %1 = ds.label_append %c scales(%s), %k, %ch, %sl : (tensor<8x?x16xf8E4M3FN>, tensor<8x?xf32>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> (tensor<8x?x16xf8E4M3FN>, tensor<8x?xf32>)
  return
}

// -----

// Zero-sized static dims (found by fuzzing: each crashed the config pass or a kernel builder by
// a division by zero or an empty unroll before the verifier refused them).
func.func @zero_head_dim(%q: tensor<?x32x0xbf16>, %k: tensor<?x16x8x0xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %idx: tensor<?x8x16xi32>) {
  // expected-error @+1 {{'ds.sparse_decode' op q dim 2 (head dim) must be at least 1, got 0}}
  %o = ds.sparse_decode %q, %k, %k, %pt, %sl, %idx {scale = 0.088 : f32, granularity = #ds.granularity<page>}
      : (tensor<?x32x0xbf16>, tensor<?x16x8x0xbf16>, tensor<?x16x8x0xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x8x16xi32>) -> tensor<?x32x0xbf16>
  return
}

// -----

func.func @zero_query_heads(%q: tensor<?x0x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.dense_decode' op q dim 1 (query heads) must be at least 1, got 0}}
  %o = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 0.0883883461 : f32}
     : (tensor<?x0x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x0x128xbf16>
  return
}

// -----

func.func @zero_label_dim(%ql: tensor<?x32x0xbf16>, %cache: tensor<8x?x0xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op q_label dim 2 (label dim) must be at least 1, got 0}}
  %a = ds.label_score %ql, %cache, %pt, %sl {page_size = 16 : i64, scale = 0.25 : f32}
     : (tensor<?x32x0xbf16>, tensor<8x?x0xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x?xf32>
  return
}

// -----

func.func @zero_query_heads_group(%ql: tensor<?x0x16xf16>, %cache: tensor<4x?x16xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_score' op q_label dim 1 (query heads) must be at least 1, got 0}}
  %a = ds.label_score %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<max>}
     : (tensor<?x0x16xf16>, tensor<4x?x16xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x4x4096xf32>
  return
}

// -----

func.func @zero_kv_heads_append(%c: tensor<0x?x16xbf16>, %k: tensor<?x0x128xbf16>, %ch: tensor<0x16xi32>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_append' op k dim 1 (kv heads) must be at least 1, got 0}}
  %0 = ds.label_append %c, %k, %ch, %s : (tensor<0x?x16xbf16>, tensor<?x0x128xbf16>, tensor<0x16xi32>, tensor<?xi32>) -> tensor<0x?x16xbf16>
  return
}

// -----

// A dynamic kv head count reached the append kernel as the dynamic-size marker (an empty grid
// with 16-bit labels, an invalid plan with fp8 ones).
func.func @la_kv_heads_dynamic(%c: tensor<?x?x16xbf16>, %k: tensor<?x?x128xbf16>, %ch: tensor<?x16xi32>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_append' op k dim 1 (kv heads) must be static}}
  %0 = ds.label_append %c, %k, %ch, %s : (tensor<?x?x16xbf16>, tensor<?x?x128xbf16>, tensor<?x16xi32>, tensor<?xi32>) -> tensor<?x?x16xbf16>
  return
}

// -----

func.func @zero_heads_prefill(%q: tensor<?x0x128xbf16>, %slopes: tensor<0xf32>, %cu: tensor<?xi32>, %states: tensor<?x0x128x128xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op q dim 1 (heads) must be at least 1, got 0}}
  %o, %s = ds.linear_attn_prefill %q, %q, %q, %slopes, %cu, %states, %si, %hi
    : (tensor<?x0x128xbf16>, tensor<?x0x128xbf16>, tensor<?x0x128xbf16>, tensor<0xf32>, tensor<?xi32>, tensor<?x0x128x128xf32>, tensor<?xi32>, tensor<?xi32>)
    -> (tensor<?x0x128xbf16>, tensor<?x0x128x128xf32>)
  return
}

// -----

func.func @zero_head_dim_pages(%q: tensor<?x32x0xf16>, %mn: tensor<?x32x0xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_score' op q dim 2 (head dim) must be at least 1, got 0}}
  %u = ds.page_score %q, %mn, %mn, %pt, %sl {page_size = 32 : i64}
      : (tensor<?x32x0xf16>, tensor<?x32x0xf16>, tensor<?x32x0xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x?xf32>
  return
}

// -----

func.func @zero_query_heads_pages(%q: tensor<?x0x128xbf16>, %mn: tensor<?x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.page_score' op q dim 1 (query heads) must be at least 1, got 0}}
  %u = ds.page_score %q, %mn, %mn, %pt, %sl {page_size = 16 : i64, group_reduce = #ds.group_reduce<sum>}
      : (tensor<?x0x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

// Found by fuzzing: 2^62 kv heads compiled to a kernel that only stored zeros.
func.func @la_too_many_kv_heads(%c: tensor<4611686018427387904x?x16xbf16>, %k: tensor<?x4611686018427387904x128xbf16>, %ch: tensor<4611686018427387904x16xi32>, %s: tensor<?xi32>) {
  // expected-error @+1 {{'ds.label_append' op k dim 1 (kv heads) must be at most 1024, got 4611686018427387904}}
  %0 = ds.label_append %c, %k, %ch, %s : (tensor<4611686018427387904x?x16xbf16>, tensor<?x4611686018427387904x128xbf16>, tensor<4611686018427387904x16xi32>, tensor<?xi32>) -> tensor<4611686018427387904x?x16xbf16>
  return
}

// -----

// Session 46's fuzz: a value dim of 2^62 compiled to a plan whose offsets overflow.
func.func @la_prefill_huge_value_dim(%q: tensor<?x8x128xbf16>, %v: tensor<?x8x4611686018427387904xbf16>, %slopes: tensor<8xf32>, %cu: tensor<?xi32>, %st: tensor<?x8x128x4611686018427387904xf32>, %si: tensor<?xi32>) {
  // expected-error @+1 {{'ds.linear_attn_prefill' op v dim 2 (value dim) must be at most 65536, got 4611686018427387904}}
  %0:2 = ds.linear_attn_prefill %q, %q, %v, %slopes, %cu, %st, %si, %si {chunk_size = 64 : i64} : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x4611686018427387904xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x128x4611686018427387904xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x4611686018427387904xbf16>, tensor<?x8x128x4611686018427387904xf32>)
  return
}

// -----

func.func @decode_huge_page_size(%q: tensor<?x32x128xbf16>, %k: tensor<?x131072x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{'ds.dense_decode' op k_cache dim 1 (page size) must be at most 65536, got 131072}}
  %o = ds.dense_decode %q, %k, %k, %pt, %sl {scale = 1.0 : f32} : (tensor<?x32x128xbf16>, tensor<?x131072x8x128xbf16>, tensor<?x131072x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xbf16>
  return
}
