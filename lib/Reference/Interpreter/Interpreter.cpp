//===- Interpreter.cpp - Evaluate gate-level MLIR with the oracle ---------===//
//
// Part of gatec. Deliberately simple: every linalg op is evaluated point by
// point from its indexing maps and body, in double; gate ops go to the
// reference library. Nothing here is tiled, vectorized or reordered, so it
// shares no code path (and no bug) with the compiler. This file holds the
// values and the dispatch on the op; the op families are evaluated in
// TensorOps.cpp, LinalgOps.cpp and GateOps.cpp.
//
//===----------------------------------------------------------------------===//

#include "gatec/Reference/Interpreter.h"

#include "Reference/Interpreter/Interpreter.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using gatec::ref::TensorValue;

int64_t TensorValue::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

double gatec::ref::roundTo(Type type, double value) {
  if (type.isBF16())
    return roundToBF16(static_cast<float>(value));
  if (type.isF16())
    return roundToF16(static_cast<float>(value));
  if (type.isF32())
    return static_cast<float>(value);
  if (auto intType = dyn_cast<IntegerType>(type)) {
    if (std::isnan(value))
      return 0;
    unsigned width = intType.getWidth();
    if (width == 1)
      return value != 0;
    // Wrap like two's complement of the width (only i32/i64 occur).
    auto v = static_cast<int64_t>(std::trunc(value));
    if (width == 32)
      return static_cast<int32_t>(v);
    return static_cast<double>(v);
  }
  return value;
}

namespace gatec::ref::detail {

SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

FailureOr<std::vector<TensorValue>>
Interpreter::run(func::FuncOp func, ArrayRef<TensorValue> inputs) {
  Block &entry = func.getBody().front();
  if (inputs.size() != entry.getNumArguments())
    return fail(func, "expected " + std::to_string(entry.getNumArguments()) +
                          " inputs, got " + std::to_string(inputs.size()));
  for (auto [arg, input] : llvm::zip(entry.getArguments(), inputs))
    tensors[arg] = input;
  for (Operation &op : entry) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      std::vector<TensorValue> results;
      for (Value v : ret.getOperands()) {
        auto it = tensors.find(v);
        if (it == tensors.end())
          return fail(&op, "a kernel result must be a tensor");
        results.push_back(it->second);
      }
      return results;
    }
    if (failed(eval(&op)))
      return failure();
  }
  return fail(func, "kernel has no return");
}

LogicalResult Interpreter::fail(Operation *op, const Twine &message) {
  std::string loc;
  llvm::raw_string_ostream os(loc);
  op->getLoc().print(os);
  error = (message + " (at '" + op->getName().getStringRef() + "' " + loc + ")")
              .str();
  return failure();
}

FailureOr<double> Interpreter::scalar(Operation *user, Value v) {
  auto it = scalars.find(v);
  if (it == scalars.end())
    return fail(user, "operand is not a known scalar");
  return it->second;
}

FailureOr<TensorValue *> Interpreter::tensor(Operation *user, Value v) {
  auto it = tensors.find(v);
  if (it == tensors.end())
    return fail(user, "operand is not a known tensor");
  return &it->second;
}

FailureOr<SmallVector<int64_t>>
Interpreter::resolve(Operation *user, ArrayRef<OpFoldResult> values) {
  SmallVector<int64_t> out;
  for (OpFoldResult ofr : values) {
    if (auto attr = dyn_cast<Attribute>(ofr)) {
      out.push_back(cast<IntegerAttr>(attr).getInt());
      continue;
    }
    FailureOr<double> v = scalar(user, cast<Value>(ofr));
    if (failed(v))
      return failure();
    out.push_back(static_cast<int64_t>(*v));
  }
  return out;
}

LogicalResult Interpreter::eval(Operation *op) {
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<arith::ConstantOp>([&](auto c) { return evalConstant(c); })
      .Case<tensor::EmptyOp>([&](tensor::EmptyOp e) {
        auto type = e.getType();
        FailureOr<SmallVector<int64_t>> shape = resolve(op, e.getMixedSizes());
        if (failed(shape))
          return failure();
        TensorValue t{type.getElementType(), *shape, {}};
        t.data.assign(t.numElements(), 0.0);
        tensors[e.getResult()] = std::move(t);
        return success();
      })
      .Case<tensor::DimOp>([&](tensor::DimOp d) {
        FailureOr<TensorValue *> t = tensor(op, d.getSource());
        FailureOr<double> index = scalar(op, d.getIndex());
        if (failed(t) || failed(index))
          return failure();
        scalars[d.getResult()] =
            static_cast<double>((*t)->shape[static_cast<size_t>(*index)]);
        return success();
      })
      .Case<tensor::CastOp>([&](tensor::CastOp c) {
        FailureOr<TensorValue *> t = tensor(op, c.getSource());
        if (failed(t))
          return failure();
        tensors[c.getResult()] = **t;
        return success();
      })
      .Case<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(
          [&](auto reshape) { return evalReshape(reshape); })
      .Case<tensor::ExtractSliceOp>(
          [&](tensor::ExtractSliceOp s) { return evalExtractSlice(s); })
      .Case<tensor::InsertSliceOp>(
          [&](tensor::InsertSliceOp s) { return evalInsertSlice(s); })
      .Case<tensor::ExtractOp>([&](tensor::ExtractOp e) {
        FailureOr<TensorValue *> t = tensor(op, e.getTensor());
        if (failed(t))
          return failure();
        SmallVector<int64_t> strides = stridesOf((*t)->shape);
        int64_t offset = 0;
        for (auto [i, index] : llvm::enumerate(e.getIndices())) {
          FailureOr<double> v = scalar(op, index);
          if (failed(v))
            return failure();
          offset += static_cast<int64_t>(*v) * strides[i];
        }
        scalars[e.getResult()] = (*t)->data[offset];
        return success();
      })
      .Case<linalg::LinalgOp>([&](linalg::LinalgOp l) { return evalLinalg(l); })
      .Case<gate::GateOp>([&](gate::GateOp g) { return evalGate(g); })
      .Case<gate::FusedGateOp>(
          [&](gate::FusedGateOp g) { return evalFusedGate(g); })
      .Case<gate::ChunkedScanOp>(
          [&](gate::ChunkedScanOp s) { return evalScan(s); })
      .Case<gate::RouterOp>([&](gate::RouterOp r) { return evalRouter(r); })
      .Case<gate::DispatchOp>(
          [&](gate::DispatchOp d) { return evalDispatch(d); })
      .Case<gate::CausalConv1dOp>(
          [&](gate::CausalConv1dOp c) { return evalCausalConv1d(c); })
      .Default([&](Operation *other) -> LogicalResult {
        // Scalar arithmetic at function level (index math on dims).
        if (other->getNumResults() == 1 &&
            !isa<ShapedType>(other->getResult(0).getType())) {
          SmallVector<double> operands;
          for (Value v : other->getOperands()) {
            FailureOr<double> s = scalar(other, v);
            if (failed(s))
              return failure();
            operands.push_back(*s);
          }
          FailureOr<double> r = evalScalarOp(other, operands, {});
          if (failed(r))
            return failure();
          scalars[other->getResult(0)] = *r;
          return success();
        }
        return fail(other, "the reference interpreter does not know this op");
      });
}

LogicalResult Interpreter::evalConstant(arith::ConstantOp c) {
  Attribute value = c.getValue();
  if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    auto type = cast<RankedTensorType>(dense.getType());
    TensorValue t{
        type.getElementType(), SmallVector<int64_t>(type.getShape()), {}};
    t.data.reserve(t.numElements());
    if (isa<FloatType>(type.getElementType())) {
      for (APFloat v : dense.getValues<APFloat>())
        t.data.push_back(v.convertToDouble());
    } else {
      for (APInt v : dense.getValues<APInt>())
        t.data.push_back(static_cast<double>(v.getSExtValue()));
    }
    tensors[c.getResult()] = std::move(t);
    return success();
  }
  FailureOr<double> v = scalarConstant(c, value);
  if (failed(v))
    return failure();
  scalars[c.getResult()] = *v;
  return success();
}

FailureOr<double> Interpreter::scalarConstant(Operation *op, Attribute value) {
  if (auto f = dyn_cast<FloatAttr>(value))
    return f.getValue().convertToDouble();
  if (auto i = dyn_cast<IntegerAttr>(value)) {
    if (i.getType().isInteger(1))
      return static_cast<double>(i.getValue().getZExtValue());
    return static_cast<double>(i.getValue().getSExtValue());
  }
  return fail(op, "unsupported constant");
}

} // namespace gatec::ref::detail

FailureOr<std::vector<TensorValue>>
gatec::ref::interpret(func::FuncOp func, ArrayRef<TensorValue> inputs,
                      std::string &error, RouterHooks *hooks) {
  detail::Interpreter interpreter(error, hooks);
  return interpreter.run(func, inputs);
}
