//===- GPUWarpReduction.cpp - Reductions split among a warp ---------------===//
//
// Part of gatec. Reductions of gatec-gpu-distribute's per-warp loops whose
// combiner does not depend on the order: each lane folds a strided share and
// a butterfly of shuffles combines the lanes' partials.
//
//===----------------------------------------------------------------------===//

#include "Codegen/CUDA/GPUDistribute.h"
#include "Transforms/GenericBody.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace gatec::gpu_distribute;

namespace {

/// The combining ops of a reduction a warp may split among its lanes: a
/// generic with one (reduction) loop, rank-0 outputs, and a body yielding
/// combine(out_i, x_i) for each output, where no x_i reads an output and
/// combine is associative, commutative and idempotent with a result that
/// does not depend on the order (integer max/min/and/or, maximumf/minimumf):
/// each lane may then fold any subset starting from the initial value, and
/// the lanes' partials combine in any order to the same bits as the
/// sequential loop. A router's top-k passes (an unsigned min of 64-bit
/// distances between keys) are such reductions. Empty if `op` is not one.
SmallVector<Operation *> splittableCombiners(linalg::GenericOp op) {
  if (op.getNumLoops() != 1 || op.getNumReductionLoops() != 1 ||
      !op.hasPureBufferSemantics())
    return {};
  for (Value init : op.getDpsInits())
    if (cast<MemRefType>(init.getType()).getRank() != 0)
      return {};
  for (OpOperand *input : op.getDpsInputOperands()) {
    auto type = dyn_cast<MemRefType>(input->get().getType());
    if (!type || type.getRank() > 1 ||
        op.getMatchingIndexingMap(input).getNumResults() != type.getRank())
      return {};
  }
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  SmallVector<Operation *> combiners;
  for (auto [i, value] : llvm::enumerate(yield.getValues())) {
    Operation *combine = value.getDefiningOp();
    if (!combine || combine->getBlock() != &body ||
        !isa<arith::MaxUIOp, arith::MaxSIOp, arith::MinUIOp, arith::MinSIOp,
             arith::AndIOp, arith::OrIOp, arith::MaximumFOp, arith::MinimumFOp>(
            combine))
      return {};
    BlockArgument out = op.getMatchingBlockArgument(op.getDpsInitOperand(i));
    if (!out.hasOneUse() || out.getUses().begin()->getOwner() != combine ||
        combine->getOperand(0) == combine->getOperand(1))
      return {};
    Type type = out.getType();
    if (!(type.isInteger(32) || type.isInteger(64) || type.isF32()))
      return {};
    combiners.push_back(combine);
  }
  // No combiner result may feed another output's x.
  for (Operation *combine : combiners)
    if (!llvm::all_of(combine->getUsers(), [&](Operation *user) {
          return isa<linalg::YieldOp>(user);
        }))
      return {};
  return combiners;
}

/// gpu.shuffle xor of an i32, f32 or (as two halves) i64 value.
static Value shuffleXor(OpBuilder &b, Location loc, Value value, Value offset,
                        Value width) {
  auto shuffle = [&](Value v) -> Value {
    return gpu::ShuffleOp::create(b, loc, v, offset, width,
                                  gpu::ShuffleMode::XOR)
        .getShuffleResult();
  };
  if (!value.getType().isInteger(64))
    return shuffle(value);
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  Value c32 = arith::ConstantIntOp::create(b, loc, i64, 32);
  Value low = arith::TruncIOp::create(b, loc, i32, value);
  Value high = arith::TruncIOp::create(
      b, loc, i32, arith::ShRUIOp::create(b, loc, value, c32));
  Value lowOut = arith::ExtUIOp::create(b, loc, i64, shuffle(low));
  Value highOut = arith::ShLIOp::create(
      b, loc, arith::ExtUIOp::create(b, loc, i64, shuffle(high)), c32);
  return arith::OrIOp::create(b, loc, highOut, lowOut);
}

} // namespace

namespace gatec::gpu_distribute {

/// True for a reduction that a warp may run split among its lanes: kept
/// whole until distribute() knows whether its loop runs per warp.
bool GPUDistributor::keepsForWarp(linalg::LinalgOp op) {
  auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
  return threadsPerBlock % 32 == 0 && generic && inOneTopLevelLoop(op) &&
         !splittableCombiners(generic).empty();
}

/// Lowers the reductions kept for a warp in `loop` to loops: its
/// iterations do not run per warp.
LogicalResult GPUDistributor::lowerKeptReductions(scf::ParallelOp loop) {
  SmallVector<linalg::GenericOp> kept;
  loop.getBody()->walk([&](linalg::GenericOp op) { kept.push_back(op); });
  IRRewriter rewriter(loop.getContext());
  for (linalg::GenericOp op : kept) {
    rewriter.setInsertionPoint(op);
    if (failed(linalg::linalgOpToLoops(rewriter, op)))
      return op.emitError("gatec-gpu-distribute: cannot lower to loops");
    rewriter.eraseOp(op);
  }
  return success();
}

/// Emits a reduction kept for a warp: each lane folds elements lane,
/// lane + 32, ... into its own partials (from the initial values), a
/// butterfly of shuffles combines them, and lane 0 stores the results.
void GPUDistributor::emitWarpReduction(OpBuilder &b, linalg::GenericOp op,
                                       IRMapping &map, const Group &group) {
  Location loc = op.getLoc();
  SmallVector<Operation *> combiners = splittableCombiners(op);
  SmallVector<Value> inits;
  for (Value init : op.getDpsInits())
    inits.push_back(memref::LoadOp::create(b, loc, map.lookupOrDefault(init)));
  // The trip count, from an input that the loop indexes (with none, the
  // single iteration of a rank-0 reduction).
  Value count = constantIndex(b, loc, 1);
  for (OpOperand *input : op.getDpsInputOperands())
    if (op.getMatchingIndexingMap(input).getNumResults() == 1) {
      Value memref = map.lookupOrDefault(input->get());
      int64_t size = cast<MemRefType>(memref.getType()).getDimSize(0);
      count = ShapedType::isDynamic(size)
                  ? Value(memref::DimOp::create(b, loc, memref, 0))
                  : constantIndex(b, loc, size);
      break;
    }
  auto lanes = scf::ForOp::create(b, loc, group.lane, count,
                                  constantIndex(b, loc, group.size), inits);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(lanes.getBody());
    Value i = lanes.getInductionVar();
    IRMapping bodyMap = map;
    for (OpOperand *input : op.getDpsInputOperands()) {
      Value memref = map.lookupOrDefault(input->get());
      SmallVector<Value> at;
      if (op.getMatchingIndexingMap(input).getNumResults() == 1)
        at.push_back(i);
      bodyMap.map(op.getMatchingBlockArgument(input),
                  memref::LoadOp::create(b, loc, memref, at));
    }
    for (unsigned k = 0; k < op.getNumDpsInits(); ++k)
      bodyMap.map(op.getMatchingBlockArgument(op.getDpsInitOperand(k)),
                  lanes.getRegionIterArgs()[k]);
    // The one loop's index is the element's.
    scf::YieldOp::create(
        b, loc,
        gatec::cloneGenericBody(b, op, bodyMap, [&](unsigned) { return i; }));
  }
  // Butterfly: after log2(32) steps every lane holds the whole result.
  SmallVector<Value> partials(lanes.getResults());
  Type i32 = b.getI32Type();
  Value width = arith::ConstantIntOp::create(b, loc, i32, 32);
  for (int64_t offset = 16; offset >= 1; offset /= 2) {
    Value shift = arith::ConstantIntOp::create(b, loc, i32, offset);
    for (auto [k, combine] : llvm::enumerate(combiners)) {
      Value other = shuffleXor(b, loc, partials[k], shift, width);
      BlockArgument out = op.getMatchingBlockArgument(op.getDpsInitOperand(k));
      IRMapping pair;
      for (Value operand : combine->getOperands())
        pair.map(operand, operand == out ? partials[k] : other);
      partials[k] = b.clone(*combine, pair)->getResult(0);
    }
  }
  // Every lane read the initial values before lane 0 overwrites them.
  synchronize(b, loc, group);
  auto first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                     group.lane, constantIndex(b, loc, 0));
  auto guard = scf::IfOp::create(b, loc, first, /*else=*/false);
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPoint(guard.thenBlock()->getTerminator());
    for (auto [partial, init] : llvm::zip(partials, op.getDpsInits()))
      memref::StoreOp::create(b, loc, partial, map.lookupOrDefault(init));
  }
  synchronize(b, loc, group);
  ++counts.numWarpReductions;
}

} // namespace gatec::gpu_distribute
