//===- PrepareKernels.cpp - Inputs and oracle outputs of a check ----------===//
//
// Part of gatec. The first step of checkKernels: each kernel's argument
// shapes bound from gate.shape and --dim, its inputs (given, or drawn from
// a seeded generator that the CUDA case programs share), and the reference
// interpreter's outputs on them.
//
//===----------------------------------------------------------------------===//

#include "Check/KernelCase.h"
#include "gatec/Dialect/Gate/KernelABI.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <optional>
#include <random>

using namespace mlir;
using gatec::ref::TensorValue;

namespace {

/// The shape of an argument or result under the sizes given with --dim:
/// its gate.shape evaluated as the entry points evaluate it.
FailureOr<SmallVector<int64_t>> bindShape(const gate::TensorABI &tensor,
                                          const std::string &name,
                                          const gatec::CheckOptions &options,
                                          std::string &error) {
  auto tensorType = dyn_cast<RankedTensorType>(tensor.type);
  if (!tensorType) {
    error = "kernel arguments must be ranked tensors";
    return failure();
  }
  auto given = [&](StringRef symbol) -> std::optional<int64_t> {
    auto it = options.dims.find(symbol.str());
    if (it == options.dims.end())
      return std::nullopt;
    return it->second;
  };
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < tensorType.getRank(); ++i) {
    if (!tensorType.isDynamicDim(i)) {
      shape.push_back(tensorType.getDimSize(i));
      continue;
    }
    // Unnamed dynamic dims are called <name>_dim<i>, as in the headers.
    gate::DimAttr dim = gate::getDimOrDefault(tensor, i, name);
    std::optional<int64_t> size = dim.evaluate(given);
    if (!size || *size < 0) {
      SmallVector<StringRef> symbols;
      dim.collectSymbols(symbols);
      for (StringRef symbol : symbols)
        if (!given(symbol)) {
          error = "no size for dimension '" + dim.str() +
                  "': pass it with --dim " + symbol.str() + "=N";
          return failure();
        }
      error = "dimension '" + dim.str() + "' is " +
              (size ? std::to_string(*size) : "undefined (int64 overflow)") +
              " under the given --dim sizes";
      return failure();
    }
    shape.push_back(*size);
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
  float caseRandom(uint64_t seed, uint64_t input, uint64_t element) {          \
    double sum = 0;                                                            \
    for (uint64_t j = 0; j < 4; ++j) {                                         \
      uint64_t z =                                                             \
          seed * 0x9E3779B97F4A7C15ull + input * 0xBF58476D1CE4E5B9ull +       \
          element * 0x94D049BB133111EBull + j * 0xD6E8FEB86659FD93ull;         \
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

} // namespace

/// The same function as text, for the case programs.
const char *const gatec::detail::kCaseRandomSource =
    GATEC_QUOTE(GATEC_CASE_RANDOM);

std::vector<gatec::detail::Prepared>
gatec::detail::prepareKernels(ModuleOp module, const CheckOptions &options,
                              bool knownTarget,
                              std::vector<KernelReport> &reports) {
  std::vector<Prepared> prepared;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isPrivate() || func.isExternal())
      continue;
    std::string name = func.getSymName().str();
    if (!options.kernels.empty() && !llvm::is_contained(options.kernels, name))
      continue;
    KernelReport report;
    report.kernel = name;
    if (!knownTarget) {
      report.error = "unknown CPU target '" + options.cpu + "'";
      reports.push_back(report);
      continue;
    }
    FailureOr<gate::KernelABI> abi = gate::readKernelABI(func);
    if (failed(abi)) {
      report.error = "malformed kernel attributes (see the error above)";
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
      const gate::TensorABI &arg = abi->arguments[i];
      Type type = arg.type;
      std::string argName = arg.getName("arg" + std::to_string(i));
      FailureOr<SmallVector<int64_t>> shape =
          bindShape(arg, argName, options, report.error);
      if (failed(shape)) {
        report.error = argName + ": " + report.error;
        break;
      }
      Type elementType = cast<RankedTensorType>(type).getElementType();
      TensorValue t{elementType, *shape, {}};
      auto given = options.inputValues.find(argName);
      if (given != options.inputValues.end()) {
        if (static_cast<int64_t>(given->second.size()) != t.numElements()) {
          report.error =
              llvm::formatv("{0}: {1} values given, {2} needed", argName,
                            given->second.size(), t.numElements())
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
            t.data.push_back(
                static_cast<float>(scale * caseRandom(options.seed, i, n)));
        else
          for (int64_t n = 0; n < t.numElements(); ++n)
            t.data.push_back(scale * normal.next());
      } else {
        report.error = argName +
                       ": integer inputs need explicit values "
                       "(--input " +
                       argName + "=v0,v1,...)";
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
        const gate::TensorABI &result = abi->results[r];
        std::string resultName = result.getName("result" + std::to_string(r));
        FailureOr<SmallVector<int64_t>> shape =
            bindShape(result, resultName, options, report.error);
        if (failed(shape)) {
          report.error = resultName + ": " + report.error;
          break;
        }
        TensorValue t{
            cast<RankedTensorType>(func.getResultTypes()[r]).getElementType(),
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
              abi->results[r].getName("result" + std::to_string(r)));
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
  return prepared;
}
