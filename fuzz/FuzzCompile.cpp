//===- FuzzCompile.cpp - libFuzzer target for source -> object ------------===//
//
// Part of gatec. Compiles one input with gatec::compileSource (the public
// API, gatec/Compiler.h) all the way to the target's code (an x86-64 object,
// or PTX when built as gatec-fuzz-compile-cuda) and its header, and holds it
// to the API's contract: every input ends in artifacts or in diagnostics,
// never a crash, an assertion, a sanitizer report, a hang or a leak.
// Specifically:
//   - ok() results carry non-empty code and a non-empty header;
//   - failed results carry an error with a message and a rendering, and
//     produce no artifact past the failing stage.
//
//===----------------------------------------------------------------------===//

#include "gatec/Compiler.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

// The target and its code artifact (fuzz/CMakeLists.txt sets them for the
// CUDA build of this file).
#ifndef GATEC_FUZZ_TARGET
// A fixed ISA level, so that a crash reproduces on any x86-64 host.
#define GATEC_FUZZ_TARGET "cpu:x86-64-v3"
#define GATEC_FUZZ_CODE "obj"
#endif

[[noreturn]] static void contractBroken(const char *what,
                                        const gatec::CompileResult &result) {
  std::fprintf(stderr, "gatec-fuzz-compile: %s\n%s\n", what,
               result.renderDiagnostics().c_str());
  std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const gatec::CompileOptions options = [] {
    gatec::CompileOptions o;
    o.targets = {GATEC_FUZZ_TARGET};
    o.emit = {GATEC_FUZZ_CODE, "header"};
    return o;
  }();
  std::string_view source(reinterpret_cast<const char *>(data), size);
  gatec::CompileResult result =
      gatec::compileSource(source, "fuzz.gate", options);

  if (result.ok()) {
    const gatec::Artifact *code = result.find(GATEC_FUZZ_CODE);
    const gatec::Artifact *header = result.find("header");
    if (!code || code->data.empty() || !header || header->data.empty())
      contractBroken("success without code and a header", result);
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
