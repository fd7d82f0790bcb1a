// RUN: not ds-opt %s 2>&1 | FileCheck %s --check-prefix=CHECKERR
// RUN: not ds-opt %s --split-input-file 2>&1 | FileCheck %s --check-prefix=CHECKSPLIT

// ds-opt must exit non-zero on bad input and report every error with a file:line:col location.
//
// Without --split-input-file the whole file is one module: the parse error in @unknown stops
// ds-opt before anything is verified, so the verifier error of @k_too_large is not reported.
// With --split-input-file both chunks are processed: the verifier error comes first, then the
// parse error.

// CHECKERR-NOT: error:
// CHECKERR: {{.*}}bad-input-exit.mlir:[[# @LINE + 16]]:{{[0-9]+}}: error: custom op 'ds.nonexistent' is unknown
// CHECKERR-NOT: error:

// A topk whose k exceeds the scores' last dim fails to verify.
// CHECKSPLIT: {{.*}}bad-input-exit.mlir:[[# @LINE + 2]]:{{[0-9]+}}: error: 'ds.topk' op attribute 'k' (128) must be <= scores dim 2 (100)
func.func @k_too_large(%s: tensor<?x8x100xf32>, %l: tensor<?xi32>) -> tensor<?x8x128xi32> {
  %0 = ds.topk %s, %l {k = 128 : i64} : (tensor<?x8x100xf32>, tensor<?xi32>) -> tensor<?x8x128xi32>
  return %0 : tensor<?x8x128xi32>
}

// -----

// An unknown op is a parse error.
// CHECKSPLIT: {{.*}}bad-input-exit.mlir:[[# @LINE + 3]]:{{[0-9]+}}: error: custom op 'ds.nonexistent' is unknown
// CHECKSPLIT-NOT: error:
func.func @unknown(%x: tensor<?x8x128xbf16>) -> tensor<?x8x128xbf16> {
  %0 = ds.nonexistent %x : (tensor<?x8x128xbf16>) -> tensor<?x8x128xbf16>
  return %0 : tensor<?x8x128xbf16>
}
