//===- SourcePrinter.h - Printing generated C/C++ source --------*- C++ -*-===//
//
// Part of gatec. Private to lib/Target: the one printer of the C/C++ text
// gatec generates (the C/C++ and CUDA headers, their launch code, the
// PyTorch extension), on MLIR's raw_indented_ostream.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_LIB_TARGET_SOURCEPRINTER_H
#define GATEC_LIB_TARGET_SOURCEPRINTER_H

#include "mlir/Support/IndentedOstream.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <vector>

namespace gatec {

/// Lines of source at the current indentation (two spaces per level; empty
/// lines carry none), formatted with fmt.
class SourcePrinter {
public:
  /// Appends to `out` as it prints.
  explicit SourcePrinter(std::string &out) : stream(out), os(stream) {}

  template <typename... Args>
  void line(fmt::format_string<Args...> format, Args &&...args) {
    os << fmt::format(format, std::forward<Args>(args)...) << '\n';
  }
  void blank() { os << '\n'; }
  /// Fixed text (a runtime, pre-indented code) exactly as it is, whatever
  /// the current indentation.
  void raw(llvm::StringRef text) { os.getOStream() << text; }

  /// `prefix(` then `groups` separated by ",\n" and aligned under the
  /// first, then `)suffix`.
  void call(std::string_view prefix, const std::vector<std::string> &groups,
            std::string_view suffix) {
    std::string pad(prefix.size() + 1, ' ');
    line("{}({}){}", prefix, fmt::join(groups, fmt::format(",\n{}", pad)),
         suffix);
  }

  void indent() { os.indent(); }
  void unindent() { os.unindent(); }

private:
  llvm::raw_string_ostream stream;
  mlir::raw_indented_ostream os;
};

} // namespace gatec

#endif // GATEC_LIB_TARGET_SOURCEPRINTER_H
