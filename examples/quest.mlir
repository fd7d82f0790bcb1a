// Quest decode step (shared/ALGORITHMS.md §2), Hq = Hkv = 32, d = 128, pages of 16 tokens, a
// budget of 2048 tokens (128 pages): each page's criticality is bounded from its per-channel key
// minimum and maximum (kept by ds.page_summary_append as keys are appended), the 128 most
// critical pages of every head are kept (the current, partial last page always), and decode
// attention runs over every token of the kept pages, masked at the request's length. A request
// of at most 2048 tokens keeps all its pages: it runs dense.
//
//   build/bin/ds-compile examples/quest.mlir -o quest.dsb
func.func @quest_decode(
    %q: tensor<?x32x128xbf16> {ds.name = "q"},
    %k_cache: tensor<?x16x32x128xbf16> {ds.name = "k_cache"},
    %v_cache: tensor<?x16x32x128xbf16> {ds.name = "v_cache"},
    %kmin: tensor<?x32x128xbf16> {ds.name = "kmin"},
    %kmax: tensor<?x32x128xbf16> {ds.name = "kmax"},
    %page_table: tensor<?x?xi32> {ds.name = "page_table"},
    %seq_lens: tensor<?xi32> {ds.name = "seq_lens"})
    -> (tensor<?x32x128xbf16>, tensor<?x32x128xi32>) {
  %u = ds.page_score %q, %kmin, %kmax, %page_table, %seq_lens {page_size = 16 : i64}
      : (tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x?xi32>,
         tensor<?xi32>) -> tensor<?x32x?xf32>
  %pages = ds.topk %u, %seq_lens {k = 128 : i64, divisor = 16 : i64, keep_last}
      : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x32x128xi32>
  %o = ds.sparse_decode %q, %k_cache, %v_cache, %page_table, %seq_lens, %pages
      {scale = 0.0883883461 : f32, granularity = #ds.granularity<page>}
      : (tensor<?x32x128xbf16>, tensor<?x16x32x128xbf16>, tensor<?x16x32x128xbf16>,
         tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x128xi32>) -> tensor<?x32x128xbf16>
  return %o, %pages : tensor<?x32x128xbf16>, tensor<?x32x128xi32>
}
