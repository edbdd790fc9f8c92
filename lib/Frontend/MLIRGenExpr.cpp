//===- MLIRGenExpr.cpp - Expressions to MLIR ------------------------------===//
//
// Part of gatec. Generates the value of each expression: names, unary minus,
// the arithmetic operators and '@', and every builtin and layer call (the layer
// calls become gate.gate, gate.fused_gate, gate.chunked_scan, gate.router,
// gate.dispatch and gate.causal_conv1d).
//
//===----------------------------------------------------------------------===//

#include "Frontend/MLIRGenImpl.h"

#include "gatec/Dialect/Gate/GateMath.h"
#include "gatec/Dialect/Gate/GateOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace gatec;
using namespace gatec::mlirgen;
using namespace mlir;

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

/// The body of a one-operand float builtin, in f32. The gate functions are
/// GateMath's, the same arithmetic the gate ops lower to.
static Value unaryBody(Builtin builtin, OpBuilder &nb, Location l, Value x) {
  switch (builtin) {
  case Builtin::Exp:
    return math::ExpOp::create(nb, l, x);
  case Builtin::Log:
    return math::LogOp::create(nb, l, x);
  case Builtin::Sigmoid:
    return gate::buildActivation(nb, l, gate::Activation::sigmoid, x);
  case Builtin::Silu:
    return gate::buildActivation(nb, l, gate::Activation::silu, x);
  case Builtin::Relu:
    return gate::buildActivation(nb, l, gate::Activation::relu, x);
  case Builtin::Gelu:
    return gate::buildActivation(nb, l, gate::Activation::gelu, x);
  case Builtin::GeluTanh:
    return gate::buildActivation(nb, l, gate::Activation::gelu_tanh, x);
  case Builtin::Tanh:
    return math::TanhOp::create(nb, l, x);
  case Builtin::Softplus:
    return gate::buildSoftplus(nb, l, x);
  case Builtin::LogSigmoid:
    return gate::buildLogSigmoid(nb, l, x);
  case Builtin::Sqrt:
    return math::SqrtOp::create(nb, l, x);
  case Builtin::Rsqrt:
    return math::RsqrtOp::create(nb, l, x);
  case Builtin::Abs:
    return math::AbsFOp::create(nb, l, x);
  case Builtin::Neg:
  default:
    return arith::NegFOp::create(nb, l, x);
  }
}

FailureOr<Value> Generator::genOne(const ExprAST &expr) {
  FailureOr<SmallVector<Value>> values = gen(expr);
  if (failed(values))
    return failure();
  if (values->size() != 1)
    return internalError(expr.getLoc(), "expected one value");
  return values->front();
}

FailureOr<Operand> Generator::genOperand(const ExprAST &expr) {
  const ExprInfo &info = sema.getInfo(expr);
  Operand op;
  if (info.isConstant()) {
    op.constant = info.constant;
    return op;
  }
  if (!info.isTensor())
    return internalError(expr.getLoc(), "an operand has no type");
  FailureOr<Value> v = genOne(expr);
  if (failed(v))
    return failure();
  op.value = *v;
  op.type = &info.getType();
  return op;
}

FailureOr<SmallVector<Value>> Generator::gen(const ExprAST &expr) {
  const ExprInfo &info = sema.getInfo(expr);
  if (info.isInvalid() || info.isConstant())
    return internalError(expr.getLoc(), "no tensor to generate here");
  auto one = [](FailureOr<Value> v) -> FailureOr<SmallVector<Value>> {
    if (failed(v))
      return failure();
    return SmallVector<Value>{*v};
  };
  Location l = loc(expr.getLoc());

  switch (expr.getKind()) {
  case ExprAST::Kind::Name: {
    auto it = vars.find(llvm::cast<NameExprAST>(expr).getName());
    if (it == vars.end())
      return internalError(expr.getLoc(), "an unbound name");
    return SmallVector<Value>(it->second.begin(), it->second.end());
  }
  case ExprAST::Kind::Unary: {
    FailureOr<Operand> x =
        genOperand(llvm::cast<UnaryExprAST>(expr).getOperand());
    if (failed(x))
      return failure();
    return one(emitElementwise(
        l, {*x}, info.getType(), info.getType().dtype, true,
        [](OpBuilder &nb, Location nl, ArrayRef<Value> a) -> Value {
          return arith::NegFOp::create(nb, nl, a[0]);
        }));
  }
  case ExprAST::Kind::Binary: {
    const auto &bin = llvm::cast<BinaryExprAST>(expr);
    if (bin.getOp() == BinaryOp::MatMul)
      return one(emitMatMul(bin));
    FailureOr<Operand> lhs = genOperand(bin.getLHS());
    FailureOr<Operand> rhs = genOperand(bin.getRHS());
    if (failed(lhs) || failed(rhs))
      return failure();
    BinaryOp op = bin.getOp();
    return one(emitElementwise(
        l, {*lhs, *rhs}, info.getType(), info.getType().dtype, true,
        [op](OpBuilder &nb, Location nl, ArrayRef<Value> a) -> Value {
          switch (op) {
          case BinaryOp::Add:
            return arith::AddFOp::create(nb, nl, a[0], a[1]);
          case BinaryOp::Sub:
            return arith::SubFOp::create(nb, nl, a[0], a[1]);
          case BinaryOp::Mul:
            return arith::MulFOp::create(nb, nl, a[0], a[1]);
          default:
            return arith::DivFOp::create(nb, nl, a[0], a[1]);
          }
        }));
  }
  case ExprAST::Kind::Call:
    return genCall(llvm::cast<CallExprAST>(expr));
  default:
    return internalError(expr.getLoc(), "an expression with no code");
  }
}

FailureOr<Generator::States>
Generator::genStates(const CallInfo &info, const CheckedType *finalState) {
  States states;
  if (const ExprAST *start =
          info.statePool ? info.statePool : info.initialState) {
    FailureOr<Value> value = genOne(*start);
    if (failed(value))
      return failure();
    states.initial = *value;
  }
  if (info.statePool)
    states.finalType = states.initial.getType();
  else if (finalState)
    states.finalType = tensorType(*finalState);
  return states;
}

FailureOr<SmallVector<Value>> Generator::genCall(const CallExprAST &call) {
  const CallInfo &info = sema.getCall(call);
  const ExprInfo &value = sema.getInfo(call);
  const auto &args = call.getArgs();
  Location l = loc(call.getLoc());
  auto one = [](FailureOr<Value> v) -> FailureOr<SmallVector<Value>> {
    if (failed(v))
      return failure();
    return SmallVector<Value>{*v};
  };
  auto optional = [&](const ExprAST *e) -> FailureOr<Value> {
    if (!e)
      return Value();
    return genOne(*e);
  };
  Builtin builtin = info.builtin;

  if (builtin >= Builtin::Exp && builtin <= Builtin::Neg) {
    FailureOr<Operand> x = genOperand(*args[0]);
    if (failed(x))
      return failure();
    return one(emitElementwise(
        l, {*x}, value.getType(), value.getType().dtype, true,
        [builtin](OpBuilder &nb, Location nl, ArrayRef<Value> a) {
          return unaryBody(builtin, nb, nl, a[0]);
        }));
  }

  switch (builtin) {
  case Builtin::Pow:
  case Builtin::Maximum:
  case Builtin::Minimum: {
    FailureOr<Operand> x = genOperand(*args[0]);
    FailureOr<Operand> y = genOperand(*args[1]);
    if (failed(x) || failed(y))
      return failure();
    return one(emitElementwise(
        l, {*x, *y}, value.getType(), value.getType().dtype, true,
        [builtin](OpBuilder &nb, Location nl, ArrayRef<Value> a) -> Value {
          if (builtin == Builtin::Pow)
            return math::PowFOp::create(nb, nl, a[0], a[1]);
          if (builtin == Builtin::Maximum)
            return arith::MaximumFOp::create(nb, nl, a[0], a[1]);
          return arith::MinimumFOp::create(nb, nl, a[0], a[1]);
        }));
  }

  case Builtin::Cast: {
    FailureOr<Operand> x = genOperand(*args[0]);
    if (failed(x))
      return failure();
    if (x->type->dtype == info.castTo)
      return SmallVector<Value>{x->value};
    Type to = elementType(info.castTo);
    return one(emitElementwise(
        l, {*x}, value.getType(), info.castTo, /*floatMode=*/false,
        [&](OpBuilder &nb, Location nl, ArrayRef<Value> a) {
          return convertScalar(nb, nl, a[0], to);
        }));
  }

  case Builtin::Broadcast: {
    FailureOr<Operand> x = genOperand(*args[0]);
    if (failed(x))
      return failure();
    return one(emitElementwise(
        l, {*x}, value.getType(), value.getType().dtype, /*floatMode=*/false,
        [](OpBuilder &, Location, ArrayRef<Value> a) { return a[0]; }));
  }

  case Builtin::Reshape: {
    FailureOr<Value> x = genOne(*args[0]);
    if (failed(x))
      return failure();
    return one(emitReshape(l, *x, sema.getInfo(*args[0]).getType(),
                           value.getType(), info.reshape));
  }

  case Builtin::Arange: {
    const CheckedType &type = value.getType();
    RankedTensorType tensorTy = tensorType(type);
    Value init = tensor::EmptyOp::create(b, l, tensorTy, ValueRange{});
    auto generic = linalg::GenericOp::create(
        b, l, TypeRange{tensorTy}, ValueRange{}, ValueRange{init},
        ArrayRef<AffineMap>{b.getMultiDimIdentityMap(1)},
        ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
        [&](OpBuilder &nb, Location nl, ValueRange) {
          Value i = linalg::IndexOp::create(nb, nl, nb.getI64IntegerAttr(0));
          Value i64 = arith::IndexCastOp::create(nb, nl, nb.getI64Type(), i);
          Value f = arith::SIToFPOp::create(nb, nl, nb.getF32Type(), i64);
          linalg::YieldOp::create(nb, nl, f);
        });
    return SmallVector<Value>{generic.getResult(0)};
  }

  case Builtin::Sum:
  case Builtin::Mean:
  case Builtin::Max: {
    const CheckedType &xType = sema.getInfo(*args[0]).getType();
    FailureOr<Value> x = genOne(*args[0]);
    if (failed(x))
      return failure();
    FailureOr<Value> reduced = emitReduction(
        l, *x, xType,
        builtin == Builtin::Max ? Reduction::Max : Reduction::Sum);
    if (failed(reduced))
      return failure();
    CheckedType rows;
    rows.dtype = DType::f32;
    rows.dims.assign(xType.dims.begin(), xType.dims.end() - 1);
    Value r = *reduced;
    if (builtin == Builtin::Mean || xType.dtype != DType::f32) {
      Value count;
      if (builtin == Builtin::Mean) {
        FailureOr<Value> n = lastDimAsF32(l, *x, xType);
        if (failed(n))
          return failure();
        count = *n;
      }
      Operand acc{r, &rows};
      FailureOr<Value> finished = emitElementwise(
          l, {acc}, rows, xType.dtype, true,
          [&](OpBuilder &nb, Location nl, ArrayRef<Value> a) -> Value {
            if (!count)
              return a[0];
            return arith::DivFOp::create(nb, nl, a[0], count);
          });
      if (failed(finished))
        return failure();
      r = *finished;
    }
    return one(expandTrailingOne(l, r, value.getType()));
  }

  case Builtin::RmsNorm:
    return one(emitRmsNorm(call, info));

  case Builtin::Gate: {
    FailureOr<Value> x = genOne(*args[0]);
    if (failed(x))
      return failure();
    auto act = gate::ActivationAttr::get(&context, info.activation);
    FloatAttr clamp =
        info.clampLimit ? b.getF32FloatAttr(*info.clampLimit) : FloatAttr();
    RankedTensorType yType = tensorType(value.getType());
    if (info.fusedGate)
      return SmallVector<Value>{gate::FusedGateOp::create(
          b, l, yType, *x, act,
          gate::GateHalfAttr::get(&context, info.gateHalf), clamp)};
    FailureOr<Value> g = genOne(*args[1]);
    if (failed(g))
      return failure();
    return SmallVector<Value>{gate::GateOp::create(
        b, l, yType, *x, *g, act,
        gate::GranularityAttr::get(&context, info.granularity), clamp)};
  }

  case Builtin::Scan: {
    FailureOr<Value> q = genOne(*args[0]);
    FailureOr<Value> k = genOne(*args[1]);
    FailureOr<Value> v = genOne(*args[2]);
    FailureOr<Value> decay = optional(info.decay);
    FailureOr<Value> beta = optional(info.beta);
    FailureOr<States> states =
        genStates(info, info.withFinalState ? &value.types[1] : nullptr);
    FailureOr<Value> cu = optional(info.cuSeqlens);
    FailureOr<Value> slots = optional(info.stateSlots);
    if (failed(q) || failed(k) || failed(v) || failed(decay) || failed(beta) ||
        failed(states) || failed(cu) || failed(slots))
      return failure();
    Type historyType =
        info.withStateHistory ? Type(tensorType(value.types.back())) : Type();
    auto scan = gate::ChunkedScanOp::create(
        b, l, tensorType(value.types[0]), states->finalType, historyType, *q,
        *k, *v, *decay, *beta, states->initial, *cu, *slots, info.decayKind,
        static_cast<uint64_t>(info.chunkSize),
        info.scale ? b.getF32FloatAttr(*info.scale) : FloatAttr());
    markOffsets(*cu, value.types[0].dims[1]);
    if (info.statePool)
      tieStatePool(info, scan.getFinalState(), *slots);
    SmallVector<Value> results = {scan.getO()};
    if (info.withStateHistory)
      results.push_back(scan.getChunkStates());
    else if (info.withFinalState)
      results.push_back(scan.getFinalState());
    return results;
  }

  case Builtin::Route: {
    FailureOr<Value> logits = genOne(*args[0]);
    FailureOr<Value> bias = optional(info.selectionBias);
    if (failed(logits) || failed(bias))
      return failure();
    auto router = gate::RouterOp::create(
        b, l, tensorType(value.types[0]), tensorType(value.types[1]), *logits,
        *bias, info.scoring, static_cast<uint64_t>(info.topK), info.renormalize,
        llvm::APFloat(info.routedScalingFactor),
        static_cast<uint64_t>(info.numGroups),
        static_cast<uint64_t>(info.topkGroups), info.groupScore,
        info.capacityFactor ? b.getF32FloatAttr(*info.capacityFactor)
                            : FloatAttr(),
        info.dropPolicy);
    return SmallVector<Value>{router.getWeights(), router.getExperts()};
  }

  case Builtin::Dispatch: {
    FailureOr<Value> experts = genOne(*args[0]);
    if (failed(experts))
      return failure();
    auto op = gate::DispatchOp::create(
        b, l, tensorType(value.types[0]), tensorType(value.types[1]),
        tensorType(value.types[2]), tensorType(value.types[3]),
        tensorType(value.types[4]), *experts,
        static_cast<uint64_t>(info.numExperts),
        static_cast<uint64_t>(info.blockSize));
    return SmallVector<Value>(op->getResults().begin(), op->getResults().end());
  }

  case Builtin::Conv: {
    FailureOr<Value> x = genOne(*args[0]);
    FailureOr<Value> weight = genOne(*args[1]);
    FailureOr<Value> bias = optional(info.convBias);
    FailureOr<States> states =
        genStates(info, info.withFinalState ? &value.types[1] : nullptr);
    FailureOr<Value> cu = optional(info.cuSeqlens);
    FailureOr<Value> slots = optional(info.stateSlots);
    if (failed(x) || failed(weight) || failed(bias) || failed(states) ||
        failed(cu) || failed(slots))
      return failure();
    auto conv = gate::CausalConv1dOp::create(
        b, l, tensorType(value.types[0]), states->finalType, *x, *weight, *bias,
        states->initial, *cu, *slots, info.activation);
    markOffsets(*cu, value.types[0].dims[1]);
    if (info.statePool) {
      tieStatePool(info, conv.getFinalState(), *slots);
      return SmallVector<Value>{conv.getY()};
    }
    SmallVector<Value> results = {conv.getY()};
    if (info.withFinalState)
      results.push_back(conv.getFinalState());
    return results;
  }

  default:
    return internalError(call.getLoc(), "an unhandled builtin");
  }
}
