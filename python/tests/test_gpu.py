"""The Python package on a GPU with torch: results against float64 torch references, launches on
the current stream, CUDA-graph capture and replay with new inputs, two tensor-parallel "ranks" of
half the heads each, and ds and Triton kernels in one process. Skips only where there is no torch
or no CUDA device."""
import math
import unittest

try:
    import torch
    HAVE_GPU = torch.cuda.is_available()
except ImportError:  # compile-only machines
    torch = None
    HAVE_GPU = False

import ds
import ds.graphs
import ds.ops


def paged_problem(B, hq, hkv, d, P, lens, dtype, seed=0):
    """Caches [pages, P, Hkv, d] whose pages are handed out in shuffled order, q [B, Hq, d]."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    max_pages = max(math.ceil(n / P) for n in lens)
    total = sum(math.ceil(n / P) for n in lens) + 3
    perm = torch.randperm(total, generator=g)
    table = torch.full((B, max_pages), -1, dtype=torch.int32)
    used = 0
    for b, n in enumerate(lens):
        m = math.ceil(n / P)
        table[b, :m] = perm[used:used + m].to(torch.int32)
        used += m
    k = torch.randn(total, P, hkv, d, generator=g).to(dtype).cuda()
    v = torch.randn(total, P, hkv, d, generator=g).to(dtype).cuda()
    q = torch.randn(B, hq, d, generator=g).to(dtype).cuda()
    return q, k, v, table.cuda(), torch.tensor(lens, dtype=torch.int32).cuda()


def gather_tokens(cache, table, b, n, P):
    """Request b's first n tokens: [n, Hkv, d]."""
    t = torch.arange(n, device=cache.device)
    pages = table[b, (t // P).long()].long()
    return cache[pages, t % P]


def attention_ref(q, k, v, table, lens, P, tokens=None):
    """float64 decode: o[b, h] over all tokens of request b, or over tokens[b][h] when given."""
    B, hq, d = q.shape
    hkv = k.shape[2]
    out = torch.zeros(B, hq, d, dtype=torch.float64, device=q.device)
    for b in range(B):
        n = int(lens[b])
        kb = gather_tokens(k, table, b, n, P).double()
        vb = gather_tokens(v, table, b, n, P).double()
        for h in range(hq):
            kh, vh = kb[:, h * hkv // hq], vb[:, h * hkv // hq]
            if tokens is not None:
                idx = tokens[b][h]
                kh, vh = kh[idx], vh[idx]
            w = torch.softmax((kh @ q[b, h].double()) / math.sqrt(d), dim=0)
            out[b, h] = w @ vh
    return out


@unittest.skipUnless(HAVE_GPU, "no torch with a CUDA device")
class Gpu(unittest.TestCase):
    def assertClose(self, got, want, tol):
        err = (got.double() - want).abs().max().item()
        self.assertLess(err, tol, f"max abs error {err}")

    def test_dense_decode_gqa_ragged(self):
        for dtype, P in ((torch.bfloat16, 16), (torch.float16, 1)):
            lens = [1, 300, 1000]
            q, k, v, table, seq = paged_problem(3, 32, 8, 128, P, lens, dtype)
            o = ds.ops.dense_decode(q, k, v, table, seq)
            self.assertEqual(o.shape, (3, 32, 128))
            self.assertClose(o, attention_ref(q, k, v, table, lens, P), 2e-2)

    def test_double_sparsity_matches_attention_over_its_selection(self):
        lens = [700, 2048]
        q, k, v, table, seq = paged_problem(2, 32, 32, 128, 1, lens, torch.bfloat16, seed=1)
        channels = torch.stack([torch.randperm(128)[:16] for _ in range(32)]).to(torch.int32).cuda()
        labels = torch.zeros(32, k.shape[0], 16, dtype=torch.bfloat16, device="cuda")
        slots = torch.arange(k.shape[0], dtype=torch.int32, device="cuda")
        ds.ops.label_append(labels, k[:, 0], channels, slots)
        # label_append against gathering the channels directly.
        want = torch.stack([k[:, 0, h][:, channels[h].long()] for h in range(32)])
        self.assertTrue(torch.equal(labels, want))
        o, heavy = ds.ops.double_sparsity_decode(q, k, v, labels, channels, table, seq, k=256)
        tokens = [[heavy[b, h][heavy[b, h] >= 0].long() for h in range(32)] for b in range(2)]
        for b in range(2):
            for h in range(32):
                sel = tokens[b][h]
                self.assertEqual(sel.numel(), min(256, lens[b]))
                self.assertEqual(sel.unique().numel(), sel.numel())
                self.assertLess(int(sel.max()), lens[b])
        self.assertClose(o, attention_ref(q, k, v, table, lens, 1, tokens), 2e-2)

    def test_errors_name_the_argument(self):
        q, k, v, table, seq = paged_problem(2, 32, 32, 128, 16, [10, 20], torch.bfloat16)
        with self.assertRaisesRegex(ds.Error, "seq_lens"):
            ds.ops.dense_decode(q, k, v, table, seq.to(torch.int64))
        with self.assertRaisesRegex(ds.Error, "k_cache.*contiguous"):
            ds.ops.dense_decode(q, k.transpose(0, 1).contiguous().transpose(0, 1), v, table, seq)
        with self.assertRaisesRegex(ds.Error, "q"):
            ds.ops.dense_decode(q.cpu(), k, v, table, seq)

    def test_launch_on_current_stream(self):
        lens = [4000] * 4
        q, k, v, table, seq = paged_problem(4, 32, 32, 128, 16, lens, torch.bfloat16)
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            o = ds.ops.dense_decode(q, k, v, table, seq)
            o2 = o * 2  # ordered after the launch on s
        torch.cuda.current_stream().wait_stream(s)
        self.assertClose(o2 / 2, attention_ref(q, k, v, table, lens, 16), 2e-2)

    def test_cuda_graph_replay_with_new_inputs(self):
        P = 16
        q, k, v, table, seq = paged_problem(3, 32, 8, 128, P, [500, 900, 64], torch.bfloat16)
        spec = ds.ops.paged_attention_spec(q, k)
        pipe = ds.ops._context(q).pipeline("dense_decode", **spec)
        workspace = torch.empty(64 << 20, dtype=torch.uint8, device="cuda")
        pipe(q, k, v, table, seq, workspace=workspace)  # warm-up: compile and load off the graph
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            o = pipe(q, k, v, table, seq, workspace=workspace)
        for step, lens in enumerate(([500, 900, 64], [37, 899, 1], [512, 16, 700])):
            # New contents in the captured buffers: lengths, page table, caches and q.
            seq.copy_(torch.tensor(lens, dtype=torch.int32))
            table.copy_(torch.randint(0, k.shape[0], table.shape, dtype=torch.int32))
            k.normal_()
            v.normal_()
            q.normal_()
            graph.replay()
            eager = pipe(q, k, v, table, seq, workspace=workspace)
            torch.cuda.synchronize()
            self.assertTrue(torch.equal(o, eager), f"step {step}")
            ok = torch.zeros(3, 32, 128, dtype=torch.float64, device="cuda")
            for b, n in enumerate(lens):
                ok[b] = attention_ref(q[b:b + 1], k, v, table[b:b + 1], [n], P)[0]
            self.assertClose(o, ok, 2e-2)

    def test_bucketed_graphs_share_one_workspace(self):
        P = 16
        q, k, v, table, seq = paged_problem(4, 32, 8, 128, P, [300, 200, 100, 50], torch.bfloat16)
        pipe = ds.ops._context(q).pipeline("dense_decode", **ds.ops.paged_attention_spec(q, k))
        runner = ds.graphs.BucketedGraphs(pipe, [q, k, v, table, seq],
                                          batch_args=("q", "page_table", "seq_lens"),
                                          buckets=(4, 1, 2))
        self.assertEqual(runner.buckets, [1, 2, 4])
        self.assertEqual(runner.bucket(3), 4)
        for batch, lens in ((3, [17, 200, 99]), (1, [300]), (2, [1, 64])):
            seq[:batch].copy_(torch.tensor(lens, dtype=torch.int32))
            q.normal_()
            o = runner(batch)
            torch.cuda.synchronize()
            self.assertEqual(o.shape[0], batch)
            eager = pipe(q[:batch], k, v, table[:batch], seq[:batch])
            self.assertTrue(torch.equal(o, eager), f"batch {batch}")
            self.assertClose(o, attention_ref(q[:batch], k, v, table[:batch], lens, P), 2e-2)
        with self.assertRaisesRegex(ds.Error, "largest bucket 4"):
            runner(5)
        with self.assertRaisesRegex(ds.Error, "batch_args"):
            ds.graphs.BucketedGraphs(pipe, [q, k, v, table, seq], batch_args=("x",), buckets=(1,))

    def test_two_tensor_parallel_ranks_match_full_heads(self):
        lens = [333, 1500]
        q, k, v, table, seq = paged_problem(2, 32, 8, 128, 16, lens, torch.bfloat16, seed=3)
        full = ds.ops.dense_decode(q, k, v, table, seq)
        halves = [ds.ops.dense_decode(q[:, r * 16:(r + 1) * 16].contiguous(),
                                      k[:, :, r * 4:(r + 1) * 4].contiguous(),
                                      v[:, :, r * 4:(r + 1) * 4].contiguous(), table, seq)
                  for r in range(2)]
        # Not bit-equal: the config pass picks the decode's splits from the grid (B x heads).
        want = attention_ref(q, k, v, table, lens, 16)
        self.assertClose(full, want, 2e-2)
        self.assertClose(torch.cat(halves, dim=1), want, 2e-2)

    def test_linear_attention_decode(self):
        B, H, d = 4, 8, 64
        q, k, v = (torch.randn(B, H, d, device="cuda").to(torch.bfloat16) for _ in range(3))
        slopes = torch.rand(H, device="cuda") * 0.5
        states = torch.randn(6, H, d, d, device="cuda")
        idx = torch.tensor([5, 0, 3, 1], dtype=torch.int32, device="cuda")
        before = states.clone()
        o = ds.ops.linear_attn_decode(q, k, v, slopes, states, idx)
        lam = torch.exp(-slopes.double())[None, :, None, None]
        s = lam * before[idx.long()].double() + k.double()[..., :, None] * v.double()[..., None, :]
        want = torch.einsum("bhd,bhde->bhe", q.double(), s)
        self.assertClose(o, want, 1e-2 * want.abs().max().item())  # o is bf16: 2^-8 relative
        self.assertTrue(torch.allclose(states[idx.long()].double(), s, atol=1e-3))
        self.assertTrue(torch.equal(states[[2, 4]], before[[2, 4]]))

    def test_with_triton_in_the_same_process(self):
        try:
            import triton
            import triton.language as tl
        except ImportError:
            self.skipTest("no triton")

        @triton.jit
        def add_one(x, n, BLOCK: tl.constexpr):
            i = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
            tl.store(x + i, tl.load(x + i, mask=i < n) + 1, mask=i < n)

        x = torch.zeros(1000, device="cuda")
        add_one[(4,)](x, 1000, BLOCK=256)
        lens = [100, 200]
        q, k, v, table, seq = paged_problem(2, 32, 32, 128, 16, lens, torch.bfloat16)
        o = ds.ops.dense_decode(q, k, v, table, seq)
        add_one[(4,)](x, 1000, BLOCK=256)
        self.assertTrue(torch.equal(x, torch.full_like(x, 2)))
        self.assertClose(o, attention_ref(q, k, v, table, lens, 16), 2e-2)


if __name__ == "__main__":
    unittest.main()
