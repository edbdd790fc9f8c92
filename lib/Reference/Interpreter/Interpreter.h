//===- Interpreter.h - The reference interpreter's evaluator ----*- C++ -*-===//
//
// Part of gatec. Private to lib/Reference/Interpreter: the evaluator behind
// gatec::ref::interpret, declared here and defined per op family in the
// files beside it.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_LIB_REFERENCE_INTERPRETER_INTERPRETER_H
#define GATEC_LIB_REFERENCE_INTERPRETER_INTERPRETER_H

#include "gatec/Dialect/Gate/GateOps.h"
#include "gatec/Reference/Interpreter.h"
#include "gatec/Reference/Reference.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/DenseMap.h"

#include <optional>
#include <string>
#include <vector>

namespace gatec::ref::detail {

/// Row-major strides of `shape`.
llvm::SmallVector<int64_t> stridesOf(llvm::ArrayRef<int64_t> shape);

/// Evaluates a gate-level function op by op: tensors and scalars by SSA
/// value, every op through the eval* member of its family.
class Interpreter {
public:
  Interpreter(std::string &error, ref::RouterHooks *hooks)
      : error(error), hooks(hooks) {}

  mlir::FailureOr<std::vector<TensorValue>>
  run(mlir::func::FuncOp func, llvm::ArrayRef<TensorValue> inputs);

private:
  std::string &error;
  ref::RouterHooks *hooks;
  llvm::DenseMap<mlir::Value, TensorValue> tensors;
  llvm::DenseMap<mlir::Value, double> scalars;

  //===--------------------------------------------------------------------===//
  // Values, and dispatch on the op (Interpreter.cpp)
  //===--------------------------------------------------------------------===//

  mlir::LogicalResult fail(mlir::Operation *op, const llvm::Twine &message);

  mlir::FailureOr<double> scalar(mlir::Operation *user, mlir::Value v);

  mlir::FailureOr<TensorValue *> tensor(mlir::Operation *user, mlir::Value v);

  /// Resolves a mixed static/dynamic list (offsets, sizes, ...).
  mlir::FailureOr<llvm::SmallVector<int64_t>>
  resolve(mlir::Operation *user, llvm::ArrayRef<mlir::OpFoldResult> values);

  mlir::LogicalResult eval(mlir::Operation *op);

  mlir::LogicalResult evalConstant(mlir::arith::ConstantOp c);

  mlir::FailureOr<double> scalarConstant(mlir::Operation *op,
                                         mlir::Attribute value);

  //===--------------------------------------------------------------------===//
  // Tensor ops (TensorOps.cpp)
  //===--------------------------------------------------------------------===//

  mlir::LogicalResult evalReshape(mlir::tensor::ExpandShapeOp reshape);

  mlir::LogicalResult evalReshape(mlir::tensor::CollapseShapeOp reshape);

  /// The offsets, in a row-major tensor of `shape`, of the elements of the
  /// slice `s`, in the slice's own row-major order.
  template <typename SliceOp>
  mlir::FailureOr<std::vector<int64_t>>
  sliceElements(SliceOp s, llvm::ArrayRef<int64_t> shape);

  mlir::LogicalResult evalExtractSlice(mlir::tensor::ExtractSliceOp s);

  mlir::LogicalResult evalInsertSlice(mlir::tensor::InsertSliceOp s);

  //===--------------------------------------------------------------------===//
  // Scalar and linalg ops (LinalgOps.cpp)
  //===--------------------------------------------------------------------===//

  /// One scalar op of a linalg body (or of index math at function level).
  /// `loopIndices` serves linalg.index.
  mlir::FailureOr<double> evalScalarOp(mlir::Operation *op,
                                       llvm::ArrayRef<double> a,
                                       llvm::ArrayRef<int64_t> loopIndices);

  static double cmpf(mlir::arith::CmpFPredicate p, double x, double y);

  static double cmpi(mlir::arith::CmpIPredicate p, double x, double y);

  /// Evaluates any linalg structured op from its maps and body.
  mlir::LogicalResult evalLinalg(mlir::linalg::LinalgOp op);

  //===--------------------------------------------------------------------===//
  // Gate ops (GateOps.cpp)
  //===--------------------------------------------------------------------===//

  /// A state pool and the row of each sequence (-1: skipped).
  struct PoolRows {
    std::vector<int64_t> slots;
    std::vector<float> pool;
    llvm::SmallVector<int64_t> shape;
  };

  /// Reads the optional float operand `v` of `user` into `out`, which stays
  /// empty without one.
  mlir::LogicalResult readFloats(mlir::Operation *user, mlir::Value v,
                                 std::vector<float> &out);

  /// Reads the optional packed-sequence offsets `cuSeqlens` of `user` (a
  /// scan or a conv over `tokens` tokens) into `cu` and returns the number of
  /// sequences: len(cu_seqlens) - 1, or `batch` without offsets.
  mlir::FailureOr<int64_t> readCuSeqlens(mlir::Operation *user,
                                         mlir::Value cuSeqlens, int64_t batch,
                                         int64_t tokens,
                                         std::vector<int64_t> &cu);

  static ref::Activation activation(mlir::gate::Activation act);

  static std::optional<double> toDouble(std::optional<llvm::APFloat> value);

  mlir::LogicalResult evalGate(mlir::gate::GateOp op);

  mlir::LogicalResult evalFusedGate(mlir::gate::FusedGateOp op);

  mlir::LogicalResult evalScan(mlir::gate::ChunkedScanOp op);

  mlir::LogicalResult evalRouter(mlir::gate::RouterOp op);

  mlir::LogicalResult evalDispatch(mlir::gate::DispatchOp op);

  /// A state pool (`poolValue`, whose values `states` holds on entry):
  /// sequence n starts from pool[slots[n]] (rows of `stateSize` floats),
  /// gathered into `states` (`numStates` rows); a slot outside [0, P) skips
  /// the sequence (its row of `states` is 0 and its slot -1). Two sequences
  /// on one row are an error.
  mlir::LogicalResult gatherPool(mlir::Operation *op, mlir::Value slotValues,
                                 mlir::Value poolValue, int64_t stateSize,
                                 int64_t numStates, std::vector<float> &states,
                                 PoolRows &rows);

  /// Writes each sequence's final state (`states`) back to its pool row
  /// and sets a skipped sequence's outputs (`out`, rows of `rowSize` per
  /// token: batch entry n, or its packed range) to 0.
  static void scatterPool(const std::vector<float> &states, int64_t stateSize,
                          const std::vector<int64_t> &cu, int64_t tokens,
                          int64_t rowSize, PoolRows &rows,
                          std::vector<float> &out);

  /// Sets the rows of each skipped sequence (slot -1) in `out` to 0: batch
  /// entry n's `tokens` rows of `rowSize`, or its packed range.
  static void zeroSkipped(llvm::ArrayRef<int64_t> slots,
                          const std::vector<int64_t> &cu, int64_t tokens,
                          int64_t rowSize, std::vector<float> &out);

  mlir::LogicalResult evalCausalConv1d(mlir::gate::CausalConv1dOp op);
};

} // namespace gatec::ref::detail

#endif // GATEC_LIB_REFERENCE_INTERPRETER_INTERPRETER_H
