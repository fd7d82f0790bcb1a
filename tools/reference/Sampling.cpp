#include "tools/reference/Sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ds::ref {

namespace {
std::vector<int64_t> validByLogit(const float *logits, const int32_t *idx, int64_t k) {
  std::vector<int64_t> pos;
  for (int64_t i = 0; i < k; ++i)
    if (idx[i] >= 0)
      pos.push_back(i);
  std::stable_sort(pos.begin(), pos.end(),
                   [&](int64_t a, int64_t b) { return logits[a] > logits[b]; });
  return pos;
}
} // namespace

double toppMass(const float *logits, const int32_t *idx, int64_t k,
                const std::vector<int64_t> &positions) {
  double mx = -INFINITY;
  for (int64_t i = 0; i < k; ++i)
    if (idx[i] >= 0)
      mx = std::max(mx, static_cast<double>(logits[i]));
  double z = 0, m = 0;
  for (int64_t i = 0; i < k; ++i)
    if (idx[i] >= 0)
      z += std::exp(static_cast<double>(logits[i]) - mx);
  for (int64_t p : positions)
    m += std::exp(static_cast<double>(logits[p]) - mx);
  return z > 0 ? m / z : 0;
}

int64_t toppMinimalCount(const float *logits, const int32_t *idx, int64_t k, double topP) {
  std::vector<int64_t> pos = validByLogit(logits, idx, k);
  if (pos.empty() || logits[pos[0]] == -INFINITY)
    return 0;
  if (topP >= 1.0)
    return static_cast<int64_t>(pos.size());
  double mx = logits[pos[0]], z = 0;
  for (int64_t p : pos)
    z += std::exp(static_cast<double>(logits[p]) - mx);
  double acc = 0;
  for (size_t i = 0; i < pos.size(); ++i) {
    acc += std::exp(static_cast<double>(logits[pos[i]]) - mx);
    if (acc >= topP * z)
      return static_cast<int64_t>(i + 1);
  }
  return static_cast<int64_t>(pos.size());
}

void philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]}, k0 = key[0], k1 = key[1];
  for (int r = 0; r < 10; ++r) {
    uint64_t p0 = uint64_t(0xD2511F53u) * c[0], p1 = uint64_t(0xCD9E8D57u) * c[2];
    uint32_t n[4] = {uint32_t(p1 >> 32) ^ c[1] ^ k0, uint32_t(p1), uint32_t(p0 >> 32) ^ c[3] ^ k1,
                     uint32_t(p0)};
    std::copy(n, n + 4, c);
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  std::copy(c, c + 4, out);
}

void sampleResidualRow(const int32_t *fixed, int64_t k, int64_t n, int64_t sinks, int64_t window,
                       int64_t numSamples, uint64_t seed, uint64_t offset, uint32_t row,
                       int32_t *indices, double *logWeights) {
  n = std::max<int64_t>(n, 0);
  const int64_t s = std::min(sinks, n), w = std::max(s, n - window);
  const int64_t total = sinks + window + k + numSamples;
  std::fill(indices, indices + total, -1);
  std::fill(logWeights, logWeights + total, -std::numeric_limits<double>::infinity());
  for (int64_t j = 0; j < s; ++j)
    indices[j] = static_cast<int32_t>(j), logWeights[j] = 0;
  for (int64_t j = 0; w + j < n; ++j)
    indices[sinks + j] = static_cast<int32_t>(w + j), logWeights[sinks + j] = 0;
  std::vector<int64_t> f;
  for (int64_t i = 0; i < k; ++i)
    if (fixed[i] >= s && fixed[i] < w)
      f.push_back(fixed[i]);
  std::sort(f.begin(), f.end());
  f.erase(std::unique(f.begin(), f.end()), f.end());
  for (size_t j = 0; j < f.size(); ++j)
    indices[sinks + window + j] = static_cast<int32_t>(f[j]), logWeights[sinks + window + j] = 0;
  // The residual in increasing order, and the sample through the keyed permutation.
  std::vector<int64_t> residual;
  for (int64_t t = s, j = 0; t < w; ++t) {
    while (j < static_cast<int64_t>(f.size()) && f[j] < t)
      ++j;
    if (j < static_cast<int64_t>(f.size()) && f[j] == t)
      continue;
    residual.push_back(t);
  }
  const int64_t m = static_cast<int64_t>(residual.size()), ns = std::min(numSamples, m);
  if (ns <= 0)
    return;
  uint32_t key[2] = {uint32_t(seed), uint32_t(seed >> 32)}, keys[8];
  for (uint32_t blk = 0; blk < 2; ++blk) {
    uint32_t ctr[4] = {uint32_t(offset), uint32_t(offset >> 32), row, blk};
    philox4x32(ctr, key, keys + 4 * blk);
  }
  uint32_t bits = 0;
  while ((uint64_t(1) << bits) < static_cast<uint64_t>(std::max<int64_t>(m, 2)))
    ++bits;
  const uint32_t half = (bits + 1) / 2, mask = (1u << half) - 1;
  auto feistel = [&](uint32_t x) {
    uint32_t l = x >> half, r = x & mask;
    for (uint32_t key : keys) {
      uint32_t h = r ^ key;
      h *= 0x85EBCA6Bu;
      h ^= h >> 13;
      h *= 0xC2B2AE35u;
      h ^= h >> 16;
      uint32_t nr = (l ^ h) & mask;
      l = r;
      r = nr;
    }
    return (l << half) | r;
  };
  const double lw = std::log(static_cast<double>(m) / static_cast<double>(ns));
  for (int64_t j = 0; j < ns; ++j) {
    uint32_t x = static_cast<uint32_t>(j);
    do
      x = feistel(x);
    while (x >= static_cast<uint32_t>(m));
    indices[sinks + window + k + j] = static_cast<int32_t>(residual[x]);
    logWeights[sinks + window + k + j] = lw;
  }
}

void int4Append(std::vector<int32_t> &kq, int64_t slots, const std::vector<uint16_t> &k,
                int64_t tokens, int64_t kvHeads, int64_t headDim,
                const std::vector<int32_t> &slotMapping, Half type) {
  const int64_t groups = headDim / 32, R = int4RecordWords(headDim);
  for (int64_t t = 0; t < tokens; ++t) {
    const int64_t s = slotMapping[t];
    if (s < 0 || s >= slots)
      continue;
    for (int64_t h = 0; h < kvHeads; ++h) {
      const int64_t rec = (s * kvHeads + h) * R;
      uint32_t tail[4] = {0, 0, 0, 0};
      for (int64_t g = 0; g < groups; ++g) {
        float x[32], amax = 0.0f;
        for (int j = 0; j < 32; ++j) {
          x[j] = toFloat(k[(t * kvHeads + h) * headDim + g * 32 + j], type);
          amax = std::max(amax, std::fabs(x[j]));
        }
        const uint16_t s16 = fromFloat(amax / 7.0f, Half::F16);
        const float sf = toFloat(s16, Half::F16);
        for (int w = 0; w < 4; ++w) {
          uint32_t word = 0;
          for (int j = 0; j < 8; ++j) {
            int32_t qi = 0;
            if (sf != 0.0f)
              qi = static_cast<int32_t>(std::max(-8.0f, std::min(7.0f, std::nearbyint(x[w * 8 + j] / sf))));
            word |= (static_cast<uint32_t>(qi) & 0xFu) << (4 * j);
          }
          kq[rec + g * 4 + w] = static_cast<int32_t>(word);
        }
        tail[g / 2] |= static_cast<uint32_t>(s16) << (16 * (g % 2));
      }
      for (int i = 0; i < 4; ++i)
        kq[rec + headDim / 8 + i] = static_cast<int32_t>(tail[i]);
    }
  }
}

std::vector<double> int4Score(const std::vector<uint16_t> &q, int64_t heads,
                              const std::vector<int32_t> &kq, int64_t kvHeads, int64_t slots,
                              int64_t headDim, const Paging &paging, int64_t pageSize,
                              const std::vector<int32_t> &candidates, int64_t k, double scale,
                              GroupReduce reduce, Half type) {
  const int64_t B = paging.batch, g = heads / kvHeads, R = int4RecordWords(headDim);
  const int64_t rows = reduce == GroupReduce::None ? heads : kvHeads;
  std::vector<double> out(B * rows * k, -INFINITY);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = paging.length(b, pageSize);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t hk = reduce == GroupReduce::None ? r / g : r;
      std::vector<double> qs(headDim, 0.0);
      for (int64_t j = 0; j < (reduce == GroupReduce::None ? 1 : g); ++j) {
        const int64_t h = reduce == GroupReduce::None ? r : r * g + j;
        for (int64_t c = 0; c < headDim; ++c)
          qs[c] += toFloat(q[(b * heads + h) * headDim + c], type);
      }
      for (int64_t i = 0; i < k; ++i) {
        const int64_t t = candidates[(b * rows + r) * k + i];
        if (t < 0 || t >= n)
          continue;
        const int64_t page = paging.page(b, t, pageSize, slots / pageSize);
        if (page < 0)
          continue;
        const int64_t s = page * pageSize + t % pageSize, rec = (s * kvHeads + hk) * R;
        double acc = 0;
        for (int64_t c = 0; c < headDim; ++c) {
          uint32_t word = static_cast<uint32_t>(kq[rec + c / 8]);
          int32_t v = static_cast<int32_t>((word >> (4 * (c % 8))) & 0xFu);
          if (v >= 8)
            v -= 16;
          acc += qs[c] * v * toFloat(int4Scale(kq, rec, headDim, c / 32), Half::F16);
        }
        out[(b * rows + r) * k + i] = scale * acc;
      }
    }
  }
  return out;
}

} // namespace ds::ref
