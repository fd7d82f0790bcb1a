// The C API (capi/include/ds/ds.h) over the JIT (codegen/JIT.h) and the runtime: opaque handles,
// a status per call and a thread-local message. Built into libds.so with only ds_* exported.
#include "ds/ds.h"

#include "codegen/JIT.h"
#include "codegen/JITCache.h"
#include "dialect/DSTarget.h"
#include "passes/ConfigOverride.h"
#include "runtime/Device.h"
#include "runtime/Pipeline.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace ds;

struct ds_bundle_s {
  rt::Bundle bundle;
  std::vector<std::vector<std::string>> dims; ///< per argument, its dims as text
};
struct ds_context_s {
  rt::Context context;
  std::unique_ptr<jit::JIT> jit;
};
struct ds_pipeline_s {
  std::shared_ptr<const rt::Pipeline> pipeline;
  ds_bundle_s bundle; ///< a copy for the queries (the pipeline keeps its context alive)
};

namespace {

thread_local std::string lastError;

/// The longest message kept: errors quote their input (a diagnostic prints its source line),
/// and a 50 MB one-line IR made a 157 MB message.
constexpr size_t kMaxErrorBytes = 16384;

ds_status fail(ds_status status, std::string message) {
  if (message.size() > kMaxErrorBytes) {
    const size_t cut = message.size() - kMaxErrorBytes;
    message.resize(kMaxErrorBytes);
    message += "... (" + std::to_string(cut) + " more bytes)";
  }
  lastError = std::move(message);
  return status;
}
ds_status fromStatus(const rt::Status &st, ds_status compileOrArg = DS_ERROR_INVALID_ARGUMENT) {
  switch (st.code()) {
  case rt::ErrorCode::Ok:
    return DS_OK;
  case rt::ErrorCode::DriverNotFound:
    return fail(DS_ERROR_NO_DRIVER, st.message());
  case rt::ErrorCode::NoDevice:
    return fail(DS_ERROR_NO_DEVICE, st.message());
  case rt::ErrorCode::Driver:
    return fail(DS_ERROR_DRIVER, st.message());
  default:
    return fail(compileOrArg, st.message());
  }
}
ds_status ok() {
  lastError.clear();
  return DS_OK;
}

#define DS_CHECK_PTR(p, what)                                                                      \
  if (!(p))                                                                                        \
  return fail(DS_ERROR_INVALID_ARGUMENT, std::string(what) + " is null")

char *copyString(const std::string &s) {
  char *out = static_cast<char *>(std::malloc(s.size() + 1));
  if (out)
    std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

/// "a=1,b=2" -> {a: "1", b: "2"}; empty pairs are skipped.
rt::Expected<std::map<std::string, std::string>> parseParams(const char *params) {
  std::map<std::string, std::string> out;
  std::string text = params ? params : "";
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos)
      end = text.size();
    std::string pair = text.substr(pos, end - pos);
    pos = end + 1;
    size_t a = pair.find_first_not_of(" \t"), z = pair.find_last_not_of(" \t");
    if (a == std::string::npos)
      continue;
    pair = pair.substr(a, z - a + 1);
    size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0)
      return rt::Status::error("spec parameter '" + pair + "' is not name=value");
    std::string name = pair.substr(0, eq), value = pair.substr(eq + 1);
    if (out.count(name))
      return rt::Status::error("spec parameter '" + name + "' is given twice");
    out[name] = value;
  }
  return out;
}

/// The fields of one spec struct by name: each setter parses its value or names the problem.
class Fields {
public:
  void i64(const char *name, int64_t &field) {
    setters[name] = [&field, name](const std::string &v) -> rt::Status {
      char *end = nullptr;
      errno = 0;
      long long x = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end || errno)
        return rt::Status::error(std::string("spec field '") + name + "' must be an integer, got '" + v + "'");
      field = x;
      return rt::Status::success();
    };
  }
  void f32(const char *name, float &field) {
    setters[name] = [&field, name](const std::string &v) -> rt::Status {
      char *end = nullptr;
      errno = 0;
      float x = std::strtof(v.c_str(), &end);
      if (v.empty() || *end)
        return rt::Status::error(std::string("spec field '") + name + "' must be a number, got '" + v + "'");
      // Past a float's range either way: 1e-50 read as 0 meant the field's default (a scale of
      // 0 is 1/sqrt(headDim)), silently.
      if (errno == ERANGE)
        return rt::Status::error(std::string("spec field '") + name + "' is outside a 32-bit float's range, got '" +
                                 v + "'");
      field = x;
      return rt::Status::success();
    };
  }
  void flag(const char *name, bool &field) {
    setters[name] = [&field, name](const std::string &v) -> rt::Status {
      if (v != "0" && v != "1" && v != "true" && v != "false")
        return rt::Status::error(std::string("spec field '") + name + "' must be 0 or 1, got '" + v + "'");
      field = v == "1" || v == "true";
      return rt::Status::success();
    };
  }
  void dtype(jit::DataType &field) {
    setters["dtype"] = [&field](const std::string &v) -> rt::Status {
      if (v != "bf16" && v != "f16")
        return rt::Status::error("spec field 'dtype' must be bf16 or f16, got '" + v + "'");
      field = v == "bf16" ? jit::DataType::BF16 : jit::DataType::F16;
      return rt::Status::success();
    };
  }
  void labelFormat(jit::LabelFormat &field) {
    setters["labelFormat"] = [&field](const std::string &v) -> rt::Status {
      if (v != "same" && v != "fp8" && v != "int4")
        return rt::Status::error("spec field 'labelFormat' must be same, fp8 or int4, got '" + v + "'");
      field = v == "fp8" ? jit::LabelFormat::FP8 : v == "int4" ? jit::LabelFormat::Int4
                                                                : jit::LabelFormat::Same;
      return rt::Status::success();
    };
  }
  rt::Status apply(const std::map<std::string, std::string> &params, const std::string &family) {
    for (const auto &[name, value] : params) {
      auto it = setters.find(name);
      if (it == setters.end()) {
        std::string known;
        for (const auto &[n, s] : setters)
          known += (known.empty() ? "" : ", ") + n;
        return rt::Status::error("spec '" + family + "' has no field '" + name + "' (fields: " +
                                 known + ")");
      }
      if (rt::Status st = it->second(value); !st.ok())
        return st;
    }
    return rt::Status::success();
  }

private:
  std::map<std::string, std::function<rt::Status(const std::string &)>> setters;
};

rt::Expected<std::string> specIR(const char *familyC, const char *params) {
  if (!familyC)
    return rt::Status::error("family is null");
  const std::string family = familyC;
  auto parsed = parseParams(params);
  if (!parsed)
    return parsed.status();
  Fields f;
  auto run = [&](auto &spec, auto irOf) -> rt::Expected<std::string> {
    if (rt::Status st = f.apply(*parsed, family); !st.ok())
      return st;
    return irOf(spec);
  };
  if (family == "double_sparsity") {
    jit::DoubleSparsitySpec s;
    f.i64("heads", s.heads), f.i64("kvHeads", s.kvHeads), f.i64("headDim", s.headDim);
    f.i64("labelDim", s.labelDim), f.i64("k", s.k), f.i64("pageSize", s.pageSize);
    f.i64("denseBelow", s.denseBelow), f.f32("scale", s.scale), f.f32("softCap", s.softCap);
    f.flag("sharedSelection", s.sharedSelection), f.dtype(s.dtype), f.labelFormat(s.labelFormat);
    return run(s, jit::doubleSparsityIR);
  }
  if (family == "dense_decode") {
    jit::DenseDecodeSpec s;
    f.i64("heads", s.heads), f.i64("kvHeads", s.kvHeads), f.i64("headDim", s.headDim);
    f.i64("pageSize", s.pageSize), f.f32("scale", s.scale), f.f32("softCap", s.softCap);
    f.dtype(s.dtype);
    return run(s, jit::denseDecodeIR);
  }
  if (family == "label_append") {
    jit::LabelAppendSpec s;
    f.i64("kvHeads", s.kvHeads), f.i64("headDim", s.headDim), f.i64("labelDim", s.labelDim);
    f.dtype(s.dtype), f.labelFormat(s.labelFormat);
    return run(s, jit::labelAppendIR);
  }
  if (family == "linear_attn_decode") {
    jit::LinearAttnDecodeSpec s;
    f.i64("heads", s.heads), f.i64("keyDim", s.keyDim), f.i64("valueDim", s.valueDim);
    f.dtype(s.dtype);
    return run(s, jit::linearAttnDecodeIR);
  }
  if (family == "linear_attn_prefill") {
    jit::LinearAttnPrefillSpec s;
    f.i64("heads", s.heads), f.i64("keyDim", s.keyDim), f.i64("valueDim", s.valueDim);
    f.i64("chunkSize", s.chunkSize), f.flag("keepIntermediate", s.keepIntermediate);
    f.dtype(s.dtype);
    return run(s, jit::linearAttnPrefillIR);
  }
  if (family == "quest") {
    jit::QuestSpec s;
    f.i64("heads", s.heads), f.i64("kvHeads", s.kvHeads), f.i64("headDim", s.headDim);
    f.i64("pageSize", s.pageSize), f.i64("tokenBudget", s.tokenBudget);
    f.i64("denseBelow", s.denseBelow), f.f32("scale", s.scale), f.f32("softCap", s.softCap);
    f.flag("sharedSelection", s.sharedSelection), f.dtype(s.dtype);
    return run(s, jit::questIR);
  }
  if (family == "quest_summary") {
    jit::QuestSummarySpec s;
    f.i64("kvHeads", s.kvHeads), f.i64("headDim", s.headDim), f.i64("pageSize", s.pageSize);
    f.flag("fromCache", s.fromCache), f.dtype(s.dtype);
    return run(s, jit::questSummaryIR);
  }
  if (family == "vattention") {
    jit::VAttentionSpec s;
    f.i64("heads", s.heads), f.i64("kvHeads", s.kvHeads), f.i64("headDim", s.headDim);
    f.i64("labelDim", s.labelDim), f.i64("pageSize", s.pageSize), f.i64("sinks", s.sinks);
    f.i64("window", s.window), f.i64("k", s.k), f.i64("numSamples", s.numSamples);
    f.f32("scale", s.scale), f.f32("softCap", s.softCap);
    f.flag("sharedSelection", s.sharedSelection), f.dtype(s.dtype);
    return run(s, jit::vattentionIR);
  }
  if (family == "twilight") {
    jit::TwilightSpec s;
    f.i64("heads", s.heads), f.i64("kvHeads", s.kvHeads), f.i64("headDim", s.headDim);
    f.i64("labelDim", s.labelDim), f.i64("pageSize", s.pageSize);
    f.i64("candidates", s.candidates), f.f32("topP", s.topP), f.f32("scale", s.scale);
    f.f32("softCap", s.softCap), f.flag("sharedSelection", s.sharedSelection);
    f.flag("int4Estimate", s.int4Estimate), f.flag("questCandidates", s.questCandidates);
    f.dtype(s.dtype);
    return run(s, jit::twilightIR);
  }
  if (family == "int4_append") {
    jit::Int4AppendSpec s;
    f.i64("kvHeads", s.kvHeads), f.i64("headDim", s.headDim), f.dtype(s.dtype);
    return run(s, jit::int4AppendIR);
  }
  return rt::Status::error("unknown spec family '" + family +
                           "' (double_sparsity, dense_decode, label_append, linear_attn_decode, "
                           "linear_attn_prefill, quest, quest_summary, vattention, twilight, "
                           "int4_append)");
}

void describe(ds_bundle_s &b) {
  b.dims.clear();
  for (const rt::ArgSpec &a : b.bundle.args) {
    std::vector<std::string> d;
    for (const rt::Expr &e : a.dims)
      d.push_back(e.text());
    b.dims.push_back(std::move(d));
  }
}

/// Splits "a,b,..." into config overrides, each parsed (the first bad one is the error).
rt::Expected<std::vector<std::string>> configOverrides(const char *config) {
  std::vector<std::string> out;
  if (!config)
    return out;
  llvm::SmallVector<llvm::StringRef> parts;
  llvm::StringRef(config).split(parts, ',', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef part : parts)
    out.push_back(part.trim().str());
  if (auto error = mlir::ds::configOverridesError(out))
    return rt::Status::error(*error);
  return out;
}

ds_status compileTo(const rt::Expected<std::string> &ir, const char *chip, int32_t smCount,
                    ds_bundle *out, const char *config = nullptr) {
  if (!ir)
    return fromStatus(ir.status());
  if (!chip)
    return fail(DS_ERROR_INVALID_ARGUMENT, "chip is null");
  if (smCount < 1 || smCount > 1024)
    return fail(DS_ERROR_INVALID_ARGUMENT,
                "sm_count must be in [1, 1024], got " + std::to_string(smCount));
  if (!mlir::ds::lookupChip(chip))
    return fail(DS_ERROR_INVALID_ARGUMENT, "chip '" + std::string(chip).substr(0, 64) +
                                               "' is not supported (supported: " +
                                               mlir::ds::supportedChipList() + ")");
  auto overrides = configOverrides(config);
  if (!overrides)
    return fromStatus(overrides.status());
  jit::Target target{chip, smCount};
  target.configOverrides = std::move(*overrides);
  auto bundle = jit::compileSource(*ir, target);
  if (!bundle)
    return fromStatus(bundle.status(), DS_ERROR_COMPILE);
  auto *b = new ds_bundle_s{std::move(*bundle), {}};
  describe(*b);
  *out = b;
  return ok();
}

rt::Expected<std::vector<rt::TensorArg>> tensors(const ds_tensor *args, int32_t n,
                                                 const rt::Bundle &bundle) {
  if (n < 0 || (n > 0 && !args))
    return rt::Status::error("args is null or n is negative");
  if (static_cast<size_t>(n) != bundle.args.size())
    return rt::Status::error("the pipeline takes " + std::to_string(bundle.args.size()) +
                             " arguments, got " + std::to_string(n));
  std::vector<rt::TensorArg> out;
  for (int32_t i = 0; i < n; ++i) {
    if (args[i].rank < 0 || args[i].rank > DS_MAX_RANK)
      return rt::Status::error("argument '" + bundle.args[i].name + "' has rank " +
                               std::to_string(args[i].rank) + " (at most 8)");
    out.push_back(rt::TensorArg(args[i].ptr, rt::Span<const int64_t>(args[i].shape, args[i].rank)));
  }
  return out;
}

ds_status pipelineFrom(ds_context ctx, const rt::Expected<std::string> &ir, ds_pipeline *out) {
  if (!ir)
    return fromStatus(ir.status());
  auto p = ctx->jit->fromSource(*ir);
  if (!p)
    return fromStatus(p.status(), DS_ERROR_COMPILE);
  auto *h = new ds_pipeline_s{*p, {(*p)->bundle(), {}}};
  describe(h->bundle);
  *out = h;
  return ok();
}

} // namespace

extern "C" {

const char *ds_last_error(void) { return lastError.c_str(); }

const char *ds_version(void) {
  static const std::string id = jit::DiskCache::compilerId();
  return id.c_str();
}

ds_status ds_spec_ir(const char *family, const char *params, char **ir) {
  DS_CHECK_PTR(ir, "ir");
  auto text = specIR(family, params);
  if (!text)
    return fromStatus(text.status());
  *ir = copyString(*text);
  return *ir ? ok() : fail(DS_ERROR_INTERNAL, "out of memory");
}

void ds_free_string(char *text) { std::free(text); }

ds_status ds_compile_ir(const char *ir, const char *chip, int32_t sm_count, ds_bundle *bundle) {
  DS_CHECK_PTR(ir, "ir");
  DS_CHECK_PTR(bundle, "bundle");
  return compileTo(std::string(ir), chip, sm_count, bundle);
}

ds_status ds_compile_ir_config(const char *ir, const char *chip, int32_t sm_count,
                               const char *config, ds_bundle *bundle) {
  DS_CHECK_PTR(ir, "ir");
  DS_CHECK_PTR(bundle, "bundle");
  return compileTo(std::string(ir), chip, sm_count, bundle, config);
}

ds_status ds_compile_spec(const char *family, const char *params, const char *chip,
                          int32_t sm_count, ds_bundle *bundle) {
  DS_CHECK_PTR(bundle, "bundle");
  return compileTo(specIR(family, params), chip, sm_count, bundle);
}

void ds_bundle_release(ds_bundle bundle) { delete bundle; }

int32_t ds_bundle_num_args(ds_bundle bundle) {
  return bundle ? static_cast<int32_t>(bundle->bundle.args.size()) : -1;
}

ds_status ds_bundle_arg(ds_bundle bundle, int32_t i, ds_arg_info *info) {
  DS_CHECK_PTR(bundle, "bundle");
  DS_CHECK_PTR(info, "info");
  if (i < 0 || static_cast<size_t>(i) >= bundle->bundle.args.size())
    return fail(DS_ERROR_INVALID_ARGUMENT,
                "argument index " + std::to_string(i) + " is out of range [0, " +
                    std::to_string(bundle->bundle.args.size()) + ")");
  const rt::ArgSpec &a = bundle->bundle.args[i];
  *info = ds_arg_info{};
  info->name = a.name.c_str();
  info->role = static_cast<ds_role>(a.role);
  info->dtype = static_cast<ds_dtype>(a.dtype);
  info->rank = static_cast<int32_t>(a.dims.size());
  for (size_t d = 0; d < a.dims.size() && d < DS_MAX_RANK; ++d)
    info->dims[d] = bundle->dims[i][d].c_str();
  info->align = a.align;
  return ok();
}

ds_status ds_bundle_serialize(ds_bundle bundle, char **text) {
  DS_CHECK_PTR(bundle, "bundle");
  DS_CHECK_PTR(text, "text");
  *text = copyString(bundle->bundle.serialize());
  return *text ? ok() : fail(DS_ERROR_INTERNAL, "out of memory");
}

ds_status ds_bundle_serialize_n(ds_bundle bundle, char **data, size_t *size) {
  DS_CHECK_PTR(bundle, "bundle");
  DS_CHECK_PTR(data, "data");
  DS_CHECK_PTR(size, "size");
  const std::string bytes = bundle->bundle.serialize();
  *data = copyString(bytes);
  if (!*data)
    return fail(DS_ERROR_INTERNAL, "out of memory");
  *size = bytes.size();
  return ok();
}

ds_status ds_context_open(int32_t ordinal, ds_context *context) {
  DS_CHECK_PTR(context, "context");
  auto ctx = rt::Context::open(ordinal);
  if (!ctx)
    return fromStatus(ctx.status());
  auto *h = new ds_context_s{std::move(*ctx), nullptr};
  h->jit = std::make_unique<jit::JIT>(h->context);
  *context = h;
  return ok();
}

void ds_context_release(ds_context context) { delete context; }

ds_status ds_context_set_config(ds_context context, const char *config) {
  DS_CHECK_PTR(context, "context");
  auto overrides = configOverrides(config);
  if (!overrides)
    return fromStatus(overrides.status());
  context->jit->setConfigOverrides(std::move(*overrides));
  return ok();
}

ds_status ds_pipeline_from_ir(ds_context context, const char *ir, ds_pipeline *pipeline) {
  DS_CHECK_PTR(context, "context");
  DS_CHECK_PTR(ir, "ir");
  DS_CHECK_PTR(pipeline, "pipeline");
  return pipelineFrom(context, std::string(ir), pipeline);
}

ds_status ds_pipeline_from_spec(ds_context context, const char *family, const char *params,
                                ds_pipeline *pipeline) {
  DS_CHECK_PTR(context, "context");
  DS_CHECK_PTR(pipeline, "pipeline");
  return pipelineFrom(context, specIR(family, params), pipeline);
}

void ds_pipeline_release(ds_pipeline pipeline) { delete pipeline; }

ds_bundle ds_pipeline_bundle(ds_pipeline pipeline) {
  return pipeline ? &pipeline->bundle : nullptr;
}

ds_status ds_pipeline_workspace_bytes(ds_pipeline pipeline, const ds_tensor *args, int32_t n,
                                      size_t *bytes) {
  DS_CHECK_PTR(pipeline, "pipeline");
  DS_CHECK_PTR(bytes, "bytes");
  auto t = tensors(args, n, pipeline->pipeline->bundle());
  if (!t)
    return fromStatus(t.status());
  auto b = pipeline->pipeline->workspaceBytes(*t);
  if (!b)
    return fromStatus(b.status());
  *bytes = *b;
  return ok();
}

ds_status ds_pipeline_launch(ds_pipeline pipeline, const ds_tensor *args, int32_t n,
                             uint64_t workspace, size_t workspace_bytes, void *stream) {
  DS_CHECK_PTR(pipeline, "pipeline");
  auto t = tensors(args, n, pipeline->pipeline->bundle());
  if (!t)
    return fromStatus(t.status());
  // The primary context, current on this thread (a cheap call; the caller's thread may never
  // have touched the device through ds).
  if (rt::Status cur = pipeline->pipeline->context().makeCurrent(); !cur.ok())
    return fromStatus(cur);
  rt::Status st = pipeline->pipeline->launch(*t, rt::Workspace{workspace, workspace_bytes},
                                             static_cast<rt::CUstream>(stream));
  return st.ok() ? ok() : fromStatus(st);
}

} // extern "C"
