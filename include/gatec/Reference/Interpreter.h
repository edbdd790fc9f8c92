//===- Interpreter.h - Evaluate gate-level MLIR with the oracle ---*- C++ -*-===//
//
// Part of gatec. Runs a gate-level kernel (gate ops + upstream linalg, tensor
// and arith on tensors, as the frontend emits it) on concrete inputs: gate ops
// through the reference library (gatec/Reference/Reference.h), everything
// else evaluated exactly in double, with each rounding to bf16/f16/f32 done
// where the IR says. It is the oracle any compiled kernel is compared with.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_REFERENCE_INTERPRETER_H
#define GATEC_REFERENCE_INTERPRETER_H

#include "mlir/IR/Types.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallVector.h"

#include <string>
#include <vector>

namespace mlir {
namespace func {
class FuncOp;
} // namespace func
} // namespace mlir

namespace gatec::ref {

/// A dense row-major tensor with values held in double (integers exactly).
struct TensorValue {
  mlir::Type elementType;
  llvm::SmallVector<int64_t> shape;
  std::vector<double> data;

  int64_t numElements() const;
};

/// Evaluates `func` on `inputs` (one per argument, shapes already bound) and
/// returns one value per result. On an op it does not know, or an input that
/// does not fit the signature, returns failure with `error` set.
mlir::FailureOr<std::vector<TensorValue>>
interpret(mlir::func::FuncOp func, llvm::ArrayRef<TensorValue> inputs,
          std::string &error);

/// Rounds `value` as a store to `type` would (bf16, f16, f32: nearest even;
/// integers: truncation toward zero); f64 and index are exact.
double roundTo(mlir::Type type, double value);

} // namespace gatec::ref

#endif // GATEC_REFERENCE_INTERPRETER_H
