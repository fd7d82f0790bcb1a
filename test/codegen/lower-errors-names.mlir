// Argument names become the bundle's and the runtime's: each checked, at the argument, before
// the plan is written. They reached the bundle's line-based text unchecked (a newline in a name
// wrote a line of its own), and its parser then failed with an "internal error" and no location.
// RUN: ds-opt %s -split-input-file -verify-diagnostics --ds-to-ptx=stop-after-lowering

// expected-error @+1 {{argument 2: the name 'q' is taken by another argument}}
func.func @twice(%l: tensor<8x?x16xbf16> {ds.name = "q"}, %q: tensor<?x8x128xbf16>, %c: tensor<8x16xi32> {ds.name = "q"}, %s: tensor<?xi32>) -> tensor<8x?x16xbf16> {
  %r = ds.label_append %l, %q, %c, %s : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return %r : tensor<8x?x16xbf16>
}

// -----

// The unnamed argument 1 is arg1, a name argument 0 took.
// expected-error @+1 {{argument 1: the name 'arg1' is taken by another argument}}
func.func @taken(%l: tensor<8x?x16xbf16> {ds.name = "arg1"}, %q: tensor<?x8x128xbf16>, %c: tensor<8x16xi32>, %s: tensor<?xi32>) -> tensor<8x?x16xbf16> {
  %r = ds.label_append %l, %q, %c, %s : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return %r : tensor<8x?x16xbf16>
}

// -----

// expected-error @+1 {{argument 0: ds.name 'q\0Aarg evil in bf16 1' must be an identifier ([A-Za-z_][A-Za-z0-9_]*) other than cdiv, min, max and result<N>}}
func.func @newline(%l: tensor<8x?x16xbf16> {ds.name = "q\0Aarg evil in bf16 1"}, %q: tensor<?x8x128xbf16>, %c: tensor<8x16xi32>, %s: tensor<?xi32>) -> tensor<8x?x16xbf16> {
  %r = ds.label_append %l, %q, %c, %s : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return %r : tensor<8x?x16xbf16>
}

// -----

// expected-error @+1 {{argument 0: ds.name 'my q' must be an identifier}}
func.func @space(%l: tensor<8x?x16xbf16> {ds.name = "my q"}, %q: tensor<?x8x128xbf16>, %c: tensor<8x16xi32>, %s: tensor<?xi32>) -> tensor<8x?x16xbf16> {
  %r = ds.label_append %l, %q, %c, %s : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return %r : tensor<8x?x16xbf16>
}

// -----

// expected-error @+1 {{argument 0: ds.name 'cdiv' must be an identifier}}
func.func @function_name(%l: tensor<8x?x16xbf16> {ds.name = "cdiv"}, %q: tensor<?x8x128xbf16>, %c: tensor<8x16xi32>, %s: tensor<?xi32>) -> tensor<8x?x16xbf16> {
  %r = ds.label_append %l, %q, %c, %s : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return %r : tensor<8x?x16xbf16>
}

// -----

// expected-error @+1 {{argument 0: ds.name 'result0' must be an identifier}}
func.func @result_name(%l: tensor<8x?x16xbf16> {ds.name = "result0"}, %q: tensor<?x8x128xbf16>, %c: tensor<8x16xi32>, %s: tensor<?xi32>) -> tensor<8x?x16xbf16> {
  %r = ds.label_append %l, %q, %c, %s : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return %r : tensor<8x?x16xbf16>
}

// -----

// expected-error @+1 {{'func.func' op argument 0: ds.name must be a string}}
func.func @not_a_string(%l: tensor<8x?x16xbf16> {ds.name = 5}, %q: tensor<?x8x128xbf16>, %c: tensor<8x16xi32>, %s: tensor<?xi32>) -> tensor<8x?x16xbf16> {
  %r = ds.label_append %l, %q, %c, %s : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return %r : tensor<8x?x16xbf16>
}

// -----

// A name the runtime takes: results0 is not result<N>.
func.func @fine(%l: tensor<8x?x16xbf16> {ds.name = "results0"}, %q: tensor<?x8x128xbf16>, %c: tensor<8x16xi32>, %s: tensor<?xi32>) -> tensor<8x?x16xbf16> {
  %r = ds.label_append %l, %q, %c, %s : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return %r : tensor<8x?x16xbf16>
}

// -----

// The runtime's tensors have at most 8 dims.
func.func @rank9(%l: tensor<8x?x16xbf16>, %q: tensor<?x8x128xbf16>, %c: tensor<8x16xi32>, %s: tensor<?xi32>,
                 // expected-error @+1 {{argument 4 ('arg4'): rank 9 exceeds the runtime's 8}}
                 %x: tensor<1x1x1x1x1x1x1x1x1xf32>) -> tensor<8x?x16xbf16> {
  %r = ds.label_append %l, %q, %c, %s : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return %r : tensor<8x?x16xbf16>
}
