// Embeds the gatec compiler: compiles .gate source held in a string, once
// correct and once with a typo, and prints what came back. Exit status 0 when
// the good source yields an object and a header and the bad one yields a
// located error.
#include "gatec/Compiler.h"

#include <cstdio>

int main() {
  gatec::CompileOptions options;
  options.targets = {"cpu:x86-64-v3"};
  options.emit = {"obj", "header"};

  gatec::CompileResult good = gatec::compileSource(
      "kernel scale(x: f32[T, 8]) -> f32[T, 8] {\n  return x * 2\n}\n",
      "scale.gate", options);
  const gatec::Artifact *object = good.find("obj");
  const gatec::Artifact *header = good.find("header");
  std::printf("gatec %.*s: scale.gate -> %s (%zu bytes), %s (%zu bytes)\n",
              (int)gatec::getVersion().size(), gatec::getVersion().data(),
              object ? object->fileName.c_str() : "?",
              object ? object->data.size() : 0,
              header ? header->fileName.c_str() : "?",
              header ? header->data.size() : 0);

  int reported = 0;
  options.onDiagnostic = [&](const gatec::Diagnostic &d) {
    ++reported;
    std::printf("diagnostic: %s:%u:%u: %.*s: %s\n", d.file.c_str(), d.line,
                d.column, (int)gatec::stringifySeverity(d.severity).size(),
                gatec::stringifySeverity(d.severity).data(),
                d.message.c_str());
  };
  gatec::CompileResult bad = gatec::compileSource(
      "kernel scale(x: f32[T, 8]) -> f32[T, 8] {\n  return x * 2 +\n}\n",
      "typo.gate", options);
  bool located = !bad.diagnostics.empty() && bad.diagnostics[0].line == 3;
  bool ok = good.ok() && object && header && !object->data.empty() &&
            !bad.ok() && bad.artifacts.empty() && reported > 0 && located;
  std::printf("%s\n", ok ? "compiler API works" : "FAILED");
  return ok ? 0 : 1;
}
