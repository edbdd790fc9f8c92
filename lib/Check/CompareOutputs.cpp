//===- CompareOutputs.cpp - Compare a kernel's outputs with the oracle ----===//
//
// Part of gatec. The tolerances per element type, the comparison of each
// output with the oracle's (or with what a kernel's routers allow at near
// ties, RouterTies.h), and the reports gatec-check prints.
//
//===----------------------------------------------------------------------===//

#include "Check/KernelCase.h"

#include "Check/RouterTies.h"
#include "gatec/Dialect/Gate/GateOps.h"
#include "mlir/Support/DebugStringHelper.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;
using gatec::ref::TensorValue;

using namespace gatec::detail;

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

} // namespace

namespace gatec::detail {

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
    reports.push_back(compare(
        name, expected, output, gatec::outputTolerance(p.func, i),
        options.intMismatches,
        bounds == routers.bounds.end() ? ArrayRef<std::pair<double, double>>()
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

} // namespace gatec::detail

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
