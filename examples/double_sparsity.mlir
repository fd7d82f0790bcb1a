// One Double Sparsity decode step (shared/ALGORITHMS.md §1): label extraction of the queries,
// label scoring over the paged label cache, top-k, and sparse decode over the selected tokens.
// Hq = Hkv = 32, d = 128, r = 16, page size 1, k = 256, bf16. Arguments: q [B, 32, 128],
// k_cache and v_cache [pages, 1, 32, 128], label_cache [32, slots, 16] (head-major, as
// ds.label_append writes it), channels [32, 16], page_table [B, max_pages], seq_lens [B];
// results: o [B, 32, 128] and the selected tokens [B, 32, 256].
func.func @double_sparsity_decode(
    %q: tensor<?x32x128xbf16>, %k_cache: tensor<?x1x32x128xbf16>, %v_cache: tensor<?x1x32x128xbf16>,
    %label_cache: tensor<32x?x16xbf16>, %channels: tensor<32x16xi32>,
    %page_table: tensor<?x?xi32>, %seq_lens: tensor<?xi32>)
    -> (tensor<?x32x128xbf16>, tensor<?x32x256xi32>) {
  %q_label = ds.label_gather %q, %channels
      : (tensor<?x32x128xbf16>, tensor<32x16xi32>) -> tensor<?x32x16xbf16>
  %scores = ds.label_score %q_label, %label_cache, %page_table, %seq_lens
      {page_size = 1 : i64, scale = 0.0883883461 : f32}
      : (tensor<?x32x16xbf16>, tensor<32x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x?xf32>
  %heavy_tokens = ds.topk %scores, %seq_lens {k = 256 : i64}
      : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x32x256xi32>
  %o = ds.sparse_decode %q, %k_cache, %v_cache, %page_table, %seq_lens, %heavy_tokens
      {scale = 0.0883883461 : f32}
      : (tensor<?x32x128xbf16>, tensor<?x1x32x128xbf16>, tensor<?x1x32x128xbf16>, tensor<?x?xi32>,
         tensor<?xi32>, tensor<?x32x256xi32>) -> tensor<?x32x128xbf16>
  return %o, %heavy_tokens : tensor<?x32x128xbf16>, tensor<?x32x256xi32>
}
