//===- CUDACases.cpp - Check kernels through CUDA case programs -----------===//
//
// Part of gatec. A CUDA check writes, per kernel, a self-contained case
// program (the CUDA header, case.cpp, the given inputs and the oracle's
// outputs), and with a GPU (or cuda-sim) builds and runs it and compares
// the outputs it writes back.
//
//===----------------------------------------------------------------------===//

#include "Check/KernelCase.h"

#include "gatec/Pipelines/Pipelines.h"
#include "gatec/Target/CUDA/CUDATarget.h"
#include "gatec/Target/CppHeader/ExportCppHeader.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/DebugStringHelper.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using gatec::ref::TensorValue;

using namespace gatec::detail;

namespace {

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

} // namespace

/// Writes one directory per prepared kernel under `root`: the CUDA header,
/// case.cpp, the given inputs and the oracle's outputs.
std::string
gatec::detail::writeCUDACases(ModuleOp module, std::vector<Prepared> &prepared,
                              std::vector<gatec::KernelReport> &reports,
                              const gatec::CheckOptions &options,
                              const gatec::CheckOptions::CUDAConfig &config,
                              StringRef root) {
  // The header of the kernels being checked only: another kernel of the
  // module may not be expressible as a CUDA entry point.
  OwningOpRef<ModuleOp> selected = module.clone();
  for (auto func : llvm::make_early_inc_range(selected->getOps<func::FuncOp>()))
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
    gatec::KernelReport &report =
        *llvm::find_if(reports, [&](const gatec::KernelReport &r) {
          return r.kernel == p.name;
        });
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
                         ArrayRef<int64_t> shape, bool output, double tolerance,
                         bool passed = true, bool mutableInput = false) {
      int64_t n = 1;
      for (int64_t d : shape)
        n *= d;
      tensors += llvm::formatv("  {{\"{0}\", \"{1}\", {2}, {3}LL, {4}, {5:e}, "
                               "{6}LL},\n",
                               name, debugString(t), byteWidth(t), n,
                               output ? "true" : "false", tolerance,
                               options.intMismatches)
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
        afterCall +=
            llvm::formatv("  if (status == GATEC_OK) cuMemcpyDtoD(d[{0}], "
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
    source +=
        llvm::formatv("static const char kKernel[] = \"{0}\";\n", p.name).str();
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

/// Runs every prepared kernel on GPU 0 through its case program (written to
/// a temporary directory, built with the system C++ compiler against CUDA),
/// compares the outputs the program writes back with the oracle, and reads
/// its timing. Returns an error that applies to every kernel, or "".
std::string
gatec::detail::runOnCUDA(ModuleOp module, std::vector<Prepared> &prepared,
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
    gatec::KernelReport &report =
        *llvm::find_if(reports, [&](const gatec::KernelReport &r) {
          return r.kernel == p.name;
        });
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
    int rc =
        llvm::sys::ExecuteAndWait(program, runArgs, std::nullopt, redirects);
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
