// A static dim fixes every dim tied to it: the plan names its size for the other arguments'
// `?`, so a launch checks them against it. A static batch of 4 in q with a dynamic page table
// and seq_lens used to give those their own symbol (page_table_d0), and a launch took a page
// table of 1 row for a kernel of 4 rows.
// RUN: ds-opt %s -split-input-file --ds-to-ptx=stop-after-lowering | FileCheck %s

// CHECK-LABEL: ds.plan @static_batch
// CHECK-SAME: args = ["q in bf16 align=16 4 8 128", "k_cache in bf16 align=16 k_cache_d0 1 8 128", "v_cache in bf16 align=16 k_cache_d0 1 8 128", "page_table in i32 align=16 4 page_table_d1", "seq_lens in i32 align=16 4", "result0 out bf16 align=16 4 8 128"]
// CHECK-SAME: symbols = ["k_cache_d0 arg 1 dim 0", "page_table_d1 arg 3 dim 1"
func.func @static_batch(%q: tensor<4x8x128xbf16> {ds.name = "q"}, %k_cache: tensor<?x1x8x128xbf16> {ds.name = "k_cache"}, %v_cache: tensor<?x1x8x128xbf16> {ds.name = "v_cache"}, %page_table: tensor<?x?xi32> {ds.name = "page_table"}, %seq_lens: tensor<?xi32> {ds.name = "seq_lens"}) -> tensor<4x8x128xbf16> {
  %o = ds.dense_decode %q, %k_cache, %v_cache, %page_table, %seq_lens {scale = 8.838834614e-02 : f32} : (tensor<4x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<4x8x128xbf16>
  return %o : tensor<4x8x128xbf16>
}

// -----

// The static member may come after the dynamic ones (seq_lens here), and the output's batch too.
// CHECK-LABEL: ds.plan @static_lens
// CHECK-SAME: args = ["q in bf16 align=16 4 8 128", "k_cache in bf16 align=16 k_cache_d0 1 8 128", "v_cache in bf16 align=16 k_cache_d0 1 8 128", "page_table in i32 align=16 4 page_table_d1", "seq_lens in i32 align=16 4", "result0 out bf16 align=16 4 8 128"]
func.func @static_lens(%q: tensor<?x8x128xbf16> {ds.name = "q"}, %k_cache: tensor<?x1x8x128xbf16> {ds.name = "k_cache"}, %v_cache: tensor<?x1x8x128xbf16> {ds.name = "v_cache"}, %page_table: tensor<?x?xi32> {ds.name = "page_table"}, %seq_lens: tensor<4xi32> {ds.name = "seq_lens"}) -> tensor<?x8x128xbf16> {
  %o = ds.dense_decode %q, %k_cache, %v_cache, %page_table, %seq_lens {scale = 8.838834614e-02 : f32} : (tensor<?x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x1x8x128xbf16>, tensor<?x?xi32>, tensor<4xi32>) -> tensor<?x8x128xbf16>
  return %o : tensor<?x8x128xbf16>
}
