//===- KernelBuffers.cpp - Kernel arguments in memory ---------------------===//
//
// Part of gatec. The element types a checked kernel reads and writes, as
// bytes: the width of an element, and doubles stored in and loaded from
// a kernel's buffers; the parameters a kernel updates in place.
//
//===----------------------------------------------------------------------===//

#include "Check/KernelCase.h"
#include "gatec/Dialect/Gate/KernelABI.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/APFloat.h"

using namespace mlir;

namespace gatec::detail {

std::optional<unsigned> tiedParameter(func::FuncOp func, unsigned r) {
  if (auto index = func.getResultAttrOfType<IntegerAttr>(
          r, mlir::gate::kUpdatesAttrName))
    return static_cast<unsigned>(index.getInt());
  return std::nullopt;
}

int64_t byteWidth(Type t) {
  if (t.isF32() || t.isInteger(32))
    return 4;
  if (t.isBF16() || t.isF16())
    return 2;
  if (t.isF64() || t.isInteger(64) || t.isIndex())
    return 8;
  if (t.isInteger(1) || t.isInteger(8))
    return 1;
  return 0;
}

void store(Type t, ArrayRef<double> values, char *out) {
  for (size_t i = 0; i < values.size(); ++i) {
    double v = values[i];
    if (t.isF32()) {
      float f = static_cast<float>(v);
      std::memcpy(out + 4 * i, &f, 4);
    } else if (t.isBF16() || t.isF16()) {
      APFloat f(static_cast<float>(v));
      bool lost;
      f.convert(t.isBF16() ? APFloat::BFloat() : APFloat::IEEEhalf(),
                APFloat::rmNearestTiesToEven, &lost);
      uint16_t bits = static_cast<uint16_t>(f.bitcastToAPInt().getZExtValue());
      std::memcpy(out + 2 * i, &bits, 2);
    } else if (t.isInteger(32)) {
      int32_t x = static_cast<int32_t>(v);
      std::memcpy(out + 4 * i, &x, 4);
    } else if (t.isInteger(64) || t.isIndex()) {
      int64_t x = static_cast<int64_t>(v);
      std::memcpy(out + 8 * i, &x, 8);
    } else if (t.isF64()) {
      std::memcpy(out + 8 * i, &v, 8);
    }
  }
}

double load(Type t, const char *in, int64_t i) {
  if (t.isF32()) {
    float f;
    std::memcpy(&f, in + 4 * i, 4);
    return f;
  }
  if (t.isBF16() || t.isF16()) {
    uint16_t bits;
    std::memcpy(&bits, in + 2 * i, 2);
    APFloat f(t.isBF16() ? APFloat::BFloat() : APFloat::IEEEhalf(),
              APInt(16, bits));
    return f.convertToDouble();
  }
  if (t.isInteger(32)) {
    int32_t x;
    std::memcpy(&x, in + 4 * i, 4);
    return x;
  }
  if (t.isInteger(64) || t.isIndex()) {
    int64_t x;
    std::memcpy(&x, in + 8 * i, 8);
    return static_cast<double>(x);
  }
  double d;
  std::memcpy(&d, in + 8 * i, 8);
  return d;
}

} // namespace gatec::detail
