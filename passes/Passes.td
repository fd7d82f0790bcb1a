#ifndef DS_PASSES_TD
#define DS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SelectKernelConfigPass : Pass<"ds-select-kernel-config", "func::FuncOp"> {
  let summary = "Choose every kernel's config from the op's shapes and the target";
  let description = [{
    Records the target on the function (`ds.target = #ds.target<...>`, from the options) and
    attaches `#ds.kernel_config<...>` to every ds op that has none: the op's kernel family
    (registered from its codegen file) chooses it from the op's static shapes and the target.
    An op that already carries a config (a user override) keeps it. Each `override`
    (`<op>.<field>=<value>`, the op with or without `ds.`) then sets one field of the config of
    every op of that name: a sweep over configs without writing them out. An override whose
    field does not exist, whose value does not parse, or whose op is not in the function (nor
    one ds-split-decode makes or replaces: `decode_partial`, `decode_merge` for a decode op and
    back) is an error on the function. Every config, chosen, given or overridden, is checked
    against what the family's kernels build: one they cannot build exactly is refused with an
    error on the op. Later passes only read the config and the target.
    With `programmatic-launch` (the default) on a chip with griddepcontrol (sm_90+) the function
    is marked `ds.programmatic_launch`: ds-lower-to-kernels then chains its kernels by
    programmatic dependent launch. A function marked for a chip without it is refused.
  }];
  let dependentDialects = ["::mlir::ds::DSDialect"];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90\"",
           "Target chip: sm_80, sm_86, sm_89, sm_90, sm_90a, sm_100, sm_100a, sm_120, sm_120a">,
    Option<"smCount", "sm-count", "int64_t", /*default=*/"132", "Streaming multiprocessors of the target (1..1024)">,
    Option<"smemPerBlock", "smem-per-block", "int64_t", /*default=*/"0",
           "Opt-in shared memory of one block in bytes (0: the chip's)">,
    Option<"regsPerSM", "regs-per-sm", "int64_t", /*default=*/"0", "Registers of one SM (0: the chip's)">,
    Option<"l2Bytes", "l2-bytes", "int64_t", /*default=*/"0", "L2 cache bytes (0: the chip's)">,
    Option<"programmaticLaunch", "programmatic-launch", "bool", /*default=*/"true",
           "Chain the function's kernels by programmatic dependent launch where the chip has it "
           "(sm_90+): marks the function ds.programmatic_launch">,
    ListOption<"overrides", "override", "std::string",
               "Config overrides <op>.<field>=<value> (e.g. topp.warps=16): set that field of "
               "every such op's config, chosen or given; checked like any config">,
  ];
}

def FuseScoreTopKPass : Pass<"ds-fuse-score-topk", "func::FuncOp"> {
  let summary = "Fuse label or page scoring with the top-k selection that consumes it";
  let description = [{
    Rewrites `ds.topk(ds.label_score(...), lens)` into one `ds.score_topk`, whose kernel keeps a
    row's scores in shared memory while selecting instead of writing the whole score array to
    global memory and reading it back. It applies when the scores have no other use, `lens` is
    label_score's `seq_lens` and `divisor = 1`, and the rows have label_score's length: the
    score dim is dynamic (sized `max_pages * P`) or equals `max_pages * P`, and neither op has a
    `#ds.kernel_config` (a config is a contract for its op's kernel: the pair then stays apart; a
    `ds.label_gather` with one is not absorbed either). The fused kernel is tuned apart from
    either producer, so the fused op carries no config: the pipeline runs this pass before
    `ds-select-kernel-config`, which gives it its own.

    ```mlir
    %a = ds.label_score %ql, %cache, %pt, %sl {page_size = 16 : i64, scale = 0.25 : f32}
        : (...) -> tensor<?x32x?xf32>
    %i = ds.topk %a, %sl {k = 256 : i64} : (tensor<?x32x?xf32>, tensor<?xi32>) -> tensor<?x32x256xi32>
    // becomes
    %i = ds.score_topk %ql, %cache, %pt, %sl {k = 256 : i64, page_size = 16 : i64, scale = 0.25 : f32}
        : (...) -> tensor<?x32x256xi32>
    ```

    A `ds.label_gather` whose result is only the score_topk's query labels is absorbed too:
    `ds.score_topk(ds.label_gather(%q, %channels), ...)` becomes
    `ds.score_topk %q, %cache, %pt, %sl, %channels`, which gathers the labels in its own kernel
    (one kernel and one array fewer per decode step).

    Quest's `ds.topk(ds.page_score(...), seq_lens)` with `divisor = page_size` becomes one
    `ds.page_score_topk` the same way (the scores have no other use, `lens` is page_score's
    `seq_lens`): a row is `cdiv(n_b, P)` pages for both. This one is opt-in (`page-score=1`):
    on the H200 the fused kernel is still 2-7% slower than page_score + topk (its scoring keeps
    fewer summary loads in flight), and re-measured on an H100 in session 43 it lost on the
    issue's B = 1, B = 8 and shared rows at each of the seven configs whose figures came back
    (1.0-9.7% at the best of them per row; it won 2.4% only at B = 32, N = 65536), so the
    default pipeline keeps the two kernels.
  }];
  let options = [
    Option<"pageScore", "page-score", "bool", /*default=*/"false",
           "Also fuse Quest's topk(page_score) into page_score_topk">,
  ];
  let dependentDialects = ["::mlir::ds::DSDialect"];
}

def SplitDecodePass : Pass<"ds-split-decode", "func::FuncOp"> {
  let summary = "Split decode attention into split-K partials and their merge";
  let description = [{
    Rewrites `ds.dense_decode` and `ds.sparse_decode` into `ds.decode_partial` (one
    online-softmax state per request, head and split, f32) followed by `ds.decode_merge`. The
    partial op keeps the decode op's `#ds.kernel_config`; the merge gets none, and the pipeline
    runs `ds-select-kernel-config` again after this pass to choose it. In the partial's config `block_tokens` is the least number of positions per split and
    8 * `splits` bounds the split count (a sparse walk takes at least cdiv(walk, 2048) splits),
    which the launch plan picks from the actual batch so that small batches still fill the GPU.
  }];
  let dependentDialects = ["::mlir::ds::DSDialect"];
}

#endif // DS_PASSES_TD
