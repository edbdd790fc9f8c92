//===- GateOps.cpp - Evaluate gate ops in the reference interpreter -------===//
//
// Part of gatec. Gate ops go to the reference library (Reference.h): their
// operands read as floats, packed-sequence offsets and state pools
// gathered and scattered here, their results rounded to their types.
//
//===----------------------------------------------------------------------===//

#include "Reference/Interpreter/Interpreter.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using gatec::ref::TensorValue;

namespace gatec::ref::detail {

static std::vector<float> toFloats(const TensorValue &t) {
  return std::vector<float>(t.data.begin(), t.data.end());
}

static TensorValue fromFloats(Type elementType, ArrayRef<int64_t> shape,
                              const std::vector<float> &values) {
  TensorValue t{elementType, SmallVector<int64_t>(shape), {}};
  t.data.reserve(values.size());
  for (float v : values)
    t.data.push_back(gatec::ref::roundTo(elementType, v));
  return t;
}

LogicalResult Interpreter::readFloats(Operation *user, Value v,
                                      std::vector<float> &out) {
  if (!v)
    return success();
  FailureOr<TensorValue *> t = tensor(user, v);
  if (failed(t))
    return failure();
  out = toFloats(**t);
  return success();
}

FailureOr<int64_t> Interpreter::readCuSeqlens(Operation *user, Value cuSeqlens,
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

ref::Activation Interpreter::activation(gate::Activation act) {
  switch (act) {
  case gate::Activation::sigmoid:
    return ref::Activation::Sigmoid;
  case gate::Activation::identity:
    return ref::Activation::Identity;
  case gate::Activation::relu:
    return ref::Activation::Relu;
  case gate::Activation::gelu:
    return ref::Activation::Gelu;
  case gate::Activation::gelu_tanh:
    return ref::Activation::GeluTanh;
  case gate::Activation::silu:
    return ref::Activation::Silu;
  }
  return ref::Activation::Identity;
}

std::optional<double> Interpreter::toDouble(std::optional<APFloat> value) {
  if (!value)
    return std::nullopt;
  return value->convertToDouble();
}

LogicalResult Interpreter::evalGate(gate::GateOp op) {
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

LogicalResult Interpreter::evalFusedGate(gate::FusedGateOp op) {
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

LogicalResult Interpreter::evalScan(gate::ChunkedScanOp op) {
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
  case gate::DecayKind::vector:
    params.decay = ref::DecayKind::Vector;
    break;
  case gate::DecayKind::scalar:
    params.decay = ref::DecayKind::Scalar;
    break;
  case gate::DecayKind::fixed:
    params.decay = ref::DecayKind::Fixed;
    break;
  case gate::DecayKind::none:
    params.decay = ref::DecayKind::None;
    break;
  }
  std::vector<float> qs = toFloats(**q), ks = toFloats(**k), vs = toFloats(**v),
                     decay, beta, s0;
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
  const int64_t historyRows =
      gate::ChunkedScanOp::getChunkStateRows(shape.tokens, params.historyChunk);
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
  tensors[op.getO()] =
      fromFloats(op.getO().getType().getElementType(), (*v)->shape, o);
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

LogicalResult Interpreter::evalRouter(gate::RouterOp op) {
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
  params.routedScalingFactor = op.getRoutedScalingFactor().convertToDouble();
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
  tensors[op.getWeights()] = fromFloats(Float32Type::get(op.getContext()),
                                        {tokens, params.k}, weights);
  TensorValue e{IntegerType::get(op.getContext(), 32),
                {tokens, params.k},
                std::vector<double>(chosen.begin(), chosen.end())};
  tensors[op.getExperts()] = std::move(e);
  return success();
}

LogicalResult Interpreter::evalDispatch(gate::DispatchOp op) {
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
    tensors[result] =
        TensorValue{i32, std::move(shape),
                    std::vector<double>(values.begin(), values.end())};
  };
  put(op.getSortedPairs(), d.sortedPairs, {(int64_t)d.sortedPairs.size()});
  put(op.getBlockExperts(), d.blockExperts, {(int64_t)d.blockExperts.size()});
  put(op.getExpertOffsets(), d.expertOffsets,
      {(int64_t)d.expertOffsets.size()});
  put(op.getExpertCounts(), d.expertCounts, {(int64_t)d.expertCounts.size()});
  put(op.getPairPositions(), d.pairPositions, {tokens, k});
  return success();
}

LogicalResult Interpreter::gatherPool(Operation *op, Value slotValues,
                                      Value poolValue, int64_t stateSize,
                                      int64_t numStates,
                                      std::vector<float> &states,
                                      PoolRows &rows) {
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

void Interpreter::scatterPool(const std::vector<float> &states,
                              int64_t stateSize, const std::vector<int64_t> &cu,
                              int64_t tokens, int64_t rowSize, PoolRows &rows,
                              std::vector<float> &out) {
  for (auto [n, slot] : llvm::enumerate(rows.slots))
    if (slot >= 0)
      std::copy_n(states.begin() + n * stateSize, stateSize,
                  rows.pool.begin() + slot * stateSize);
  zeroSkipped(rows.slots, cu, tokens, rowSize, out);
}

void Interpreter::zeroSkipped(ArrayRef<int64_t> slots,
                              const std::vector<int64_t> &cu, int64_t tokens,
                              int64_t rowSize, std::vector<float> &out) {
  if (out.empty())
    return;
  for (auto [n, slot] : llvm::enumerate(slots)) {
    if (slot >= 0)
      continue;
    int64_t begin = cu.empty() ? static_cast<int64_t>(n) * tokens : cu[n];
    int64_t end = cu.empty() ? begin + tokens : cu[n + 1];
    std::fill(out.begin() + begin * rowSize, out.begin() + end * rowSize, 0.0f);
  }
}

LogicalResult Interpreter::evalCausalConv1d(gate::CausalConv1dOp op) {
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
  ref::causalConv1d(xs.data(), ws.data(), op.getBias() ? bias.data() : nullptr,
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

} // namespace gatec::ref::detail
