//===- CompilerTest.cpp - The public compiler API -------------------------===//
//
// Part of gatec. Exercises include/gatec/Compiler.h as an embedding program
// would: in-memory sources, structured diagnostics, request errors, schedule
// overrides, and compilations running on several threads at once.
//
//===----------------------------------------------------------------------===//

#include "gatec/Compiler.h"

#include <gtest/gtest.h>

#include <thread>

namespace {

constexpr const char *kScale = "kernel scale(x: f32[T, 8]) -> f32[T, 8] {\n"
                               "  return x * 2\n"
                               "}\n";

constexpr const char *kRouter =
    "kernel route2(logits: f32[T, 8]) -> (w: f32[T, 2], e: i32[T, 2]) {\n"
    "  return route(logits, k = 2, score = softmax)\n"
    "}\n";

constexpr const char *kScan =
    "kernel gla(q: f32[1, T, 2, 16], k: f32[1, T, 2, 16], v: f32[1, T, 2, 8],"
    " g: f32[1, T, 2, 16]) -> f32[1, T, 2, 8] {\n"
    "  return scan(q, k, v, decay = vector(g))\n"
    "}\n";

gatec::CompileOptions optionsFor(std::vector<std::string> emit,
                                 std::string target = "cpu:x86-64-v3") {
  gatec::CompileOptions options;
  options.targets = {std::move(target)};
  options.emit = std::move(emit);
  return options;
}

TEST(CompilerTest, CompilesToObjectAndHeader) {
  gatec::CompileResult result =
      gatec::compileSource(kScale, "scale.gate", optionsFor({"obj", "header"}));
  ASSERT_TRUE(result.ok()) << result.renderDiagnostics();
  EXPECT_TRUE(result.diagnostics.empty());
  ASSERT_EQ(result.artifacts.size(), 2u);
  const gatec::Artifact *object = result.find("obj");
  ASSERT_NE(object, nullptr);
  EXPECT_EQ(object->fileName, "scale.o");
  EXPECT_EQ(object->target, "cpu:x86-64-v3");
  EXPECT_TRUE(object->binary);
  // An ELF relocatable object.
  ASSERT_GT(object->data.size(), 4u);
  EXPECT_EQ(object->data.substr(0, 4), "\x7f" "ELF");
  const gatec::Artifact *header = result.find("header");
  ASSERT_NE(header, nullptr);
  EXPECT_FALSE(header->binary);
  EXPECT_NE(header->data.find("namespace gatec_kernels::scale"),
            std::string::npos);
  EXPECT_NE(header->data.find("gatec_scale("), std::string::npos);
  EXPECT_EQ(result.find("obj", "cpu"), nullptr);
}

TEST(CompilerTest, ModuleNameNamesOutputsAndNamespace) {
  gatec::CompileOptions options = optionsFor({"header"});
  options.moduleName = "my_layer";
  gatec::CompileResult result =
      gatec::compileSource(kScale, "scale.gate", options);
  ASSERT_TRUE(result.ok()) << result.renderDiagnostics();
  EXPECT_EQ(result.artifacts.at(0).fileName, "my_layer.h");
  EXPECT_NE(result.artifacts[0].data.find("namespace gatec_kernels::my_layer"),
            std::string::npos);
}

TEST(CompilerTest, SourceErrorsAreStructuredAndStreamed) {
  std::vector<gatec::Diagnostic> streamed;
  gatec::CompileOptions options = optionsFor({"obj"});
  options.onDiagnostic = [&](const gatec::Diagnostic &d) {
    streamed.push_back(d);
  };
  // Two independent errors: both are reported, in source order.
  gatec::CompileResult result = gatec::compileSource(
      "kernel a(x: f32[T, 8]) -> f32[T, 8] {\n"
      "  return x * y\n"
      "}\n"
      "kernel b(x: f32[T, 8]) -> f32[T, 4] {\n"
      "  return x\n"
      "}\n",
      "two.gate", options);
  EXPECT_FALSE(result.ok());
  EXPECT_TRUE(result.artifacts.empty());
  ASSERT_GE(result.diagnostics.size(), 2u);
  ASSERT_EQ(streamed.size(), result.diagnostics.size());
  const gatec::Diagnostic &first = result.diagnostics[0];
  EXPECT_EQ(first.severity, gatec::Severity::Error);
  EXPECT_EQ(first.file, "two.gate");
  EXPECT_EQ(first.line, 2u);
  EXPECT_EQ(first.column, 14u);
  EXPECT_NE(first.message.find("'y'"), std::string::npos) << first.message;
  // The rendered text is what the gatec command prints: location, message,
  // source line, caret.
  EXPECT_EQ(first.rendered.rfind("two.gate:2:14: error: ", 0), 0u)
      << first.rendered;
  EXPECT_NE(first.rendered.find("  return x * y\n"), std::string::npos);
  EXPECT_NE(first.rendered.find("^"), std::string::npos);
  bool secondKernel = false;
  for (const gatec::Diagnostic &d : result.diagnostics)
    secondKernel |= d.line >= 4 && d.severity == gatec::Severity::Error;
  EXPECT_TRUE(secondKernel) << result.renderDiagnostics();
  EXPECT_EQ(streamed[0].message, first.message);
}

TEST(CompilerTest, WarningsDoNotFail) {
  gatec::CompileResult result = gatec::compileSource(
      "// nothing here\n", "empty.gate", optionsFor({"mlir"}));
  EXPECT_TRUE(result.ok());
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_EQ(result.diagnostics[0].severity, gatec::Severity::Warning);
  EXPECT_EQ(result.diagnostics[0].message, "empty.gate defines no kernel");
  EXPECT_EQ(result.diagnostics[0].line, 0u);
}

TEST(CompilerTest, RequestErrorsComeBeforeAnyWork) {
  auto check = [](gatec::CompileOptions options, const std::string &message) {
    std::vector<gatec::Diagnostic> early = gatec::checkOptions(options);
    ASSERT_EQ(early.size(), 1u) << message;
    EXPECT_EQ(early[0].message, message);
    EXPECT_TRUE(early[0].file.empty());
    EXPECT_EQ(early[0].line, 0u);
    // compileSource reports the same, even for a source that does not parse.
    gatec::CompileResult result =
        gatec::compileSource("kernel (", "bad.gate", options);
    ASSERT_EQ(result.diagnostics.size(), 1u);
    EXPECT_EQ(result.diagnostics[0].message, message);
  };
  check(optionsFor({"obj"}, "cpu:pentium"),
        "unknown target 'cpu:pentium' (known: cpu, cpu:x86-64-v3, "
        "cpu:x86-64-v4, cpu:znver4, cpu:native, cuda:sm_80, cuda:sm_86, cuda:sm_89, "
        "cuda:sm_90, cuda:sm_90a)");
  check(optionsFor({"exe"}),
        "unknown output 'exe' (known: ast, mlir, mlir-lowered, llvm, asm, "
        "obj, ptx, cubin, header, torch, all)");
  check(optionsFor({"ptx"}), "--emit=ptx needs a cuda target (such as "
                             "--target=cuda:sm_90), but the target is "
                             "cpu:x86-64-v3");
  gatec::CompileOptions chunk = optionsFor({"mlir"});
  chunk.chunkSize = 0;
  check(chunk, "the chunk size must be between 1 and 1048576, got 0");
  gatec::CompileOptions tile = optionsFor({"obj"});
  tile.cpuThreadTileCols = -4;
  check(tile, "the CPU thread tile's columns must be between 1 and 1048576, "
              "got -4");
  gatec::CompileOptions none = optionsFor({});
  check(none, "no output given: name at least one emit kind");
  EXPECT_TRUE(gatec::checkOptions(optionsFor({"obj", "header"})).empty());
}

TEST(CompilerTest, MissingFileIsAnError) {
  gatec::CompileResult result =
      gatec::compileFile("/nonexistent/layer.gate", optionsFor({"mlir"}));
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_EQ(result.diagnostics[0].message,
            "cannot read '/nonexistent/layer.gate': No such file or "
            "directory");
}

TEST(CompilerTest, ChunkSizeOverrideReachesTheScan) {
  gatec::CompileResult defaults =
      gatec::compileSource(kScan, "gla.gate", optionsFor({"mlir"}));
  ASSERT_TRUE(defaults.ok()) << defaults.renderDiagnostics();
  EXPECT_EQ(defaults.artifacts[0].data.find("chunk_size = 16"),
            std::string::npos);
  gatec::CompileOptions options = optionsFor({"mlir"});
  options.chunkSize = 16;
  gatec::CompileResult result =
      gatec::compileSource(kScan, "gla.gate", options);
  ASSERT_TRUE(result.ok()) << result.renderDiagnostics();
  EXPECT_NE(result.artifacts[0].data.find("chunk_size = 16"),
            std::string::npos)
      << result.artifacts[0].data;
}

TEST(CompilerTest, ThreadTileOverrideReachesTheSchedule) {
  // The thread tile is the step of the scf.forall over a matmul's output.
  const char *matmul =
      "kernel mm(x: f32[T, 64], w: f32[64, 512]) -> f32[T, 512] {\n"
      "  return x @ w\n"
      "}\n";
  gatec::CompileOptions options = optionsFor({"mlir-lowered"});
  gatec::CompileResult defaults =
      gatec::compileSource(matmul, "mm.gate", options);
  options.cpuThreadTileRows = 48;
  options.cpuThreadTileCols = 128;
  gatec::CompileResult tiled = gatec::compileSource(matmul, "mm.gate", options);
  ASSERT_TRUE(defaults.ok() && tiled.ok()) << tiled.renderDiagnostics();
  EXPECT_NE(defaults.artifacts[0].data.find("step (256, 128)"),
            std::string::npos);
  EXPECT_NE(tiled.artifacts[0].data.find("step (48, 128)"), std::string::npos)
      << tiled.artifacts[0].data;
}

TEST(CompilerTest, CUDATargetsEmitPTXAndAHeader) {
  gatec::CompileResult result = gatec::compileSource(
      kScale, "scale.gate", optionsFor({"ptx", "header"}, "cuda:sm_80"));
  ASSERT_TRUE(result.ok()) << result.renderDiagnostics();
  const gatec::Artifact *ptx = result.find("ptx");
  const gatec::Artifact *header = result.find("header");
  ASSERT_TRUE(ptx && header);
  EXPECT_NE(ptx->data.find(".target sm_80"), std::string::npos);
  EXPECT_NE(ptx->data.find(".entry scale_kernel"), std::string::npos);
  EXPECT_NE(header->data.find("gatec_cuda_scale("), std::string::npos);
  EXPECT_NE(header->data.find("#include <cuda.h>"), std::string::npos);
}

TEST(CompilerTest, CudaWgmmaRunsMatmulsOnWarpgroupsOnlyForSm90a) {
  const char *projection = "kernel proj(x: bf16[T, 64], w: bf16[64, 128]) "
                           "-> bf16[T, 128] {\n"
                           "  return x @ w\n"
                           "}\n";
  gatec::CompileOptions options = optionsFor({"ptx"}, "cuda:sm_90a");
  gatec::CompileResult plain =
      gatec::compileSource(projection, "proj.gate", options);
  ASSERT_TRUE(plain.ok()) << plain.renderDiagnostics();
  EXPECT_NE(plain.find("ptx")->data.find("mma.sync.aligned"),
            std::string::npos);
  EXPECT_EQ(plain.find("ptx")->data.find("wgmma"), std::string::npos);

  options.cudaWgmma = true;
  gatec::CompileResult wgmma =
      gatec::compileSource(projection, "proj.gate", options);
  ASSERT_TRUE(wgmma.ok()) << wgmma.renderDiagnostics();
  const std::string &ptx = wgmma.find("ptx")->data;
  EXPECT_NE(ptx.find("wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16"),
            std::string::npos);
  EXPECT_EQ(ptx.find("mma.sync.aligned"), std::string::npos);

  options.targets = {"cuda:sm_90"};
  gatec::CompileResult portable =
      gatec::compileSource(projection, "proj.gate", options);
  EXPECT_FALSE(portable.ok());
  EXPECT_NE(portable.renderDiagnostics().find("--cuda-wgmma needs"),
            std::string::npos);
}

TEST(CompilerTest, ConcurrentCompilationsMatchSequentialOnes) {
  const std::vector<std::pair<const char *, const char *>> sources = {
      {kScale, "scale.gate"}, {kRouter, "router.gate"}, {kScan, "gla.gate"}};
  gatec::CompileOptions options = optionsFor({"obj", "header"});
  std::vector<gatec::CompileResult> expected;
  for (auto [source, name] : sources)
    expected.push_back(gatec::compileSource(source, name, options));

  constexpr int kRounds = 2;
  std::vector<gatec::CompileResult> results(sources.size() * kRounds);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i)
    threads.emplace_back([&, i] {
      auto [source, name] = sources[i % sources.size()];
      results[i] = gatec::compileSource(source, name, options);
    });
  for (std::thread &thread : threads)
    thread.join();
  for (size_t i = 0; i < results.size(); ++i) {
    const gatec::CompileResult &want = expected[i % sources.size()];
    ASSERT_TRUE(results[i].ok()) << results[i].renderDiagnostics();
    ASSERT_EQ(results[i].artifacts.size(), want.artifacts.size());
    for (size_t a = 0; a < want.artifacts.size(); ++a)
      EXPECT_TRUE(results[i].artifacts[a].data == want.artifacts[a].data)
          << "artifact " << want.artifacts[a].fileName
          << " differs between a sequential and a concurrent compilation";
  }
}

TEST(CompilerTest, ListsTargetsAndEmitKinds) {
  std::vector<gatec::TargetDescription> targets = gatec::listTargets();
  ASSERT_FALSE(targets.empty());
  EXPECT_EQ(targets[0].name, "cpu");
  EXPECT_EQ(targets[0].family, "cpu");
  bool objAvailable = false, ptxAvailable = false;
  for (const gatec::EmitKindDescription &kind : gatec::listEmitKinds()) {
    if (kind.name == "obj")
      objAvailable = kind.available && kind.binary && kind.suffix == "o";
    if (kind.name == "ptx")
      ptxAvailable = kind.available;
  }
  EXPECT_TRUE(objAvailable);
  EXPECT_TRUE(ptxAvailable);
}

} // namespace
