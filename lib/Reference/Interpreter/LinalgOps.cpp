//===- LinalgOps.cpp - Evaluate linalg ops in the reference interpreter ---===//
//
// Part of gatec. Any linalg structured op, point by point from its indexing
// maps and body in double (contractions accumulated directly), and the
// scalar arith and math ops of bodies and index math.
//
//===----------------------------------------------------------------------===//

#include "Reference/Interpreter/Interpreter.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using gatec::ref::TensorValue;

namespace gatec::ref::detail {

FailureOr<double> Interpreter::evalScalarOp(Operation *op, ArrayRef<double> a,
                                            ArrayRef<int64_t> loopIndices) {
  using namespace arith;
  Type resultType = op->getResult(0).getType();
  auto asInt = [](double v) { return static_cast<int64_t>(v); };
  std::optional<double> r =
      llvm::TypeSwitch<Operation *, std::optional<double>>(op)
          .Case<ConstantOp>([&](ConstantOp c) -> std::optional<double> {
            if (auto f = dyn_cast<FloatAttr>(c.getValue()))
              return f.getValue().convertToDouble();
            if (auto i = dyn_cast<IntegerAttr>(c.getValue()))
              return c.getType().isInteger(1)
                         ? static_cast<double>(i.getValue().getZExtValue())
                         : static_cast<double>(i.getValue().getSExtValue());
            return std::nullopt;
          })
          .Case<AddFOp>([&](auto) { return a[0] + a[1]; })
          .Case<SubFOp>([&](auto) { return a[0] - a[1]; })
          .Case<MulFOp>([&](auto) { return a[0] * a[1]; })
          .Case<DivFOp>([&](auto) { return a[0] / a[1]; })
          .Case<RemFOp>([&](auto) { return std::fmod(a[0], a[1]); })
          .Case<NegFOp>([&](auto) { return -a[0]; })
          .Case<MaximumFOp>([&](auto) {
            return std::isnan(a[0]) || std::isnan(a[1]) ? std::nan("")
                                                        : std::fmax(a[0], a[1]);
          })
          .Case<MinimumFOp>([&](auto) {
            return std::isnan(a[0]) || std::isnan(a[1]) ? std::nan("")
                                                        : std::fmin(a[0], a[1]);
          })
          .Case<MaxNumFOp>([&](auto) { return std::fmax(a[0], a[1]); })
          .Case<MinNumFOp>([&](auto) { return std::fmin(a[0], a[1]); })
          .Case<ExtFOp, ExtSIOp, IndexCastOp, SIToFPOp, ExtUIOp, UIToFPOp>(
              [&](auto) { return a[0]; })
          .Case<TruncFOp, FPToSIOp, TruncIOp>(
              [&](auto) { return gatec::ref::roundTo(resultType, a[0]); })
          .Case<AddIOp>([&](auto) { return a[0] + a[1]; })
          .Case<SubIOp>([&](auto) { return a[0] - a[1]; })
          .Case<MulIOp>([&](auto) { return a[0] * a[1]; })
          .Case<DivSIOp, DivUIOp>([&](auto) -> std::optional<double> {
            if (asInt(a[1]) == 0)
              return std::nullopt;
            return static_cast<double>(asInt(a[0]) / asInt(a[1]));
          })
          .Case<CeilDivSIOp, CeilDivUIOp>([&](auto) -> std::optional<double> {
            int64_t x = asInt(a[0]), y = asInt(a[1]);
            if (y == 0)
              return std::nullopt;
            return static_cast<double>((x + y - 1) / y);
          })
          .Case<RemSIOp, RemUIOp>([&](auto) -> std::optional<double> {
            if (asInt(a[1]) == 0)
              return std::nullopt;
            return static_cast<double>(asInt(a[0]) % asInt(a[1]));
          })
          .Case<MaxSIOp, MaxUIOp>([&](auto) { return std::max(a[0], a[1]); })
          .Case<MinSIOp, MinUIOp>([&](auto) { return std::min(a[0], a[1]); })
          .Case<AndIOp>([&](auto) {
            return static_cast<double>(asInt(a[0]) & asInt(a[1]));
          })
          .Case<OrIOp>([&](auto) {
            return static_cast<double>(asInt(a[0]) | asInt(a[1]));
          })
          .Case<XOrIOp>([&](auto) {
            return static_cast<double>(asInt(a[0]) ^ asInt(a[1]));
          })
          .Case<SelectOp>([&](auto) { return a[0] != 0 ? a[1] : a[2]; })
          .Case<CmpFOp>(
              [&](CmpFOp c) { return cmpf(c.getPredicate(), a[0], a[1]); })
          .Case<CmpIOp>(
              [&](CmpIOp c) { return cmpi(c.getPredicate(), a[0], a[1]); })
          .Case<math::ExpOp>([&](auto) { return std::exp(a[0]); })
          .Case<math::Exp2Op>([&](auto) { return std::exp2(a[0]); })
          .Case<math::ExpM1Op>([&](auto) { return std::expm1(a[0]); })
          .Case<math::LogOp>([&](auto) { return std::log(a[0]); })
          .Case<math::Log1pOp>([&](auto) { return std::log1p(a[0]); })
          .Case<math::Log2Op>([&](auto) { return std::log2(a[0]); })
          .Case<math::TanhOp>([&](auto) { return std::tanh(a[0]); })
          .Case<math::ErfOp>([&](auto) { return std::erf(a[0]); })
          .Case<math::ErfcOp>([&](auto) { return std::erfc(a[0]); })
          .Case<math::SqrtOp>([&](auto) { return std::sqrt(a[0]); })
          .Case<math::RsqrtOp>([&](auto) { return 1.0 / std::sqrt(a[0]); })
          .Case<math::AbsFOp>([&](auto) { return std::fabs(a[0]); })
          .Case<math::PowFOp>([&](auto) { return std::pow(a[0], a[1]); })
          .Case<math::FmaOp>([&](auto) { return a[0] * a[1] + a[2]; })
          .Case<math::SinOp>([&](auto) { return std::sin(a[0]); })
          .Case<math::CosOp>([&](auto) { return std::cos(a[0]); })
          .Case<linalg::IndexOp>([&](linalg::IndexOp i) {
            return static_cast<double>(loopIndices[i.getDim()]);
          })
          .Default([](Operation *) { return std::nullopt; });
  if (!r)
    return fail(op, "the reference interpreter cannot evaluate this op");
  return *r;
}

double Interpreter::cmpf(arith::CmpFPredicate p, double x, double y) {
  using P = arith::CmpFPredicate;
  bool unordered = std::isnan(x) || std::isnan(y);
  switch (p) {
  case P::AlwaysFalse:
    return 0;
  case P::OEQ:
    return !unordered && x == y;
  case P::OGT:
    return !unordered && x > y;
  case P::OGE:
    return !unordered && x >= y;
  case P::OLT:
    return !unordered && x < y;
  case P::OLE:
    return !unordered && x <= y;
  case P::ONE:
    return !unordered && x != y;
  case P::ORD:
    return !unordered;
  case P::UEQ:
    return unordered || x == y;
  case P::UGT:
    return unordered || x > y;
  case P::UGE:
    return unordered || x >= y;
  case P::ULT:
    return unordered || x < y;
  case P::ULE:
    return unordered || x <= y;
  case P::UNE:
    return unordered || x != y;
  case P::UNO:
    return unordered;
  case P::AlwaysTrue:
    return 1;
  }
  return 0;
}

double Interpreter::cmpi(arith::CmpIPredicate p, double x, double y) {
  using P = arith::CmpIPredicate;
  switch (p) {
  case P::eq:
    return x == y;
  case P::ne:
    return x != y;
  case P::slt:
  case P::ult:
    return x < y;
  case P::sle:
  case P::ule:
    return x <= y;
  case P::sgt:
  case P::ugt:
    return x > y;
  case P::sge:
  case P::uge:
    return x >= y;
  }
  return 0;
}

LogicalResult Interpreter::evalLinalg(linalg::LinalgOp op) {
  SmallVector<const TensorValue *> operandValues;
  SmallVector<double> scalarOperands;
  SmallVector<int64_t> allDims;
  for (OpOperand &operand : op->getOpOperands()) {
    Value v = operand.get();
    if (isa<RankedTensorType>(v.getType())) {
      FailureOr<TensorValue *> t = tensor(op, v);
      if (failed(t))
        return failure();
      operandValues.push_back(*t);
      allDims.append((*t)->shape.begin(), (*t)->shape.end());
      scalarOperands.push_back(0);
    } else if (isa<ShapedType>(v.getType())) {
      return fail(op, "only tensor semantics are interpreted");
    } else {
      FailureOr<double> s = scalar(op, v);
      if (failed(s))
        return failure();
      operandValues.push_back(nullptr);
      scalarOperands.push_back(*s);
    }
  }
  AffineMap shapesToLoops = op.getShapesToLoopsMap();
  if (!shapesToLoops)
    return fail(op, "loop bounds are not derivable from operand shapes");
  SmallVector<int64_t> ranges = shapesToLoops.compose(allDims);
  int64_t numLoops = ranges.size();

  // Each operand's position as sum(coefficient * loop index) + constant.
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  struct Access {
    SmallVector<int64_t> coefficients;
    int64_t constant = 0;
  };
  SmallVector<Access> accesses;
  for (auto [i, map] : llvm::enumerate(maps)) {
    Access access;
    access.coefficients.assign(numLoops, 0);
    if (!operandValues[i]) {
      accesses.push_back(access);
      continue;
    }
    SmallVector<int64_t> strides = stridesOf(operandValues[i]->shape);
    for (auto [r, expr] : llvm::enumerate(map.getResults())) {
      if (auto dim = dyn_cast<AffineDimExpr>(expr))
        access.coefficients[dim.getPosition()] += strides[r];
      else if (auto c = dyn_cast<AffineConstantExpr>(expr))
        access.constant += c.getValue() * strides[r];
      else
        return fail(op, "indexing map is not a projected permutation");
    }
    accesses.push_back(access);
  }

  // Results start as copies of the inits and are updated in loop order,
  // which is also the order of every reduction.
  unsigned numInputs = op.getNumDpsInputs();
  SmallVector<TensorValue> results;
  for (OpOperand &init : op.getDpsInitsMutable())
    results.push_back(*operandValues[init.getOperandNumber()]);

  int64_t total = 1;
  for (int64_t r : ranges)
    total *= r;
  SmallVector<int64_t> iv(numLoops, 0);

  // Contractions (mul-add bodies, with casts) are most of the work in a
  // kernel with projections: accumulate in double directly instead of
  // interpreting the body at every point. Same order, same result.
  if (linalg::isaContractionOpInterface(op) && numInputs == 2 &&
      op.getNumDpsInits() == 1 && operandValues[0] && operandValues[1]) {
    const std::vector<double> &a = operandValues[0]->data;
    const std::vector<double> &b = operandValues[1]->data;
    std::vector<double> &c = results[0].data;
    for (int64_t n = 0; n < total; ++n) {
      int64_t offsets[3] = {accesses[0].constant, accesses[1].constant,
                            accesses[2].constant};
      for (int64_t d = 0; d < numLoops; ++d)
        for (int i = 0; i < 3; ++i)
          offsets[i] += accesses[i].coefficients[d] * iv[d];
      c[offsets[2]] += a[offsets[0]] * b[offsets[1]];
      for (int64_t d = numLoops - 1; d >= 0; --d) {
        if (++iv[d] < ranges[d])
          break;
        iv[d] = 0;
      }
    }
    for (double &x : results[0].data)
      x = gatec::ref::roundTo(results[0].elementType, x);
    tensors[op->getResult(0)] = std::move(results[0]);
    return success();
  }

  Block *body = op.getBlock();
  DenseMap<Value, double> slots;
  // Values captured from outside the body are constants for the loop.
  for (Operation &inner : body->without_terminator())
    for (Value operand : inner.getOperands())
      if (operand.getParentBlock() != body) {
        auto it = scalars.find(operand);
        if (it == scalars.end())
          return fail(&inner, "body uses a value the interpreter lacks");
        slots[operand] = it->second;
      }

  SmallVector<double> operandsScratch;
  for (int64_t n = 0; n < total; ++n) {
    for (auto [i, arg] : llvm::enumerate(body->getArguments())) {
      int64_t offset = accesses[i].constant;
      for (int64_t d = 0; d < numLoops; ++d)
        offset += accesses[i].coefficients[d] * iv[d];
      if (!operandValues[i])
        slots[arg] = scalarOperands[i];
      else if (i < numInputs)
        slots[arg] = operandValues[i]->data[offset];
      else
        slots[arg] = results[i - numInputs].data[offset];
    }
    for (Operation &inner : body->without_terminator()) {
      operandsScratch.clear();
      for (Value operand : inner.getOperands())
        operandsScratch.push_back(slots.lookup(operand));
      FailureOr<double> r = evalScalarOp(&inner, operandsScratch, iv);
      if (failed(r))
        return failure();
      slots[inner.getResult(0)] = *r;
    }
    auto yield = cast<linalg::YieldOp>(body->getTerminator());
    for (auto [r, value] : llvm::enumerate(yield.getValues())) {
      unsigned operandIndex = numInputs + r;
      int64_t offset = accesses[operandIndex].constant;
      for (int64_t d = 0; d < numLoops; ++d)
        offset += accesses[operandIndex].coefficients[d] * iv[d];
      results[r].data[offset] = slots.lookup(value);
    }
    for (int64_t d = numLoops - 1; d >= 0; --d) {
      if (++iv[d] < ranges[d])
        break;
      iv[d] = 0;
    }
  }
  // The op's results are stored once, in their element type.
  for (auto [result, value] : llvm::zip(op->getResults(), results)) {
    for (double &x : value.data)
      x = gatec::ref::roundTo(value.elementType, x);
    tensors[result] = std::move(value);
  }
  return success();
}

} // namespace gatec::ref::detail
