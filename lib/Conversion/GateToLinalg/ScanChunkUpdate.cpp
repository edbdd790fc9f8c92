//===- ScanChunkUpdate.cpp - A scan chunk's output and state --------------===//
//
// Part of gatec. What one gate.chunked_scan chunk contributes: its output
// rows o_c = A v + (q * exp(b)) S, scaled and rounded, and the state after
// it, S' = Diag(exp(b_last)) S + (k * exp(b_last - b))^T v.
//
//===----------------------------------------------------------------------===//

#include "Conversion/GateToLinalg/ScanLowering.h"

#include "gatec/Dialect/Gate/GateMath.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::gate;

namespace gatec::scan {

/// x_i * exp(b_i) * rowScale_i in f32 [L, K] for the chunk's rows x [L, K]:
/// the decay from the chunk start to token i, applied per key channel
/// (vector) or per row (scalar, fixed), times an optional per-row factor
/// `rowScale` [L] (the delta rule's beta). exp(b_i) <= 1.
Value buildDecayedFromChunkStart(OpBuilder &b, Location loc, const Chunk &chunk,
                                 const CumulativeGates &gates, Value x,
                                 Value rowScale) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  SmallVector<Value> inputs = {x};
  SmallVector<AffineMap> maps = {projection(ctx, 2, {0, 1})};
  int gateInput = -1, scaleInput = -1;
  if (gates.kind == DecayKind::vector || gates.kind == DecayKind::scalar) {
    gateInput = inputs.size();
    inputs.push_back(gates.prefix);
    maps.push_back(gates.kind == DecayKind::vector
                       ? projection(ctx, 2, {0, 1}) // b_ik
                       : projection(ctx, 2, {0}));  // b_i, a row scale
  }
  if (rowScale) {
    scaleInput = inputs.size();
    inputs.push_back(rowScale);
    maps.push_back(projection(ctx, 2, {0}));
  }
  DecayKind kind = gates.kind;
  Value g = gates.perToken;
  return buildElementwise2D(
      b, loc, inputs, maps, buildEmptyF32(b, loc, chunk.shape(b, chunk.keyDim)),
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        Value result = gate::convertFloat(nb, nl, args[0], f32);
        Value exponent;
        if (kind == DecayKind::fixed) {
          // b_i = (i + 1) g.
          Value i = linalg::IndexOp::create(nb, nl, 0);
          Value count = arith::AddFOp::create(nb, nl, indexToF32(nb, nl, i),
                                              f32Constant(nb, nl, 1.0));
          exponent = arith::MulFOp::create(nb, nl, count, g);
        } else if (gateInput >= 0) {
          exponent = args[gateInput];
        }
        if (exponent)
          result = arith::MulFOp::create(nb, nl, result,
                                         math::ExpOp::create(nb, nl, exponent));
        if (scaleInput >= 0)
          result = arith::MulFOp::create(
              nb, nl, result,
              gate::convertFloat(nb, nl, args[scaleInput], f32));
        return result;
      });
}

/// The chunk's output before scaling and rounding:
///   o_c = A v + (q * exp(b)) S                                    [L, V] f32
/// exp(b_i) <= 1 is the decay from the chunk start to token i, applied to the
/// query rather than to the state so that S stays shared by the whole chunk.
Value buildChunkOutput(OpBuilder &b, Location loc, const Chunk &chunk,
                       const CumulativeGates &gates, Value scores,
                       Value state) {
  Value decayedQ = chunk.q;
  if (gates.kind != DecayKind::none)
    decayedQ = buildDecayedFromChunkStart(b, loc, chunk, gates, chunk.q);

  Value out = buildZerosF32(b, loc, chunk.shape(b, chunk.valueDim));
  Value intra =
      linalg::MatmulOp::create(b, loc, TypeRange{out.getType()},
                               ValueRange{scores, chunk.v}, ValueRange{out})
          .getResult(0);
  return linalg::MatmulOp::create(b, loc, TypeRange{out.getType()},
                                  ValueRange{decayedQ, state},
                                  ValueRange{intra})
      .getResult(0);
}

/// scale * o_c, rounded once to the output element type and written into
/// `dest`, the chunk's rows of the output (destination-passing style, so that
/// bufferization writes o in place).
Value buildRoundedOutput(OpBuilder &b, Location loc, Value output, double scale,
                         Value dest) {
  MLIRContext *ctx = b.getContext();
  Type elementType = cast<ShapedType>(dest.getType()).getElementType();
  return buildElementwise2D(
      b, loc, ValueRange{output}, {projection(ctx, 2, {0, 1})}, dest,
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        Value scaled =
            arith::MulFOp::create(nb, nl, args[0], f32Constant(nb, nl, scale));
        return gate::convertFloat(nb, nl, scaled, elementType);
      });
}

/// decayedState + decayedK^T v: the chunk's contribution to the state, a
/// contraction over the chunk's tokens.
static Value buildStateContraction(OpBuilder &b, Location loc, Value decayedK,
                                   Value v, Value decayedState) {
  return linalg::MatmulTransposeAOp::create(
             b, loc, TypeRange{decayedState.getType()}, ValueRange{decayedK, v},
             ValueRange{decayedState})
      .getResult(0);
}

/// The state after the chunk:
///   S' = Diag(exp(b_last)) S + (k * exp(b_last - b))^T v          [K, V] f32
/// exp(b_last - b_j) <= 1 decays token j's contribution to the chunk end.
Value buildStateUpdate(OpBuilder &b, Location loc, const Chunk &chunk,
                       const CumulativeGates &gates, Value state) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  int64_t keyDim = chunk.keyDim;
  Value decayedK = chunk.k;
  Value decayedState = state;
  if (gates.kind == DecayKind::none)
    return buildStateContraction(b, loc, decayedK, chunk.v, decayedState);

  Value last = arith::SubIOp::create(b, loc, chunk.len,
                                     arith::ConstantIndexOp::create(b, loc, 1));
  Value keyInit = buildEmptyF32(b, loc, chunk.shape(b, keyDim));
  switch (gates.kind) {
  case DecayKind::none:
    llvm_unreachable("handled above");
  case DecayKind::vector: {
    // b_last: row L - 1 of b, [K].
    Value lastHi = extractRow(b, loc, gates.prefix, last);
    Value lastLo = extractRow(b, loc, gates.residual, last);
    AffineMap rows = projection(ctx, 2, {0, 1}), row = projection(ctx, 2, {1});
    decayedK = buildElementwise2D(
        b, loc,
        ValueRange{chunk.k, gates.prefix, gates.residual, lastHi, lastLo},
        {rows, rows, rows, row, row}, keyInit,
        [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value decay = math::ExpOp::create(
              nb, nl,
              buildLogDecay(nb, nl, args[3], args[4], args[1], args[2]));
          return arith::MulFOp::create(
              nb, nl, gate::convertFloat(nb, nl, args[0], f32), decay);
        });
    // exp(b_last) once per key channel, not once per state element.
    AffineMap id = b.getMultiDimIdentityMap(1);
    Value channelDecay =
        buildGeneric(b, loc, ValueRange{lastHi},
                     buildEmptyF32(b, loc, {b.getIndexAttr(keyDim)}), {id, id},
                     {utils::IteratorType::parallel},
                     [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
                       return math::ExpOp::create(nb, nl, args[0]);
                     });
    decayedState = buildElementwise2D(
        b, loc, ValueRange{channelDecay}, {projection(ctx, 2, {0})}, state,
        [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          return arith::MulFOp::create(nb, nl, args[1], args[0]);
        });
    break;
  }
  case DecayKind::scalar:
  case DecayKind::fixed: {
    // The decay from token j to the chunk end, and from the chunk start to
    // its end (one scalar for the whole state).
    bool scalar = gates.kind == DecayKind::scalar;
    Value g = gates.perToken;
    Value lastHi, lastLo, chunkDecay;
    if (scalar) {
      lastHi = tensor::ExtractOp::create(b, loc, gates.prefix, last);
      lastLo = tensor::ExtractOp::create(b, loc, gates.residual, last);
      chunkDecay = math::ExpOp::create(b, loc, lastHi);
    } else {
      chunkDecay = math::ExpOp::create(
          b, loc,
          arith::MulFOp::create(b, loc, indexToF32(b, loc, chunk.len), g));
    }
    SmallVector<Value> inputs = {chunk.k};
    SmallVector<AffineMap> maps = {projection(ctx, 2, {0, 1})};
    if (scalar) {
      inputs.append({gates.prefix, gates.residual});
      maps.append(2, projection(ctx, 2, {0})); // b_j
    }
    decayedK = buildElementwise2D(
        b, loc, inputs, maps, keyInit,
        [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value decay =
              scalar ? math::ExpOp::create(nb, nl,
                                           buildLogDecay(nb, nl, lastHi, lastLo,
                                                         args[1], args[2]))
                           .getResult()
                     : buildFixedDecay(nb, nl, g, last,
                                       linalg::IndexOp::create(nb, nl, 0));
          return arith::MulFOp::create(
              nb, nl, gate::convertFloat(nb, nl, args[0], f32), decay);
        });
    decayedState = buildElementwise2D(
        b, loc, ValueRange{}, {}, state,
        [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          return arith::MulFOp::create(nb, nl, args[0], chunkDecay);
        });
    break;
  }
  }

  return buildStateContraction(b, loc, decayedK, chunk.v, decayedState);
}

} // namespace gatec::scan
