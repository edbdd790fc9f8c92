//===- Declarations.cpp - C and C++ declarations of kernels ---------------===//
//
// Part of gatec. Prints what a header declares per kernel around its entry
// point: the memref descriptor types, the doc comments, the compiled kernel's C
// interface (or, in a CUDA header, its launch function) and the C++ wrappers in
// the module's namespace.
//
//===----------------------------------------------------------------------===//

#include "Target/CppHeader/CUDALaunch.h"
#include "Target/CppHeader/HeaderPrinter.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace mlir;
using namespace gatec::cpp_header;

/// `/// text` lines (or `//` with `marker`), one per line of `text`.
void gatec::cpp_header::printComment(gatec::SourcePrinter &p, StringRef text,
                                     std::string_view marker) {
  SmallVector<StringRef> lines;
  text.split(lines, '\n');
  for (StringRef l : lines) {
    std::string safe = commentText(l);
    if (safe.empty())
      p.line("{}", marker);
    else
      p.line("{} {}", marker, safe);
  }
}

void HeaderPrinter::printDescriptor(const ElementType &elem, unsigned rank) {
  std::string type = fmt::format("gatec_memref_{}_{}d", elem.dtype, rank);
  std::string guard = llvm::StringRef(type).upper() + "_DEFINED";
  p.line("#ifndef {}", guard);
  p.line("#define {}", guard);
  p.line("/// A rank-{} {} memref descriptor, as the kernels' C interface "
         "takes it.",
         rank, elem.dtype);
  p.line("typedef struct {} {{", type);
  p.indent();
  p.line("{} *allocated;", elem.cType);
  p.line("{} *aligned;", elem.cType);
  p.line("int64_t offset;");
  if (rank > 0) {
    p.line("int64_t sizes[{}];", rank);
    p.line("int64_t strides[{}];", rank);
  }
  p.unindent();
  p.line("}} {};", type);
  p.line("#endif");
  p.blank();
}

void HeaderPrinter::printDoc(const Kernel &k) {
  if (!k.doc.empty()) {
    printComment(p, k.doc);
    p.line("///");
  }
  for (const Tensor &t : k.inputs) {
    std::string note;
    if (t.updatedInPlace)
      note = ", updated in place";
    if (t.slotsPool)
      note = fmt::format(", rows of {}; a negative slot skips its sequence",
                         k.inputs[*t.slotsPool].name);
    p.line("///   {} (input{})", t.signature(), note);
  }
  for (const Tensor &t : k.outputs)
    p.line("///   {} (output)", t.signature());
  if (!k.source.empty())
    printComment(p, fmt::format("Defined at {}.", k.source));
}

void HeaderPrinter::printKernelC(const Kernel &k) {
  p.line("//===--- {} {}===//", k.name,
         std::string(k.name.size() < 64 ? 64 - k.name.size() : 3, '-'));
  p.blank();
  std::vector<std::string> params;
  if (cuda) {
    unsigned i = 0;
    for (const auto *list : {&k.inputs, &k.outputs})
      for (const Tensor &t : *list)
        params.push_back(fmt::format("const {} *gatec_a{}", t.descType(), i++));
    params.push_back("CUstream stream");
    params.push_back("gatec_error *err");
    p.line("/// Launches the kernels of {} on `stream` (descriptors of device",
           k.name);
    p.line("/// buffers: inputs, then outputs). Temporaries are allocated and");
    p.line("/// freed on the stream (cuMemAllocAsync / cuMemFreeAsync).");
    p.line("}} // extern \"C\"");
    p.line("namespace {} {{", cudaDetail);
    p.line("static inline GATEC_MAYBE_UNUSED int");
    p.call(k.launcher(), params, " {");
    p.indent();
    p.line("static const char kernel[] = \"{}\";", k.name);
    size_t numKernels = std::max<size_t>(cuda->kernelNames.size(), 1);
    p.line("CUfunction gatec_fn[{}];", numKernels);
    p.line("int gatec_load = functions(gatec_fn, err);");
    p.line("if (gatec_load != GATEC_OK)");
    p.line("  return gatec_load;");
    p.line("(void)gatec_fn;");
    p.line("gatec_cuda_workspace gatec_ws(stream);");
    p.unindent();
    auto it = cuda->launchers.find(k.name);
    if (it != cuda->launchers.end())
      p.raw(it->second);
    p.indent();
    p.line("return gatec_ws.release(kernel, err);");
    p.unindent();
    p.line("}}");
    p.line("}} // namespace {}", cudaDetail);
    p.line("extern \"C\" {{");
    p.blank();
  } else {
    p.line("/// The compiled kernel (MLIR C interface): inputs, then outputs.");
    if (llvm::any_of(k.inputs,
                     [](const Tensor &t) { return t.updatedInPlace; }))
      p.line(
          "/// An input updated in place is written through its descriptor.");
    for (const auto *list : {&k.inputs, &k.outputs})
      for (const Tensor &t : *list)
        params.push_back(fmt::format("{} *{}", t.descType(), t.name));
    p.call(fmt::format("void _mlir_ciface_{}", k.name), params, ";");
    p.blank();
  }
  printOutputShapesC(k);
  printEntryC(k);
}

void HeaderPrinter::printKernelCxx(const Kernel &k) {
  auto viewType = [](const Tensor &t) {
    return fmt::format("TensorView<{}{}, {}>", t.isMutable() ? "" : "const ",
                       t.elem.cType, t.rank());
  };

  // Output shapes.
  p.line("/// The output shapes of {} and the element count of each output.",
         k.name);
  p.line("struct {} {{", k.cxxShapesType());
  p.indent();
  // Zero-initialized, so a struct filled only on success never reads as
  // uninitialized (gcc -Wmaybe-uninitialized in callers).
  for (const Tensor &t : k.outputs) {
    p.line("std::array<int64_t, {}> {}{{}};", t.rank(), t.name);
    p.line("int64_t {}_numel = 0;", t.name);
  }
  p.unindent();
  p.line("}};");
  p.blank();

  std::vector<std::string> params;
  std::vector<std::string> dimArgs;
  for (const Tensor &t : k.inputs) {
    if (t.rank() == 0)
      continue;
    params.push_back(
        fmt::format("const std::array<int64_t, {}> &{}", t.rank(), t.name));
    std::vector<std::string> group;
    for (unsigned i = 0; i < t.rank(); ++i)
      group.push_back(fmt::format("{}[{}]", t.name, i));
    dimArgs.push_back(fmt::format("{}", fmt::join(group, ", ")));
  }
  params.push_back(fmt::format("{} &shapes", k.cxxShapesType()));
  dimArgs.push_back("&gatec_s, &gatec_e");
  p.line("/// Checks the input shapes of {} and computes the output shapes.",
         k.name);
  p.call(fmt::format("inline Status {}", k.cxxShapesFn()), params, " {");
  p.indent();
  p.line("{} gatec_s = {{}};", k.shapesType());
  p.line("gatec_error gatec_e = {{}};");
  p.call(fmt::format("if ({}", k.shapesFn()), dimArgs, " != GATEC_OK)");
  p.line("  return Status(gatec_e.code, gatec_e.message);");
  for (const Tensor &t : k.outputs) {
    std::vector<std::string> elems;
    for (unsigned i = 0; i < t.rank(); ++i)
      elems.push_back(fmt::format("gatec_s.{}[{}]", t.name, i));
    if (t.rank() > 0)
      p.line("shapes.{} = {{{{{}}}}};", t.name, fmt::join(elems, ", "));
    p.line("shapes.{}_numel = gatec_s.{}_numel;", t.name, t.name);
  }
  p.line("return Status();");
  p.unindent();
  p.line("}}");
  p.blank();

  // The call.
  params.clear();
  std::vector<std::string> args;
  for (const auto *list : {&k.inputs, &k.outputs})
    for (const Tensor &t : *list) {
      params.push_back(fmt::format("{} {}", viewType(t), t.name));
      std::vector<std::string> group = {t.name + ".data"};
      for (unsigned i = 0; i < t.rank(); ++i)
        group.push_back(fmt::format("{}.shape[{}]", t.name, i));
      args.push_back(fmt::format("{}", fmt::join(group, ", ")));
    }
  if (cuda) {
    params.push_back("CUstream stream");
    args.push_back("stream");
  }
  args.push_back("&gatec_e");
  printDoc(k);
  p.call(fmt::format("inline Status {}", k.name), params, " {");
  p.indent();
  p.line("gatec_error gatec_e = {{}};");
  p.call(fmt::format("if ({}", k.entry()), args, " != GATEC_OK)");
  p.line("  return Status(gatec_e.code, gatec_e.message);");
  p.line("return Status();");
  p.unindent();
  p.line("}}");
  p.blank();
}
