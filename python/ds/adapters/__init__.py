"""Entry points with the argument order and layouts of the kernels serving engines already call,
so that swapping a backend is a few lines:

- ds.adapters.sglang.flash_decode_sparse_attention_fwd: SGLang's Double Sparsity decode step
  (DoubleSparseAttnBackend.forward_decode's kernel call);
- ds.adapters.lightning.linear_decode_forward_triton and .lightning_attention: the Lightning
  Attention decode and prefill functions of vLLM's MiniMax path (and SGLang's port of it).

Each module's docstring lists the layout translations. Every entry point takes one tensor-parallel
rank's heads only (its q heads, its slice of the caches, its slopes: SGLang's tp_slope)."""
