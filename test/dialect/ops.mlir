// RUN: ds-opt %s | ds-opt | FileCheck %s
// RUN: ds-opt %s --mlir-print-op-generic | ds-opt | FileCheck %s

// Round trip of every ds op and of the #ds.kernel_config attribute, in custom and generic form.

//===----------------------------------------------------------------------===//
// label_gather
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @label_gather_keys_bf16
// CHECK-SAME:    (%[[K:.+]]: tensor<?x8x128xbf16>, %[[CH:.+]]: tensor<8x16xi32>)
// CHECK:         %[[L:.+]] = ds.label_gather %[[K]], %[[CH]] : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
// CHECK:         return %[[L]]
func.func @label_gather_keys_bf16(%k: tensor<?x8x128xbf16>, %ch: tensor<8x16xi32>) -> tensor<?x8x16xbf16> {
  %l = ds.label_gather %k, %ch : (tensor<?x8x128xbf16>, tensor<8x16xi32>) -> tensor<?x8x16xbf16>
  return %l : tensor<?x8x16xbf16>
}

// GQA: 32 query heads over 8 kv heads, f16, static batch.
// CHECK-LABEL: func.func @label_gather_queries_gqa_f16
// CHECK-SAME:    (%[[Q:.+]]: tensor<4x32x64xf16>, %[[CH:.+]]: tensor<8x8xi32>)
// CHECK:         ds.label_gather %[[Q]], %[[CH]] : (tensor<4x32x64xf16>, tensor<8x8xi32>) -> tensor<4x32x8xf16>
func.func @label_gather_queries_gqa_f16(%q: tensor<4x32x64xf16>, %ch: tensor<8x8xi32>) -> tensor<4x32x8xf16> {
  %l = ds.label_gather %q, %ch : (tensor<4x32x64xf16>, tensor<8x8xi32>) -> tensor<4x32x8xf16>
  return %l : tensor<4x32x8xf16>
}

//===----------------------------------------------------------------------===//
// label_append
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @label_append_bf16_dynamic
// CHECK-SAME:    (%[[C:[^:]+]]: tensor<8x?x16xbf16>, %[[K:[^:]+]]: tensor<?x8x128xbf16>, %[[CH:[^:]+]]: tensor<8x16xi32>, %[[S:[^:]+]]: tensor<?xi32>)
// CHECK:         %[[R:.+]] = ds.label_append %[[C]], %[[K]], %[[CH]], %[[S]]
// CHECK-SAME:      : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
// CHECK:         return %[[R]]
func.func @label_append_bf16_dynamic(%cache: tensor<8x?x16xbf16>, %k: tensor<?x8x128xbf16>,
                                     %ch: tensor<8x16xi32>, %slots: tensor<?xi32>) -> tensor<8x?x16xbf16> {
  %c2 = ds.label_append %cache, %k, %ch, %slots
      : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>) -> tensor<8x?x16xbf16>
  return %c2 : tensor<8x?x16xbf16>
}

// CHECK-LABEL: func.func @label_append_f16_static
// CHECK:         ds.label_append %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : (tensor<2x4096x32xf16>, tensor<7x2x64xf16>, tensor<2x32xi32>, tensor<7xi32>) -> tensor<2x4096x32xf16>
func.func @label_append_f16_static(%cache: tensor<2x4096x32xf16>, %k: tensor<7x2x64xf16>,
                                   %ch: tensor<2x32xi32>, %slots: tensor<7xi32>) -> tensor<2x4096x32xf16> {
  %c2 = ds.label_append %cache, %k, %ch, %slots
      : (tensor<2x4096x32xf16>, tensor<7x2x64xf16>, tensor<2x32xi32>, tensor<7xi32>) -> tensor<2x4096x32xf16>
  return %c2 : tensor<2x4096x32xf16>
}

//===----------------------------------------------------------------------===//
// label_score
//===----------------------------------------------------------------------===//

// MHA, no group reduction (the default is elided).
// CHECK-LABEL: func.func @label_score_mha
// CHECK-SAME:    (%[[QL:[^:]+]]: tensor<?x32x16xbf16>, %[[C:[^:]+]]: tensor<32x?x16xbf16>, %[[PT:[^:]+]]: tensor<?x?xi32>, %[[SL:[^:]+]]: tensor<?xi32>)
// CHECK:         %[[A:.+]] = ds.label_score %[[QL]], %[[C]], %[[PT]], %[[SL]]
// CHECK-NOT:       group_reduce
// CHECK-SAME:      {page_size = 1 : i64, scale = 2.500000e-01 : f32}
// CHECK-SAME:      : (tensor<?x32x16xbf16>, tensor<32x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x?xf32>
// CHECK:         return %[[A]]
func.func @label_score_mha(%ql: tensor<?x32x16xbf16>, %cache: tensor<32x?x16xbf16>,
                           %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x?xf32> {
  %a = ds.label_score %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32}
      : (tensor<?x32x16xbf16>, tensor<32x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x?xf32>
  return %a : tensor<?x32x?xf32>
}

// GQA with group_reduce = sum: one row per kv head.
// CHECK-LABEL: func.func @label_score_gqa_sum
// CHECK:         ds.label_score %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {group_reduce = #ds.group_reduce<sum>, page_size = 16 : i64, scale = 1.250000e-01 : f32}
// CHECK-SAME:      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
func.func @label_score_gqa_sum(%ql: tensor<?x32x16xbf16>, %cache: tensor<8x?x16xbf16>,
                               %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x?xf32> {
  %a = ds.label_score %ql, %cache, %pt, %sl {page_size = 16 : i64, scale = 0.125 : f32, group_reduce = #ds.group_reduce<sum>}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return %a : tensor<?x8x?xf32>
}

// GQA with group_reduce = max, f16, static shapes.
// CHECK-LABEL: func.func @label_score_gqa_max_f16
// CHECK:         ds.label_score %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {group_reduce = #ds.group_reduce<max>, page_size = 1 : i64, scale = 5.000000e-01 : f32}
// CHECK-SAME:      : (tensor<2x16x8xf16>, tensor<4x1024x8xf16>, tensor<2x1024xi32>, tensor<2xi32>) -> tensor<2x4x1024xf32>
func.func @label_score_gqa_max_f16(%ql: tensor<2x16x8xf16>, %cache: tensor<4x1024x8xf16>,
                                   %pt: tensor<2x1024xi32>, %sl: tensor<2xi32>) -> tensor<2x4x1024xf32> {
  %a = ds.label_score %ql, %cache, %pt, %sl {page_size = 1 : i64, scale = 0.5 : f32, group_reduce = #ds.group_reduce<max>}
      : (tensor<2x16x8xf16>, tensor<4x1024x8xf16>, tensor<2x1024xi32>, tensor<2xi32>) -> tensor<2x4x1024xf32>
  return %a : tensor<2x4x1024xf32>
}

//===----------------------------------------------------------------------===//
// page_summary / page_summary_append
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @page_summary_bf16
// CHECK-SAME:    (%[[MN:[^:]+]]: tensor<?x8x128xbf16>, %[[MX:[^:]+]]: tensor<?x8x128xbf16>, %[[K:[^:]+]]: tensor<?x16x8x128xbf16>, %[[PT:[^:]+]]: tensor<?x?xi32>, %[[SL:[^:]+]]: tensor<?xi32>)
// CHECK:         %[[NMN:[^ ,]+]], %[[NMX:[^ ,]+]] = ds.page_summary %[[MN]], %[[MX]], %[[K]], %[[PT]], %[[SL]]
// CHECK-SAME:      : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
// CHECK:         return %[[NMN]], %[[NMX]]
func.func @page_summary_bf16(%kmin: tensor<?x8x128xbf16>, %kmax: tensor<?x8x128xbf16>, %k: tensor<?x16x8x128xbf16>,
                             %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>) {
  %mn, %mx = ds.page_summary %kmin, %kmax, %k, %pt, %sl
      : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>)
      -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return %mn, %mx : tensor<?x8x128xbf16>, tensor<?x8x128xbf16>
}

// CHECK-LABEL: func.func @page_summary_f16_static
// CHECK:         ds.page_summary
// CHECK-SAME:      : (tensor<64x2x64xf16>, tensor<64x2x64xf16>, tensor<64x32x2x64xf16>, tensor<3x8xi32>, tensor<3xi32>) -> (tensor<64x2x64xf16>, tensor<64x2x64xf16>)
func.func @page_summary_f16_static(%kmin: tensor<64x2x64xf16>, %kmax: tensor<64x2x64xf16>, %k: tensor<64x32x2x64xf16>,
                                   %pt: tensor<3x8xi32>, %sl: tensor<3xi32>) -> (tensor<64x2x64xf16>, tensor<64x2x64xf16>) {
  %mn, %mx = ds.page_summary %kmin, %kmax, %k, %pt, %sl
      : (tensor<64x2x64xf16>, tensor<64x2x64xf16>, tensor<64x32x2x64xf16>, tensor<3x8xi32>, tensor<3xi32>)
      -> (tensor<64x2x64xf16>, tensor<64x2x64xf16>)
  return %mn, %mx : tensor<64x2x64xf16>, tensor<64x2x64xf16>
}

// CHECK-LABEL: func.func @page_summary_append
// CHECK-SAME:    (%[[MN:[^:]+]]: tensor<?x8x128xbf16>, %[[MX:[^:]+]]: tensor<?x8x128xbf16>, %[[K:[^:]+]]: tensor<?x8x128xbf16>, %[[S:[^:]+]]: tensor<?xi32>)
// CHECK:         %[[NMN:[^ ,]+]], %[[NMX:[^ ,]+]] = ds.page_summary_append %[[MN]], %[[MX]], %[[K]], %[[S]] {page_size = 16 : i64}
// CHECK-SAME:      : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
func.func @page_summary_append(%kmin: tensor<?x8x128xbf16>, %kmax: tensor<?x8x128xbf16>, %k: tensor<?x8x128xbf16>,
                               %slots: tensor<?xi32>) -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>) {
  %mn, %mx = ds.page_summary_append %kmin, %kmax, %k, %slots {page_size = 16 : i64}
      : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?xi32>)
      -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
  return %mn, %mx : tensor<?x8x128xbf16>, tensor<?x8x128xbf16>
}

// CHECK-LABEL: func.func @page_summary_append_f16_static
// CHECK:         ds.page_summary_append %{{.+}} {page_size = 32 : i64}
// CHECK-SAME:      : (tensor<128x4x64xf16>, tensor<128x4x64xf16>, tensor<5x4x64xf16>, tensor<5xi32>) -> (tensor<128x4x64xf16>, tensor<128x4x64xf16>)
func.func @page_summary_append_f16_static(%kmin: tensor<128x4x64xf16>, %kmax: tensor<128x4x64xf16>, %k: tensor<5x4x64xf16>,
                                          %slots: tensor<5xi32>) -> (tensor<128x4x64xf16>, tensor<128x4x64xf16>) {
  %mn, %mx = ds.page_summary_append %kmin, %kmax, %k, %slots {page_size = 32 : i64}
      : (tensor<128x4x64xf16>, tensor<128x4x64xf16>, tensor<5x4x64xf16>, tensor<5xi32>)
      -> (tensor<128x4x64xf16>, tensor<128x4x64xf16>)
  return %mn, %mx : tensor<128x4x64xf16>, tensor<128x4x64xf16>
}

//===----------------------------------------------------------------------===//
// page_score
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @page_score_mha
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<?x8x128xbf16>, %[[MN:[^:]+]]: tensor<?x8x128xbf16>, %[[MX:[^:]+]]: tensor<?x8x128xbf16>, %[[PT:[^:]+]]: tensor<?x?xi32>, %[[SL:[^:]+]]: tensor<?xi32>)
// CHECK:         %[[U:.+]] = ds.page_score %[[Q]], %[[MN]], %[[MX]], %[[PT]], %[[SL]] {page_size = 16 : i64}
// CHECK-SAME:      : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
// CHECK:         return %[[U]]
func.func @page_score_mha(%q: tensor<?x8x128xbf16>, %kmin: tensor<?x8x128xbf16>, %kmax: tensor<?x8x128xbf16>,
                          %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x?xf32> {
  %u = ds.page_score %q, %kmin, %kmax, %pt, %sl {page_size = 16 : i64}
      : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return %u : tensor<?x8x?xf32>
}

// CHECK-LABEL: func.func @page_score_gqa_sum
// CHECK:         ds.page_score {{.*}} {group_reduce = #ds.group_reduce<sum>, page_size = 16 : i64}
// CHECK-SAME:      : (tensor<?x32x128xf16>, tensor<?x8x128xf16>, tensor<?x8x128xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
func.func @page_score_gqa_sum(%q: tensor<?x32x128xf16>, %kmin: tensor<?x8x128xf16>, %kmax: tensor<?x8x128xf16>,
                              %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x?xf32> {
  %u = ds.page_score %q, %kmin, %kmax, %pt, %sl {page_size = 16 : i64, group_reduce = #ds.group_reduce<sum>}
      : (tensor<?x32x128xf16>, tensor<?x8x128xf16>, tensor<?x8x128xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  return %u : tensor<?x8x?xf32>
}

// CHECK-LABEL: func.func @page_score_gqa_max_static
// CHECK:         ds.page_score {{.*}} {group_reduce = #ds.group_reduce<max>, page_size = 32 : i64}
// CHECK-SAME:      : (tensor<2x32x128xbf16>, tensor<256x4x128xbf16>, tensor<256x4x128xbf16>, tensor<2x64xi32>, tensor<2xi32>) -> tensor<2x4x64xf32>
func.func @page_score_gqa_max_static(%q: tensor<2x32x128xbf16>, %kmin: tensor<256x4x128xbf16>, %kmax: tensor<256x4x128xbf16>,
                                     %pt: tensor<2x64xi32>, %sl: tensor<2xi32>) -> tensor<2x4x64xf32> {
  %u = ds.page_score %q, %kmin, %kmax, %pt, %sl {page_size = 32 : i64, group_reduce = #ds.group_reduce<max>}
      : (tensor<2x32x128xbf16>, tensor<256x4x128xbf16>, tensor<256x4x128xbf16>, tensor<2x64xi32>, tensor<2xi32>) -> tensor<2x4x64xf32>
  return %u : tensor<2x4x64xf32>
}

//===----------------------------------------------------------------------===//
// topk / topp / sample_residual
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @topk
// CHECK-SAME:    (%[[S:[^:]+]]: tensor<?x32x?xf32>, %[[L:[^:]+]]: tensor<?xi32>)
// CHECK:         %[[I:.+]] = ds.topk %[[S]], %[[L]] {k = 256 : i64} : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x32x256xi32>
// CHECK:         return %[[I]]
func.func @topk(%scores: tensor<?x32x?xf32>, %lens: tensor<?xi32>) -> tensor<?x32x256xi32> {
  %idx = ds.topk %scores, %lens {k = 256 : i64} : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x32x256xi32>
  return %idx : tensor<?x32x256xi32>
}

// Quest page selection: lens are token counts, divisor = page size, keep the last page.
// CHECK-LABEL: func.func @topk_divisor_keep_last
// CHECK:         ds.topk %{{.+}}, %{{.+}} {divisor = 16 : i64, k = 8 : i64, keep_last} : (tensor<4x8x64xf32>, tensor<4xi32>) -> tensor<4x8x8xi32>
func.func @topk_divisor_keep_last(%scores: tensor<4x8x64xf32>, %lens: tensor<4xi32>) -> tensor<4x8x8xi32> {
  %idx = ds.topk %scores, %lens {k = 8 : i64, divisor = 16 : i64, keep_last} : (tensor<4x8x64xf32>, tensor<4xi32>) -> tensor<4x8x8xi32>
  return %idx : tensor<4x8x8xi32>
}

// Label scoring fused with top-k (ds-fuse-score-topk's result).
// CHECK-LABEL: func.func @score_topk
// CHECK-SAME:    (%[[QL:[^:]+]]: tensor<?x32x16xbf16>, %[[C:[^:]+]]: tensor<8x?x16xbf16>, %[[PT:[^:]+]]: tensor<?x?xi32>, %[[SL:[^:]+]]: tensor<?xi32>)
// CHECK:         %[[I:.+]] = ds.score_topk %[[QL]], %[[C]], %[[PT]], %[[SL]]
// CHECK-SAME:      {group_reduce = #ds.group_reduce<sum>, k = 256 : i64, keep_last, page_size = 16 : i64, scale = 2.500000e-01 : f32}
// CHECK-SAME:      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x256xi32>
// CHECK:         return %[[I]]
func.func @score_topk(%ql: tensor<?x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x256xi32> {
  %idx = ds.score_topk %ql, %c, %pt, %sl {page_size = 16 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>, k = 256 : i64, keep_last}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x256xi32>
  return %idx : tensor<?x8x256xi32>
}

// MHA, f16, static shapes, with a config.
// CHECK-LABEL: func.func @score_topk_static
// CHECK:         ds.score_topk {{.*}} {config = #ds.kernel_config<block_tokens = 1024, warps = 16, splits = 1, stages = 1, vector_width = 8>, k = 8 : i64, page_size = 1 : i64, scale = 1.250000e-01 : f32}
// CHECK-SAME:      : (tensor<2x8x8xf16>, tensor<8x4096x8xf16>, tensor<2x2048xi32>, tensor<2xi32>) -> tensor<2x8x8xi32>
func.func @score_topk_static(%ql: tensor<2x8x8xf16>, %c: tensor<8x4096x8xf16>, %pt: tensor<2x2048xi32>, %sl: tensor<2xi32>) -> tensor<2x8x8xi32> {
  %idx = ds.score_topk %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.125 : f32, k = 8 : i64,
                                         config = #ds.kernel_config<block_tokens = 1024, warps = 16, splits = 1, stages = 1, vector_width = 8>}
      : (tensor<2x8x8xf16>, tensor<8x4096x8xf16>, tensor<2x2048xi32>, tensor<2xi32>) -> tensor<2x8x8xi32>
  return %idx : tensor<2x8x8xi32>
}

// score_topk gathering its query labels from q through the channels (an absorbed label_gather).
// CHECK-LABEL: func.func @score_topk_gather
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<?x32x128xbf16>, %[[C:[^:]+]]: tensor<8x?x16xbf16>, %[[PT:[^:]+]]: tensor<?x?xi32>, %[[SL:[^:]+]]: tensor<?xi32>, %[[CH:[^:]+]]: tensor<8x16xi32>)
// CHECK:         ds.score_topk %[[Q]], %[[C]], %[[PT]], %[[SL]], %[[CH]] {k = 64 : i64, page_size = 1 : i64, scale = 2.500000e-01 : f32}
// CHECK-SAME:      : (tensor<?x32x128xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<8x16xi32>) -> tensor<?x32x64xi32>
func.func @score_topk_gather(%q: tensor<?x32x128xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %ch: tensor<8x16xi32>) -> tensor<?x32x64xi32> {
  %idx = ds.score_topk %q, %c, %pt, %sl, %ch {page_size = 1 : i64, scale = 0.25 : f32, k = 64 : i64}
      : (tensor<?x32x128xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<8x16xi32>) -> tensor<?x32x64xi32>
  return %idx : tensor<?x32x64xi32>
}

// CHECK-LABEL: func.func @topp
// CHECK-SAME:    (%[[LG:[^:]+]]: tensor<?x32x256xf32>, %[[I:[^:]+]]: tensor<?x32x256xi32>)
// CHECK:         %[[KEPT:[^ ,]+]], %[[CNT:[^ ,]+]] = ds.topp %[[LG]], %[[I]] {top_p = 0.899999976 : f32}
// CHECK-SAME:      : (tensor<?x32x256xf32>, tensor<?x32x256xi32>) -> (tensor<?x32x256xi32>, tensor<?x32xi32>)
// CHECK:         return %[[KEPT]], %[[CNT]]
func.func @topp(%logits: tensor<?x32x256xf32>, %idx: tensor<?x32x256xi32>) -> (tensor<?x32x256xi32>, tensor<?x32xi32>) {
  %kept, %counts = ds.topp %logits, %idx {top_p = 0.9 : f32}
      : (tensor<?x32x256xf32>, tensor<?x32x256xi32>) -> (tensor<?x32x256xi32>, tensor<?x32xi32>)
  return %kept, %counts : tensor<?x32x256xi32>, tensor<?x32xi32>
}

// CHECK-LABEL: func.func @sample_residual
// CHECK-SAME:    (%[[F:[^:]+]]: tensor<?x32x256xi32>, %[[SL:[^:]+]]: tensor<?xi32>, %[[P:[^:]+]]: tensor<2xi64>)
// CHECK:         %[[IDX:[^ ,]+]], %[[LW:[^ ,]+]] = ds.sample_residual %[[F]], %[[SL]], %[[P]] {num_samples = 64 : i64}
// CHECK-SAME:      : (tensor<?x32x256xi32>, tensor<?xi32>, tensor<2xi64>) -> (tensor<?x32x320xi32>, tensor<?x32x320xf32>)
// CHECK:         return %[[IDX]], %[[LW]]
func.func @sample_residual(%fixed: tensor<?x32x256xi32>, %sl: tensor<?xi32>, %philox: tensor<2xi64>)
    -> (tensor<?x32x320xi32>, tensor<?x32x320xf32>) {
  %i, %w = ds.sample_residual %fixed, %sl, %philox {num_samples = 64 : i64}
      : (tensor<?x32x256xi32>, tensor<?xi32>, tensor<2xi64>) -> (tensor<?x32x320xi32>, tensor<?x32x320xf32>)
  return %i, %w : tensor<?x32x320xi32>, tensor<?x32x320xf32>
}

// vAttention's whole selection: sinks, window, the top-k and the samples.
// CHECK-LABEL: func.func @sample_residual_sinks_window
// CHECK:         ds.sample_residual %{{.+}}, %{{.+}}, %{{.+}} {num_samples = 1024 : i64, sinks = 64 : i64, window = 512 : i64}
// CHECK-SAME:      -> (tensor<?x32x2624xi32>, tensor<?x32x2624xf32>)
func.func @sample_residual_sinks_window(%fixed: tensor<?x32x1024xi32>, %sl: tensor<?xi32>, %philox: tensor<2xi64>)
    -> (tensor<?x32x2624xi32>, tensor<?x32x2624xf32>) {
  %i, %w = ds.sample_residual %fixed, %sl, %philox {sinks = 64 : i64, window = 512 : i64, num_samples = 1024 : i64}
      : (tensor<?x32x1024xi32>, tensor<?xi32>, tensor<2xi64>) -> (tensor<?x32x2624xi32>, tensor<?x32x2624xf32>)
  return %i, %w : tensor<?x32x2624xi32>, tensor<?x32x2624xf32>
}

// Twilight's int4 keys and the label estimate over a candidate list.
// CHECK-LABEL: func.func @int4_keys
// CHECK:         ds.int4_append %{{.+}}, %{{.+}}, %{{.+}} : (tensor<?x8x20xi32>, tensor<?x8x128xbf16>, tensor<?xi32>) -> tensor<?x8x20xi32>
// CHECK:         ds.int4_score {{.*}} {group_reduce = #ds.group_reduce<sum>, page_size = 16 : i64, scale = 1.250000e-01 : f32}
// CHECK:         ds.label_score {{.*}} : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x64xf32>
func.func @int4_keys(%kq: tensor<?x8x20xi32>, %k: tensor<?x8x128xbf16>, %sm: tensor<?xi32>,
                     %q: tensor<?x32x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %c: tensor<?x8x64xi32>,
                     %ql: tensor<?x32x16xbf16>, %lc: tensor<8x?x16xbf16>, %c32: tensor<?x32x64xi32>)
    -> (tensor<?x8x64xf32>, tensor<?x32x64xf32>) {
  %q2 = ds.int4_append %kq, %k, %sm : (tensor<?x8x20xi32>, tensor<?x8x128xbf16>, tensor<?xi32>) -> tensor<?x8x20xi32>
  %e = ds.int4_score %q, %q2, %pt, %sl, %c {page_size = 16 : i64, scale = 0.125 : f32, group_reduce = #ds.group_reduce<sum>}
      : (tensor<?x32x128xbf16>, tensor<?x8x20xi32>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x8x64xi32>) -> tensor<?x8x64xf32>
  %l = ds.label_score %ql, %lc, %pt, %sl, %c32 {page_size = 1 : i64, scale = 0.25 : f32}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x64xi32>) -> tensor<?x32x64xf32>
  return %e, %l : tensor<?x8x64xf32>, tensor<?x32x64xf32>
}

//===----------------------------------------------------------------------===//
// sparse_decode / dense_decode
//===----------------------------------------------------------------------===//

// Per-head token selection, MHA, P = 1.
// CHECK-LABEL: func.func @sparse_decode_token
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<?x32x128xbf16>, %[[K:[^:]+]]: tensor<?x1x32x128xbf16>, %[[V:[^:]+]]: tensor<?x1x32x128xbf16>, %[[PT:[^:]+]]: tensor<?x?xi32>, %[[SL:[^:]+]]: tensor<?xi32>, %[[I:[^:]+]]: tensor<?x32x256xi32>)
// CHECK:         %[[O:.+]] = ds.sparse_decode %[[Q]], %[[K]], %[[V]], %[[PT]], %[[SL]], %[[I]] {scale = 0.0879999995 : f32}
// CHECK-SAME:      : (tensor<?x32x128xbf16>, tensor<?x1x32x128xbf16>, tensor<?x1x32x128xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x256xi32>) -> tensor<?x32x128xbf16>
// CHECK:         return %[[O]]
func.func @sparse_decode_token(%q: tensor<?x32x128xbf16>, %k: tensor<?x1x32x128xbf16>, %v: tensor<?x1x32x128xbf16>,
                               %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %idx: tensor<?x32x256xi32>) -> tensor<?x32x128xbf16> {
  %o = ds.sparse_decode %q, %k, %v, %pt, %sl, %idx {scale = 0.088 : f32}
      : (tensor<?x32x128xbf16>, tensor<?x1x32x128xbf16>, tensor<?x1x32x128xbf16>,
         tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x256xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}

// GQA, selection shared by the group (Hsel = Hkv), with log-weights from residual sampling.
// CHECK-LABEL: func.func @sparse_decode_log_weights_gqa
// CHECK-SAME:    %[[I:[^:]+]]: tensor<?x8x320xi32>, %[[W:[^:]+]]: tensor<?x8x320xf32>)
// CHECK:         ds.sparse_decode %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[I]], %[[W]] {scale = 1.250000e-01 : f32}
// CHECK-SAME:      : (tensor<?x32x64xf16>, tensor<?x1x8x64xf16>, tensor<?x1x8x64xf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x8x320xi32>, tensor<?x8x320xf32>) -> tensor<?x32x64xf16>
func.func @sparse_decode_log_weights_gqa(%q: tensor<?x32x64xf16>, %k: tensor<?x1x8x64xf16>, %v: tensor<?x1x8x64xf16>,
                                         %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %idx: tensor<?x8x320xi32>,
                                         %w: tensor<?x8x320xf32>) -> tensor<?x32x64xf16> {
  %o = ds.sparse_decode %q, %k, %v, %pt, %sl, %idx, %w {scale = 0.125 : f32}
      : (tensor<?x32x64xf16>, tensor<?x1x8x64xf16>, tensor<?x1x8x64xf16>,
         tensor<?x?xi32>, tensor<?xi32>, tensor<?x8x320xi32>, tensor<?x8x320xf32>) -> tensor<?x32x64xf16>
  return %o : tensor<?x32x64xf16>
}

// Quest: page granularity, P = 16, static shapes.
// CHECK-LABEL: func.func @sparse_decode_page
// CHECK:         ds.sparse_decode {{.*}} {granularity = #ds.granularity<page>, scale = 0.0883883461 : f32}
// CHECK-SAME:      : (tensor<4x32x128xbf16>, tensor<512x16x8x128xbf16>, tensor<512x16x8x128xbf16>, tensor<4x128xi32>, tensor<4xi32>, tensor<4x32x16xi32>) -> tensor<4x32x128xbf16>
func.func @sparse_decode_page(%q: tensor<4x32x128xbf16>, %k: tensor<512x16x8x128xbf16>, %v: tensor<512x16x8x128xbf16>,
                              %pt: tensor<4x128xi32>, %sl: tensor<4xi32>, %idx: tensor<4x32x16xi32>) -> tensor<4x32x128xbf16> {
  %o = ds.sparse_decode %q, %k, %v, %pt, %sl, %idx {scale = 0.0883883461 : f32, granularity = #ds.granularity<page>}
      : (tensor<4x32x128xbf16>, tensor<512x16x8x128xbf16>, tensor<512x16x8x128xbf16>,
         tensor<4x128xi32>, tensor<4xi32>, tensor<4x32x16xi32>) -> tensor<4x32x128xbf16>
  return %o : tensor<4x32x128xbf16>
}

// CHECK-LABEL: func.func @sparse_decode_soft_cap
// CHECK:         ds.sparse_decode {{.*}} {scale = 6.250000e-02 : f32, soft_cap = 5.000000e+01 : f32}
// CHECK-SAME:      -> tensor<?x16x256xf16>
func.func @sparse_decode_soft_cap(%q: tensor<?x16x256xf16>, %k: tensor<?x1x16x256xf16>, %v: tensor<?x1x16x256xf16>,
                                  %pt: tensor<?x?xi32>, %sl: tensor<?xi32>, %idx: tensor<?x16x64xi32>) -> tensor<?x16x256xf16> {
  %o = ds.sparse_decode %q, %k, %v, %pt, %sl, %idx {scale = 0.0625 : f32, soft_cap = 50.0 : f32}
      : (tensor<?x16x256xf16>, tensor<?x1x16x256xf16>, tensor<?x1x16x256xf16>,
         tensor<?x?xi32>, tensor<?xi32>, tensor<?x16x64xi32>) -> tensor<?x16x256xf16>
  return %o : tensor<?x16x256xf16>
}

// CHECK-LABEL: func.func @dense_decode_gqa
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<?x32x128xbf16>, %[[K:[^:]+]]: tensor<?x16x8x128xbf16>, %[[V:[^:]+]]: tensor<?x16x8x128xbf16>, %[[PT:[^:]+]]: tensor<?x?xi32>, %[[SL:[^:]+]]: tensor<?xi32>)
// CHECK:         %[[O:.+]] = ds.dense_decode %[[Q]], %[[K]], %[[V]], %[[PT]], %[[SL]] {scale = 0.0883883461 : f32}
// CHECK-SAME:      : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xbf16>
// CHECK:         return %[[O]]
func.func @dense_decode_gqa(%q: tensor<?x32x128xbf16>, %k: tensor<?x16x8x128xbf16>, %v: tensor<?x16x8x128xbf16>,
                            %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x128xbf16> {
  %o = ds.dense_decode %q, %k, %v, %pt, %sl {scale = 0.0883883461 : f32}
      : (tensor<?x32x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x128xbf16>
  return %o : tensor<?x32x128xbf16>
}

// CHECK-LABEL: func.func @dense_decode_mha_f16_soft_cap
// CHECK:         ds.dense_decode {{.*}} {scale = 1.250000e-01 : f32, soft_cap = 3.000000e+01 : f32}
// CHECK-SAME:      : (tensor<2x8x64xf16>, tensor<100x1x8x64xf16>, tensor<100x1x8x64xf16>, tensor<2x100xi32>, tensor<2xi32>) -> tensor<2x8x64xf16>
func.func @dense_decode_mha_f16_soft_cap(%q: tensor<2x8x64xf16>, %k: tensor<100x1x8x64xf16>, %v: tensor<100x1x8x64xf16>,
                                         %pt: tensor<2x100xi32>, %sl: tensor<2xi32>) -> tensor<2x8x64xf16> {
  %o = ds.dense_decode %q, %k, %v, %pt, %sl {scale = 0.125 : f32, soft_cap = 30.0 : f32}
      : (tensor<2x8x64xf16>, tensor<100x1x8x64xf16>, tensor<100x1x8x64xf16>, tensor<2x100xi32>, tensor<2xi32>) -> tensor<2x8x64xf16>
  return %o : tensor<2x8x64xf16>
}

//===----------------------------------------------------------------------===//
// linear attention
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @linear_attn_prefill
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<?x8x64xbf16>, %[[K:[^:]+]]: tensor<?x8x64xbf16>, %[[V:[^:]+]]: tensor<?x8x96xbf16>, %[[SLP:[^:]+]]: tensor<8xf32>, %[[CU:[^:]+]]: tensor<?xi32>, %[[ST:[^:]+]]: tensor<?x8x64x96xf32>, %[[SI:[^:]+]]: tensor<?xi32>, %[[HI:[^:]+]]: tensor<?xi32>)
// CHECK:         %[[O:[^ ,]+]], %[[NS:[^ ,]+]] = ds.linear_attn_prefill %[[Q]], %[[K]], %[[V]], %[[SLP]], %[[CU]], %[[ST]], %[[SI]], %[[HI]]
// CHECK-NOT:       chunk_size
// CHECK-SAME:      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>, tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
// CHECK:         return %[[O]], %[[NS]]
func.func @linear_attn_prefill(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x96xbf16>, %slopes: tensor<8xf32>,
                               %cu: tensor<?xi32>, %states: tensor<?x8x64x96xf32>, %si: tensor<?xi32>, %hi: tensor<?xi32>)
    -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>) {
  %o, %s = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %states, %si, %hi
      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x96xbf16>, tensor<8xf32>, tensor<?xi32>,
         tensor<?x8x64x96xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>)
  return %o, %s : tensor<?x8x96xbf16>, tensor<?x8x64x96xf32>
}

// CHECK-LABEL: func.func @linear_attn_prefill_keep_intermediate
// CHECK:         %[[O:[^ ,]+]], %[[NS:[^ ,]+]], %[[INT:[^ ,]+]] = ds.linear_attn_prefill {{.*}} {chunk_size = 32 : i64, keep_intermediate}
// CHECK-SAME:      : (tensor<10x4x64xf16>, tensor<10x4x64xf16>, tensor<10x4x64xf16>, tensor<4xf32>, tensor<3xi32>, tensor<16x4x64x64xf32>, tensor<2xi32>, tensor<2xi32>) -> (tensor<10x4x64xf16>, tensor<16x4x64x64xf32>, tensor<10x4x64x64xf32>)
// CHECK:         return %[[O]], %[[NS]], %[[INT]]
func.func @linear_attn_prefill_keep_intermediate(%q: tensor<10x4x64xf16>, %k: tensor<10x4x64xf16>, %v: tensor<10x4x64xf16>,
                                                 %slopes: tensor<4xf32>, %cu: tensor<3xi32>, %states: tensor<16x4x64x64xf32>,
                                                 %si: tensor<2xi32>, %hi: tensor<2xi32>)
    -> (tensor<10x4x64xf16>, tensor<16x4x64x64xf32>, tensor<10x4x64x64xf32>) {
  %o, %s, %inter = ds.linear_attn_prefill %q, %k, %v, %slopes, %cu, %states, %si, %hi {chunk_size = 32 : i64, keep_intermediate}
      : (tensor<10x4x64xf16>, tensor<10x4x64xf16>, tensor<10x4x64xf16>, tensor<4xf32>, tensor<3xi32>,
         tensor<16x4x64x64xf32>, tensor<2xi32>, tensor<2xi32>)
      -> (tensor<10x4x64xf16>, tensor<16x4x64x64xf32>, tensor<10x4x64x64xf32>)
  return %o, %s, %inter : tensor<10x4x64xf16>, tensor<16x4x64x64xf32>, tensor<10x4x64x64xf32>
}

// CHECK-LABEL: func.func @linear_attn_decode
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<?x8x64xbf16>, %[[K:[^:]+]]: tensor<?x8x64xbf16>, %[[V:[^:]+]]: tensor<?x8x64xbf16>, %[[SLP:[^:]+]]: tensor<8xf32>, %[[ST:[^:]+]]: tensor<?x8x64x64xf32>, %[[SI:[^:]+]]: tensor<?xi32>)
// CHECK:         %[[O:[^ ,]+]], %[[NS:[^ ,]+]] = ds.linear_attn_decode %[[Q]], %[[K]], %[[V]], %[[SLP]], %[[ST]], %[[SI]]
// CHECK-SAME:      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<8xf32>, tensor<?x8x64x64xf32>, tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>)
// CHECK:         return %[[O]], %[[NS]]
func.func @linear_attn_decode(%q: tensor<?x8x64xbf16>, %k: tensor<?x8x64xbf16>, %v: tensor<?x8x64xbf16>, %slopes: tensor<8xf32>,
                              %states: tensor<?x8x64x64xf32>, %si: tensor<?xi32>) -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>) {
  %o, %s = ds.linear_attn_decode %q, %k, %v, %slopes, %states, %si
      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<8xf32>, tensor<?x8x64x64xf32>, tensor<?xi32>)
      -> (tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>)
  return %o, %s : tensor<?x8x64xbf16>, tensor<?x8x64x64xf32>
}

// CHECK-LABEL: func.func @linear_attn_decode_f16_static
// CHECK:         ds.linear_attn_decode
// CHECK-SAME:      : (tensor<3x2x32xf16>, tensor<3x2x32xf16>, tensor<3x2x16xf16>, tensor<2xf32>, tensor<8x2x32x16xf32>, tensor<3xi32>) -> (tensor<3x2x16xf16>, tensor<8x2x32x16xf32>)
func.func @linear_attn_decode_f16_static(%q: tensor<3x2x32xf16>, %k: tensor<3x2x32xf16>, %v: tensor<3x2x16xf16>, %slopes: tensor<2xf32>,
                                         %states: tensor<8x2x32x16xf32>, %si: tensor<3xi32>) -> (tensor<3x2x16xf16>, tensor<8x2x32x16xf32>) {
  %o, %s = ds.linear_attn_decode %q, %k, %v, %slopes, %states, %si
      : (tensor<3x2x32xf16>, tensor<3x2x32xf16>, tensor<3x2x16xf16>, tensor<2xf32>, tensor<8x2x32x16xf32>, tensor<3xi32>)
      -> (tensor<3x2x16xf16>, tensor<8x2x32x16xf32>)
  return %o, %s : tensor<3x2x16xf16>, tensor<8x2x32x16xf32>
}

//===----------------------------------------------------------------------===//
// #ds.kernel_config
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @kernel_config_on_dense_decode
// CHECK:         ds.dense_decode {{.*}} {config = #ds.kernel_config<block_tokens = 128, warps = 8, splits = 16, stages = 3, vector_width = 8>, scale = 1.250000e-01 : f32}
func.func @kernel_config_on_dense_decode(%q: tensor<?x8x64xbf16>, %k: tensor<?x16x8x64xbf16>, %v: tensor<?x16x8x64xbf16>,
                                         %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x64xbf16> {
  %o = ds.dense_decode %q, %k, %v, %pt, %sl
      {scale = 0.125 : f32, config = #ds.kernel_config<block_tokens = 128, warps = 8, splits = 16, stages = 3, vector_width = 8>}
      : (tensor<?x8x64xbf16>, tensor<?x16x8x64xbf16>, tensor<?x16x8x64xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x64xbf16>
  return %o : tensor<?x8x64xbf16>
}

// Boundary values of every parameter (warps 1 and 32, vector_width 1 and 16).
// CHECK-LABEL: func.func @kernel_config_bounds
// CHECK:         ds.topk {{.*}} {config = #ds.kernel_config<block_tokens = 1, warps = 32, splits = 1, stages = 1, vector_width = 16>, k = 4 : i64}
// CHECK:         ds.label_gather {{.*}} {config = #ds.kernel_config<block_tokens = 1, warps = 1, splits = 1, stages = 1, vector_width = 1>}
func.func @kernel_config_bounds(%s: tensor<?x8x?xf32>, %l: tensor<?xi32>, %x: tensor<?x8x64xf16>, %ch: tensor<8x8xi32>)
    -> (tensor<?x8x4xi32>, tensor<?x8x8xf16>) {
  %i = ds.topk %s, %l {k = 4 : i64, config = #ds.kernel_config<block_tokens = 1, warps = 32, splits = 1, stages = 1, vector_width = 16>}
      : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  %g = ds.label_gather %x, %ch {config = #ds.kernel_config<block_tokens = 1, warps = 1, splits = 1, stages = 1, vector_width = 1>}
      : (tensor<?x8x64xf16>, tensor<8x8xi32>) -> tensor<?x8x8xf16>
  return %i, %g : tensor<?x8x4xi32>, tensor<?x8x8xf16>
}

// The attribute also round-trips outside an op (a discardable attribute on a function).
// CHECK-LABEL: func.func @kernel_config_discardable
// CHECK-SAME:    attributes {ds.tuned = #ds.kernel_config<block_tokens = 256, warps = 4, splits = 2, stages = 4, vector_width = 2>}
func.func @kernel_config_discardable() attributes {ds.tuned = #ds.kernel_config<block_tokens = 256, warps = 4, splits = 2, stages = 4, vector_width = 2>} {
  return
}

// CHECK-LABEL: func.func @split_decode_ops
// CHECK: %[[A:.+]], %[[M:.+]] = ds.decode_partial %{{.*}} indices %{{.*}} weights %{{.*}} {dense_below = 16 : i64, scale = 1.250000e-01 : f32}
// CHECK: ds.decode_merge %[[A]], %[[M]] : (tensor<?x32x?x64xf32>, tensor<?x32x?x2xf32>) -> tensor<?x32x64xbf16>
func.func @split_decode_ops(%q: tensor<?x32x64xbf16>, %k: tensor<?x1x8x64xbf16>, %v: tensor<?x1x8x64xbf16>, %pt: tensor<?x?xi32>,
                            %sl: tensor<?xi32>, %idx: tensor<?x8x128xi32>, %w: tensor<?x8x128xf32>) -> tensor<?x32x64xbf16> {
  %acc, %ml = ds.decode_partial %q, %k, %v, %pt, %sl indices %idx weights %w {scale = 0.125 : f32, dense_below = 16 : i64}
      : tensor<?x32x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x1x8x64xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x8x128xi32>, tensor<?x8x128xf32>
      -> tensor<?x32x?x64xf32>, tensor<?x32x?x2xf32>
  %o = ds.decode_merge %acc, %ml : (tensor<?x32x?x64xf32>, tensor<?x32x?x2xf32>) -> tensor<?x32x64xbf16>
  return %o : tensor<?x32x64xbf16>
}

// CHECK-LABEL: func.func @decode_partial_dense
// CHECK: ds.decode_partial %{{[^ ]+}}, %{{[^ ]+}}, %{{[^ ]+}}, %{{[^ ]+}}, %{{[^ ]+}} {scale
func.func @decode_partial_dense(%q: tensor<2x8x128xf16>, %k: tensor<?x16x8x128xf16>, %v: tensor<?x16x8x128xf16>, %pt: tensor<2x?xi32>, %sl: tensor<2xi32>)
    -> (tensor<2x8x?x128xf32>, tensor<2x8x?x2xf32>) {
  %acc, %ml = ds.decode_partial %q, %k, %v, %pt, %sl {scale = 0.088 : f32}
      : tensor<2x8x128xf16>, tensor<?x16x8x128xf16>, tensor<?x16x8x128xf16>, tensor<2x?xi32>, tensor<2xi32> -> tensor<2x8x?x128xf32>, tensor<2x8x?x2xf32>
  return %acc, %ml : tensor<2x8x?x128xf32>, tensor<2x8x?x2xf32>
}

//===----------------------------------------------------------------------===//
// #ds.kernel_config's optional fields and #ds.target
//===----------------------------------------------------------------------===//

// Defaults (variant empty, occupancy 0) are not printed; given ones round-trip.
// CHECK-LABEL: func.func @config_fields_and_target
// CHECK-SAME:    a = #ds.kernel_config<block_tokens = 1, warps = 8, splits = 1, stages = 1, vector_width = 1>
// CHECK-SAME:    b = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 2, vector_width = 8, variant = "chunked", occupancy = 2>
// CHECK-SAME:    ds.target = #ds.target<chip = "sm_120a", sm_count = 84, smem_per_block = 101376, regs_per_sm = 65536, l2_bytes = 100663296, ptx = 87>
func.func @config_fields_and_target() attributes {
    a = #ds.kernel_config<block_tokens = 1, warps = 8, splits = 1, stages = 1, vector_width = 1, variant = "", occupancy = 0>,
    b = #ds.kernel_config<block_tokens = 64, warps = 4, splits = 1, stages = 2, vector_width = 8, variant = "chunked", occupancy = 2>,
    ds.target = #ds.target<chip = "sm_120a", sm_count = 84, smem_per_block = 101376, regs_per_sm = 65536, l2_bytes = 100663296, ptx = 87>} {
  return
}
