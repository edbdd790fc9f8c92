//===- Diagnostics.h - Source-located diagnostics for .gate files -*- C++ -*-===//
//
// Part of gatec. Every frontend message goes through one engine so that each
// names file:line:col, shows the source line with a caret, and is counted.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_FRONTEND_DIAGNOSTICS_H
#define GATEC_FRONTEND_DIAGNOSTICS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/SMLoc.h"
#include "llvm/Support/SourceMgr.h"

#include <functional>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace gatec {

/// Prints diagnostics against the buffers of a llvm::SourceMgr and counts the
/// errors. After `kMaxErrors` errors it prints one last line and drops the
/// rest, so that a badly broken file cannot flood the terminal.
class DiagnosticEngine {
public:
  static constexpr unsigned kMaxErrors = 50;

  /// What a sink receives: the kind, the location (invalid when the message
  /// is about the whole file), the bare message, and the message as printed
  /// (file:line:col, source line, caret).
  using Sink = std::function<void(llvm::SourceMgr::DiagKind kind,
                                  llvm::SMLoc loc, llvm::StringRef message,
                                  llvm::StringRef rendered)>;

  /// Prints every diagnostic to `os`.
  DiagnosticEngine(llvm::SourceMgr &sourceMgr, llvm::raw_ostream &os);
  /// Hands every diagnostic to `sink` instead of printing it.
  DiagnosticEngine(llvm::SourceMgr &sourceMgr, Sink sink);

  /// Reports an error at `loc`; `ranges` are underlined as well.
  void error(llvm::SMLoc loc, const llvm::Twine &message,
             llvm::ArrayRef<llvm::SMRange> ranges = {});
  /// Reports a warning; warnings never change the exit status.
  void warning(llvm::SMLoc loc, const llvm::Twine &message);
  /// Attaches a note to the last error or warning (dropped with it).
  void note(llvm::SMLoc loc, const llvm::Twine &message);

  unsigned getNumErrors() const { return numErrors; }
  bool hadErrors() const { return numErrors != 0; }
  /// True once the error limit is reached: callers stop early.
  bool tooManyErrors() const { return numErrors >= kMaxErrors; }

  llvm::SourceMgr &getSourceMgr() const { return sourceMgr; }
  /// "file:line" of `loc`, as `gate.source` records it.
  std::string getFileLine(llvm::SMLoc loc) const;
  /// The line and column of `loc` (both 1-based).
  std::pair<unsigned, unsigned> getLineAndColumn(llvm::SMLoc loc) const;
  /// The name of the buffer holding `loc` (the path, or "<stdin>").
  llvm::StringRef getBufferName(llvm::SMLoc loc) const;

private:

  void report(llvm::SMLoc loc, llvm::SourceMgr::DiagKind kind,
              const llvm::Twine &message,
              llvm::ArrayRef<llvm::SMRange> ranges = {});

  llvm::SourceMgr &sourceMgr;
  Sink sink;
  unsigned numErrors = 0;
  /// Whether notes go out: false after a dropped error.
  bool lastPrinted = true;
};

} // namespace gatec

#endif // GATEC_FRONTEND_DIAGNOSTICS_H
