// RUN: ds-opt %s -split-input-file -verify-diagnostics

// Malformed ds IR: each case must be rejected by the parser (or by the generic-op verifier for
// ops spelled in generic form) with the diagnostic named here.

func.func @unknown_custom_op(%x: tensor<?x8x128xbf16>) {
  // expected-error @+1 {{custom op 'ds.nonexistent' is unknown}}
  %0 = ds.nonexistent %x : (tensor<?x8x128xbf16>) -> tensor<?x8x128xbf16>
  return
}

// -----

func.func @unknown_generic_op(%x: tensor<?x8x128xbf16>) {
  // expected-error @+1 {{unregistered operation 'ds.nonexistent' found in dialect ('ds') that does not allow unknown operations}}
  %0 = "ds.nonexistent"(%x) : (tensor<?x8x128xbf16>) -> tensor<?x8x128xbf16>
  return
}

// -----

func.func @too_few_operands(%x: tensor<?x8x128xbf16>) {
  // expected-error @+1 {{'ds.label_gather' op expected 2 operands, but found 1}}
  %0 = ds.label_gather %x : (tensor<?x8x128xbf16>) -> tensor<?x8x16xbf16>
  return
}

// -----

func.func @too_many_operands(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) {
  // expected-error @+1 {{custom op 'ds.label_gather' number of operands and types do not match: got 3 operands and 2 types}}
  %0 = ds.label_gather %x, %ch, %ch : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  return
}

// -----

func.func @too_few_operands_generic(%x: tensor<?x8x128xbf16>) {
  // expected-error @+1 {{'ds.label_gather' op expected 2 operands, but found 1}}
  %0 = "ds.label_gather"(%x) : (tensor<?x8x128xbf16>) -> tensor<?x8x16xbf16>
  return
}

// -----

func.func @sparse_decode_too_many_operands(%q: tensor<?x8x64xbf16>, %k: tensor<?x1x8x64xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x8x4xi32>, %w: tensor<?x8x4xf32>) {
  // expected-error @+1 {{'ds.sparse_decode' op operand group starting at #6 requires 0 or 1 element, but found 2}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i, %w, %w {scale = 0.125 : f32} : (tensor<?x8x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x8x4xi32>, tensor<?x8x4xf32>, tensor<?x8x4xf32>) -> tensor<?x8x64xbf16>
  return
}

// -----

func.func @too_many_results_bound(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) {
  // expected-error @+1 {{operation defines 1 results but was provided 2 to bind}}
  %0, %1 = ds.label_gather %x, %ch : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  return
}

// -----

func.func @result_types_vs_bound(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) {
  // expected-error @+1 {{operation defines 2 results but was provided 1 to bind}}
  %0 = ds.label_gather %x, %ch : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> (tensor<?x8x16xbf16>, tensor<?x8x16xbf16>)
  return
}

// -----

func.func @unknown_group_reduce(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+2 {{expected ::mlir::ds::GroupReduce to be one of: none, sum, max}}
  // expected-error @+1 {{failed to parse DS_GroupReduceAttr parameter 'value' which is to be a `::mlir::ds::GroupReduce`}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<avg>} : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

func.func @unknown_granularity(%q: tensor<?x8x64xbf16>, %k: tensor<?x1x8x64xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %i: tensor<?x8x4xi32>) {
  // expected-error @+2 {{expected ::mlir::ds::Granularity to be one of: token, page}}
  // expected-error @+1 {{failed to parse DS_GranularityAttr parameter 'value' which is to be a `::mlir::ds::Granularity`}}
  %0 = ds.sparse_decode %q, %k, %k, %pt, %sl, %i {scale = 0.125 : f32, granularity = #ds.granularity<block>} : (tensor<?x8x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x8x4xi32>) -> tensor<?x8x64xbf16>
  return
}

// -----

func.func @group_reduce_as_string(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) {
  // expected-error @+1 {{attribute 'group_reduce' failed to satisfy constraint: how GQA query heads of one group share a selection}}
  %0 = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = "sum"} : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return
}

// -----

// A kernel_config with parameters missing.
// expected-error @+1 {{struct is missing required parameter: splits}}
func.func @cfg_missing_params() attributes {c = #ds.kernel_config<block_tokens = 1, warps = 4>}

// -----

// A kernel_config with an unknown extra parameter.
// expected-error @+1 {{duplicate or unknown struct parameter name: lanes}}
func.func @cfg_extra_param() attributes {c = #ds.kernel_config<block_tokens = 1, warps = 4, splits = 1, stages = 1, vector_width = 8, lanes = 2>}

// -----

// expected-error @+2 {{expected integer value}}
// expected-error @+1 {{failed to parse DS_KernelConfigAttr parameter 'block_tokens' which is to be a `int64_t`}}
func.func @cfg_not_integer() attributes {c = #ds.kernel_config<block_tokens = big, warps = 4, splits = 1, stages = 1, vector_width = 8>}

// -----

func.func @cfg_missing_comma(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) {
  // expected-error @+1 {{struct is missing required parameter: vector_width}}
  %0 = ds.label_gather %x, %ch {config = #ds.kernel_config<block_tokens = 1, warps = 4, splits = 1, stages = 1 vector_width = 8>} : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  return
}

// -----

// expected-error @+1 {{unknown attribute `tiling` in dialect `ds`}}
func.func @unknown_attr() attributes {c = #ds.tiling<1>}

// -----

// expected-error @+1 {{dialect 'ds' provides no type parsing hook}}
func.func @no_ds_types(%x: !ds.label)

// -----

func.func @missing_type_list(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) {
  // expected-error @+1 {{expected ':'}}
  %0 = ds.label_gather %x, %ch
  return
}

// -----

func.func @missing_operand_comma(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) {
  // expected-error @+1 {{expected ':'}}
  %0 = ds.label_gather %x %ch : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  return
}

// -----

// expected-note @+1 {{prior use here}}
func.func @operand_type_mismatch(%x: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) {
  // expected-error @+1 {{use of value '%x' expects different type than prior uses: 'tensor<?x8x128xf16>' vs 'tensor<?x8x128xbf16>'}}
  %0 = ds.label_gather %x, %ch : (tensor<?x8x128xf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  return
}

// -----

func.func @undefined_value(%s: tensor<?x8x?xf32>, %l: tensor<?xi32>) {
  // expected-error @+1 {{use of undeclared SSA value name}}
  %0 = ds.topk %s, %undefined {k = 4 : i64} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return
}

// -----

func.func @unterminated_type(%s: tensor<?x8x?xf32>, %l: tensor<?xi32>) {
  // expected-error @+1 {{expected '>' in tensor type}}
  %0 = ds.topk %s, %l {k = 4 : i64} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32
  return
}

// -----

func.func @unit_attr_with_value(%s: tensor<?x8x?xf32>, %l: tensor<?xi32>) {
  // expected-error @+1 {{attribute 'keep_last' failed to satisfy constraint: unit attribute}}
  %0 = ds.topk %s, %l {k = 4 : i64, keep_last = 1 : i64} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return
}

// -----

func.func @k_as_string(%s: tensor<?x8x?xf32>, %l: tensor<?xi32>) {
  // expected-error @+1 {{attribute 'k' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %0 = ds.topk %s, %l {k = "four"} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return
}

// -----

func.func @missing_functional_arrow(%s: tensor<?x8x?xf32>, %l: tensor<?xi32>) {
  // expected-error @+1 {{expected '->' in function type}}
  %0 = ds.topk %s, %l {k = 4 : i64} : (tensor<?x8x?xf32>, tensor<?xi32>) tensor<?x8x4xi32>
  return
}
