"""CUDA graphs of a decode step for batch-size buckets, sharing one workspace.

    runner = ds.graphs.BucketedGraphs(pipeline, static_inputs, batch_args=("q", "page_table",
                                      "seq_lens"), buckets=(1, 2, 4, 8, 16, 32))
    ...                                   # each step: write the step's rows into the static inputs
    outs = runner(batch)                  # replays the smallest bucket >= batch; outputs [:batch]

`static_inputs` are the pipeline's inputs sized for the largest bucket; the arguments named in
`batch_args` have the batch as dim 0 and bucket b's graph reads their first b rows, the others
(caches, channels, ...) are read whole. The caller writes new contents into these tensors before
a replay (a graph replays fixed addresses). Rows from `batch` up to the bucket are computed on
whatever those rows of the static inputs hold, so keep them valid (lengths and page-table entries
in range); their outputs are dropped. One workspace, sized for the largest bucket, serves every
graph: replays on one stream run one after another.
"""
from . import Error
from .runtime import _torch


class BucketedGraphs:
    def __init__(self, pipeline, static_inputs, *, batch_args, buckets, stream=None):
        torch = _torch()
        names = [a.name for a in pipeline.inputs]
        unknown = [n for n in batch_args if n not in names]
        if unknown:
            raise Error(f"ds: batch_args names {unknown}, not inputs of the pipeline ({', '.join(names)})")
        if not buckets or any(int(b) <= 0 for b in buckets):
            raise Error(f"ds: buckets must be positive batch sizes, got {tuple(buckets)}")
        self.buckets = sorted(set(int(b) for b in buckets))
        self.inputs = list(static_inputs)
        self._batch = [n in batch_args for n in names]
        largest = self.buckets[-1]
        for is_batch, name, t in zip(self._batch, names, self.inputs):
            if is_batch and int(t.shape[0]) < largest:
                raise Error(f"ds: argument '{name}' has {int(t.shape[0])} rows, the largest bucket {largest}")
        self.workspace = torch.empty(max(pipeline.workspace_bytes(*self._slice(largest)), 1),
                                     dtype=torch.uint8, device=self.inputs[0].device)
        self.graphs, self.outputs = {}, {}
        side = stream or torch.cuda.Stream(device=self.inputs[0].device)
        for b in self.buckets:
            args = self._slice(b)
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                pipeline(*args, workspace=self.workspace)  # warm-up: load, size, no capture
            torch.cuda.current_stream().wait_stream(side)
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                out = pipeline(*args, workspace=self.workspace)
            self.graphs[b] = g
            self.outputs[b] = out if isinstance(out, tuple) else (out,)

    def _slice(self, b):
        return [t[:b] if is_batch else t for is_batch, t in zip(self._batch, self.inputs)]

    def bucket(self, batch):
        for b in self.buckets:
            if b >= batch:
                return b
        raise Error(f"ds: batch {batch} is larger than the largest bucket {self.buckets[-1]}")

    def __call__(self, batch):
        """Replays the graph of the smallest bucket >= batch on the current stream; returns the
        outputs' first `batch` rows (views into the graph's buffers, overwritten by the next
        replay)."""
        if batch <= 0:
            raise Error(f"ds: batch must be positive, got {batch}")
        b = self.bucket(batch)
        self.graphs[b].replay()
        outs = tuple(o[:batch] for o in self.outputs[b])
        return outs[0] if len(outs) == 1 else outs
