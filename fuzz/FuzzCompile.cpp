//===- FuzzCompile.cpp - libFuzzer target for source -> CPU object --------===//
//
// Part of gatec. Compiles one input with gatec::compileSource (the public
// API, gatec/Compiler.h) all the way to an x86-64 object and its C++ header,
// and holds it to the API's contract: every input ends in artifacts or in
// diagnostics, never a crash, an assertion, a sanitizer report, a hang or a
// leak. Specifically:
//   - ok() results carry one non-empty object and one non-empty header;
//   - failed results carry an error with a message and a rendering, and
//     produce no artifact past the failing stage.
// PTX is not fuzzed: no CUDA backend is built into gatec yet.
//
//===----------------------------------------------------------------------===//

#include "gatec/Compiler.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

[[noreturn]] static void contractBroken(const char *what,
                                        const gatec::CompileResult &result) {
  std::fprintf(stderr, "gatec-fuzz-compile: %s\n%s\n", what,
               result.renderDiagnostics().c_str());
  std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const gatec::CompileOptions options = [] {
    gatec::CompileOptions o;
    // A fixed ISA level, so that a crash reproduces on any x86-64 host.
    o.targets = {"cpu:x86-64-v3"};
    o.emit = {"obj", "header"};
    return o;
  }();
  std::string_view source(reinterpret_cast<const char *>(data), size);
  gatec::CompileResult result =
      gatec::compileSource(source, "fuzz.gate", options);

  if (result.ok()) {
    const gatec::Artifact *object = result.find("obj");
    const gatec::Artifact *header = result.find("header");
    if (!object || object->data.empty() || !header || header->data.empty())
      contractBroken("success without an object and a header", result);
    return 0;
  }
  bool explained = false;
  for (const gatec::Diagnostic &d : result.diagnostics)
    if (d.severity == gatec::Severity::Error && !d.message.empty() &&
        !d.rendered.empty())
      explained = true;
  if (!explained)
    contractBroken("failure without an error message", result);
  return 0;
}
