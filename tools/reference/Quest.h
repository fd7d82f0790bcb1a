#ifndef DS_TOOLS_REFERENCE_QUEST_H
#define DS_TOOLS_REFERENCE_QUEST_H

// Quest on the host (shared/ALGORITHMS.md §2), f64 where it computes: per-page, per-channel key
// minimum and maximum (from scratch over a paged K cache, or updated by appended keys), the page
// criticality bound and the pages a decode step keeps. Used by the GPU tests.
#include "tools/reference/Reference.h"

namespace ds::ref {

/// Page summaries [num_pages, Hkv, d] (16-bit patterns, the cache's type).
struct PageSummaries {
  int64_t numPages = 0, kvHeads = 0, headDim = 0;
  std::vector<uint16_t> kmin, kmax;
  int64_t offset(int64_t page, int64_t head) const { return (page * kvHeads + head) * headDim; }
};

/// ds.page_summary: for every page of every request, min/max over the tokens present (token t of
/// page i of request b is present when i * P + t < n_b); pages no request names keep their values.
void pageSummary(PageSummaries &s, const PagedKV &kv, const Paging &paging);

/// ds.page_summary_append: new keys k [T, Hkv, d] at slot_mapping (page s / P, offset s % P);
/// offset 0 starts the page, other offsets fold into it, in the order of the tokens; slots
/// outside [0, num_pages * P) are skipped.
void pageSummaryAppend(PageSummaries &s, const std::vector<uint16_t> &k,
                       const std::vector<int32_t> &slotMapping, int64_t pageSize, Half type);

/// ds.page_score: u [B, Hs, max_pages] with
/// u[b,h,i] = sum_j max(q[b,h,j] kmin[p,h/g,j], q[b,h,j] kmax[p,h/g,j]), p = page_table[b,i],
/// for i < cdiv(n_b, P); -inf past that and for pages outside [0, num_pages). GQA rows are
/// reduced over the group with `reduce` (Hs = Hkv) or kept per head (Hs = Hq).
std::vector<double> pageScore(const std::vector<uint16_t> &q, int64_t heads,
                              const PageSummaries &s, const Paging &paging, int64_t pageSize,
                              GroupReduce reduce, Half type);

} // namespace ds::ref

#endif // DS_TOOLS_REFERENCE_QUEST_H
