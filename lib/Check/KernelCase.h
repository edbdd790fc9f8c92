//===- KernelCase.h - A kernel prepared for checking ------------*- C++ -*-===//
//
// Part of gatec. Private to lib/Check: a kernel's arguments in memory as the
// C ABI sees them, a kernel prepared with its inputs and the oracle's
// outputs, and the steps of checkKernels that cross files (preparing the
// kernels, comparing outputs, CUDA case programs).
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_LIB_CHECK_KERNELCASE_H
#define GATEC_LIB_CHECK_KERNELCASE_H

#include "gatec/Check/Check.h"
#include "gatec/Reference/Interpreter.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gatec::detail {

//===----------------------------------------------------------------------===//
// Kernel arguments in memory (KernelBuffers.cpp)
//===----------------------------------------------------------------------===//

/// The parameter that result `r` of the gate-level kernel updates in place
/// (`gate.updates`, a scan's state pool): the kernel writes that
/// parameter's buffer, and no output buffer exists for the result.
std::optional<unsigned> tiedParameter(mlir::func::FuncOp func, unsigned r);

/// The bytes of one element of type `t` (0 for an unknown type).
int64_t byteWidth(mlir::Type t);

/// Stores doubles as the kernel's element type.
void store(mlir::Type t, llvm::ArrayRef<double> values, char *out);

/// Element `i` of `in`, of the kernel's element type `t`, as a double.
double load(mlir::Type t, const char *in, int64_t i);

/// A kernel argument as the C ABI sees it: 64-byte aligned storage (what a
/// real allocator gives vector loads) and the strided memref descriptor
/// {allocated, aligned, offset, sizes[R], strides[R]} pointing at it.
struct Buffer {
  struct Free {
    void operator()(char *p) const { std::free(p); }
  };
  mlir::Type elementType;
  llvm::SmallVector<int64_t> shape;
  std::unique_ptr<char, Free> storage;
  std::vector<int64_t> descriptor;

  char *data() { return storage.get(); }
  /// The bytes of its elements.
  int64_t byteSize() const {
    int64_t bytes = byteWidth(elementType);
    for (int64_t d : shape)
      bytes *= d;
    return bytes;
  }
  void *buildDescriptor() {
    int64_t rank = shape.size();
    descriptor.assign(3 + 2 * rank, 0);
    char *base = data();
    std::memcpy(&descriptor[0], &base, sizeof(char *));
    std::memcpy(&descriptor[1], &base, sizeof(char *));
    int64_t stride = 1;
    for (int64_t i = rank - 1; i >= 0; --i) {
      descriptor[3 + i] = shape[i];
      descriptor[3 + rank + i] = stride;
      stride *= shape[i];
    }
    return descriptor.data();
  }
  static Buffer make(mlir::Type t, llvm::ArrayRef<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    size_t size = (static_cast<size_t>(n * byteWidth(t)) + 63) / 64 * 64;
    auto *p =
        static_cast<char *>(std::aligned_alloc(64, std::max<size_t>(size, 64)));
    std::memset(p, 0, std::max<size_t>(size, 64));
    return Buffer{t,
                  llvm::SmallVector<int64_t>(shape),
                  std::unique_ptr<char, Free>(p),
                  {}};
  }
};

/// A kernel with its inputs and the oracle's outputs.
struct Prepared {
  std::string name;
  std::vector<Buffer> inputs;
  /// Per input: the scale of its random draw, or 0 for given values.
  std::vector<double> randomScales;
  std::vector<std::string> outputNames;
  std::vector<ref::TensorValue> expected;
  /// The gate-level kernel (output tolerances, RouterTies.h). For a kernel
  /// with routers: what the oracle read and how it routed, to
  /// evaluate it again on the kernel's choices where they differ at a near
  /// tie (RouterTies.h).
  mlir::func::FuncOp func;
  std::vector<ref::TensorValue> oracleInputs;
  std::vector<ref::RouterTrace> routers;
};

//===----------------------------------------------------------------------===//
// The steps of checkKernels
//===----------------------------------------------------------------------===//

/// The public kernels of `module` selected by `options`, with their inputs
/// and the oracle's outputs (PrepareKernels.cpp). Each gets a report in
/// `reports`; one that cannot be prepared (or any, without `knownTarget`)
/// gets its error there instead of an entry in the result.
std::vector<Prepared> prepareKernels(mlir::ModuleOp module,
                                     const CheckOptions &options,
                                     bool knownTarget,
                                     std::vector<KernelReport> &reports);

/// The source of the random input generator, for the case programs
/// (PrepareKernels.cpp).
extern const char *const kCaseRandomSource;

/// Compares a kernel's outputs with the oracle's, or with what its routers
/// allow (CompareOutputs.cpp).
std::vector<OutputReport> compareOutputs(const Prepared &p,
                                         std::vector<Buffer> &outputs,
                                         const CheckOptions &options,
                                         std::vector<std::string> &notes);

/// Outputs of a timing-only run: written (no poison left) and finite.
OutputReport checkWritten(const std::string &name,
                          const ref::TensorValue &shape, Buffer &out);

/// Writes one directory per prepared kernel under `root` (CUDACases.cpp).
std::string
writeCUDACases(mlir::ModuleOp module, std::vector<Prepared> &prepared,
               std::vector<KernelReport> &reports, const CheckOptions &options,
               const CheckOptions::CUDAConfig &config, llvm::StringRef root);

/// Runs every prepared kernel on GPU 0 through its case program
/// (CUDACases.cpp). Returns an error that applies to every kernel, or "".
std::string runOnCUDA(mlir::ModuleOp module, std::vector<Prepared> &prepared,
                      std::vector<KernelReport> &reports,
                      const CheckOptions &options,
                      const CheckOptions::CUDAConfig &config);

} // namespace gatec::detail

#endif // GATEC_LIB_CHECK_KERNELCASE_H
