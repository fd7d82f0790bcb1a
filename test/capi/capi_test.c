/* The C API from C (no C++ in this file: the header is plain C), without a GPU: specs to IR,
 * compile-only bundles and their arguments, errors that name the field, and the context call
 * reporting the missing driver or device. Exit status 0 when every check holds. */
#include "ds/ds.h"

#include <stdio.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      ++failures;                                                                                  \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);                     \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fprintf(stderr, "\n");                                                                       \
    }                                                                                              \
  } while (0)

/* Whether `needle` occurs in the first `size` bytes of `data` (which may hold NUL bytes). */
static int contains(const char *data, size_t size, const char *needle) {
  size_t n = strlen(needle);
  for (size_t i = 0; i + n <= size; ++i)
    if (memcmp(data + i, needle, n) == 0)
      return 1;
  return 0;
}

int main(void) {
  char *ir = NULL;
  ds_bundle bundle = NULL;
  ds_arg_info info;
  ds_status st;

  CHECK(strlen(ds_version()) > 0, "empty version");

  /* A spec to IR, and its errors. */
  st = ds_spec_ir("double_sparsity", "heads=32, kvHeads=8, k=1024, dtype=f16, sharedSelection=1", &ir);
  CHECK(st == DS_OK, "%s", ds_last_error());
  CHECK(ir && strstr(ir, "ds.label_score") && strstr(ir, "f16"), "unexpected IR");
  ds_free_string(ir);
  st = ds_spec_ir("double_sparsity", "heads=32,kvHeds=8", &ir);
  CHECK(st == DS_ERROR_INVALID_ARGUMENT && strstr(ds_last_error(), "no field 'kvHeds'"), "%s",
        ds_last_error());
  st = ds_spec_ir("double_sparsity", "k=many", &ir);
  CHECK(st == DS_ERROR_INVALID_ARGUMENT && strstr(ds_last_error(), "'k' must be an integer"),
        "%s", ds_last_error());
  st = ds_spec_ir("double_sparsity", "kvHeads=5", &ir);
  CHECK(st == DS_ERROR_INVALID_ARGUMENT && strstr(ds_last_error(), "'heads'"), "%s",
        ds_last_error());
  st = ds_spec_ir("twilight", "topP=1.5", &ir);
  CHECK(st == DS_ERROR_INVALID_ARGUMENT && strstr(ds_last_error(), "'topP'"), "%s",
        ds_last_error());
  /* 1e-50 is 0 as a float, and a scale of 0 means the default: refused, not read as 0. */
  st = ds_spec_ir("dense_decode", "scale=1e-50", &ir);
  CHECK(st == DS_ERROR_INVALID_ARGUMENT && strstr(ds_last_error(), "'scale' is outside a 32-bit float's range"),
        "%s", ds_last_error());
  st = ds_spec_ir("flash", "", &ir);
  CHECK(st == DS_ERROR_INVALID_ARGUMENT && strstr(ds_last_error(), "unknown spec family 'flash'"),
        "%s", ds_last_error());
  st = ds_spec_ir("quest", "dtype=f32", &ir);
  CHECK(st == DS_ERROR_INVALID_ARGUMENT && strstr(ds_last_error(), "'dtype'"), "%s",
        ds_last_error());

  /* Compile-only: the vAttention step for sm_90, its arguments. */
  st = ds_compile_spec("vattention", "kvHeads=8,sharedSelection=1", "sm_90", 132, &bundle);
  CHECK(st == DS_OK, "%s", ds_last_error());
  if (st == DS_OK) {
    CHECK(ds_bundle_num_args(bundle) == 11, "%d args", ds_bundle_num_args(bundle));
    st = ds_bundle_arg(bundle, 7, &info);
    CHECK(st == DS_OK && strcmp(info.name, "philox") == 0 && info.dtype == DS_I64 &&
              info.role == DS_IN && info.rank == 1 && strcmp(info.dims[0], "2") == 0,
          "philox: %s", ds_last_error());
    st = ds_bundle_arg(bundle, 9, &info);
    CHECK(st == DS_OK && info.role == DS_OUT && info.dtype == DS_I32 && info.rank == 3 &&
              strcmp(info.dims[1], "8") == 0 && strcmp(info.dims[2], "2624") == 0,
          "selected");
    st = ds_bundle_arg(bundle, 11, &info);
    CHECK(st == DS_ERROR_INVALID_ARGUMENT && strstr(ds_last_error(), "out of range"), "%s",
          ds_last_error());
    st = ds_bundle_serialize(bundle, &ir);
    CHECK(st == DS_OK && ir && strstr(ir, "sm_90"), "serialize");
    ds_free_string(ir);
    ds_bundle_release(bundle);
  }

  /* MLIR text: a verifier error comes back as a compile error with its location. */
  st = ds_compile_ir("func.func @f(%s: tensor<?x8x64xf32>, %i: tensor<?x8x64xi32>) -> "
                     "(tensor<?x8x64xi32>, tensor<?x8xi32>) {\n"
                     "  %k, %c = ds.topp %s, %i {top_p = 2.0 : f32} : (tensor<?x8x64xf32>, "
                     "tensor<?x8x64xi32>) -> (tensor<?x8x64xi32>, tensor<?x8xi32>)\n"
                     "  return %k, %c : tensor<?x8x64xi32>, tensor<?x8xi32>\n}\n",
                     "sm_90", 132, &bundle);
  CHECK(st == DS_ERROR_COMPILE && strstr(ds_last_error(), "top_p") &&
            strstr(ds_last_error(), ":2:"),
        "%d %s", (int)st, ds_last_error());
  /* A chip the compiler has not is a bad argument (it was a compile error), named before any IR
   * is read. */
  st = ds_compile_ir("garbage", "sm_70", 132, &bundle);
  CHECK(st == DS_ERROR_INVALID_ARGUMENT && strstr(ds_last_error(), "chip 'sm_70' is not supported"),
        "%d %s", (int)st, ds_last_error());
  /* An error quoting a huge input is clipped (a 1 MB line of IR, quoted by its diagnostic). */
  {
    static char big[1 << 20];
    memset(big, 'x', sizeof big - 1);
    st = ds_compile_ir(big, "sm_90", 132, &bundle);
    CHECK(st == DS_ERROR_COMPILE && strlen(ds_last_error()) < 20000 &&
              strstr(ds_last_error(), " more bytes)"),
          "%d %zu", (int)st, strlen(ds_last_error()));
  }
  /* Config overrides: one sets a field of the chosen config; a malformed one is refused. */
  {
    char *spec = NULL;
    st = ds_spec_ir("label_append", "kvHeads=8", &spec);
    CHECK(st == DS_OK, "%s", ds_last_error());
    st = ds_compile_ir_config(spec, "sm_90", 132, "label_append.warps=4", &bundle);
    CHECK(st == DS_OK, "%s", ds_last_error());
    if (st == DS_OK) {
      size_t size = 0;
      st = ds_bundle_serialize_n(bundle, &ir, &size);
      CHECK(st == DS_OK && contains(ir, size, "block 128 1 1"), "override not applied");
      /* A cubin (where ptxas assembled one) holds NUL bytes: the bytes run past the first. */
      if (contains(ir, size, "image cubin"))
        CHECK(strlen(ir) < size && contains(ir, size, "kernel label_append"), "truncated");
      ds_free_string(ir);
      ds_bundle_release(bundle);
    }
    st = ds_compile_ir_config(spec, "sm_90", 132, "label_append.warps", &bundle);
    CHECK(st == DS_ERROR_INVALID_ARGUMENT && strstr(ds_last_error(), "expected <op>.<field>=<value>"),
          "%d %s", (int)st, ds_last_error());
    st = ds_compile_ir_config(spec, "sm_90", 132, "label_append.vector_width=4", &bundle);
    CHECK(st == DS_ERROR_COMPILE && strstr(ds_last_error(), "vector_width"), "%d %s", (int)st,
          ds_last_error());
    st = ds_context_set_config(NULL, "label_append.warps=4");
    CHECK(st == DS_ERROR_INVALID_ARGUMENT && strstr(ds_last_error(), "context is null"), "%s",
          ds_last_error());
    ds_free_string(spec);
  }
  st = ds_compile_spec("dense_decode", "", "sm_42", 132, &bundle);
  CHECK(st != DS_OK && strstr(ds_last_error(), "sm_42"), "%s", ds_last_error());
  st = ds_compile_spec("dense_decode", "", "sm_90", 0, &bundle);
  CHECK(st == DS_ERROR_INVALID_ARGUMENT && strstr(ds_last_error(), "sm_count"), "%s",
        ds_last_error());
  CHECK(ds_bundle_num_args(NULL) == -1, "null bundle");
  st = ds_bundle_arg(NULL, 0, &info);
  CHECK(st == DS_ERROR_INVALID_ARGUMENT && strstr(ds_last_error(), "bundle is null"), "%s",
        ds_last_error());

  /* A device: without a driver or GPU the call says so; with one it opens. */
  {
    ds_context ctx = NULL;
    st = ds_context_open(0, &ctx);
    if (st == DS_OK) {
      ds_pipeline p = NULL;
      st = ds_pipeline_from_spec(ctx, "label_append", "kvHeads=8", &p);
      CHECK(st == DS_OK, "%s", ds_last_error());
      if (st == DS_OK) {
        CHECK(ds_bundle_num_args(ds_pipeline_bundle(p)) == 4, "label_append args");
        ds_tensor args[3];
        memset(args, 0, sizeof args);
        size_t ws = 0;
        st = ds_pipeline_workspace_bytes(p, args, 3, &ws);
        CHECK(st == DS_ERROR_INVALID_ARGUMENT && strstr(ds_last_error(), "takes 4 arguments"),
              "%s", ds_last_error());
        ds_pipeline_release(p);
      }
      /* The context's config overrides reach its later compiles. */
      st = ds_context_set_config(ctx, "label_append.warps");
      CHECK(st == DS_ERROR_INVALID_ARGUMENT, "%d %s", (int)st, ds_last_error());
      st = ds_context_set_config(ctx, "label_append.warps=4");
      CHECK(st == DS_OK, "%s", ds_last_error());
      st = ds_pipeline_from_spec(ctx, "label_append", "kvHeads=8", &p);
      CHECK(st == DS_OK, "%s", ds_last_error());
      if (st == DS_OK) {
        char *text = NULL;
        size_t size = 0;
        st = ds_bundle_serialize_n(ds_pipeline_bundle(p), &text, &size);
        CHECK(st == DS_OK && contains(text, size, "block 128 1 1"), "context override not applied");
        ds_free_string(text);
        ds_pipeline_release(p);
      }
      ds_context_release(ctx);
    } else {
      CHECK(st == DS_ERROR_NO_DRIVER || st == DS_ERROR_NO_DEVICE, "%d %s", (int)st,
            ds_last_error());
      CHECK(strlen(ds_last_error()) > 0, "no message");
    }
  }
  if (failures)
    fprintf(stderr, "%d checks failed\n", failures);
  else
    printf("all C API checks passed\n");
  return failures ? 1 : 0;
}
