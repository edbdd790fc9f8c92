//===- GenericBody.h - A linalg.generic's body at one point -----*- C++ -*-===//
//
// Part of gatec. Passes that lower a linalg.generic by hand (GPU kernels that
// run it per element, per vector lane or inside a matmul's epilogue) emit
// its body once per point of its iteration space.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_TRANSFORMS_GENERICBODY_H
#define GATEC_TRANSFORMS_GENERICBODY_H

#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace mlir {
class IRMapping;
namespace linalg {
class GenericOp;
} // namespace linalg
} // namespace mlir

namespace gatec {

/// Clones the body of `op` at `b` for one point of its iteration space and
/// returns the values it yields. The block arguments must already be mapped
/// in `map` (the operands' elements at that point); `linalg.index d` becomes
/// `index(d)`, called only for the dimensions the body asks for.
llvm::SmallVector<mlir::Value>
cloneGenericBody(mlir::OpBuilder &b, mlir::linalg::GenericOp op,
                 mlir::IRMapping &map,
                 llvm::function_ref<mlir::Value(unsigned)> index);

} // namespace gatec

#endif // GATEC_TRANSFORMS_GENERICBODY_H
