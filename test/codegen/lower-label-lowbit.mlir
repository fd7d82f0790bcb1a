// RUN: ds-opt %s --pass-pipeline='builtin.module(ds-to-ptx{stop-after-lowering=1})' | FileCheck %s
// RUN: ds-opt %s --ds-to-ptx | FileCheck %s --check-prefix=PTX

// Low-bit label caches: label_append writes the labels (as 32-bit words) and their f16 scales in
// place, one thread per (new token, kv head); the fused score_topk reads the cache as words plus
// the scale of each token, and decodes fp8 pairs with a byte permute and f16x2 arithmetic.

// CHECK: ds.plan @append_fp8
// CHECK-SAME: "label_cache inout f8e4m3 align=16 8 label_cache_d1 16", "label_scales inout f16 align=16 8 label_cache_d1"
// CHECK: ds.launch {{.*}}grid = ["cdiv((new_k_d0)*8,256)", "1", "1"]
// CHECK: ds.plan @append_int4
// CHECK-SAME: "label_cache inout i32 align=16 8 label_cache_d1 2", "label_scales inout f16 align=16 8 label_cache_d1"
// CHECK: ds.plan @select_int4
// CHECK-SAME: "label_cache in i32 align=16 32 label_cache_d1 2", "label_scales in f16 align=16 32 label_cache_d1"
// CHECK: ds.plan @select_fp8
// CHECK: gpu.func @append_fp8_label_append_0(%{{.*}}: memref<281474976710656xbf16>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xf16>, %{{.*}}: i64, %{{.*}}: i64) kernel
// CHECK: gpu.func @append_int4_label_append_0(
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (f32, i32)
// CHECK: arith.truncf {{.*}} : f32 to f16
// CHECK: arith.andi {{.*}}, %c65520_i32 : i32
// CHECK: arith.minui {{.*}}, %c31728_i32 : i32
// CHECK: gpu.func @select_int4_score_topk_0(%{{.*}}: memref<281474976710656xbf16>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xf32>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xf16>, %{{.*}}: i64, %{{.*}}: i64)
// CHECK: vector.load %{{.*}} : memref<281474976710656xi32>, vector<2xi32>
// CHECK: llvm.bitcast %{{.*}} : i32 to vector<2xf16>
// CHECK: vector.fma %{{.*}} : vector<2xf16>
// CHECK: gpu.func @select_fp8_score_topk_0(
// CHECK: vector.load %{{.*}} : memref<281474976710656xi32>, vector<4xi32>
// CHECK: nvvm.prmt
// An unfused label_score over a candidate list (Twilight's estimate) reads an int4 cache too:
// its kernel takes the scales after the candidates.
// CHECK: gpu.func @estimate_int4_label_score_0(%{{.*}}: memref<281474976710656xbf16>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xf32>, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: memref<281474976710656xi32>, %{{.*}}: memref<281474976710656xf16>)
// CHECK: vector.fma %{{.*}} : vector<2xf16>
// PTX-DAG: prmt.b32
// PTX-DAG: fma.rn.f16x2

func.func @append_fp8(%new_k: tensor<?x8x128xbf16> {ds.name = "new_k"},
                      %channels: tensor<8x16xi32> {ds.name = "channels"},
                      %slot_mapping: tensor<?xi32> {ds.name = "slot_mapping"},
                      %label_cache: tensor<8x?x16xf8E4M3FN> {ds.name = "label_cache"},
                      %label_scales: tensor<8x?xf16> {ds.name = "label_scales"})
    -> (tensor<8x?x16xf8E4M3FN>, tensor<8x?xf16>) {
  %0, %1 = ds.label_append %label_cache scales(%label_scales), %new_k, %channels, %slot_mapping
      : (tensor<8x?x16xf8E4M3FN>, tensor<8x?xf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>)
      -> (tensor<8x?x16xf8E4M3FN>, tensor<8x?xf16>)
  return %0, %1 : tensor<8x?x16xf8E4M3FN>, tensor<8x?xf16>
}

// int4: per (token, kv head) a loop over the candidate scales keeps the (scale, zero point) of
// least squared error; two words of codes, the scale's f16 bits with the zero point in the low 4.
func.func @append_int4(%new_k: tensor<?x8x128xbf16> {ds.name = "new_k"},
                       %channels: tensor<8x16xi32> {ds.name = "channels"},
                       %slot_mapping: tensor<?xi32> {ds.name = "slot_mapping"},
                       %label_cache: tensor<8x?x2xi32> {ds.name = "label_cache"},
                       %label_scales: tensor<8x?xf16> {ds.name = "label_scales"})
    -> (tensor<8x?x2xi32>, tensor<8x?xf16>) {
  %0, %1 = ds.label_append %label_cache scales(%label_scales), %new_k, %channels, %slot_mapping
      : (tensor<8x?x2xi32>, tensor<8x?xf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>)
      -> (tensor<8x?x2xi32>, tensor<8x?xf16>)
  return %0, %1 : tensor<8x?x2xi32>, tensor<8x?xf16>
}

// Two words per token (16 int4 labels, 8 bytes), the nibbles as f16 pairs less the token's
// 1024 + zero point.
func.func @select_int4(%q: tensor<?x32x128xbf16> {ds.name = "q"},
                       %label_cache: tensor<32x?x2xi32> {ds.name = "label_cache"},
                       %label_scales: tensor<32x?xf16> {ds.name = "label_scales"},
                       %channels: tensor<32x16xi32> {ds.name = "channels"},
                       %page_table: tensor<?x?xi32> {ds.name = "page_table"},
                       %seq_lens: tensor<?xi32> {ds.name = "seq_lens"}) -> tensor<?x32x256xi32> {
  %ql = ds.label_gather %q, %channels : (tensor<?x32x128xbf16>, tensor<32x16xi32>) -> tensor<?x32x16xbf16>
  %a = ds.label_score %ql, %label_cache scales(%label_scales), %page_table, %seq_lens {page_size = 1 : i64, scale = 0.25 : f32}
      : (tensor<?x32x16xbf16>, tensor<32x?x2xi32>, tensor<32x?xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x?xf32>
  %i = ds.topk %a, %seq_lens {k = 256 : i64} : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x32x256xi32>
  return %i : tensor<?x32x256xi32>
}

// One 16-byte load of 16 fp8 labels per token.
func.func @select_fp8(%ql: tensor<?x32x16xbf16> {ds.name = "q_label"},
                      %label_cache: tensor<32x?x16xf8E4M3FN> {ds.name = "label_cache"},
                      %label_scales: tensor<32x?xf16> {ds.name = "label_scales"},
                      %page_table: tensor<?x?xi32> {ds.name = "page_table"},
                      %seq_lens: tensor<?xi32> {ds.name = "seq_lens"}) -> tensor<?x32x256xi32> {
  %a = ds.label_score %ql, %label_cache scales(%label_scales), %page_table, %seq_lens {page_size = 1 : i64, scale = 0.25 : f32}
      : (tensor<?x32x16xbf16>, tensor<32x?x16xf8E4M3FN>, tensor<32x?xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x?xf32>
  %i = ds.topk %a, %seq_lens {k = 256 : i64} : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x32x256xi32>
  return %i : tensor<?x32x256xi32>
}

func.func @estimate_int4(%ql: tensor<?x8x16xbf16> {ds.name = "q_label"},
                         %label_cache: tensor<8x?x2xi32> {ds.name = "label_cache"},
                         %label_scales: tensor<8x?xf16> {ds.name = "label_scales"},
                         %page_table: tensor<?x?xi32> {ds.name = "page_table"},
                         %seq_lens: tensor<?xi32> {ds.name = "seq_lens"},
                         %cand: tensor<?x8x512xi32> {ds.name = "candidates"}) -> tensor<?x8x512xf32> {
  %a = ds.label_score %ql, %label_cache scales(%label_scales), %page_table, %seq_lens, %cand {page_size = 16 : i64, scale = 0.25 : f32}
      : (tensor<?x8x16xbf16>, tensor<8x?x2xi32>, tensor<8x?xf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x8x512xi32>) -> tensor<?x8x512xf32>
  return %a : tensor<?x8x512xf32>
}
