//===- Compiler.cpp - gatec as a library ----------------------------------===//
//
// Part of gatec. One Compilation per call: its own SourceMgr, MLIRContext and
// diagnostics, so that calls on different threads share nothing mutable.
//
//===----------------------------------------------------------------------===//

#include "gatec/Compiler.h"

#include "Compiler/Emitters.h"

#include "gatec/Dialect/Gate/GateOps.h"
#include "gatec/Frontend/AST.h"
#include "gatec/Frontend/Diagnostics.h"
#include "gatec/Frontend/MLIRGen.h"
#include "gatec/Frontend/Parser.h"
#include "gatec/Frontend/Sema.h"
#include "gatec/InitAll.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Remarks.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/Timing.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#ifndef GATEC_VERSION
#define GATEC_VERSION "0.1.0"
#endif

using namespace gatec;
using llvm::StringRef;

std::string_view gatec::getVersion() { return GATEC_VERSION; }

std::string_view gatec::stringifySeverity(Severity severity) {
  switch (severity) {
  case Severity::Error:
    return "error";
  case Severity::Warning:
    return "warning";
  case Severity::Note:
    return "note";
  case Severity::Remark:
    return "remark";
  }
  return "error";
}

bool CompileResult::ok() const {
  return llvm::none_of(diagnostics, [](const Diagnostic &d) {
    return d.severity == Severity::Error;
  });
}

const Artifact *CompileResult::find(std::string_view kind,
                                    std::string_view target) const {
  if (artifacts.empty())
    return nullptr;
  if (target.empty())
    target = artifacts.front().target;
  for (const Artifact &artifact : artifacts)
    if (artifact.kind == kind && artifact.target == target)
      return &artifact;
  return nullptr;
}

std::string CompileResult::renderDiagnostics() const {
  std::string text;
  for (const Diagnostic &d : diagnostics)
    text += d.rendered;
  return text;
}

std::vector<EmitKindDescription> gatec::listEmitKinds() {
  std::vector<EmitKindDescription> kinds;
  for (const EmitKindInfo &kind : getEmitKinds())
    kinds.push_back({kind.name.str(), kind.suffix.str(), kind.description.str(),
                     kind.family ? stringifyTargetFamily(*kind.family).str()
                                 : std::string(),
                     kind.binary, kind.emit != nullptr});
  return kinds;
}

std::vector<TargetDescription> gatec::listTargets() {
  std::vector<TargetDescription> targets;
  for (const TargetInfo &target : getTargets())
    targets.push_back({target.name.str(),
                       stringifyTargetFamily(target.family).str(),
                       target.triple.str(), target.description.str()});
  return targets;
}

namespace {

/// Largest accepted chunk or tile size: far beyond any useful value, small
/// enough that products of a few of them stay in int64.
constexpr int64_t kMaxScheduleSize = 1 << 20;

class Compilation {
public:
  Compilation(const CompileOptions &options, CompileResult &result)
      : options(options), result(result) {}

  void run(std::unique_ptr<llvm::MemoryBuffer> buffer, std::string moduleName);
  /// The targets and, for each, the outputs asked of it; false after an
  /// error.
  bool resolveRequest();
  bool checkScheduleOverrides();

  /// A message about the request rather than the source.
  void requestError(const llvm::Twine &message) {
    Diagnostic d;
    d.message = message.str();
    d.rendered = "gatec: error: " + d.message + "\n";
    add(std::move(d));
  }

private:
  void add(Diagnostic d) {
    if (options.onDiagnostic)
      options.onDiagnostic(d);
    result.diagnostics.push_back(std::move(d));
  }
  void emitOutputs(const ModuleAST &ast, mlir::ModuleOp module,
                   DiagnosticEngine &diag,
                   const std::function<mlir::LogicalResult(mlir::PassManager &)>
                       &configurePassManager,
                   mlir::TimingScope &timing);

  const CompileOptions &options;
  CompileResult &result;
  std::string moduleName;
  struct TargetRequest {
    const TargetInfo *target;
    llvm::SmallVector<const EmitKindInfo *> kinds;
  };
  llvm::SmallVector<TargetRequest> requests;
};

} // namespace

bool Compilation::resolveRequest() {
  if (options.targets.empty()) {
    requestError("no target given");
    return false;
  }
  if (options.emit.empty()) {
    requestError("no output given: name at least one emit kind");
    return false;
  }
  auto known = [](auto range, auto name) {
    return llvm::join(llvm::map_range(range, name), ", ");
  };
  for (const std::string &name : options.targets) {
    const TargetInfo *target = lookupTarget(name);
    if (!target) {
      requestError(
          "unknown target '" + name + "' (known: " +
          known(getTargets(), [](const TargetInfo &t) { return t.name; }) +
          ")");
      return false;
    }
    TargetRequest request{target, {}};
    for (const std::string &emit : options.emit) {
      if (emit == "all") {
        for (const EmitKindInfo &kind : getEmitKinds())
          if (kind.inAll && (!kind.family || *kind.family == target->family))
            request.kinds.push_back(&kind);
        continue;
      }
      const EmitKindInfo *kind = lookupEmitKind(emit);
      if (!kind) {
        requestError("unknown output '" + emit + "' (known: " +
                     known(getEmitKinds(),
                           [](const EmitKindInfo &k) { return k.name; }) +
                     ", all)");
        return false;
      }
      request.kinds.push_back(kind);
    }
    // Checked before any work, so that a typo costs no compile time.
    for (const EmitKindInfo *kind : request.kinds) {
      bool fromAll = llvm::is_contained(options.emit, "all") &&
                     !llvm::is_contained(options.emit, kind->name);
      std::string asked = fromAll ? "all" : kind->name.str();
      if (kind->family && *kind->family != target->family) {
        requestError(
            "--emit=" + asked + " needs a " +
            stringifyTargetFamily(*kind->family) +
            " target (such as --target=" +
            (*kind->family == TargetFamily::CPU ? "cpu" : "cuda:sm_90") +
            "), but the target is " + target->name);
        return false;
      }
      if (!kind->emit) {
        std::string provider =
            kind->provider.empty()
                ? ("the " + stringifyTargetFamily(target->family) + " backend")
                      .str()
                : kind->provider.str();
        requestError(
            "--emit=" + asked + " is not available yet: " + provider +
            " is not built into this gatec" +
            (fromAll ? " (needed for --emit=" + kind->name.str() + ")" : ""));
        return false;
      }
      llvm::SmallVector<StringRef> missing;
      for (StringRef need : kind->needs)
        if (llvm::none_of(request.kinds, [&](const EmitKindInfo *k) {
              return k->name == need;
            }))
          missing.push_back(need);
      if (!missing.empty()) {
        requestError("--emit=" + kind->name + " needs --emit=" +
                     llvm::join(missing, ",") + " as well (" + kind->needsWhy +
                     "): use --emit=" + llvm::join(missing, ",") + "," +
                     kind->name + " -o DIR");
        return false;
      }
    }
    requests.push_back(std::move(request));
  }
  return true;
}

bool Compilation::checkScheduleOverrides() {
  auto check = [&](const std::optional<int64_t> &value, StringRef what) {
    if (!value || (*value >= 1 && *value <= kMaxScheduleSize))
      return true;
    requestError(what + " must be between 1 and " +
                 llvm::Twine(kMaxScheduleSize) + ", got " +
                 llvm::Twine(*value));
    return false;
  };
  return check(options.chunkSize, "the chunk size") &&
         check(options.cpuThreadTileRows, "the CPU thread tile's rows") &&
         check(options.cpuThreadTileCols, "the CPU thread tile's columns") &&
         check(options.cpuReductionTile, "the CPU reduction tile");
}

void Compilation::emitOutputs(
    const ModuleAST &ast, mlir::ModuleOp module, DiagnosticEngine &diag,
    const std::function<mlir::LogicalResult(mlir::PassManager &)>
        &configurePassManager,
    mlir::TimingScope &timing) {
  for (const TargetRequest &request : requests) {
    EmitContext context{
        *request.target,      options, ast, module, diag, moduleName,
        configurePassManager, timing};
    for (const EmitKindInfo *kind : request.kinds) {
      Artifact artifact;
      artifact.target = request.target->name.str();
      artifact.kind = kind->name.str();
      artifact.fileName = moduleName + "." + kind->suffix.str();
      artifact.binary = kind->binary;
      llvm::raw_string_ostream os(artifact.data);
      if (mlir::failed(kind->emit(context, os)))
        return;
      os.flush();
      result.artifacts.push_back(std::move(artifact));
    }
  }
}

void Compilation::run(std::unique_ptr<llvm::MemoryBuffer> buffer,
                      std::string name) {
  moduleName = std::move(name);
  if (!resolveRequest() || !checkScheduleOverrides())
    return;
  bool onlyAST = llvm::all_of(requests, [](const TargetRequest &r) {
    return llvm::all_of(r.kinds,
                        [](const EmitKindInfo *k) { return k->name == "ast"; });
  });

  // Timing covers the frontend too, so --mlir-timing shows every stage.
  mlir::DefaultTimingManager timing;
  if (options.useCommandLinePassOptions)
    mlir::applyDefaultTimingManagerCLOptions(timing);
  mlir::TimingScope rootTimer = timing.getRootScope();

  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  std::string bufferName = sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID())
                               ->getBufferIdentifier()
                               .str();
  DiagnosticEngine diag(sourceMgr, [&](llvm::SourceMgr::DiagKind kind,
                                       llvm::SMLoc loc, StringRef message,
                                       StringRef rendered) {
    Diagnostic d;
    d.severity = kind == llvm::SourceMgr::DK_Error     ? Severity::Error
                 : kind == llvm::SourceMgr::DK_Warning ? Severity::Warning
                 : kind == llvm::SourceMgr::DK_Note    ? Severity::Note
                                                       : Severity::Remark;
    d.file = bufferName;
    if (loc.isValid())
      std::tie(d.line, d.column) = sourceMgr.getLineAndColumn(loc);
    d.message = message.str();
    d.rendered = rendered.str();
    add(std::move(d));
  });

  mlir::TimingScope parseTimer = rootTimer.nest("Parse");
  std::unique_ptr<ModuleAST> ast = parseModule(diag);
  parseTimer.stop();
  // Sema still checks what parsed, so that independent errors in other
  // statements and kernels are reported in the same run.
  bool parseFailed = diag.hadErrors();
  if (parseFailed && (onlyAST || diag.tooManyErrors()))
    return;

  StringRef onlyKernel = options.kernel;
  if (!parseFailed && !onlyKernel.empty() &&
      llvm::none_of(ast->kernels,
                    [&](const auto &k) { return k->name == onlyKernel; })) {
    std::string names = llvm::join(
        llvm::map_range(ast->kernels, [](const auto &k) { return k->name; }),
        ", ");
    requestError("no kernel named '" + onlyKernel + "' in " + bufferName +
                 (names.empty() ? "" : " (its kernels: " + names + ")"));
    return;
  }
  if (ast->kernels.empty() && !parseFailed)
    diag.warning(llvm::SMLoc(), bufferName + " defines no kernel");

  auto configurePassManager =
      [&](mlir::PassManager &pm) -> mlir::LogicalResult {
    if (options.useCommandLinePassOptions &&
        mlir::failed(mlir::applyPassManagerCLOptions(pm)))
      return mlir::failure();
    pm.enableTiming(rootTimer);
    return mlir::success();
  };

  if (onlyAST) {
    emitOutputs(*ast, mlir::ModuleOp(), diag, configurePassManager, rootTimer);
    return;
  }

  mlir::TimingScope semaTimer = rootTimer.nest("Sema");
  std::unique_ptr<SemaResult> sema = checkModule(*ast, diag);
  semaTimer.stop();
  if (diag.hadErrors())
    return;

  mlir::DialectRegistry registry;
  registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  // MLIR reports through the same source manager, so a diagnostic from a
  // pass still points into the .gate file; it is rendered as the frontend
  // renders its own and delivered as a record.
  std::string rendered;
  llvm::raw_string_ostream renderedStream(rendered);
  mlir::SourceMgrDiagnosticHandler renderer(sourceMgr, &context,
                                            renderedStream);
  auto deliver = [&](mlir::Location loc, StringRef message,
                     mlir::DiagnosticSeverity severity) {
    rendered.clear();
    renderer.emitDiagnostic(loc, message, severity);
    Diagnostic d;
    d.severity =
        severity == mlir::DiagnosticSeverity::Error     ? Severity::Error
        : severity == mlir::DiagnosticSeverity::Warning ? Severity::Warning
        : severity == mlir::DiagnosticSeverity::Note    ? Severity::Note
                                                        : Severity::Remark;
    if (auto fileLoc = loc->findInstanceOf<mlir::FileLineColLoc>()) {
      d.file = fileLoc.getFilename().str();
      d.line = fileLoc.getLine();
      d.column = fileLoc.getColumn();
    }
    d.message = message.str();
    d.rendered = rendered;
    add(std::move(d));
  };
  mlir::ScopedDiagnosticHandler handler(
      &context, [&](mlir::Diagnostic &diagnostic) {
        deliver(diagnostic.getLocation(), diagnostic.str(),
                diagnostic.getSeverity());
        for (mlir::Diagnostic &note : diagnostic.getNotes())
          deliver(note.getLocation(), note.str(), note.getSeverity());
        return mlir::success();
      });

  if (!options.remarks.empty()) {
    std::string regexError;
    if (!llvm::Regex(options.remarks).isValid(regexError)) {
      requestError("invalid --remarks regular expression '" + options.remarks +
                   "': " + regexError);
      return;
    }
    // Upstream's remark engine, printing each remark as a diagnostic: the
    // handler above delivers it with the rest.
    // The engine keeps a filter only for the kinds named, and matches the
    // whole category (the pass flag): the user's expression may match
    // anywhere in it, as grep does.
    mlir::remark::RemarkCategories categories;
    categories.all = ".*(" + options.remarks + ").*";
    categories.passed = categories.missed = categories.analysis =
        categories.failed = "";
    if (mlir::failed(mlir::remark::enableOptimizationRemarks(
            context, /*streamer=*/nullptr,
            std::make_unique<mlir::remark::RemarkEmittingPolicyAll>(),
            categories, /*printAsEmitRemarks=*/true))) {
      requestError("cannot enable --remarks");
      return;
    }
  }

  mlir::TimingScope genTimer = rootTimer.nest("MLIRGen");
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlirGen(context, *ast, *sema, diag, onlyKernel);
  genTimer.stop();
  if (!module || !result.ok())
    return;

  if (options.chunkSize)
    module->walk([&](mlir::gate::ChunkedScanOp scan) {
      // A scan that returns its states per chunk has its chunk length in
      // its result's shape.
      if (!scan.getChunkStates())
        scan.setChunkSize(*options.chunkSize);
    });

  mlir::PassManager pm(&context);
  if (mlir::failed(configurePassManager(pm)))
    return;
  if (!options.gatePipeline.empty()) {
    std::string error;
    llvm::raw_string_ostream errorStream(error);
    if (mlir::failed(
            mlir::parsePassPipeline(options.gatePipeline, pm, errorStream))) {
      requestError("invalid --gate-pipeline: " + error);
      return;
    }
  }
  // Run even an empty pipeline: it verifies the module once more (and
  // checks a chunk size override).
  if (mlir::failed(pm.run(*module)))
    return;
  emitOutputs(*ast, *module, diag, configurePassManager, rootTimer);
}

/// The default module name: the file stem ("stdin" for standard input).
static std::string defaultModuleName(StringRef bufferName) {
  if (bufferName == "<stdin>" || bufferName == "-")
    return "stdin";
  return llvm::sys::path::stem(bufferName).str();
}

std::vector<Diagnostic> gatec::checkOptions(const CompileOptions &options) {
  CompileResult result;
  Compilation compilation(options, result);
  if (compilation.resolveRequest())
    compilation.checkScheduleOverrides();
  return std::move(result.diagnostics);
}

/// Compiles `buffer`, named after the path or buffer name it came from.
static CompileResult compileBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer,
                                   const CompileOptions &options) {
  CompileResult result;
  std::string moduleName =
      options.moduleName.empty()
          ? defaultModuleName(buffer->getBufferIdentifier())
          : options.moduleName;
  Compilation(options, result).run(std::move(buffer), std::move(moduleName));
  return result;
}

CompileResult gatec::compileSource(std::string_view source,
                                   std::string_view bufferName,
                                   const CompileOptions &options) {
  return compileBuffer(llvm::MemoryBuffer::getMemBufferCopy(
                           StringRef(source.data(), source.size()),
                           StringRef(bufferName.data(), bufferName.size())),
                       options);
}

CompileResult gatec::compileFile(const std::string &path,
                                 const CompileOptions &options) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file =
      llvm::MemoryBuffer::getFileOrSTDIN(path, /*IsText=*/true);
  if (std::error_code ec = file.getError()) {
    CompileResult result;
    Compilation(options, result)
        .requestError("cannot read '" + path + "': " + ec.message());
    return result;
  }
  // Standard input is named as diagnostics print it.
  if (path == "-")
    return compileSource((*file)->getBuffer(), "<stdin>", options);
  return compileBuffer(std::move(*file), options);
}
