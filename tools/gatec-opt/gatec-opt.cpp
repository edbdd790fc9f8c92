//===- gatec-opt.cpp - gatec's mlir-opt -----------------------------------===//
//
// Part of gatec. Runs any gatec or upstream pass or pipeline on MLIR input.
//
//===----------------------------------------------------------------------===//

#include "gatec/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  gatec::registerAllDialects(registry);
  gatec::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "gatec optimizer driver\n", registry));
}
