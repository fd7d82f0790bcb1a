#include "tools/reference/Quest.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ds::ref {

void pageSummary(PageSummaries &s, const PagedKV &kv, const Paging &paging) {
  const int64_t P = kv.pageSize, d = kv.headDim;
  for (int64_t b = 0; b < paging.batch; ++b) {
    const int64_t n = paging.length(b, P);
    for (int64_t i = 0; i * P < n; ++i) {
      const int64_t p = paging.pageTable[b * paging.maxPages + i];
      if (p < 0 || p >= kv.numPages || p >= s.numPages)
        continue;
      const int64_t present = std::min<int64_t>(P, n - i * P);
      for (int64_t h = 0; h < kv.kvHeads; ++h)
        for (int64_t j = 0; j < d; ++j) {
          double lo = std::numeric_limits<double>::infinity(), hi = -lo;
          for (int64_t t = 0; t < present; ++t) {
            double v = toFloat(kv.k[kv.rowOffset(p, t, h) + j], kv.type);
            lo = std::min(lo, v);
            hi = std::max(hi, v);
          }
          s.kmin[s.offset(p, h) + j] = fromFloat(static_cast<float>(lo), kv.type);
          s.kmax[s.offset(p, h) + j] = fromFloat(static_cast<float>(hi), kv.type);
        }
    }
  }
}

void pageSummaryAppend(PageSummaries &s, const std::vector<uint16_t> &k,
                       const std::vector<int32_t> &slotMapping, int64_t pageSize, Half type) {
  const int64_t d = s.headDim, H = s.kvHeads;
  for (size_t t = 0; t < slotMapping.size(); ++t) {
    const int64_t slot = slotMapping[t];
    if (slot < 0 || slot >= s.numPages * pageSize)
      continue;
    const int64_t p = slot / pageSize;
    const bool start = slot % pageSize == 0;
    for (int64_t h = 0; h < H; ++h)
      for (int64_t j = 0; j < d; ++j) {
        const uint16_t v = k[(static_cast<int64_t>(t) * H + h) * d + j];
        uint16_t &lo = s.kmin[s.offset(p, h) + j], &hi = s.kmax[s.offset(p, h) + j];
        if (start || toFloat(v, type) < toFloat(lo, type))
          lo = v;
        if (start || toFloat(v, type) > toFloat(hi, type))
          hi = v;
      }
  }
}

std::vector<double> pageScore(const std::vector<uint16_t> &q, int64_t heads,
                              const PageSummaries &s, const Paging &paging, int64_t pageSize,
                              GroupReduce reduce, Half type) {
  const int64_t hkv = s.kvHeads, g = heads / hkv, d = s.headDim, N = paging.maxPages;
  const int64_t rows = reduce == GroupReduce::None ? heads : hkv;
  const double ninf = -std::numeric_limits<double>::infinity();
  std::vector<double> u(static_cast<size_t>(paging.batch * rows * N), ninf);
  for (int64_t b = 0; b < paging.batch; ++b) {
    const int64_t n = paging.length(b, pageSize), pages = (n + pageSize - 1) / pageSize;
    for (int64_t row = 0; row < rows; ++row)
      for (int64_t i = 0; i < pages && i < N; ++i) {
        const int64_t p = paging.pageTable[b * N + i];
        if (p < 0 || p >= s.numPages)
          continue;
        const int64_t hk = reduce == GroupReduce::None ? row / g : row;
        const int64_t first = reduce == GroupReduce::None ? row : row * g;
        const int64_t count = reduce == GroupReduce::None ? 1 : g;
        double acc = reduce == GroupReduce::Max ? ninf : 0.0;
        for (int64_t h = first; h < first + count; ++h) {
          double bound = 0;
          for (int64_t j = 0; j < d; ++j) {
            const double qj = toFloat(q[(b * heads + h) * d + j], type);
            bound += std::max(qj * toFloat(s.kmin[s.offset(p, hk) + j], type),
                              qj * toFloat(s.kmax[s.offset(p, hk) + j], type));
          }
          acc = reduce == GroupReduce::Max ? std::max(acc, bound) : acc + bound;
        }
        u[(b * rows + row) * N + i] = acc;
      }
  }
  return u;
}

} // namespace ds::ref
