// Uses ds::runtime from the installed package: parses and validates a bundle, then opens the
// CUDA driver (here without a GPU: the error must say so, not crash).
#include "runtime/Bundle.h"
#include "runtime/Device.h"

#include <cstdio>

int main() {
  const char *text = "dsbundle 1\n"
                     "target sm_90\n"
                     "arg x inout f32 align=16 4\n"
                     "workspace 0\n";
  auto bundle = ds::rt::Bundle::parse(text);
  if (!bundle.ok()) {
    std::printf("parse failed: %s\n", bundle.message().c_str());
    return 1;
  }
  std::printf("bundle: target %s, %zu argument(s)\n", bundle->target.c_str(), bundle->args.size());
  auto ctx = ds::rt::Context::open(0);
  std::printf("context: %s\n", ctx.ok() ? "open" : ctx.message().c_str());
  return 0;
}
