// RUN: ds-opt %s --ds-fuse-score-topk --split-input-file | FileCheck %s
// The fused op re-parses, and the config pass gives it its own config.
// RUN: ds-opt %s --ds-fuse-score-topk --ds-select-kernel-config --split-input-file | ds-opt --split-input-file | FileCheck %s --check-prefix=CONFIG

// label_score feeding only a topk over its seq_lens (divisor 1) becomes one score_topk with the
// attributes of both (the fused kernel is tuned afresh).

// CHECK-LABEL: func.func @fused
// CHECK-SAME:    (%[[QL:[^:]+]]: tensor<?x32x16xbf16>, %[[C:[^:]+]]: tensor<8x?x16xbf16>, %[[PT:[^:]+]]: tensor<?x?xi32>, %[[SL:[^:]+]]: tensor<?xi32>)
// CHECK-NOT:     ds.label_score
// CHECK-NOT:     ds.topk
// CHECK:         %[[I:.+]] = ds.score_topk %[[QL]], %[[C]], %[[PT]], %[[SL]]
// CHECK-SAME:      {group_reduce = #ds.group_reduce<sum>, k = 256 : i64, keep_last, page_size = 16 : i64, scale = 2.500000e-01 : f32}
// CHECK-SAME:      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x256xi32>
// CHECK-NOT:     ds.topk
// CHECK:         return %[[I]]
// CONFIG-LABEL: func.func @fused
// CONFIG:         ds.score_topk {{.*}}config = #ds.kernel_config<block_tokens = 49152, warps = 32, splits = 2, stages = 2, vector_width = 8, cluster_warps = 32, cluster_stages = 2>
func.func @fused(%ql: tensor<?x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x256xi32> {
  %a = ds.label_score %ql, %c, %pt, %sl {page_size = 16 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  %i = ds.topk %a, %sl {k = 256 : i64, keep_last}
      : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x256xi32>
  return %i : tensor<?x8x256xi32>
}

// -----

// A config written on either producer is a contract for its kernel: the pair stays apart (the
// fusion would drop it), and the config pass checks and keeps it.
// CHECK-LABEL: func.func @configs_keep_producers
// CHECK:         ds.label_score {{.*}}config = #ds.kernel_config<block_tokens = 512, warps = 4, splits = 1, stages = 1, vector_width = 8>
// CHECK:         ds.topk
// CHECK-NOT:     ds.score_topk
// CHECK-LABEL: func.func @topk_config_keeps_producers
// CHECK:         ds.label_score
// CHECK:         ds.topk {{.*}}config = #ds.kernel_config<block_tokens = 1, warps = 32, splits = 1, stages = 1, vector_width = 1>
// CHECK-NOT:     ds.score_topk
// CONFIG-LABEL: func.func @configs_keep_producers
// CONFIG:         ds.label_score {{.*}}config = #ds.kernel_config<block_tokens = 512, warps = 4, splits = 1, stages = 1, vector_width = 8>
func.func @configs_keep_producers(%ql: tensor<?x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x256xi32> {
  %a = ds.label_score %ql, %c, %pt, %sl {page_size = 16 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>,
                                         config = #ds.kernel_config<block_tokens = 512, warps = 4, splits = 1, stages = 1, vector_width = 8>}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  %i = ds.topk %a, %sl {k = 256 : i64, keep_last}
      : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x256xi32>
  return %i : tensor<?x8x256xi32>
}
func.func @topk_config_keeps_producers(%ql: tensor<?x32x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x256xi32> {
  %a = ds.label_score %ql, %c, %pt, %sl {page_size = 16 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  %i = ds.topk %a, %sl {k = 256 : i64, keep_last, config = #ds.kernel_config<block_tokens = 1, warps = 32, splits = 1, stages = 1, vector_width = 1>}
      : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x256xi32>
  return %i : tensor<?x8x256xi32>
}

// -----

// A static score dim equal to max_pages * P (64 * 16) fuses too; MHA, no keep_last.
// CHECK-LABEL: func.func @fused_static
// CHECK:         ds.score_topk {{.*}} {k = 64 : i64, page_size = 16 : i64, scale = 1.250000e-01 : f32} : {{.*}} -> tensor<2x8x64xi32>
// CHECK-NOT:     ds.topk
func.func @fused_static(%ql: tensor<2x8x16xf16>, %c: tensor<8x?x16xf16>, %pt: tensor<2x64xi32>, %sl: tensor<2xi32>) -> tensor<2x8x64xi32> {
  %a = ds.label_score %ql, %c, %pt, %sl {page_size = 16 : i64, scale = 0.125 : f32}
      : (tensor<2x8x16xf16>, tensor<8x?x16xf16>, tensor<2x64xi32>, tensor<2xi32>) -> tensor<2x8x1024xf32>
  %i = ds.topk %a, %sl {k = 64 : i64} : (tensor<2x8x1024xf32>, tensor<2xi32>) -> tensor<2x8x64xi32>
  return %i : tensor<2x8x64xi32>
}

// -----

// The scores have another use (they are returned): both ops stay.
// CHECK-LABEL: func.func @scores_used_twice
// CHECK:         ds.label_score
// CHECK:         ds.topk
// CHECK-NOT:     ds.score_topk
func.func @scores_used_twice(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>)
    -> (tensor<?x8x?xf32>, tensor<?x8x64xi32>) {
  %a = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32}
      : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  %i = ds.topk %a, %sl {k = 64 : i64} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return %a, %i : tensor<?x8x?xf32>, tensor<?x8x64xi32>
}

// -----

// topk's lens is not label_score's seq_lens.
// CHECK-LABEL: func.func @other_lens
// CHECK:         ds.label_score
// CHECK:         ds.topk
// CHECK-NOT:     ds.score_topk
func.func @other_lens(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>,
                      %lens: tensor<?xi32>) -> tensor<?x8x64xi32> {
  %a = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32}
      : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  %i = ds.topk %a, %lens {k = 64 : i64} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return %i : tensor<?x8x64xi32>
}

// -----

// A divisor other than 1 (rows of pages, not tokens).
// CHECK-LABEL: func.func @divisor
// CHECK:         ds.label_score
// CHECK:         ds.topk {{.*}}divisor = 16
// CHECK-NOT:     ds.score_topk
func.func @divisor(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x4xi32> {
  %a = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32}
      : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  %i = ds.topk %a, %sl {k = 4 : i64, divisor = 16 : i64} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return %i : tensor<?x8x4xi32>
}

// -----

// A static score dim other than max_pages * P: topk's row clamp (N) would differ from
// label_score's (max_pages * P), so the pair stays.
// CHECK-LABEL: func.func @static_n_mismatch
// CHECK:         ds.label_score
// CHECK:         ds.topk
// CHECK-NOT:     ds.score_topk
func.func @static_n_mismatch(%ql: tensor<?x8x16xbf16>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x64xi32> {
  %a = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32}
      : (tensor<?x8x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x4096xf32>
  %i = ds.topk %a, %sl {k = 64 : i64} : (tensor<?x8x4096xf32>, tensor<?xi32>) -> tensor<?x8x64xi32>
  return %i : tensor<?x8x64xi32>
}

// -----

// A topk of scores that label_score did not produce is left alone.
// CHECK-LABEL: func.func @plain_topk
// CHECK:         ds.topk
// CHECK-NOT:     ds.score_topk
func.func @plain_topk(%s: tensor<?x8x?xf32>, %sl: tensor<?xi32>) -> tensor<?x8x4xi32> {
  %i = ds.topk %s, %sl {k = 4 : i64} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x4xi32>
  return %i : tensor<?x8x4xi32>
}

// -----

// A label_gather whose labels only feed the scoring is absorbed: score_topk takes q and the
// channels and gathers the query labels in its own kernel.
// CHECK-LABEL: func.func @gather_absorbed
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<?x32x128xbf16>, %[[CH:[^:]+]]: tensor<8x16xi32>, %[[C:[^:]+]]: tensor<8x?x16xbf16>, %[[PT:[^:]+]]: tensor<?x?xi32>, %[[SL:[^:]+]]: tensor<?xi32>)
// CHECK-NOT:     ds.label_gather
// CHECK:         ds.score_topk %[[Q]], %[[C]], %[[PT]], %[[SL]], %[[CH]]
// CHECK-SAME:      : (tensor<?x32x128xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<8x16xi32>) -> tensor<?x8x256xi32>
// CONFIG-LABEL: func.func @gather_absorbed
// CONFIG:         ds.score_topk {{.*}}config = #ds.kernel_config<block_tokens = 49152, warps = 32, splits = 2, stages = 2, vector_width = 8, cluster_warps = 32, cluster_stages = 2>
func.func @gather_absorbed(%q: tensor<?x32x128xbf16>, %ch: tensor<8x16xi32>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x256xi32> {
  %ql = ds.label_gather %q, %ch : (tensor<?x32x128xbf16>, tensor<8x16xi32>) -> tensor<?x32x16xbf16>
  %a = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  %i = ds.topk %a, %sl {k = 256 : i64} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x256xi32>
  return %i : tensor<?x8x256xi32>
}

// -----

// The gathered labels are also returned: the gather stays and score_topk reads them.
// CHECK-LABEL: func.func @gather_used_twice
// CHECK:         %[[QL:.+]] = ds.label_gather
// CHECK:         ds.score_topk %[[QL]], %{{[^,]+}}, %{{[^,]+}}, %{{[^ ]+}} {
// CHECK-SAME:      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x256xi32>
func.func @gather_used_twice(%q: tensor<?x32x128xbf16>, %ch: tensor<8x16xi32>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>)
    -> (tensor<?x32x16xbf16>, tensor<?x8x256xi32>) {
  %ql = ds.label_gather %q, %ch : (tensor<?x32x128xbf16>, tensor<8x16xi32>) -> tensor<?x32x16xbf16>
  %a = ds.label_score %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  %i = ds.topk %a, %sl {k = 256 : i64} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x256xi32>
  return %ql, %i : tensor<?x32x16xbf16>, tensor<?x8x256xi32>
}

// -----

// A low-bit label cache's scales travel into the fused op (and the gather is absorbed); the
// config counts fp8 labels per load: 16 of them in 16 bytes.
// CHECK-LABEL: func.func @fp8_scales
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<?x32x128xbf16>, %[[CH:[^:]+]]: tensor<32x16xi32>, %[[C:[^:]+]]: tensor<32x?x16xf8E4M3FN>, %[[S:[^:]+]]: tensor<32x?xf16>, %[[PT:[^:]+]]: tensor<?x?xi32>, %[[SL:[^:]+]]: tensor<?xi32>)
// CHECK:         ds.score_topk %[[Q]], %[[C]] scales(%[[S]]), %[[PT]], %[[SL]], %[[CH]]
// CHECK-SAME:      : (tensor<?x32x128xbf16>, tensor<32x?x16xf8E4M3FN>, tensor<32x?xf16>, tensor<?x?xi32>, tensor<?xi32>, tensor<32x16xi32>) -> tensor<?x32x256xi32>
// CONFIG-LABEL: func.func @fp8_scales
// CONFIG:         ds.score_topk {{.*}}vector_width = 16, cluster_warps = 32, cluster_stages = 4>
func.func @fp8_scales(%q: tensor<?x32x128xbf16>, %ch: tensor<32x16xi32>, %c: tensor<32x?x16xf8E4M3FN>, %s: tensor<32x?xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x256xi32> {
  %ql = ds.label_gather %q, %ch : (tensor<?x32x128xbf16>, tensor<32x16xi32>) -> tensor<?x32x16xbf16>
  %a = ds.label_score %ql, %c scales(%s), %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32}
      : (tensor<?x32x16xbf16>, tensor<32x?x16xf8E4M3FN>, tensor<32x?xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x?xf32>
  %i = ds.topk %a, %sl {k = 256 : i64} : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x32x256xi32>
  return %i : tensor<?x32x256xi32>
}

// -----

// int4 labels: r = 16 labels in 2 words per slot, all 16 per load (8 bytes).
// CONFIG-LABEL: func.func @int4_scales
// CONFIG:         ds.score_topk {{.*}}scales({{.*}}vector_width = 16, cluster_warps = 32, cluster_stages = 4>
func.func @int4_scales(%ql: tensor<?x32x16xbf16>, %c: tensor<32x?x2xi32>, %s: tensor<32x?xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x256xi32> {
  %a = ds.label_score %ql, %c scales(%s), %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32}
      : (tensor<?x32x16xbf16>, tensor<32x?x2xi32>, tensor<32x?xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x?xf32>
  %i = ds.topk %a, %sl {k = 256 : i64} : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x32x256xi32>
  return %i : tensor<?x32x256xi32>
}

// -----

// A config written on a score_topk stays when it absorbs the gather: the user asked for that
// kernel shape (the config pass checks it again, and keeps it).
// CHECK-LABEL: func.func @gather_absorbed_written_config
// CHECK-NOT:     ds.label_gather
// CHECK:         ds.score_topk {{.*}}config = #ds.kernel_config<block_tokens = 4096, warps = 4, splits = 1, stages = 1, vector_width = 4>
// CONFIG-LABEL: func.func @gather_absorbed_written_config
// CONFIG:         ds.score_topk {{.*}}config = #ds.kernel_config<block_tokens = 4096, warps = 4, splits = 1, stages = 1, vector_width = 4>
func.func @gather_absorbed_written_config(%q: tensor<?x32x128xbf16>, %ch: tensor<8x16xi32>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x256xi32> {
  %ql = ds.label_gather %q, %ch : (tensor<?x32x128xbf16>, tensor<8x16xi32>) -> tensor<?x32x16xbf16>
  %i = ds.score_topk %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>, k = 256 : i64,
       config = #ds.kernel_config<block_tokens = 4096, warps = 4, splits = 1, stages = 1, vector_width = 4>}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x256xi32>
  return %i : tensor<?x8x256xi32>
}

// -----

// A config written on the gather keeps it (and its kernel) apart.
// CHECK-LABEL: func.func @gather_config_kept
// CHECK:         ds.label_gather {{.*}}config = #ds.kernel_config<block_tokens = 1, warps = 4, splits = 1, stages = 1, vector_width = 1>
// CHECK:         ds.score_topk
// CONFIG-LABEL: func.func @gather_config_kept
// CONFIG:         ds.label_gather {{.*}}config = #ds.kernel_config<block_tokens = 1, warps = 4, splits = 1, stages = 1, vector_width = 1>
func.func @gather_config_kept(%q: tensor<?x32x128xbf16>, %ch: tensor<8x16xi32>, %c: tensor<8x?x16xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x256xi32> {
  %ql = ds.label_gather %q, %ch {config = #ds.kernel_config<block_tokens = 1, warps = 4, splits = 1, stages = 1, vector_width = 1>}
      : (tensor<?x32x128xbf16>, tensor<8x16xi32>) -> tensor<?x32x16xbf16>
  %i = ds.score_topk %ql, %c, %pt, %sl {page_size = 1 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>, k = 256 : i64}
      : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x256xi32>
  return %i : tensor<?x8x256xi32>
}
