//===- Compiler.h - gatec as a library --------------------------*- C++ -*-===//
//
// Part of gatec. The public API for programs that compile .gate sources
// themselves: an inference engine's build step, a JIT-style cache, a test
// harness. It depends on the C++17 standard library only; MLIR and LLVM stay
// inside libGatecCompiler. The `gatec` command is a client of this API.
//
//   gatec::CompileOptions options;
//   options.targets = {"cpu:x86-64-v4"};
//   options.emit = {"obj", "header"};
//   gatec::CompileResult result = gatec::compileFile("router.gate", options);
//   if (!result.ok()) { for (auto &d : result.diagnostics) ...; }
//   const gatec::Artifact *object = result.find("obj");
//
// docs/embedding.md describes the API, the CMake package and its
// gatec_add_kernels() function.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_COMPILER_H
#define GATEC_COMPILER_H

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatec {

/// The version of gatec, "MAJOR.MINOR.PATCH".
std::string_view getVersion();

enum class Severity { Error, Warning, Note, Remark };

/// "error", "warning", "note" or "remark".
std::string_view stringifySeverity(Severity severity);

/// One message from a compilation. Every message about the source carries its
/// location; messages about the request (an unknown target, an output the
/// target cannot produce) have an empty `file` and zero line and column.
struct Diagnostic {
  Severity severity = Severity::Error;
  /// The buffer name given to compileSource, or the path given to
  /// compileFile.
  std::string file;
  /// 1-based; 0 when the message has no location.
  unsigned line = 0;
  unsigned column = 0;
  /// The message alone, without location or severity.
  std::string message;
  /// The message as the gatec command prints it: "file:line:col: error:
  /// message", the source line and a caret (several lines, newline-ended).
  std::string rendered;
};

/// Receives each diagnostic as it is reported, on the compiling thread.
using DiagnosticHandler = std::function<void(const Diagnostic &)>;

/// What to compile and how.
struct CompileOptions {
  /// Target names, as `gatec --target=` takes them (see listTargets()):
  /// "cpu", "cpu:x86-64-v3", "cpu:x86-64-v4", "cpu:native", "cuda:sm_90a"...
  std::vector<std::string> targets = {"cpu"};
  /// Outputs, as `gatec --emit=` takes them (see listEmitKinds()), for every
  /// target that has them; "all" means every output of the target.
  std::vector<std::string> emit = {"obj", "header"};
  /// Emit only this kernel (every kernel is still checked); empty: all.
  std::string kernel;
  /// Names the outputs (Artifact::fileName) and the generated header's C++
  /// namespace `gatec_kernels::<moduleName>`. Empty: the file stem of the
  /// path or buffer name.
  std::string moduleName;
  /// Passes run on the gate-level module right after it is generated, as a
  /// textual MLIR pipeline ("canonicalize,cse").
  std::string gatePipeline;

  /// Schedule overrides. Unset values keep gatec's defaults.
  /// Chunk length of every chunked scan (overrides `chunk =` in the source).
  std::optional<int64_t> chunkSize;
  /// CPU thread tile: rows x columns of a matmul output (and its fused
  /// epilogue) each thread computes.
  std::optional<int64_t> cpuThreadTileRows;
  std::optional<int64_t> cpuThreadTileCols;
  /// CPU reduction (K) block of matmuls.
  std::optional<int64_t> cpuReductionTile;
  /// cuda:sm_90a only: tensor-core matmuls on wgmma.mma_async instead of
  /// mma.sync. Off by default until a GPU run has checked it
  /// (scripts/gpu-check.sh).
  bool cudaWgmma = false;
  /// CUDA: one block tile and ring depth for every tensor-core matmul,
  /// "MxNxKxS", instead of the tuned tile per weight shape
  /// (tuning/cuda-matmul.tsv) or the default 128x128x32x2.
  std::string cudaMatmulTile;

  /// Report the decisions of the passes whose flag matches this regular
  /// expression (e.g. "gatec-cpu", "gatec-gpu-tensor-core-matmul", ".*"): the
  /// tiles chosen, the producers fused, the kernels built, as remarks
  /// (Severity::Remark diagnostics at the source location). Empty: none.
  std::string remarks;

  /// Called for each diagnostic while compiling; they are also collected in
  /// CompileResult::diagnostics.
  DiagnosticHandler onDiagnostic;

  /// For the gatec command only: honour the --mlir-* pass-manager and
  /// timing options registered on LLVM's command line.
  bool useCommandLinePassOptions = false;
};

/// One output of a compilation.
struct Artifact {
  /// The target it was produced for (a CompileOptions::targets entry).
  std::string target;
  /// The emit kind: "obj", "header", "mlir", "asm", "llvm", ...
  std::string kind;
  /// Where `gatec -o DIR` would write it, relative to DIR:
  /// "<moduleName>.<suffix>".
  std::string fileName;
  /// The bytes (text or binary).
  std::string data;
  bool binary = false;
};

struct CompileResult {
  /// In request order: targets outer, emit kinds inner (the order of
  /// listEmitKinds() for "all").
  std::vector<Artifact> artifacts;
  std::vector<Diagnostic> diagnostics;

  /// True when no error was reported (warnings allowed).
  bool ok() const;
  /// The artifact of `kind` for `target` (empty: the first target), or null.
  const Artifact *find(std::string_view kind,
                       std::string_view target = {}) const;
  /// Every diagnostic's `rendered` text, concatenated.
  std::string renderDiagnostics() const;
};

/// Checks the request alone (targets, emit kinds against the targets and
/// what is built in, schedule overrides), without any source: the errors
/// compileSource would report before reading it. Empty when valid.
std::vector<Diagnostic> checkOptions(const CompileOptions &options);

/// Compiles .gate source text. `bufferName` is the file name diagnostics
/// name. Never throws and never exits: errors come back as diagnostics.
/// Independent compilations may run concurrently on different threads.
CompileResult compileSource(std::string_view source,
                            std::string_view bufferName,
                            const CompileOptions &options = {});

/// Reads the file at `path` ("-" reads standard input) and compiles it.
CompileResult compileFile(const std::string &path,
                          const CompileOptions &options = {});

/// One output gatec can produce.
struct EmitKindDescription {
  std::string name;
  /// The file suffix: "o", "h", "ll", ...
  std::string suffix;
  std::string description;
  /// "cpu", "cuda", or empty for every target.
  std::string family;
  bool binary = false;
  /// False while the backend producing it is not built into this gatec.
  bool available = false;
};
std::vector<EmitKindDescription> listEmitKinds();

struct TargetDescription {
  std::string name;
  /// "cpu" or "cuda".
  std::string family;
  std::string triple;
  std::string description;
};
std::vector<TargetDescription> listTargets();

} // namespace gatec

#endif // GATEC_COMPILER_H
