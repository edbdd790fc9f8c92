//===- EntryPoints.cpp - Checked C entry points of kernels ----------------===//
//
// Part of gatec. Prints each kernel's gatec_<kernel>_output_shapes() (the shape
// checks: literals, symbols bound by input dimensions, expressions evaluated
// with overflow checks) and its checked entry point gatec_<kernel>(), which
// checks pointers, shapes and the values of offsets and slots, fills the memref
// descriptors and calls the compiled kernel or, in a CUDA header, its launch
// function.
//
//===----------------------------------------------------------------------===//

#include "Target/CppHeader/HeaderPrinter.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/ErrorHandling.h"

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <vector>

using namespace mlir;
using namespace gatec::cpp_header;

namespace {

/// "(long long)x" for a %lld argument.
std::string ll(std::string_view value) {
  return fmt::format("(long long){}", value);
}

} // namespace

std::pair<std::string, std::string>
HeaderPrinter::symbolValues(gate::DimAttr expr) {
  SmallVector<StringRef> symbols;
  expr.collectSymbols(symbols);
  std::vector<std::string> formats, args;
  for (StringRef s : symbols) {
    formats.push_back(fmt::format("{} = %lld", s.str()));
    args.push_back(ll("gatec_sym_" + s.str()));
  }
  return {fmt::format("{}", fmt::join(formats, ", ")),
          fmt::format("{}", fmt::join(args, ", "))};
}

std::string HeaderPrinter::printEval(gate::DimAttr expr, unsigned &counter) {
  using gate::DimKind;
  switch (expr.getKind()) {
  case DimKind::constant:
    return cInt(expr.getValue());
  case DimKind::symbol:
    return "gatec_sym_" + expr.getSymbolName().str();
  default:
    break;
  }
  std::string lhs = printEval(expr.getLhs(), counter);
  std::string rhs = printEval(expr.getRhs(), counter);
  std::string value = fmt::format("gatec_v{}", counter++);
  const char *fn = expr.getKind() == DimKind::add   ? "gatec_rt_add"
                   : expr.getKind() == DimKind::sub ? "gatec_rt_sub"
                   : expr.getKind() == DimKind::mul ? "gatec_rt_mul"
                                                    : "gatec_rt_div";
  p.line("int64_t {} = {}({}, {}, &gatec_rc);", value, fn, lhs, rhs);
  return value;
}

void HeaderPrinter::printOutputShapesC(const Kernel &k) {
  // The struct: one array per output of rank > 0 and every element count.
  p.line("/// The output shapes of {} for given input shapes, and the element",
         k.name);
  p.line("/// count of each output (what to allocate).");
  p.line("typedef struct {} {{", k.shapesType());
  p.indent();
  for (const Tensor &t : k.outputs) {
    if (t.rank() > 0)
      p.line("int64_t {}[{}]; // [{}]", t.name, t.rank(), t.dimsText());
    p.line("int64_t {}_numel;", t.name);
  }
  p.unindent();
  p.line("}} {};", k.shapesType());
  p.blank();

  std::vector<std::string> params;
  for (const Tensor &t : k.inputs) {
    std::vector<std::string> dims;
    for (unsigned i = 0; i < t.rank(); ++i)
      dims.push_back(fmt::format("int64_t {}", t.dimParam(i)));
    if (!dims.empty())
      params.push_back(fmt::format("{}", fmt::join(dims, ", ")));
  }
  params.push_back(fmt::format("{} *shapes", k.shapesType()));
  params.push_back("gatec_error *err");
  p.line("/// Checks the input shapes of {} as gatec_{} does and computes the",
         k.name, k.name);
  p.line("/// output shapes. Returns GATEC_OK or the gatec_status of the first "
         "failed check.");
  p.line("static inline GATEC_MAYBE_UNUSED int");
  p.call(k.shapesFn(), params, " {");
  p.indent();
  auto fail = [&](std::string_view code, std::string_view format,
                  std::string_view args) {
    p.indent();
    if (args.empty())
      p.line("return GATEC_RT_FAIL(err, {}, \"{}: {}\");", code, k.name,
             format);
    else
      p.line("return GATEC_RT_FAIL(err, {}, \"{}: {}\", {});", code, k.name,
             format, args);
    p.unindent();
  };
  p.line("gatec_rt_clear(err);");
  p.line("if (!shapes)");
  fail("GATEC_ERR_NULL", "shapes is NULL", "");

  // Literal and whole-symbol input dimensions, in order.
  for (const Tensor &t : k.inputs) {
    if (t.rank() == 0)
      continue;
    p.line("// {}", t.signature());
    for (auto [di, dim] : llvm::enumerate(t.dims)) {
      std::string param = t.dimParam(di);
      p.line("if ({} < 0)", param);
      fail("GATEC_ERR_SHAPE",
           fmt::format("{} dim {} is %lld but must be >= 0", t.name, di),
           ll(param));
      if (dim.staticSize && dim.role != Role::Literal) {
        p.line("if ({} != {})", param, *dim.staticSize);
        fail("GATEC_ERR_SHAPE",
             fmt::format("{} dim {} is %lld but must be {} (the kernel was "
                         "compiled for {} = {})",
                         t.name, di, *dim.staticSize, dim.written,
                         *dim.staticSize),
             ll(param));
      }
      switch (dim.role) {
      case Role::Literal:
        p.line("if ({} != {})", param, cInt(dim.expr.getValue()));
        fail("GATEC_ERR_SHAPE",
             fmt::format("{} dim {} is %lld but must be {}", t.name, di,
                         dim.written),
             ll(param));
        break;
      case Role::Bind:
        if (k.symbols.lookup(dim.expr.getSymbolName()).used)
          p.line("int64_t gatec_sym_{} = {};", dim.expr.getSymbolName(), param);
        break;
      case Role::Check: {
        std::string s = dim.expr.getSymbolName().str();
        Binding b = k.symbols.lookup(s);
        const Tensor &first = k.inputs[b.input];
        p.line("if ({} != gatec_sym_{})", param, s);
        fail("GATEC_ERR_SHAPE",
             fmt::format("{} dim {} is {} = %lld but {} dim {} is {} = %lld",
                         first.name, b.dim, s, t.name, di, s),
             fmt::format("{}, {}", ll("gatec_sym_" + s), ll(param)));
        break;
      }
      case Role::Expr:
      case Role::BindOffset:
        break;
      }
    }
  }

  // Symbols bound from `symbol + c` dimensions: N = dim - c, a size.
  for (const Tensor &t : k.inputs)
    for (auto [di, dim] : llvm::enumerate(t.dims)) {
      if (dim.role != Role::BindOffset)
        continue;
      std::optional<std::pair<StringRef, int64_t>> m =
          dim.expr.matchSymbolPlusConstant();
      std::string param = t.dimParam(di);
      std::string sym = "gatec_sym_" + m->first.str();
      p.line("int64_t {};", sym);
      p.line("{{ // {} dim {} = {}", t.name, di, dim.written);
      p.indent();
      p.line("int gatec_rc = GATEC_OK;");
      p.line("{} = gatec_rt_sub({}, {}, &gatec_rc);", sym, param,
             cInt(m->second));
      p.line("if (gatec_rc != GATEC_OK || {} < 0)", sym);
      fail("GATEC_ERR_SHAPE",
           fmt::format("{} dim {} is %lld but must be {} with {} >= 0", t.name,
                       di, dim.written, m->first),
           ll(param));
      p.unindent();
      p.line("}}");
    }

  // Input dimensions that are expressions, now that every symbol is bound.
  for (const Tensor &t : k.inputs)
    for (auto [di, dim] : llvm::enumerate(t.dims)) {
      if (dim.role != Role::Expr)
        continue;
      std::string param = t.dimParam(di);
      auto [symFormat, symArgs] = symbolValues(dim.expr);
      p.line("{{ // {} dim {} = {}", t.name, di, dim.written);
      p.indent();
      p.line("int gatec_rc = GATEC_OK;");
      unsigned counter = 0;
      std::string value = printEval(dim.expr, counter);
      p.line("if (gatec_rc != GATEC_OK)");
      fail("gatec_rc",
           fmt::format("cannot evaluate {} dim {} = {} with {}: %s", t.name, di,
                       dim.written, symFormat),
           fmt::format("{}, gatec_rt_reason(gatec_rc)", symArgs));
      p.line("if ({} != {})", param, value);
      fail("GATEC_ERR_SHAPE",
           fmt::format("{} dim {} is %lld but must be {} = %lld with {}",
                       t.name, di, dim.written, symFormat),
           fmt::format("{}, {}, {}", ll(param), ll(value), symArgs));
      p.unindent();
      p.line("}}");
    }

  // Output shapes.
  for (const Tensor &t : k.outputs) {
    p.line("// {}", t.signature());
    for (auto [di, dim] : llvm::enumerate(t.dims)) {
      std::string slot = fmt::format("shapes->{}[{}]", t.name, di);
      if (dim.expr.isConstant()) {
        p.line("{} = {};", slot, cInt(dim.expr.getValue()));
        continue;
      }
      if (dim.expr.isSymbol()) {
        p.line("{} = gatec_sym_{};", slot, dim.expr.getSymbolName());
      } else {
        auto [symFormat, symArgs] = symbolValues(dim.expr);
        p.line("{{ // {} dim {} = {}", t.name, di, dim.written);
        p.indent();
        p.line("int gatec_rc = GATEC_OK;");
        unsigned counter = 0;
        std::string value = printEval(dim.expr, counter);
        p.line("if (gatec_rc != GATEC_OK)");
        fail("gatec_rc",
             fmt::format("cannot evaluate {} dim {} = {} with {}: %s", t.name,
                         di, dim.written, symFormat),
             fmt::format("{}, gatec_rt_reason(gatec_rc)", symArgs));
        p.line("if ({} < 0)", value);
        fail("GATEC_ERR_SHAPE",
             fmt::format("{} dim {} = {} is %lld with {}, which is negative",
                         t.name, di, dim.written, symFormat),
             fmt::format("{}, {}", ll(value), symArgs));
        p.line("{} = {};", slot, value);
        p.unindent();
        p.line("}}");
      }
      if (dim.staticSize) { // Not implied by the input checks.
        p.line("if ({} != {})", slot, *dim.staticSize);
        fail("GATEC_ERR_SHAPE",
             fmt::format("{} dim {} = {} is %lld but the kernel was compiled "
                         "for {}",
                         t.name, di, dim.written, *dim.staticSize),
             ll(slot));
      }
    }
    if (t.rank() == 0) {
      p.line("shapes->{}_numel = 1;", t.name);
      continue;
    }
    p.line("{{");
    p.indent();
    p.line("int gatec_rc = GATEC_OK;");
    p.line("shapes->{}_numel = gatec_rt_numel({}, shapes->{}, &gatec_rc);",
           t.name, t.rank(), t.name);
    p.line("if (gatec_rc != GATEC_OK)");
    fail("GATEC_ERR_OVERFLOW",
         fmt::format("{} has more than INT64_MAX elements", t.name), "");
    p.unindent();
    p.line("}}");
  }
  p.line("return GATEC_OK;");
  p.unindent();
  p.line("}}");
  p.blank();
}

void HeaderPrinter::printValuesCheck(const Kernel &k, const Tensor &t) {
  // The kernel clamps offsets to [0, T] and skips a sequence whose slot is
  // outside the pool, so any values are memory-safe; the check turns a
  // caller's mistake (or two sequences racing on one row) into an error
  // instead of a silently different result. On CUDA the values are in device
  // memory: reading them costs a synchronizing copy (and breaks stream
  // capture), so there it is opt-in.
  if (cuda)
    p.line("#ifdef GATEC_CUDA_CHECK_OFFSETS");
  std::string kind = "offsets", bound = "-1", boundName = t.offsetsBoundText;
  if (t.slotsPool) {
    const Tensor &pool = k.inputs[*t.slotsPool];
    const Dim &rows = pool.dims[0];
    kind = "slots";
    bound = pool.dimParam(0);
    boundName = rows.expr.isConstant() ? "dim 0" : rows.written;
    p.line("{{ // {}: rows of {}, each below {} or negative, none twice",
           t.name, pool.name, rows.written);
  } else {
    p.line("{{ // {}: offsets of packed sequences, 0 first, never "
           "decreasing{}",
           t.name,
           t.offsetsBound ? ", at most " + t.offsetsBoundText : std::string());
  }
  p.indent();
  if (t.offsetsBound) {
    SmallVector<StringRef> used;
    t.offsetsBound.collectSymbols(used);
    for (StringRef s : used) {
      Binding b = k.symbols.lookup(s);
      std::string dim = k.inputs[b.input].dimParam(b.dim);
      if (b.offset == 0)
        p.line("int64_t gatec_sym_{} = {};", s, dim);
      else // the shapes function checked it: no overflow, not negative
        p.line("int64_t gatec_sym_{} = {} - {};", s, dim, cInt(b.offset));
    }
    unsigned counter = 0;
    bound = printEval(t.offsetsBound, counter);
    p.line("if (gatec_rc != GATEC_OK)");
    p.line("  return GATEC_RT_FAIL(err, gatec_rc, \"{}: cannot evaluate the "
           "bound of {} ({}): %s\", gatec_rt_reason(gatec_rc));",
           k.name, t.name, t.offsetsBoundText);
  }
  std::string check = fmt::format("gatec_rt_check_{}_{}", kind, t.elem.dtype);
  if (cuda)
    p.line("gatec_rc = gatec_cuda_check_values(err, \"{}\", \"{}\", {}, {}, "
           "{}, \"{}\", stream, {});",
           k.name, t.name, t.name, t.dimParam(0), bound, boundName, check);
  else
    p.line("gatec_rc = {}(err, \"{}\", \"{}\", {}, {}, {}, \"{}\");", check,
           k.name, t.name, t.name, t.dimParam(0), bound, boundName);
  p.line("if (gatec_rc != GATEC_OK)");
  p.line("  return gatec_rc;");
  p.unindent();
  p.line("}}");
  if (cuda)
    p.line("#endif");
}

void HeaderPrinter::printEntryC(const Kernel &k) {
  std::vector<std::string> params;
  for (const auto *list : {&k.inputs, &k.outputs})
    for (const Tensor &t : *list) {
      std::vector<std::string> group = {fmt::format(
          "{}{} *{}", t.isMutable() ? "" : "const ", t.elem.cType, t.name)};
      for (unsigned i = 0; i < t.rank(); ++i)
        group.push_back(fmt::format("int64_t {}", t.dimParam(i)));
      params.push_back(fmt::format("{}", fmt::join(group, ", ")));
    }
  if (cuda)
    params.push_back("CUstream stream");
  params.push_back("gatec_error *err");

  printDoc(k);
  p.line("///");
  if (cuda)
    p.line("/// Checks every pointer (device memory, 16-byte aligned) and "
           "dimension,");
  if (cuda)
    p.line("/// then launches the kernels on `stream` (asynchronously).");
  else
    p.line("/// Checks every pointer and dimension, then calls "
           "_mlir_ciface_{}.",
           k.name);
  p.line("/// Returns GATEC_OK, or a gatec_status with err (if not NULL) "
         "filled.");
  p.line("static inline GATEC_MAYBE_UNUSED int");
  p.call(k.entry(), params, " {");
  p.indent();
  p.line("{} gatec_shapes;", k.shapesType());
  for (const auto *list : {&k.inputs, &k.outputs})
    for (const Tensor &t : *list)
      p.line("{} gatec_d_{};", t.descType(), t.name);
  std::vector<std::string> inputDims;
  for (const Tensor &t : k.inputs) {
    std::vector<std::string> group;
    for (unsigned i = 0; i < t.rank(); ++i)
      group.push_back(t.dimParam(i));
    if (!group.empty())
      inputDims.push_back(fmt::format("{}", fmt::join(group, ", ")));
  }
  inputDims.push_back("&gatec_shapes, err");
  p.call(fmt::format("int gatec_rc = {}", k.shapesFn()), inputDims, ";");
  p.line("if (gatec_rc != GATEC_OK)");
  p.line("  return gatec_rc;");

  // The caller's output shapes against the expected ones.
  for (const Tensor &t : k.outputs)
    for (auto [di, dim] : llvm::enumerate(t.dims)) {
      std::string param = t.dimParam(di);
      p.line("if ({} != gatec_shapes.{}[{}])", param, t.name, di);
      p.indent();
      if (dim.expr.isConstant())
        p.line("return GATEC_RT_FAIL(err, GATEC_ERR_SHAPE, \"{}: {} dim {} is "
               "%lld but must be {}\", {});",
               k.name, t.name, di, dim.written, ll(param));
      else
        p.line("return GATEC_RT_FAIL(err, GATEC_ERR_SHAPE, \"{}: {} dim {} is "
               "%lld but must be {} = %lld\", {}, {});",
               k.name, t.name, di, dim.written, ll(param),
               ll(fmt::format("gatec_shapes.{}[{}]", t.name, di)));
      p.unindent();
    }

  // Dense row-major descriptors; the kernel only reads inputs, except those
  // it updates in place.
  for (const auto *list : {&k.inputs, &k.outputs})
    for (const Tensor &t : *list) {
      std::string d = "gatec_d_" + t.name;
      // Through uintptr_t: the descriptor type is shared by inputs and
      // outputs, and a plain cast would trip -Wcast-qual.
      std::string ptr = t.isMutable() ? t.name
                                      : fmt::format("({} *)(uintptr_t){}",
                                                    t.elem.cType, t.name);
      p.line("{}.allocated = {};", d, ptr);
      p.line("{}.aligned = {};", d, ptr);
      p.line("{}.offset = 0;", d);
      for (unsigned i = 0; i < t.rank(); ++i)
        p.line("{}.sizes[{}] = {};", d, i, t.dimParam(i));
      if (t.rank() > 0)
        p.line("gatec_rc = gatec_rt_check_tensor(err, \"{}\", \"{}\", {}, "
               "sizeof({}), {}, {}.sizes, {}.strides);",
               k.name, t.name, t.name, t.elem.cType, t.rank(), d, d);
      else
        p.line("gatec_rc = gatec_rt_check_tensor(err, \"{}\", \"{}\", {}, "
               "sizeof({}), 0, NULL, NULL);",
               k.name, t.name, t.name, t.elem.cType);
      p.line("if (gatec_rc != GATEC_OK)");
      p.line("  return gatec_rc;");
      if (cuda) {
        // 16-byte cp.async copies and vector accesses need it; cuMemAlloc
        // gives 256.
        p.line("if ((uintptr_t){} % 16 != 0)", t.name);
        p.line("  return GATEC_RT_FAIL(err, GATEC_ERR_ALIGN, \"{}: {} is not "
               "16-byte aligned\");",
               k.name, t.name);
      }
    }

  for (const Tensor &t : k.inputs)
    if (t.isOffsets || t.slotsPool)
      printValuesCheck(k, t);

  std::vector<std::string> args;
  for (const auto *list : {&k.inputs, &k.outputs})
    for (const Tensor &t : *list)
      args.push_back("&gatec_d_" + t.name);
  if (cuda) {
    args.push_back("stream");
    args.push_back("err");
    p.line("return ::{}::{}({});", cudaDetail, k.launcher(),
           fmt::join(args, ", "));
    p.unindent();
    p.line("}}");
    p.blank();
    return;
  }
  p.line("_mlir_ciface_{}({});", k.name, fmt::join(args, ", "));
  p.line("return GATEC_OK;");
  p.unindent();
  p.line("}}");
  p.blank();
}
