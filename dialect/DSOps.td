#ifndef DS_OPS_TD
#define DS_OPS_TD

include "dialect/DSDialect.td"
include "dialect/DSAttrs.td"
include "dialect/DSInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/RegionKindInterface.td"
include "mlir/IR/CommonAttrConstraints.td"

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def DS_DataTensor : RankedTensorOf<[BF16, F16]>;
def DS_F32Tensor : RankedTensorOf<[F32]>;
def DS_IndexTensor : RankedTensorOf<[I32]>;
def DS_SeedTensor : RankedTensorOf<[I64]>;
def DS_ScaleTensor : RankedTensorOf<[F16]>;
// A label cache: bf16/f16 labels, fp8 (e4m3) labels, or int4 labels packed 8 to an i32 word
// (the low-bit formats carry per-(kv head, slot) f16 scales beside them).
def DS_LabelCacheTensor : RankedTensorOf<[BF16, F16, F8E4M3FN, I32]>;

// The kernel interface of an op; `inPlace` ops also say which operand a result updates.
class DS_KernelOp<bit inPlace> : DeclareOpInterfaceMethods<DS_KernelOpInterface,
    !if(inPlace, ["getInPlaceSource"], [])>;

// Every ds op is pure on tensors and may carry a kernel config chosen by a pass.
class DS_TensorOp<string mnemonic, list<Trait> traits = [], bit inPlace = 0>
    : DS_Op<mnemonic, !listconcat(traits, [Pure, DS_KernelOp<inPlace>])> {
  let hasVerifier = 1;
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Labels (Double Sparsity)
//===----------------------------------------------------------------------===//

def DS_LabelGatherOp : DS_TensorOp<"label_gather"> {
  let summary = "Gather the label channels of keys or queries";
  let description = [{
    `labels[n, h, j] = x[n, h, channels[h / g, j]]` with `g = H / Hkv`, where `x : [N, H, d]`
    (keys: H = Hkv; queries: H = Hq), `channels : [Hkv, r]`, `r <= d`. A channel index outside
    `[0, d)` yields 0.

    ```mlir
    %ql = ds.label_gather %q, %channels
        : (tensor<?x32x128xbf16>, tensor<8x16xi32>) -> tensor<?x32x16xbf16>
    ```
    Its `#ds.kernel_config` reads `warps` per block (a thread per label element).
  }];
  let arguments = (ins DS_DataTensor:$x, DS_IndexTensor:$channels,
                       OptionalAttr<DS_KernelConfigAttr>:$config);
  let results = (outs DS_DataTensor:$labels);
}

def DS_LabelAppendOp : DS_TensorOp<"label_append", [], /*inPlace=*/1> {
  let summary = "Append the labels of new keys to the label cache";
  let description = [{
    The label cache is head-major, `[Hkv, S, r]` over the `S` token slots of the KV pool
    (slot = `page * P + offset`), so one head's consecutive tokens are contiguous. For every new
    token `t`: `cache[h, slot_mapping[t], j] = k[t, h, channels[h, j]]`. Tokens whose slot is
    outside `[0, S)` are skipped; channel indices outside `[0, d)` write 0.

    Low-bit caches (issue: half and a quarter of the label bytes) hold a scale per (kv head,
    slot) in `label_scales : [Hkv, S]` f16, updated in place beside the labels:
    - `f8E4M3FN` cache `[Hkv, S, r]`: `s = f16(max_j |l_j| / 448)` over the token's r labels
      `l_j`, `cache[h, slot, j] = e4m3(l_j / s)` rounded to nearest even and saturated at
      +-448 (all 0 when `s` is 0);
    - `i32` cache `[Hkv, S, r / 8]` (int4, `r` a multiple of 8), asymmetric: over the range
      `[lo, hi] = [min(0, min_j l_j), max(0, max_j l_j)]` (f32), for `i = 0..8` the scale
      `(hi - lo) / 15 * (1 - 0.025 i)` is rounded up to an f16 and then up to an f16 `b_i`
      whose low 4 bits are 0 (at most 65024); each zero point
      `z = clamp(round_half_even(-lo / b_i) + {-1, 0, 1}, 0, 15)` fills those bits, and the
      f16 so formed is the scale `s`; codes `c_j = clamp(round_half_even(l_j / s) + z, 0, 15)`.
      The `(s, z)` of least `sum_j (l_j - (c_j - z) s)^2` in f32 (the first on ties) is kept
      (codes and scale 0 when `s` is 0):
      code `8 i + j` in bits `4 j .. 4 j + 3` of word `i`, `s` (with `z` in its low bits) in
      `label_scales`. Against symmetric int4 (`max |l| / 7`, codes -8..7) it keeps more of a
      bf16 selection: top-1024 of 8192 tokens with outlier label channels, mean / worst-row
      overlap 0.953 / 0.938 against 0.938 / 0.919 (the `LowBitLabels` GPU test).
    A label then reads as `s * q_j` (fp8) or `s * (c_j - z)` (int4) in `ds.label_score` and
    `ds.score_topk`.

    ```mlir
    %c2 = ds.label_append %cache, %k, %channels, %slots
        : (tensor<8x?x16xbf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>, tensor<?xi32>)
        -> tensor<8x?x16xbf16>
    %c3, %s3 = ds.label_append %cache8 scales(%scales), %k, %channels, %slots
        : (tensor<8x?x16xf8E4M3FN>, tensor<8x?xf16>, tensor<?x8x128xbf16>, tensor<8x16xi32>,
           tensor<?xi32>) -> (tensor<8x?x16xf8E4M3FN>, tensor<8x?xf16>)
    ```
    Its `#ds.kernel_config` reads `warps` per block (a thread per label element; per
    (token, kv head) for a low-bit cache).
  }];
  let arguments = (ins DS_LabelCacheTensor:$label_cache, Optional<DS_ScaleTensor>:$label_scales,
                       DS_DataTensor:$k, DS_IndexTensor:$channels,
                       DS_IndexTensor:$slot_mapping, OptionalAttr<DS_KernelConfigAttr>:$config);
  let results = (outs DS_LabelCacheTensor:$result, Optional<DS_ScaleTensor>:$new_label_scales);
  let assemblyFormat = [{
    $label_cache (`scales` `(` $label_scales^ `)`)? `,` $k `,` $channels `,` $slot_mapping
    attr-dict `:` functional-type(operands, results)
  }];
}

def DS_LabelScoreOp : DS_TensorOp<"label_score", [AttrSizedOperandSegments]> {
  let summary = "Approximate attention scores from labels over a paged label cache";
  let description = [{
    `a[b, h, t] = scale * sum_j q_label[b, h, j] * cache[h / g, slot(b, t), j]` for `t < n_b`,
    with `slot(b, t) = page_table[b, t / P] * P + t % P`, accumulated in f32. Positions
    `t >= n_b` (and `t` beyond the page table) are `-inf`. `n_b` is clamped to
    `[0, max_pages * P]` and to the result's last dim; slots outside the cache read as `-inf`.
    With `group_reduce = sum | max` the `g` query heads of a group share one row (result has Hkv
    rows per request) and the score is their sum or max.

    With the optional `candidates : [B, Hs, K]` only the listed tokens are scored:
    `result[b, h, i] = a[b, h, candidates[b, h, i]]` (`-inf` for `-1`, positions `>= n_b`, with
    `n_b` clamped to `[0, max_pages * P]` only): Twilight's cheap estimate of a candidate set's
    logits for `ds.topp`.

    A low-bit cache (`f8E4M3FN`, or int4 in `i32` words; see `ds.label_append`) comes with its
    `label_scales : [Hkv, S]` (`%cache scales(%s)`) and reads as `s * q_j`. Its kernels take the
    dot product of the decoded labels with the query labels normalized to their row's largest
    magnitude in f16 pairs (one f16 accumulation per 16 bytes of labels, then f32): a score is
    within 1% of `scale * sum_j |q_label_j| |s * q_j|` of the exact dot product of the
    dequantized labels (f16 rounding of the normalized query and of at most 16 sums per lane).

    ```mlir
    %a = ds.label_score %ql, %cache, %page_table, %seq_lens {page_size = 1 : i64, scale = 0.25 : f32}
        : (tensor<?x32x16xbf16>, tensor<32x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>)
        -> tensor<?x32x?xf32>
    ```
    Its `#ds.kernel_config` reads `block_tokens` = tokens a block scores (1 to 8 per thread
    times the threads), `warps` per block, `vector_width` = labels per load, `occupancy` (CTAs
    per SM its registers are capped for; 0 = no cap).
  }];
  let arguments = (ins DS_DataTensor:$q_label, DS_LabelCacheTensor:$label_cache,
                       Optional<DS_ScaleTensor>:$label_scales,
                       DS_IndexTensor:$page_table, DS_IndexTensor:$seq_lens,
                       Optional<DS_IndexTensor>:$candidates,
                       ConfinedAttr<I64Attr, [IntPositive]>:$page_size, F32Attr:$scale,
                       DefaultValuedAttr<DS_GroupReduceAttr, "::mlir::ds::GroupReduce::none">:$group_reduce,
                       OptionalAttr<DS_KernelConfigAttr>:$config);
  let results = (outs DS_F32Tensor:$scores);
  let assemblyFormat = [{
    $q_label `,` $label_cache (`scales` `(` $label_scales^ `)`)? `,` $page_table `,` $seq_lens
    (`,` $candidates^)? attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Page summaries (Quest)
//===----------------------------------------------------------------------===//

def DS_PageSummaryOp : DS_TensorOp<"page_summary", [], /*inPlace=*/1> {
  let summary = "Per-page, per-channel key minimum and maximum";
  let description = [{
    For every page `p` of every request: `kmin[p, hk, j] = min_t K[p, t, hk, j]` and `kmax` the
    max, over the tokens present (`t < n_b - i * P` for the request's `i`-th page). Pages that
    no request names keep the values of the `kmin`/`kmax` operands.

    ```mlir
    %mn, %mx = ds.page_summary %kmin, %kmax, %k, %page_table, %seq_lens
        : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x16x8x128xbf16>, tensor<?x?xi32>, tensor<?xi32>)
        -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
    ```
    Its `#ds.kernel_config` reads `warps` per block and `vector_width` = channels per load.
  }];
  let arguments = (ins DS_DataTensor:$kmin, DS_DataTensor:$kmax, DS_DataTensor:$k,
                       DS_IndexTensor:$page_table, DS_IndexTensor:$seq_lens,
                       OptionalAttr<DS_KernelConfigAttr>:$config);
  let results = (outs DS_DataTensor:$new_kmin, DS_DataTensor:$new_kmax);
}

def DS_PageSummaryAppendOp : DS_TensorOp<"page_summary_append", [], /*inPlace=*/1> {
  let summary = "Update page summaries with appended keys";
  let description = [{
    For each new token `t` at slot `s = slot_mapping[t]` (page `s / P`, offset `s % P`): offset 0
    starts the page (`kmin = kmax = k[t]`), any other offset folds `k[t]` into the running min
    and max, in the order of the tokens. Slots outside `[0, num_pages * P)` are skipped. `P` is
    the `page_size` attribute. The tokens one append writes to a page must be consecutive in
    `slot_mapping` with distinct slots (as engines append a request's tokens: a decode step one
    token per request, a prefill a request's tokens in order); the GPU kernel gives each such
    run of at most `P` tokens to one thread, so no two threads update a page. A page written by
    two runs of one append (slots interleaved between requests that share a page, or repeated
    slots) is left in an unspecified state, still within its own row (never out of bounds).

    ```mlir
    %mn, %mx = ds.page_summary_append %kmin, %kmax, %new_k, %slots {page_size = 16 : i64}
        : (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>, tensor<?xi32>)
        -> (tensor<?x8x128xbf16>, tensor<?x8x128xbf16>)
    ```
    Its `#ds.kernel_config` reads `warps` per block and `vector_width` = channels per load.
  }];
  let arguments = (ins DS_DataTensor:$kmin, DS_DataTensor:$kmax, DS_DataTensor:$k,
                       DS_IndexTensor:$slot_mapping, ConfinedAttr<I64Attr, [IntPositive]>:$page_size,
                       OptionalAttr<DS_KernelConfigAttr>:$config);
  let results = (outs DS_DataTensor:$new_kmin, DS_DataTensor:$new_kmax);
}

def DS_PageScoreOp : DS_TensorOp<"page_score"> {
  let summary = "Quest criticality of every page of a request";
  let description = [{
    `u[b, h, i] = sum_j max(q[b, h, j] * kmin[p, h / g, j], q[b, h, j] * kmax[p, h / g, j])`
    with `p = page_table[b, i]`, for pages `i < cdiv(n_b, P)`; later entries are `-inf`, and so
    are pages whose number is outside `[0, num_pages)`. `group_reduce` as for `label_score`.
    Its `#ds.kernel_config` reads: `warps` per CTA, `stages` = pages each lane group has in
    flight (1 to 8), `vector_width` of the summary loads, `occupancy` (CTAs per SM its registers
    are capped for; 0 = no cap).
  }];
  let arguments = (ins DS_DataTensor:$q, DS_DataTensor:$kmin, DS_DataTensor:$kmax,
                       DS_IndexTensor:$page_table, DS_IndexTensor:$seq_lens,
                       ConfinedAttr<I64Attr, [IntPositive]>:$page_size,
                       DefaultValuedAttr<DS_GroupReduceAttr, "::mlir::ds::GroupReduce::none">:$group_reduce,
                       OptionalAttr<DS_KernelConfigAttr>:$config);
  let results = (outs DS_F32Tensor:$scores);
}

//===----------------------------------------------------------------------===//
// Selection
//===----------------------------------------------------------------------===//

def DS_TopKOp : DS_TensorOp<"topk"> {
  let summary = "Indices of the k largest scores of every ragged row";
  let description = [{
    Row `(b, h)` of `scores : [B, H, N]` is valid for `t < n_b = cdiv(lens[b], divisor)` (clamped
    to `[0, N]`). The result holds the indices of the `k` largest valid scores in any order; a row
    with fewer than `k` valid entries lists them all and pads with `-1`. With `keep_last`, index
    `n_b - 1` is always selected (Quest keeps the partial last page). Ties are broken arbitrarily.

    `#ds.kernel_config` reads: `warps` per CTA of the one-CTA kernels (a power of two), `splits`
    = CTAs per row of the thread-block-cluster kernel (1, 2, 4 or 8; above 1 it needs sm_90),
    and with `splits` > 1 that kernel's `cluster_warps` per CTA (a power of two, at least 2),
    `block_tokens` (keys per CTA in shared memory), `stages` (score loads in flight per thread)
    and `occupancy` (its register cap); the plan launches the cluster kernel for few long rows
    and a one-CTA kernel for the others (the one-pass sampled one, on CTAs of at most 512
    threads, is compiled for two CTAs per SM).

    ```mlir
    %idx = ds.topk %scores, %seq_lens {k = 256 : i64}
        : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x32x256xi32>
    ```
  }];
  let arguments = (ins DS_F32Tensor:$scores, DS_IndexTensor:$lens,
                       ConfinedAttr<I64Attr, [IntPositive]>:$k,
                       DefaultValuedAttr<ConfinedAttr<I64Attr, [IntPositive]>, "1">:$divisor,
                       UnitAttr:$keep_last, OptionalAttr<DS_KernelConfigAttr>:$config);
  let results = (outs DS_IndexTensor:$indices);
}

def DS_ScoreTopKOp : DS_TensorOp<"score_topk", [AttrSizedOperandSegments]> {
  let summary = "Label scoring fused with top-k selection (the scores are never materialized)";
  let description = [{
    `indices = topk(label_score(q_label, label_cache, page_table, seq_lens), seq_lens)` with
    `divisor = 1`: the indices of the `k` largest label scores of every row `(b, h)` (see
    `ds.label_score` for the scores, `page_size`, `scale` and `group_reduce`; `ds.topk` for `k`
    and `keep_last`). The row length is label_score's clamp,
    `n_b = clamp(seq_lens[b], 0, max_pages * P)` (the length of a dynamic label_score score dim).
    A row with `n_b <= k` lists `0 .. n_b - 1` and pads with `-1`; with `keep_last`, index
    `n_b - 1` is always selected. Any order inside a row; ties are broken arbitrarily.
    Produced by `ds-fuse-score-topk`; its kernel keeps a row's scores in shared memory while
    selecting, so they make no round trip through global memory (rows longer than the
    shared-memory capacity spill to a workspace). Its `#ds.kernel_config` reads:
    `block_tokens` = scores kept in shared memory, `warps` per row (rows of at most 16384
    positions, when there are at least 128 rows, run CTAs of `warps / 2` warps, two per SM;
    not with `warps` = 1), `splits` = CTAs of a thread-block cluster per row for few long rows
    (sm_90; 1 = none), `stages` = tokens each thread scores per step, `vector_width` of the label
    loads; with `splits` > 1 the cluster kernel's CTAs have `cluster_warps` warps (a power of two,
    at least 2) and score `cluster_stages` tokens per thread and step (both 0 with `splits` = 1).

    With the optional `channels : [Hkv, r]` the first operand is the query `q : [B, Hq, d]` and
    the query labels are gathered from it as `ds.label_gather` does (`ds-fuse-score-topk` absorbs
    a label_gather whose only use is this op): no q_label array and no separate kernel.

    A low-bit cache comes with its `label_scales` as for `ds.label_score`; `vector_width` then
    counts labels per load (4, 8 or 16 fp8 labels; 8, 16 or 32 int4 labels).

    ```mlir
    %idx = ds.score_topk %ql, %cache, %page_table, %seq_lens
        {page_size = 16 : i64, scale = 0.25 : f32, group_reduce = #ds.group_reduce<sum>, k = 256 : i64}
        : (tensor<?x32x16xbf16>, tensor<8x?x16xbf16>, tensor<?x?xi32>, tensor<?xi32>)
        -> tensor<?x8x256xi32>
    ```
  }];
  let arguments = (ins DS_DataTensor:$q_label, DS_LabelCacheTensor:$label_cache,
                       Optional<DS_ScaleTensor>:$label_scales,
                       DS_IndexTensor:$page_table, DS_IndexTensor:$seq_lens,
                       Optional<DS_IndexTensor>:$channels,
                       ConfinedAttr<I64Attr, [IntPositive]>:$page_size, F32Attr:$scale,
                       DefaultValuedAttr<DS_GroupReduceAttr, "::mlir::ds::GroupReduce::none">:$group_reduce,
                       ConfinedAttr<I64Attr, [IntPositive]>:$k, UnitAttr:$keep_last,
                       OptionalAttr<DS_KernelConfigAttr>:$config);
  let results = (outs DS_IndexTensor:$indices);
  let assemblyFormat = [{
    $q_label `,` $label_cache (`scales` `(` $label_scales^ `)`)? `,` $page_table `,` $seq_lens
    (`,` $channels^)? attr-dict `:` functional-type(operands, results)
  }];
}

def DS_PageScoreTopKOp : DS_TensorOp<"page_score_topk"> {
  let summary = "Quest page scoring fused with top-k selection (the scores are never materialized)";
  let description = [{
    `indices = topk(page_score(q, kmin, kmax, page_table, seq_lens), seq_lens)` with
    `divisor = page_size`: the logical page numbers of the `k` most critical pages of every row
    `(b, h)` (see `ds.page_score` for the bound, `page_size` and `group_reduce`; `ds.topk` for
    `k` and `keep_last`). The row length is `n_b = cdiv(clamp(seq_lens[b], 0, max_pages * P), P)`
    pages; a row with `n_b <= k` lists `0 .. n_b - 1` and pads with `-1`; with `keep_last` page
    `n_b - 1` (the partial last page) is always selected. Any order inside a row; ties are broken
    arbitrarily. Produced by `ds-fuse-score-topk{page-score=1}` (opt-in: on the H200 the two
    kernels are still faster), or written directly.

    Its kernel keeps a row's scores in shared memory: `splits` CTAs (a thread-block cluster on
    sm_90 and later) each bound a slice of the row's pages and write the bounds into the shared
    memory of the cluster's first CTA, which selects. The row (`max_pages` floats) must fit the
    target's opt-in shared memory beside the select's 17 KB and the row's query heads (4 *
    heads * d bytes): a static page table with more columns is refused by the config pass (an
    error on the op), a dynamic one at launch (the runtime's shared-memory check names the
    kernel). Its
    `#ds.kernel_config` reads: `warps` per CTA (a power of two), `splits` = CTAs per row (1, 2,
    4 or 8; above 1 only on sm_90 and later), `stages` = pages each lane group has in flight,
    `vector_width` of the summary loads, `occupancy` (CTAs per SM its registers are capped for;
    0 = no cap).

    ```mlir
    %pages = ds.page_score_topk %q, %kmin, %kmax, %page_table, %seq_lens
        {page_size = 16 : i64, k = 128 : i64, keep_last}
        : (tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x32x128xbf16>, tensor<?x?xi32>,
           tensor<?xi32>) -> tensor<?x32x128xi32>
    ```
  }];
  let arguments = (ins DS_DataTensor:$q, DS_DataTensor:$kmin, DS_DataTensor:$kmax,
                       DS_IndexTensor:$page_table, DS_IndexTensor:$seq_lens,
                       ConfinedAttr<I64Attr, [IntPositive]>:$page_size,
                       DefaultValuedAttr<DS_GroupReduceAttr, "::mlir::ds::GroupReduce::none">:$group_reduce,
                       ConfinedAttr<I64Attr, [IntPositive]>:$k, UnitAttr:$keep_last,
                       OptionalAttr<DS_KernelConfigAttr>:$config);
  let results = (outs DS_IndexTensor:$indices);
}

def DS_TopPOp : DS_TensorOp<"topp"> {
  let summary = "Keep the smallest candidate set whose softmax mass reaches top_p";
  let description = [{
    Over the candidates of row `(b, h)` (entries with `indices[b, h, i] >= 0`),
    `p_i = softmax_i(logits[b, h, i])`. The threshold is the largest logit `l` of the row with
    `sum_{logit_i >= l} p_i >= top_p`: the kept set `{i : logits[b, h, i] >= l}` is the smallest
    prefix of the candidates sorted by decreasing logit that reaches the mass, plus every other
    candidate tied with its last member (ties at the threshold are all kept; -0.0 ties +0.0).
    `top_p = 1` keeps every candidate. The search is a bisection on the logits' order-preserving
    32-bit keys (no sort) over f32 sums: a row's kept count can differ from the exact one only
    where the mass lands within f32 rounding of `top_p`. The kept indices are compacted to the
    front of `kept` in candidate order (other entries `-1`) and `counts[b, h]` says how many; a
    row without candidates, or whose candidates' logits are all `-inf`, keeps none; a NaN or
    `+inf` logit among them keeps them all.

    ```mlir
    %kept, %counts = ds.topp %logits, %idx {top_p = 0.9 : f32}
        : (tensor<?x32x4096xf32>, tensor<?x32x4096xi32>) -> (tensor<?x32x4096xi32>, tensor<?x32xi32>)
    ```
    Its `#ds.kernel_config` reads `warps` per row's CTA (at most 32 candidates a thread).
  }];
  let arguments = (ins DS_F32Tensor:$logits, DS_IndexTensor:$indices,
                       F32Attr:$top_p,
                       OptionalAttr<DS_KernelConfigAttr>:$config);
  let results = (outs DS_IndexTensor:$kept, DS_IndexTensor:$counts);
}

def DS_SampleResidualOp : DS_TensorOp<"sample_residual"> {
  let summary = "vAttention's selection: sinks, local window and fixed tokens plus a uniform sample of the rest";
  let description = [{
    Row `(b, h)` of a request of `n = max(seq_lens[b], 0)` tokens has the deterministic set
    `I = [0, s) u [w, n) u F` with `s = min(sinks, n)`, `w = max(s, n - window)` (a row shorter
    than `sinks + window` is all deterministic: a documented clamp) and `F` the distinct entries of
    `fixed[b, h, :]` inside `[s, w)` (others, `-1` included, are dropped). The residual
    `R = [s, w) \ F` has `m` tokens; `n_s = min(num_samples, m)` distinct members of `R` are drawn
    uniformly without replacement: sample `j` is the `perm(j)`-th smallest member of `R`, `perm`
    a keyed pseudo-random permutation of `[0, m)` (an 8-round Feistel network over the smallest
    even power of two >= max(m, 2), i.e. at least 4, cycle-walked into range) whose round keys are Philox4x32-10 of the
    counter `(offset, b * H + h)` under key `seed`, `philox = [seed, offset]` read on the GPU (a
    CUDA graph replays with a new offset). Equal seeds give equal samples.

    `indices[b, h, :]` (`sinks + window + K + num_samples` entries, `K = fixed dim 2`) lists the
    sinks at `[0, sinks)`, the window at `[sinks, sinks + window)`, `F` in increasing order at
    `[sinks + window, .. + K)` and the samples after; unused entries are `-1`. `log_weights` is
    0 on deterministic entries, `log(m / n_s)` on samples (so that `ds.sparse_decode` with them is
    vAttention's unbiased estimate) and `-inf` on unused entries.

    ```mlir
    %sel, %lw = ds.sample_residual %topk, %seq_lens, %philox
        {sinks = 64 : i64, window = 512 : i64, num_samples = 1024 : i64}
        : (tensor<?x32x1024xi32>, tensor<?xi32>, tensor<2xi64>)
        -> (tensor<?x32x2624xi32>, tensor<?x32x2624xf32>)
    ```
    Its `#ds.kernel_config` reads `warps` per row's CTA (a power of two; at most 32 sorted
    entries a thread).
  }];
  let arguments = (ins DS_IndexTensor:$fixed, DS_IndexTensor:$seq_lens, DS_SeedTensor:$philox,
                       ConfinedAttr<I64Attr, [IntPositive]>:$num_samples,
                       DefaultValuedAttr<ConfinedAttr<I64Attr, [IntNonNegative]>, "0">:$sinks,
                       DefaultValuedAttr<ConfinedAttr<I64Attr, [IntNonNegative]>, "0">:$window,
                       OptionalAttr<DS_KernelConfigAttr>:$config);
  let results = (outs DS_IndexTensor:$indices, DS_F32Tensor:$log_weights);
}

def DS_ExpandPagesOp : DS_TensorOp<"expand_pages"> {
  let summary = "The tokens of selected pages, as token candidates";
  let description = [{
    `tokens[b, h, i * P + j] = pages[b, h, i] * P + j` when the page is not `-1` and the token
    is below `n_b = max(seq_lens[b], 0)`, else `-1`: Quest's page selection as the candidate
    tokens of a token-level estimate (Twilight over Quest).

    ```mlir
    %cand = ds.expand_pages %pages, %seq_lens {page_size = 16 : i64}
        : (tensor<?x32x256xi32>, tensor<?xi32>) -> tensor<?x32x4096xi32>
    ```
    Its `#ds.kernel_config` reads `warps` per block.
  }];
  let arguments = (ins DS_IndexTensor:$pages, DS_IndexTensor:$seq_lens,
                       ConfinedAttr<I64Attr, [IntPositive]>:$page_size,
                       OptionalAttr<DS_KernelConfigAttr>:$config);
  let results = (outs DS_IndexTensor:$tokens);
}

def DS_Int4AppendOp : DS_TensorOp<"int4_append", [], /*inPlace=*/1> {
  let summary = "Append an int4 copy of new keys (Twilight's cheap keys)";
  let description = [{
    For every new token `t` with `s = slot_mapping[t]` in `[0, S)` and kv head `h`, each group
    `g` of 32 channels `c0 .. c0 + 31` (`c0 = 32 g`) of `k[t, h]` gets the f16 scale
    `sc = f16(max_j |k_j| / 7)` and 4-bit two's complement values
    `v_j = clamp(round_half_even(k_j / sc), -8, 7)` (0 when the scale is 0). `kq : [S, Hkv,
    d / 8 + 4]` i32 holds one record per (slot, kv head), `d / 2 + 16` bytes: words `0 .. d / 8 - 1`
    the values (channel `8 i + j` in bits `4 j .. 4 j + 3` of word `i`), then four words of
    scales (group `g` in bits `16 (g % 2) .. 16 (g % 2) + 15` of word `d / 8 + g / 2`; the
    words and halves past the `d / 32` scales are written 0), so that a scorer reads a
    candidate's values and scales from one place. Slot = `page * P + offset`, as the KV pool;
    updated in place. Slots outside `[0, S)` are skipped. `d` must be a multiple of 32, at
    most 256.

    ```mlir
    %kq2 = ds.int4_append %kq, %k, %slots
        : (tensor<?x8x20xi32>, tensor<?x8x128xbf16>, tensor<?xi32>) -> tensor<?x8x20xi32>
    ```
    Its `#ds.kernel_config` reads `warps` per block (a thread per new token and kv head).
  }];
  let arguments = (ins DS_IndexTensor:$kq, DS_DataTensor:$k,
                       DS_IndexTensor:$slot_mapping, OptionalAttr<DS_KernelConfigAttr>:$config);
  let results = (outs DS_IndexTensor:$new_kq);
}

def DS_Int4ScoreOp : DS_TensorOp<"int4_score"> {
  let summary = "Estimated logits of candidate tokens from the int4 keys";
  let description = [{
    `logits[b, h, i] = scale * sum_j q[b, h, j] * sc_{j / 32} * v_j` over the int4 record
    `kq[s, h / g]` (values `v_j` and group scales `sc`, the layout of ds.int4_append) of the
    candidate `t = candidates[b, h, i]` at slot `s = page_table[b, t / P] * P + t % P`
    (Twilight's estimate of `scale * q . K_t`). `-inf` for `-1`, `t >= n_b` (`n_b` clamped to
    `[0, max_pages * P]`) and pages outside `[0, S / P)`. With `group_reduce = sum` the g query
    heads of a group share a row (`candidates` and the result have Hkv rows) and score their
    summed query. `d` in {32, 64, 128, 256}.

    ```mlir
    %est = ds.int4_score %q, %kq, %page_table, %seq_lens, %cand {page_size = 1 : i64, scale = 0.088 : f32}
        : (tensor<?x32x128xbf16>, tensor<?x32x20xi32>, tensor<?x?xi32>, tensor<?xi32>,
           tensor<?x32x4096xi32>) -> tensor<?x32x4096xf32>
    ```
    Its `#ds.kernel_config` reads `warps` per block and `stages` = tiles of 16 candidates in
    flight per warp (1 to 8).
  }];
  let arguments = (ins DS_DataTensor:$q, DS_IndexTensor:$kq,
                       DS_IndexTensor:$page_table, DS_IndexTensor:$seq_lens,
                       DS_IndexTensor:$candidates,
                       ConfinedAttr<I64Attr, [IntPositive]>:$page_size, F32Attr:$scale,
                       DefaultValuedAttr<DS_GroupReduceAttr, "::mlir::ds::GroupReduce::none">:$group_reduce,
                       OptionalAttr<DS_KernelConfigAttr>:$config);
  let results = (outs DS_F32Tensor:$logits);
}

//===----------------------------------------------------------------------===//
// Decode attention
//===----------------------------------------------------------------------===//

def DS_SparseDecodeOp : DS_TensorOp<"sparse_decode"> {
  let summary = "Decode attention over selected tokens or pages";
  let description = [{
    `o[b, h] = sum_{t in I} softmax_t(x_t) V_t` with `x_t = cap(scale * q[b, h] . K_t) + w_t`,
    `cap(x) = soft_cap * tanh(x / soft_cap)` when `soft_cap > 0`, `w_t` the optional log-weight.
    `indices : [B, Hsel, k]` with `Hsel = Hq` (per-head selection) or `Hsel = Hkv` (shared by
    the group). `granularity = token`: an index is a token position; `page`: a logical page
    number, all its tokens below `n_b` attend. Index `-1`, positions `>= n_b` and physical pages
    outside `[0, num_pages)` are skipped. A row with nothing selected yields 0. Requests with
    `n_b < dense_below` attend to all their tokens instead (the per-request dense fallback for
    short requests; `indices` of those rows are not read).

    ```mlir
    %o = ds.sparse_decode %q, %k, %v, %page_table, %seq_lens, %idx {scale = 0.088 : f32}
        : (tensor<?x32x128xbf16>, tensor<?x1x32x128xbf16>, tensor<?x1x32x128xbf16>,
           tensor<?x?xi32>, tensor<?xi32>, tensor<?x32x256xi32>) -> tensor<?x32x128xbf16>
    ```
    `ds-split-decode` turns it into `decode_partial` + `decode_merge`; its config is the
    partial's (see `decode_partial`).
  }];
  let arguments = (ins DS_DataTensor:$q, DS_DataTensor:$k_cache, DS_DataTensor:$v_cache,
                       DS_IndexTensor:$page_table, DS_IndexTensor:$seq_lens,
                       DS_IndexTensor:$indices, Optional<DS_F32Tensor>:$log_weights,
                       F32Attr:$scale, DefaultValuedAttr<F32Attr, "0.0">:$soft_cap,
                       DefaultValuedAttr<DS_GranularityAttr, "::mlir::ds::Granularity::token">:$granularity,
                       DefaultValuedAttr<I64Attr, "0">:$dense_below,
                       OptionalAttr<DS_KernelConfigAttr>:$config);
  let results = (outs DS_DataTensor:$o);
}

def DS_DenseDecodeOp : DS_TensorOp<"dense_decode"> {
  let summary = "Decode attention over every token of each request";
  let description = [{
    `o[b, h] = softmax_{t < n_b}(cap(scale * q[b, h] . K_t)) V` over the paged cache. `n_b` is
    clamped to `[0, max_pages * P]`; page numbers outside `[0, num_pages)` are skipped.
    `ds-split-decode` turns it into `decode_partial` + `decode_merge`; its config is the
    partial's (see `decode_partial`).
  }];
  let arguments = (ins DS_DataTensor:$q, DS_DataTensor:$k_cache, DS_DataTensor:$v_cache,
                       DS_IndexTensor:$page_table, DS_IndexTensor:$seq_lens,
                       F32Attr:$scale, DefaultValuedAttr<F32Attr, "0.0">:$soft_cap,
                       OptionalAttr<DS_KernelConfigAttr>:$config);
  let results = (outs DS_DataTensor:$o);
}

//===----------------------------------------------------------------------===//
// Split decode (produced by ds-split-decode)
//===----------------------------------------------------------------------===//

def DS_DecodePartialOp : DS_Op<"decode_partial", [Pure, AttrSizedOperandSegments, DS_KernelOp<0>]> {
  let summary = "Split-K decode partials: one online-softmax state per (request, head, split)";
  let description = [{
    The first half of `dense_decode` / `sparse_decode` after `ds-split-decode`: the walk of each
    request (all tokens, or the selected tokens / pages; requests below `dense_below` walk all
    tokens) is cut into `S` splits of `cdiv(len, S)` positions; split `s` of head `h` yields
    `acc[b, h, s, :] = sum_t 2^(x_t - m) V_t` and `ml[b, h, s] = (m, l)` with logits in base 2
    (`x_t = log2(e) * logit_t`, `m` the max, `l = sum_t 2^(x_t - m)`; an empty split has
    `m = -inf`, `l = 0`). The split count is chosen at launch from the real sizes: at most
    8 * the config's `splits`, at least `block_tokens` positions per split, except that a sparse
    walk resolves a split's positions in shared memory and so takes at least cdiv(walk, 2048)
    splits, which wins over both; the split dim is dynamic. Its `#ds.kernel_config` also reads
    `warps` per CTA (1 to 8), `stages` (warp steps with loads in flight), `heads` (query heads a
    CTA walks, a divisor of the GQA group; 0 = the whole group), `variant` ("" the FMA loop,
    "mma" the tensor-core loop) and `vector_width` = 8 (16-byte K/V loads); the warps' states
    (and a sparse split's positions) must fit 48 KB of static shared memory.
    Without `indices` the walk is dense.
  }];
  let arguments = (ins DS_DataTensor:$q, DS_DataTensor:$k_cache, DS_DataTensor:$v_cache,
                       DS_IndexTensor:$page_table, DS_IndexTensor:$seq_lens,
                       Optional<DS_IndexTensor>:$indices, Optional<DS_F32Tensor>:$log_weights,
                       F32Attr:$scale, DefaultValuedAttr<F32Attr, "0.0">:$soft_cap,
                       DefaultValuedAttr<DS_GranularityAttr, "::mlir::ds::Granularity::token">:$granularity,
                       DefaultValuedAttr<I64Attr, "0">:$dense_below,
                       OptionalAttr<DS_KernelConfigAttr>:$config);
  let results = (outs DS_F32Tensor:$acc, DS_F32Tensor:$ml);
  let hasVerifier = 1;
  let assemblyFormat = [{
    $q `,` $k_cache `,` $v_cache `,` $page_table `,` $seq_lens
    (`indices` $indices^)? (`weights` $log_weights^)? attr-dict `:`
    type($q) `,` type($k_cache) `,` type($v_cache) `,` type($page_table) `,` type($seq_lens)
    (`,` type($indices)^)? (`,` type($log_weights)^)? `->` type($acc) `,` type($ml)
  }];
}

def DS_DecodeMergeOp : DS_TensorOp<"decode_merge"> {
  let summary = "Merge split-K decode partials into the attention output";
  let description = [{
    `o[b, h] = sum_s 2^(m_s - M) acc[b, h, s] / sum_s 2^(m_s - M) l_s` with `M = max_s m_s`;
    a head whose splits are all empty yields 0.
    Its `#ds.kernel_config` reads `warps` per block (a warp per request and head) and `stages`
    = splits folded per step (1 to 16).
  }];
  let arguments = (ins DS_F32Tensor:$acc, DS_F32Tensor:$ml, OptionalAttr<DS_KernelConfigAttr>:$config);
  let results = (outs DS_DataTensor:$o);
}

//===----------------------------------------------------------------------===//
// Linear attention (Lightning Attention)
//===----------------------------------------------------------------------===//

def DS_LinearAttnPrefillOp : DS_TensorOp<"linear_attn_prefill", [], /*inPlace=*/1> {
  let summary = "Chunked linear attention with per-head decay over a packed ragged batch";
  let description = [{
    Request `b` owns tokens `[cu_seqlens[b], cu_seqlens[b+1])` of the packed `q, k : [T, H, d]`,
    `v : [T, H, e]`, and state slot `state_indices[b]` of `states : [slots, H, d, e]` (f32). Its
    recurrence starts from that slot when `has_initial_state[b] != 0`, else from zero:
    `S_t = exp(-slopes[h]) S_{t-1} + k_t^T v_t`, `o_t = q_t S_t`. The final state is written back
    to the slot. It is computed in chunks of `chunk_size` tokens (intra-chunk masked matmul,
    inter-chunk state matmul). With `keep_intermediate`, `intermediate[t]` is the state after
    token `t` (speculative verify). Bounds: request `b` owns
    `[clamp(cu_seqlens[b], 0, T), clamp(cu_seqlens[b+1], start, T))`; a request whose slot is
    outside `[0, slots)` gets `o = 0` (and `intermediate = 0`) and no state is read or written.
    The GPU lowering runs the chunked tensor-core kernel for `d` in [8, 128] and `e >= 8`, both
    multiples of 8 (tiles padded with zeros to `d` = 64 or 128 and whole blocks of 64 columns of
    `e`), and a config of 64-token chunks (the default; variant "wgmma" on 8 warps on sm_90a,
    four stages where they fit, "chunked" on 4 elsewhere), else (and with `keep_intermediate`)
    a recurrent kernel. With config
    `splits` = S > 1 the tensor-core kernel splits long requests into up to S segments computed
    in parallel (two passes and B x S states of workspace); requests shorter than their share of
    the batch's chunks are not split. Its `#ds.kernel_config`: `variant` = "wgmma" or "chunked"
    (`block_tokens` = 64 = `chunk_size`, `warps` = 4, or for "wgmma" 8 on two warpgroups (the
    outputs and the state computed side by side) or 12 on three (the state on one, the outputs
    of alternate chunks on two), `stages` = 2 to 4 for "wgmma" (4 on 12 warps), 2 for "chunked",
    `vector_width` = 8, `splits`) or "recurrent" (1, 8, 1, 4). With `warps` = 8 or 12 the plan
    holds a one-warpgroup "wgmma" kernel beside the two- or three-warpgroup one and launches the
    latter where its CTAs (B x H x cdiv(e, 64) x `splits`) fit the target's SMs once, the
    one-warpgroup one otherwise (two of its CTAs share an SM, larger CTAs do not); `stages` is
    the larger kernel's (a split's states pass runs on two warpgroups), the one-warpgroup kernel
    beside it runs two.
  }];
  let arguments = (ins DS_DataTensor:$q, DS_DataTensor:$k, DS_DataTensor:$v, DS_F32Tensor:$slopes,
                       DS_IndexTensor:$cu_seqlens, DS_F32Tensor:$states,
                       DS_IndexTensor:$state_indices, DS_IndexTensor:$has_initial_state,
                       DefaultValuedAttr<ConfinedAttr<I64Attr, [IntPositive]>, "64">:$chunk_size,
                       UnitAttr:$keep_intermediate, OptionalAttr<DS_KernelConfigAttr>:$config);
  let results = (outs DS_DataTensor:$o, DS_F32Tensor:$new_states,
                      Optional<DS_F32Tensor>:$intermediate);
}

def DS_LinearAttnDecodeOp : DS_TensorOp<"linear_attn_decode", [], /*inPlace=*/1> {
  let summary = "One linear-attention decode step per request";
  let description = [{
    For request `b` with slot `s = state_indices[b]`: `S <- exp(-slopes[h]) S + k_b^T v_b`,
    `o_b = q_b S`, reading and writing each state once. Slots outside `[0, slots)` give `o = 0`
    and no write.
    Its `#ds.kernel_config` reads `warps` per CTA, `splits` = CTAs per state (each `e /
    splits` columns), `stages` = state rows in flight, `vector_width` = 4.
  }];
  let arguments = (ins DS_DataTensor:$q, DS_DataTensor:$k, DS_DataTensor:$v, DS_F32Tensor:$slopes,
                       DS_F32Tensor:$states, DS_IndexTensor:$state_indices,
                       OptionalAttr<DS_KernelConfigAttr>:$config);
  let results = (outs DS_DataTensor:$o, DS_F32Tensor:$new_states);
}

//===----------------------------------------------------------------------===//
// The host side of a compiled pipeline (made by ds-lower-to-kernels)
//===----------------------------------------------------------------------===//

def DS_PlanOp : DS_Op<"plan", [Symbol, IsolatedFromAbove, NoTerminator, SingleBlock,
                               NoRegionArguments]> {
  let summary = "A compiled pipeline's launch plan: arguments, sizes, workspace and launches";
  let description = [{
    What `ds-lower-to-kernels` leaves of a function of ds ops: no tensors, only the plan the
    runtime interprets (docs/bundle.md). `args` are the bundle's argument lines (`name role dtype
    align=N dims...`), `symbols` its symbol lines (sizes bound from argument dims or computed by
    expressions), `workspace` the workspace bytes; the body holds the `ds.launch` steps in order.

    ```mlir
    ds.plan @sel {args = ["scores in f32 align=16 B 32 N", "result0 out i32 align=16 B 32 256"],
                  symbols = ["B arg 0 dim 0", "N arg 0 dim 2"], workspace = "0"} {
      ds.launch @ds_kernels::@sel_topk_0 {block = array<i64: 1024, 1, 1>, grid = ["(B)*(32)", "1", "1"],
                                          smem = "0", params = ["ptr arg 0", "ptr arg 1", "i64 N"]}
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, StrArrayAttr:$args, StrArrayAttr:$symbols,
                       StrAttr:$workspace);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$sym_name attr-dict-with-keyword $body";
  let hasVerifier = 1;
}

def DS_LaunchOp : DS_Op<"launch", [HasParent<"PlanOp">,
                                   DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "One kernel launch of a plan";
  let description = [{
    Launches `kernel` (a `gpu.func` of the module's kernels, or its compiled form) on `grid`
    blocks of `block` threads with `smem` bytes of dynamic shared memory; `params` are the
    kernel's parameters in order (`ptr arg i`, `ptr ws <offset>`, `i64|i32 <expr>`, `f32 <v>`).
    Grid, shared memory and scalar parameters are expressions of the plan's symbols. While the
    kernel is a `gpu.func`, the verifier checks that the parameters match its arguments in number
    and kind and that `block` is its known block size. `programmatic`: launched with programmatic
    stream serialization (the kernel waits on `griddepcontrol.wait` before it touches memory, so
    it may be scheduled while the previous kernel drains; the bundle's `programmatic` line).
  }];
  let arguments = (ins SymbolRefAttr:$kernel, StrArrayAttr:$grid, DenseI64ArrayAttr:$block,
                       StrAttr:$smem, StrArrayAttr:$params, UnitAttr:$programmatic);
  let assemblyFormat = "$kernel attr-dict";
  let hasVerifier = 1;
}

#endif // DS_OPS_TD
