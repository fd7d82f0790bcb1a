#include "tools/reference/Reference.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

namespace ds::ref {

float toFloat(uint16_t bits, Half type) {
  if (type == Half::BF16) {
    uint32_t u = static_cast<uint32_t>(bits) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  // IEEE half -> float.
  uint32_t sign = (bits >> 15) & 1, exp = (bits >> 10) & 0x1f, man = bits & 0x3ff;
  float f;
  if (exp == 0)
    f = std::ldexp(static_cast<float>(man), -24);
  else if (exp == 31)
    f = man ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  else
    f = std::ldexp(static_cast<float>(man | 0x400), static_cast<int>(exp) - 25);
  return sign ? -f : f;
}

uint16_t fromFloat(float value, Half type) {
  uint32_t u;
  std::memcpy(&u, &value, 4);
  if (type == Half::BF16) {
    if (std::isnan(value))
      return 0x7fc0;
    uint32_t rounding = 0x7fff + ((u >> 16) & 1);
    return static_cast<uint16_t>((u + rounding) >> 16);
  }
  uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000);
  float a = std::fabs(value);
  if (std::isnan(value))
    return 0x7e00;
  if (a >= 65520.0f)
    return sign | 0x7c00;
  if (a < std::ldexp(1.0f, -14)) { // subnormal: units of 2^-24, round to nearest even
    float units = a * 16777216.0f;
    float r = std::nearbyint(units);
    return sign | static_cast<uint16_t>(r);
  }
  int e;
  float m = std::frexp(a, &e); // a = m * 2^e, m in [0.5, 1)
  float scaled = std::nearbyint(std::ldexp(m, 11));  // 11 significant bits
  if (scaled >= 2048.0f) {
    scaled /= 2;
    ++e;
  }
  uint32_t exp = static_cast<uint32_t>(e - 1 + 15);
  if (exp >= 31)
    return sign | 0x7c00;
  return sign | static_cast<uint16_t>((exp << 10) | (static_cast<uint32_t>(scaled) & 0x3ff));
}

int64_t Paging::length(int64_t b, int64_t pageSize) const {
  int64_t n = seqLens[b];
  return std::clamp<int64_t>(n, 0, maxPages * pageSize);
}

int64_t Paging::page(int64_t b, int64_t t, int64_t pageSize, int64_t numPages) const {
  int64_t p = pageTable[b * maxPages + t / pageSize];
  return p >= 0 && p < numPages ? p : -1;
}

std::vector<uint16_t> labelGather(const std::vector<uint16_t> &x, int64_t rows, int64_t heads,
                                  int64_t headDim, const std::vector<int32_t> &channels,
                                  int64_t kvHeads, int64_t labelDim) {
  std::vector<uint16_t> out(rows * heads * labelDim);
  int64_t g = heads / kvHeads;
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t j = 0; j < labelDim; ++j) {
        int32_t c = channels[(h / g) * labelDim + j];
        out[(n * heads + h) * labelDim + j] =
            c >= 0 && c < headDim ? x[(n * heads + h) * headDim + c] : 0;
      }
  return out;
}

void labelAppend(std::vector<uint16_t> &cache, int64_t slots, const std::vector<uint16_t> &k,
                 int64_t tokens, int64_t kvHeads, int64_t headDim,
                 const std::vector<int32_t> &channels, int64_t labelDim,
                 const std::vector<int32_t> &slotMapping) {
  std::vector<uint16_t> labels =
      labelGather(k, tokens, kvHeads, headDim, channels, kvHeads, labelDim);
  for (int64_t t = 0; t < tokens; ++t) {
    int64_t s = slotMapping[t];
    if (s < 0 || s >= slots)
      continue;
    for (int64_t h = 0; h < kvHeads; ++h)
      for (int64_t j = 0; j < labelDim; ++j)
        cache[(h * slots + s) * labelDim + j] = labels[(t * kvHeads + h) * labelDim + j];
  }
}

std::vector<double> labelScore(const std::vector<uint16_t> &qLabel, int64_t heads,
                               const std::vector<uint16_t> &cache, int64_t kvHeads, int64_t slots,
                               int64_t labelDim, const Paging &paging, int64_t pageSize,
                               int64_t n, double scale, GroupReduce reduce, Half type) {
  std::vector<double> q(qLabel.size()), c(cache.size());
  for (size_t i = 0; i < q.size(); ++i)
    q[i] = toFloat(qLabel[i], type);
  for (size_t i = 0; i < c.size(); ++i)
    c[i] = toFloat(cache[i], type);
  return labelScore(q, heads, c, kvHeads, slots, labelDim, paging, pageSize, n, scale, reduce);
}

std::vector<double> labelScore(const std::vector<double> &qLabel, int64_t heads,
                               const std::vector<double> &cache, int64_t kvHeads, int64_t slots,
                               int64_t labelDim, const Paging &paging, int64_t pageSize,
                               int64_t n, double scale, GroupReduce reduce) {
  const double negInf = -std::numeric_limits<double>::infinity();
  int64_t g = heads / kvHeads, rows = reduce == GroupReduce::None ? heads : kvHeads;
  std::vector<double> out(paging.batch * rows * n, negInf);
  for (int64_t b = 0; b < paging.batch; ++b) {
    int64_t len = std::min(paging.length(b, pageSize), n);
    for (int64_t t = 0; t < len; ++t) {
      int64_t p = paging.pageTable[b * paging.maxPages + t / pageSize];
      int64_t slot = p * pageSize + t % pageSize;
      if (p < 0 || slot < 0 || slot >= slots)
        continue;
      for (int64_t h = 0; h < heads; ++h) {
        int64_t hk = h / g;
        double dot = 0;
        for (int64_t j = 0; j < labelDim; ++j)
          dot += qLabel[(b * heads + h) * labelDim + j] * cache[(hk * slots + slot) * labelDim + j];
        dot *= scale;
        int64_t row = reduce == GroupReduce::None ? h : hk;
        double &dst = out[(b * rows + row) * n + t];
        if (reduce == GroupReduce::None || h % g == 0)
          dst = dot;
        else
          dst = reduce == GroupReduce::Sum ? dst + dot : std::max(dst, dot);
      }
    }
  }
  return out;
}

std::vector<int32_t> topk(const double *row, int64_t n, int64_t k, bool keepLast) {
  std::vector<int32_t> out(k, -1);
  if (n <= k) {
    for (int64_t i = 0; i < n; ++i)
      out[i] = static_cast<int32_t>(i);
    return out;
  }
  int64_t pool = keepLast ? n - 1 : n, take = keepLast ? k - 1 : k;
  std::vector<int32_t> idx(pool);
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + take, idx.end(), [&](int32_t a, int32_t b) {
    return row[a] > row[b] || (row[a] == row[b] && a < b);
  });
  std::copy(idx.begin(), idx.begin() + take, out.begin());
  if (keepLast)
    out[k - 1] = static_cast<int32_t>(n - 1);
  return out;
}

void attend(const double *q, const PagedKV &kv, const Paging &paging, int64_t b, int64_t kvHead,
            const std::vector<int64_t> &tokens, const std::vector<double> *logWeights,
            double scale, double softCap, double *out) {
  int64_t d = kv.headDim, n = paging.length(b, kv.pageSize);
  std::vector<double> logits;
  std::vector<int64_t> rows;
  for (size_t i = 0; i < tokens.size(); ++i) {
    int64_t t = tokens[i];
    if (t < 0 || t >= n)
      continue;
    int64_t p = paging.page(b, t, kv.pageSize, kv.numPages);
    if (p < 0)
      continue;
    int64_t off = kv.rowOffset(p, t % kv.pageSize, kvHead);
    double dot = 0;
    for (int64_t e = 0; e < d; ++e)
      dot += q[e] * toFloat(kv.k[off + e], kv.type);
    double x = dot * scale;
    if (softCap > 0)
      x = softCap * std::tanh(x / softCap);
    if (logWeights)
      x += (*logWeights)[i];
    logits.push_back(x);
    rows.push_back(off);
  }
  std::fill(out, out + d, 0.0);
  if (logits.empty())
    return;
  double m = *std::max_element(logits.begin(), logits.end()), l = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    double p = std::exp(logits[i] - m);
    l += p;
    for (int64_t e = 0; e < d; ++e)
      out[e] += p * toFloat(kv.v[rows[i] + e], kv.type);
  }
  for (int64_t e = 0; e < d; ++e)
    out[e] /= l;
}

std::vector<double> denseDecode(const std::vector<uint16_t> &q, int64_t heads, const PagedKV &kv,
                                const Paging &paging, double scale, double softCap) {
  int64_t d = kv.headDim, g = heads / kv.kvHeads;
  std::vector<double> out(paging.batch * heads * d), qd(d);
  for (int64_t b = 0; b < paging.batch; ++b) {
    std::vector<int64_t> tokens(paging.length(b, kv.pageSize));
    std::iota(tokens.begin(), tokens.end(), 0);
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t e = 0; e < d; ++e)
        qd[e] = toFloat(q[(b * heads + h) * d + e], kv.type);
      attend(qd.data(), kv, paging, b, h / g, tokens, nullptr, scale, softCap,
             &out[(b * heads + h) * d]);
    }
  }
  return out;
}

double toleranceRatio(const std::vector<double> &got, const std::vector<double> &want,
                      double atol, double rtol) {
  double worst = 0;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    double r = std::fabs(got[i] - want[i]) / (atol + rtol * std::fabs(want[i]));
    if (!(r <= worst)) // NaN counts as worst
      worst = std::isnan(r) ? std::numeric_limits<double>::infinity() : r;
  }
  return got.size() == want.size() ? worst : std::numeric_limits<double>::infinity();
}

uint64_t Rng::next() {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double Rng::uniform(double lo, double hi) {
  return lo + (hi - lo) * static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0);
}

} // namespace ds::ref
