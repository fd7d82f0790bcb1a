// A decode config the kernels cannot build (32 warps): refused on this op.
func.func @bad(%q: tensor<?x32x128xbf16>, %k: tensor<?x16x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>)
    -> tensor<?x32x128xbf16> {
  // line 5:
  %o = ds.dense_decode %q, %k, %k, %pt, %sl
      {scale = 0.125 : f32, config = #ds.kernel_config<block_tokens = 64, warps = 32, splits = 8, stages = 4, vector_width = 8>}
      : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}
