/* ds C API: compile ds IR or a pipeline spec into GPU kernels and launch them.
 *
 * Every call returns a ds_status; on failure ds_last_error() holds a message naming what was
 * wrong (the field, the argument, the missing driver), valid until the next ds call on the same
 * thread. Handles are opaque and reference counted internally: release each exactly once.
 * Compile-only calls (ds_compile_*, ds_bundle_*) need no GPU and no CUDA driver.
 *
 *   ds_context ctx;  ds_pipeline p;
 *   if (ds_context_open(0, &ctx) != DS_OK) puts(ds_last_error());
 *   ds_pipeline_from_spec(ctx, "double_sparsity", "heads=32,kvHeads=8,k=1024,dtype=bf16", &p);
 *   ds_tensor args[9] = {...};               // device pointers and shapes, in argument order
 *   size_t ws;  ds_pipeline_workspace_bytes(p, args, 9, &ws);
 *   ds_pipeline_launch(p, args, 9, workspace, ws, stream);   // no allocation, no host sync
 */
#ifndef DS_DS_H
#define DS_DS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define DS_API __attribute__((visibility("default")))
#else
#define DS_API
#endif

typedef enum ds_status {
  DS_OK = 0,
  DS_ERROR_INVALID_ARGUMENT = 1, /* a bad spec field, shape, argument or handle */
  DS_ERROR_COMPILE = 2,          /* the IR does not parse, verify or lower (diagnostics in the message) */
  DS_ERROR_NO_DRIVER = 3,        /* libcuda could not be loaded */
  DS_ERROR_NO_DEVICE = 4,        /* no (such) CUDA device */
  DS_ERROR_DRIVER = 5,           /* a CUDA driver call failed */
  DS_ERROR_INTERNAL = 6
} ds_status;

typedef enum ds_dtype {
  DS_BF16 = 0, DS_F16 = 1, DS_F32 = 2, DS_I32 = 3, DS_I64 = 4, DS_I8 = 5, DS_U8 = 6,
  DS_F8E4M3 = 7 /* fp8 e4m3 (finite; torch.float8_e4m3fn): low-bit label caches */
} ds_dtype;

typedef enum ds_role { DS_IN = 0, DS_OUT = 1, DS_INOUT = 2 } ds_role;

#define DS_MAX_RANK 8

/* A tensor argument: a device pointer and its shape (row-major, contiguous). */
typedef struct ds_tensor {
  uint64_t ptr;
  int32_t rank;
  int64_t shape[DS_MAX_RANK];
} ds_tensor;

/* A pipeline argument as compiled: `dims[i]` is an expression over the other arguments' dims
 * ("128", "q_d0", "(page_table_d1)*16"); `align` the byte alignment its pointer needs. */
typedef struct ds_arg_info {
  const char *name;
  ds_role role;
  ds_dtype dtype;
  int32_t rank;
  const char *dims[DS_MAX_RANK];
  int64_t align;
} ds_arg_info;

typedef struct ds_bundle_s *ds_bundle;
typedef struct ds_context_s *ds_context;
typedef struct ds_pipeline_s *ds_pipeline;

/* The message of this thread's last failed call ("" if none). */
DS_API const char *ds_last_error(void);
/* The compiler's identity (a hash of its sources: what the JIT disk cache is keyed by). */
DS_API const char *ds_version(void);

/* The ds IR of a pipeline spec: `family` is double_sparsity, dense_decode, label_append,
 * linear_attn_decode, linear_attn_prefill, quest, quest_summary, vattention, twilight or
 * int4_append; `params` "name=value" pairs separated by commas, named as the fields of the C++
 * spec structs (codegen/JIT.h), dtype=bf16|f16, labelFormat=same|fp8|int4 (double_sparsity, label_append),
 * booleans 0|1. Unknown names are refused.
 * Free the text with ds_free_string. */
DS_API ds_status ds_spec_ir(const char *family, const char *params, char **ir);
DS_API void ds_free_string(char *text);

/* Compile-only: MLIR text of ds ops for a chip ("sm_80" .. "sm_120a") with `sm_count` SMs. */
DS_API ds_status ds_compile_ir(const char *ir, const char *chip, int32_t sm_count, ds_bundle *bundle);
DS_API ds_status ds_compile_spec(const char *family, const char *params, const char *chip,
                          int32_t sm_count, ds_bundle *bundle);
/* ds_compile_ir with config overrides: "<op>.<field>=<value>" entries separated by commas, e.g.
 * "topp.warps=16,sparse_decode.splits=8" (ds-compile's --config): each sets that field of the
 * config chosen for every op of that name, and is checked like any config (NULL or "": none). */
DS_API ds_status ds_compile_ir_config(const char *ir, const char *chip, int32_t sm_count,
                               const char *config, ds_bundle *bundle);
DS_API void ds_bundle_release(ds_bundle bundle);
DS_API int32_t ds_bundle_num_args(ds_bundle bundle);
/* Argument i; the strings live as long as the bundle. */
DS_API ds_status ds_bundle_arg(ds_bundle bundle, int32_t i, ds_arg_info *info);
/* The bundle file (docs/bundle.md), NUL-terminated; free with ds_free_string. A bundle that
 * holds a cubin has NUL bytes inside it: read it with ds_bundle_serialize_n's size. */
DS_API ds_status ds_bundle_serialize(ds_bundle bundle, char **text);
/* The same bytes and their count (`*size`, the terminating NUL not counted). */
DS_API ds_status ds_bundle_serialize_n(ds_bundle bundle, char **data, size_t *size);

/* A CUDA context on device `ordinal` (the primary context). */
DS_API ds_status ds_context_open(int32_t ordinal, ds_context *context);
DS_API void ds_context_release(ds_context context);
/* Config overrides (as ds_compile_ir_config) for the context's later compiles; NULL or "" clears
 * them. Each entry is parsed first: a malformed one is refused and the setting stays as it was.
 * Part of the JIT cache key; a compile already running on another thread keeps the setting it
 * started with. */
DS_API ds_status ds_context_set_config(ds_context context, const char *config);

/* Compiled for the context's device through the JIT (in-memory and disk cache), loaded. */
DS_API ds_status ds_pipeline_from_ir(ds_context context, const char *ir, ds_pipeline *pipeline);
DS_API ds_status ds_pipeline_from_spec(ds_context context, const char *family, const char *params,
                                ds_pipeline *pipeline);
DS_API void ds_pipeline_release(ds_pipeline pipeline);
/* The pipeline's bundle (borrowed: valid while the pipeline is). */
DS_API ds_bundle ds_pipeline_bundle(ds_pipeline pipeline);
/* Workspace bytes for these argument shapes (pointers ignored). */
DS_API ds_status ds_pipeline_workspace_bytes(ds_pipeline pipeline, const ds_tensor *args, int32_t n,
                                      size_t *bytes);
/* Launches on `stream` (a CUstream; NULL: the legacy default stream). Checks every shape and
 * alignment first (tensors 16-byte aligned; a needed workspace non-null and 256-byte aligned, as
 * cuMemAlloc's are); issues only kernel launches (CUDA-graph capturable). */
DS_API ds_status ds_pipeline_launch(ds_pipeline pipeline, const ds_tensor *args, int32_t n,
                             uint64_t workspace, size_t workspace_bytes, void *stream);

#ifdef __cplusplus
}
#endif

#endif /* DS_DS_H */
