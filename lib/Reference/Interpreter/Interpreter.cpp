//===- Interpreter.cpp - Evaluate gate-level MLIR with the oracle ---------===//
//
// Part of gatec. Deliberately simple: every linalg op is evaluated point by
// point from its indexing maps and body, in double; gate ops go to the
// reference library. Nothing here is tiled, vectorized or reordered, so it
// shares no code path (and no bug) with the compiler.
//
//===----------------------------------------------------------------------===//

#include "gatec/Reference/Interpreter.h"

#include "gatec/Dialect/Gate/GateOps.h"
#include "gatec/Reference/Reference.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <functional>

using namespace mlir;
using gatec::ref::TensorValue;
namespace ref = gatec::ref;

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

namespace {

/// Row-major strides of `shape`.
SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

std::vector<float> toFloats(const TensorValue &t) {
  return std::vector<float>(t.data.begin(), t.data.end());
}

TensorValue fromFloats(Type elementType, ArrayRef<int64_t> shape,
                       const std::vector<float> &values) {
  TensorValue t{elementType, SmallVector<int64_t>(shape), {}};
  t.data.reserve(values.size());
  for (float v : values)
    t.data.push_back(gatec::ref::roundTo(elementType, v));
  return t;
}

class Interpreter {
public:
  Interpreter(std::string &error, ref::RouterHooks *hooks)
      : error(error), hooks(hooks) {}

  FailureOr<std::vector<TensorValue>> run(func::FuncOp func,
                                          ArrayRef<TensorValue> inputs) {
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

private:
  std::string &error;
  ref::RouterHooks *hooks;
  DenseMap<Value, TensorValue> tensors;
  DenseMap<Value, double> scalars;

  LogicalResult fail(Operation *op, const Twine &message) {
    std::string loc;
    llvm::raw_string_ostream os(loc);
    op->getLoc().print(os);
    error = (message + " (at '" + op->getName().getStringRef() + "' " + loc +
             ")")
                .str();
    return failure();
  }

  FailureOr<double> scalar(Operation *user, Value v) {
    auto it = scalars.find(v);
    if (it == scalars.end())
      return fail(user, "operand is not a known scalar");
    return it->second;
  }

  FailureOr<TensorValue *> tensor(Operation *user, Value v) {
    auto it = tensors.find(v);
    if (it == tensors.end())
      return fail(user, "operand is not a known tensor");
    return &it->second;
  }

  /// Reads the optional float operand `v` of `user` into `out`, which stays
  /// empty without one.
  LogicalResult readFloats(Operation *user, Value v, std::vector<float> &out) {
    if (!v)
      return success();
    FailureOr<TensorValue *> t = tensor(user, v);
    if (failed(t))
      return failure();
    out = toFloats(**t);
    return success();
  }

  /// Reads the optional packed-sequence offsets `cuSeqlens` of `user` (a
  /// scan or a conv over `tokens` tokens) into `cu` and returns the number of
  /// sequences: len(cu_seqlens) - 1, or `batch` without offsets.
  FailureOr<int64_t> readCuSeqlens(Operation *user, Value cuSeqlens,
                                   int64_t batch, int64_t tokens,
                                   std::vector<int64_t> &cu) {
    if (!cuSeqlens)
      return batch;
    FailureOr<TensorValue *> t = tensor(user, cuSeqlens);
    if (failed(t))
      return failure();
    for (double offset : (*t)->data)
      cu.push_back(static_cast<int64_t>(offset));
    // Offsets outside [0, T] or decreasing are a caller error the compiled
    // kernel may not survive either; refuse to define them.
    for (size_t i = 0; i < cu.size(); ++i)
      if (cu[i] < 0 || cu[i] > tokens || (i && cu[i] < cu[i - 1]) ||
          (i == 0 && cu[i] != 0))
        return fail(user, "cu_seqlens must start at 0 and be non-decreasing "
                          "up to T");
    return static_cast<int64_t>(cu.size()) - 1;
  }

  /// Resolves a mixed static/dynamic list (offsets, sizes, ...).
  FailureOr<SmallVector<int64_t>> resolve(Operation *user,
                                          ArrayRef<OpFoldResult> values) {
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

  LogicalResult eval(Operation *op) {
    return llvm::TypeSwitch<Operation *, LogicalResult>(op)
        .Case<arith::ConstantOp>([&](auto c) { return evalConstant(c); })
        .Case<tensor::EmptyOp>([&](tensor::EmptyOp e) {
          auto type = e.getType();
          FailureOr<SmallVector<int64_t>> shape =
              resolve(op, e.getMixedSizes());
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

  LogicalResult evalConstant(arith::ConstantOp c) {
    Attribute value = c.getValue();
    if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
      auto type = cast<RankedTensorType>(dense.getType());
      TensorValue t{type.getElementType(),
                    SmallVector<int64_t>(type.getShape()),
                    {}};
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

  FailureOr<double> scalarConstant(Operation *op, Attribute value) {
    if (auto f = dyn_cast<FloatAttr>(value))
      return f.getValue().convertToDouble();
    if (auto i = dyn_cast<IntegerAttr>(value)) {
      if (i.getType().isInteger(1))
        return static_cast<double>(i.getValue().getZExtValue());
      return static_cast<double>(i.getValue().getSExtValue());
    }
    return fail(op, "unsupported constant");
  }

  LogicalResult evalReshape(tensor::ExpandShapeOp reshape) {
    FailureOr<TensorValue *> src = tensor(reshape, reshape.getSrc());
    FailureOr<SmallVector<int64_t>> shape =
        resolve(reshape, reshape.getMixedOutputShape());
    if (failed(src) || failed(shape))
      return failure();
    TensorValue t = **src;
    t.shape = *shape;
    tensors[reshape.getResult()] = std::move(t);
    return success();
  }

  LogicalResult evalReshape(tensor::CollapseShapeOp reshape) {
    FailureOr<TensorValue *> src = tensor(reshape, reshape.getSrc());
    if (failed(src))
      return failure();
    TensorValue t = **src;
    t.shape.clear();
    for (const ReassociationIndices &group :
         reshape.getReassociationIndices()) {
      int64_t size = 1;
      for (int64_t d : group)
        size *= (*src)->shape[d];
      t.shape.push_back(size);
    }
    tensors[reshape.getResult()] = std::move(t);
    return success();
  }

  /// The offsets, in a row-major tensor of `shape`, of the elements of the
  /// slice `s`, in the slice's own row-major order.
  template <typename SliceOp>
  FailureOr<std::vector<int64_t>> sliceElements(SliceOp s,
                                                ArrayRef<int64_t> shape) {
    FailureOr<SmallVector<int64_t>> offsets = resolve(s, s.getMixedOffsets());
    FailureOr<SmallVector<int64_t>> sizes = resolve(s, s.getMixedSizes());
    FailureOr<SmallVector<int64_t>> steps = resolve(s, s.getMixedStrides());
    if (failed(offsets) || failed(sizes) || failed(steps))
      return failure();
    SmallVector<int64_t> strides = stridesOf(shape);
    int64_t count = 1;
    for (int64_t size : *sizes)
      count *= size;
    std::vector<int64_t> positions;
    positions.reserve(count);
    SmallVector<int64_t> iv(sizes->size(), 0);
    for (int64_t n = 0; n < count; ++n) {
      int64_t offset = 0;
      for (size_t d = 0; d < iv.size(); ++d)
        offset += ((*offsets)[d] + iv[d] * (*steps)[d]) * strides[d];
      positions.push_back(offset);
      for (int64_t d = static_cast<int64_t>(iv.size()) - 1; d >= 0; --d) {
        if (++iv[d] < (*sizes)[d])
          break;
        iv[d] = 0;
      }
    }
    return positions;
  }

  LogicalResult evalExtractSlice(tensor::ExtractSliceOp s) {
    FailureOr<TensorValue *> src = tensor(s, s.getSource());
    if (failed(src))
      return failure();
    const TensorValue &in = **src;
    FailureOr<std::vector<int64_t>> positions = sliceElements(s, in.shape);
    if (failed(positions))
      return failure();
    TensorValue out{in.elementType, {}, {}};
    llvm::SmallBitVector dropped = s.getDroppedDims();
    // sliceElements resolved the sizes already; this cannot fail.
    SmallVector<int64_t> sizes = *resolve(s, s.getMixedSizes());
    for (auto [i, size] : llvm::enumerate(sizes))
      if (!dropped.test(i))
        out.shape.push_back(size);
    out.data.reserve(positions->size());
    for (int64_t offset : *positions)
      out.data.push_back(in.data[offset]);
    tensors[s.getResult()] = std::move(out);
    return success();
  }

  LogicalResult evalInsertSlice(tensor::InsertSliceOp s) {
    FailureOr<TensorValue *> src = tensor(s, s.getSource());
    FailureOr<TensorValue *> dst = tensor(s, s.getDest());
    if (failed(src) || failed(dst))
      return failure();
    TensorValue out = **dst;
    FailureOr<std::vector<int64_t>> positions = sliceElements(s, out.shape);
    if (failed(positions))
      return failure();
    for (auto [n, offset] : llvm::enumerate(*positions))
      out.data[offset] = (*src)->data[n];
    tensors[s.getResult()] = std::move(out);
    return success();
  }

  /// One scalar op of a linalg body (or of index math at function level).
  /// `loopIndices` serves linalg.index.
  FailureOr<double> evalScalarOp(Operation *op, ArrayRef<double> a,
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
              return std::isnan(a[0]) || std::isnan(a[1])
                         ? std::nan("")
                         : std::fmax(a[0], a[1]);
            })
            .Case<MinimumFOp>([&](auto) {
              return std::isnan(a[0]) || std::isnan(a[1])
                         ? std::nan("")
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

  static double cmpf(arith::CmpFPredicate p, double x, double y) {
    using P = arith::CmpFPredicate;
    bool unordered = std::isnan(x) || std::isnan(y);
    switch (p) {
    case P::AlwaysFalse: return 0;
    case P::OEQ: return !unordered && x == y;
    case P::OGT: return !unordered && x > y;
    case P::OGE: return !unordered && x >= y;
    case P::OLT: return !unordered && x < y;
    case P::OLE: return !unordered && x <= y;
    case P::ONE: return !unordered && x != y;
    case P::ORD: return !unordered;
    case P::UEQ: return unordered || x == y;
    case P::UGT: return unordered || x > y;
    case P::UGE: return unordered || x >= y;
    case P::ULT: return unordered || x < y;
    case P::ULE: return unordered || x <= y;
    case P::UNE: return unordered || x != y;
    case P::UNO: return unordered;
    case P::AlwaysTrue: return 1;
    }
    return 0;
  }

  static double cmpi(arith::CmpIPredicate p, double x, double y) {
    using P = arith::CmpIPredicate;
    switch (p) {
    case P::eq: return x == y;
    case P::ne: return x != y;
    case P::slt: case P::ult: return x < y;
    case P::sle: case P::ule: return x <= y;
    case P::sgt: case P::ugt: return x > y;
    case P::sge: case P::uge: return x >= y;
    }
    return 0;
  }

  /// Evaluates any linalg structured op from its maps and body.
  LogicalResult evalLinalg(linalg::LinalgOp op) {
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

  static ref::Activation activation(gate::Activation act) {
    switch (act) {
    case gate::Activation::sigmoid: return ref::Activation::Sigmoid;
    case gate::Activation::identity: return ref::Activation::Identity;
    case gate::Activation::relu: return ref::Activation::Relu;
    case gate::Activation::gelu: return ref::Activation::Gelu;
    case gate::Activation::gelu_tanh: return ref::Activation::GeluTanh;
    case gate::Activation::silu: return ref::Activation::Silu;
    }
    return ref::Activation::Identity;
  }

  static std::optional<double> toDouble(std::optional<APFloat> value) {
    if (!value)
      return std::nullopt;
    return value->convertToDouble();
  }

  LogicalResult evalGate(gate::GateOp op) {
    FailureOr<TensorValue *> x = tensor(op, op.getX());
    FailureOr<TensorValue *> g = tensor(op, op.getG());
    if (failed(x) || failed(g))
      return failure();
    int64_t d = (*x)->shape.back();
    int64_t rows = d == 0 ? 0 : (*x)->numElements() / d;
    ref::GateParams params;
    params.act = activation(op.getActivation());
    params.headwise = op.getGranularity() == gate::Granularity::headwise;
    params.clampLimit = toDouble(op.getClampLimit());
    std::vector<float> xs = toFloats(**x), gs = toFloats(**g);
    std::vector<float> y(xs.size());
    ref::gate(xs.data(), gs.data(), y.data(), rows, d, params);
    tensors[op.getY()] =
        fromFloats(op.getY().getType().getElementType(), (*x)->shape, y);
    return success();
  }

  LogicalResult evalFusedGate(gate::FusedGateOp op) {
    FailureOr<TensorValue *> in = tensor(op, op.getInput());
    if (failed(in))
      return failure();
    int64_t f = (*in)->shape.back() / 2;
    int64_t rows = f == 0 ? 0 : (*in)->numElements() / (2 * f);
    ref::GateParams params;
    params.act = activation(op.getActivation());
    params.clampLimit = toDouble(op.getClampLimit());
    std::vector<float> xs = toFloats(**in);
    std::vector<float> y(rows * f);
    ref::fusedGate(xs.data(), y.data(), rows, f,
                   op.getGateHalf() == gate::GateHalf::first, params);
    SmallVector<int64_t> shape = (*in)->shape;
    shape.back() = f;
    tensors[op.getY()] =
        fromFloats(op.getY().getType().getElementType(), shape, y);
    return success();
  }

  LogicalResult evalScan(gate::ChunkedScanOp op) {
    FailureOr<TensorValue *> q = tensor(op, op.getQ());
    FailureOr<TensorValue *> k = tensor(op, op.getK());
    FailureOr<TensorValue *> v = tensor(op, op.getV());
    if (failed(q) || failed(k) || failed(v))
      return failure();
    ref::ScanShape shape;
    shape.batch = (*q)->shape[0];
    shape.tokens = (*q)->shape[1];
    shape.heads = (*q)->shape[2];
    shape.valueHeads = (*v)->shape[2];
    shape.keyDim = (*q)->shape[3];
    shape.valueDim = (*v)->shape[3];
    if (shape.heads == 0 ? shape.valueHeads != 0
                         : shape.valueHeads % shape.heads != 0)
      return fail(op, "the value heads must be a multiple of the query/key "
                      "heads");
    ref::ScanParams params;
    params.scale = op.getEffectiveScale();
    switch (op.getDecayKind()) {
    case gate::DecayKind::vector: params.decay = ref::DecayKind::Vector; break;
    case gate::DecayKind::scalar: params.decay = ref::DecayKind::Scalar; break;
    case gate::DecayKind::fixed: params.decay = ref::DecayKind::Fixed; break;
    case gate::DecayKind::none: params.decay = ref::DecayKind::None; break;
    }
    std::vector<float> qs = toFloats(**q), ks = toFloats(**k),
                       vs = toFloats(**v), decay, beta, s0;
    if (failed(readFloats(op, op.getDecay(), decay)) ||
        failed(readFloats(op, op.getBeta(), beta)) ||
        failed(readFloats(op, op.getInitialState(), s0)))
      return failure();
    std::vector<int64_t> cu;
    FailureOr<int64_t> sequences =
        readCuSeqlens(op, op.getCuSeqlens(), shape.batch, shape.tokens, cu);
    if (failed(sequences))
      return failure();
    const int64_t numStates = *sequences;
    const int64_t stateSize = shape.valueHeads * shape.keyDim * shape.valueDim;
    PoolRows pooled;
    if (Value slotValues = op.getStateSlots())
      if (failed(gatherPool(op, slotValues, op.getInitialState(), stateSize,
                            numStates, s0, pooled)))
        return failure();
    std::vector<float> o(shape.batch * shape.tokens * shape.valueHeads *
                         shape.valueDim);
    std::vector<float> sT(numStates * stateSize);
    // The states after each chunk: [B, ceil(T / C), HV, K, V].
    params.historyChunk = op.getChunkSize();
    const int64_t historyRows = gate::ChunkedScanOp::getChunkStateRows(
        shape.tokens, params.historyChunk);
    std::vector<float> history;
    if (op.getChunkStates())
      history.resize(shape.batch * historyRows * stateSize);
    ref::chunkedScan(
        qs.data(), ks.data(), vs.data(), decay.empty() ? nullptr : decay.data(),
        op.getBeta() ? beta.data() : nullptr, s0.empty() ? nullptr : s0.data(),
        cu.empty() ? nullptr : &cu, o.data(), sT.data(),
        history.empty() ? nullptr : history.data(), shape, params);
    if (op.getStateSlots()) {
      scatterPool(sT, stateSize, cu, shape.tokens,
                  shape.valueHeads * shape.valueDim, pooled, o);
      // With cu_seqlens the history has a row per token (C = 1).
      zeroSkipped(pooled.slots, cu, historyRows, stateSize, history);
    }
    tensors[op.getO()] = fromFloats(op.getO().getType().getElementType(),
                                    (*v)->shape, o);
    if (Value final = op.getFinalState())
      tensors[final] = op.getStateSlots()
                           ? fromFloats(getElementTypeOrSelf(final.getType()),
                                        pooled.shape, pooled.pool)
                           : fromFloats(Float32Type::get(op.getContext()),
                                        {numStates, shape.valueHeads,
                                         shape.keyDim, shape.valueDim},
                                        sT);
    if (Value states = op.getChunkStates())
      tensors[states] = fromFloats(Float32Type::get(op.getContext()),
                                   {shape.batch, historyRows, shape.valueHeads,
                                    shape.keyDim, shape.valueDim},
                                   history);
    return success();
  }

  LogicalResult evalRouter(gate::RouterOp op) {
    FailureOr<TensorValue *> logits = tensor(op, op.getLogits());
    if (failed(logits))
      return failure();
    int64_t tokens = (*logits)->shape[0], experts = (*logits)->shape[1];
    ref::RouterParams params;
    params.scoring = op.getScoring() == gate::Scoring::softmax
                         ? ref::Scoring::Softmax
                         : ref::Scoring::Sigmoid;
    params.k = op.getK();
    params.renormalize = op.getRenormalize();
    params.routedScalingFactor =
        op.getRoutedScalingFactor().convertToDouble();
    params.nGroup = op.getNGroup();
    params.topkGroup = op.getTopkGroup();
    params.groupScore = op.getGroupScore() == gate::GroupScore::max
                            ? ref::GroupScore::Max
                            : ref::GroupScore::SumTop2;
    params.capacityFactor = toDouble(op.getCapacityFactor());
    params.dropPolicy = op.getDropPolicy() == gate::DropPolicy::token_order
                            ? ref::DropPolicy::TokenOrder
                            : ref::DropPolicy::ScoreOrder;
    std::vector<float> ls = toFloats(**logits), bias;
    if (failed(readFloats(op, op.getSelectionBias(), bias)))
      return failure();
    std::vector<float> weights(tokens * params.k);
    std::vector<int32_t> ranked(tokens * params.k), chosen(tokens * params.k);
    const std::vector<int32_t> *forced = nullptr;
    if (hooks) {
      auto it = hooks->forced.find(op.getOperation());
      if (it != hooks->forced.end())
        forced = &it->second;
    }
    if (forced) {
      if (forced->size() != ranked.size())
        return fail(op, "forced router choices do not have T * k elements");
      ranked = *forced;
    } else {
      ref::rankExperts(ls.data(), bias.empty() ? nullptr : bias.data(), tokens,
                       experts, params, ranked.data());
    }
    ref::routeChosen(ls.data(), tokens, experts, params, ranked.data(),
                     weights.data(), chosen.data());
    if (hooks && hooks->trace)
      hooks->trace->push_back({op, params, **logits, bias, ranked, chosen});
    tensors[op.getWeights()] =
        fromFloats(Float32Type::get(op.getContext()), {tokens, params.k},
                   weights);
    TensorValue e{IntegerType::get(op.getContext(), 32), {tokens, params.k},
                  std::vector<double>(chosen.begin(), chosen.end())};
    tensors[op.getExperts()] = std::move(e);
    return success();
  }

  LogicalResult evalDispatch(gate::DispatchOp op) {
    FailureOr<TensorValue *> experts = tensor(op, op.getExperts());
    if (failed(experts))
      return failure();
    int64_t tokens = (*experts)->shape[0], k = (*experts)->shape[1];
    std::vector<int32_t> in((*experts)->data.begin(), (*experts)->data.end());
    ref::Dispatch d = ref::dispatch(in.data(), tokens, k, op.getNumExperts(),
                                    op.getBlockSize());
    Type i32 = IntegerType::get(op.getContext(), 32);
    auto put = [&](Value result, const std::vector<int32_t> &values,
                   SmallVector<int64_t> shape) {
      tensors[result] = TensorValue{
          i32, std::move(shape), std::vector<double>(values.begin(), values.end())};
    };
    put(op.getSortedPairs(), d.sortedPairs, {(int64_t)d.sortedPairs.size()});
    put(op.getBlockExperts(), d.blockExperts, {(int64_t)d.blockExperts.size()});
    put(op.getExpertOffsets(), d.expertOffsets,
        {(int64_t)d.expertOffsets.size()});
    put(op.getExpertCounts(), d.expertCounts, {(int64_t)d.expertCounts.size()});
    put(op.getPairPositions(), d.pairPositions, {tokens, k});
    return success();
  }

  /// A state pool and the row of each sequence (-1: skipped).
  struct PoolRows {
    std::vector<int64_t> slots;
    std::vector<float> pool;
    SmallVector<int64_t> shape;
  };

  /// A state pool (`poolValue`, whose values `states` holds on entry):
  /// sequence n starts from pool[slots[n]] (rows of `stateSize` floats),
  /// gathered into `states` (`numStates` rows); a slot outside [0, P) skips
  /// the sequence (its row of `states` is 0 and its slot -1). Two sequences
  /// on one row are an error.
  LogicalResult gatherPool(Operation *op, Value slotValues, Value poolValue,
                           int64_t stateSize, int64_t numStates,
                           std::vector<float> &states, PoolRows &rows) {
    FailureOr<TensorValue *> t = tensor(op, slotValues);
    FailureOr<TensorValue *> poolTensor = tensor(op, poolValue);
    if (failed(t) || failed(poolTensor))
      return failure();
    rows.shape = (*poolTensor)->shape;
    rows.pool = std::move(states);
    const std::vector<float> &pool = rows.pool;
    std::vector<int64_t> &slots = rows.slots;
    int64_t poolSize =
        static_cast<int64_t>(pool.size()) / std::max<int64_t>(stateSize, 1);
    states.assign(numStates * stateSize, 0.0f);
    for (double x : (*t)->data) {
      int64_t slot = static_cast<int64_t>(x);
      int64_t n = static_cast<int64_t>(slots.size());
      if (slot >= 0 && slot < poolSize) {
        if (llvm::is_contained(slots, slot))
          return fail(op, "two sequences share state slot " + Twine(slot));
        std::copy_n(pool.begin() + slot * stateSize, stateSize,
                    states.begin() + n * stateSize);
      }
      slots.push_back(slot < 0 || slot >= poolSize ? -1 : slot);
    }
    return success();
  }

  /// Writes each sequence's final state (`states`) back to its pool row
  /// and sets a skipped sequence's outputs (`out`, rows of `rowSize` per
  /// token: batch entry n, or its packed range) to 0.
  static void scatterPool(const std::vector<float> &states, int64_t stateSize,
                          const std::vector<int64_t> &cu, int64_t tokens,
                          int64_t rowSize, PoolRows &rows,
                          std::vector<float> &out) {
    for (auto [n, slot] : llvm::enumerate(rows.slots))
      if (slot >= 0)
        std::copy_n(states.begin() + n * stateSize, stateSize,
                    rows.pool.begin() + slot * stateSize);
    zeroSkipped(rows.slots, cu, tokens, rowSize, out);
  }

  /// Sets the rows of each skipped sequence (slot -1) in `out` to 0: batch
  /// entry n's `tokens` rows of `rowSize`, or its packed range.
  static void zeroSkipped(ArrayRef<int64_t> slots,
                          const std::vector<int64_t> &cu, int64_t tokens,
                          int64_t rowSize, std::vector<float> &out) {
    if (out.empty())
      return;
    for (auto [n, slot] : llvm::enumerate(slots)) {
      if (slot >= 0)
        continue;
      int64_t begin = cu.empty() ? static_cast<int64_t>(n) * tokens : cu[n];
      int64_t end = cu.empty() ? begin + tokens : cu[n + 1];
      std::fill(out.begin() + begin * rowSize, out.begin() + end * rowSize,
                0.0f);
    }
  }

  LogicalResult evalCausalConv1d(gate::CausalConv1dOp op) {
    FailureOr<TensorValue *> x = tensor(op, op.getX());
    FailureOr<TensorValue *> weight = tensor(op, op.getWeight());
    if (failed(x) || failed(weight))
      return failure();
    ref::ConvShape shape;
    shape.batch = (*x)->shape[0];
    shape.tokens = (*x)->shape[1];
    shape.channels = (*x)->shape[2];
    shape.width = (*weight)->shape[1];
    std::vector<float> xs = toFloats(**x), ws = toFloats(**weight), bias, s0;
    if (failed(readFloats(op, op.getBias(), bias)) ||
        failed(readFloats(op, op.getInitialState(), s0)))
      return failure();
    std::vector<int64_t> cu;
    FailureOr<int64_t> sequences =
        readCuSeqlens(op, op.getCuSeqlens(), shape.batch, shape.tokens, cu);
    if (failed(sequences))
      return failure();
    const int64_t numSequences = *sequences;
    const int64_t stateSize = shape.channels * (shape.width - 1);
    PoolRows pooled;
    if (Value slotValues = op.getStateSlots())
      if (failed(gatherPool(op, slotValues, op.getInitialState(), stateSize,
                            numSequences, s0, pooled)))
        return failure();
    std::vector<float> y(xs.size());
    std::vector<float> sT(numSequences * stateSize);
    ref::causalConv1d(xs.data(), ws.data(),
                      op.getBias() ? bias.data() : nullptr,
                      op.getInitialState() ? s0.data() : nullptr,
                      op.getCuSeqlens() ? &cu : nullptr, y.data(), sT.data(),
                      shape, activation(op.getActivation()));
    if (op.getStateSlots())
      scatterPool(sT, stateSize, cu, shape.tokens, shape.channels, pooled, y);
    Type elementType = op.getY().getType().getElementType();
    tensors[op.getY()] = fromFloats(elementType, (*x)->shape, y);
    if (Value final = op.getFinalState())
      tensors[final] =
          op.getStateSlots()
              ? fromFloats(elementType, pooled.shape, pooled.pool)
              : fromFloats(elementType,
                           {numSequences, shape.channels, shape.width - 1}, sT);
    return success();
  }
};

} // namespace

FailureOr<std::vector<TensorValue>>
gatec::ref::interpret(func::FuncOp func, ArrayRef<TensorValue> inputs,
                      std::string &error, RouterHooks *hooks) {
  Interpreter interpreter(error, hooks);
  return interpreter.run(func, inputs);
}
