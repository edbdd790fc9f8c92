//===- Diagnostics.cpp - Source-located diagnostics for .gate files -------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "gatec/Frontend/Diagnostics.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

using namespace gatec;
using llvm::SMLoc;
using llvm::SourceMgr;

DiagnosticEngine::DiagnosticEngine(SourceMgr &sourceMgr, llvm::raw_ostream &os)
    : sourceMgr(sourceMgr),
      sink([&os](SourceMgr::DiagKind, SMLoc, llvm::StringRef,
                 llvm::StringRef rendered) { os << rendered; }) {}

DiagnosticEngine::DiagnosticEngine(SourceMgr &sourceMgr, Sink sink)
    : sourceMgr(sourceMgr), sink(std::move(sink)) {}

void DiagnosticEngine::report(SMLoc loc, SourceMgr::DiagKind kind,
                              const llvm::Twine &message,
                              llvm::ArrayRef<llvm::SMRange> ranges) {
  // A location outside every buffer would make SourceMgr print no file name;
  // the frontend never builds one, but fall back to a plain message anyway.
  if (loc.isValid() && sourceMgr.FindBufferContainingLoc(loc) == 0)
    loc = SMLoc();
  std::string text = message.str();
  std::string rendered;
  llvm::raw_string_ostream renderedStream(rendered);
  sourceMgr.PrintMessage(renderedStream, loc, kind, text,
                         loc.isValid() ? ranges : llvm::ArrayRef<llvm::SMRange>());
  sink(kind, loc, text, rendered);
}

void DiagnosticEngine::error(SMLoc loc, const llvm::Twine &message,
                             llvm::ArrayRef<llvm::SMRange> ranges) {
  if (tooManyErrors()) {
    lastPrinted = false;
    return;
  }
  ++numErrors;
  report(loc, SourceMgr::DK_Error, message, ranges);
  lastPrinted = true;
  if (tooManyErrors())
    report(SMLoc(), SourceMgr::DK_Error,
           "too many errors (" + llvm::Twine(kMaxErrors) + "), stopping");
}

void DiagnosticEngine::warning(SMLoc loc, const llvm::Twine &message) {
  lastPrinted = !tooManyErrors();
  if (lastPrinted)
    report(loc, SourceMgr::DK_Warning, message, {});
}

void DiagnosticEngine::note(SMLoc loc, const llvm::Twine &message) {
  if (lastPrinted)
    report(loc, SourceMgr::DK_Note, message, {});
}

std::pair<unsigned, unsigned>
DiagnosticEngine::getLineAndColumn(SMLoc loc) const {
  if (!loc.isValid() || sourceMgr.FindBufferContainingLoc(loc) == 0)
    return {0, 0};
  return sourceMgr.getLineAndColumn(loc);
}

llvm::StringRef DiagnosticEngine::getBufferName(SMLoc loc) const {
  unsigned id = sourceMgr.FindBufferContainingLoc(loc);
  if (id == 0)
    id = sourceMgr.getMainFileID();
  return sourceMgr.getMemoryBuffer(id)->getBufferIdentifier();
}

std::string DiagnosticEngine::getFileLine(SMLoc loc) const {
  return (getBufferName(loc) + ":" + llvm::Twine(getLineAndColumn(loc).first))
      .str();
}
