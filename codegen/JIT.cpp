#include "codegen/JIT.h"
#include "codegen/JITCache.h"
#include "codegen/Compiler.h"
#include "codegen/LinearAttnPrefill.h"
#include "dialect/DSOps.h"

#include <cmath>
#include <cstdio>
#include <sstream>

using ds::rt::Bundle;
using ds::rt::Expected;
using ds::rt::Pipeline;
using ds::rt::Status;

namespace ds::jit {
namespace {

const char *typeName(DataType t) { return t == DataType::BF16 ? "bf16" : "f16"; }

std::string floatAttr(float v) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.9e : f32", static_cast<double>(v));
  return text;
}

Status positive(const char *field, int64_t v) {
  return v >= 1 ? Status::success()
                : Status::error(std::string("spec field '") + field + "' must be >= 1, got " +
                                std::to_string(v));
}

/// A float field that must be finite and >= 0 (a NaN or an infinity would not print as IR).
Status finiteNonNegative(const char *field, double v) {
  return std::isfinite(v) && v >= 0
             ? Status::success()
             : Status::error(std::string("spec field '") + field +
                             "' must be a finite number >= 0, got " + std::to_string(v));
}

Status nonNegative(const char *field, int64_t v) {
  return v >= 0 ? Status::success()
                : Status::error(std::string("spec field '") + field + "' must be >= 0, got " +
                                std::to_string(v));
}

/// A field from 1 to `max` (an ops' verifier bound, named here by field: the compiled op would
/// name its operand's dim instead).
Status inRange(const char *field, int64_t v, int64_t max) {
  DS_RT_RETURN_IF_ERROR(positive(field, v));
  if (v > max)
    return Status::error(std::string("spec field '") + field + "' must be <= " +
                         std::to_string(max) + ", got " + std::to_string(v));
  return Status::success();
}

/// A value dim of a recurrent linear-attention kernel (the state's rows on a power-of-two group
/// of lanes, 16-byte vectors): 4 to 128, dividing 128.
Status stateValueDim(int64_t e, const char *why) {
  if (e >= 4 && e <= 128 && 128 % e == 0)
    return Status::success();
  return Status::error(std::string("spec field 'valueDim' must divide 128 and be >= 4") + why +
                       ", got " + std::to_string(e));
}

/// A head count: 1 to kMaxQueryHeads (plan expressions stay far from overflow).
Status headCount(const char *field, int64_t v) {
  return inRange(field, v, mlir::ds::kMaxQueryHeads);
}

/// A page size: 1 to the ops' kMaxStructuralDim.
Status checkPageSize(const char *field, int64_t v) {
  return inRange(field, v, mlir::ds::kMaxStructuralDim);
}

/// Twilight's int4 key records [slots, Hkv, d / 8 + 4] i32 (ds.int4_append's layout).
std::string int4RecordsType(int64_t kvHeads, int64_t headDim) {
  return "tensor<?x" + std::to_string(kvHeads) + "x" +
         std::to_string(mlir::ds::int4RecordWords(headDim)) + "xi32>";
}

Status checkHeads(int64_t heads, int64_t kvHeads, int64_t headDim,
                  const char *headsField = "heads") {
  DS_RT_RETURN_IF_ERROR(headCount(headsField, heads));
  DS_RT_RETURN_IF_ERROR(positive("kvHeads", kvHeads));
  if (heads % kvHeads != 0)
    return Status::error("spec field 'heads' (" + std::to_string(heads) +
                         ") must be a multiple of 'kvHeads' (" + std::to_string(kvHeads) + ")");
  if (headDim != 32 && headDim != 64 && headDim != 128 && headDim != 256)
    return Status::error("spec field 'headDim' must be 32, 64, 128 or 256, got " +
                         std::to_string(headDim));
  return Status::success();
}

/// Query heads per kv head a shared selection serves: its scoring kernels unroll the group (at
/// 256 a Double Sparsity spec compiled for a minute, at 1024 for more than ten).
constexpr int64_t kMaxSharedGroup = 64;

Status checkSharedGroup(int64_t heads, int64_t kvHeads, bool shared) {
  if (shared && heads / kvHeads > kMaxSharedGroup)
    return Status::error("spec fields 'heads' / 'kvHeads': a shared selection serves at most " +
                         std::to_string(kMaxSharedGroup) + " query heads per kv head, got " +
                         std::to_string(heads) + " / " + std::to_string(kvHeads));
  return Status::success();
}

Status checkLabelFormat(LabelFormat f, int64_t labelDim) {
  if (f == LabelFormat::Int4 && labelDim % 8 != 0)
    return Status::error("spec field 'labelDim' must be a multiple of 8 with labelFormat int4, got " +
                         std::to_string(labelDim));
  if (f == LabelFormat::FP8 && labelDim % 4 != 0)
    return Status::error("spec field 'labelDim' must be a multiple of 4 with labelFormat fp8, got " +
                         std::to_string(labelDim));
  return Status::success();
}

/// The label cache's tensor type ([Hkv, ?, r] in the dtype, fp8, or int4 words) and, for the
/// low-bit formats, its scales' ([Hkv, ?] f16; "" otherwise).
std::pair<std::string, std::string> labelCacheTypes(LabelFormat f, DataType t, int64_t kvHeads,
                                                    int64_t labelDim) {
  const std::string hkv = std::to_string(kvHeads);
  switch (f) {
  case LabelFormat::Same:
    return {"tensor<" + hkv + "x?x" + std::to_string(labelDim) + "x" + typeName(t) + ">", ""};
  case LabelFormat::FP8:
    return {"tensor<" + hkv + "x?x" + std::to_string(labelDim) + "xf8E4M3FN>",
            "tensor<" + hkv + "x?xf16>"};
  case LabelFormat::Int4:
    return {"tensor<" + hkv + "x?x" + std::to_string(labelDim / 8) + "xi32>",
            "tensor<" + hkv + "x?xf16>"};
  }
  return {"", ""};
}

float scaleOf(float scale, int64_t headDim) {
  return scale > 0 ? scale : static_cast<float>(1.0 / std::sqrt(static_cast<double>(headDim)));
}
} // namespace

Expected<std::string> doubleSparsityIR(const DoubleSparsitySpec &s) {
  DS_RT_RETURN_IF_ERROR(checkHeads(s.heads, s.kvHeads, s.headDim));
  DS_RT_RETURN_IF_ERROR(checkSharedGroup(s.heads, s.kvHeads, s.sharedSelection));
  DS_RT_RETURN_IF_ERROR(positive("labelDim", s.labelDim));
  DS_RT_RETURN_IF_ERROR(positive("k", s.k));
  if (s.k > mlir::ds::kMaxTopK)
    return Status::error("spec field 'k' must be <= 2^30, got " + std::to_string(s.k));
  DS_RT_RETURN_IF_ERROR(checkPageSize("pageSize", s.pageSize));
  if (s.labelDim > s.headDim || s.labelDim % 8 != 0)
    return Status::error("spec field 'labelDim' must be a multiple of 8 and <= headDim, got " +
                         std::to_string(s.labelDim));
  DS_RT_RETURN_IF_ERROR(nonNegative("denseBelow", s.denseBelow));
  DS_RT_RETURN_IF_ERROR(finiteNonNegative("softCap", s.softCap));
  DS_RT_RETURN_IF_ERROR(finiteNonNegative("scale", s.scale));
  DS_RT_RETURN_IF_ERROR(checkLabelFormat(s.labelFormat, s.labelDim));
  const std::string t = typeName(s.dtype);
  const int64_t sel = s.sharedSelection ? s.kvHeads : s.heads;
  const std::string hq = std::to_string(s.heads), hkv = std::to_string(s.kvHeads),
                    d = std::to_string(s.headDim), r = std::to_string(s.labelDim),
                    p = std::to_string(s.pageSize), k = std::to_string(s.k),
                    hs = std::to_string(sel);
  const std::string qT = "tensor<?x" + hq + "x" + d + "x" + t + ">";
  const std::string kvT = "tensor<?x" + p + "x" + hkv + "x" + d + "x" + t + ">";
  const auto [lcT, lsT] = labelCacheTypes(s.labelFormat, s.dtype, s.kvHeads, s.labelDim);
  const std::string chT = "tensor<" + hkv + "x" + r + "xi32>";
  const std::string qlT = "tensor<?x" + hq + "x" + r + "x" + t + ">";
  const std::string scT = "tensor<?x" + hs + "x?xf32>";
  const std::string idxT = "tensor<?x" + hs + "x" + k + "xi32>";
  const std::string scale = floatAttr(scaleOf(s.scale, s.headDim));
  std::ostringstream ir;
  ir << "func.func @double_sparsity(%q: " << qT << " {ds.name = \"q\"}, %k_cache: " << kvT
     << " {ds.name = \"k_cache\"}, %v_cache: " << kvT << " {ds.name = \"v_cache\"}, %label_cache: "
     << lcT << " {ds.name = \"label_cache\"}, "
     << (lsT.empty() ? "" : "%label_scales: " + lsT + " {ds.name = \"label_scales\"}, ")
     << "%channels: " << chT
     << " {ds.name = \"channels\"}, %page_table: tensor<?x?xi32> {ds.name = \"page_table\"}, "
        "%seq_lens: tensor<?xi32> {ds.name = \"seq_lens\"}) -> ("
     << qT << ", " << idxT << ") {\n"
     << "  %q_label = ds.label_gather %q, %channels : (" << qT << ", " << chT << ") -> " << qlT
     << "\n"
     << "  %scores = ds.label_score %q_label, %label_cache"
     << (lsT.empty() ? "" : " scales(%label_scales)") << ", %page_table, %seq_lens {page_size = "
     << p << " : i64, scale = " << scale << ", group_reduce = #ds.group_reduce<"
     << (s.sharedSelection && s.heads != s.kvHeads ? "sum" : "none") << ">} : (" << qlT << ", "
     << lcT << (lsT.empty() ? "" : ", " + lsT) << ", tensor<?x?xi32>, tensor<?xi32>) -> " << scT
     << "\n"
     << "  %heavy_tokens = ds.topk %scores, %seq_lens {k = " << k << " : i64} : (" << scT
     << ", tensor<?xi32>) -> " << idxT << "\n"
     << "  %o = ds.sparse_decode %q, %k_cache, %v_cache, %page_table, %seq_lens, %heavy_tokens "
        "{scale = "
     << scale << ", soft_cap = " << floatAttr(s.softCap) << ", dense_below = " << s.denseBelow
     << " : i64} : (" << qT << ", " << kvT << ", " << kvT << ", tensor<?x?xi32>, tensor<?xi32>, "
     << idxT << ") -> " << qT << "\n"
     << "  return %o, %heavy_tokens : " << qT << ", " << idxT << "\n}\n";
  return ir.str();
}

Expected<std::string> denseDecodeIR(const DenseDecodeSpec &s) {
  DS_RT_RETURN_IF_ERROR(checkHeads(s.heads, s.kvHeads, s.headDim));
  DS_RT_RETURN_IF_ERROR(checkPageSize("pageSize", s.pageSize));
  DS_RT_RETURN_IF_ERROR(finiteNonNegative("scale", s.scale));
  DS_RT_RETURN_IF_ERROR(finiteNonNegative("softCap", s.softCap));
  const std::string t = typeName(s.dtype);
  const std::string qT = "tensor<?x" + std::to_string(s.heads) + "x" +
                         std::to_string(s.headDim) + "x" + t + ">";
  const std::string kvT = "tensor<?x" + std::to_string(s.pageSize) + "x" +
                          std::to_string(s.kvHeads) + "x" + std::to_string(s.headDim) + "x" + t +
                          ">";
  std::ostringstream ir;
  ir << "func.func @dense_decode(%q: " << qT << " {ds.name = \"q\"}, %k_cache: " << kvT
     << " {ds.name = \"k_cache\"}, %v_cache: " << kvT
     << " {ds.name = \"v_cache\"}, %page_table: tensor<?x?xi32> {ds.name = \"page_table\"}, "
        "%seq_lens: tensor<?xi32> {ds.name = \"seq_lens\"}) -> "
     << qT << " {\n"
     << "  %o = ds.dense_decode %q, %k_cache, %v_cache, %page_table, %seq_lens {scale = "
     << floatAttr(scaleOf(s.scale, s.headDim)) << ", soft_cap = " << floatAttr(s.softCap)
     << "} : (" << qT << ", " << kvT << ", " << kvT << ", tensor<?x?xi32>, tensor<?xi32>) -> "
     << qT << "\n  return %o : " << qT << "\n}\n";
  return ir.str();
}

Expected<std::string> labelAppendIR(const LabelAppendSpec &s) {
  DS_RT_RETURN_IF_ERROR(checkHeads(s.kvHeads, s.kvHeads, s.headDim, "kvHeads"));
  DS_RT_RETURN_IF_ERROR(positive("labelDim", s.labelDim));
  if (s.labelDim > s.headDim)
    return Status::error("spec field 'labelDim' must be <= headDim");
  DS_RT_RETURN_IF_ERROR(checkLabelFormat(s.labelFormat, s.labelDim));
  const std::string t = typeName(s.dtype), hkv = std::to_string(s.kvHeads),
                    r = std::to_string(s.labelDim);
  const auto [lcT, lsT] = labelCacheTypes(s.labelFormat, s.dtype, s.kvHeads, s.labelDim);
  const std::string kT = "tensor<?x" + hkv + "x" + std::to_string(s.headDim) + "x" + t + ">";
  const std::string chT = "tensor<" + hkv + "x" + r + "xi32>";
  // A low-bit cache's scales travel with it: one more argument, operand, result and value.
  const bool low = !lsT.empty();
  const std::string cacheTypes = low ? lcT + ", " + lsT : lcT;
  const std::string values = low ? "%0, %1" : "%0";
  std::ostringstream ir;
  ir << "func.func @label_append(%new_k: " << kT << " {ds.name = \"new_k\"}, %channels: " << chT
     << " {ds.name = \"channels\"}, %slot_mapping: tensor<?xi32> {ds.name = \"slot_mapping\"}, "
        "%label_cache: "
     << lcT << " {ds.name = \"label_cache\"}"
     << (low ? ", %label_scales: " + lsT + " {ds.name = \"label_scales\"}" : "") << ") -> "
     << (low ? "(" + cacheTypes + ")" : cacheTypes) << " {\n"
     << "  " << values << " = ds.label_append %label_cache" << (low ? " scales(%label_scales)" : "")
     << ", %new_k, %channels, %slot_mapping : (" << cacheTypes << ", " << kT << ", " << chT
     << ", tensor<?xi32>) -> " << (low ? "(" + cacheTypes + ")" : cacheTypes) << "\n  return "
     << values << " : " << cacheTypes << "\n}\n";
  return ir.str();
}

Expected<std::string> linearAttnDecodeIR(const LinearAttnDecodeSpec &s) {
  DS_RT_RETURN_IF_ERROR(headCount("heads", s.heads));
  if (s.keyDim < 1 || s.keyDim > 256)
    return Status::error("spec field 'keyDim' must be in [1, 256], got " + std::to_string(s.keyDim));
  DS_RT_RETURN_IF_ERROR(stateValueDim(s.valueDim, ""));
  const std::string t = typeName(s.dtype), h = std::to_string(s.heads),
                    d = std::to_string(s.keyDim), e = std::to_string(s.valueDim);
  const std::string qT = "tensor<?x" + h + "x" + d + "x" + t + ">";
  const std::string vT = "tensor<?x" + h + "x" + e + "x" + t + ">";
  const std::string sT = "tensor<?x" + h + "x" + d + "x" + e + "xf32>";
  const std::string slT = "tensor<" + h + "xf32>";
  std::ostringstream ir;
  ir << "func.func @linear_attn_decode(%q: " << qT << " {ds.name = \"q\"}, %k: " << qT
     << " {ds.name = \"k\"}, %v: " << vT << " {ds.name = \"v\"}, %slopes: " << slT
     << " {ds.name = \"slopes\"}, %states: " << sT
     << " {ds.name = \"states\"}, %state_indices: tensor<?xi32> {ds.name = \"state_indices\"}) -> ("
     << vT << ", " << sT << ") {\n"
     << "  %o, %new_states = ds.linear_attn_decode %q, %k, %v, %slopes, %states, %state_indices : ("
     << qT << ", " << qT << ", " << vT << ", " << slT << ", " << sT << ", tensor<?xi32>) -> (" << vT
     << ", " << sT << ")\n  return %o, %new_states : " << vT << ", " << sT << "\n}\n";
  return ir.str();
}

Expected<std::string> linearAttnPrefillIR(const LinearAttnPrefillSpec &s) {
  DS_RT_RETURN_IF_ERROR(headCount("heads", s.heads));
  DS_RT_RETURN_IF_ERROR(positive("keyDim", s.keyDim));
  DS_RT_RETURN_IF_ERROR(positive("valueDim", s.valueDim));
  DS_RT_RETURN_IF_ERROR(positive("chunkSize", s.chunkSize));
  // The tensor-core kernels take chunks of 64 tokens without intermediate states and tile key
  // dims 8 to 128 and value dims in multiples of 8; the recurrent kernel takes the rest (the
  // config pass's choice).
  namespace la = mlir::ds::linear_attn;
  if (!la::tensorCoreShape(s.keyDim, s.valueDim, s.chunkSize, s.keepIntermediate)) {
    const char *why = " (the recurrent kernel's; chunkSize 64 without keepIntermediate also takes "
                      "key dims 8 to 128 with value dims in multiples of 8)";
    DS_RT_RETURN_IF_ERROR(stateValueDim(s.valueDim, why));
    const int64_t maxKeyDim = la::recurrentMaxKeyDim(s.valueDim);
    if (s.keyDim > maxKeyDim)
      return Status::error("spec field 'keyDim' must be <= " + std::to_string(maxKeyDim) +
                           " with valueDim " + std::to_string(s.valueDim) + why + ", got " +
                           std::to_string(s.keyDim));
  }
  const std::string t = typeName(s.dtype), h = std::to_string(s.heads),
                    d = std::to_string(s.keyDim), e = std::to_string(s.valueDim);
  const std::string qT = "tensor<?x" + h + "x" + d + "x" + t + ">";
  const std::string vT = "tensor<?x" + h + "x" + e + "x" + t + ">";
  const std::string sT = "tensor<?x" + h + "x" + d + "x" + e + "xf32>";
  const std::string iT = "tensor<?x" + h + "x" + d + "x" + e + "xf32>";
  const std::string slT = "tensor<" + h + "xf32>";
  const std::string idx = "tensor<?xi32>";
  std::ostringstream ir;
  ir << "func.func @linear_attn_prefill(%q: " << qT << " {ds.name = \"q\"}, %k: " << qT
     << " {ds.name = \"k\"}, %v: " << vT << " {ds.name = \"v\"}, %slopes: " << slT
     << " {ds.name = \"slopes\"}, %cu_seqlens: " << idx << " {ds.name = \"cu_seqlens\"}, %states: "
     << sT << " {ds.name = \"states\"}, %state_indices: " << idx
     << " {ds.name = \"state_indices\"}, %has_initial_state: " << idx
     << " {ds.name = \"has_initial_state\"}) -> (" << vT << ", " << sT
     << (s.keepIntermediate ? ", " + iT : std::string()) << ") {\n  %o, %new_states"
     << (s.keepIntermediate ? ", %intermediate" : "") << " = ds.linear_attn_prefill %q, %k, %v, "
     << "%slopes, %cu_seqlens, %states, %state_indices, %has_initial_state {chunk_size = "
     << s.chunkSize << " : i64" << (s.keepIntermediate ? ", keep_intermediate" : "") << "} : ("
     << qT << ", " << qT << ", " << vT << ", " << slT << ", " << idx << ", " << sT << ", " << idx
     << ", " << idx << ") -> (" << vT << ", " << sT
     << (s.keepIntermediate ? ", " + iT : std::string()) << ")\n  return %o, %new_states"
     << (s.keepIntermediate ? ", %intermediate" : "") << " : " << vT << ", " << sT
     << (s.keepIntermediate ? ", " + iT : std::string()) << "\n}\n";
  return ir.str();
}

Expected<std::string> questIR(const QuestSpec &s) {
  DS_RT_RETURN_IF_ERROR(checkHeads(s.heads, s.kvHeads, s.headDim));
  DS_RT_RETURN_IF_ERROR(checkSharedGroup(s.heads, s.kvHeads, s.sharedSelection));
  DS_RT_RETURN_IF_ERROR(checkPageSize("pageSize", s.pageSize));
  DS_RT_RETURN_IF_ERROR(positive("tokenBudget", s.tokenBudget));
  if (s.tokenBudget > mlir::ds::kMaxTopK)
    return Status::error("spec field 'tokenBudget' must be <= 2^30, got " +
                         std::to_string(s.tokenBudget));
  if (s.tokenBudget < s.pageSize)
    return Status::error("spec field 'tokenBudget' (" + std::to_string(s.tokenBudget) +
                         ") must be at least one page (pageSize " + std::to_string(s.pageSize) +
                         ")");
  DS_RT_RETURN_IF_ERROR(nonNegative("denseBelow", s.denseBelow));
  DS_RT_RETURN_IF_ERROR(finiteNonNegative("softCap", s.softCap));
  DS_RT_RETURN_IF_ERROR(finiteNonNegative("scale", s.scale));
  const std::string t = typeName(s.dtype);
  const int64_t sel = s.sharedSelection ? s.kvHeads : s.heads, pages = s.tokenBudget / s.pageSize;
  const std::string hq = std::to_string(s.heads), hkv = std::to_string(s.kvHeads),
                    d = std::to_string(s.headDim), P = std::to_string(s.pageSize);
  const std::string qT = "tensor<?x" + hq + "x" + d + "x" + t + ">";
  const std::string kvT = "tensor<?x" + P + "x" + hkv + "x" + d + "x" + t + ">";
  const std::string sT = "tensor<?x" + hkv + "x" + d + "x" + t + ">";
  const std::string uT = "tensor<?x" + std::to_string(sel) + "x?xf32>";
  const std::string selT = "tensor<?x" + std::to_string(sel) + "x" + std::to_string(pages) + "xi32>";
  std::ostringstream ir;
  ir << "func.func @quest_decode(%q: " << qT << " {ds.name = \"q\"}, %k_cache: " << kvT
     << " {ds.name = \"k_cache\"}, %v_cache: " << kvT << " {ds.name = \"v_cache\"}, %kmin: " << sT
     << " {ds.name = \"kmin\"}, %kmax: " << sT
     << " {ds.name = \"kmax\"}, %page_table: tensor<?x?xi32> {ds.name = \"page_table\"}, "
        "%seq_lens: tensor<?xi32> {ds.name = \"seq_lens\"}) -> ("
     << qT << ", " << selT << ") {\n"
     << "  %u = ds.page_score %q, %kmin, %kmax, %page_table, %seq_lens {page_size = " << P
     << " : i64" << (s.sharedSelection ? ", group_reduce = #ds.group_reduce<sum>" : "") << "} : ("
     << qT << ", " << sT << ", " << sT << ", tensor<?x?xi32>, tensor<?xi32>) -> " << uT << "\n"
     << "  %pages = ds.topk %u, %seq_lens {k = " << pages << " : i64, divisor = " << P
     << " : i64, keep_last} : (" << uT << ", tensor<?xi32>) -> " << selT << "\n"
     << "  %o = ds.sparse_decode %q, %k_cache, %v_cache, %page_table, %seq_lens, %pages {scale = "
     << floatAttr(scaleOf(s.scale, s.headDim)) << ", soft_cap = " << floatAttr(s.softCap)
     << ", granularity = #ds.granularity<page>, dense_below = " << s.denseBelow << " : i64} : ("
     << qT << ", " << kvT << ", " << kvT << ", tensor<?x?xi32>, tensor<?xi32>, " << selT << ") -> "
     << qT << "\n  return %o, %pages : " << qT << ", " << selT << "\n}\n";
  return ir.str();
}

namespace {
/// The label-selection front of the Double Sparsity family, shared by vAttention and Twilight:
/// the function's arguments and the query labels.
struct LabelFront {
  std::string qT, kvT, lcT, chT, qlT, scT, scale, args;
  int64_t sel;
};
Expected<LabelFront> labelFront(int64_t heads, int64_t kvHeads, int64_t headDim,
                                int64_t labelDim, int64_t pageSize, DataType dtype, float scale,
                                float softCap, bool shared) {
  DS_RT_RETURN_IF_ERROR(checkHeads(heads, kvHeads, headDim));
  DS_RT_RETURN_IF_ERROR(checkSharedGroup(heads, kvHeads, shared));
  DS_RT_RETURN_IF_ERROR(positive("labelDim", labelDim));
  DS_RT_RETURN_IF_ERROR(checkPageSize("pageSize", pageSize));
  if (labelDim > headDim || labelDim % 8 != 0)
    return Status::error("spec field 'labelDim' must be a multiple of 8 and <= headDim, got " +
                         std::to_string(labelDim));
  DS_RT_RETURN_IF_ERROR(finiteNonNegative("softCap", softCap));
  DS_RT_RETURN_IF_ERROR(finiteNonNegative("scale", scale));
  LabelFront f;
  const std::string t = typeName(dtype), hq = std::to_string(heads),
                    hkv = std::to_string(kvHeads), d = std::to_string(headDim),
                    r = std::to_string(labelDim), p = std::to_string(pageSize);
  f.sel = shared ? kvHeads : heads;
  f.qT = "tensor<?x" + hq + "x" + d + "x" + t + ">";
  f.kvT = "tensor<?x" + p + "x" + hkv + "x" + d + "x" + t + ">";
  f.lcT = "tensor<" + hkv + "x?x" + r + "x" + t + ">";
  f.chT = "tensor<" + hkv + "x" + r + "xi32>";
  f.qlT = "tensor<?x" + hq + "x" + r + "x" + t + ">";
  f.scT = "tensor<?x" + std::to_string(f.sel) + "x?xf32>";
  f.scale = floatAttr(scaleOf(scale, headDim));
  f.args = "%q: " + f.qT + " {ds.name = \"q\"}, %k_cache: " + f.kvT +
           " {ds.name = \"k_cache\"}, %v_cache: " + f.kvT + " {ds.name = \"v_cache\"}, %label_cache: " +
           f.lcT + " {ds.name = \"label_cache\"}, %channels: " + f.chT +
           " {ds.name = \"channels\"}, %page_table: tensor<?x?xi32> {ds.name = \"page_table\"}, "
           "%seq_lens: tensor<?xi32> {ds.name = \"seq_lens\"}";
  return f;
}

/// `%q_label` and the label scores `%scores` of every token.
std::string labelScores(const LabelFront &f, int64_t pageSize, bool shared, bool groups) {
  return "  %q_label = ds.label_gather %q, %channels : (" + f.qT + ", " + f.chT + ") -> " + f.qlT +
         "\n  %scores = ds.label_score %q_label, %label_cache, %page_table, %seq_lens {page_size = " +
         std::to_string(pageSize) + " : i64, scale = " + f.scale +
         ", group_reduce = #ds.group_reduce<" + (shared && groups ? "sum" : "none") + ">} : (" +
         f.qlT + ", " + f.lcT + ", tensor<?x?xi32>, tensor<?xi32>) -> " + f.scT + "\n";
}
} // namespace

Expected<std::string> vattentionIR(const VAttentionSpec &s) {
  Expected<LabelFront> front = labelFront(s.heads, s.kvHeads, s.headDim, s.labelDim, s.pageSize,
                                          s.dtype, s.scale, s.softCap, s.sharedSelection);
  if (!front)
    return front.status();
  const LabelFront &f = *front;
  DS_RT_RETURN_IF_ERROR(positive("k", s.k));
  DS_RT_RETURN_IF_ERROR(positive("numSamples", s.numSamples));
  DS_RT_RETURN_IF_ERROR(nonNegative("sinks", s.sinks));
  DS_RT_RETURN_IF_ERROR(nonNegative("window", s.window));
  // A row's selection (sinks + window + k + samples) is a tensor dim: far from overflow.
  for (auto [field, v] : {std::pair<const char *, int64_t>{"sinks", s.sinks},
                          {"window", s.window}, {"numSamples", s.numSamples}})
    if (v > (int64_t(1) << 24))
      return Status::error(std::string("spec field '") + field + "' must be <= 2^24, got " +
                           std::to_string(v));
  if (s.k > 8192)
    return Status::error("spec field 'k' must be <= 8192 (the sampler sorts a row's top-k in "
                         "shared memory), got " + std::to_string(s.k));
  const int64_t total = s.sinks + s.window + s.k + s.numSamples;
  if (total >= (int64_t(1) << 31))
    return Status::error("spec fields 'sinks' + 'window' + 'k' + 'numSamples' must be < 2^31");
  const std::string hs = std::to_string(f.sel);
  const std::string topT = "tensor<?x" + hs + "x" + std::to_string(s.k) + "xi32>";
  const std::string selT = "tensor<?x" + hs + "x" + std::to_string(total) + "xi32>";
  const std::string wT = "tensor<?x" + hs + "x" + std::to_string(total) + "xf32>";
  std::ostringstream ir;
  ir << "func.func @vattention(" << f.args
     << ", %philox: tensor<2xi64> {ds.name = \"philox\"}) -> (" << f.qT << ", " << selT << ", "
     << wT << ") {\n"
     << labelScores(f, s.pageSize, s.sharedSelection, s.heads != s.kvHeads)
     << "  %top = ds.topk %scores, %seq_lens {k = " << s.k << " : i64} : (" << f.scT
     << ", tensor<?xi32>) -> " << topT << "\n"
     << "  %selected, %log_weights = ds.sample_residual %top, %seq_lens, %philox {sinks = "
     << s.sinks << " : i64, window = " << s.window << " : i64, num_samples = " << s.numSamples
     << " : i64} : (" << topT << ", tensor<?xi32>, tensor<2xi64>) -> (" << selT << ", " << wT
     << ")\n"
     << "  %o = ds.sparse_decode %q, %k_cache, %v_cache, %page_table, %seq_lens, %selected, "
        "%log_weights {scale = " << f.scale << ", soft_cap = " << floatAttr(s.softCap) << "} : ("
     << f.qT << ", " << f.kvT << ", " << f.kvT << ", tensor<?x?xi32>, tensor<?xi32>, " << selT
     << ", " << wT << ") -> " << f.qT << "\n"
     << "  return %o, %selected, %log_weights : " << f.qT << ", " << selT << ", " << wT
     << "\n}\n";
  return ir.str();
}

Expected<std::string> twilightIR(const TwilightSpec &s) {
  Expected<LabelFront> front = labelFront(s.heads, s.kvHeads, s.headDim, s.labelDim, s.pageSize,
                                          s.dtype, s.scale, s.softCap, s.sharedSelection);
  if (!front)
    return front.status();
  const LabelFront &f = *front;
  DS_RT_RETURN_IF_ERROR(positive("candidates", s.candidates));
  if (s.candidates > mlir::ds::kMaxTopK)
    return Status::error("spec field 'candidates' must be <= 2^30, got " +
                         std::to_string(s.candidates));
  if (!(s.topP > 0.0f && s.topP <= 1.0f))
    return Status::error("spec field 'topP' must be in (0, 1], got " + std::to_string(s.topP));
  const std::string hs = std::to_string(f.sel), K = std::to_string(s.candidates);
  const std::string candT = "tensor<?x" + hs + "x" + K + "xi32>";
  const std::string estT = "tensor<?x" + hs + "x" + K + "xf32>";
  const std::string cntT = "tensor<?x" + hs + "xi32>";
  const std::string red = s.sharedSelection && s.heads != s.kvHeads ? "sum" : "none";
  const std::string hkv = std::to_string(s.kvHeads);
  const std::string kqT = int4RecordsType(s.kvHeads, s.headDim);
  const std::string int4Args = ", %kq: " + kqT + " {ds.name = \"kq\"}";
  std::string args = f.args;
  std::ostringstream ir;
  if (s.questCandidates) {
    // Quest's pages as the candidates: page_score -> top pages -> their tokens.
    if (!s.int4Estimate)
      return Status::error("spec field 'int4Estimate' must be set with questCandidates (Quest "
                           "keeps no labels to estimate from)");
    if (s.candidates % s.pageSize != 0)
      return Status::error("spec field 'candidates' (" + K + ") must be a multiple of pageSize (" +
                           std::to_string(s.pageSize) + ") with questCandidates");
    const std::string sT = "tensor<?x" + hkv + "x" + std::to_string(s.headDim) + "x" +
                           typeName(s.dtype) + ">";
    const std::string uT = "tensor<?x" + hs + "x?xf32>";
    const std::string kp = std::to_string(s.candidates / s.pageSize);
    const std::string pagesT = "tensor<?x" + hs + "x" + kp + "xi32>";
    args = "%q: " + f.qT + " {ds.name = \"q\"}, %k_cache: " + f.kvT +
           " {ds.name = \"k_cache\"}, %v_cache: " + f.kvT + " {ds.name = \"v_cache\"}, %kmin: " + sT +
           " {ds.name = \"kmin\"}, %kmax: " + sT + " {ds.name = \"kmax\"}" + int4Args +
           ", %page_table: tensor<?x?xi32> {ds.name = \"page_table\"}, %seq_lens: tensor<?xi32> "
           "{ds.name = \"seq_lens\"}";
    ir << "func.func @twilight(" << args << ") -> (" << f.qT << ", " << candT << ", " << cntT
       << ") {\n"
       << "  %u = ds.page_score %q, %kmin, %kmax, %page_table, %seq_lens {page_size = "
       << s.pageSize << " : i64, group_reduce = #ds.group_reduce<" << red << ">} : (" << f.qT
       << ", " << sT << ", " << sT << ", tensor<?x?xi32>, tensor<?xi32>) -> " << uT << "\n"
       << "  %pages = ds.topk %u, %seq_lens {k = " << kp << " : i64, divisor = " << s.pageSize
       << " : i64, keep_last} : (" << uT << ", tensor<?xi32>) -> " << pagesT << "\n"
       << "  %candidates = ds.expand_pages %pages, %seq_lens {page_size = " << s.pageSize
       << " : i64} : (" << pagesT << ", tensor<?xi32>) -> " << candT << "\n";
  } else {
    if (s.int4Estimate) {
      const std::string after = "{ds.name = \"channels\"}";
      args.insert(args.find(after) + after.size(), int4Args);
    }
    ir << "func.func @twilight(" << args << ") -> (" << f.qT << ", " << candT << ", " << cntT
       << ") {\n"
       << labelScores(f, s.pageSize, s.sharedSelection, s.heads != s.kvHeads)
       << "  %candidates = ds.topk %scores, %seq_lens {k = " << K << " : i64} : (" << f.scT
       << ", tensor<?xi32>) -> " << candT << "\n";
  }
  if (s.int4Estimate)
    ir << "  %estimate = ds.int4_score %q, %kq, %page_table, %seq_lens, %candidates "
          "{page_size = " << s.pageSize << " : i64, scale = " << f.scale
       << ", group_reduce = #ds.group_reduce<" << red << ">} : (" << f.qT << ", " << kqT
       << ", tensor<?x?xi32>, tensor<?xi32>, " << candT << ") -> " << estT << "\n";
  else
    ir << "  %estimate = ds.label_score %q_label, %label_cache, %page_table, %seq_lens, %candidates "
          "{page_size = " << s.pageSize << " : i64, scale = " << f.scale
       << ", group_reduce = #ds.group_reduce<" << red << ">} : (" << f.qlT << ", " << f.lcT
       << ", tensor<?x?xi32>, tensor<?xi32>, " << candT << ") -> " << estT << "\n";
  ir
     << "  %kept, %kept_counts = ds.topp %estimate, %candidates {top_p = " << floatAttr(s.topP)
     << "} : (" << estT << ", " << candT << ") -> (" << candT << ", " << cntT << ")\n"
     << "  %o = ds.sparse_decode %q, %k_cache, %v_cache, %page_table, %seq_lens, %kept {scale = "
     << f.scale << ", soft_cap = " << floatAttr(s.softCap) << "} : (" << f.qT << ", " << f.kvT
     << ", " << f.kvT << ", tensor<?x?xi32>, tensor<?xi32>, " << candT << ") -> " << f.qT << "\n"
     << "  return %o, %kept, %kept_counts : " << f.qT << ", " << candT << ", " << cntT << "\n}\n";
  return ir.str();
}

Expected<std::string> int4AppendIR(const Int4AppendSpec &s) {
  DS_RT_RETURN_IF_ERROR(checkHeads(s.kvHeads, s.kvHeads, s.headDim, "kvHeads"));
  const std::string t = typeName(s.dtype), hkv = std::to_string(s.kvHeads),
                    d = std::to_string(s.headDim);
  const std::string kqT = int4RecordsType(s.kvHeads, s.headDim);
  const std::string kT = "tensor<?x" + hkv + "x" + d + "x" + t + ">";
  std::ostringstream ir;
  ir << "func.func @int4_append(%kq: " << kqT << " {ds.name = \"kq\"}, %new_k: " << kT
     << " {ds.name = \"new_k\"}, %slot_mapping: tensor<?xi32> {ds.name = \"slot_mapping\"}) -> "
     << kqT << " {\n"
     << "  %kq2 = ds.int4_append %kq, %new_k, %slot_mapping : (" << kqT << ", " << kT
     << ", tensor<?xi32>) -> " << kqT << "\n"
     << "  return %kq2 : " << kqT << "\n}\n";
  return ir.str();
}

Expected<std::string> questSummaryIR(const QuestSummarySpec &s) {
  DS_RT_RETURN_IF_ERROR(checkHeads(s.kvHeads, s.kvHeads, s.headDim, "kvHeads"));
  DS_RT_RETURN_IF_ERROR(checkPageSize("pageSize", s.pageSize));
  const std::string t = typeName(s.dtype), hkv = std::to_string(s.kvHeads),
                    d = std::to_string(s.headDim), P = std::to_string(s.pageSize);
  const std::string sT = "tensor<?x" + hkv + "x" + d + "x" + t + ">";
  std::ostringstream ir;
  if (s.fromCache) {
    const std::string kvT = "tensor<?x" + P + "x" + hkv + "x" + d + "x" + t + ">";
    ir << "func.func @quest_summary(%k_cache: " << kvT
       << " {ds.name = \"k_cache\"}, %page_table: tensor<?x?xi32> {ds.name = \"page_table\"}, "
          "%seq_lens: tensor<?xi32> {ds.name = \"seq_lens\"}, %kmin: "
       << sT << " {ds.name = \"kmin\"}, %kmax: " << sT << " {ds.name = \"kmax\"}) -> (" << sT
       << ", " << sT << ") {\n"
       << "  %mn, %mx = ds.page_summary %kmin, %kmax, %k_cache, %page_table, %seq_lens : (" << sT
       << ", " << sT << ", " << kvT << ", tensor<?x?xi32>, tensor<?xi32>) -> (" << sT << ", "
       << sT << ")\n  return %mn, %mx : " << sT << ", " << sT << "\n}\n";
    return ir.str();
  }
  const std::string kT = "tensor<?x" + hkv + "x" + d + "x" + t + ">";
  ir << "func.func @quest_summary_append(%new_k: " << kT
     << " {ds.name = \"new_k\"}, %slot_mapping: tensor<?xi32> {ds.name = \"slot_mapping\"}, "
        "%kmin: "
     << sT << " {ds.name = \"kmin\"}, %kmax: " << sT << " {ds.name = \"kmax\"}) -> (" << sT << ", "
     << sT << ") {\n"
     << "  %mn, %mx = ds.page_summary_append %kmin, %kmax, %new_k, %slot_mapping {page_size = "
     << P << " : i64} : (" << sT << ", " << sT << ", " << kT << ", tensor<?xi32>) -> (" << sT
     << ", " << sT << ")\n  return %mn, %mx : " << sT << ", " << sT << "\n}\n";
  return ir.str();
}

namespace {
std::string overridesKey(const std::vector<std::string> &overrides) {
  std::string key;
  for (const std::string &o : overrides)
    key += "/config:" + o;
  return key;
}
} // namespace

Target Target::of(const rt::DeviceProperties &device) {
  Target t;
  // Compute capability 9.0 gets its architecture-specific target (sm_90a: warpgroup MMA); the
  // kernels are compiled for the device they run on.
  t.chip = "sm_" + std::to_string(device.smVersion()) + (device.smVersion() == 90 ? "a" : "");
  t.smCount = device.smCount;
  t.smemPerBlock = device.maxSharedPerBlockOptin;
  t.l2Bytes = device.l2Bytes;
  return t;
}

std::string Target::key() const {
  return chip + "/" + std::to_string(smCount) + "/" + std::to_string(smemPerBlock) + "/" +
         std::to_string(l2Bytes) + "/" + std::to_string(regsPerSM) +
         (programmaticLaunch ? "" : "/no-pdl") + overridesKey(configOverrides);
}

Expected<Bundle> compileSource(const std::string &source, const Target &target,
                               const std::string &sourceName, bool cubin) {
  mlir::ds::CompileOptions options;
  options.cubin = cubin;
  options.sourceName = sourceName;
  options.chip = target.chip;
  options.smCount = target.smCount;
  options.smemPerBlock = target.smemPerBlock;
  options.l2Bytes = target.l2Bytes;
  options.regsPerSM = target.regsPerSM;
  options.programmaticLaunch = target.programmaticLaunch;
  options.configOverrides = target.configOverrides;
  return mlir::ds::compileSourceToBundle(source, options);
}

Expected<Bundle> compileDoubleSparsity(const DoubleSparsitySpec &spec, const Target &target) {
  Expected<std::string> ir = doubleSparsityIR(spec);
  if (!ir)
    return ir.status();
  return compileSource(*ir, target);
}

JIT::Result JIT::cached(const Target &compileFor, const std::string &source) {
  // The key is the IR and the target: a spec and the same IR given as text share one entry. The
  // first caller of a key compiles; concurrent and later callers share its future.
  const std::string key = compileFor.key() + "\n" + source;
  std::promise<Result> promise;
  std::shared_future<Result> existing;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(key);
    if (it != cache.end()) {
      existing = it->second;
    } else {
      cache.emplace(key, promise.get_future().share());
      ++compileCount;
    }
  }
  if (existing.valid())
    return existing.get();
  Result result = Status::error("internal error: no result");
  bool hit = false;
  Expected<Bundle> bundle = compileSourceCached(source, compileFor, DiskCache(diskFolder), &hit);
  if (hit) {
    std::lock_guard<std::mutex> lock(mutex);
    ++diskHitCount;
  }
  if (!bundle) {
    result = bundle.status();
  } else {
    Expected<Pipeline> loaded = Pipeline::load(context, std::move(*bundle));
    if (loaded)
      result = std::shared_ptr<const Pipeline>(std::make_shared<Pipeline>(std::move(*loaded)));
    else
      result = loaded.status();
  }
  promise.set_value(result);
  return result;
}

JIT::JIT(const rt::Context &context)
    : JIT(context, DiskCache::fromEnvironment().directory()) {}
JIT::JIT(const rt::Context &context, std::string cacheFolder)
    : context(context), target(Target::of(context.properties())),
      diskFolder(std::move(cacheFolder)) {}

int64_t JIT::diskHits() const {
  std::lock_guard<std::mutex> lock(mutex);
  return diskHitCount;
}

int64_t JIT::compilations() const {
  std::lock_guard<std::mutex> lock(mutex);
  return compileCount;
}

JIT::Result JIT::fromSource(const std::string &source) { return cached(compileTarget(), source); }

Target JIT::compileTarget() const {
  std::lock_guard<std::mutex> lock(mutex);
  return target;
}

void JIT::setProgrammaticLaunch(bool on) {
  std::lock_guard<std::mutex> lock(mutex);
  target.programmaticLaunch = on;
}

void JIT::setConfigOverrides(std::vector<std::string> overrides) {
  std::lock_guard<std::mutex> lock(mutex);
  target.configOverrides = std::move(overrides);
}

JIT::Result JIT::fromIR(const Expected<std::string> &ir) {
  if (!ir)
    return ir.status();
  return fromSource(*ir);
}

JIT::Result JIT::doubleSparsity(const DoubleSparsitySpec &spec) {
  return fromIR(doubleSparsityIR(spec));
}

JIT::Result JIT::denseDecode(const DenseDecodeSpec &spec) { return fromIR(denseDecodeIR(spec)); }

JIT::Result JIT::labelAppend(const LabelAppendSpec &spec) { return fromIR(labelAppendIR(spec)); }

JIT::Result JIT::linearAttnDecode(const LinearAttnDecodeSpec &spec) {
  return fromIR(linearAttnDecodeIR(spec));
}

JIT::Result JIT::linearAttnPrefill(const LinearAttnPrefillSpec &spec) {
  return fromIR(linearAttnPrefillIR(spec));
}

JIT::Result JIT::quest(const QuestSpec &spec) { return fromIR(questIR(spec)); }

JIT::Result JIT::vattention(const VAttentionSpec &spec) { return fromIR(vattentionIR(spec)); }

JIT::Result JIT::twilight(const TwilightSpec &spec) { return fromIR(twilightIR(spec)); }

JIT::Result JIT::int4Append(const Int4AppendSpec &spec) { return fromIR(int4AppendIR(spec)); }

JIT::Result JIT::questSummary(const QuestSummarySpec &spec) {
  return fromIR(questSummaryIR(spec));
}

} // namespace ds::jit
