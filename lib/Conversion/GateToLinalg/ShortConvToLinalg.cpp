//===- ShortConvToLinalg.cpp - Lower gate.causal_conv1d -------------------===//
//
// Part of gatec. gate.causal_conv1d becomes tensor-level upstream IR, as the
// chunked scan does: the structure is loops (scf.forall), the arithmetic is
// linalg, so the CPU backend vectorizes and parallelizes it and the GPU
// backend runs each iteration on a block. With P = W - 1, z the inputs of a
// sequence after its P state entries, and channel blocks of CB channels:
//
//   y_init = tensor.empty (zeros with cu_seqlens: tokens past cu[N] are 0)
//   K = max(1, ceil(T / (N_packed * L)))  time slices per sequence
//   scf.forall (n, k, cb) in (N, K, ceil(C / CB)) shared_outs(y) {
//     [begin, begin + len) = cu ? [cu[n], cu[n+1]) clamped into [0, T] : [0, T)
//     slice [t0, t0 + l) = [k * S, min(k * S + S, len)), S = ceil(len / K)
//     channels [c0, c0 + cw) = [cb * CB, min(cb * CB + CB, C))
//     xs = x[batch, begin : begin + len, c0 : c0 + cw]               [len, cw]
//     taps = weight[c0 : c0 + cw]^T in f32                             [W, cw]
//     h = clamp(P - t0, 0, l): the slice's tokens whose window reaches into
//         the state (only a sequence's first P tokens)
//     head = z[t0 : t0 + P + h] = [state[t0 : P]^T ; xs[0 : t0 + h]]
//                                                (copied; at most 2P rows)
//     y[t0 : t0 + h]     = taps(head)  one elementwise generic over W shifted
//     y[t0 + h : t0 + l] = taps(xs)    views of its source: x in place
//   }
//   scf.forall (n, cb) in (N, ceil(C / CB)) shared_outs(final_state) {
//     h = min(P, len)
//     final_state[n, c0 : c0 + cw] =
//         [state[n, c0 : c0 + cw, h : P] (or zeros) | xs[len - h : len]^T]
//   }
//
// taps(src)[r, c] = round(act(bias[c] + sum_w weight[c, w] * src[r + w, c])),
// in f32 with the taps in order, so every token is computed the same way
// whichever slice holds it. Sizes that depend on the data are clamped so
// that every view stays inside its tensor, empty ones included.
//
// The channel blocks keep every operand's innermost dimension contiguous;
// their width is the backend's: a CPU thread wants long contiguous rows
// (each row of a block is a new page of x: 64-channel rows made the CPU
// kernel five times slower than 1024-channel ones at C = 8192), a GPU block
// wants 64 channels (128-byte rows of bf16) and many blocks. The time slices
// give a long sequence (B = 1, prefill) parallel iterations along T as well;
// K is one number for all sequences, so packed sequences of very different
// lengths are balanced only roughly.
//
//===----------------------------------------------------------------------===//

#include "gatec/Conversion/GateToLinalg/GateToLinalg.h"

#include "Conversion/GateToLinalg/SequenceBounds.h"

#include "gatec/Dialect/Gate/GateMath.h"
#include "gatec/Dialect/Gate/GateOps.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::gate;
using gatec::indexValue;

namespace {

//===----------------------------------------------------------------------===//
// Small builders
//===----------------------------------------------------------------------===//

/// The static value of `size`, or ShapedType::kDynamic.
int64_t staticSize(OpFoldResult size) {
  return getConstantIntValue(size).value_or(ShapedType::kDynamic);
}

/// An uninitialized tensor of exactly `type`, sized by `sizes` on its
/// dynamic dimensions.
Value buildEmptyOfType(OpBuilder &b, Location loc, RankedTensorType type,
                       ArrayRef<OpFoldResult> sizes) {
  SmallVector<Value> dynSizes;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      dynSizes.push_back(indexValue(b, loc, sizes[i]));
  return tensor::EmptyOp::create(b, loc, type, dynSizes);
}

/// `dest` filled with zeros of its element type.
Value buildZeros(OpBuilder &b, Location loc, Value dest) {
  Type elementType = getElementTypeOrSelf(dest.getType());
  Value zero = arith::ConstantOp::create(b, loc, elementType,
                                         b.getFloatAttr(elementType, 0.0));
  return linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{dest})
      .getResult(0);
}

/// The slice of `source` at `offsets` with `sizes`, rank-reduced to the
/// dimensions listed in `kept` (the others have size 1).
Value extractSlice(OpBuilder &b, Location loc, Value source,
                   ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
                   ArrayRef<unsigned> kept) {
  auto sourceType = cast<RankedTensorType>(source.getType());
  SmallVector<int64_t> shape;
  for (unsigned d : kept)
    shape.push_back(staticSize(sizes[d]));
  auto type = RankedTensorType::get(shape, sourceType.getElementType());
  SmallVector<OpFoldResult> strides(offsets.size(), b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, type, source, offsets, sizes,
                                        strides);
}

/// Rows [row, row + rows) and columns [col, col + cols) of a rank-2 tensor.
Value extractBlock(OpBuilder &b, Location loc, Value source, OpFoldResult row,
                   OpFoldResult col, OpFoldResult rows, OpFoldResult cols) {
  return extractSlice(b, loc, source, {row, col}, {rows, cols}, {0, 1});
}

/// Writes the rank-2 `value` into `dest` at (row, col).
Value insertBlock(OpBuilder &b, Location loc, Value value, Value dest,
                  OpFoldResult row, OpFoldResult col) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, value);
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(
      b, loc, value, dest, ArrayRef<OpFoldResult>{row, col}, sizes, strides);
}

/// dest[i, j] = source[j, i], converted to dest's element type: states and
/// weights are [C, *], x is [T, C].
Value buildTransposeInto(OpBuilder &b, Location loc, Value source, Value dest) {
  Type elementType = getElementTypeOrSelf(dest.getType());
  MLIRContext *ctx = b.getContext();
  AffineMap transposed =
      AffineMap::getPermutationMap(ArrayRef<unsigned>{1, 0}, ctx);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{dest.getType()}, ValueRange{source}, ValueRange{dest},
      ArrayRef<AffineMap>{transposed, b.getMultiDimIdentityMap(2)},
      {utils::IteratorType::parallel, utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(
            nb, nl, gate::convertFloat(nb, nl, args[0], elementType));
      });
  return generic.getResult(0);
}

/// min(exprs) over `operands` (d0, d1, ...), folded when constant.
OpFoldResult buildMin(OpBuilder &b, Location loc, ArrayRef<AffineExpr> exprs,
                      ArrayRef<OpFoldResult> operands) {
  auto map = AffineMap::get(operands.size(), 0, exprs, b.getContext());
  return affine::makeComposedFoldedAffineMin(b, loc, map, operands);
}

/// max(exprs) over `operands` (d0, d1, ...), folded when constant.
OpFoldResult buildMax(OpBuilder &b, Location loc, ArrayRef<AffineExpr> exprs,
                      ArrayRef<OpFoldResult> operands) {
  auto map = AffineMap::get(operands.size(), 0, exprs, b.getContext());
  return affine::makeComposedFoldedAffineMax(b, loc, map, operands);
}

/// `expr` over `operands` (d0, d1, ...), folded when constant.
OpFoldResult buildApply(OpBuilder &b, Location loc, AffineExpr expr,
                        ArrayRef<OpFoldResult> operands) {
  return affine::makeComposedFoldedAffineApply(b, loc, expr, operands);
}

bool isStaticZero(OpFoldResult size) { return staticSize(size) == 0; }

//===----------------------------------------------------------------------===//
// One iteration
//===----------------------------------------------------------------------===//

/// What every iteration shares.
struct ConvOperands {
  /// With `slots`, `initialState` is the pool [P, C, W - 1].
  Value x, weight, bias, initialState, cuSeqlens, slots;
  Activation act;
  /// W, the number of taps.
  int64_t width;
  /// C, the channel block CB (C itself when a static C is smaller), and the
  /// number of blocks.
  OpFoldResult numChannels, numBlocks;
  int64_t blockSize;
  /// C when static, else ShapedType::kDynamic.
  int64_t staticChannels;
};

/// The tokens and channels of one iteration, and the operands sliced to its
/// channels.
struct ConvBlock {
  Value n;
  OpFoldResult batch, begin, len;
  OpFoldResult channelOffset, channels;
  /// x[batch, begin : begin + len, channels]: [len, cw].
  Value xs;
  /// initial_state[n, channels] (with a pool: a copy of the sequence's
  /// row's channels): [cw, P], or null.
  Value state;
  /// With a pool: the sequence's row.
  gatec::PoolSlot pool;
};

/// Sequence `n`'s tokens and channel block `channelBlock`'s channels, with
/// the slices of x and of the initial state (`states`: the initial state or
/// a pool) they read.
///
/// The tokens are the whole batch entry n, or with cu_seqlens the offsets
/// [cu[n], cu[n+1]) of batch entry 0, clamped into the tokens as the chunked
/// scan clamps them (buildClampedSequenceBounds); with a pool, none for a
/// sequence whose slot is outside it.
ConvBlock buildBlock(OpBuilder &b, Location loc, const ConvOperands &conv,
                     OpFoldResult numTokens, Value n, Value channelBlock,
                     Value states) {
  ConvBlock block;
  block.n = n;
  block.batch = n;
  block.begin = b.getIndexAttr(0);
  block.len = numTokens;
  if (conv.cuSeqlens) {
    auto [begin, end] = gatec::buildClampedSequenceBounds(
        b, loc, conv.cuSeqlens, indexValue(b, loc, numTokens), n);
    block.batch = b.getIndexAttr(0);
    block.begin = begin;
    block.len = arith::SubIOp::create(b, loc, end, begin).getResult();
  }
  if (conv.slots) {
    block.pool = gatec::buildPoolSlot(b, loc, conv.slots, states, n);
    block.len = gatec::lengthInPool(b, loc, block.pool, block.len);
  }

  MLIRContext *ctx = b.getContext();
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx);
  int64_t blockSize = conv.blockSize;
  block.channelOffset = buildApply(b, loc, d0 * blockSize, {channelBlock});
  if (!ShapedType::isDynamic(conv.staticChannels) &&
      conv.staticChannels % blockSize == 0)
    block.channels = b.getIndexAttr(blockSize);
  else
    block.channels =
        buildMin(b, loc, {getAffineConstantExpr(blockSize, ctx), d1 - d0},
                 {block.channelOffset, conv.numChannels});

  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  block.xs = extractSlice(b, loc, conv.x,
                          {block.batch, block.begin, block.channelOffset},
                          {one, block.len, block.channels}, {1, 2});
  OpFoldResult history = b.getIndexAttr(conv.width - 1);
  // A skipped sequence reads its (zero) state into the head window and the
  // final state it does not write: zeros keep every read defined.
  if (conv.slots)
    block.state = gatec::readPoolRow(
        b, loc, states, block.pool, {block.channelOffset, zero},
        {block.channels, history},
        RankedTensorType::get({staticSize(block.channels), conv.width - 1},
                              getElementTypeOrSelf(states.getType())),
        /*zeroSkipped=*/true);
  else if (conv.initialState)
    block.state = extractSlice(b, loc, states, {n, block.channelOffset, zero},
                               {one, block.channels, history}, {1, 2});
  return block;
}

/// dest[r, c] = act(bias[c] + sum_w taps[w][c] * source[offsets[w] + r, c])
/// for r < rows(dest), accumulated in f32 (taps in order) and rounded once
/// to dest's element type. One elementwise generic whose inputs are the W
/// shifted [rows, cw] views of `source`, the block's f32 weight rows and its
/// bias.
Value buildTaps(OpBuilder &b, Location loc, const ConvOperands &conv,
                ArrayRef<Value> taps, Value bias, Value source,
                ArrayRef<OpFoldResult> offsets, Value dest) {
  MLIRContext *ctx = b.getContext();
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, dest);
  SmallVector<Value> inputs;
  for (OpFoldResult offset : offsets)
    inputs.push_back(extractBlock(b, loc, source, offset, b.getIndexAttr(0),
                                  sizes[0], sizes[1]));
  inputs.append(taps.begin(), taps.end());
  if (bias)
    inputs.push_back(bias);
  AffineMap rows = b.getMultiDimIdentityMap(2);
  AffineMap perChannel = AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx);
  SmallVector<AffineMap> maps(conv.width, rows);
  maps.append(inputs.size() - conv.width, perChannel);
  maps.push_back(rows);

  int64_t width = conv.width;
  bool hasBias = static_cast<bool>(bias);
  Activation act = conv.act;
  Type resultType = getElementTypeOrSelf(dest.getType());
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{dest.getType()}, inputs, ValueRange{dest}, maps,
      {utils::IteratorType::parallel, utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Type f32 = nb.getF32Type();
        Value acc = hasBias ? gate::convertFloat(nb, nl, args[2 * width], f32)
                            : arith::ConstantOp::create(
                                  nb, nl, f32, nb.getFloatAttr(f32, 0.0))
                                  .getResult();
        for (int64_t w = 0; w < width; ++w) {
          Value input = gate::convertFloat(nb, nl, args[w], f32);
          acc = arith::AddFOp::create(
              nb, nl, acc,
              arith::MulFOp::create(nb, nl, args[width + w], input));
        }
        Value activated = gate::buildActivation(nb, nl, act, acc);
        linalg::YieldOp::create(
            nb, nl, gate::convertFloat(nb, nl, activated, resultType));
      });
  return generic.getResult(0);
}

/// y for tokens [t0, t0 + l) of the block's sequence, written into `ySlice`
/// ([l, cw], those rows of y).
Value buildOutputSlice(OpBuilder &b, Location loc, const ConvOperands &conv,
                       const ConvBlock &block, OpFoldResult t0,
                       OpFoldResult sliceLen, Value ySlice) {
  MLIRContext *ctx = b.getContext();
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx);
  const int64_t width = conv.width, history = width - 1;
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);

  // The block's weights as f32 rows, one per tap ([W, cw]): every row of
  // the taps' generic then reads each tap as one contiguous vector, not a
  // stride-W gather, and widens nothing.
  Value weights = extractSlice(b, loc, conv.weight, {block.channelOffset, zero},
                               {block.channels, b.getIndexAttr(width)}, {0, 1});
  Value tapRows =
      buildEmptyOfType(b, loc,
                       RankedTensorType::get(
                           {width, staticSize(block.channels)}, b.getF32Type()),
                       {b.getIndexAttr(width), block.channels});
  tapRows = buildTransposeInto(b, loc, weights, tapRows);
  SmallVector<Value> taps;
  for (int64_t w = 0; w < width; ++w)
    taps.push_back(extractSlice(b, loc, tapRows, {b.getIndexAttr(w), zero},
                                {one, block.channels}, {1}));
  Value bias;
  if (conv.bias)
    bias = extractSlice(b, loc, conv.bias, {block.channelOffset},
                        {block.channels}, {0});
  auto yRows = [&](OpFoldResult row, OpFoldResult rows) {
    return extractBlock(b, loc, ySlice, row, zero, rows, block.channels);
  };
  if (history == 0) // Every window lies inside the sequence.
    return isStaticZero(sliceLen)
               ? ySlice
               : buildTaps(b, loc, conv, taps, bias, block.xs, {t0}, ySlice);

  // h = clamp(P - t0, 0, l) tokens read the state: z[t0 : t0 + P + h] is
  // the state's entries [t0, P) and then xs[0 : t0 + h]. Both parts are
  // empty when h = 0; every bound includes P so that the window's size has
  // a constant upper bound (2P rows: a GPU keeps it in shared memory).
  OpFoldResult headLen = buildMax(
      b, loc, {getAffineConstantExpr(0, ctx), d0},
      {buildMin(b, loc, {getAffineConstantExpr(history, ctx), history - d0, d1},
                {t0, sliceLen})});
  if (!isStaticZero(headLen)) {
    // max gives value-bounds analysis no upper bound: min(P, ...) outside.
    OpFoldResult stateRows =
        buildMin(b, loc, {getAffineConstantExpr(history, ctx), d0},
                 {buildMax(b, loc, {getAffineConstantExpr(0, ctx), d0},
                           {buildMin(b, loc, {history - d0, d1 * history},
                                     {t0, headLen})})});
    OpFoldResult inputRows = buildMin(
        b, loc, {getAffineConstantExpr(history, ctx), d0 + d1, d1 * history},
        {t0, headLen});
    OpFoldResult windowRows =
        buildApply(b, loc, d0 + d1, {stateRows, inputRows});
    Value window = buildEmptyOfType(
        b, loc,
        RankedTensorType::get(
            {staticSize(windowRows), staticSize(block.channels)},
            getElementTypeOrSelf(block.xs.getType())),
        {windowRows, block.channels});
    Value older =
        extractBlock(b, loc, window, zero, zero, stateRows, block.channels);
    older =
        block.state
            ? buildTransposeInto(
                  b, loc,
                  extractBlock(b, loc, block.state, zero,
                               buildApply(b, loc, history - d0, {stateRows}),
                               block.channels, stateRows),
                  older)
            : buildZeros(b, loc, older);
    window = insertBlock(b, loc, older, window, zero, zero);
    // A linalg.copy rather than inserting the slice of xs: the CPU backend
    // vectorizes linalg ops, while the copy an insert_slice bufferizes to
    // becomes scalar bf16 moves that x86 LLVM widens and rounds through
    // __truncsfbf2, which libgcc 12 lacks.
    Value recent = extractBlock(b, loc, window, stateRows, zero, inputRows,
                                block.channels);
    recent = linalg::CopyOp::create(b, loc,
                                    extractBlock(b, loc, block.xs, zero, zero,
                                                 inputRows, block.channels),
                                    recent)
                 .getResult(0);
    window = insertBlock(b, loc, recent, window, stateRows, zero);
    // Token j of the head reads window rows [j, j + W); the offsets stay
    // inside the (then empty) window when h = 0.
    SmallVector<OpFoldResult> offsets;
    for (int64_t w = 0; w < width; ++w)
      offsets.push_back(buildMin(
          b, loc, {getAffineConstantExpr(w, ctx), d0 * history}, {headLen}));
    Value yHead = buildTaps(b, loc, conv, taps, bias, window, offsets,
                            yRows(zero, headLen));
    ySlice = insertBlock(b, loc, yHead, ySlice, zero, zero);
  }

  // The other l - h tokens, from t0 + h on, read xs in place: token t's
  // window is xs[t - P : t + 1]. When there are none the offsets are
  // clamped into [0, len] so that the empty views stay inside xs.
  OpFoldResult bodyLen = buildApply(b, loc, d0 - d1, {sliceLen, headLen});
  if (!isStaticZero(bodyLen)) {
    OpFoldResult first =
        buildMax(b, loc, {getAffineConstantExpr(0, ctx), d0 + d1 - history},
                 {t0, headLen});
    SmallVector<OpFoldResult> offsets;
    for (int64_t w = 0; w < width; ++w)
      offsets.push_back(buildMin(b, loc, {d0 + w, d1}, {first, block.len}));
    Value yBody = buildTaps(b, loc, conv, taps, bias, block.xs, offsets,
                            yRows(headLen, bodyLen));
    ySlice = insertBlock(b, loc, yBody, ySlice, headLen, zero);
  }
  return ySlice;
}

/// The block's channels of its sequence's final state ([cw, P], written
/// into `dest`): the last P entries of z, i.e. the state's entries [h, P)
/// (or zeros) and then the sequence's last h = min(P, len) inputs.
Value buildFinalState(OpBuilder &b, Location loc, const ConvOperands &conv,
                      const ConvBlock &block, Value dest) {
  MLIRContext *ctx = b.getContext();
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx);
  const int64_t history = conv.width - 1;
  OpFoldResult zero = b.getIndexAttr(0);
  OpFoldResult newest =
      buildMin(b, loc, {getAffineConstantExpr(history, ctx), d0}, {block.len});
  OpFoldResult kept = buildApply(b, loc, history - d0, {newest});
  if (!isStaticZero(kept)) {
    Value older = extractBlock(b, loc, dest, zero, zero, block.channels, kept);
    older =
        block.state
            ? linalg::CopyOp::create(b, loc,
                                     extractBlock(b, loc, block.state, zero,
                                                  newest, block.channels, kept),
                                     older)
                  .getResult(0)
            : buildZeros(b, loc, older);
    dest = insertBlock(b, loc, older, dest, zero, zero);
  }
  if (!isStaticZero(newest)) {
    Value inputs = extractBlock(
        b, loc, block.xs, buildApply(b, loc, d0 - d1, {block.len, newest}),
        zero, newest, block.channels);
    Value newer =
        extractBlock(b, loc, dest, zero, kept, block.channels, newest);
    newer = buildTransposeInto(b, loc, inputs, newer);
    dest = insertBlock(b, loc, newer, dest, zero, kept);
  }
  return dest;
}

struct CausalConv1dLowering : OpConversionPattern<CausalConv1dOp> {
  CausalConv1dLowering(MLIRContext *ctx, int64_t channelBlock,
                       int64_t sliceTokens)
      : OpConversionPattern(ctx), channelBlock(channelBlock),
        sliceTokens(sliceTokens) {}

  LogicalResult
  matchAndRewrite(CausalConv1dOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = getContext();
    AffineExpr d0 = getAffineDimExpr(0, ctx);
    ConvOperands conv;
    conv.x = adaptor.getX();
    conv.weight = adaptor.getWeight();
    conv.bias = adaptor.getBias();
    conv.initialState = adaptor.getInitialState();
    conv.cuSeqlens = adaptor.getCuSeqlens();
    conv.slots = adaptor.getStateSlots();
    conv.act = op.getActivation();
    conv.width = op.getWidth();
    const int64_t history = conv.width - 1;
    RankedTensorType yType = op.getY().getType();
    Value finalState = op.getFinalState();
    OpFoldResult one = rewriter.getIndexAttr(1),
                 zero = rewriter.getIndexAttr(0);

    // Problem sizes; everything but W may be dynamic. Sizes the host
    // computes (loop bounds) use arith, not affine ceildiv: that lowers to
    // compares and selects, which CUDA launch code does not take.
    OpFoldResult batchSize = tensor::getMixedSize(rewriter, loc, conv.x, 0);
    OpFoldResult numTokens = tensor::getMixedSize(rewriter, loc, conv.x, 1);
    conv.numChannels = tensor::getMixedSize(rewriter, loc, conv.x, 2);
    OpFoldResult numSequences = batchSize;
    if (conv.cuSeqlens) // N = len(cu_seqlens) - 1
      numSequences =
          buildApply(rewriter, loc, d0 - 1,
                     {tensor::getMixedSize(rewriter, loc, conv.cuSeqlens, 0)});
    auto ceilDiv = [&](OpFoldResult a, OpFoldResult b) -> OpFoldResult {
      std::optional<int64_t> ca = getConstantIntValue(a),
                             cb = getConstantIntValue(b);
      if (ca && cb)
        return rewriter.getIndexAttr(llvm::divideCeil(*ca, *cb));
      return arith::CeilDivUIOp::create(rewriter, loc,
                                        indexValue(rewriter, loc, a),
                                        indexValue(rewriter, loc, b))
          .getResult();
    };
    // A static C below one block is one block of exactly C channels.
    conv.staticChannels = staticSize(conv.numChannels);
    conv.blockSize =
        ShapedType::isDynamic(conv.staticChannels)
            ? channelBlock
            : std::clamp<int64_t>(conv.staticChannels, 1, channelBlock);
    conv.numBlocks =
        ceilDiv(conv.numChannels, rewriter.getIndexAttr(conv.blockSize));

    Value yInit = buildEmptyOfType(rewriter, loc, yType,
                                   {batchSize, numTokens, conv.numChannels});
    OpFoldResult historySize = rewriter.getIndexAttr(history);
    // With a pool, the final states are written into it: rows of skipped
    // sequences and rows no sequence names keep their value.
    Value finalInit;
    if (conv.slots)
      finalInit = conv.initialState;
    else if (finalState)
      finalInit = buildEmptyOfType(
          rewriter, loc, cast<RankedTensorType>(finalState.getType()),
          {numSequences, conv.numChannels, historySize});
    if (conv.staticChannels == 0) { // The results hold no elements.
      SmallVector<Value> results = {yInit};
      if (finalState)
        results.push_back(finalInit);
      rewriter.replaceOp(op, results);
      return success();
    }
    // With cu_seqlens, tokens past the last offset belong to no sequence and
    // their output is defined as 0, as are a skipped sequence's outputs with
    // a pool; otherwise every token is written.
    if (conv.cuSeqlens || conv.slots)
      yInit = buildZeros(rewriter, loc, yInit);

    // K slices per sequence, about sliceTokens tokens each: T / L for a
    // dense batch, the average length / L for packed sequences; at least 1.
    OpFoldResult tokensPerSequence = numTokens;
    if (conv.cuSeqlens)
      tokensPerSequence = ceilDiv(
          numTokens,
          OpFoldResult(arith::MaxUIOp::create(
                           rewriter, loc,
                           indexValue(rewriter, loc, numSequences),
                           arith::ConstantIndexOp::create(rewriter, loc, 1))
                           .getResult()));
    OpFoldResult numSlices =
        ceilDiv(tokensPerSequence, rewriter.getIndexAttr(sliceTokens));
    if (std::optional<int64_t> k = getConstantIntValue(numSlices))
      numSlices = rewriter.getIndexAttr(std::max<int64_t>(*k, 1));
    else
      numSlices = arith::MaxUIOp::create(
                      rewriter, loc, indexValue(rewriter, loc, numSlices),
                      arith::ConstantIndexOp::create(rewriter, loc, 1))
                      .getResult();

    // y: every (sequence, slice, channel block) triple is independent.
    auto outputs = scf::ForallOp::create(
        rewriter, loc,
        ArrayRef<OpFoldResult>{numSequences, numSlices, conv.numBlocks},
        ValueRange{yInit}, std::nullopt);
    {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(outputs.getBody());
      SmallVector<Value> ivs = llvm::to_vector(outputs.getInductionVars());
      ConvBlock block = buildBlock(rewriter, loc, conv, numTokens, ivs[0],
                                   ivs[2], conv.initialState);
      // Slice k: tokens [k S, min(k S + S, len)) with S = ceil(len / K),
      // its start clamped to len so that an empty slice's views stay in
      // bounds.
      Value sliceSize = arith::CeilDivUIOp::create(
          rewriter, loc, indexValue(rewriter, loc, block.len),
          indexValue(rewriter, loc, numSlices));
      OpFoldResult t0 = buildMin(
          rewriter, loc, {d0, getAffineDimExpr(1, ctx)},
          {arith::MulIOp::create(rewriter, loc, ivs[1], sliceSize).getResult(),
           block.len});
      OpFoldResult sliceLen = buildMax(
          rewriter, loc, {getAffineConstantExpr(0, ctx), d0},
          {buildMin(rewriter, loc,
                    {getAffineDimExpr(0, ctx),
                     getAffineDimExpr(1, ctx) - getAffineDimExpr(2, ctx)},
                    {sliceSize, block.len, t0})});
      OpFoldResult rowOffset = buildApply(
          rewriter, loc, d0 + getAffineDimExpr(1, ctx), {block.begin, t0});
      SmallVector<OpFoldResult> yOffsets = {block.batch, rowOffset,
                                            block.channelOffset};
      SmallVector<OpFoldResult> ySizes = {one, sliceLen, block.channels};
      Value ySlice = extractSlice(rewriter, loc, outputs.getRegionOutArgs()[0],
                                  yOffsets, ySizes, {1, 2});
      ySlice =
          buildOutputSlice(rewriter, loc, conv, block, t0, sliceLen, ySlice);
      rewriter.setInsertionPointToStart(outputs.getTerminator().getBody());
      tensor::ParallelInsertSliceOp::create(
          rewriter, loc, ySlice, outputs.getRegionOutArgs()[0], yOffsets,
          ySizes, SmallVector<OpFoldResult>(3, one));
    }
    SmallVector<Value> results = {outputs.getResult(0)};

    // The final state: every (sequence, channel block) pair is independent.
    if (finalState) {
      auto states = scf::ForallOp::create(
          rewriter, loc, ArrayRef<OpFoldResult>{numSequences, conv.numBlocks},
          ValueRange{finalInit}, std::nullopt);
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(states.getBody());
      SmallVector<Value> ivs = llvm::to_vector(states.getInductionVars());
      Value shared = states.getRegionOutArgs()[0];
      // With a pool, the sequence's row is read from the shared pool and
      // written back at the same place, which bufferizes in place.
      ConvBlock block =
          buildBlock(rewriter, loc, conv, numTokens, ivs[0], ivs[1],
                     conv.slots ? shared : conv.initialState);
      if (conv.slots) {
        SmallVector<OpFoldResult> rowOffsets = {block.channelOffset, zero};
        SmallVector<OpFoldResult> rowSizes = {block.channels, historySize};
        Value dest = buildEmptyOfType(
            rewriter, loc,
            RankedTensorType::get({staticSize(block.channels), history},
                                  yType.getElementType()),
            rowSizes);
        dest = buildFinalState(rewriter, loc, conv, block, dest);
        Value rows = gatec::poolRowsOf(rewriter, loc, dest, block.pool,
                                       rowSizes, getElementTypeOrSelf(dest));
        rewriter.setInsertionPointToStart(states.getTerminator().getBody());
        gatec::writePoolRows(rewriter, loc, rows, shared, block.pool,
                             rowOffsets, rowSizes);
      } else {
        SmallVector<OpFoldResult> offsets = {block.n, block.channelOffset,
                                             zero};
        SmallVector<OpFoldResult> sizes = {one, block.channels, historySize};
        Value dest =
            extractSlice(rewriter, loc, shared, offsets, sizes, {1, 2});
        dest = buildFinalState(rewriter, loc, conv, block, dest);
        rewriter.setInsertionPointToStart(states.getTerminator().getBody());
        tensor::ParallelInsertSliceOp::create(
            rewriter, loc, dest, shared, offsets, sizes,
            SmallVector<OpFoldResult>(3, one));
      }
      results.push_back(states.getResult(0));
    }
    rewriter.replaceOp(op, results);
    return success();
  }

private:
  int64_t channelBlock, sliceTokens;
};

} // namespace

void gatec::populateShortConvToLinalgConversionPatterns(
    RewritePatternSet &patterns, int64_t channelBlock, int64_t sliceTokens) {
  patterns.add<CausalConv1dLowering>(patterns.getContext(),
                                     std::max<int64_t>(channelBlock, 1),
                                     std::max<int64_t>(sliceTokens, 1));
}
