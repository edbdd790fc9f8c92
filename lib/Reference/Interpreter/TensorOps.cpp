//===- TensorOps.cpp - Evaluate tensor ops in the reference interpreter ---===//
//
// Part of gatec. Reshapes and slices: elements copied by their row-major
// positions.
//
//===----------------------------------------------------------------------===//

#include "Reference/Interpreter/Interpreter.h"

using namespace mlir;
using gatec::ref::TensorValue;

namespace gatec::ref::detail {

LogicalResult Interpreter::evalReshape(tensor::ExpandShapeOp reshape) {
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

LogicalResult Interpreter::evalReshape(tensor::CollapseShapeOp reshape) {
  FailureOr<TensorValue *> src = tensor(reshape, reshape.getSrc());
  if (failed(src))
    return failure();
  TensorValue t = **src;
  t.shape.clear();
  for (const ReassociationIndices &group : reshape.getReassociationIndices()) {
    int64_t size = 1;
    for (int64_t d : group)
      size *= (*src)->shape[d];
    t.shape.push_back(size);
  }
  tensors[reshape.getResult()] = std::move(t);
  return success();
}

template <typename SliceOp>
FailureOr<std::vector<int64_t>>
Interpreter::sliceElements(SliceOp s, ArrayRef<int64_t> shape) {
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

LogicalResult Interpreter::evalExtractSlice(tensor::ExtractSliceOp s) {
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

LogicalResult Interpreter::evalInsertSlice(tensor::InsertSliceOp s) {
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

} // namespace gatec::ref::detail
