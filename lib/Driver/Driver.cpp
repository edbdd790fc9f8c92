//===- Driver.cpp - The gatec command -------------------------------------===//
//
// Part of gatec. Option handling in the style of MLIR's Toy driver (a
// -emit= enum), plus MLIR's own pass-manager, context and printer options so
// that --mlir-print-ir-after-all and --mlir-timing work as in mlir-opt.
//
//===----------------------------------------------------------------------===//

#include "gatec/Driver/Driver.h"

#include "gatec/Frontend/AST.h"
#include "gatec/Frontend/Diagnostics.h"
#include "gatec/Frontend/MLIRGen.h"
#include "gatec/Frontend/Parser.h"
#include "gatec/Frontend/Sema.h"
#include "gatec/InitAll.h"
#include "gatec/Pipelines/Pipelines.h"
#include "gatec/Target/CPU/CPUTarget.h"
#include "gatec/Target/CppHeader/ExportCppHeader.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#ifndef GATEC_VERSION
#define GATEC_VERSION "0.1.0"
#endif

using namespace gatec;
namespace cl = llvm::cl;
using llvm::StringRef;

//===----------------------------------------------------------------------===//
// Emitters
//===----------------------------------------------------------------------===//

static mlir::LogicalResult emitAST(EmitContext &context,
                                   llvm::raw_ostream &os) {
  dumpAST(context.ast, context.diag, os, context.onlyKernel);
  return mlir::success();
}

static mlir::LogicalResult emitGateMLIR(EmitContext &context,
                                        llvm::raw_ostream &os) {
  // OpPrintingFlags() picks up --mlir-print-debuginfo and friends.
  context.module->print(os, mlir::OpPrintingFlags());
  return mlir::success();
}

/// The CPU target row of the CPU backend's table for --target, or an error.
static mlir::FailureOr<CPUTarget> cpuTargetFor(EmitContext &context) {
  if (context.target.family != TargetFamily::CPU) {
    mlir::emitError(context.module.getLoc())
        << "the CUDA backend is not built into this gatec: --target="
        << context.target.name << " cannot be lowered yet";
    return mlir::failure();
  }
  mlir::FailureOr<CPUTarget> cpu = lookupCPUTarget(context.target.chip);
  if (mlir::failed(cpu))
    mlir::emitError(context.module.getLoc())
        << "no CPU backend for '" << context.target.chip << "'";
  return cpu;
}

/// Runs the CPU pipeline on a clone of the gate-level module.
static mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>>
lowerForCPU(EmitContext &context, bool stopAtVectors) {
  mlir::FailureOr<CPUTarget> cpu = cpuTargetFor(context);
  if (mlir::failed(cpu))
    return mlir::failure();
  mlir::OwningOpRef<mlir::ModuleOp> clone = context.module.clone();
  mlir::PassManager pm(context.module.getContext());
  if (mlir::failed(context.configurePassManager(pm)))
    return mlir::failure();
  CPUPipelineOptions options;
  options.vectorWidth = cpu->vectorWidth;
  options.nativeBF16 = cpu->nativeBF16;
  options.stopAtVectors = stopAtVectors;
  buildCPUPipeline(pm, options);
  if (mlir::failed(pm.run(*clone)))
    return mlir::failure();
  return clone;
}

static mlir::LogicalResult emitLoweredMLIR(EmitContext &context,
                                           llvm::raw_ostream &os) {
  auto lowered = lowerForCPU(context, /*stopAtVectors=*/true);
  if (mlir::failed(lowered))
    return mlir::failure();
  (*lowered)->print(os, mlir::OpPrintingFlags());
  return mlir::success();
}

/// LLVM IR, assembly or an object, from the (cached) fully lowered module.
static mlir::LogicalResult emitCPU(EmitContext &context, llvm::raw_ostream &os,
                                   CPUArtifact artifact) {
  mlir::FailureOr<CPUTarget> cpu = cpuTargetFor(context);
  if (mlir::failed(cpu))
    return mlir::failure();
  if (!context.loweredForCPU) {
    auto lowered = lowerForCPU(context, /*stopAtVectors=*/false);
    if (mlir::failed(lowered))
      return mlir::failure();
    context.loweredForCPU = std::move(*lowered);
  }
  // Object code needs a seekable stream; stdout and pipes get a buffer.
  llvm::SmallString<0> buffer;
  llvm::raw_svector_ostream bufferStream(buffer);
  if (mlir::failed(emitCPUArtifact(*context.loweredForCPU, *cpu, artifact,
                                   bufferStream)))
    return mlir::failure();
  os << buffer;
  return mlir::success();
}

static mlir::LogicalResult emitLLVM(EmitContext &context,
                                    llvm::raw_ostream &os) {
  return emitCPU(context, os, CPUArtifact::LLVMIR);
}
static mlir::LogicalResult emitAsm(EmitContext &context,
                                   llvm::raw_ostream &os) {
  return emitCPU(context, os, CPUArtifact::Assembly);
}
static mlir::LogicalResult emitObject(EmitContext &context,
                                      llvm::raw_ostream &os) {
  return emitCPU(context, os, CPUArtifact::Object);
}

static mlir::LogicalResult emitHeader(EmitContext &context,
                                      llvm::raw_ostream &os) {
  CppHeaderOptions options;
  options.moduleName = context.stem.str();
  options.target =
      (context.target.triple + ", " + context.target.name).str();
  return exportCppHeader(context.module, os, options);
}

/// The outputs gatec knows. A backend lands by setting its rows' `emit`.
static const EmitKindInfo kEmitKinds[] = {
    {"ast", "ast", "the parsed syntax tree, before semantic checks",
     std::nullopt, false, "", emitAST, false},
    {"mlir", "mlir",
     "gate-level MLIR: gate ops plus upstream linalg, tensor, arith, math",
     std::nullopt, false, "", emitGateMLIR, true},
    {"mlir-lowered", "lowered.mlir",
     "MLIR after the target's lowering pipeline, before LLVM IR",
     std::nullopt, false, "", emitLoweredMLIR, true},
    {"llvm", "ll", "LLVM IR", std::nullopt, false, "", emitLLVM, true},
    {"asm", "s", "x86-64 assembly", TargetFamily::CPU, false, "", emitAsm,
     true},
    {"obj", "o", "x86-64 ELF object file", TargetFamily::CPU, true, "",
     emitObject, true},
    {"ptx", "ptx", "PTX assembly", TargetFamily::CUDA, false, "", nullptr,
     true},
    {"cubin", "cubin", "CUDA binary (assembled by ptxas)", TargetFamily::CUDA,
     true, "", nullptr, true},
    {"header", "h",
     "C/C++ header with checked entry points for each kernel (see "
     "docs/headers.md)",
     std::nullopt, false, "the C++ header emitter", emitHeader, true},
};

llvm::ArrayRef<EmitKindInfo> gatec::getEmitKinds() { return kEmitKinds; }

namespace {

/// Indices into the emit-kind and target tables. Distinct enum types make
/// llvm::cl use its generic parser, whose literal options come from the
/// tables at run time.
enum class EmitIndex : unsigned {};
enum class TargetIndex : unsigned {};

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

/// gatec's own options; constructed in runGatecMain so that linking the
/// driver library into another tool does not register them there.
struct Options {
  cl::OptionCategory category{"gatec options"};

  cl::opt<std::string> input{cl::Positional,
                             cl::desc("<input .gate file, or - for stdin>"),
                             cl::cat(category)};
  cl::opt<std::string> outputDir{
      "o",
      cl::desc("Write each output to DIR/<stem>.<suffix> (created if "
               "missing; <stem> is the input's file name without "
               "extension, 'stdin' for -). Without -o, text goes to stdout"),
      cl::value_desc("dir"), cl::cat(category)};
  /// An index into kEmitKinds; one past the end means `all`.
  cl::opt<EmitIndex> emit{"emit", cl::desc("What to produce:"),
                          cl::init(EmitIndex(1)), cl::cat(category)};
  /// An index into getTargets().
  cl::opt<TargetIndex> target{"target",
                              cl::desc("The machine to compile for:"),
                              cl::init(TargetIndex(0)), cl::cat(category)};
  cl::opt<std::string> kernel{
      "kernel",
      cl::desc("Emit only the kernel NAME (every kernel is still checked)"),
      cl::value_desc("name"), cl::cat(category)};
  cl::opt<std::string> gatePipeline{
      "gate-pipeline",
      cl::desc("Passes to run on the gate-level module right after it is "
               "generated, as a textual pipeline (e.g. 'canonicalize,cse'); "
               "their result is what --emit=mlir prints and the backends "
               "compile"),
      cl::value_desc("passes"), cl::cat(category)};

  Options() {
    for (auto [i, kind] : llvm::enumerate(getEmitKinds()))
      emit.getParser().addLiteralOption(kind.name, EmitIndex(i),
                                        kind.description);
    emit.getParser().addLiteralOption(
        "all", EmitIndex(getEmitKinds().size()),
        "every output the target supports (except ast); needs -o");
    for (auto [i, t] : llvm::enumerate(getTargets()))
      target.getParser().addLiteralOption(t.name, TargetIndex(i),
                                          t.description);
  }
};

//===----------------------------------------------------------------------===//
// Compilation
//===----------------------------------------------------------------------===//

class Compilation {
public:
  explicit Compilation(const Options &options) : options(options) {}
  int run();

private:
  /// Reports a message that is about the command line, not the source.
  int usageError(const llvm::Twine &message) {
    llvm::WithColor::error(llvm::errs(), "gatec") << message << "\n";
    return 1;
  }
  std::string outputPath(const EmitKindInfo &kind) const {
    llvm::SmallString<128> path(options.outputDir);
    llvm::sys::path::append(path, stem + "." + kind.suffix);
    return std::string(path);
  }
  /// Checks that `kind` exists for the target and is built in.
  bool checkAvailable(const EmitKindInfo &kind, StringRef requested);
  int writeOutput(const EmitKindInfo &kind, EmitContext &context);

  const Options &options;
  const TargetInfo *target = nullptr;
  std::string stem;
};

} // namespace

bool Compilation::checkAvailable(const EmitKindInfo &kind,
                                 StringRef requested) {
  if (kind.family && *kind.family != target->family) {
    StringRef needed = stringifyTargetFamily(*kind.family);
    usageError("--emit=" + requested + " needs a " + needed +
               " target (such as --target=" +
               (*kind.family == TargetFamily::CPU ? "cpu" : "cuda:sm_90") +
               "), but the target is " + target->name);
    return false;
  }
  if (!kind.emit) {
    std::string provider =
        kind.provider.empty()
            ? ("the " + stringifyTargetFamily(target->family) + " backend")
                  .str()
            : kind.provider.str();
    usageError("--emit=" + requested + " is not available yet: " + provider +
               " is not built into this gatec" +
               (requested == kind.name ? ""
                                       : " (needed for --emit=" +
                                             kind.name.str() + ")"));
    return false;
  }
  return true;
}

int Compilation::writeOutput(const EmitKindInfo &kind, EmitContext &context) {
  if (options.outputDir.empty()) {
    if (mlir::failed(kind.emit(context, llvm::outs())))
      return 1;
    llvm::outs().flush();
    return 0;
  }
  std::string path = outputPath(kind);
  std::string error;
  std::unique_ptr<llvm::ToolOutputFile> file =
      mlir::openOutputFile(path, &error);
  if (!file)
    return usageError(error);
  if (mlir::failed(kind.emit(context, file->os())))
    return 1;
  file->keep();
  return 0;
}

int Compilation::run() {
  target = &getTargets()[static_cast<unsigned>(options.target.getValue())];
  if (options.input.empty())
    return usageError("no input file: give a .gate file, or - to read "
                      "stdin (see --help)");
  StringRef input = options.input;
  stem = input == "-" ? "stdin" : llvm::sys::path::stem(input).str();

  // Which outputs: one kind, or every kind of the target for `all`.
  unsigned emitIndex = static_cast<unsigned>(options.emit.getValue());
  bool all = emitIndex == getEmitKinds().size();
  llvm::SmallVector<const EmitKindInfo *> kinds;
  if (all) {
    for (const EmitKindInfo &kind : getEmitKinds())
      if (kind.inAll && (!kind.family || *kind.family == target->family))
        kinds.push_back(&kind);
  } else {
    kinds.push_back(&getEmitKinds()[emitIndex]);
  }
  StringRef requested = all ? "all" : kinds.front()->name;
  for (const EmitKindInfo *kind : kinds)
    if (!checkAvailable(*kind, requested))
      return 1;
  if (options.outputDir.empty() &&
      (all || llvm::any_of(kinds, [](auto *k) { return k->binary; })))
    return usageError("--emit=" + requested +
                      " writes files: give an output directory with -o DIR");
  if (!options.outputDir.empty()) {
    StringRef dir = options.outputDir;
    if (llvm::sys::fs::exists(dir) && !llvm::sys::fs::is_directory(dir))
      return usageError("-o takes a directory, but '" + dir +
                        "' is a file");
    if (std::error_code ec = llvm::sys::fs::create_directories(dir))
      return usageError("cannot create the output directory '" + dir +
                        "': " + ec.message());
  }

  // Timing covers the frontend too, so --mlir-timing shows every stage.
  mlir::DefaultTimingManager timing;
  mlir::applyDefaultTimingManagerCLOptions(timing);
  mlir::TimingScope rootTimer = timing.getRootScope();

  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file =
      llvm::MemoryBuffer::getFileOrSTDIN(input, /*IsText=*/true);
  if (std::error_code ec = file.getError())
    return usageError("cannot read '" + input + "': " + ec.message());
  std::unique_ptr<llvm::MemoryBuffer> buffer = std::move(*file);
  if (input == "-")
    buffer = llvm::MemoryBuffer::getMemBufferCopy(buffer->getBuffer(),
                                                  "<stdin>");
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  DiagnosticEngine diag(sourceMgr, llvm::errs());
  StringRef bufferName =
      sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID())
          ->getBufferIdentifier();

  mlir::TimingScope parseTimer = rootTimer.nest("Parse");
  std::unique_ptr<ModuleAST> ast = parseModule(diag);
  parseTimer.stop();
  // Sema still checks what parsed, so that independent errors in other
  // statements and kernels are reported in the same run.
  bool parseFailed = diag.hadErrors();
  bool onlyAST = !all && kinds.front()->name == "ast";
  if (parseFailed && (onlyAST || diag.tooManyErrors()))
    return 1;

  StringRef onlyKernel = options.kernel;
  if (!parseFailed && !onlyKernel.empty() &&
      llvm::none_of(ast->kernels,
                    [&](const auto &k) { return k->name == onlyKernel; })) {
    std::string names = llvm::join(
        llvm::map_range(ast->kernels, [](const auto &k) { return k->name; }),
        ", ");
    return usageError("no kernel named '" + onlyKernel + "' in " +
                      bufferName +
                      (names.empty() ? "" : " (its kernels: " + names + ")"));
  }
  if (ast->kernels.empty() && !parseFailed)
    sourceMgr.PrintMessage(llvm::errs(), llvm::SMLoc(),
                           llvm::SourceMgr::DK_Warning,
                           bufferName + " defines no kernel");

  auto configurePassManager =
      [&](mlir::PassManager &pm) -> mlir::LogicalResult {
    if (mlir::failed(mlir::applyPassManagerCLOptions(pm)))
      return mlir::failure();
    pm.enableTiming(rootTimer);
    return mlir::success();
  };
  EmitContext context{*target,   *ast, mlir::ModuleOp(), diag, onlyKernel,
                      configurePassManager, stem};

  if (onlyAST)
    return writeOutput(*kinds.front(), context);

  mlir::TimingScope semaTimer = rootTimer.nest("Sema");
  std::unique_ptr<SemaResult> sema = checkModule(*ast, diag);
  semaTimer.stop();
  if (diag.hadErrors())
    return 1;

  mlir::DialectRegistry registry;
  gatec::registerAllDialects(registry);
  mlir::MLIRContext mlirContext(registry);
  mlir::TimingScope genTimer = rootTimer.nest("MLIRGen");
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlirGen(mlirContext, *ast, *sema, diag, onlyKernel);
  genTimer.stop();
  if (!module || diag.hadErrors())
    return 1;

  // From here on MLIR reports through the same source manager, so a
  // diagnostic from a pass still points into the .gate file.
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &mlirContext,
                                           llvm::errs());
  mlir::PassManager pm(&mlirContext);
  if (mlir::failed(configurePassManager(pm)))
    return 1;
  if (!options.gatePipeline.empty()) {
    std::string error;
    llvm::raw_string_ostream errorStream(error);
    if (mlir::failed(
            mlir::parsePassPipeline(options.gatePipeline, pm, errorStream)))
      return usageError("invalid --gate-pipeline: " + error);
  }
  // Run even an empty pipeline: it verifies the module once more.
  if (mlir::failed(pm.run(*module)))
    return 1;

  context.module = *module;
  int status = 0;
  for (const EmitKindInfo *kind : kinds)
    if ((status = writeOutput(*kind, context)))
      break;
  // The lowered module lives in mlirContext, which dies before `context`.
  context.loweredForCPU = nullptr;
  return status;
}

int gatec::runGatecMain(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  gatec::registerAllPasses();
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
    os << "gatec " << GATEC_VERSION << "\n  built with LLVM "
       << LLVM_VERSION_STRING << "\n";
  });
  cl::ParseCommandLineOptions(
      argc, argv,
      "gatec: the ahead-of-time compiler for gating layers\n\n"
      "  gatec FILE.gate [-o DIR] [--emit=KIND] [--target=TARGET]\n\n"
      "Compiles the kernels of a .gate file (see docs/DSL.md). Errors name\n"
      "file:line:col and make gatec exit with status 1.\n");
  return Compilation(options).run();
}
