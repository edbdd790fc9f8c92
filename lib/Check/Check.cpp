//===- Check.cpp - Run a compiled kernel against the oracle ---------------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "gatec/Check/Check.h"

#include "RouterTies.h"
#include "gatec/Dialect/Gate/GateOps.h"
#include "gatec/Pipelines/Pipelines.h"
#include "gatec/Reference/Interpreter.h"
#include "gatec/Target/CPU/CPUTarget.h"
#include "gatec/Target/CUDA/CUDATarget.h"
#include "gatec/Target/CppHeader/ExportCppHeader.h"
#include "mlir/Support/DebugStringHelper.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <dlfcn.h>
#include <utility>
#include <cstring>
#include <limits>
#include <mutex>
#include <random>

using namespace mlir;
using gatec::ref::TensorValue;

bool gatec::KernelReport::passed() const {
  if (!written.empty())
    return error.empty();
  return error.empty() && !outputs.empty() &&
         llvm::all_of(outputs, [](const OutputReport &o) { return o.passed; });
}

double gatec::toleranceFor(Type elementType) {
  if (elementType.isBF16())
    return 1.6e-2;
  if (elementType.isF16())
    return 2e-3;
  if (elementType.isF32())
    return 1e-4;
  return 0;
}

double gatec::outputTolerance(func::FuncOp func, unsigned resultIndex) {
  auto ret = cast<func::ReturnOp>(func.getBody().back().getTerminator());
  Value result = ret.getOperand(resultIndex);
  double tolerance = toleranceFor(getElementTypeOrSelf(result));
  // Router weights are compared against the range their logits' rounding
  // allows (RouterTies.h), tighter than a blanket bf16 tolerance.
  if (isa_and_nonnull<gate::RouterOp>(result.getDefiningOp()))
    return tolerance;
  // Every op result the output is computed from, excluding the op that
  // defines it (its other results, e.g. a scan's o next to its state, are
  // not inputs of it).
  llvm::SmallPtrSet<Operation *, 32> seen;
  SmallVector<Value> work;
  if (Operation *def = result.getDefiningOp())
    llvm::append_range(work, def->getOperands());
  while (!work.empty()) {
    Value v = work.pop_back_val();
    Operation *def = v.getDefiningOp();
    if (!def || !seen.insert(def).second)
      continue;
    for (Value r : def->getResults())
      if (isa<FloatType>(getElementTypeOrSelf(r)))
        tolerance = std::max(tolerance, toleranceFor(getElementTypeOrSelf(r)));
    llvm::append_range(work, def->getOperands());
  }
  return tolerance;
}

namespace {

/// The parameter that result `r` of the gate-level kernel updates in place
/// (`gate.updates`, a scan's state pool): the kernel writes that
/// parameter's buffer, and no output buffer exists for the result.
std::optional<unsigned> tiedParameter(func::FuncOp func, unsigned r) {
  if (auto index = func.getResultAttrOfType<IntegerAttr>(r, "gate.updates"))
    return static_cast<unsigned>(index.getInt());
  return std::nullopt;
}

int64_t byteWidth(Type t) {
  if (t.isF32() || t.isInteger(32))
    return 4;
  if (t.isBF16() || t.isF16())
    return 2;
  if (t.isF64() || t.isInteger(64) || t.isIndex())
    return 8;
  if (t.isInteger(1) || t.isInteger(8))
    return 1;
  return 0;
}

/// Stores doubles as the kernel's element type.
void store(Type t, ArrayRef<double> values, char *out) {
  for (size_t i = 0; i < values.size(); ++i) {
    double v = values[i];
    if (t.isF32()) {
      float f = static_cast<float>(v);
      std::memcpy(out + 4 * i, &f, 4);
    } else if (t.isBF16() || t.isF16()) {
      APFloat f(static_cast<float>(v));
      bool lost;
      f.convert(t.isBF16() ? APFloat::BFloat() : APFloat::IEEEhalf(),
                APFloat::rmNearestTiesToEven, &lost);
      uint16_t bits = static_cast<uint16_t>(f.bitcastToAPInt().getZExtValue());
      std::memcpy(out + 2 * i, &bits, 2);
    } else if (t.isInteger(32)) {
      int32_t x = static_cast<int32_t>(v);
      std::memcpy(out + 4 * i, &x, 4);
    } else if (t.isInteger(64) || t.isIndex()) {
      int64_t x = static_cast<int64_t>(v);
      std::memcpy(out + 8 * i, &x, 8);
    } else if (t.isF64()) {
      std::memcpy(out + 8 * i, &v, 8);
    }
  }
}

double load(Type t, const char *in, int64_t i) {
  if (t.isF32()) {
    float f;
    std::memcpy(&f, in + 4 * i, 4);
    return f;
  }
  if (t.isBF16() || t.isF16()) {
    uint16_t bits;
    std::memcpy(&bits, in + 2 * i, 2);
    APFloat f(t.isBF16() ? APFloat::BFloat() : APFloat::IEEEhalf(),
              APInt(16, bits));
    return f.convertToDouble();
  }
  if (t.isInteger(32)) {
    int32_t x;
    std::memcpy(&x, in + 4 * i, 4);
    return x;
  }
  if (t.isInteger(64) || t.isIndex()) {
    int64_t x;
    std::memcpy(&x, in + 8 * i, 8);
    return static_cast<double>(x);
  }
  double d;
  std::memcpy(&d, in + 8 * i, 8);
  return d;
}

/// A kernel argument as the C ABI sees it: 64-byte aligned storage (what a
/// real allocator gives vector loads) and the strided memref descriptor
/// {allocated, aligned, offset, sizes[R], strides[R]} pointing at it.
struct Buffer {
  struct Free {
    void operator()(char *p) const { std::free(p); }
  };
  Type elementType;
  SmallVector<int64_t> shape;
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
  static Buffer make(Type t, ArrayRef<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    size_t size = (static_cast<size_t>(n * byteWidth(t)) + 63) / 64 * 64;
    auto *p = static_cast<char *>(std::aligned_alloc(64, std::max<size_t>(size, 64)));
    std::memset(p, 0, std::max<size_t>(size, 64));
    return Buffer{t, SmallVector<int64_t>(shape),
                  std::unique_ptr<char, Free>(p), {}};
  }
};

/// The shape of an argument or result as written in the .gate source.
FailureOr<SmallVector<int64_t>>
bindShape(DictionaryAttr attrs, Type type, const std::string &argName,
          const gatec::CheckOptions &options, std::string &error) {
  auto tensorType = dyn_cast<RankedTensorType>(type);
  if (!tensorType) {
    error = "kernel arguments must be ranked tensors";
    return failure();
  }
  SmallVector<int64_t> shape;
  auto written = attrs ? attrs.getAs<ArrayAttr>("gate.shape") : ArrayAttr();
  for (int64_t i = 0; i < tensorType.getRank(); ++i) {
    int64_t d = tensorType.getDimSize(i);
    if (!ShapedType::isDynamic(d)) {
      shape.push_back(d);
      continue;
    }
    auto symbol = written && i < static_cast<int64_t>(written.size())
                      ? dyn_cast<StringAttr>(written[i])
                      : StringAttr();
    // Unnamed dynamic dims are called <param>_dim<i>, as in the headers.
    std::string dimName = symbol ? symbol.str()
                                 : argName + "_dim" + std::to_string(i);
    // `N + 1` (a symbol plus a constant, docs/DSL.md): N's size plus it.
    int64_t offset = 0;
    StringRef name = dimName, constant;
    if (size_t sign = name.find_first_of("+-"); sign != StringRef::npos) {
      constant = name.substr(sign + 1).trim();
      bool minus = name[sign] == '-';
      name = name.take_front(sign).trim();
      if (constant.getAsInteger(10, offset)) {
        error = "cannot read dimension '" + dimName + "'";
        return failure();
      }
      offset = minus ? -offset : offset;
    }
    auto it = options.dims.find(name.str());
    if (it == options.dims.end()) {
      error = "no size for dimension '" + dimName + "': pass it with --dim " +
              name.str() + "=N";
      return failure();
    }
    shape.push_back(it->second + offset);
  }
  return shape;
}

/// N(0, 1) by Box-Muller on a 64-bit Mersenne twister: the same numbers on
/// every standard library, so a seed reproduces a failure anywhere.
/// The random inputs of a CUDA case (--write-cuda-case): a machine without
/// gatec regenerates them bit for bit (case.cpp has the same function), so
/// multi-gigabyte weights never travel. Integer hashing and exact float
/// arithmetic only: no libm, whose last bits may differ between machines.
/// An approximately normal value (the sum of four uniforms, scaled to unit
/// variance), rounded to float.
#define GATEC_CASE_RANDOM                                                      \
  float caseRandom(uint64_t seed, uint64_t input, uint64_t element) {         \
    double sum = 0;                                                            \
    for (uint64_t j = 0; j < 4; ++j) {                                         \
      uint64_t z = seed * 0x9E3779B97F4A7C15ull +                              \
                   input * 0xBF58476D1CE4E5B9ull +                             \
                   element * 0x94D049BB133111EBull +                           \
                   j * 0xD6E8FEB86659FD93ull;                                  \
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;                             \
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;                             \
      z ^= z >> 31;                                                            \
      sum += static_cast<double>(z >> 40) * 0x1.0p-24;                         \
    }                                                                          \
    return static_cast<float>((sum - 2.0) * 1.7320508075688772);               \
  }
GATEC_CASE_RANDOM
#define GATEC_QUOTE_(...) #__VA_ARGS__
#define GATEC_QUOTE(...) GATEC_QUOTE_(__VA_ARGS__)
/// The same function as text, for the case programs.
constexpr const char *kCaseRandomSource = GATEC_QUOTE(GATEC_CASE_RANDOM);

class Normal {
public:
  explicit Normal(uint64_t seed) : engine(seed) {}
  double next() {
    if (spare) {
      double s = *spare;
      spare.reset();
      return s;
    }
    double u1 = (static_cast<double>(engine() >> 11) + 0.5) * 0x1.0p-53;
    double u2 = static_cast<double>(engine() >> 11) * 0x1.0p-53;
    double r = std::sqrt(-2.0 * std::log(u1));
    spare = r * std::sin(2 * M_PI * u2);
    return r * std::cos(2 * M_PI * u2);
  }

private:
  std::mt19937_64 engine;
  std::optional<double> spare;
};

std::string nameOf(DictionaryAttr attrs, const std::string &fallback) {
  if (attrs)
    if (auto name = attrs.getAs<StringAttr>("gate.name"))
      return name.str();
  return fallback;
}

/// Elements that only their bounds let pass (compare()).
struct Widened {
  int64_t count = 0;
  /// Their largest error, as without bounds.
  double worst = 0;
};

/// `bounds`, when given, holds per element an interval around the oracle's
/// value that the kernel's may also take: an element beyond the tolerance
/// counts by its distance outside the interval, and `widened` tallies those
/// that are within the tolerance of it.
gatec::OutputReport compare(const std::string &name, const TensorValue &oracle,
                            Buffer &kernel, double tolerance,
                            int64_t intMismatches,
                            ArrayRef<std::pair<double, double>> bounds = {},
                            Widened *widened = nullptr) {
  gatec::OutputReport report;
  report.name = name;
  report.dtype = debugString(oracle.elementType);
  report.elements = oracle.numElements();
  report.tolerance = tolerance;
  bool isFloat = isa<FloatType>(oracle.elementType);
  double scale = 1.0, worst = 0.0;
  for (double r : oracle.data)
    if (std::isfinite(r))
      scale = std::max(scale, std::fabs(r));
  int64_t mismatches = 0;
  for (int64_t i = 0; i < report.elements; ++i) {
    double r = oracle.data[i];
    double k = load(oracle.elementType, kernel.data(), i);
    bool same;
    if (isFloat) {
      if (std::isnan(r) || std::isnan(k) || std::isinf(r) || std::isinf(k)) {
        same = (std::isnan(r) && std::isnan(k)) || r == k;
      } else {
        double e = std::fabs(k - r) / scale;
        // Beyond the tolerance, only the distance outside the bounds counts.
        if (e > report.tolerance && !bounds.empty() &&
            std::isfinite(bounds[i].first) && std::isfinite(bounds[i].second)) {
          double lo = std::min(bounds[i].first, r);
          double hi = std::max(bounds[i].second, r);
          double plain = e;
          e = std::max({0.0, lo - k, k - hi}) / scale;
          if (e <= report.tolerance) {
            ++widened->count;
            widened->worst = std::max(widened->worst, plain);
          }
        }
        worst = std::max(worst, e);
        same = e <= report.tolerance;
      }
    } else {
      same = r == k;
    }
    if (!same) {
      ++mismatches;
      if (report.firstMismatch.empty())
        report.firstMismatch =
            llvm::formatv("element {0}: kernel {1} oracle {2}", i, k, r).str();
    }
  }
  report.error = isFloat ? worst : static_cast<double>(mismatches);
  report.passed = isFloat ? mismatches == 0 : mismatches <= intMismatches;
  return report;
}

/// Calls `fn(args[0], ..., args[n-1])`: every argument of a kernel's C
/// entry point is a pointer to a memref descriptor.
template <size_t... I>
void callPointers(void *fn, ArrayRef<void *> args, std::index_sequence<I...>) {
  using Fn = void (*)(decltype((void)I, (void *)nullptr)...);
  reinterpret_cast<Fn>(fn)(args[I]...);
}

template <size_t N = 0>
LogicalResult callWithPointers(void *fn, ArrayRef<void *> args) {
  if constexpr (N > 32) {
    return failure();
  } else {
    if (args.size() == N) {
      callPointers(fn, args, std::make_index_sequence<N>());
      return success();
    }
    return callWithPointers<N + 1>(fn, args);
  }
}


/// A kernel with its inputs and the oracle's outputs.
struct Prepared {
  std::string name;
  std::vector<Buffer> inputs;
  /// Per input: the scale of its random draw, or 0 for given values.
  std::vector<double> randomScales;
  std::vector<std::string> outputNames;
  std::vector<TensorValue> expected;
  /// The gate-level kernel (output tolerances, RouterTies.h). For a kernel
  /// with routers: what the oracle read and how it routed, to
  /// evaluate it again on the kernel's choices where they differ at a near
  /// tie (RouterTies.h).
  func::FuncOp func;
  std::vector<TensorValue> oracleInputs;
  std::vector<gatec::ref::RouterTrace> routers;
};

/// Compares a kernel's outputs with the oracle's. Where they differ, a
/// kernel with routers is compared instead with what its routers allow
/// (RouterTies.h): the oracle evaluated on its choices where they differ
/// from the oracle's at near ties, and router weights within the bounds of
/// their logits' rounding. `notes` says what was accepted.
std::vector<gatec::OutputReport>
compareOutputs(const Prepared &p, std::vector<Buffer> &outputs,
               const gatec::CheckOptions &options,
               std::vector<std::string> &notes) {
  for (const gatec::CheckOptions::OutputOverride &o : options.testOverrides)
    for (auto [name, expected, output] :
         llvm::zip(p.outputNames, p.expected, outputs))
      if (name == o.output && o.element >= 0 &&
          o.element < expected.numElements())
        store(expected.elementType, o.value,
              output.data() + o.element * byteWidth(expected.elementType));
  std::vector<gatec::OutputReport> reports;
  for (auto [i, name, expected, output] :
       llvm::enumerate(p.outputNames, p.expected, outputs))
    reports.push_back(compare(name, expected, output,
                              gatec::outputTolerance(p.func, i),
                              options.intMismatches));
  if (p.routers.empty() ||
      llvm::all_of(reports, [](const auto &r) { return r.passed; }))
    return reports;
  auto kernelOutput = [&](unsigned i) {
    const TensorValue &e = p.expected[i];
    std::vector<double> values(e.numElements());
    for (int64_t n = 0; n < e.numElements(); ++n)
      values[n] = load(e.elementType, outputs[i].data(), n);
    return values;
  };
  gatec::detail::RouterComparison routers = gatec::detail::compareRouters(
      p.func, p.oracleInputs, p.expected, p.routers, kernelOutput);
  if (!routers.failure.empty())
    notes.push_back(routers.failure);
  if (!routers.applies)
    return reports;
  notes.insert(notes.end(), routers.notes.begin(), routers.notes.end());
  reports.clear();
  for (auto [i, name, expected, output] :
       llvm::enumerate(p.outputNames, routers.expected, outputs)) {
    auto bounds = routers.bounds.find(i);
    Widened widened;
    reports.push_back(compare(name, expected, output,
                              gatec::outputTolerance(p.func, i),
                              options.intMismatches,
                              bounds == routers.bounds.end()
                                  ? ArrayRef<std::pair<double, double>>()
                                  : ArrayRef(bounds->second),
                              &widened));
    if (widened.count)
      notes.push_back(llvm::formatv("{0}: {1} of {2} beyond the tolerance "
                                    "(up to {3:e2}) but within what the "
                                    "rounding of their router's logits allows",
                                    name, widened.count, expected.numElements(),
                                    widened.worst)
                          .str());
  }
  return reports;
}

/// Outputs of a timing-only run: written (no poison left) and finite.
gatec::OutputReport checkWritten(const std::string &name,
                                 const TensorValue &shape, Buffer &out) {
  gatec::OutputReport r;
  r.name = name;
  r.dtype = debugString(shape.elementType);
  r.elements = shape.numElements();
  r.passed = true;
  for (int64_t i = 0; i < r.elements && r.passed; ++i) {
    double v = load(shape.elementType, out.data(), i);
    if (isa<FloatType>(shape.elementType) ? !std::isfinite(v) : v == -12345.0) {
      r.passed = false;
      r.firstMismatch = llvm::formatv("element {0} is {1}", i, v).str();
    }
  }
  return r;
}

/// The C++ compiler that builds the CUDA check library.
std::optional<std::string> findCxx() {
  for (const char *name : {"c++", "g++", "clang++"})
    if (llvm::ErrorOr<std::string> path = llvm::sys::findProgramByName(name))
      return *path;
  return std::nullopt;
}

std::string cudaRoot() {
  if (const char *env = std::getenv("CUDA_PATH"))
    return env;
  return "/usr/local/cuda";
}

/// The CUDA header of `module` for `chip` (matmuls on wgmma when `wgmma`,
/// with `matmulTile` when not empty), or an error in `error`.
std::optional<std::string> buildCUDAHeader(ModuleOp module, StringRef chip,
                                           bool wgmma, StringRef matmulTile,
                                           bool useCommandLinePassOptions,
                                           std::string &error) {
  MLIRContext *ctx = module.getContext();
  FailureOr<gatec::CUDATarget> target = gatec::lookupCUDATarget(chip);
  if (failed(target)) {
    error = "unknown CUDA chip '" + chip.str() + "'";
    return std::nullopt;
  }
  OwningOpRef<ModuleOp> lowered = module.clone();
  PassManager pm(ctx);
  gatec::CUDAPipelineOptions pipeline;
  pipeline.chip = target->chip;
  pipeline.features = target->features;
  pipeline.wgmma = wgmma;
  pipeline.matmulTile = matmulTile.str();
  error = gatec::cudaPipelineOptionsError(pipeline);
  if (!error.empty())
    return std::nullopt;
  gatec::buildCUDAPipeline(pm, pipeline);
  if (useCommandLinePassOptions && failed(applyPassManagerCLOptions(pm))) {
    error = "invalid MLIR pass-manager options";
    return std::nullopt;
  }
  std::string diagnostics, header;
  llvm::raw_string_ostream os(diagnostics);
  ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &d) {
    os << d.getLocation() << ": " << d.str() << "\n";
    return success();
  });
  if (failed(pm.run(*lowered))) {
    error = "CUDA pipeline failed: " + diagnostics;
    return std::nullopt;
  }
  FailureOr<std::string> ptx = gatec::getKernelPTX(*lowered, *target);
  if (failed(ptx)) {
    error = "no PTX: " + diagnostics;
    return std::nullopt;
  }
  llvm::raw_string_ostream headerStream(header);
  gatec::CppHeaderOptions headerOptions;
  headerOptions.moduleName = "check";
  if (failed(gatec::exportCUDAHeader(module, *lowered, *ptx, headerStream,
                                     headerOptions))) {
    error = "CUDA header emission failed: " + diagnostics;
    return std::nullopt;
  }
  return header;
}

/// C type of an element in the generated header.
std::string cTypeOf(Type t) {
  if (t.isF32())
    return "float";
  if (t.isBF16())
    return "gatec_bf16";
  if (t.isF16())
    return "gatec_f16";
  if (t.isInteger(32))
    return "int32_t";
  return "int64_t";
}

/// The self-contained program of a CUDA case: reads its inputs, runs the
/// kernel through the generated header on GPU 0, compares with the oracle's
/// outputs (when written) as gatec-check does, and with an argument N times
/// N calls.
constexpr const char *kCaseMain = "\n"
#include "CudaCaseMain.inc"
    ;

/// Writes one directory per prepared kernel under `root`: the CUDA header,
/// case.cpp, the given inputs and the oracle's outputs.
std::string writeCUDACases(ModuleOp module, std::vector<Prepared> &prepared,
                           std::vector<gatec::KernelReport> &reports,
                           const gatec::CheckOptions &options,
                           const gatec::CheckOptions::CUDAConfig &config,
                           StringRef root) {
  // The header of the kernels being checked only: another kernel of the
  // module may not be expressible as a CUDA entry point.
  OwningOpRef<ModuleOp> selected = module.clone();
  for (auto func :
       llvm::make_early_inc_range(selected->getOps<func::FuncOp>()))
    if (!func.isPrivate() && !func.isExternal() &&
        llvm::none_of(prepared, [&](const Prepared &p) {
          return p.name == func.getSymName();
        }))
      func.erase();
  std::string headerError;
  std::optional<std::string> header = buildCUDAHeader(
      *selected, config.chip, config.wgmma,
      config.matmulTile.empty() ? options.cudaMatmulTile : config.matmulTile,
      options.useCommandLinePassOptions, headerError);
  if (!header)
    return headerError;
  auto write = [](const llvm::Twine &path, StringRef data) {
    std::error_code ec;
    llvm::raw_fd_ostream os(path.str(), ec);
    if (ec)
      return false;
    os << data;
    return true;
  };
  for (Prepared &p : prepared) {
    gatec::KernelReport &report = *llvm::find_if(
        reports,
        [&](const gatec::KernelReport &r) { return r.kernel == p.name; });
    llvm::SmallString<128> dir(root);
    llvm::sys::path::append(dir, p.name);
    if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
      report.error = "cannot create " + dir.str().str() + ": " + ec.message();
      continue;
    }
    std::string tensors, args, afterCall;
    int index = 0;
    // `passed`: the tensor is an argument of the entry point (not a result
    // that updates a parameter in place); `mutableInput`: an input the
    // kernel updates.
    auto addTensor = [&](const std::string &name, Type t,
                         ArrayRef<int64_t> shape, bool output,
                         double tolerance, bool passed = true,
                         bool mutableInput = false) {
      int64_t n = 1;
      for (int64_t d : shape)
        n *= d;
      tensors += llvm::formatv("  {{\"{0}\", \"{1}\", {2}, {3}LL, {4}, {5:e}, "
                               "{6}LL},\n",
                               name, debugString(t), byteWidth(t), n,
                               output ? "true" : "false",
                               tolerance, options.intMismatches)
                     .str();
      std::string group = llvm::formatv("({0}{1} *)(uintptr_t)d[{2}]",
                                        output || mutableInput ? "" : "const ",
                                        cTypeOf(t), index)
                              .str();
      for (int64_t d : shape)
        group += ", " + std::to_string(d);
      if (passed)
        args += (args.empty() ? "" : ", ") + group;
      ++index;
    };
    SmallVector<bool> updated(p.inputs.size(), false);
    for (unsigned r = 0; r < p.func.getNumResults(); ++r)
      if (std::optional<unsigned> param = tiedParameter(p.func, r))
        updated[*param] = true;
    bool ok = true;
    std::string scales;
    p.randomScales.resize(p.inputs.size(), 0.0);
    for (auto [i, b] : llvm::enumerate(p.inputs)) {
      int64_t bytes = b.byteSize();
      // Random inputs are regenerated by the case; given ones travel.
      if (p.randomScales[i] == 0)
        ok &= write(dir + "/in" + std::to_string(i) + ".bin",
                    StringRef(b.data(), bytes));
      scales += llvm::formatv("{0:e16}, ", p.randomScales[i]).str();
      addTensor("in" + std::to_string(i), b.elementType, b.shape, false,
                gatec::toleranceFor(b.elementType), /*passed=*/true,
                updated[i]);
    }
    for (auto [i, name, e] : llvm::enumerate(p.outputNames, p.expected)) {
      if (!options.skipReference)
        ok &= write(dir + "/expected" + std::to_string(index) + ".bin",
                    StringRef(reinterpret_cast<const char *>(e.data.data()),
                              e.data.size() * sizeof(double)));
      // A result that updates a parameter is read from that parameter.
      std::optional<unsigned> param = tiedParameter(p.func, i);
      if (param)
        afterCall += llvm::formatv(
                         "  if (status == GATEC_OK) cuMemcpyDtoD(d[{0}], "
                         "d[{1}], size_t(kTensors[{0}].elements) * "
                         "kTensors[{0}].bytesPerElement);\n",
                         index, *param)
                         .str();
      addTensor(name, e.elementType, e.shape, true,
                gatec::outputTolerance(p.func, i), /*passed=*/!param);
    }
    std::string source =
        "// Generated by gatec-check --write-cuda-case. Build: c++ -std=c++17 "
        "-O2 case.cpp -I<cuda>/include -L<cuda>/lib64 -lcuda\n"
        "#include \"kernels.h\"\n#include <string>\n";
    source += llvm::formatv("static const char kKernel[] = \"{0}\";\n", p.name)
                  .str();
    source += "namespace {\nstruct CaseTensor;\n}\n";
    std::string mainText = kCaseMain;
    // kTensors and call() go after CaseTensor's definition.
    size_t at = mainText.find("} // namespace");
    std::string defs = llvm::formatv(
        "const CaseTensor kTensors[] = {{\n{0}};\n"
        "const int kNumTensors = {1};\n"
        "const unsigned long long kSeed = {4}ULL;\n"
        "const double kRandomScales[] = {{{5}0};\n"
        "int call(const std::vector<CUdeviceptr> &d, CUstream stream, "
        "gatec_error *err) {{\n  int status = gatec_cuda_{2}({3}, stream, "
        "err);\n{6}  return status;\n}\n",
        tensors, index, p.name, args, options.seed, scales, afterCall);
    mainText.insert(at, defs);
    StringRef marker = "// @CASE_RANDOM@";
    size_t randomAt = mainText.find(marker.str());
    mainText.insert(randomAt, std::string(kCaseRandomSource) + "\n");
    source += mainText;
    ok &= write(dir + "/kernels.h", *header);
    ok &= write(dir + "/case.cpp", source);
    if (!ok)
      report.error = "cannot write the case files under " + dir.str().str();
    else
      report.written = dir.str().str();
  }
  return "";
}

/// What a failed case program said: cuda-sim's reports (docs/cuda-sim.md)
/// when there are any, which name the kernel, PTX line, block and thread;
/// else the end of its log.
std::string caseFailure(StringRef log) {
  std::string reports;
  SmallVector<StringRef> lines;
  log.split(lines, '\n');
  for (auto [i, line] : llvm::enumerate(lines)) {
    if (!line.starts_with("cuda-sim: ") || reports.size() > 2000)
      continue;
    reports += line.str() + "\n";
    if (i + 1 < lines.size() && lines[i + 1].starts_with("  "))
      reports += lines[i + 1].str() + "\n";
  }
  if (!reports.empty())
    return reports + StringRef(log).take_back(200).str();
  return StringRef(log).take_back(300).str();
}

/// Runs every prepared kernel on GPU 0 through its case program (written to
/// a temporary directory, built with the system C++ compiler against CUDA),
/// compares the outputs the program writes back with the oracle, and reads
/// its timing. Returns an error that applies to every kernel, or "".
std::string runOnCUDA(ModuleOp module, std::vector<Prepared> &prepared,
                      std::vector<gatec::KernelReport> &reports,
                      const gatec::CheckOptions &options,
                      const gatec::CheckOptions::CUDAConfig &config) {
  llvm::SmallString<128> dir;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("gatec-check-cuda", dir))
    return "cannot create a temporary directory: " + ec.message();
  llvm::scope_exit removeDir(
      [&] { (void)llvm::sys::fs::remove_directories(dir); });
  std::string error =
      writeCUDACases(module, prepared, reports, options, config, dir);
  if (!error.empty())
    return error;
  std::optional<std::string> cxx = findCxx();
  if (!cxx)
    return "no C++ compiler (c++, g++ or clang++) on PATH";
  std::string root = cudaRoot();
  std::string include = "-I" + root + "/include";
  std::string libs = "-L" + root + "/lib64";
  std::string stubs = "-L" + root + "/lib64/stubs";
  // Another driver (cuda-sim) first on the link line and as the rpath, so
  // the case program loads it without LD_LIBRARY_PATH.
  std::string driverLink, driverRpath;
  if (!options.cudaDriverDir.empty()) {
    driverLink = "-L" + options.cudaDriverDir;
    driverRpath = "-Wl,-rpath," + options.cudaDriverDir;
  }
  std::string iterations = std::to_string(options.timeIterations);
  llvm::Regex timeLine("TIME [^ ]+ ([0-9.]+) ms");
  for (Prepared &p : prepared) {
    gatec::KernelReport &report = *llvm::find_if(
        reports,
        [&](const gatec::KernelReport &r) { return r.kernel == p.name; });
    if (!report.error.empty())
      continue;
    std::string caseDir = report.written;
    report.written.clear();
    std::string source = caseDir + "/case.cpp", program = caseDir + "/case",
                logPath = caseDir + "/run.log";
    SmallVector<llvm::StringRef> compileArgs = {
        *cxx, "-std=c++17", "-O2", include, "-o", program, source};
    if (!driverLink.empty())
      compileArgs.append({driverLink, driverRpath});
    compileArgs.append({libs, stubs, "-lcuda"});
    std::string compileError;
    if (llvm::sys::ExecuteAndWait(*cxx, compileArgs, std::nullopt, {}, 0, 0,
                                  &compileError) != 0) {
      report.error = "compiling the case program failed " + compileError;
      continue;
    }
    llvm::StringRef runArgs[] = {program, iterations, caseDir,
                                 "--write-outputs"};
    std::optional<llvm::StringRef> redirects[] = {std::nullopt, logPath,
                                                  logPath};
    int rc = llvm::sys::ExecuteAndWait(program, runArgs, std::nullopt,
                                       redirects);
    std::string log;
    if (auto buffer = llvm::MemoryBuffer::getFile(logPath))
      log = (*buffer)->getBuffer().str();
    // The program's own verdict is not used: its outputs are compared here.
    std::vector<Buffer> outputs;
    for (auto [j, name, expected] :
         llvm::enumerate(p.outputNames, p.expected)) {
      size_t index = p.inputs.size() + j;
      auto bytes = llvm::MemoryBuffer::getFile(
          caseDir + "/out" + std::to_string(index) + ".bin",
          /*IsText=*/false, /*RequiresNullTerminator=*/false);
      Buffer output = Buffer::make(expected.elementType, expected.shape);
      size_t size = expected.numElements() * byteWidth(expected.elementType);
      if (!bytes || (*bytes)->getBufferSize() != size) {
        report.error = llvm::formatv("the case program (exit {0}) wrote no "
                                     "{1}: {2}",
                                     rc, name, caseFailure(log))
                           .str();
        break;
      }
      std::memcpy(output.data(), (*bytes)->getBufferStart(), size);
      outputs.push_back(std::move(output));
    }
    if (report.error.empty() && options.skipReference)
      for (auto [name, expected, output] :
           llvm::zip(p.outputNames, p.expected, outputs))
        report.outputs.push_back(checkWritten(name, expected, output));
    else if (report.error.empty())
      report.outputs = compareOutputs(p, outputs, options, report.notes);
    if (!report.error.empty() || options.timeIterations == 0)
      continue;
    SmallVector<StringRef> match;
    if (!timeLine.match(log, &match) ||
        StringRef(match[1]).getAsDouble(report.milliseconds))
      report.error = "no timing from the case program: " +
                     StringRef(log).take_back(300).str();
  }
  return "";
}

} // namespace

std::vector<gatec::KernelReport>
gatec::checkKernels(ModuleOp module, const CheckOptions &options) {
  std::vector<KernelReport> reports;
  MLIRContext *ctx = module.getContext();
  FailureOr<CPUTarget> target = lookupCPUTarget(options.cpu);

  // Inputs and oracle results first, from the gate-level module.
  std::vector<Prepared> prepared;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isPrivate() || func.isExternal())
      continue;
    std::string name = func.getSymName().str();
    if (!options.kernels.empty() &&
        !llvm::is_contained(options.kernels, name))
      continue;
    KernelReport report;
    report.kernel = name;
    if (failed(target)) {
      report.error = "unknown CPU target '" + options.cpu + "'";
      reports.push_back(report);
      continue;
    }
    Prepared p;
    p.name = name;
    p.func = func;
    std::vector<TensorValue> inputs;
    Normal normal(options.seed);
    for (unsigned i = 0; i < func.getNumArguments() && report.error.empty();
         ++i) {
      Type type = func.getArgumentTypes()[i];
      DictionaryAttr attrs = func.getArgAttrDict(i);
      std::string argName = nameOf(attrs, "arg" + std::to_string(i));
      FailureOr<SmallVector<int64_t>> shape =
          bindShape(attrs, type, argName, options, report.error);
      if (failed(shape)) {
        report.error = argName + ": " + report.error;
        break;
      }
      Type elementType = cast<RankedTensorType>(type).getElementType();
      TensorValue t{elementType, *shape, {}};
      auto given = options.inputValues.find(argName);
      if (given != options.inputValues.end()) {
        if (static_cast<int64_t>(given->second.size()) != t.numElements()) {
          report.error = llvm::formatv("{0}: {1} values given, {2} needed",
                                       argName, given->second.size(),
                                       t.numElements())
                             .str();
          break;
        }
        t.data = given->second;
      } else if (isa<FloatType>(elementType)) {
        double scale = options.inputScales.lookup(argName);
        if (scale == 0)
          scale = 1.0;
        p.randomScales.resize(i + 1, 0.0);
        p.randomScales[i] = scale;
        // CUDA runs go through case programs, which regenerate them.
        if (!options.cuda.empty())
          for (int64_t n = 0; n < t.numElements(); ++n)
            t.data.push_back(static_cast<float>(
                scale * caseRandom(options.seed, i, n)));
        else
          for (int64_t n = 0; n < t.numElements(); ++n)
            t.data.push_back(scale * normal.next());
      } else {
        report.error = argName + ": integer inputs need explicit values "
                                 "(--input " + argName + "=v0,v1,...)";
        break;
      }
      // The oracle sees exactly the values the kernel reads.
      for (double &x : t.data)
        x = ref::roundTo(elementType, x);
      Buffer b = Buffer::make(elementType, t.shape);
      store(elementType, t.data, b.data());
      p.inputs.push_back(std::move(b));
      inputs.push_back(std::move(t));
    }
    if (report.error.empty() && options.skipReference) {
      // Shapes only: the outputs' gate.shape under the bound dims.
      for (unsigned r = 0; r < func.getNumResults() && report.error.empty();
           ++r) {
        DictionaryAttr attrs = func.getResultAttrDict(r);
        std::string resultName = nameOf(attrs, "result" + std::to_string(r));
        FailureOr<SmallVector<int64_t>> shape =
            bindShape(attrs, func.getResultTypes()[r], resultName, options,
                      report.error);
        if (failed(shape)) {
          report.error = resultName + ": " + report.error;
          break;
        }
        TensorValue t{cast<RankedTensorType>(func.getResultTypes()[r])
                          .getElementType(),
                      *shape,
                      {}};
        t.data.assign(t.numElements(), 0.0);
        p.expected.push_back(std::move(t));
        p.outputNames.push_back(resultName);
      }
    } else if (report.error.empty()) {
      ref::RouterHooks hooks;
      hooks.trace = &p.routers;
      FailureOr<std::vector<TensorValue>> expected =
          ref::interpret(func, inputs, report.error, &hooks);
      if (succeeded(expected)) {
        p.expected = std::move(*expected);
        for (unsigned r = 0; r < func.getNumResults(); ++r)
          p.outputNames.push_back(
              nameOf(func.getResultAttrDict(r), "result" + std::to_string(r)));
        if (!p.routers.empty())
          p.oracleInputs = std::move(inputs);
      } else {
        report.error = "reference interpreter: " + report.error;
      }
    }
    if (!report.error.empty()) {
      reports.push_back(report);
      continue;
    }
    prepared.push_back(std::move(p));
    reports.push_back(report);
  }
  if (prepared.empty())
    return reports;

  // Then the compiled kernels, all from one JIT-compiled module.
  auto setError = [&](const std::string &message) {
    for (KernelReport &r : reports)
      if (r.error.empty())
        r.error = message;
    return reports;
  };
  if (!options.cuda.empty()) {
    // Each configuration checks the same prepared kernels against the same
    // oracle outputs; with several, reports name their configuration.
    std::vector<KernelReport> all;
    for (const CheckOptions::CUDAConfig &config : options.cuda) {
      std::vector<KernelReport> configReports = reports;
      std::string error =
          options.cudaCaseDir.empty()
              ? runOnCUDA(module, prepared, configReports, options, config)
              : writeCUDACases(module, prepared, configReports, options,
                               config, options.cudaCaseDir);
      for (KernelReport &r : configReports) {
        if (!error.empty() && r.error.empty())
          r.error = error;
        if (options.cuda.size() > 1)
          r.kernel += " [" + config.name() + "]";
        all.push_back(std::move(r));
      }
    }
    return all;
  }
  OwningOpRef<ModuleOp> compiled = module.clone();
  PassManager pm(ctx);
  CPUPipelineOptions pipelineOptions;
  pipelineOptions.vectorWidth = target->vectorWidth;
  pipelineOptions.nativeBF16 = target->nativeBF16;
  pipelineOptions.roundMultiplicands = options.roundMultiplicands;
  buildCPUPipeline(pm, pipelineOptions);
  if (options.useCommandLinePassOptions &&
      failed(applyPassManagerCLOptions(pm)))
    return setError("invalid MLIR pass-manager options");
  std::string diagnostics;
  {
    llvm::raw_string_ostream os(diagnostics);
    ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &d) {
      os << d.getLocation() << ": " << d.str() << "\n";
      return success();
    });
    if (failed(pm.run(*compiled)))
      return setError("CPU pipeline failed: " + diagnostics);
  }

  // The artifact a user links: an object file, here linked into a shared
  // library with lld and loaded, so the check covers object emission too.
  llvm::SmallString<128> dir;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("gatec-check", dir))
    return setError("cannot create a temporary directory: " + ec.message());
  llvm::scope_exit removeDir(
      [&] { (void)llvm::sys::fs::remove_directories(dir); });
  llvm::SmallString<128> objectPath(dir), libraryPath(dir);
  llvm::sys::path::append(objectPath, "kernels.o");
  llvm::sys::path::append(libraryPath, "kernels.so");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(objectPath, ec);
    if (ec)
      return setError("cannot write " + objectPath.str().str());
    if (failed(emitCPUArtifact(*compiled, *target, CPUArtifact::Object, os)))
      return setError("object emission failed");
  }
  std::string linker = GATEC_LLD_PATH;
  llvm::StringRef linkArgs[] = {linker,      "-shared",  "-o",
                                libraryPath, objectPath, GATEC_LIBOMP_PATH};
  std::string linkError;
  if (llvm::sys::ExecuteAndWait(linker, linkArgs, std::nullopt, {}, 0, 0,
                                &linkError) != 0)
    return setError("linking the kernels failed: " + linkError);
  void *library = dlopen(libraryPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library)
    return setError(std::string("dlopen: ") + dlerror());
  llvm::scope_exit closeLibrary([&] { dlclose(library); });

  for (Prepared &p : prepared) {
    KernelReport &report = *llvm::find_if(
        reports, [&](const KernelReport &r) { return r.kernel == p.name; });
    std::vector<Buffer> outputs;
    // Parameters the kernel updates in place, with their values before the
    // call (restored before each further run).
    SmallVector<std::pair<unsigned, std::string>> updated;
    for (unsigned r = 0; r < p.expected.size(); ++r)
      if (std::optional<unsigned> param = tiedParameter(p.func, r)) {
        Buffer &in = p.inputs[*param];
        updated.push_back({*param, std::string(in.data(), in.byteSize())});
      }
    for (const TensorValue &e : p.expected) {
      Buffer b = Buffer::make(e.elementType, e.shape);
      // Poison the outputs so an element the kernel never writes shows up.
      std::vector<double> poison(
          e.numElements(), isa<FloatType>(e.elementType)
                               ? std::numeric_limits<double>::quiet_NaN()
                               : -12345.0);
      store(e.elementType, poison, b.data());
      outputs.push_back(std::move(b));
    }
    std::vector<void *> descriptorPointers;
    for (Buffer &b : p.inputs)
      descriptorPointers.push_back(b.buildDescriptor());
    for (auto [r, b] : llvm::enumerate(outputs))
      if (!tiedParameter(p.func, r))
        descriptorPointers.push_back(b.buildDescriptor());
    // After a call, each in-place result is its parameter's buffer.
    auto collectUpdated = [&] {
      for (unsigned r = 0; r < outputs.size(); ++r)
        if (std::optional<unsigned> param = tiedParameter(p.func, r))
          std::memcpy(outputs[r].data(), p.inputs[*param].data(),
                      outputs[r].byteSize());
    };
    void *entry = dlsym(library, ("_mlir_ciface_" + p.name).c_str());
    if (!entry) {
      report.error = "no entry point _mlir_ciface_" + p.name;
      continue;
    }
    if (failed(callWithPointers(entry, descriptorPointers))) {
      report.error = "too many arguments for the checker";
      continue;
    }
    collectUpdated();
    auto bytesOf = [](const TensorValue &e, Buffer &b) {
      return std::string(b.data(), e.numElements() * byteWidth(e.elementType));
    };
    std::vector<std::string> firstRun;
    for (auto [expected, output] : llvm::zip(p.expected, outputs))
      firstRun.push_back(bytesOf(expected, output));
    // Further runs start from other poison, so that an output element left
    // unwritten differs too.
    for (unsigned run = 1; run < options.runs && report.error.empty(); ++run) {
      for (auto [expected, output] : llvm::zip(p.expected, outputs))
        std::memset(output.data(), 0x5a + run,
                    expected.numElements() * byteWidth(expected.elementType));
      for (const auto &[param, before] : updated)
        std::memcpy(p.inputs[param].data(), before.data(), before.size());
      (void)callWithPointers(entry, descriptorPointers);
      collectUpdated();
      for (auto [name, expected, output, first] :
           llvm::zip(p.outputNames, p.expected, outputs, firstRun))
        if (bytesOf(expected, output) != first) {
          report.error = llvm::formatv("run {0} of {1} wrote different bytes "
                                       "to {2} than run 1",
                                       run + 1, options.runs, name)
                             .str();
          break;
        }
    }
    report.outputs = compareOutputs(p, outputs, options, report.notes);
    if (options.keepOutputBytes)
      for (auto [o, first] : llvm::zip(report.outputs, firstRun))
        o.bytes = std::move(first);
  }
  return reports;
}

void gatec::printReports(ArrayRef<KernelReport> reports,
                         llvm::raw_ostream &os) {
  for (const KernelReport &r : reports) {
    if (!r.error.empty()) {
      os << "FAIL " << r.kernel << ": " << r.error << "\n";
      continue;
    }
    if (!r.written.empty()) {
      os << "WROTE " << r.kernel << ": " << r.written << "\n";
      continue;
    }
    for (const OutputReport &o : r.outputs) {
      os << (o.passed ? "  ok   " : "  FAIL ") << r.kernel << "." << o.name
         << " (" << o.dtype << ", " << o.elements << " elements): ";
      if (o.dtype.rfind("i", 0) == 0)
        os << static_cast<int64_t>(o.error) << " mismatches";
      else
        os << llvm::formatv("max error {0:e2} (tolerance {1:e1})", o.error,
                            o.tolerance);
      if (!o.passed)
        os << "; first: " << o.firstMismatch;
      os << "\n";
    }
    for (const std::string &note : r.notes)
      os << "  note " << r.kernel << ": " << note << "\n";
    os << (r.passed() ? "PASS " : "FAIL ") << r.kernel;
    if (r.milliseconds >= 0)
      os << llvm::formatv(" ({0:f4} ms per call)", r.milliseconds);
    os << "\n";
  }
}
