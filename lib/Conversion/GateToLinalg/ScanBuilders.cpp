//===- ScanBuilders.cpp - Small builders of the scan lowering -------------===//
//
// Part of gatec. The constants, empty and zero tensors, generics and chunk
// slices that the pieces of the gate.chunked_scan lowering are built from
// (declared in ScanLowering.h).
//
//===----------------------------------------------------------------------===//

#include "Conversion/GateToLinalg/ScanLowering.h"

#include "Conversion/GateToLinalg/SequenceBounds.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace mlir::gate;

namespace gatec::scan {

Value f32Constant(OpBuilder &b, Location loc, double value) {
  Type f32 = b.getF32Type();
  return arith::ConstantOp::create(b, loc, f32, b.getFloatAttr(f32, value));
}

Value indexToF32(OpBuilder &b, Location loc, Value index) {
  Value wide = arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
  return arith::SIToFPOp::create(b, loc, b.getF32Type(), wide);
}

int64_t staticSize(OpFoldResult size) {
  return getConstantIntValue(size).value_or(ShapedType::kDynamic);
}

Value buildEmptyF32(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes) {
  return tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
}

Value buildZerosF32(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes) {
  return linalg::FillOp::create(b, loc, ValueRange{f32Constant(b, loc, 0.0)},
                                ValueRange{buildEmptyF32(b, loc, sizes)})
      .getResult(0);
}

Value buildEmptyOfType(OpBuilder &b, Location loc, RankedTensorType type,
                       ArrayRef<OpFoldResult> sizes) {
  SmallVector<Value> dynSizes;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      dynSizes.push_back(indexValue(b, loc, sizes[i]));
  return tensor::EmptyOp::create(b, loc, type, dynSizes);
}

AffineMap projection(MLIRContext *ctx, unsigned numDims,
                     ArrayRef<unsigned> dims) {
  return AffineMap::getMultiDimMapWithTargets(numDims, dims, ctx);
}

Value buildGeneric(OpBuilder &b, Location loc, ValueRange inputs, Value init,
                   ArrayRef<AffineMap> maps,
                   ArrayRef<utils::IteratorType> iterators, GenericBody body) {
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, body(nb, nl, args));
      });
  return generic.getResult(0);
}

Value buildElementwise2D(OpBuilder &b, Location loc, ValueRange inputs,
                         ArrayRef<AffineMap> inputMaps, Value init,
                         GenericBody body) {
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(b.getMultiDimIdentityMap(2));
  return buildGeneric(
      b, loc, inputs, init, maps,
      {utils::IteratorType::parallel, utils::IteratorType::parallel}, body);
}

Value extractHeadRows(OpBuilder &b, Location loc, Value source,
                      OpFoldResult batch, OpFoldResult begin, OpFoldResult rows,
                      OpFoldResult head) {
  auto sourceType = cast<RankedTensorType>(source.getType());
  SmallVector<OpFoldResult> offsets = {batch, begin, head};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), rows,
                                     b.getIndexAttr(1)};
  SmallVector<int64_t> shape = {staticSize(rows)};
  if (sourceType.getRank() == 4) {
    int64_t width = sourceType.getDimSize(3);
    offsets.push_back(b.getIndexAttr(0));
    sizes.push_back(b.getIndexAttr(width));
    shape.push_back(width);
  }
  SmallVector<OpFoldResult> strides(sourceType.getRank(), b.getIndexAttr(1));
  auto type = RankedTensorType::get(shape, sourceType.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, type, source, offsets, sizes,
                                        strides);
}

Value extractRows(OpBuilder &b, Location loc, Value source, OpFoldResult start,
                  OpFoldResult len) {
  auto sourceType = cast<RankedTensorType>(source.getType());
  int64_t width = sourceType.getDimSize(1);
  auto type = RankedTensorType::get({staticSize(len), width},
                                    sourceType.getElementType());
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(
      b, loc, type, source, ArrayRef<OpFoldResult>{start, b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{len, b.getIndexAttr(width)}, strides);
}

Value extractRow(OpBuilder &b, Location loc, Value source, OpFoldResult row) {
  auto sourceType = cast<RankedTensorType>(source.getType());
  int64_t width = sourceType.getDimSize(1);
  auto type = RankedTensorType::get({width}, sourceType.getElementType());
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(
      b, loc, type, source, ArrayRef<OpFoldResult>{row, b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(width)},
      strides);
}

} // namespace gatec::scan
