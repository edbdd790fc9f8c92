//===- SequenceBounds.cpp - A sequence's tokens and pool row --------------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "Conversion/GateToLinalg/SequenceBounds.h"

#include "gatec/Dialect/Gate/GateMath.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;

Value gatec::indexValue(OpBuilder &b, Location loc, OpFoldResult ofr) {
  if (auto value = dyn_cast<Value>(ofr))
    return value;
  return arith::ConstantIndexOp::create(b, loc, *getConstantIntValue(ofr));
}

std::pair<Value, Value>
gatec::buildClampedSequenceBounds(OpBuilder &b, Location loc, Value cuSeqlens,
                                  Value numTokens, Value n) {
  auto offsetAt = [&](Value index, Value lowest) -> Value {
    Value raw = tensor::ExtractOp::create(b, loc, cuSeqlens, index);
    Value offset = arith::IndexCastOp::create(b, loc, b.getIndexType(), raw);
    return arith::MinSIOp::create(
        b, loc, arith::MaxSIOp::create(b, loc, offset, lowest), numTokens);
  };
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value begin = offsetAt(n, arith::ConstantIndexOp::create(b, loc, 0));
  Value end = offsetAt(arith::AddIOp::create(b, loc, n, one), begin);
  return {begin, end};
}

gatec::PoolSlot gatec::buildPoolSlot(OpBuilder &b, Location loc, Value slots,
                                     Value pool, Value n) {
  Value raw = tensor::ExtractOp::create(b, loc, slots, n);
  Value slot = arith::IndexCastOp::create(b, loc, b.getIndexType(), raw);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value poolSize = tensor::DimOp::create(b, loc, pool, 0);
  PoolSlot result;
  result.valid = arith::AndIOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, slot, zero),
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, slot, poolSize));
  result.row =
      arith::SelectOp::create(b, loc, result.valid, slot, zero).getResult();
  result.rows =
      arith::SelectOp::create(b, loc, result.valid,
                              arith::ConstantIndexOp::create(b, loc, 1), zero)
          .getResult();
  return result;
}

OpFoldResult gatec::lengthInPool(OpBuilder &b, Location loc,
                                 const PoolSlot &slot, OpFoldResult len) {
  return arith::SelectOp::create(b, loc, slot.valid, indexValue(b, loc, len),
                                 arith::ConstantIndexOp::create(b, loc, 0))
      .getResult();
}

/// [row, sizes...] -> `sizes` without their leading static 1s: the row, those
/// 1s and the next dimension form the first group.
static SmallVector<ReassociationIndices>
dropLeadingUnits(ArrayRef<OpFoldResult> sizes) {
  int64_t first = 1;
  while (first < static_cast<int64_t>(sizes.size()) &&
         isConstantIntValue(sizes[first - 1], 1))
    ++first;
  SmallVector<ReassociationIndices> groups(1);
  for (int64_t d = 0; d <= first; ++d)
    groups[0].push_back(d);
  for (int64_t d = first + 1; d <= static_cast<int64_t>(sizes.size()); ++d)
    groups.push_back({d});
  return groups;
}

/// [rows, sizes...] with `rows` dynamic.
static RankedTensorType rowsType(ArrayRef<OpFoldResult> sizes,
                                 Type elementType) {
  SmallVector<int64_t> shape = {ShapedType::kDynamic};
  for (OpFoldResult size : sizes)
    shape.push_back(getConstantIntValue(size).value_or(ShapedType::kDynamic));
  return RankedTensorType::get(shape, elementType);
}

/// `rows` ([rows, sizes...]) with its elements converted to `elementType`:
/// itself, or an elementwise generic over exactly those rows (none for a
/// skipped sequence).
static Value convertRows(OpBuilder &b, Location loc, Value rows,
                         Type elementType) {
  auto type = cast<RankedTensorType>(rows.getType());
  if (type.getElementType() == elementType)
    return rows;
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, rows);
  Value init = tensor::EmptyOp::create(b, loc, sizes, elementType);
  AffineMap identity = b.getMultiDimIdentityMap(type.getRank());
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{rows},
             ValueRange{init}, ArrayRef<AffineMap>{identity, identity},
             SmallVector<utils::IteratorType>(type.getRank(),
                                              utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               linalg::YieldOp::create(
                   nb, nl, gate::convertFloat(nb, nl, args[0], elementType));
             })
      .getResult(0);
}

Value gatec::readPoolRow(OpBuilder &b, Location loc, Value pool,
                         const PoolSlot &slot, ArrayRef<OpFoldResult> offsets,
                         ArrayRef<OpFoldResult> sizes, RankedTensorType type,
                         bool zeroSkipped) {
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  SmallVector<OpFoldResult> rowOffsets = {slot.row}, rowSizes = {slot.rows};
  llvm::append_range(rowOffsets, offsets);
  llvm::append_range(rowSizes, sizes);
  SmallVector<OpFoldResult> unit(rowSizes.size(), one);
  Type elementType = type.getElementType();
  Type poolElementType = cast<ShapedType>(pool.getType()).getElementType();
  Value rows = convertRows(
      b, loc,
      tensor::ExtractSliceOp::create(b, loc, rowsType(sizes, poolElementType),
                                     pool, rowOffsets, rowSizes, unit),
      elementType);
  SmallVector<OpFoldResult> localSizes = {one};
  llvm::append_range(localSizes, sizes);
  Value local = tensor::EmptyOp::create(b, loc, localSizes, elementType);
  if (zeroSkipped)
    local = linalg::FillOp::create(
                b, loc,
                ValueRange{arith::ConstantOp::create(
                    b, loc, elementType, b.getZeroAttr(elementType))},
                ValueRange{local})
                .getResult(0);
  Value filled = tensor::InsertSliceOp::create(
      b, loc, rows, local, SmallVector<OpFoldResult>(rowSizes.size(), zero),
      rowSizes, unit);
  return tensor::CollapseShapeOp::create(b, loc, type, filled,
                                         dropLeadingUnits(sizes));
}

Value gatec::poolRowsOf(OpBuilder &b, Location loc, Value value,
                        const PoolSlot &slot, ArrayRef<OpFoldResult> sizes,
                        Type poolElementType) {
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  Type elementType = cast<ShapedType>(value.getType()).getElementType();
  SmallVector<int64_t> expandedShape = {1};
  for (OpFoldResult size : sizes)
    expandedShape.push_back(
        getConstantIntValue(size).value_or(ShapedType::kDynamic));
  SmallVector<OpFoldResult> expandedSizes = {one};
  llvm::append_range(expandedSizes, sizes);
  Value expanded = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(expandedShape, elementType), value,
      dropLeadingUnits(sizes), expandedSizes);
  SmallVector<OpFoldResult> rowSizes = {slot.rows};
  llvm::append_range(rowSizes, sizes);
  return convertRows(b, loc,
                     tensor::ExtractSliceOp::create(
                         b, loc, rowsType(sizes, elementType), expanded,
                         SmallVector<OpFoldResult>(rowSizes.size(), zero),
                         rowSizes,
                         SmallVector<OpFoldResult>(rowSizes.size(), one)),
                     poolElementType);
}

void gatec::writePoolRows(OpBuilder &b, Location loc, Value rows, Value pool,
                          const PoolSlot &slot, ArrayRef<OpFoldResult> offsets,
                          ArrayRef<OpFoldResult> sizes) {
  SmallVector<OpFoldResult> rowOffsets = {slot.row}, rowSizes = {slot.rows};
  llvm::append_range(rowOffsets, offsets);
  llvm::append_range(rowSizes, sizes);
  tensor::ParallelInsertSliceOp::create(
      b, loc, rows, pool, rowOffsets, rowSizes,
      SmallVector<OpFoldResult>(rowSizes.size(), b.getIndexAttr(1)));
}
