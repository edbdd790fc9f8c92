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

#include "gatec/Reference/Reference.h"
#include "mlir/IR/Types.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/DenseMap.h"
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

/// One gate.router as interpret() evaluated it (RouterHooks::trace).
struct RouterTrace {
  mlir::Operation *router = nullptr;
  RouterParams params;
  /// The logits [T, E] as the router read them; the selection bias [E],
  /// empty without one.
  TensorValue logits;
  std::vector<float> bias;
  /// The choices before the capacity rule (rankExperts, or the forced ones)
  /// and the experts the router returned, both [T, k].
  std::vector<int32_t> ranked, experts;
};

/// Lets a caller see and steer the routers of one evaluation: a checker
/// that accepts a compiled kernel's other choice at a near tie evaluates
/// everything downstream of the router on that choice.
struct RouterHooks {
  /// When set, every gate.router evaluated appends its trace.
  std::vector<RouterTrace> *trace = nullptr;
  /// Per gate.router: the choices ([T, k], before the capacity rule) to take
  /// instead of ranking (routeChosen).
  llvm::DenseMap<mlir::Operation *, std::vector<int32_t>> forced;
};

/// Evaluates `func` on `inputs` (one per argument, shapes already bound) and
/// returns one value per result. On an op it does not know, or an input that
/// does not fit the signature, returns failure with `error` set.
mlir::FailureOr<std::vector<TensorValue>>
interpret(mlir::func::FuncOp func, llvm::ArrayRef<TensorValue> inputs,
          std::string &error, RouterHooks *hooks = nullptr);

/// Rounds `value` as a store to `type` would (bf16, f16, f32: nearest even;
/// integers: truncation toward zero); f64 and index are exact.
double roundTo(mlir::Type type, double value);

} // namespace gatec::ref

#endif // GATEC_REFERENCE_INTERPRETER_H
