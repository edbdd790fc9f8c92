//===- ScanDeltaRule.cpp - The delta rule of the scan lowering ------------===//
//
// Part of gatec. The chunk form of the delta rule (DeltaNet, Gated DeltaNet,
// KDA): the values U that the plain chunk form adds in v's place, through
// the inverse of a unit lower triangular matrix.
//
//===----------------------------------------------------------------------===//

#include "Conversion/GateToLinalg/ScanLowering.h"

#include "gatec/Dialect/Gate/GateMath.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::gate;

namespace gatec::scan {

///   T_i = e_i - sum_{m < i} A_im T_m,
/// which reads only the rows already final (T is unit lower triangular, so
/// row i needs columns [0, i) of rows [0, i)). L^3 / 6 multiply-adds, small
/// next to the chunk's matmuls for L <= K, V; every product then uses T
/// through matmuls, which a backend maps to its matrix units.
static Value buildUnitLowerInverse(OpBuilder &b, Location loc, Value a,
                                   Value len) {
  MLIRContext *ctx = b.getContext();
  SmallVector<OpFoldResult> square = {len, len};
  Value identity = buildElementwise2D(
      b, loc, ValueRange{}, {}, buildEmptyF32(b, loc, square),
      [](OpBuilder &nb, Location nl, ValueRange) -> Value {
        Value i = linalg::IndexOp::create(nb, nl, 0);
        Value j = linalg::IndexOp::create(nb, nl, 1);
        Value diagonal =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, i, j);
        return arith::SelectOp::create(nb, nl, diagonal,
                                       f32Constant(nb, nl, 1.0),
                                       f32Constant(nb, nl, 0.0));
      });
  auto unit = SmallVector<OpFoldResult>(2, b.getIndexAttr(1));
  auto loop = scf::ForOp::create(
      b, loc, arith::ConstantIndexOp::create(b, loc, 1), len,
      arith::ConstantIndexOp::create(b, loc, 1), ValueRange{identity},
      [&](OpBuilder &nb, Location nl, Value i, ValueRange iterArgs) {
        Value inverse = iterArgs[0];
        OpFoldResult zero = nb.getIndexAttr(0), one = nb.getIndexAttr(1);
        auto rowType =
            RankedTensorType::get({ShapedType::kDynamic}, nb.getF32Type());
        // A[i, 0:i] as [i], and the finished block T[0:i, 0:i].
        Value aRow = tensor::ExtractSliceOp::create(
            nb, nl, rowType, a, ArrayRef<OpFoldResult>{i, zero},
            ArrayRef<OpFoldResult>{one, i}, unit);
        Value block = tensor::ExtractSliceOp::create(
            nb, nl,
            RankedTensorType::get({ShapedType::kDynamic, ShapedType::kDynamic},
                                  nb.getF32Type()),
            inverse, ArrayRef<OpFoldResult>{zero, zero},
            ArrayRef<OpFoldResult>{i, i}, unit);
        // -sum_m a_m T_mj, accumulated from zero in a buffer of its own:
        // built in T's row i, the row would share T's buffer with the block
        // it reads, and bufferization (which cannot tell the two apart)
        // would copy the whole block for every row, L^3 / 3 copies a chunk.
        Value rowInit = bufferization::AllocTensorOp::create(nb, nl, rowType,
                                                             ValueRange{i});
        Value row = buildGeneric(
            nb, nl, ValueRange{aRow, block},
            linalg::FillOp::create(nb, nl, ValueRange{f32Constant(nb, nl, 0.0)},
                                   ValueRange{rowInit})
                .getResult(0),
            {projection(ctx, 2, {0}), projection(ctx, 2, {0, 1}),
             projection(ctx, 2, {1})},
            {utils::IteratorType::reduction, utils::IteratorType::parallel},
            [](OpBuilder &bb, Location bl, ValueRange args) -> Value {
              return arith::SubFOp::create(
                  bb, bl, args[2],
                  arith::MulFOp::create(bb, bl, args[0], args[1]));
            });
        Value updated = tensor::InsertSliceOp::create(
            nb, nl, row, inverse, ArrayRef<OpFoldResult>{i, zero},
            ArrayRef<OpFoldResult>{one, i}, unit);
        scf::YieldOp::create(nb, nl, ValueRange{updated});
      });
  return loop.getResult(0);
}

/// The delta rule's values for the chunk: U [L, V] f32 such that the
/// chunk's states and outputs are those of the plain (additive) chunk form
/// with U in place of v. With S the state at the chunk start and b the
/// cumulative log gates, token i's update is
///   u_i = beta_i (v_i - k_i S'_i),  S'_i = exp(b_i) S + sum_{m<i} exp(b_i -
///   b_m) k_m^T u_m,
/// so (I + A) U = beta * V - (beta * exp(b) * K) S with the strictly lower
///   A_im = beta_i sum_c k_ic k_mc exp(b_ic - b_mc)   (m < i),
/// the keys' own causal scores (the DeltaNet/Gated DeltaNet chunk form,
/// Yang et al. 2024). With T = (I + A)^-1:
///   U = T (beta * V) - W S,   W = T (beta * exp(b) * K).
/// Every exponent is a decay to a later token, <= 0, as elsewhere.
Value buildDeltaValues(OpBuilder &b, Location loc, const Chunk &chunk,
                       const CumulativeGates &gates, Value state,
                       bool exactProducts) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  Chunk keys = chunk;
  keys.q = chunk.k;
  Value keyScores = buildIntraChunkScores(b, loc, keys, gates);
  // Strictly below the diagonal, times beta_i.
  Value a = buildElementwise2D(
      b, loc, ValueRange{chunk.beta}, {projection(ctx, 2, {0})}, keyScores,
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        Value i = linalg::IndexOp::create(nb, nl, 0);
        Value j = linalg::IndexOp::create(nb, nl, 1);
        Value below =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, j, i);
        Value weighted = arith::MulFOp::create(
            nb, nl, args[1], gate::convertFloat(nb, nl, args[0], f32));
        return arith::SelectOp::create(nb, nl, below, weighted,
                                       f32Constant(nb, nl, 0.0));
      });
  Value inverse = buildUnitLowerInverse(b, loc, a, chunk.len);

  // -beta_i exp(b_i) k_i, so that one accumulating matmul subtracts W S.
  Value negBeta = buildGeneric(
      b, loc, ValueRange{chunk.beta}, buildEmptyF32(b, loc, {chunk.len}),
      {b.getMultiDimIdentityMap(1), b.getMultiDimIdentityMap(1)},
      {utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        return arith::NegFOp::create(nb, nl,
                                     gate::convertFloat(nb, nl, args[0], f32));
      });
  Value keyRows =
      buildDecayedFromChunkStart(b, loc, chunk, gates, chunk.k, negBeta);
  Value valueRows = buildElementwise2D(
      b, loc, ValueRange{chunk.v, chunk.beta},
      {projection(ctx, 2, {0, 1}), projection(ctx, 2, {0})},
      buildEmptyF32(b, loc, chunk.shape(b, chunk.valueDim)),
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        return arith::MulFOp::create(nb, nl,
                                     gate::convertFloat(nb, nl, args[0], f32),
                                     gate::convertFloat(nb, nl, args[1], f32));
      });

  Value negW =
      linalg::MatmulOp::create(
          b, loc, TypeRange{keyRows.getType()}, ValueRange{inverse, keyRows},
          ValueRange{buildZerosF32(b, loc, chunk.shape(b, chunk.keyDim))})
          .getResult(0);
  Value values =
      linalg::MatmulOp::create(
          b, loc, TypeRange{valueRows.getType()},
          ValueRange{inverse, valueRows},
          ValueRange{buildZerosF32(b, loc, chunk.shape(b, chunk.valueDim))})
          .getResult(0);
  auto update =
      linalg::MatmulOp::create(b, loc, TypeRange{values.getType()},
                               ValueRange{negW, state}, ValueRange{values});
  // U feeds the state: with bf16 matrix units and a final state, these
  // three products split their f32 operands like the state update does.
  if (exactProducts)
    for (Value product : {negW, values, update.getResult(0)})
      product.getDefiningOp()->setAttr(kSplitMultiplicandsAttrName,
                                       b.getUnitAttr());
  return update.getResult(0);
}

} // namespace gatec::scan
