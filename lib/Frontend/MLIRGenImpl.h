//===- MLIRGenImpl.h - MLIRGen's generator, shared --------------*- C++ -*-===//
//
// Part of gatec. Private to lib/Frontend. MLIRGen emits each kernel with one
// Generator whose methods are spread over the MLIRGen*.cpp files by concern
// (each group of declarations below names its file); this declares it.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_LIB_FRONTEND_MLIRGENIMPL_H
#define GATEC_LIB_FRONTEND_MLIRGENIMPL_H

#include "gatec/Dialect/Gate/KernelABI.h"
#include "gatec/Frontend/AST.h"
#include "gatec/Frontend/Diagnostics.h"
#include "gatec/Frontend/Sema.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/SMLoc.h"

namespace gatec::mlirgen {

// The generator is written against MLIR's names, as its files are.
using namespace mlir;
using llvm::SMLoc;

/// An operand of an elementwise operation: a tensor, or a number that is
/// materialized inside the loop body.
struct Operand {
  Value value;
  const CheckedType *type = nullptr;
  double constant = 0.0;
  bool isConstant() const { return !value; }
};

/// Builds the loop body of a float elementwise op from f32 arguments.
using FloatBody =
    llvm::function_ref<Value(OpBuilder &, Location, ArrayRef<Value>)>;

class Generator {
public:
  Generator(MLIRContext &context, const SemaResult &sema,
            gatec::DiagnosticEngine &diag)
      : context(context), b(&context), sema(sema), diag(diag) {}

  OwningOpRef<ModuleOp> run(const ModuleAST &module, StringRef onlyKernel);

private:
  //===--------------------------------------------------------------------===//
  // Helpers
  //===--------------------------------------------------------------------===//

  LogicalResult internalError(SMLoc where, const llvm::Twine &what) {
    diag.error(where, "internal error: " + what +
                          " (this is a gatec bug; please report it)");
    return failure();
  }
  Location loc(SMLoc l) {
    auto [line, col] = diag.getLineAndColumn(l);
    return FileLineColLoc::get(&context, diag.getBufferName(l), line, col);
  }
  Type elementType(DType dtype) {
    switch (dtype) {
    case DType::f32:
      return b.getF32Type();
    case DType::f16:
      return b.getF16Type();
    case DType::bf16:
      return b.getBF16Type();
    case DType::i32:
      return b.getI32Type();
    case DType::i64:
      return b.getI64Type();
    }
    return b.getF32Type();
  }
  int64_t resolve(const Dim &dim) const {
    return sema.resolve(dim, *kernelInfo);
  }
  RankedTensorType tensorType(const CheckedType &type) {
    return tensorType(type, type.dtype);
  }
  RankedTensorType tensorType(const CheckedType &type, DType dtype) {
    SmallVector<int64_t> shape;
    for (const Dim &d : type.dims)
      shape.push_back(resolve(d));
    return RankedTensorType::get(shape, elementType(dtype));
  }
  Value f32Constant(OpBuilder &builder, Location l, double value) {
    return arith::ConstantOp::create(builder, l,
                                     builder.getF32FloatAttr(value));
  }

  //===--------------------------------------------------------------------===//
  // Sizes (MLIRGenStructured.cpp)
  //===--------------------------------------------------------------------===//

  /// The run-time size of a kernel symbol: a tensor.dim of the first
  /// parameter holding it, emitted once at the top of the function.
  FailureOr<Value> symbolSize(StringRef symbol);
  /// The size of a symbolic dimension: its symbol's size plus its constant.
  FailureOr<Value> symbolDimSize(const Dim &dim);
  /// The size of dimension `dim` (index `index` of `source`) as an
  /// OpFoldResult: a constant when static.
  FailureOr<OpFoldResult> dimSize(const Dim &dim, Value source, int64_t index,
                                  Location l);
  /// A tensor.empty of `type`; dynamic sizes come from the symbols, else
  /// from `sources` (values whose matching dimension has the size).
  FailureOr<Value> emptyTensor(Location l, RankedTensorType type,
                               ArrayRef<Dim> dims,
                               ArrayRef<std::pair<Value, int64_t>> sources);
  /// Converts a scalar between element types (cast's semantics).
  Value convertScalar(OpBuilder &builder, Location l, Value v, Type to);

  //===--------------------------------------------------------------------===//
  // Parameter attributes (MLIRGen.cpp)
  //===--------------------------------------------------------------------===//

  /// Marks the kernel parameter `offsets` (a scan's cu_seqlens; Sema checked
  /// that it is one) with `gate.offsets`, so that the entry points check
  /// its values: 0 first, never decreasing, at most `upperBound` (T).
  void markOffsets(Value offsets, const Dim &upperBound);
  /// A state pool is updated in place: its new value `updatedPool` is a
  /// kernel result tied to the pool parameter, and the slots parameter is
  /// marked `gate.slots` so that the entry points check them against it.
  void tieStatePool(const CallInfo &info, Value updatedPool, Value slots);
  /// A dimension of the kernel's ABI: a size, a symbol, or the dialect's
  /// formula for a derived length; null for a dimension nothing computes.
  gate::DimAttr dimAttr(const Dim &dim);
  /// The `gate.shape` of a parameter or result type.
  gate::ShapeAttr shapeAttr(const TypeAST &type);

  //===--------------------------------------------------------------------===//
  // Structured ops (MLIRGenStructured.cpp)
  //===--------------------------------------------------------------------===//

  /// A linalg.generic over the result shape, numpy-broadcasting operands
  /// (dimensions of size 1 that stretch are collapsed away first so that
  /// every indexing map is a projected permutation). In float mode the body
  /// gets f32 arguments and its result is rounded to the result dtype; in
  /// raw mode it gets the elements as they are.
  FailureOr<Value> emitElementwise(Location l, ArrayRef<Operand> operands,
                                   const CheckedType &result, DType dtype,
                                   bool floatMode, FloatBody body);
  FailureOr<Value> emitMatMul(const BinaryExprAST &expr);
  /// Reduces the last dimension in f32: sum, sum of squares or max.
  enum class Reduction { Sum, SumOfSquares, Max };
  FailureOr<Value> emitReduction(Location l, Value x, const CheckedType &type,
                                 Reduction kind);
  /// Adds a trailing dimension of size 1.
  FailureOr<Value> expandTrailingOne(Location l, Value v,
                                     const CheckedType &result);
  FailureOr<Value> emitReshape(Location l, Value x, const CheckedType &from,
                               const CheckedType &to, const ReshapePlan &plan);
  FailureOr<Value> emitRmsNorm(const CallExprAST &call, const CallInfo &info);
  /// The length of the last dimension of `x` as an f32 scalar.
  FailureOr<Value> lastDimAsF32(Location l, Value x, const CheckedType &type);

  //===--------------------------------------------------------------------===//
  // Expressions (MLIRGenExpr.cpp)
  //===--------------------------------------------------------------------===//

  FailureOr<SmallVector<Value>> gen(const ExprAST &expr);
  FailureOr<Value> genOne(const ExprAST &expr);
  FailureOr<Operand> genOperand(const ExprAST &expr);
  FailureOr<SmallVector<Value>> genCall(const CallExprAST &call);
  /// The states of a scan or conv call: the operand that starts them (the
  /// pool, or the initial state, or null) and the type of the final-state
  /// result (the pool's, the second result's `finalState`, or null).
  struct States {
    Value initial;
    Type finalType;
  };
  FailureOr<States> genStates(const CallInfo &info,
                              const CheckedType *finalState);

  //===--------------------------------------------------------------------===//
  // Kernels (MLIRGen.cpp)
  //===--------------------------------------------------------------------===//

  LogicalResult genKernel(const KernelAST &kernel, ModuleOp module);

  MLIRContext &context;
  OpBuilder b;
  const SemaResult &sema;
  gatec::DiagnosticEngine &diag;

  // Per kernel.
  const KernelAST *kernel = nullptr;
  const KernelInfo *kernelInfo = nullptr;
  Block *entry = nullptr;
  Operation *lastEntryOp = nullptr;
  llvm::StringMap<Value> symbolValues;
  llvm::StringMap<SmallVector<Value, 1>> vars;
  /// The updated value of each parameter the kernel updates in place (a
  /// state pool), by parameter index; returned as results tied to them.
  DenseMap<unsigned, Value> updatedParams;
  /// The ABI of the kernel being generated.
  gate::KernelABI abi;
};

} // namespace gatec::mlirgen

#endif // GATEC_LIB_FRONTEND_MLIRGENIMPL_H
