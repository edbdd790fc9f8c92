//===- gatec-check.cpp - Compiled kernels against the oracle --------------===//
//
// Part of gatec. Reads gate-level MLIR (what `gatec --emit=mlir` prints),
// compiles each kernel for the CPU, runs it on seeded random inputs and
// compares it with the reference interpreter. Exit status 1 on any mismatch.
//
//===----------------------------------------------------------------------===//

#include "gatec/Check/Check.h"
#include "gatec/InitAll.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
namespace cl = llvm::cl;

/// gatec-check's own options: with MLIR's, the only ones --help lists.
static cl::OptionCategory category("gatec-check options");

static cl::opt<std::string> inputFile(cl::Positional,
                                      cl::desc("<gate-level .mlir, or ->"),
                                      cl::init("-"), cl::cat(category));
static cl::list<std::string>
    kernels("kernel", cl::desc("Check only this kernel"), cl::cat(category));
static cl::list<std::string>
    dims("dim", cl::desc("Size of a symbolic dimension: --dim T=37"),
         cl::cat(category));
static cl::list<std::string>
    inputs("input", cl::desc("Exact input values: --input cu_seqlens=0,3,7"),
           cl::cat(category));
static cl::list<std::string>
    scales("scale", cl::desc("Std. deviation of a random input: --scale x=0.1"),
           cl::cat(category));
static cl::opt<uint64_t> seed("seed", cl::desc("Random seed"), cl::init(1),
                              cl::cat(category));
static cl::opt<int64_t> intMismatches(
    "int-mismatches",
    cl::desc("Integer elements allowed to differ per output (router "
             "choices at near ties are accepted without it, and reported)"),
    cl::init(0), cl::cat(category));
static cl::opt<std::string>
    cpu("cpu", cl::desc("CPU level: x86-64-v3, x86-64-v4 or native"),
        cl::init("native"), cl::cat(category));
static cl::opt<unsigned>
    runs("runs",
         cl::desc("Run each kernel N times; every run must write the same "
                  "bytes as the first"),
         cl::init(1), cl::cat(category));
static cl::opt<std::string> cuda(
    "cuda",
    cl::desc("Run on GPU 0 compiled for these CUDA configurations, a comma-"
             "separated list of chips (sm_80, sm_90a...), each optionally "
             "with +wgmma and @MxNxKxS (its --cuda-matmul-tile), through the "
             "generated CUDA header; the oracle runs once. Needs a GPU and "
             "its driver, or --cuda-driver"),
    cl::value_desc("chip[+wgmma][@tile],..."), cl::cat(category));
static cl::opt<std::string> cudaDriver(
    "cuda-driver",
    cl::desc("With --cuda: the directory of the libcuda the case programs "
             "load, e.g. cuda-sim's build/lib/cuda-sim to run without a GPU "
             "(docs/cuda-sim.md)"),
    cl::value_desc("dir"), cl::cat(category));
static cl::opt<unsigned> timeIterations(
    "time",
    cl::desc("With --cuda: also time N back-to-back calls of each kernel "
             "(after 3 warm-up calls) and print the mean"),
    cl::init(0), cl::cat(category));
static cl::opt<bool> cudaWgmma(
    "cuda-wgmma",
    cl::desc("With --cuda=sm_90a: matmuls on wgmma.mma_async instead of "
             "mma.sync (gatec --cuda-wgmma); the same as --cuda=sm_90a+wgmma"),
    cl::init(false), cl::cat(category));
static cl::opt<std::string> cudaMatmulTile(
    "cuda-matmul-tile",
    cl::desc("With --cuda: one block tile for every matmul, MxNxKxS "
             "(gatec --cuda-matmul-tile; what scripts/gpu-tune.sh varies)"),
    cl::value_desc("MxNxKxS"), cl::cat(category));
static cl::opt<std::string> writeCudaCase(
    "write-cuda-case",
    cl::desc("With --cuda: write a self-contained case per kernel under DIR "
             "(CUDA header, case.cpp, inputs, oracle outputs) instead of "
             "running; see scripts/gpu-check.sh"),
    cl::value_desc("dir"), cl::cat(category));
static cl::opt<bool> skipReference(
    "skip-reference",
    cl::desc("Do not run the reference interpreter (shapes too large for "
             "it): outputs are only checked for being written and finite"),
    cl::init(false), cl::cat(category));
static cl::opt<bool> roundMultiplicands(
    "round-multiplicands",
    cl::desc("Compile the CPU kernels with the rounding that the CUDA "
             "backend's tensor cores apply to the chunked scans' products "
             "(bf16 operands, f32 sums), to measure its error without a GPU"),
    cl::init(false), cl::cat(category));
static cl::opt<std::string> dumpOutputs(
    "dump-outputs",
    cl::desc("Write the raw bytes of every output (kernels and outputs in "
             "report order, no padding) to FILE, for bit-for-bit comparisons "
             "between runs"),
    cl::value_desc("file"), cl::cat(category));

static cl::list<std::string> testSetOutput(
    "test-set-output",
    cl::desc("Testing the checker: overwrite element I of every kernel's "
             "output NAME with V before comparing it"),
    cl::value_desc("NAME:I=V"), cl::Hidden, cl::cat(category));

static bool splitAssignment(const std::string &text, std::string &name,
                            std::string &value) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    return false;
  name = text.substr(0, eq);
  value = text.substr(eq + 1);
  return true;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // MLIR's options for the context that parses the input and the pass
  // managers that compile it (--mlir-print-ir-after-failure,
  // --mlir-disable-threading...). libLLVM registers hundreds of
  // backend-internal options too; --help lists only these and gatec-check's
  // own, as gatec's does. The others still work, unlisted.
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  cl::OptionCategory mlirCategory("MLIR options (context, pass manager, "
                                  "printing)");
  for (auto &[name, option] : cl::getRegisteredOptions())
    if (name.starts_with("mlir-"))
      option->addCategory(mlirCategory);
  cl::HideUnrelatedOptions({&category, &mlirCategory});
  cl::ParseCommandLineOptions(argc, argv, "gatec kernel checker\n");

  gatec::CheckOptions options;
  options.kernels.assign(kernels.begin(), kernels.end());
  options.seed = seed;
  options.intMismatches = intMismatches;
  options.cpu = cpu;
  options.useCommandLinePassOptions = true;
  if (runs < 1) {
    llvm::errs() << "gatec-check: --runs must be at least 1\n";
    return 1;
  }
  options.runs = runs;
  options.keepOutputBytes = !dumpOutputs.empty();
  llvm::SmallVector<llvm::StringRef> entries;
  if (!cuda.empty())
    llvm::StringRef(cuda).split(entries, ',');
  for (llvm::StringRef entry : entries) {
    gatec::CheckOptions::CUDAConfig config;
    auto [head, tile] = entry.split('@');
    entry = head;
    config.matmulTile = tile.str();
    config.wgmma = entry.consume_back("+wgmma") || cudaWgmma;
    config.chip = entry.str();
    if (config.chip.empty()) {
      llvm::errs() << "gatec-check: --cuda: empty configuration in '" << cuda
                   << "'\n";
      return 1;
    }
    options.cuda.push_back(config);
  }
  options.cudaDriverDir = cudaDriver;
  options.cudaMatmulTile = cudaMatmulTile;
  options.timeIterations = timeIterations;
  options.skipReference = skipReference;
  options.roundMultiplicands = roundMultiplicands;
  if (roundMultiplicands && !cuda.empty()) {
    llvm::errs() << "gatec-check: --round-multiplicands applies to CPU "
                    "kernels; a --cuda kernel rounds on its own\n";
    return 1;
  }
  options.cudaCaseDir = writeCudaCase;
  if (!options.cudaCaseDir.empty() && options.cuda.size() != 1) {
    llvm::errs() << "gatec-check: --write-cuda-case needs one --cuda=CHIP\n";
    return 1;
  }
  for (const std::string &d : dims) {
    std::string name, value;
    long long size;
    if (!splitAssignment(d, name, value) ||
        llvm::StringRef(value).getAsInteger(10, size) || size < 0) {
      llvm::errs() << "gatec-check: expected --dim NAME=SIZE, got '" << d
                   << "'\n";
      return 1;
    }
    options.dims[name] = size;
  }
  for (const std::string &in : inputs) {
    std::string name, value;
    if (!splitAssignment(in, name, value)) {
      llvm::errs() << "gatec-check: expected --input NAME=v0,v1,..., got '"
                   << in << "'\n";
      return 1;
    }
    std::vector<double> values;
    llvm::SmallVector<llvm::StringRef> parts;
    llvm::StringRef(value).split(parts, ',', -1, /*KeepEmpty=*/false);
    for (llvm::StringRef part : parts) {
      double v;
      if (part.trim().getAsDouble(v)) {
        llvm::errs() << "gatec-check: '" << part << "' is not a number\n";
        return 1;
      }
      values.push_back(v);
    }
    options.inputValues[name] = values;
  }
  for (const std::string &set : testSetOutput) {
    std::string target, value;
    gatec::CheckOptions::OutputOverride o;
    auto [output, element] = llvm::StringRef(set).split(':');
    if (!splitAssignment(element.str(), target, value) ||
        llvm::StringRef(target).getAsInteger(10, o.element) ||
        llvm::StringRef(value).getAsDouble(o.value) || output.empty()) {
      llvm::errs() << "gatec-check: expected --test-set-output=NAME:I=V, got '"
                   << set << "'\n";
      return 1;
    }
    o.output = output.str();
    options.testOverrides.push_back(o);
  }
  for (const std::string &s : scales) {
    std::string name, value;
    double v;
    if (!splitAssignment(s, name, value) ||
        llvm::StringRef(value).getAsDouble(v)) {
      llvm::errs() << "gatec-check: expected --scale NAME=STDDEV, got '" << s
                   << "'\n";
      return 1;
    }
    options.inputScales[name] = v;
  }

  DialectRegistry registry;
  gatec::registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  std::string errorMessage;
  auto file = openInputFile(inputFile, &errorMessage);
  if (!file) {
    llvm::errs() << "gatec-check: " << errorMessage << "\n";
    return 1;
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;
  std::vector<gatec::KernelReport> reports =
      gatec::checkKernels(*module, options);
  gatec::printReports(reports, llvm::outs());
  if (!dumpOutputs.empty()) {
    std::string error;
    std::unique_ptr<llvm::ToolOutputFile> dump =
        openOutputFile(dumpOutputs, &error);
    if (!dump) {
      llvm::errs() << "gatec-check: " << error << "\n";
      return 1;
    }
    for (const gatec::KernelReport &r : reports)
      for (const gatec::OutputReport &o : r.outputs)
        dump->os() << o.bytes;
    dump->keep();
  }
  int passed = 0, failedCount = 0;
  for (const gatec::KernelReport &r : reports)
    (r.passed() ? passed : failedCount)++;
  llvm::outs() << "gatec-check: " << passed << " passed, " << failedCount
               << " failed\n";
  return failedCount || reports.empty() ? 1 : 0;
}
