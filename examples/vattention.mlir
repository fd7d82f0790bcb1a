// vAttention decode step (shared/ALGORITHMS.md §4), Hq = Hkv = 32, d = 128, r = 16 label
// channels, P = 1: the deterministic set is the first 64 tokens (sinks), the last 512 (local
// window) and the 1024 tokens with the highest label scores (Double Sparsity's approximate
// scores); 1024 of the remaining tokens are drawn uniformly without replacement (Philox, keyed by
// philox = [seed, offset] and the row: reproducible) and weighted |R| / n_s, so that the decode
// with their log-weights is vAttention's estimate of full attention. A request whose residual
// has at most 1024 tokens takes all of it: exact attention.
//
//   build/bin/ds-compile examples/vattention.mlir -o vattention.dsb
func.func @vattention(
    %q: tensor<?x32x128xbf16> {ds.name = "q"},
    %k_cache: tensor<?x1x32x128xbf16> {ds.name = "k_cache"},
    %v_cache: tensor<?x1x32x128xbf16> {ds.name = "v_cache"},
    %label_cache: tensor<32x?x16xbf16> {ds.name = "label_cache"},
    %channels: tensor<32x16xi32> {ds.name = "channels"},
    %page_table: tensor<?x?xi32> {ds.name = "page_table"},
    %seq_lens: tensor<?xi32> {ds.name = "seq_lens"},
    %philox: tensor<2xi64> {ds.name = "philox"})
    -> (tensor<?x32x128xbf16>, tensor<?x32x2624xi32>, tensor<?x32x2624xf32>) {
  %q_label = ds.label_gather %q, %channels
      : (tensor<?x32x128xbf16>, tensor<32x16xi32>) -> tensor<?x32x16xbf16>
  %scores = ds.label_score %q_label, %label_cache, %page_table, %seq_lens
      {page_size = 1 : i64, scale = 0.0883883461 : f32}
      : (tensor<?x32x16xbf16>, tensor<32x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>)
      -> tensor<?x32x?xf32>
  %top = ds.topk %scores, %seq_lens {k = 1024 : i64}
      : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x32x1024xi32>
  %selected, %log_weights = ds.sample_residual %top, %seq_lens, %philox
      {sinks = 64 : i64, window = 512 : i64, num_samples = 1024 : i64}
      : (tensor<?x32x1024xi32>, tensor<?xi32>, tensor<2xi64>)
      -> (tensor<?x32x2624xi32>, tensor<?x32x2624xf32>)
  %o = ds.sparse_decode %q, %k_cache, %v_cache, %page_table, %seq_lens, %selected, %log_weights
      {scale = 0.0883883461 : f32}
      : (tensor<?x32x128xbf16>, tensor<?x1x32x128xbf16>, tensor<?x1x32x128xbf16>,
         tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x2624xi32>, tensor<?x32x2624xf32>)
      -> tensor<?x32x128xbf16>
  return %o, %selected, %log_weights
      : tensor<?x32x128xbf16>, tensor<?x32x2624xi32>, tensor<?x32x2624xf32>
}
