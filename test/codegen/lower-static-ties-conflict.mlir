// Two static sizes tied through a dynamic value: each op's verifier sees a `?` against a size
// and accepts it; the lowering sees the whole class and refuses it.
// RUN: ds-opt %s -verify-diagnostics --ds-to-ptx=stop-after-lowering

func.func @conflict(%q1: tensor<4x8x128xbf16>, %q2: tensor<5x8x128xbf16>, %k: tensor<?x1x8x128xbf16>, %v: tensor<?x1x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> (tensor<4x8x128xbf16>, tensor<5x8x128xbf16>) {
  %a = ds.dense_decode %q1, %k, %v, %pt, %sl {scale = 8.838834614e-02 : f32} : (tensor<4x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<4x8x128xbf16>
  // expected-error @+1 {{ds-lower-to-kernels: dimension 0 of an operand is 5, but a dimension it must equal is 4}}
  %b = ds.dense_decode %q2, %k, %v, %pt, %sl {scale = 8.838834614e-02 : f32} : (tensor<5x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<5x8x128xbf16>
  return %a, %b : tensor<4x8x128xbf16>, tensor<5x8x128xbf16>
}
