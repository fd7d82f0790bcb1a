#include "tools/reference/DoubleSparsity.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

namespace ds::ref {

double DSProblem::scale() const { return 1.0 / std::sqrt(static_cast<double>(shape.d)); }

void DSProblem::setLabelFormat(LabelFormat f) {
  labelFormat = f;
  if (lowBitLabels())
    lowBit = quantizeLabels(labels, shape.hkv * slots(), shape.r, shape.type, f);
}

static std::vector<uint16_t> randomHalf(Rng &rng, size_t n, Half type, double lo, double hi) {
  std::vector<uint16_t> v(n);
  for (auto &x : v)
    x = fromFloat(static_cast<float>(rng.uniform(lo, hi)), type);
  return v;
}

Paging makePaging(Rng &rng, const std::vector<int32_t> &lens, int64_t pageSize,
                  int64_t &numPages) {
  Paging pg;
  const int64_t P = pageSize;
  pg.batch = static_cast<int64_t>(lens.size());
  int64_t maxLen = 1, total = 0;
  for (int32_t n : lens) {
    maxLen = std::max<int64_t>(maxLen, n);
    total += (std::max<int32_t>(n, 0) + P - 1) / P;
  }
  // One spare page-table column and spare pages; unused entries hold out-of-range page numbers
  // (which the kernels must never follow).
  pg.maxPages = (maxLen + P - 1) / P + 1;
  numPages = total + 3;
  std::vector<int32_t> pool(numPages);
  for (int64_t i = 0; i < numPages; ++i)
    pool[i] = static_cast<int32_t>(i);
  for (int64_t i = numPages - 1; i > 0; --i)
    std::swap(pool[i], pool[rng.below(i + 1)]);
  pg.pageTable.assign(pg.batch * pg.maxPages, 0);
  int64_t next = 0;
  for (int64_t b = 0; b < pg.batch; ++b) {
    int64_t used = (std::max<int32_t>(lens[b], 0) + P - 1) / P;
    for (int64_t i = 0; i < pg.maxPages; ++i)
      pg.pageTable[b * pg.maxPages + i] =
          i < used ? pool[next++] : static_cast<int32_t>(i % 2 ? -7 : numPages + 1000);
  }
  pg.seqLens = lens;
  return pg;
}

DSProblem makeDSProblem(const DSShape &s, uint64_t seed) {
  DSProblem p;
  p.shape = s;
  Rng rng(seed);
  const int64_t P = s.pageSize;
  int64_t numPages = 0;
  p.paging = makePaging(rng, s.lens, P, numPages);
  const Paging &pg = p.paging;

  PagedKV &kv = p.kv;
  kv.numPages = numPages, kv.pageSize = P, kv.kvHeads = s.hkv, kv.headDim = s.d, kv.type = s.type;
  kv.k = randomHalf(rng, numPages * P * s.hkv * s.d, s.type, -2, 2);
  kv.v = randomHalf(rng, kv.k.size(), s.type, -1, 1);
  p.q = randomHalf(rng, pg.batch * s.hq * s.d, s.type, -2, 2);
  p.channels.resize(s.hkv * s.r);
  for (int64_t h = 0; h < s.hkv; ++h) // r distinct channels per kv head
    for (int64_t j = 0; j < s.r; ++j)
      p.channels[h * s.r + j] = static_cast<int32_t>((h * 5 + j * (s.d / s.r) + j / 3) % s.d);
  // The K cache in NHD order is [slots, Hkv, d]: exactly the rows label_append gathers from.
  std::vector<int32_t> allSlots(p.slots());
  for (int64_t i = 0; i < p.slots(); ++i)
    allSlots[i] = static_cast<int32_t>(i);
  p.labels.assign(s.hkv * p.slots() * s.r, 0);
  labelAppend(p.labels, p.slots(), kv.k, p.slots(), s.hkv, s.d, p.channels, s.r, allSlots);
  return p;
}

std::string checkDS(const DSProblem &p, const std::vector<int32_t> &idx,
                    const std::vector<uint16_t> &out) {
  const DSShape &s = p.shape;
  const Paging &pg = p.paging;
  const int64_t B = pg.batch, P = s.pageSize, hsel = p.selRows(), g = s.hq / s.hkv;
  const int64_t N = pg.maxPages * P;
  if (idx.size() != static_cast<size_t>(B * hsel * s.k) ||
      out.size() != static_cast<size_t>(B * s.hq * s.d))
    return "output sizes differ from the problem's";
  std::vector<uint16_t> qLabel = labelGather(p.q, B, s.hq, s.d, p.channels, s.hkv, s.r);
  const GroupReduce reduce = s.shared && g > 1 ? GroupReduce::Sum : GroupReduce::None;
  std::vector<double> scores, bound;
  const bool lowBit = p.lowBitLabels();
  if (!lowBit) {
    scores = labelScore(qLabel, s.hq, p.labels, s.hkv, p.slots(), s.r, pg, P, N, p.scale(), reduce,
                        s.type);
  } else {
    // The dequantized labels; `bound` = the same sum over |q_j| |label_j|: the kernels' f16
    // products and pair sums are within about 1% of it.
    std::vector<double> deq = dequantizeLabels(p.lowBit, s.hkv * p.slots(), s.r, p.labelFormat);
    std::vector<double> qd(qLabel.size()), absDeq(deq.size()), absQ(qLabel.size());
    for (size_t i = 0; i < qd.size(); ++i)
      absQ[i] = std::fabs(qd[i] = toFloat(qLabel[i], s.type));
    for (size_t i = 0; i < deq.size(); ++i)
      absDeq[i] = std::fabs(deq[i]);
    scores = labelScore(qd, s.hq, deq, s.hkv, p.slots(), s.r, pg, P, N, p.scale(), reduce);
    bound = labelScore(absQ, s.hq, absDeq, s.hkv, p.slots(), s.r, pg, P, N, p.scale(), reduce);
  }
  std::string errors;
  int bad = 0;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = pg.length(b, P);
    for (int64_t row = 0; row < hsel; ++row) {
      const int32_t *sel = &idx[(b * hsel + row) * s.k];
      const double *sc = &scores[(b * hsel + row) * N];
      std::set<int32_t> got;
      bool ok = true;
      for (int64_t i = 0; i < s.k; ++i)
        ok &= i < std::min(s.k, n) ? sel[i] >= 0 && sel[i] < n && got.insert(sel[i]).second
                                   : sel[i] == -1;
      if (ok && n > s.k) {
        std::vector<double> all(sc, sc + n);
        std::nth_element(all.begin(), all.begin() + (s.k - 1), all.end(), std::greater<double>());
        double kth = all[s.k - 1], tol = 1e-4 * (1 + std::fabs(kth));
        if (lowBit) {
          const double *bd = &bound[(b * hsel + row) * N];
          tol = 0.02 * *std::max_element(bd, bd + n);
        }
        for (int32_t t : got)
          ok &= sc[t] >= kth - tol;
      }
      if (!ok && ++bad <= 3)
        errors += "bad selection for request " + std::to_string(b) + " row " +
                  std::to_string(row) + " (n = " + std::to_string(n) + ")\n";
    }
  }
  std::vector<double> got(out.size()), want(out.size()), qd(s.d);
  for (size_t i = 0; i < out.size(); ++i)
    got[i] = toFloat(out[i], s.type);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = pg.length(b, P);
    for (int64_t h = 0; h < s.hq; ++h) {
      int64_t row = s.shared ? h / g : h;
      std::vector<int64_t> tokens;
      if (n < s.denseBelow)
        for (int64_t t = 0; t < n; ++t)
          tokens.push_back(t);
      else
        for (int64_t i = 0; i < s.k; ++i)
          tokens.push_back(idx[(b * hsel + row) * s.k + i]);
      for (int64_t e = 0; e < s.d; ++e)
        qd[e] = toFloat(p.q[(b * s.hq + h) * s.d + e], s.type);
      attend(qd.data(), p.kv, pg, b, h / g, tokens, nullptr, p.scale(), s.softCap,
             &want[(b * s.hq + h) * s.d]);
    }
  }
  double tol = s.type == Half::BF16 ? 1e-2 : 2e-3;
  double ratio = toleranceRatio(got, want, tol, tol);
  if (!(ratio <= 1.0))
    errors += "o differs from the reference: worst |got - want| / (" + std::to_string(tol) +
              " (1 + |want|)) = " + std::to_string(ratio) + "\n";
  if (bad > 3)
    errors += std::to_string(bad) + " rows with a bad selection in all\n";
  return errors;
}

} // namespace ds::ref
