//===- gatec-translate.cpp - gatec's mlir-translate -----------------------===//
//
// Part of gatec. Translates gate-level MLIR to other formats; today the C/C++
// wrapper header of the compiled kernels (--gate-to-cpp-header).
//
//===----------------------------------------------------------------------===//

#include "gatec/Target/CppHeader/ExportCppHeader.h"

#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"

int main(int argc, char **argv) {
  gatec::registerToCppHeaderTranslation();
  return mlir::failed(
      mlir::mlirTranslateMain(argc, argv, "gatec translation driver\n"));
}
