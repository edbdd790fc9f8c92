//===- Driver.cpp - The gatec command -------------------------------------===//
//
// Part of gatec. A client of the compiler library (gatec/Compiler.h): reads
// options in the style of MLIR's Toy driver (an -emit= enum), plus MLIR's
// own pass-manager, context and printer options so that
// --mlir-print-ir-after-all and --mlir-timing work as in mlir-opt, then
// writes the artifacts to files or stdout and the diagnostics to stderr.
// It lives in libGatecCompiler so that the tool and the library share one
// copy of the passes and dialects.
//
//===----------------------------------------------------------------------===//

#include "gatec/Compiler/Driver.h"

#include "gatec/Compiler.h"
#include "gatec/InitAll.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace gatec;
namespace cl = llvm::cl;
using llvm::StringRef;

namespace {

/// Indices into the emit-kind and target lists. Distinct enum types make
/// llvm::cl use its generic parser, whose literal options come from the
/// lists at run time.
enum class EmitIndex : unsigned {};
enum class TargetIndex : unsigned {};

/// gatec's own options; constructed in runGatecMain so that linking the
/// library into another tool does not register them there.
struct Options {
  std::vector<EmitKindDescription> emitKinds = listEmitKinds();
  std::vector<TargetDescription> targets = listTargets();

  cl::OptionCategory category{"gatec options"};

  cl::opt<std::string> input{cl::Positional,
                             cl::desc("<input .gate file, or - for stdin>"),
                             cl::cat(category)};
  cl::opt<std::string> outputDir{
      "o",
      cl::desc("Write each output to DIR/<module>.<suffix> (created if "
               "missing; <module> is --module-name, else the input's file "
               "name without extension, 'stdin' for -). Without -o, text "
               "goes to stdout"),
      cl::value_desc("dir"), cl::cat(category)};
  /// Indices into emitKinds; emitKinds.size() means `all`.
  cl::list<EmitIndex> emit{
      "emit",
      cl::desc("What to produce (a comma-separated list; default: "
               "mlir):"),
      cl::CommaSeparated, cl::cat(category)};
  /// An index into targets.
  cl::opt<TargetIndex> target{"target", cl::desc("The machine to compile for:"),
                              cl::init(TargetIndex(0)), cl::cat(category)};
  cl::opt<std::string> kernel{
      "kernel",
      cl::desc("Emit only the kernel NAME (every kernel is still checked)"),
      cl::value_desc("name"), cl::cat(category)};
  cl::opt<std::string> moduleName{
      "module-name",
      cl::desc("Name the outputs and the header's namespace "
               "gatec_kernels::NAME (default: the input's file stem)"),
      cl::value_desc("name"), cl::cat(category)};
  cl::opt<std::string> gatePipeline{
      "gate-pipeline",
      cl::desc("Passes to run on the gate-level module right after it is "
               "generated, as a textual pipeline (e.g. 'canonicalize,cse'); "
               "their result is what --emit=mlir prints and the backends "
               "compile"),
      cl::value_desc("passes"), cl::cat(category)};
  cl::opt<int64_t> chunkSize{
      "chunk-size",
      cl::desc("Chunk length of every chunked scan (overrides the source; "
               "not a scan with history, whose result shape depends on it)"),
      cl::value_desc("n"), cl::cat(category)};
  cl::opt<int64_t> cpuThreadTileRows{
      "cpu-thread-tile-rows",
      cl::desc("Rows of a matmul output each CPU thread computes (default 64)"),
      cl::value_desc("n"), cl::cat(category)};
  cl::opt<int64_t> cpuThreadTileCols{
      "cpu-thread-tile-cols",
      cl::desc("Columns of a matmul output each CPU thread computes (default "
               "256)"),
      cl::value_desc("n"), cl::cat(category)};
  cl::opt<int64_t> cpuReductionTile{
      "cpu-reduction-tile",
      cl::desc("Reduction (K) block of CPU matmuls (default 256)"),
      cl::value_desc("n"), cl::cat(category)};
  cl::opt<std::string> cudaMatmulTile{
      "cuda-matmul-tile",
      cl::desc("Block tile and cp.async stages of every CUDA tensor-core "
               "matmul, MxNxKxS (default: the tuned tile for each weight "
               "shape, else 128x128x32x2)"),
      cl::value_desc("MxNxKxS"), cl::cat(category)};
  cl::opt<std::string> remarks{
      "remarks",
      cl::desc("Report the decisions of the passes whose flag matches this "
               "regular expression (tiles chosen, producers fused, kernels "
               "built) as remarks at their source lines, e.g. "
               "--remarks=gatec-cpu or --remarks=.*"),
      cl::value_desc("regex"), cl::cat(category)};
  cl::opt<bool> cudaWgmma{
      "cuda-wgmma",
      cl::desc("With --target=cuda:sm_90a: tensor-core matmuls on "
               "wgmma.mma_async instead of mma.sync (not yet checked on a "
               "GPU)"),
      cl::cat(category)};

  Options() {
    for (auto [i, kind] : llvm::enumerate(emitKinds))
      emit.getParser().addLiteralOption(kind.name, EmitIndex(i),
                                        kind.description);
    emit.getParser().addLiteralOption(
        "all", EmitIndex(emitKinds.size()),
        "every output the target supports (except ast); needs -o");
    for (auto [i, t] : llvm::enumerate(targets))
      target.getParser().addLiteralOption(t.name, TargetIndex(i),
                                          t.description);
  }

  CompileOptions toCompileOptions() const {
    CompileOptions compile;
    compile.targets = {targets[static_cast<unsigned>(target.getValue())].name};
    compile.emit.clear();
    for (EmitIndex index : emit) {
      unsigned i = static_cast<unsigned>(index);
      compile.emit.push_back(i == emitKinds.size() ? "all" : emitKinds[i].name);
    }
    if (compile.emit.empty())
      compile.emit = {"mlir"};
    compile.kernel = kernel;
    compile.moduleName = moduleName;
    compile.gatePipeline = gatePipeline;
    auto optional = [](const cl::opt<int64_t> &option) {
      return option.getNumOccurrences() ? std::optional<int64_t>(option)
                                        : std::nullopt;
    };
    compile.chunkSize = optional(chunkSize);
    compile.cpuThreadTileRows = optional(cpuThreadTileRows);
    compile.cpuThreadTileCols = optional(cpuThreadTileCols);
    compile.cpuReductionTile = optional(cpuReductionTile);
    compile.cudaWgmma = cudaWgmma;
    compile.cudaMatmulTile = cudaMatmulTile;
    compile.remarks = remarks;
    compile.useCommandLinePassOptions = true;
    return compile;
  }
};

/// Reports a message that is about the command line, not the source.
int usageError(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "gatec") << message << "\n";
  return 1;
}

/// Writes `artifact` to DIR/<fileName>, or to stdout without -o.
int writeArtifact(const Artifact &artifact, StringRef outputDir) {
  if (outputDir.empty()) {
    llvm::outs() << artifact.data;
    llvm::outs().flush();
    return 0;
  }
  llvm::SmallString<128> path(outputDir);
  llvm::sys::path::append(path, artifact.fileName);
  std::string error;
  std::unique_ptr<llvm::ToolOutputFile> file =
      mlir::openOutputFile(path, &error);
  if (!file)
    return usageError(error);
  file->os() << artifact.data;
  file->keep();
  return 0;
}

int run(const Options &options) {
  if (options.input.empty())
    return usageError("no input file: give a .gate file, or - to read "
                      "stdin (see --help)");
  CompileOptions compile = options.toCompileOptions();
  // Request errors first: they say more than the -o rules below.
  std::vector<Diagnostic> requestErrors = checkOptions(compile);
  for (const Diagnostic &d : requestErrors)
    llvm::errs() << d.rendered;
  if (!requestErrors.empty())
    return 1;
  StringRef outputDir = options.outputDir;
  if (outputDir.empty()) {
    bool all = llvm::is_contained(compile.emit, "all");
    auto binary = llvm::find_if(compile.emit, [&](const std::string &name) {
      return llvm::any_of(options.emitKinds, [&](const auto &kind) {
        return kind.name == name && kind.binary;
      });
    });
    if (all || binary != compile.emit.end())
      return usageError("--emit=" + (all ? "all" : *binary) +
                        " writes files: give an output directory with -o "
                        "DIR");
  } else {
    if (llvm::sys::fs::exists(outputDir) &&
        !llvm::sys::fs::is_directory(outputDir))
      return usageError("-o takes a directory, but '" + outputDir +
                        "' is a file");
    if (std::error_code ec = llvm::sys::fs::create_directories(outputDir))
      return usageError("cannot create the output directory '" + outputDir +
                        "': " + ec.message());
  }

  // Diagnostics go out as they come, so that they interleave with
  // --mlir-print-ir-* output as they did in the passes.
  compile.onDiagnostic = [](const Diagnostic &d) {
    llvm::errs() << d.rendered;
  };
  CompileResult result = compileFile(options.input, compile);
  // What was produced before an error is still written.
  for (const Artifact &artifact : result.artifacts)
    if (int status = writeArtifact(artifact, outputDir))
      return status;
  return result.ok() ? 0 : 1;
}

} // namespace

int gatec::runGatecMain(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  // --gate-pipeline names passes from the registry.
  registerAllPasses();
  Options options;

  // libLLVM registers hundreds of backend-internal options; --help shows
  // gatec's own and MLIR's (--mlir-print-ir-after-all, --mlir-timing...).
  // The others still work, unlisted.
  cl::OptionCategory mlirCategory("MLIR options (pass manager, printing, "
                                  "timing)");
  for (auto &[name, option] : cl::getRegisteredOptions())
    if (name.starts_with("mlir-"))
      option->addCategory(mlirCategory);
  cl::HideUnrelatedOptions({&options.category, &mlirCategory});

  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "gatec " << getVersion() << "\n  built with LLVM "
       << LLVM_VERSION_STRING << "\n";
  });
  cl::ParseCommandLineOptions(
      argc, argv,
      "gatec: the ahead-of-time compiler for gating layers\n\n"
      "  gatec FILE.gate [-o DIR] [--emit=KIND[,KIND...]] [--target=TARGET]\n\n"
      "Compiles the kernels of a .gate file (see docs/DSL.md). Errors name\n"
      "file:line:col and make gatec exit with status 1.\n");
  return run(options);
}
