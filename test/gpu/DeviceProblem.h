// A Double Sparsity problem's inputs on the device, in the order the label-selection pipelines
// (Double Sparsity, vAttention, Twilight) take them.
#pragma once

#include "test/gpu/GpuTestUtil.h"
#include "tools/reference/DoubleSparsity.h"

namespace ds::test {

struct DeviceDSProblem {
  /// labels: the problem's label cache as its pipeline reads it (bf16/f16, or the low-bit one
  /// with its scales in labelScales).
  rt::DeviceBuffer q, k, v, labels, labelScales, channels, pageTable, seqLens;

  DeviceDSProblem(const rt::Context &ctx, const ref::DSProblem &p)
      : q(upload(ctx, p.q)), k(upload(ctx, p.kv.k)), v(upload(ctx, p.kv.v)),
        labels(p.lowBitLabels() ? upload(ctx, p.lowBit.data) : upload(ctx, p.labels)),
        labelScales(upload(ctx, p.lowBit.scales)), channels(upload(ctx, p.channels)),
        pageTable(upload(ctx, p.paging.pageTable)), seqLens(upload(ctx, p.paging.seqLens)) {}

  /// q, k_cache, v_cache, label_cache, (low-bit labels: label_scales,) channels.
  std::vector<rt::TensorArg> front(const ref::DSProblem &p) const {
    const ref::DSShape &s = p.shape;
    std::vector<rt::TensorArg> args = {
        rt::TensorArg(q.ptr(), {p.paging.batch, s.hq, s.d}),
        rt::TensorArg(k.ptr(), {p.kv.numPages, s.pageSize, s.hkv, s.d}),
        rt::TensorArg(v.ptr(), {p.kv.numPages, s.pageSize, s.hkv, s.d}),
        rt::TensorArg(labels.ptr(), {s.hkv, p.slots(), p.labelCacheDim()})};
    if (p.lowBitLabels())
      args.push_back(rt::TensorArg(labelScales.ptr(), {s.hkv, p.slots()}));
    args.push_back(rt::TensorArg(channels.ptr(), {s.hkv, s.r}));
    return args;
  }
  /// page_table, seq_lens.
  std::vector<rt::TensorArg> paging(const ref::DSProblem &p) const {
    return {rt::TensorArg(pageTable.ptr(), {p.paging.batch, p.paging.maxPages}),
            rt::TensorArg(seqLens.ptr(), {p.paging.batch})};
  }
};

/// The concatenation of argument lists.
inline std::vector<rt::TensorArg> concat(std::initializer_list<std::vector<rt::TensorArg>> parts) {
  std::vector<rt::TensorArg> out;
  for (const auto &p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

} // namespace ds::test
