//===- HeaderPrinter.h - Printing a kernel's header code --------*- C++ -*-===//
//
// Part of gatec. Private to the header emitter: the printer of each kernel's C
// and C++ code (Declarations.cpp, EntryPoints.cpp) and of a CUDA header's
// module loader (CUDAModule.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_LIB_TARGET_CPPHEADER_HEADERPRINTER_H
#define GATEC_LIB_TARGET_CPPHEADER_HEADERPRINTER_H

#include "Target/CppHeader/HeaderModel.h"
#include "Target/SourcePrinter.h"

#include <string>
#include <string_view>
#include <utility>

namespace gatec {
struct CUDAHostCode;
} // namespace gatec

namespace gatec::cpp_header {

/// `/// text` lines (or `//` with `marker`), one per line of `text`.
void printComment(gatec::SourcePrinter &p, llvm::StringRef text,
                  std::string_view marker = "///");

/// Prints the code of each kernel of one header; a CUDA header (`cuda` set)
/// launches the kernels instead of calling their C interface.
class HeaderPrinter {
public:
  HeaderPrinter(gatec::SourcePrinter &p, const gatec::CUDAHostCode *cuda,
                std::string cudaDetail)
      : p(p), cuda(cuda), cudaDetail(std::move(cudaDetail)) {}

  void printDescriptor(const ElementType &elem, unsigned rank);
  void printKernelC(const Kernel &k);
  void printKernelCxx(const Kernel &k);

private:
  void printDoc(const Kernel &k);
  void printOutputShapesC(const Kernel &k);
  void printEntryC(const Kernel &k);
  /// The check of the values of a `gate.offsets` or `gate.slots` input
  /// inside the entry point.
  void printValuesCheck(const Kernel &k, const Tensor &t);
  /// Evaluates `expr` into int64 temporaries (needs `gatec_rc` in scope);
  /// returns the C operand holding the value.
  std::string printEval(mlir::gate::DimAttr expr, unsigned &counter);
  /// `T = %lld, F = %lld` and the matching arguments, for messages.
  std::pair<std::string, std::string> symbolValues(mlir::gate::DimAttr expr);

  gatec::SourcePrinter &p;
  /// Set for CUDA headers: the launch code of each kernel.
  const gatec::CUDAHostCode *cuda;
  /// The C++ namespace holding the module loader (CUDA headers).
  std::string cudaDetail;
};

/// The CUDA helpers, the kernels' PTX and the loader of the module in each
/// CUDA context, in the namespace `cudaDetail`.
void printCUDAModule(gatec::SourcePrinter &p, const gatec::CUDAHostCode &cuda,
                     llvm::StringRef ptx, llvm::StringRef cudaDetail);

} // namespace gatec::cpp_header

#endif // GATEC_LIB_TARGET_CPPHEADER_HEADERPRINTER_H
