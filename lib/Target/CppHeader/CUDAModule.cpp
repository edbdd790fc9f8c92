//===- CUDAModule.cpp - The module loader of CUDA headers -----------------===//
//
// Part of gatec. Prints what a CUDA header holds once for all its kernels: the
// CUDA helpers (Runtime/gatec_cuda_runtime.h), the kernels' PTX in string
// literals and functions(), which loads it once per CUDA context and gives the
// launch functions their CUfunctions.
//
//===----------------------------------------------------------------------===//

#include "Target/CppHeader/CUDALaunch.h"
#include "Target/CppHeader/HeaderPrinter.h"

#include "llvm/ADT/STLExtras.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace mlir;

/// The C string literal of `text`, one source line per line of text.
static std::string cStringLiteral(StringRef text, unsigned indent) {
  std::string out;
  std::string pad(indent, ' ');
  if (text.empty())
    return pad + "\"\"";
  SmallVector<StringRef> lines;
  text.split(lines, '\n');
  for (auto [i, line] : llvm::enumerate(lines)) {
    if (i + 1 == lines.size() && line.empty())
      break;
    out += pad + "\"";
    for (char c : line) {
      if (c == '\\' || c == '"')
        out += '\\';
      if (c == '\t') {
        out += "\\t";
        continue;
      }
      out += c;
    }
    out += i + 1 < lines.size() ? "\\n\"\n" : "\"\n";
  }
  if (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

/// CUDA helpers shared by every generated CUDA header.
constexpr const char *kCUDARuntime =
#include "GatecCUDARuntime.inc"
    ;

void gatec::cpp_header::printCUDAModule(gatec::SourcePrinter &p,
                                        const gatec::CUDAHostCode &cuda,
                                        StringRef ptx, StringRef cudaDetail) {
  p.raw(kCUDARuntime);
  p.blank();
  p.line("namespace {} {{", cudaDetail);
  // In pieces of at most 32 KiB: C++ compilers need only accept string
  // literals of 64 KiB.
  std::vector<std::string> pieces;
  for (size_t begin = 0; begin < ptx.size();) {
    size_t end = std::min(ptx.size(), begin + 32768);
    if (end < ptx.size()) {
      size_t newline = ptx.rfind('\n', end - 1);
      if (newline != StringRef::npos && newline >= begin)
        end = newline + 1;
    }
    pieces.push_back(cStringLiteral(ptx.slice(begin, end), 4));
    begin = end;
  }
  if (pieces.empty())
    pieces.push_back(cStringLiteral("", 4));
  p.line("/// The kernels' PTX (gatec-cuda-pipeline, gpu-module-to-binary), "
         "in pieces.");
  p.line("inline const char *const kPTXPieces[] = {{");
  for (auto [i, piece] : llvm::enumerate(pieces)) {
    p.raw(piece);
    p.raw(i + 1 < pieces.size() ? ",\n" : "\n");
  }
  p.line("}};");
  std::vector<std::string> quoted;
  for (const std::string &name : cuda.kernelNames)
    quoted.push_back("\"" + name + "\"");
  size_t count = std::max<size_t>(cuda.kernelNames.size(), 1);
  if (quoted.empty())
    quoted.push_back("nullptr");
  p.line("inline const char *const kKernels[{}] = {{{}}};", count,
         fmt::join(quoted, ", "));
  p.line("inline constexpr int kNumKernels = {};", cuda.kernelNames.size());
  p.blank();
  p.raw(
      R"cuda(/// The module's functions in the current CUDA context, loading the PTX on
/// first use in each context (the driver JIT-compiles it for the device).
inline int functions(CUfunction *out, gatec_error *err) {
  if (kNumKernels == 0)
    return GATEC_OK;
  CUcontext context = nullptr;
  CUresult result = cuCtxGetCurrent(&context);
  if (result != CUDA_SUCCESS)
    return gatec_cuda_fail(err, "gatec", "cuCtxGetCurrent", result);
  if (!context)
    return GATEC_RT_FAIL(err, GATEC_ERR_CUDA,
                         "gatec: no current CUDA context (call cuInit and "
                         "make a context current, e.g. the device's primary "
                         "context)");
  struct Loaded {
    CUcontext context;
    CUmodule module;
    CUfunction functions[kNumKernels > 0 ? kNumKernels : 1];
  };
  static std::mutex mutex;
  static std::vector<Loaded> loaded;
  std::lock_guard<std::mutex> lock(mutex);
  for (const Loaded &entry : loaded)
    if (entry.context == context) {
      for (int i = 0; i < kNumKernels; ++i)
        out[i] = entry.functions[i];
      return GATEC_OK;
    }
  Loaded entry = {};
  entry.context = context;
  char log[4096] = {0};
  CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER,
                            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {log, (void *)(uintptr_t)sizeof(log)};
  std::string ptx;
  for (const char *piece : kPTXPieces)
    ptx += piece;
  result = cuModuleLoadDataEx(&entry.module, ptx.c_str(), 2, options, values);
  if (result != CUDA_SUCCESS) {
    gatec_cuda_fail(err, "gatec", "cuModuleLoadDataEx (PTX JIT)", result);
    return GATEC_RT_FAIL(err, GATEC_ERR_CUDA,
                         "gatec: loading the kernels' PTX failed (%d): %.180s",
                         (int)result, log);
  }
  for (int i = 0; i < kNumKernels; ++i) {
    result = cuModuleGetFunction(&entry.functions[i], entry.module,
                                 kKernels[i]);
    if (result != CUDA_SUCCESS) {
      cuModuleUnload(entry.module);
      return gatec_cuda_fail(err, kKernels[i], "cuModuleGetFunction", result);
    }
    out[i] = entry.functions[i];
  }
  loaded.push_back(entry);
  return GATEC_OK;
}
)cuda");
  p.line("}} // namespace {}", cudaDetail);
  p.blank();
}
