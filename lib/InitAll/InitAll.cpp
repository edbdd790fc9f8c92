//===- InitAll.cpp - Register everything gatec tools need -----------------===//
//
// Part of gatec. Kept alone in its own translation unit: registration pulls in
// every dialect and is the slowest file to compile.
//
//===----------------------------------------------------------------------===//

#include "gatec/InitAll.h"

#include "gatec/Codegen/CPU/Passes.h"
#include "gatec/Codegen/CUDA/Passes.h"
#include "gatec/Conversion/Passes.h"
#include "gatec/Dialect/Gate/GateDialect.h"
#include "gatec/Pipelines/Pipelines.h"
#include "gatec/Target/CPU/CPUTarget.h"
#include "gatec/Target/CUDA/CUDATarget.h"
#include "gatec/Transforms/Passes.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"

void gatec::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<mlir::gate::GateDialect>();
  // Before upstream's: an interface's first model attached to an op is kept.
  gatec::registerSliceEquivalenceModels(registry);
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  gatec::registerCPUTranslations(registry);
  gatec::registerCUDATranslations(registry);
}

void gatec::registerAllPasses() {
  mlir::registerAllPasses();
  gatec::registerGatecConversionPasses();
  gatec::registerGatecTransformsPasses();
  gatec::registerGatecCPUCodegenPasses();
  gatec::registerGatecCUDACodegenPasses();
  gatec::registerPipelines();
}
