//===- GPUScratch.cpp - Per-iteration scratch placement -------------------===//
//
// Part of gatec. Where gatec-gpu-distribute puts the scratch buffers an
// iteration allocates: a slot per thread, warp or block, in shared memory or
// in a global workspace per launch, and the views that replace them.
//
//===----------------------------------------------------------------------===//

#include "Codegen/CUDA/GPUDistribute.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"

using namespace mlir;
using namespace gatec::gpu_distribute;

namespace gatec::gpu_distribute {

/// A 256-byte aligned device buffer of `bytes` bytes.
Value workspace(OpBuilder &b, Location loc, Value bytes) {
  auto type = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
  return memref::AllocOp::create(b, loc, type, ValueRange{bytes},
                                 b.getI64IntegerAttr(256));
}

/// Bytes of a slot for `alloc`: every dynamic size replaced by its constant
/// upper bound, rounded up to `alignment` (that of every slot: 256 in a
/// global workspace, 16 in shared memory).
FailureOr<int64_t> GPUDistributor::scratchBytes(memref::AllocOp alloc,
                                                int64_t alignment) {
  MemRefType type = alloc.getType();
  if (!type.getLayout().isIdentity() || type.getMemorySpace() != nullptr ||
      !type.getElementType().isIntOrFloat())
    return alloc.emitError("gatec-gpu-distribute: cannot place scratch "
                           "buffer of type ")
           << type;
  int64_t elems = 1;
  unsigned dynamic = 0;
  for (int64_t size : type.getShape()) {
    if (!ShapedType::isDynamic(size)) {
      elems *= size;
      continue;
    }
    Value sizeValue = alloc.getDynamicSizes()[dynamic++];
    FailureOr<int64_t> bound = ValueBoundsConstraintSet::computeConstantBound(
        presburger::BoundType::UB,
        ValueBoundsConstraintSet::Variable(sizeValue),
        /*stopCondition=*/nullptr, /*closedUB=*/true);
    if (failed(bound) || *bound < 0)
      return alloc.emitError("gatec-gpu-distribute: no constant upper bound "
                             "for a dynamic size of scratch buffer ")
             << type;
    elems *= std::max<int64_t>(*bound, 0);
  }
  int64_t bytes = elems * ((type.getElementTypeBitWidth() + 7) / 8);
  return (bytes + alignment - 1) / alignment * alignment;
}

/// Clones `op`, replacing scratch allocations by views into their slot and
/// dropping their deallocations.
LogicalResult GPUDistributor::cloneSequential(OpBuilder &b, Operation *op,
                                              IRMapping &map) {
  if (isa<linalg::LinalgOp>(op))
    return op->emitError("gatec-gpu-distribute: an op kept for a group "
                         "of threads reached a single thread");
  if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
    map.map(alloc.getResult(), scratchView(b, alloc, map));
    return success();
  }
  if (auto dealloc = dyn_cast<memref::DeallocOp>(op))
    if (scratchViews.count(
            dealloc.getMemref().getDefiningOp<memref::AllocOp>()))
      return success();
  if (op->getNumRegions() == 0 || !containsScratch(op)) {
    b.clone(*op, map);
    return success();
  }
  return cloneShell(b, op, map, [&](OpBuilder &inner, Operation *nested) {
    return cloneSequential(inner, nested, map);
  });
}

bool GPUDistributor::containsScratch(Operation *op) {
  bool found = false;
  op->walk(
      [&](memref::AllocOp alloc) { found |= scratchViews.count(alloc) != 0; });
  op->walk([&](memref::DeallocOp dealloc) {
    found |= scratchViews.count(
                 dealloc.getMemref().getDefiningOp<memref::AllocOp>()) != 0;
  });
  return found;
}

Value GPUDistributor::scratchView(OpBuilder &b, memref::AllocOp alloc,
                                  IRMapping &map) {
  const ScratchSlot &slot = scratchViews.lookup(alloc);
  Location loc = alloc.getLoc();
  Value shift = arith::MulIOp::create(b, loc, slot.slot,
                                      constantIndex(b, loc, slot.bytes));
  SmallVector<Value> sizes;
  for (Value size : alloc.getDynamicSizes())
    sizes.push_back(map.lookupOrDefault(size));
  MemRefType type =
      MemRefType::Builder(alloc.getType())
          .setMemorySpace(
              cast<MemRefType>(slot.workspace.getType()).getMemorySpace());
  return memref::ViewOp::create(b, loc, type, slot.workspace, shift, sizes);
}

/// The views of shared scratch were cloned with the types of global
/// buffers: gives every view derived from a memref in another memory space
/// than its type says that space.
void propagateMemorySpaces(gpu::LaunchOp launch) {
  launch.getBody().walk([](ViewLikeOpInterface view) {
    auto source = dyn_cast<MemRefType>(view.getViewSource().getType());
    if (!source)
      return;
    for (Value result : view->getResults())
      if (auto type = dyn_cast<MemRefType>(result.getType());
          type && type.getMemorySpace() != source.getMemorySpace())
        result.setType(
            MemRefType::Builder(type).setMemorySpace(source.getMemorySpace()));
  });
}

/// A shared-memory buffer of `bytes` bytes for the current launch's
/// scratch slots.
Value GPUDistributor::sharedScratch(int64_t bytes, Location loc) {
  auto workgroup = gpu::AddressSpaceAttr::get(currentLaunch.getContext(),
                                              gpu::AddressSpace::Workgroup);
  auto type =
      MemRefType::get({bytes}, IntegerType::get(currentLaunch.getContext(), 8),
                      MemRefLayoutAttrInterface(), workgroup);
  ++counts.numSharedScratchBuffers;
  return currentLaunch.addWorkgroupAttribution(type, loc);
}

} // namespace gatec::gpu_distribute
