"""Entry points with the argument order and layouts of the kernels serving engines already call,
so that swapping a backend is a few lines:

- ds.adapters.sglang.flash_decode_sparse_attention_fwd: SGLang's Double Sparsity decode step
  (DoubleSparseAttnBackend.forward_decode's kernel call);
- ds.adapters.lightning.linear_decode_forward_triton: the Lightning Attention decode call of
  vLLM's MiniMax layer and of SGLang's LightningAttentionBackend (same name and arguments);
- ds.adapters.lightning.lightning_attention: vLLM's Lightning prefill call (SGLang's prefill
  goes through seg_la_fwd, which has no adapter yet).

Each module's docstring lists the layout translations. Every entry point takes one tensor-parallel
rank's heads only (its q heads, its slice of the caches, its slopes: SGLang's tp_slope)."""
