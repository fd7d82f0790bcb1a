"""Host overhead of the Python entry points and CUDA-graph replay time (issue 12's bars).

    DS_LIBRARY=build-static/lib/libds.so PYTHONPATH=python python3 python/benchmarks/overhead.py

For B = 8, N = 4096, k = 1024 (Hq = Hkv = 32, d = 128, r = 16, P = 1, bf16) it prints:
  - eager: wall time per call over 1000 back-to-back double_sparsity_decode calls, and the
    host's time per call until the last one returned;
  - gpu: the GPU time per step (events around 1000 graph replays);
  - host overhead = eager wall per call - gpu per step (the launch queue hides the host only when
    the host is faster than the GPU, so this is measured with the queue drained first);
  - replay: one graph replay's time with L2 flushed between replays (comparable to ds-bench).
"""
import math
import time

import torch

import ds.ops


def problem(B=8, N=4096, H=32, d=128, r=16):
    torch.manual_seed(0)
    k = torch.randn(B * N, 1, H, d, device="cuda", dtype=torch.bfloat16)
    v = torch.randn_like(k)
    q = torch.randn(B, H, d, device="cuda", dtype=torch.bfloat16)
    table = torch.arange(B * N, dtype=torch.int32, device="cuda").view(B, N)
    seq = torch.full((B,), N, dtype=torch.int32, device="cuda")
    channels = torch.stack([torch.randperm(d)[:r] for _ in range(H)]).to(torch.int32).cuda()
    labels = torch.empty(H, B * N, r, dtype=torch.bfloat16, device="cuda")
    ds.ops.label_append(labels, k[:, 0], channels, torch.arange(B * N, dtype=torch.int32,
                                                                 device="cuda"))
    return q, k, v, labels, channels, table, seq


def main():
    args = problem()
    step = lambda: ds.ops.double_sparsity_decode(*args, k=1024)
    for _ in range(20):
        step()
    torch.cuda.synchronize()

    calls = 1000
    t0 = time.perf_counter()
    for _ in range(calls):
        step()
    host_us = (time.perf_counter() - t0) / calls * 1e6  # until the last call returned
    torch.cuda.synchronize()
    eager_us = (time.perf_counter() - t0) / calls * 1e6

    # The same step captured once (outputs and workspace owned by the graph's pool).
    spec = ds.ops.paged_attention_spec(args[0], args[1], k=1024, labelDim=16,
                                       sharedSelection=False, denseBelow=0)
    pipe = ds.ops._context(args[0]).pipeline("double_sparsity", **spec)
    workspace = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
    pipe(*args, workspace=workspace)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        pipe(*args, workspace=workspace)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    graph.replay()
    start.record()
    for _ in range(calls):
        graph.replay()
    end.record()
    torch.cuda.synchronize()
    gpu_us = start.elapsed_time(end) / calls * 1e3

    # Replays with L2 flushed in between, median of 100 (ds-bench's method).
    flush = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
    times = []
    for _ in range(100):
        flush.zero_()
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        graph.replay()
        e.record()
        e.synchronize()
        times.append(s.elapsed_time(e) * 1e3)
    times.sort()
    print(f"double_sparsity_decode B=8 N=4096 k=1024: eager wall {eager_us:.1f} us/call, "
          f"host {host_us:.1f} us/call until return, gpu {gpu_us:.1f} us/step, host overhead {max(eager_us - gpu_us, 0.0):.1f} us/call, "
          f"graph replay (L2 flushed, median of 100) {times[len(times) // 2]:.1f} us")


if __name__ == "__main__":
    main()
