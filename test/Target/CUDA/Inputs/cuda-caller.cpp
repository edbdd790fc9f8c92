// A plain C++ program calling a gatec CUDA kernel through its generated
// header. Built against cuda.h and linked with -lcuda; run against the
// toolkit's stub driver (no GPU), every call must come back with an error
// status and a message, never a crash.
#include "llama3_swiglu_ffn.h"

#include <cstdint>
#include <cstdio>

namespace k = gatec_kernels::llama3_swiglu_ffn_cuda;

template <typename T> static T *fakeDevicePointer(uintptr_t address) {
  return reinterpret_cast<T *>(address);
}

static void report(const char *what, const k::Status &status) {
  std::printf("%s: %s: %s\n", what, status.name(), status.message().c_str());
}

int main() {
  const int64_t tokens = 3;
  k::TensorView<const gatec_bf16, 2> x{fakeDevicePointer<const gatec_bf16>(0x10000),
                                       {tokens, 4096}};
  k::TensorView<const gatec_bf16, 2> wGate{
      fakeDevicePointer<const gatec_bf16>(0x20000), {4096, 14336}};
  k::TensorView<const gatec_bf16, 2> wUp{
      fakeDevicePointer<const gatec_bf16>(0x30000), {4096, 14336}};
  k::TensorView<const gatec_bf16, 2> wDown{
      fakeDevicePointer<const gatec_bf16>(0x40000), {14336, 4096}};
  k::TensorView<gatec_bf16, 2> y{fakeDevicePointer<gatec_bf16>(0x50000),
                                 {tokens, 4096}};

  k::TensorView<const gatec_bf16, 2> wrongShape = wGate;
  wrongShape.shape[1] = 1000;
  report("shape", k::llama3_8b_ffn(x, wrongShape, wUp, wDown, y, nullptr));

  k::TensorView<const gatec_bf16, 2> misaligned = x;
  misaligned.data = fakeDevicePointer<const gatec_bf16>(0x10002);
  report("align", k::llama3_8b_ffn(misaligned, wGate, wUp, wDown, y, nullptr));

  report("driver", k::llama3_8b_ffn(x, wGate, wUp, wDown, y, nullptr));
  return 0;
}
