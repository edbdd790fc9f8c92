//===- GateOps.cpp - Gate dialect operations ------------------------------===//
//
// Part of gatec. The verifiers here are the single statement of every shape
// rule of the gate ops: the frontend and the backends rely on them instead of
// re-checking.
//
//===----------------------------------------------------------------------===//

#include "gatec/Dialect/Gate/GateOps.h"

#include "gatec/Dialect/Gate/OperandDims.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace mlir;
using namespace mlir::gate;

#include "gatec/Dialect/Gate/GateOpsEnums.cpp.inc"

namespace {

/// Binds named dimensions (B, T, H, ...) at their first static occurrence and
/// checks every later occurrence against it, so that a verifier error names
/// the relation that failed and both places involved.
class DimBinder {
public:
  explicit DimBinder(Operation *op) : op(op) {}

  /// Binds `name` to `size`, seen in `where`.
  LogicalResult bind(StringRef name, int64_t size, const Twine &where) {
    auto [it, inserted] =
        dims.try_emplace(name, Binding{size, where.str()});
    if (inserted || ShapedType::isDynamic(size))
      return success();
    if (ShapedType::isDynamic(it->second.size)) {
      it->second = Binding{size, where.str()};
      return success();
    }
    if (it->second.size == size)
      return success();
    return op->emitOpError() << "dimension " << name << " is "
                             << it->second.size << " in " << it->second.where
                             << " but " << size << " in " << where;
  }

  /// Checks the rank of `value`'s type against `names` and binds each dim.
  LogicalResult bindShape(Type type, StringRef role,
                          ArrayRef<StringRef> names) {
    auto shaped = cast<RankedTensorType>(type);
    if (shaped.getRank() != static_cast<int64_t>(names.size())) {
      InFlightDiagnostic diag = op->emitOpError()
                                << "expects " << role << " of rank "
                                << names.size() << " [";
      llvm::interleaveComma(names, diag);
      return diag << "], got " << type;
    }
    for (auto [i, name] : llvm::enumerate(names))
      if (failed(bind(name, shaped.getDimSize(i),
                      role + " (dim " + Twine(i) + ")")))
        return failure();
    return success();
  }

  /// The bound size of `name`, or ShapedType::kDynamic.
  int64_t get(StringRef name) const {
    auto it = dims.find(name);
    return it == dims.end() ? ShapedType::kDynamic : it->second.size;
  }

private:
  struct Binding {
    int64_t size;
    std::string where;
  };
  Operation *op;
  llvm::StringMap<Binding> dims;
};

/// The number of sequences N of a scan or convolution over the batch B bound
/// in `dims`: B, or with packed sequences (`cuSeqlens`, the offsets [N + 1]
/// along T, which need B = 1) the offsets' length - 1, dynamic where that
/// length is.
FailureOr<int64_t> verifySequenceCount(Operation *op, const DimBinder &dims,
                                       Value cuSeqlens) {
  int64_t batch = dims.get("B");
  if (!cuSeqlens)
    return batch;
  auto cuType = cast<RankedTensorType>(cuSeqlens.getType());
  if (cuType.getRank() != 1)
    return op->emitOpError()
           << "expects cu_seqlens of rank 1 [N + 1], got " << cuType;
  int64_t len = cuType.getDimSize(0);
  if (!ShapedType::isDynamic(len) && len < 2)
    return op->emitOpError() << "expects cu_seqlens to hold at least 2 "
                                "offsets (one sequence), got "
                             << len;
  if (!ShapedType::isDynamic(batch) && batch != 1)
    return op->emitOpError() << "expects batch B = 1 with cu_seqlens "
                                "(sequences are packed along T), got B = "
                             << batch;
  return ShapedType::isDynamic(len) ? ShapedType::kDynamic : len - 1;
}

/// The states of a scan or convolution: one per sequence, [N, rowDims...];
/// with `slots` ([N], the pool row of each sequence) both the initial and the
/// final state are the pool [P, rowDims...], in and out, of one type.
LogicalResult verifyStates(Operation *op, DimBinder &dims, Value slots,
                           Value initial, Value final,
                           ArrayRef<StringLiteral> rowDims) {
  StringRef rows = "N";
  if (slots) {
    if (failed(dims.bindShape(slots.getType(), "state_slots", {"N"})))
      return failure();
    if (!initial || !final)
      return op->emitOpError() << "expects initial_state and final_state "
                                  "with state_slots (the pool in and out)";
    if (initial.getType() != final.getType())
      return op->emitOpError()
             << "expects final_state of the pool's type " << initial.getType()
             << ", got " << final.getType();
    rows = "P";
  }
  for (auto [state, role] :
       {std::pair(initial, "initial_state"), std::pair(final, "final_state")})
    if (state && failed(dims.bindShape(state.getType(), role,
                                       shapes::refs(rowDims, rows))))
      return failure();
  return success();
}

/// Names "d0", "d1", ... for ops of any rank.
SmallVector<std::string> positionalDimNames(int64_t rank) {
  SmallVector<std::string> names;
  for (int64_t i = 0; i < rank; ++i)
    names.push_back("#" + std::to_string(i));
  return names;
}

SmallVector<StringRef> asRefs(ArrayRef<std::string> names) {
  return llvm::to_vector(
      llvm::map_range(names, [](const std::string &s) { return StringRef(s); }));
}

LogicalResult verifySameElementType(Operation *op, Type a, StringRef aRole,
                                    Type b, StringRef bRole) {
  Type ea = cast<ShapedType>(a).getElementType();
  Type eb = cast<ShapedType>(b).getElementType();
  if (ea == eb)
    return success();
  return op->emitOpError() << "expects " << bRole << " to have the element type of "
                           << aRole << " (" << ea << "), got " << eb;
}

/// Prints like C's %g, with "inf"/"nan" rather than the diagnostic engine's
/// "INF"/"NaN", so messages read the same as the attribute was written.
std::string formatScalar(double value) {
  if (std::isnan(value))
    return "nan";
  if (std::isinf(value))
    return value > 0 ? "inf" : "-inf";
  return llvm::formatv("{0}", value).str();
}

/// Emits "expects <name> to be finite and > 0, got <value>" unless it is.
LogicalResult verifyPositiveFinite(Operation *op, StringRef name,
                                   double value) {
  if (std::isfinite(value) && value > 0.0)
    return success();
  return op->emitOpError() << "expects " << name
                           << " to be finite and > 0, got "
                           << formatScalar(value);
}

LogicalResult verifyClampLimit(Operation *op, std::optional<APFloat> limit) {
  if (!limit)
    return success();
  return verifyPositiveFinite(op, "clamp_limit", limit->convertToDouble());
}

} // namespace

//===----------------------------------------------------------------------===//
// GateOp
//===----------------------------------------------------------------------===//

LogicalResult GateOp::verify() {
  auto xType = getX().getType();
  auto gType = getG().getType();
  if (failed(verifySameElementType(*this, xType, "x", gType, "g")) ||
      failed(verifySameElementType(*this, xType, "x", getY().getType(), "y")))
    return failure();
  int64_t rank = xType.getRank();
  if (rank < 1)
    return emitOpError() << "expects x of rank >= 1, got " << xType;
  SmallVector<std::string> names = positionalDimNames(rank);
  DimBinder dims(*this);
  if (failed(dims.bindShape(xType, "x", asRefs(names))) ||
      failed(dims.bindShape(getY().getType(), "y", asRefs(names))))
    return failure();

  if (getGranularity() == Granularity::elementwise) {
    if (failed(dims.bindShape(gType, "g", asRefs(names))))
      return failure();
  } else {
    if (gType.getRank() != rank)
      return emitOpError() << "expects a headwise g of rank " << rank
                           << " (x's shape with a trailing 1), got " << gType;
    if (gType.getDimSize(rank - 1) != 1)
      return emitOpError() << "expects a headwise g to end in a dimension of "
                              "size 1, broadcast over x's last dimension, got "
                           << gType;
    for (int64_t i = 0; i + 1 < rank; ++i)
      if (failed(dims.bind(names[i], gType.getDimSize(i),
                           "g (dim " + Twine(i) + ")")))
        return failure();
  }
  return verifyClampLimit(*this, getClampLimit());
}

//===----------------------------------------------------------------------===//
// FusedGateOp
//===----------------------------------------------------------------------===//

LogicalResult FusedGateOp::verify() {
  auto inType = getInput().getType();
  auto yType = getY().getType();
  if (failed(verifySameElementType(*this, inType, "input", yType, "y")))
    return failure();
  int64_t rank = inType.getRank();
  if (rank < 1)
    return emitOpError() << "expects an input of rank >= 1, got " << inType;
  if (yType.getRank() != rank)
    return emitOpError() << "expects y of rank " << rank << ", got " << yType;
  SmallVector<std::string> names = positionalDimNames(rank - 1);
  DimBinder dims(*this);
  for (int64_t i = 0; i + 1 < rank; ++i)
    if (failed(dims.bind(names[i], inType.getDimSize(i),
                         "input (dim " + Twine(i) + ")")) ||
        failed(dims.bind(names[i], yType.getDimSize(i),
                         "y (dim " + Twine(i) + ")")))
      return failure();
  int64_t fused = inType.getDimSize(rank - 1);
  int64_t half = yType.getDimSize(rank - 1);
  if (!ShapedType::isDynamic(fused) && fused % 2 != 0)
    return emitOpError() << "expects the last dimension of input to hold two "
                            "equal halves (an even size), got "
                         << fused;
  if (!ShapedType::isDynamic(fused) && !ShapedType::isDynamic(half) &&
      fused != 2 * half)
    return emitOpError() << "expects y's last dimension to be half of input's ("
                         << fused / 2 << "), got " << half;
  return verifyClampLimit(*this, getClampLimit());
}

//===----------------------------------------------------------------------===//
// ChunkedScanOp
//===----------------------------------------------------------------------===//

double ChunkedScanOp::getEffectiveScale() {
  if (std::optional<APFloat> scale = getScale())
    return scale->convertToDouble();
  return 1.0 / std::sqrt(static_cast<double>(getQ().getType().getDimSize(3)));
}

int64_t ChunkedScanOp::getValueHeadsPerKeyHead() {
  int64_t heads = getQ().getType().getDimSize(2);
  int64_t valueHeads = getV().getType().getDimSize(2);
  if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(valueHeads) ||
      heads == 0)
    return 1;
  return valueHeads / heads;
}

LogicalResult ChunkedScanOp::verify() {
  DimBinder dims(*this);
  if (failed(dims.bindShape(getQ().getType(), "q",
                            shapes::refs(shapes::kScanQK))) ||
      failed(dims.bindShape(getK().getType(), "k",
                            shapes::refs(shapes::kScanQK))) ||
      failed(dims.bindShape(getV().getType(), "v",
                            shapes::refs(shapes::kScanV))) ||
      failed(
          dims.bindShape(getO().getType(), "o", shapes::refs(shapes::kScanV))))
    return failure();
  if (failed(verifySameElementType(*this, getQ().getType(), "q",
                                   getK().getType(), "k")) ||
      failed(verifySameElementType(*this, getQ().getType(), "q",
                                   getV().getType(), "v")) ||
      failed(verifySameElementType(*this, getV().getType(), "v",
                                   getO().getType(), "o")))
    return failure();
  // Kernels are specialized for their head dimensions.
  if (ShapedType::isDynamic(dims.get("K")) ||
      ShapedType::isDynamic(dims.get("V")))
    return emitOpError() << "expects static head dimensions K and V, got "
                         << getQ().getType() << " and " << getV().getType();
  // Grouped value heads: value head j reads q/k head j / G, so G must be a
  // whole number known when compiling; with a dynamic head count the two
  // counts are the same (G = 1).
  int64_t heads = dims.get("H"), valueHeads = dims.get("HV");
  if (!ShapedType::isDynamic(heads) && !ShapedType::isDynamic(valueHeads)) {
    if (heads == 0 ? valueHeads != 0 : valueHeads % heads != 0)
      return emitOpError() << "expects the value heads HV (" << valueHeads
                           << ", v dim 2) to be a multiple of the query/key "
                              "heads H ("
                           << heads << ", q dim 2)";
  } else if (failed(dims.bind("HV", heads, "q (dim 2): grouped value heads "
                                           "need static head counts")) ||
             failed(dims.bind("H", valueHeads,
                              "v (dim 2): grouped value heads need static "
                              "head counts"))) {
    return failure();
  }

  Value decay = getDecay();
  DecayKind kind = getDecayKind();
  if (kind == DecayKind::none) {
    if (decay)
      return emitOpError() << "expects no decay operand for decay kind 'none'";
  } else if (!decay) {
    return emitOpError() << "expects a decay operand for decay kind '"
                         << stringifyDecayKind(kind) << "'";
  } else {
    Type type = decay.getType();
    LogicalResult shapeOk =
        kind == DecayKind::vector
            ? dims.bindShape(type, "decay",
                             shapes::refs(shapes::kScanVectorDecay))
        : kind == DecayKind::scalar
            ? dims.bindShape(type, "decay",
                             shapes::refs(shapes::kScanScalarDecay))
            : dims.bindShape(type, "decay",
                             shapes::refs(shapes::kScanFixedDecay));
    if (failed(shapeOk))
      return failure();
  }
  if (Value beta = getBeta())
    if (failed(dims.bindShape(beta.getType(), "beta",
                              shapes::refs(shapes::kScanBeta))))
      return failure();

  FailureOr<int64_t> numStates =
      verifySequenceCount(*this, dims, getCuSeqlens());
  if (failed(numStates))
    return failure();
  if (failed(
          dims.bind("N", *numStates,
                    getCuSeqlens() ? "cu_seqlens (length - 1)" : "q (dim 0)")))
    return failure();
  if (failed(verifyStates(*this, dims, getStateSlots(), getInitialState(),
                          getFinalState(), shapes::kScanStateRow)))
    return failure();
  // bf16 states only live in a pool: a state passed in or out is f32.
  for (auto [state, name] : {std::make_pair(getInitialState(), "initial_state"),
                             std::make_pair(getFinalState(), "final_state")})
    if (state && !getStateSlots() &&
        !getElementTypeOrSelf(state.getType()).isF32())
      return emitOpError() << "expects an f32 " << name
                           << " (bf16 states need a pool), got "
                           << state.getType();

  if (getChunkSize() < 1)
    return emitOpError() << "expects chunk_size >= 1, got " << getChunkSize();
  if (Value history = getChunkStates()) {
    // The state after each chunk: [B, ceil(T / C), HV, K, V].
    auto type = cast<RankedTensorType>(history.getType());
    if (type.getRank() != 5)
      return emitOpError() << "expects chunk_states [B, ceil(T / C), HV, K, "
                              "V], got "
                           << type;
    if (failed(dims.bind("B", type.getDimSize(0), "chunk_states (dim 0)")) ||
        failed(dims.bind("HV", type.getDimSize(2), "chunk_states (dim 2)")) ||
        failed(dims.bind("K", type.getDimSize(3), "chunk_states (dim 3)")) ||
        failed(dims.bind("V", type.getDimSize(4), "chunk_states (dim 4)")))
      return failure();
    int64_t tokens = dims.get("T"), rows = type.getDimSize(1);
    int64_t chunk = getChunkSize();
    if (!ShapedType::isDynamic(tokens) && !ShapedType::isDynamic(rows) &&
        rows != getChunkStateRows(tokens, chunk))
      return emitOpError() << "expects chunk_states to hold ceil(T / C) = "
                           << getChunkStateRows(tokens, chunk)
                           << " states (T = " << tokens
                           << ", C = " << getChunkSize() << "), got " << rows;
    // Packed sequences start anywhere: only single tokens have a row each.
    if (getCuSeqlens() && getChunkSize() != 1)
      return emitOpError() << "expects chunk_size 1 for chunk_states with "
                              "cu_seqlens (the state after each token), got "
                           << getChunkSize();
  }
  if (std::optional<APFloat> scale = getScale())
    if (!std::isfinite(scale->convertToDouble()))
      return emitOpError() << "expects a finite scale, got "
                           << formatScalar(scale->convertToDouble());
  return success();
}

namespace {
/// A decay that is a constant zero (alpha = 1) is no decay at all: plain
/// linear attention, which needs no gate loads and no exponentials.
struct RemoveZeroDecay : OpRewritePattern<ChunkedScanOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ChunkedScanOp op,
                                PatternRewriter &rewriter) const override {
    Value decay = op.getDecay();
    if (!decay)
      return failure();
    SplatElementsAttr splat;
    if (!matchPattern(decay, m_Constant(&splat)) ||
        !splat.getSplatValue<APFloat>().isZero())
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      op.getDecayMutable().clear();
      op.setDecayKind(DecayKind::none);
    });
    return success();
  }
};
} // namespace

void ChunkedScanOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                MLIRContext *context) {
  results.add<RemoveZeroDecay>(context);
}

//===----------------------------------------------------------------------===//
// CausalConv1dOp
//===----------------------------------------------------------------------===//

LogicalResult CausalConv1dOp::verify() {
  DimBinder dims(*this);
  if (failed(dims.bindShape(getX().getType(), "x",
                            shapes::refs(shapes::kConvX))) ||
      failed(dims.bindShape(getY().getType(), "y",
                            shapes::refs(shapes::kConvX))) ||
      failed(dims.bindShape(getWeight().getType(), "weight",
                            shapes::refs(shapes::kConvWeight))))
    return failure();
  if (failed(verifySameElementType(*this, getX().getType(), "x",
                                   getY().getType(), "y")))
    return failure();
  // The taps are unrolled: the lowering reads W shifted views of x.
  int64_t width = dims.get("W");
  if (ShapedType::isDynamic(width) || width < 1 || width > kMaxWidth)
    return emitOpError() << "expects a static kernel width W (weight dim 1) "
                            "between 1 and "
                         << kMaxWidth << ", got " << getWeight().getType();
  if (Value bias = getBias())
    if (failed(dims.bindShape(bias.getType(), "bias",
                              shapes::refs(shapes::kConvBias))))
      return failure();

  FailureOr<int64_t> numSequences =
      verifySequenceCount(*this, dims, getCuSeqlens());
  if (failed(numSequences))
    return failure();

  Value s0 = getInitialState(), sT = getFinalState();
  if ((s0 || sT) && width == 1)
    return emitOpError() << "expects no " << (s0 ? "initial" : "final")
                         << " state with width W = 1: a width-1 convolution "
                            "reads no earlier inputs";
  if (failed(dims.bind("N", *numSequences,
                       getCuSeqlens() ? "cu_seqlens (length - 1)"
                                      : "x (dim 0)")) ||
      failed(dims.bind("W - 1", width - 1, "weight (dim 1) - 1")))
    return failure();
  if (failed(verifyStates(*this, dims, getStateSlots(), s0, sT,
                          shapes::kConvStateRow)))
    return failure();
  for (auto [state, role] :
       {std::pair(s0, "initial_state"), std::pair(sT, "final_state")})
    if (state && failed(verifySameElementType(*this, getX().getType(), "x",
                                              state.getType(), role)))
      return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// RouterOp
//===----------------------------------------------------------------------===//

int64_t RouterOp::getCapacity(int64_t tokens, int64_t numExperts,
                              const APFloat &capacityFactor) {
  // T * cf is exact in f64 for any f32 cf and T < 2^29, so the product is
  // rounded once, by the division.
  return static_cast<int64_t>(
      std::floor(static_cast<double>(tokens) *
                 capacityFactor.convertToDouble() / numExperts));
}

LogicalResult RouterOp::verify() {
  DimBinder dims(*this);
  if (failed(dims.bindShape(getLogits().getType(), "logits",
                            shapes::refs(shapes::kRouterLogits))))
    return failure();
  int64_t numExperts = dims.get("E");
  if (ShapedType::isDynamic(numExperts))
    return emitOpError() << "expects a static expert count E, got "
                         << getLogits().getType();
  int64_t k = getK();
  if (k < 1 || k > numExperts)
    return emitOpError() << "expects 1 <= k <= E = " << numExperts
                         << ", got k = " << k;
  if (failed(dims.bind("k", k, "attribute k")) ||
      failed(dims.bindShape(getWeights().getType(), "weights",
                            shapes::refs(shapes::kRouterChoices))) ||
      failed(dims.bindShape(getExperts().getType(), "experts",
                            shapes::refs(shapes::kRouterChoices))))
    return failure();
  if (Value bias = getSelectionBias())
    if (failed(dims.bindShape(bias.getType(), "selection_bias",
                              shapes::refs(shapes::kRouterBias))))
      return failure();

  int64_t nGroup = getNGroup(), topkGroup = getTopkGroup();
  if (nGroup < 1 || numExperts % nGroup != 0)
    return emitOpError() << "expects n_group to divide E = " << numExperts
                         << ", got n_group = " << nGroup;
  if (topkGroup < 1 || topkGroup > nGroup)
    return emitOpError() << "expects 1 <= topk_group <= n_group = " << nGroup
                         << ", got topk_group = " << topkGroup;
  int64_t groupSize = numExperts / nGroup;
  if (nGroup > 1 && getGroupScore() == GroupScore::sum_top2 && groupSize < 2)
    return emitOpError() << "expects groups of at least 2 experts for "
                            "group_score sum_top2, got "
                         << groupSize;
  if (k > topkGroup * groupSize)
    return emitOpError() << "expects k <= topk_group * (E / n_group) = "
                         << topkGroup * groupSize
                         << " eligible experts, got k = " << k;
  if (failed(verifyPositiveFinite(
          *this, "routed_scaling_factor",
          getRoutedScalingFactor().convertToDouble())))
    return failure();
  if (std::optional<APFloat> cf = getCapacityFactor())
    return verifyPositiveFinite(*this, "capacity_factor",
                                cf->convertToDouble());
  return success();
}

namespace {
/// Keeping every group is no grouping: drop it so lowering takes the plain
/// top-k path.
struct RemoveTrivialGrouping : OpRewritePattern<RouterOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RouterOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getNGroup() == 1 || op.getTopkGroup() != op.getNGroup())
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      op.setNGroup(1);
      op.setTopkGroup(1);
      op.setGroupScore(GroupScore::sum_top2);
    });
    return success();
  }
};

/// An expert receives at most T assignments (a token never picks an expert
/// twice), so a capacity of T or more never drops anything.
struct RemoveUnreachableCapacity : OpRewritePattern<RouterOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RouterOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<APFloat> cf = op.getCapacityFactor();
    int64_t tokens = op.getLogits().getType().getDimSize(0);
    if (!cf || ShapedType::isDynamic(tokens))
      return failure();
    int64_t numExperts = op.getLogits().getType().getDimSize(1);
    double capacity = RouterOp::getCapacity(tokens, numExperts, *cf);
    if (capacity < static_cast<double>(tokens))
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      op.removeCapacityFactorAttr();
      op.setDropPolicy(DropPolicy::token_order);
    });
    return success();
  }
};
} // namespace

void RouterOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                           MLIRContext *context) {
  results.add<RemoveTrivialGrouping, RemoveUnreachableCapacity>(context);
}

//===----------------------------------------------------------------------===//
// DispatchOp
//===----------------------------------------------------------------------===//

LogicalResult DispatchOp::verify() {
  int64_t numExperts = getNumExperts(), blockSize = getBlockSize();
  if (numExperts < 1)
    return emitOpError() << "expects num_experts >= 1, got " << numExperts;
  if (blockSize < 1)
    return emitOpError() << "expects block_size >= 1, got " << blockSize;
  DimBinder dims(*this);
  if (failed(dims.bind("E", numExperts, "attribute num_experts")) ||
      failed(dims.bind("E + 1", numExperts + 1, "attribute num_experts + 1")) ||
      failed(dims.bindShape(getExperts().getType(), "experts", {"T", "k"})) ||
      failed(dims.bindShape(getPairPositions().getType(), "pair_positions",
                            {"T", "k"})) ||
      failed(dims.bindShape(getExpertOffsets().getType(), "expert_offsets",
                            {"E + 1"})) ||
      failed(dims.bindShape(getExpertCounts().getType(), "expert_counts",
                            {"E"})))
    return failure();
  int64_t tokens = dims.get("T"), k = dims.get("k");
  int64_t length = ShapedType::kDynamic, blocks = ShapedType::kDynamic;
  if (!ShapedType::isDynamic(tokens) && !ShapedType::isDynamic(k)) {
    length = getSortedLength(tokens * k, numExperts, blockSize);
    blocks = length / blockSize;
  }
  if (failed(dims.bind("L", length, "T * k + E * (block_size - 1), rounded up "
                                    "to block_size")) ||
      failed(dims.bindShape(getSortedPairs().getType(), "sorted_pairs",
                            {"L"})) ||
      failed(dims.bind("L / block_size", blocks, "the block count")) ||
      failed(dims.bindShape(getBlockExperts().getType(), "block_experts",
                            {"L / block_size"})))
    return failure();
  return success();
}

#define GET_OP_CLASSES
#include "gatec/Dialect/Gate/GateOps.cpp.inc"
