//===- FuzzFrontend.cpp - libFuzzer target for the .gate frontend ---------===//
//
// Part of gatec. Runs one input through the frontend as gatec::compileSource
// does (lexer and parser, sema, MLIRGen) and holds it to the frontend's
// contract:
//   - every input ends in a module or in at least one error, never in a
//     crash, an assertion, a sanitizer report, a hang or a leak;
//   - an error is never reported without a message and a rendering;
//   - a source that sema accepts gives a module the dialect's verifiers
//     accept (sema checks the same rules, so that errors point at the source).
// A broken contract aborts, which libFuzzer records as a crash.
//
//===----------------------------------------------------------------------===//

#include "gatec/Frontend/AST.h"
#include "gatec/Frontend/Diagnostics.h"
#include "gatec/Frontend/MLIRGen.h"
#include "gatec/Frontend/Parser.h"
#include "gatec/Frontend/Sema.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstdlib>

using namespace gatec;

[[noreturn]] static void contractBroken(llvm::StringRef what,
                                        llvm::StringRef detail = "") {
  llvm::errs() << "gatec-fuzz-frontend: " << what << "\n" << detail << "\n";
  std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef source(reinterpret_cast<const char *>(data), size);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(source, "fuzz.gate"), llvm::SMLoc());
  DiagnosticEngine diag(sourceMgr, [](llvm::SourceMgr::DiagKind kind,
                                      llvm::SMLoc, llvm::StringRef message,
                                      llvm::StringRef rendered) {
    if (kind == llvm::SourceMgr::DK_Error &&
        (message.empty() || rendered.empty()))
      contractBroken("an error without a message", rendered);
  });

  std::unique_ptr<ModuleAST> ast = parseModule(diag);
  if (!ast)
    contractBroken("parseModule returned no module");
  // As compileSource: sema also checks what parsed after a syntax error.
  if (diag.tooManyErrors())
    return 0;
  bool parseFailed = diag.hadErrors();
  std::unique_ptr<SemaResult> sema = checkModule(*ast, diag);
  if (diag.hadErrors())
    return 0;
  if (parseFailed || !sema)
    contractBroken("a syntax error vanished before MLIRGen");

  mlir::DialectRegistry registry;
  registerFrontendDialects(registry);
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  std::string mlirErrors;
  llvm::raw_string_ostream errorStream(mlirErrors);
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    errorStream << d << "\n";
    return mlir::success();
  });
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlirGen(context, *ast, *sema, diag);
  if (diag.hadErrors())
    return 0;
  if (!module)
    contractBroken("MLIRGen failed without an error", mlirErrors);
  if (mlir::failed(mlir::verify(*module)))
    contractBroken(
        ("sema accepted a kernel the verifier rejects:\n" + source).str(),
        mlirErrors);
  return 0;
}
