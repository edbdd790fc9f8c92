//===- InitAll.h - Register everything gatec tools need ----------*- C++ -*-===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_INITALL_H
#define GATEC_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace gatec {

/// The gate dialect, every upstream dialect gatec lowers through, and their
/// interface extensions (bufferization, inlining, LLVM translation).
void registerAllDialects(mlir::DialectRegistry &registry);

/// gatec's own SubsetOpInterface models for tensor.extract_slice,
/// insert_slice and parallel_insert_slice: two slices are the same subset when
/// their offsets, sizes and strides are the same values or constants. Must be
/// registered before upstream's models (the first model attached wins);
/// registerAllDialects does so.
void registerSliceEquivalenceModels(mlir::DialectRegistry &registry);

/// gatec's passes and named pipelines, plus the upstream passes.
void registerAllPasses();

} // namespace gatec

#endif // GATEC_INITALL_H
