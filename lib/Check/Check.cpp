//===- Check.cpp - Run a compiled kernel against the oracle ---------------===//
//
// Part of gatec. checkKernels: prepares the kernels (PrepareKernels.cpp),
// then runs them on the CPU in process, compiled by the CPU pipeline into
// an object file linked into a shared library, or on CUDA through case
// programs (CUDACases.cpp), and compares their outputs with the oracle's
// (CompareOutputs.cpp).
//
//===----------------------------------------------------------------------===//

#include "gatec/Check/Check.h"

#include "Check/KernelCase.h"

#include "gatec/Pipelines/Pipelines.h"
#include "gatec/Target/CPU/CPUTarget.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <dlfcn.h>
#include <limits>
#include <utility>

using namespace mlir;
using gatec::ref::TensorValue;

using namespace gatec::detail;

namespace {

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

} // namespace

std::vector<gatec::KernelReport>
gatec::checkKernels(ModuleOp module, const CheckOptions &options) {
  std::vector<KernelReport> reports;
  MLIRContext *ctx = module.getContext();
  FailureOr<CPUTarget> target = lookupCPUTarget(options.cpu);

  // Inputs and oracle results first, from the gate-level module.
  std::vector<Prepared> prepared =
      prepareKernels(module, options, succeeded(target), reports);
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
              : writeCUDACases(module, prepared, configReports, options, config,
                               options.cudaCaseDir);
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
      std::vector<double> poison(e.numElements(),
                                 isa<FloatType>(e.elementType)
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
    // Without the oracle, outputs are checked as the CUDA cases check
    // them: written and finite.
    if (options.skipReference)
      for (auto [name, expected, output] :
           llvm::zip(p.outputNames, p.expected, outputs))
        report.outputs.push_back(checkWritten(name, expected, output));
    else
      report.outputs = compareOutputs(p, outputs, options, report.notes);
    if (options.keepOutputBytes)
      for (auto [o, first] : llvm::zip(report.outputs, firstRun))
        o.bytes = std::move(first);
  }
  return reports;
}
