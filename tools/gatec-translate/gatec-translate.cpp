//===- gatec-translate.cpp - gatec's mlir-translate -----------------------===//
//
// Part of gatec. Translates gate-level MLIR to other formats: the C/C++
// wrapper header of the compiled kernels (--gate-to-cpp-header) and the
// PyTorch extension that calls it (--gate-to-torch-extension).
//
//===----------------------------------------------------------------------===//

#include "gatec/Target/CppHeader/ExportCppHeader.h"
#include "gatec/Target/Torch/ExportTorchExtension.h"

#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"

int main(int argc, char **argv) {
  gatec::registerToCppHeaderTranslation();
  gatec::registerToTorchExtensionTranslation();
  return mlir::failed(
      mlir::mlirTranslateMain(argc, argv, "gatec translation driver\n"));
}
