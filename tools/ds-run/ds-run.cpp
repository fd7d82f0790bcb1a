// ds-run: runs a compiled pipeline on tensors read from .npy files and writes its outputs as .npy,
// the way iree-run-module --input=@x.npy does.
//
//   ds-run pipeline.mlir|pipeline.dsb --input=@q.npy --input=@k_cache.npy ... \
//          [--output=@o.npy ...] [--chip=sm_90]
//
// Inputs are given for the `in` and `inout` arguments in argument order; outputs are written for
// the `out` and `inout` arguments in argument order (missing --output: a summary is printed).
// dtypes: bf16 arguments take float32 (rounded to nearest even) or uint16/int16 bit patterns and
// are written back as float32; f16 takes float16 or float32; i32 takes int32 or int64 (checked).
#include "codegen/JIT.h"
#include "runtime/Device.h"
#include "runtime/Pipeline.h"
#include "tools/ds-run/Npy.h"
#include "tools/reference/Reference.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

using namespace ds;

namespace {

[[noreturn]] void die(const std::string &what) {
  std::fprintf(stderr, "ds-run: %s\n", what.c_str());
  std::exit(1);
}

/// The argument's bytes on the device, converted from the .npy dtype.
std::vector<char> convertIn(const npy::Array &a, const rt::ArgSpec &arg) {
  const int64_t n = a.count();
  std::vector<char> out(static_cast<size_t>(n) * rt::dtypeBytes(arg.dtype));
  auto f32 = [&](int64_t i) {
    float v;
    std::memcpy(&v, a.data.data() + i * 4, 4);
    return v;
  };
  auto fail = [&] {
    die("argument '" + arg.name + "' is " + rt::dtypeName(arg.dtype) + ": cannot take a .npy of " +
        a.descr);
  };
  switch (arg.dtype) {
  case rt::DType::BF16:
  case rt::DType::F16: {
    ref::Half t = arg.dtype == rt::DType::BF16 ? ref::Half::BF16 : ref::Half::F16;
    uint16_t *dst = reinterpret_cast<uint16_t *>(out.data());
    if (a.descr == "<f4")
      for (int64_t i = 0; i < n; ++i)
        dst[i] = ref::fromFloat(f32(i), t);
    else if (a.descr == "<u2" || a.descr == "<i2" || (a.descr == "<f2" && t == ref::Half::F16))
      std::memcpy(dst, a.data.data(), out.size());
    else
      fail();
    break;
  }
  case rt::DType::F32:
    if (a.descr != "<f4")
      fail();
    std::memcpy(out.data(), a.data.data(), out.size());
    break;
  case rt::DType::I32:
    if (a.descr == "<i4") {
      std::memcpy(out.data(), a.data.data(), out.size());
    } else if (a.descr == "<i8") {
      for (int64_t i = 0; i < n; ++i) {
        int64_t v;
        std::memcpy(&v, a.data.data() + i * 8, 8);
        if (v < INT32_MIN || v > INT32_MAX)
          die("argument '" + arg.name + "': value " + std::to_string(v) + " does not fit in i32");
        int32_t w = static_cast<int32_t>(v);
        std::memcpy(out.data() + i * 4, &w, 4);
      }
    } else {
      fail();
    }
    break;
  case rt::DType::I64:
    if (a.descr != "<i8")
      fail();
    std::memcpy(out.data(), a.data.data(), out.size());
    break;
  default:
    fail();
  }
  return out;
}

npy::Array convertOut(const std::vector<char> &bytes, const rt::ArgSpec &arg,
                      const std::vector<int64_t> &shape) {
  npy::Array a;
  a.shape = shape;
  int64_t n = a.count();
  if (arg.dtype == rt::DType::BF16) {
    a.descr = "<f4";
    a.data.resize(static_cast<size_t>(n) * 4);
    for (int64_t i = 0; i < n; ++i) {
      uint16_t bits;
      std::memcpy(&bits, bytes.data() + i * 2, 2);
      float v = ref::toFloat(bits, ref::Half::BF16);
      std::memcpy(a.data.data() + i * 4, &v, 4);
    }
    return a;
  }
  a.descr = arg.dtype == rt::DType::F16   ? "<f2"
            : arg.dtype == rt::DType::F32 ? "<f4"
            : arg.dtype == rt::DType::I32 ? "<i4"
                                          : "<i8";
  a.data = bytes;
  return a;
}

} // namespace

int main(int argc, char **argv) {
  std::string path, chip = "sm_90";
  std::vector<std::string> inputs, outputs;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char *flag) {
      std::string v = a.substr(std::strlen(flag));
      return v.size() && v[0] == '@' ? v.substr(1) : v;
    };
    if (a.rfind("--input=", 0) == 0)
      inputs.push_back(value("--input="));
    else if (a.rfind("--output=", 0) == 0)
      outputs.push_back(value("--output="));
    else if (a.rfind("--chip=", 0) == 0)
      chip = a.substr(7);
    else if (a.rfind("--", 0) == 0)
      die("unknown option '" + a + "'");
    else if (path.empty())
      path = a;
    else
      die("more than one pipeline given");
  }
  if (path.empty())
    die("usage: ds-run pipeline.mlir|pipeline.dsb --input=@x.npy ... [--output=@y.npy ...]");

  rt::Expected<rt::Context> ctx = rt::Context::open(0);
  if (!ctx)
    die(ctx.message());
  if (!ctx->makeCurrent().ok())
    die("cannot make the device context current");
  rt::Expected<rt::Bundle> bundle = rt::Status::error("unset");
  if (path.size() > 4 && path.substr(path.size() - 4) == ".dsb") {
    bundle = rt::Bundle::readFile(path);
  } else {
    std::ifstream in(path);
    if (!in)
      die("cannot read '" + path + "'");
    std::stringstream text;
    text << in.rdbuf();
    bundle = jit::compileSource(text.str(), chip, ctx->properties().smCount);
  }
  if (!bundle)
    die(bundle.message());
  const rt::Bundle &b = *bundle;

  // Bind the symbols from the inputs' shapes, then size the outputs.
  std::vector<npy::Array> arrays(b.args.size());
  size_t nextInput = 0;
  for (size_t i = 0; i < b.args.size(); ++i) {
    if (b.args[i].role == rt::ArgRole::Out)
      continue;
    if (nextInput >= inputs.size())
      die("missing --input for argument " + std::to_string(i) + " '" + b.args[i].name + "'");
    auto a = npy::read(inputs[nextInput++]);
    if (!a)
      die(a.message());
    arrays[i] = std::move(*a);
  }
  if (nextInput != inputs.size())
    die(std::to_string(inputs.size()) + " inputs given, the pipeline takes " +
        std::to_string(nextInput));
  std::vector<int64_t> symbols(b.symbols.size());
  for (size_t s = 0; s < b.symbols.size(); ++s) {
    const rt::Symbol &sym = b.symbols[s];
    if (sym.kind == rt::Symbol::Kind::ArgDim) {
      const npy::Array &a = arrays[sym.arg];
      if (static_cast<size_t>(sym.dim) >= a.shape.size())
        die("argument '" + b.args[sym.arg].name + "' needs rank " +
            std::to_string(b.args[sym.arg].dims.size()) + ", got " + std::to_string(a.shape.size()));
      symbols[s] = a.shape[sym.dim];
    } else {
      auto v = sym.expr.eval(symbols);
      if (!v)
        die(v.message());
      symbols[s] = *v;
    }
  }
  std::vector<rt::DeviceBuffer> buffers;
  std::vector<rt::TensorArg> args;
  std::vector<std::vector<int64_t>> shapes(b.args.size());
  for (size_t i = 0; i < b.args.size(); ++i) {
    const rt::ArgSpec &arg = b.args[i];
    std::vector<char> bytes;
    if (arg.role == rt::ArgRole::Out) {
      for (const rt::Expr &e : arg.dims) {
        auto v = e.eval(symbols);
        if (!v)
          die(v.message());
        shapes[i].push_back(*v);
      }
      int64_t n = 1;
      for (int64_t d : shapes[i])
        n *= d;
      bytes.assign(static_cast<size_t>(n) * rt::dtypeBytes(arg.dtype), 0);
    } else {
      shapes[i] = arrays[i].shape;
      bytes = convertIn(arrays[i], arg);
    }
    auto buf = ctx->alloc(std::max<size_t>(bytes.size(), 16));
    if (!buf)
      die(buf.message());
    if (!bytes.empty() && !buf->upload(bytes.data(), bytes.size()).ok())
      die("upload of '" + arg.name + "' failed");
    args.push_back(rt::TensorArg(buf->ptr(), rt::Span<const int64_t>(shapes[i].data(), shapes[i].size())));
    buffers.push_back(std::move(*buf));
  }
  auto pipeline = rt::Pipeline::load(*ctx, b);
  if (!pipeline)
    die(pipeline.message());
  auto ws = rt::OwnedWorkspace::allocate(*pipeline, args);
  if (!ws)
    die(ws.message());
  rt::Status st = pipeline->launch(args, ws->get(), nullptr);
  if (st.ok())
    st = ctx->synchronize();
  if (!st.ok())
    die(st.message());

  size_t nextOutput = 0;
  for (size_t i = 0; i < b.args.size(); ++i) {
    const rt::ArgSpec &arg = b.args[i];
    if (arg.role == rt::ArgRole::In)
      continue;
    int64_t n = 1;
    for (int64_t d : shapes[i])
      n *= d;
    std::vector<char> bytes(static_cast<size_t>(n) * rt::dtypeBytes(arg.dtype));
    if (!bytes.empty() && !buffers[i].download(bytes.data(), bytes.size()).ok())
      die("download of '" + arg.name + "' failed");
    npy::Array a = convertOut(bytes, arg, shapes[i]);
    if (nextOutput < outputs.size()) {
      rt::Status w = npy::write(outputs[nextOutput], a);
      if (!w.ok())
        die(w.message());
      std::printf("%s -> %s\n", arg.name.c_str(), outputs[nextOutput].c_str());
    } else {
      std::printf("%s: %s [", arg.name.c_str(), a.descr.c_str());
      for (size_t d = 0; d < a.shape.size(); ++d)
        std::printf("%s%lld", d ? ", " : "", static_cast<long long>(a.shape[d]));
      std::printf("]\n");
    }
    ++nextOutput;
  }
  return 0;
}
