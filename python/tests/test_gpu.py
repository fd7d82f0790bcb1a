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
import ds.adapters.lightning
import ds.adapters.sglang
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


def recurrence_ref(q, k, v, slopes, states):
    """float64 linear attention over tokens [b, H, n, *] from states [b, H, D, E]: (o, final)."""
    lam = torch.exp(-slopes.double())[None, :, None, None]
    s = states.double().clone()
    outs = []
    for t in range(q.shape[2]):
        s = lam * s + k[:, :, t].double()[..., :, None] * v[:, :, t].double()[..., None, :]
        outs.append(torch.einsum("bhd,bhde->bhe", q[:, :, t].double(), s))
    return torch.stack(outs, dim=2), s


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

    def test_quest_summaries_and_decode_against_its_selection(self):
        """quest_summary_append over every token against torch's min / max; quest_decode per
        head and shared (GQA 32/8): its pages distinct, in range, the last page kept, all pages
        when n <= budget, the kept pages' bounds not below the others', and o against float64
        attention over the kept pages' tokens."""
        P, budget, hq, hkv, d = 16, 256, 32, 8, 128
        lens = [40, 700, 2049]
        q, k, v, table, seq = paged_problem(3, hq, hkv, d, P, lens, torch.bfloat16, seed=3)
        kmin = torch.zeros(k.shape[0], hkv, d, dtype=torch.bfloat16, device="cuda")
        kmax = torch.zeros_like(kmin)
        new_k, slots = [], []
        for b, n in enumerate(lens):
            t = torch.arange(n, device="cuda")
            new_k.append(gather_tokens(k, table, b, n, P))
            slots.append(table[b, (t // P).long()].long() * P + t % P)
        ds.ops.quest_summary_append(kmin, kmax, torch.cat(new_k),
                                    torch.cat(slots).to(torch.int32), page_size=P)
        for b, n in enumerate(lens):
            for p in range(math.ceil(n / P)):
                page = int(table[b, p])
                present = k[page, :min(P, n - p * P)]
                self.assertTrue(torch.equal(kmin[page], present.amin(0)))
                self.assertTrue(torch.equal(kmax[page], present.amax(0)))
        g = hq // hkv
        for shared in (False, True):
            o, sel = ds.ops.quest_decode(q, k, v, kmin, kmax, table, seq, token_budget=budget,
                                         shared_selection=shared)
            self.assertEqual(sel.shape, (3, hkv if shared else hq, budget // P))
            tokens = []
            for b, n in enumerate(lens):
                pages_n = math.ceil(n / P)
                rows = []
                for r in range(sel.shape[1]):
                    pages = sel[b, r][sel[b, r] >= 0].long()
                    self.assertEqual(pages.numel(), min(pages_n, budget // P))
                    self.assertEqual(pages.unique().numel(), pages.numel())
                    self.assertLess(int(pages.max()), pages_n)
                    self.assertIn(pages_n - 1, pages.tolist())
                    # Bounds (float64) of the request's pages for this row's heads.
                    heads = range(r * g, (r + 1) * g) if shared else [r]
                    phys = table[b, :pages_n].long()
                    lo, hi = kmin[phys, r if shared else r // g].double(), \
                        kmax[phys, r if shared else r // g].double()
                    u = sum(torch.maximum(q[b, h].double() * lo, q[b, h].double() * hi).sum(1)
                            for h in heads)
                    kept = torch.zeros(pages_n, dtype=torch.bool, device="cuda")
                    kept[pages] = True
                    kept[pages_n - 1] = False  # kept whatever its bound
                    if (~kept[:pages_n - 1]).any() and kept.any():
                        tol = 1e-2 * float(u.abs().max())
                        self.assertGreaterEqual(float(u[kept].min()) + tol,
                                                float(u[:pages_n - 1][~kept[:pages_n - 1]].max()))
                    t = (pages[:, None] * P + torch.arange(P, device="cuda")).flatten()
                    rows.append(t[t < n])
                tokens.append([rows[h // g] if shared else rows[h] for h in range(hq)])
            self.assertClose(o, attention_ref(q, k, v, table, lens, P, tokens), 2e-2)

    def test_twilight_decode_against_its_kept_tokens(self):
        """twilight_decode with the label estimate and with int4 keys (int4_append checked bit
        for bit against a torch quantization): kept tokens compacted to the front, distinct, in
        range, -1 after the count; o against float64 attention over them."""
        lens, hq, hkv, d, r = [300, 2048], 32, 8, 128, 16
        q, k, v, table, seq = paged_problem(2, hq, hkv, d, 1, lens, torch.bfloat16, seed=4)
        S = k.shape[0]
        channels = torch.stack([torch.randperm(d)[:r] for _ in range(hkv)]).to(torch.int32).cuda()
        labels = torch.zeros(hkv, S, r, dtype=torch.bfloat16, device="cuda")
        slots = torch.arange(S, dtype=torch.int32, device="cuda")
        ds.ops.label_append(labels, k[:, 0], channels, slots)
        kq = torch.zeros(S, hkv, d // 8 + 4, dtype=torch.int32, device="cuda")
        ds.ops.int4_append(kq, k[:, 0], slots)
        # int4 keys: per 32 channels s = f16(max |k| / 7), codes clamp(round(k / s), -8, 7);
        # a record holds the d / 8 words of codes, then the d / 32 scales and zeros.
        x = k[:, 0].float().view(S, hkv, d // 32, 32)
        s = (x.abs().amax(-1) / 7.0).to(torch.float16)
        sf = s.float().unsqueeze(-1)
        codes = torch.where(sf == 0, torch.zeros_like(x),
                            torch.clamp(torch.round(x / torch.where(sf == 0, 1.0, sf)), -8, 7))
        nib = (codes.to(torch.int64) & 0xF).view(S, hkv, d // 8, 8)
        words = (nib << (4 * torch.arange(8, device="cuda"))).sum(-1)
        words = torch.where(words >= 2 ** 31, words - 2 ** 32, words).to(torch.int32)
        tail = torch.zeros(S, hkv, 8, dtype=torch.float16, device="cuda")
        tail[:, :, :d // 32] = s
        self.assertTrue(torch.equal(kq[:, :, :d // 8], words))
        self.assertTrue(torch.equal(kq[:, :, d // 8:].contiguous().view(torch.float16), tail))
        for extra in ({}, {"kq": kq}):
            o, kept, counts = ds.ops.twilight_decode(q, k, v, labels, channels, table, seq,
                                                     candidates=256, top_p=0.9, **extra)
            tokens = []
            for b, n in enumerate(lens):
                rows = []
                for h in range(hq):
                    c = int(counts[b, h])
                    self.assertGreaterEqual(c, 1)
                    self.assertLessEqual(c, min(256, n))
                    t = kept[b, h, :c].long()
                    self.assertEqual(t.unique().numel(), c)
                    self.assertGreaterEqual(int(t.min()), 0)
                    self.assertLess(int(t.max()), n)
                    self.assertTrue(bool((kept[b, h, c:] == -1).all()))
                    rows.append(t)
                tokens.append(rows)
            self.assertClose(o, attention_ref(q, k, v, table, lens, 1, tokens), 2e-2)

    def test_vattention_decode_weighted_estimate(self):
        """vattention_decode: sinks and window always selected, entries distinct and in range,
        the same selection for the same philox key, o against float64 attention over the
        selection with its log-weights; a row shorter than the deterministic set is exact."""
        lens, hq, hkv, d, r = [100, 3000], 32, 32, 128, 16
        sinks, window, topk, samples = 16, 64, 64, 128
        q, k, v, table, seq = paged_problem(2, hq, hkv, d, 1, lens, torch.bfloat16, seed=5)
        S = k.shape[0]
        channels = torch.stack([torch.randperm(d)[:r] for _ in range(hkv)]).to(torch.int32).cuda()
        labels = torch.zeros(hkv, S, r, dtype=torch.bfloat16, device="cuda")
        ds.ops.label_append(labels, k[:, 0], channels,
                            torch.arange(S, dtype=torch.int32, device="cuda"))
        philox = torch.tensor([1234, 0], dtype=torch.int64, device="cuda")
        run = lambda: ds.ops.vattention_decode(q, k, v, labels, channels, table, seq, philox,
                                               k=topk, sinks=sinks, window=window,
                                               num_samples=samples)
        o, sel, logw = run()
        o2, sel2, _ = run()
        self.assertTrue(torch.equal(sel, sel2))
        self.assertTrue(torch.equal(o, o2))
        want = torch.zeros(2, hq, d, dtype=torch.float64, device="cuda")
        for b, n in enumerate(lens):
            kb = gather_tokens(k, table, b, n, 1).double()
            vb = gather_tokens(v, table, b, n, 1).double()
            for h in range(hq):
                ok = sel[b, h] >= 0
                t, w = sel[b, h][ok].long(), logw[b, h][ok].double()
                self.assertEqual(t.unique().numel(), t.numel())
                self.assertLess(int(t.max()), n)
                if n <= sinks + window + topk + samples:
                    self.assertEqual(sorted(t.tolist()), list(range(n)))
                    self.assertTrue(bool((w == 0).all()))
                else:
                    got = set(t.tolist())
                    self.assertTrue(set(range(sinks)) <= got)
                    self.assertTrue(set(range(n - window, n)) <= got)
                    # The top-k's entries outside the sinks and the window, then the samples
                    # (weight log(m / samples) > 0).
                    self.assertLessEqual(t.numel(), sinks + window + topk + samples)
                    self.assertEqual(int((w > 0).sum()), samples)
                logits = kb[t, h] @ q[b, h].double() / math.sqrt(d) + w
                want[b, h] = torch.softmax(logits, dim=0) @ vb[t, h]
        self.assertClose(o, want, 2e-2)

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
        want, s = recurrence_ref(q[:, :, None], k[:, :, None], v[:, :, None], slopes,
                                 before[idx.long()])
        want = want[:, :, 0]
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


@unittest.skipUnless(HAVE_GPU, "no torch with a CUDA device")
class Adapters(unittest.TestCase):
    """The engine call shapes (ds.adapters) against ds.ops and float64 references."""

    def assertClose(self, got, want, tol):
        err = (got.double() - want).abs().max().item()
        self.assertLess(err, tol, f"max abs error {err}")

    def sglang_problem(self, lens, hq, hkv, d=128, r=16, seed=5):
        """SGLang's layouts: token pools [S, Hkv, d], token-major labels [S, Hkv, r], the batch's
        token table [B, max_len] with shuffled slots."""
        g = torch.Generator(device="cpu").manual_seed(seed)
        S = sum(lens) + 7
        perm = torch.randperm(S, generator=g).to(torch.int32)
        table = torch.zeros(len(lens), max(lens), dtype=torch.int32)
        used = 0
        for b, n in enumerate(lens):
            table[b, :n] = perm[used:used + n]
            used += n
        k = torch.randn(S, hkv, d, generator=g).to(torch.bfloat16).cuda()
        v = torch.randn(S, hkv, d, generator=g).to(torch.bfloat16).cuda()
        q = torch.randn(len(lens), hq, d, generator=g).to(torch.bfloat16).cuda()
        channels = torch.stack([torch.randperm(d, generator=g)[:r] for _ in range(hkv)]).cuda()
        k_label = torch.stack([k[:, h, channels[h]] for h in range(hkv)], dim=1)  # [S, Hkv, r]
        q_label = torch.stack([q[:, h, channels[h * hkv // hq]] for h in range(hq)], dim=1)
        return q, k, v, k_label, q_label, channels, table.cuda(), S

    def test_sglang_double_sparsity_step(self):
        lens = [1, 300, 2000]
        for hq, hkv in ((32, 32), (32, 8)):
            q, k, v, k_label, q_label, channels, table, S = self.sglang_problem(lens, hq, hkv)
            seq64 = torch.tensor(lens, dtype=torch.int64, device="cuda")  # SGLang's seq_lens
            scale = 1 / math.sqrt(128)
            o1 = torch.empty_like(q)
            ret = ds.adapters.sglang.flash_decode_sparse_attention_fwd(
                q, k, v, o1, q_label, k_label, table, seq64, max(lens), scale, 0.0, 256)
            self.assertEqual(ret.data_ptr(), o1.data_ptr())  # written in place, like SGLang's
            # The no-copy path: head-major labels written by append at every slot.
            labels = ds.adapters.sglang.HeadMajorLabels.empty(hkv, S, 16, torch.bfloat16, "cuda")
            labels.append(k, channels, torch.arange(S, device="cuda"))
            self.assertTrue(torch.equal(labels.tensor, k_label.transpose(0, 1)))
            o2 = torch.empty_like(q)
            ds.adapters.sglang.flash_decode_sparse_attention_fwd(
                q, k, v, o2, q_label, labels, table, seq64.int(), max(lens), scale, None, 256)
            # Not bit-equal: the top-k lists its tokens in no fixed order (atomics), so the
            # decode's sums run in another order from call to call.
            self.assertClose(o1, o2.double(), 1e-2)
            # The same step through ds.ops (which gathers q's labels itself).
            want, heavy = ds.ops.double_sparsity_decode(
                q, k.view(S, 1, hkv, 128), v.view(S, 1, hkv, 128), labels.tensor,
                channels.to(torch.int32), table, seq64.int(), k=256)
            self.assertClose(o1, want.double(), 1e-2)
            tokens = [[heavy[b, h][heavy[b, h] >= 0].long() for h in range(hq)] for b in range(3)]
            ref = attention_ref(q, k.view(S, 1, hkv, 128), v.view(S, 1, hkv, 128), table, lens, 1,
                                tokens)
            self.assertClose(o1, ref, 2e-2)
            with self.assertRaisesRegex(ds.Error, "v_buffer must be contiguous"):
                ds.adapters.sglang.flash_decode_sparse_attention_fwd(
                    q, k, v.transpose(0, 1).contiguous().transpose(0, 1), o1, q_label, k_label,
                    table, seq64, max(lens), scale, 0.0, 256)
            with self.assertRaisesRegex(ds.Error, "k_label_buffer"):
                ds.adapters.sglang.flash_decode_sparse_attention_fwd(
                    q, k, v, o1, q_label, k_label[:, :1], table, seq64, max(lens), scale, 0.0, 256)

    def test_lightning_decode_call_shape_and_tp_ranks(self):
        B, H, D = 4, 8, 64
        g = torch.Generator(device="cpu").manual_seed(7)
        q, k, v = (torch.randn(B, H, 1, D, generator=g).to(torch.bfloat16).cuda() for _ in range(3))
        slopes = (torch.rand(H, generator=g) * 0.5).cuda()
        caches = torch.randn(6, H, D, D, generator=g).cuda()
        slot_idx = torch.tensor([5, -1, 3, 1], dtype=torch.int64, device="cuda")  # -1: padding
        before = caches.clone()
        o = ds.adapters.lightning.linear_decode_forward_triton(q, k, v, caches, slopes, slot_idx)
        self.assertEqual(o.shape, (B, H * D))
        live = torch.tensor([0, 2, 3], device="cuda")
        want, s = recurrence_ref(q[live], k[live], v[live], slopes, before[slot_idx[live]])
        self.assertClose(o.view(B, H, D)[live], want[:, :, 0], 1e-2 * want.abs().max().item())
        self.assertTrue(torch.equal(o.view(B, H, D)[1], torch.zeros_like(o.view(B, H, D)[1])))
        self.assertTrue(torch.allclose(caches[slot_idx[live]].double(), s, atol=1e-3))
        self.assertTrue(torch.equal(caches[[0, 2, 4]], before[[0, 2, 4]]))
        # Two tensor-parallel ranks, each with its heads, its slopes and its own state pool.
        ranks = []
        for r in range(2):
            hs = slice(r * H // 2, (r + 1) * H // 2)
            pool = before[:, hs].clone()
            out = ds.adapters.lightning.linear_decode_forward_triton(
                q[:, hs].contiguous(), k[:, hs].contiguous(), v[:, hs].contiguous(), pool,
                slopes[hs].contiguous(), slot_idx)
            ranks.append((out.view(B, H // 2, D), pool))
        got = torch.cat([o for o, _ in ranks], dim=1)
        self.assertClose(got[live], want[:, :, 0], 1e-2 * want.abs().max().item())
        self.assertTrue(torch.equal(got[1], torch.zeros_like(got[1])))
        self.assertTrue(torch.allclose(torch.cat([p for _, p in ranks], dim=1), caches, atol=1e-4))

    def test_lightning_prefill_call_shape_and_tp_ranks(self):
        b, H, n, D = 2, 8, 150, 64
        g = torch.Generator(device="cpu").manual_seed(8)
        q, k, v = (torch.randn(b, H, n, D, generator=g).mul(0.3).to(torch.bfloat16).cuda()
                   for _ in range(3))
        slopes = (torch.rand(H, generator=g) * 0.2 + 0.01).cuda()
        history = torch.randn(b, H, D, D, generator=g).mul(0.1).cuda()
        kept = history.clone()
        o, kv = ds.adapters.lightning.lightning_attention(q, k, v, slopes.view(H, 1, 1),
                                                          kv_history=history)
        self.assertEqual(o.shape, (b, H, n, D))
        self.assertEqual(kv.shape, (b, H, 1, D, D))
        self.assertTrue(torch.equal(history, kept))  # kv_history is not modified (vLLM clones it)
        want, final = recurrence_ref(q, k, v, slopes, history)
        # Tolerances as test/gpu/LinearAttnPrefillTest.cpp's for bf16 (the tensor-core kernel's
        # operands are bf16): 2e-2 of the largest output, 1e-2 of the largest state entry.
        self.assertClose(o, want, 2e-2 * want.abs().max().item())
        self.assertClose(kv[:, :, -1], final, 1e-2 * final.abs().max().item())
        o0, kv0 = ds.adapters.lightning.lightning_attention(q, k, v, slopes)  # zero states
        want0, final0 = recurrence_ref(q, k, v, slopes, torch.zeros_like(history))
        self.assertClose(o0, want0, 2e-2 * want0.abs().max().item())
        self.assertClose(kv0[:, :, -1], final0, 1e-2 * final0.abs().max().item())
        halves = [ds.adapters.lightning.lightning_attention(
            q[:, r * 4:(r + 1) * 4], k[:, r * 4:(r + 1) * 4], v[:, r * 4:(r + 1) * 4],
            slopes[r * 4:(r + 1) * 4], kv_history=history[:, r * 4:(r + 1) * 4])
            for r in range(2)]
        self.assertClose(torch.cat([h[0] for h in halves], dim=1), want,
                         2e-2 * want.abs().max().item())
        self.assertClose(torch.cat([h[1] for h in halves], dim=1)[:, :, -1], final,
                         1e-2 * final.abs().max().item())

    def test_seg_la_fwd_prefill_decode_and_tp_ranks(self):
        """SGLang's seg_la_fwd call: a packed ragged prefill (initial states on some requests,
        a padding slot), the decode path, a strided q/k/v (slices of one fused projection) and
        two tensor-parallel ranks of half the heads, against the float64 recurrence."""
        from types import SimpleNamespace
        H, D = 8, 64
        lens, slots, initial = [1, 63, 150, 65], [5, -1, 2, 0], [1, 1, 0, 1]
        T, bs = sum(lens), len(lens)
        g = torch.Generator(device="cpu").manual_seed(9)
        qkv = torch.randn(T, 3, H, D, generator=g).mul(0.3).to(torch.bfloat16).cuda()
        q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]  # strided views, as from a fused projection
        slopes = (torch.rand(H, generator=g) * 0.2 + 0.01).cuda()
        pool = torch.randn(7, H, D, D, generator=g).mul(0.1).cuda()
        before = pool.clone()
        offsets = torch.tensor([0] + list(torch.tensor(lens).cumsum(0)), dtype=torch.int32).cuda()
        meta = SimpleNamespace(batch_size=bs, q_offsets=offsets,
                               s_offsets=torch.tensor(slots, dtype=torch.int64).cuda(),
                               q_lengths=offsets.diff(), mask=None,
                               s_scales=torch.tensor(initial, dtype=torch.bool).cuda())
        scale = 0.25
        o = ds.adapters.lightning.seg_la_fwd(q, k, v, pool, slopes.view(H, 1, 1), meta,
                                             softmax_scale=scale, decouple=True)
        self.assertEqual(o.shape, (T, H, D))

        def expected(b, heads, start_pool):
            a, e = int(offsets[b]), int(offsets[b + 1])
            pack = lambda t: t[a:e, heads].transpose(0, 1).unsqueeze(0)
            s0 = start_pool[slots[b], heads] if initial[b] else torch.zeros(
                len(range(H)[heads]), D, D, device="cuda")
            want, final = recurrence_ref(pack(q), pack(k), pack(v), slopes[heads], s0.unsqueeze(0))
            return (scale * want[0]).transpose(0, 1), final[0]

        for b in range(bs):
            a, e = int(offsets[b]), int(offsets[b + 1])
            if slots[b] < 0:
                self.assertTrue(torch.equal(o[a:e], torch.zeros_like(o[a:e])))
                continue
            want, final = expected(b, slice(None), before)
            self.assertClose(o[a:e], want, 2e-2 * want.abs().max().item() + 1e-3)
            self.assertClose(pool[slots[b]], final, 1e-2 * final.abs().max().item())
        for untouched in (1, 3, 4, 6):
            self.assertTrue(torch.equal(pool[untouched], before[untouched]))
        # Two ranks of half the heads, each with its slopes and its slice of the state pool.
        for r in range(2):
            hs = slice(r * H // 2, (r + 1) * H // 2)
            rank_pool = before[:, hs].clone()
            out = ds.adapters.lightning.seg_la_fwd(q[:, hs], k[:, hs], v[:, hs], rank_pool,
                                                   slopes[hs], meta, softmax_scale=scale)
            for b in range(bs):
                if slots[b] < 0:
                    continue
                a, e = int(offsets[b]), int(offsets[b + 1])
                want, final = expected(b, hs, before)
                self.assertClose(out[a:e], want, 2e-2 * want.abs().max().item() + 1e-3)
                self.assertClose(rank_pool[slots[b]], final, 1e-2 * final.abs().max().item())
        # The decode path: one token per request, always from the slot's state.
        dslots = [3, -1, 6]
        dq, dk, dv = (torch.randn(3, H, D, generator=g).mul(0.3).to(torch.bfloat16).cuda()
                      for _ in range(3))
        dmeta = SimpleNamespace(batch_size=3, q_offsets=torch.arange(4, dtype=torch.int32).cuda(),
                                s_offsets=torch.tensor(dslots, dtype=torch.int32).cuda(),
                                q_lengths=torch.ones(3, dtype=torch.int32).cuda(), mask=None,
                                s_scales=torch.zeros(3, dtype=torch.int32).cuda())
        start = pool.clone()
        do = ds.adapters.lightning.seg_la_fwd(dq, dk, dv, pool, slopes, dmeta)
        for b, slot in enumerate(dslots):
            if slot < 0:
                self.assertTrue(torch.equal(do[b], torch.zeros_like(do[b])))
                continue
            want, final = recurrence_ref(dq[b:b + 1, :, None], dk[b:b + 1, :, None],
                                         dv[b:b + 1, :, None], slopes, start[slot:slot + 1])
            want = want[0, :, 0] * D ** -0.5
            self.assertClose(do[b], want, 1e-2 * want.abs().max().item() + 1e-3)
            self.assertTrue(torch.allclose(pool[slot].double(), final[0], atol=1e-3))
        with self.assertRaisesRegex(ds.Error, "both caches and cache_indices"):
            ds.adapters.lightning.seg_la_fwd(q, k, v, pool, slopes, meta, caches=pool)
        with self.assertRaisesRegex(ds.Error, "f32 state pool"):
            ds.adapters.lightning.seg_la_fwd(q, k, v, pool.to(torch.bfloat16), slopes, meta)

    def test_seg_la_fwd_mtp_caches(self):
        """seg_la_fwd's speculative verify: 4 requests of 3 draft tokens from their slots'
        states; the state after every token in caches[cache_indices[b], i], s unchanged, a
        padding request (slot -1) writing neither o nor its cache entry; f16 and bf16."""
        from types import SimpleNamespace
        H, D, step = 4, 64, 3
        slots, entries = [2, -1, 0, 5], [1, 3, 4, 0]
        bs = len(slots)
        T = bs * step
        g = torch.Generator(device="cpu").manual_seed(13)
        for dtype in (torch.bfloat16, torch.float16):
            q, k, v = (torch.randn(T, H, D, generator=g).mul(0.3).to(dtype).cuda()
                       for _ in range(3))
            slopes = (torch.rand(H, generator=g) * 0.2 + 0.01).cuda()
            pool = torch.randn(6, H, D, D, generator=g).mul(0.1).cuda()
            caches = torch.randn(5, 4, H, D, D, generator=g).cuda()
            pool0, caches0 = pool.clone(), caches.clone()
            meta = SimpleNamespace(
                batch_size=bs, mask=None,
                q_offsets=torch.arange(0, T + 1, step, dtype=torch.int32).cuda(),
                q_lengths=torch.full((bs,), step, dtype=torch.int32).cuda(),
                s_offsets=torch.tensor(slots, dtype=torch.int32).cuda(),
                s_scales=torch.zeros(bs, dtype=torch.int32).cuda())  # not read with caches
            o = ds.adapters.lightning.seg_la_fwd(
                q, k, v, pool, slopes, meta, caches=caches,
                cache_indices=torch.tensor(entries, dtype=torch.int64).cuda())
            self.assertEqual(o.shape, (T, H, D))
            self.assertTrue(torch.equal(pool, pool0))
            lam = torch.exp(-slopes.double())[:, None, None]
            for b in range(bs):
                rows = slice(b * step, (b + 1) * step)
                if slots[b] < 0:
                    self.assertTrue(torch.equal(o[rows], torch.zeros_like(o[rows])))
                    self.assertTrue(torch.equal(caches[entries[b]], caches0[entries[b]]))
                    continue
                st = pool0[slots[b]].double()
                for i in range(step):
                    t = b * step + i
                    st = lam * st + k[t].double()[:, :, None] * v[t].double()[:, None, :]
                    want = D ** -0.5 * torch.einsum("hd,hde->he", q[t].double(), st)
                    self.assertClose(o[t], want, 2e-2 * want.abs().max().item() + 1e-3)
                    self.assertClose(caches[entries[b], i], st, 1e-3 * st.abs().max().item())
                # The entry's rows past the draft keep their contents.
                self.assertTrue(torch.equal(caches[entries[b], step:],
                                            caches0[entries[b], step:]))
            self.assertTrue(torch.equal(caches[2], caches0[2]))
        with self.assertRaisesRegex(ds.Error, "caches must be f32"):
            ds.adapters.lightning.seg_la_fwd(
                q, k, v, pool, slopes, meta, caches=caches[:, :2].contiguous(),
                cache_indices=torch.zeros(bs, dtype=torch.int32).cuda())

    def test_seg_la_fwd_mtp_in_a_cuda_graph(self):
        """seg_la_fwd's verify path captured in a CUDA graph and replayed with new q, k, v,
        states, slots and cache entries (a padding request naming a live request's entry
        included) equals eager calls: nothing in the path waits on the host."""
        from types import SimpleNamespace
        H, D, step, bs = 4, 64, 3, 3
        T = bs * step
        g = torch.Generator(device="cpu").manual_seed(21)

        def rnd(*shape, dtype=torch.bfloat16, scale=0.3):
            return (torch.randn(*shape, generator=g) * scale).to(dtype).cuda()

        q, k, v = rnd(T, H, D), rnd(T, H, D), rnd(T, H, D)
        slopes = (torch.rand(H, generator=g) * 0.2 + 0.01).cuda()
        pool = rnd(5, H, D, D, dtype=torch.float32, scale=0.1)
        caches = torch.zeros(4, step, H, D, D, device="cuda")
        slots = torch.tensor([0, 2, 4], dtype=torch.int32, device="cuda")
        entries = torch.tensor([3, 0, 1], dtype=torch.int32, device="cuda")
        meta = SimpleNamespace(
            batch_size=bs, mask=None, s_offsets=slots,
            q_offsets=torch.arange(0, T + 1, step, dtype=torch.int32, device="cuda"),
            s_scales=torch.ones(bs, dtype=torch.int32, device="cuda"))

        def call(c):
            return ds.adapters.lightning.seg_la_fwd(q, k, v, pool, slopes, meta, caches=c,
                                                    cache_indices=entries)

        call(caches)  # warm-up: compile and load off the graph
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            o = call(caches)
        for new_slots, new_entries in (([1, 3, 0], [0, 1, 2]), ([4, -1, 2], [2, 3, 3])):
            for t in (q, k, v):
                t.copy_(rnd(T, H, D))
            pool.copy_(rnd(5, H, D, D, dtype=torch.float32, scale=0.1))
            slots.copy_(torch.tensor(new_slots, dtype=torch.int32))
            entries.copy_(torch.tensor(new_entries, dtype=torch.int32))
            caches.zero_()
            graph.replay()
            eager_caches = torch.zeros_like(caches)
            eager = call(eager_caches)
            torch.cuda.synchronize()
            self.assertTrue(torch.equal(o, eager), f"slots {new_slots}")
            self.assertTrue(torch.equal(caches, eager_caches), f"slots {new_slots}")
            self.assertFalse(bool((caches[new_entries[0]] == 0).all()))

if __name__ == "__main__":
    unittest.main()
