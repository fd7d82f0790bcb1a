// RUN: ds-opt %s --ds-fuse-score-topk=page-score=1 --split-input-file | FileCheck %s
// RUN: ds-opt %s --ds-fuse-score-topk=page-score=1 --ds-select-kernel-config --split-input-file | ds-opt --split-input-file | FileCheck %s --check-prefix=CONFIG
// Without the option Quest's ops stay apart (the default pipeline's choice):
// RUN: ds-opt %s --ds-fuse-score-topk --split-input-file | FileCheck %s --check-prefix=OFF
// OFF-NOT: ds.page_score_topk

// Quest: page_score feeding only a topk over its seq_lens with divisor = page_size becomes one
// page_score_topk (GQA, a selection shared by the group); its config splits a row over a
// cluster of 8 CTAs on the default target (sm_90), 2 pages in flight per lane group; a GQA row
// loops over its heads, so it is not capped to 32 registers (occupancy 0).
// CHECK-LABEL: func.func @quest
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<?x32x128xbf16>, %[[MN:[^:]+]]: tensor<?x8x128xbf16>, %[[MX:[^:]+]]: tensor<?x8x128xbf16>, %[[PT:[^:]+]]: tensor<?x?xi32>, %[[SL:[^:]+]]: tensor<?xi32>)
// CHECK-NOT:     ds.page_score %
// CHECK-NOT:     ds.topk
// CHECK:         %[[I:.+]] = ds.page_score_topk %[[Q]], %[[MN]], %[[MX]], %[[PT]], %[[SL]]
// CHECK-SAME:      {group_reduce = #ds.group_reduce<sum>, k = 128 : i64, keep_last, page_size = 16 : i64}
// CHECK-SAME:      -> tensor<?x8x128xi32>
// CHECK:         return %[[I]]
// CONFIG-LABEL: func.func @quest
// CONFIG:         ds.page_score_topk {{.*}}config = #ds.kernel_config<block_tokens = 1, warps = 16, splits = 8, stages = 2, vector_width = 8>
func.func @quest(%q: tensor<?x32x128xbf16>, %mn: tensor<?x8x128xbf16>, %mx: tensor<?x8x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x8x128xi32> {
  %u = ds.page_score %q, %mn, %mx, %pt, %sl {page_size = 16 : i64, group_reduce = #ds.group_reduce<sum>}
      : (tensor<?x32x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x8x?xf32>
  %i = ds.topk %u, %sl {k = 128 : i64, divisor = 16 : i64, keep_last} : (tensor<?x8x?xf32>, tensor<?xi32>) -> tensor<?x8x128xi32>
  return %i : tensor<?x8x128xi32>
}

// -----

// A topk counting tokens (divisor 1) over page scores is not Quest's selection: nothing fuses.
// CHECK-LABEL: func.func @quest_divisor
// CHECK:         ds.page_score %
// CHECK:         ds.topk
// CHECK-NOT:     ds.page_score_topk
func.func @quest_divisor(%q: tensor<?x32x128xbf16>, %mn: tensor<?x32x128xbf16>, %mx: tensor<?x32x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x128xi32> {
  %u = ds.page_score %q, %mn, %mx, %pt, %sl {page_size = 16 : i64}
      : (tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x?xf32>
  %i = ds.topk %u, %sl {k = 128 : i64} : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x32x128xi32>
  return %i : tensor<?x32x128xi32>
}

// -----

// The scores are also returned: both ops stay.
// CHECK-LABEL: func.func @quest_scores_used
// CHECK:         ds.page_score %
// CHECK:         ds.topk
func.func @quest_scores_used(%q: tensor<?x32x128xbf16>, %mn: tensor<?x32x128xbf16>, %mx: tensor<?x32x128xbf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>)
    -> (tensor<?x32x?xf32>, tensor<?x32x128xi32>) {
  %u = ds.page_score %q, %mn, %mx, %pt, %sl {page_size = 16 : i64}
      : (tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x?xf32>
  %i = ds.topk %u, %sl {k = 128 : i64, divisor = 16 : i64} : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x32x128xi32>
  return %u, %i : tensor<?x32x?xf32>, tensor<?x32x128xi32>
}

// -----

// Rows of one query head: the same kernel compiled for 4 CTAs per SM (occupancy = 4).
// CHECK-LABEL: func.func @quest_mha
// CHECK:         ds.page_score_topk
// CONFIG-LABEL: func.func @quest_mha
// CONFIG:         ds.page_score_topk {{.*}}config = #ds.kernel_config<block_tokens = 1, warps = 16, splits = 8, stages = 2, vector_width = 8, occupancy = 4>
func.func @quest_mha(%q: tensor<?x32x128xf16>, %mn: tensor<?x32x128xf16>, %mx: tensor<?x32x128xf16>, %pt: tensor<?x?xi32>, %sl: tensor<?xi32>) -> tensor<?x32x64xi32> {
  %u = ds.page_score %q, %mn, %mx, %pt, %sl {page_size = 32 : i64}
      : (tensor<?x32x128xf16>, tensor<?x32x128xf16>, tensor<?x32x128xf16>, tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x32x?xf32>
  %i = ds.topk %u, %sl {k = 64 : i64, divisor = 32 : i64, keep_last} : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x32x64xi32>
  return %i : tensor<?x32x64xi32>
}
