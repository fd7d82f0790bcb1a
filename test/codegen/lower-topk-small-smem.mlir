// RUN: ds-opt %s --ds-lower-to-kernels | FileCheck %s

// A target that declares 48 KB of shared memory per block: the one-CTA topk kernel's candidate
// list shrinks to what fits beside the select's static 17 KB ((49152 - 17408) / 8 = 3968
// entries) instead of requesting 64 KB.
// CHECK: ds.launch @ds_kernels::@small_topk_0 {block = array<i64: 1024, 1, 1>
// CHECK-SAME: smem = "8*min(scores_d2,3968)"
// CHECK: gpu.func @small_topk_0
// CHECK: arith.constant 3968 : index
func.func @small(%s: tensor<?x32x?xf32> {ds.name = "scores"}, %sl: tensor<?xi32> {ds.name = "seq_lens"}) -> tensor<?x32x256xi32>
    attributes {ds.target = #ds.target<chip = "sm_90", sm_count = 132, smem_per_block = 49152, regs_per_sm = 65536, l2_bytes = 0, ptx = 80>} {
  %i = ds.topk %s, %sl {k = 256 : i64, config = #ds.kernel_config<block_tokens = 1, warps = 32, splits = 1, stages = 1, vector_width = 1>}
     : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x32x256xi32>
  return %i : tensor<?x32x256xi32>
}
