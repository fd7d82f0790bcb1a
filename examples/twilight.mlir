// Twilight decode step (shared/ALGORITHMS.md §3) over Double Sparsity's candidates, Hq = Hkv =
// 32, d = 128, r = 16 label channels, P = 1: the 4096 tokens with the highest label scores are
// the candidates; their logits are estimated again from the labels (label_score over the
// candidate list) and pruned to the smallest set whose estimated softmax mass reaches 0.9
// (ds.topp: an exact threshold search, no sort); decode attention runs over the kept tokens.
// kept_counts says how many each row kept.
//
//   build/bin/ds-compile examples/twilight.mlir -o twilight.dsb
func.func @twilight(
    %q: tensor<?x32x128xbf16> {ds.name = "q"},
    %k_cache: tensor<?x1x32x128xbf16> {ds.name = "k_cache"},
    %v_cache: tensor<?x1x32x128xbf16> {ds.name = "v_cache"},
    %label_cache: tensor<32x?x16xbf16> {ds.name = "label_cache"},
    %channels: tensor<32x16xi32> {ds.name = "channels"},
    %page_table: tensor<?x?xi32> {ds.name = "page_table"},
    %seq_lens: tensor<?xi32> {ds.name = "seq_lens"})
    -> (tensor<?x32x128xbf16>, tensor<?x32x4096xi32>, tensor<?x32xi32>) {
  %q_label = ds.label_gather %q, %channels
      : (tensor<?x32x128xbf16>, tensor<32x16xi32>) -> tensor<?x32x16xbf16>
  %scores = ds.label_score %q_label, %label_cache, %page_table, %seq_lens
      {page_size = 1 : i64, scale = 0.0883883461 : f32}
      : (tensor<?x32x16xbf16>, tensor<32x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>)
      -> tensor<?x32x?xf32>
  %candidates = ds.topk %scores, %seq_lens {k = 4096 : i64}
      : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x32x4096xi32>
  %estimate = ds.label_score %q_label, %label_cache, %page_table, %seq_lens, %candidates
      {page_size = 1 : i64, scale = 0.0883883461 : f32}
      : (tensor<?x32x16xbf16>, tensor<32x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>,
         tensor<?x32x4096xi32>) -> tensor<?x32x4096xf32>
  %kept, %kept_counts = ds.topp %estimate, %candidates {top_p = 0.9 : f32}
      : (tensor<?x32x4096xf32>, tensor<?x32x4096xi32>) -> (tensor<?x32x4096xi32>, tensor<?x32xi32>)
  %o = ds.sparse_decode %q, %k_cache, %v_cache, %page_table, %seq_lens, %kept
      {scale = 0.0883883461 : f32}
      : (tensor<?x32x128xbf16>, tensor<?x1x32x128xbf16>, tensor<?x1x32x128xbf16>,
         tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x4096xi32>) -> tensor<?x32x128xbf16>
  return %o, %kept, %kept_counts : tensor<?x32x128xbf16>, tensor<?x32x4096xi32>, tensor<?x32xi32>
}
