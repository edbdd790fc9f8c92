//===- MLIRGenStructured.cpp - Sizes and structured ops -------------------===//
//
// Part of gatec. The linalg and tensor ops that expressions and builtins lower
// to: elementwise linalg.generic with broadcasting (and cast's scalar
// conversions), matmul with an f32 accumulator, reductions of the last
// dimension, reshapes and rms_norm, and the run-time sizes and empty tensors
// they are built from.
//
//===----------------------------------------------------------------------===//

#include "Frontend/MLIRGenImpl.h"

#include "gatec/Dialect/Gate/GateMath.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace gatec;
using namespace gatec::mlirgen;
using namespace mlir;

//===----------------------------------------------------------------------===//
// Sizes
//===----------------------------------------------------------------------===//

FailureOr<Value> Generator::symbolSize(StringRef symbol) {
  auto cached = symbolValues.find(symbol);
  if (cached != symbolValues.end())
    return cached->second;
  auto it = kernelInfo->symbols.find(symbol);
  if (it == kernelInfo->symbols.end() || it->second.paramIndex < 0)
    return internalError(kernel->loc,
                         "no parameter holds dimension '" + symbol + "'");
  const SymbolInfo &sym = it->second;
  OpBuilder::InsertionGuard guard(b);
  if (lastEntryOp)
    b.setInsertionPointAfter(lastEntryOp);
  else
    b.setInsertionPointToStart(entry);
  Value dim =
      tensor::DimOp::create(b, loc(sym.loc), entry->getArgument(sym.paramIndex),
                            static_cast<int64_t>(sym.dimIndex));
  lastEntryOp = dim.getDefiningOp();
  if (sym.dimOffset != 0) { // `cu: i32[N + 1]` alone gives N as dim - 1
    Value offset =
        arith::ConstantIndexOp::create(b, loc(sym.loc), sym.dimOffset);
    dim = arith::SubIOp::create(b, loc(sym.loc), dim, offset);
    lastEntryOp = dim.getDefiningOp();
  }
  symbolValues[symbol] = dim;
  return dim;
}

FailureOr<Value> Generator::symbolDimSize(const Dim &dim) {
  FailureOr<Value> size = symbolSize(dim.symbol);
  if (failed(size) || dim.offset == 0)
    return size;
  Location l = loc(dim.loc);
  Value offset = arith::ConstantIndexOp::create(b, l, dim.offset);
  return Value(arith::AddIOp::create(b, l, *size, offset));
}

FailureOr<OpFoldResult> Generator::dimSize(const Dim &dim, Value source,
                                           int64_t index, Location l) {
  int64_t size = resolve(dim);
  if (!ShapedType::isDynamic(size))
    return OpFoldResult(b.getIndexAttr(size));
  if (dim.isSymbol()) {
    FailureOr<Value> v = symbolDimSize(dim);
    if (failed(v))
      return failure();
    return OpFoldResult(*v);
  }
  if (!source)
    return internalError(kernel->loc, "a dynamic size has no source");
  return OpFoldResult(tensor::DimOp::create(b, l, source, index).getResult());
}

FailureOr<Value>
Generator::emptyTensor(Location l, RankedTensorType type, ArrayRef<Dim> dims,
                       ArrayRef<std::pair<Value, int64_t>> sources) {
  SmallVector<Value> dynamic;
  for (auto [i, dim] : llvm::enumerate(dims)) {
    if (!type.isDynamicDim(i))
      continue;
    if (dim.isSymbol()) {
      FailureOr<Value> v = symbolDimSize(dim);
      if (failed(v))
        return failure();
      dynamic.push_back(*v);
      continue;
    }
    if (i >= sources.size() || !sources[i].first)
      return internalError(kernel->loc, "no value gives a dynamic size");
    dynamic.push_back(
        tensor::DimOp::create(b, l, sources[i].first, sources[i].second));
  }
  return Value(tensor::EmptyOp::create(b, l, type, dynamic));
}

Value Generator::convertScalar(OpBuilder &builder, Location l, Value v,
                               Type to) {
  Type from = v.getType();
  if (from == to)
    return v;
  auto fromFloat = dyn_cast<FloatType>(from);
  auto toFloat = dyn_cast<FloatType>(to);
  if (fromFloat && toFloat)
    return gate::convertFloat(builder, l, v, to);
  if (!fromFloat && toFloat)
    return arith::SIToFPOp::create(builder, l, to, v);
  if (fromFloat && !toFloat)
    return arith::FPToSIOp::create(builder, l, to, v);
  if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
    return arith::ExtSIOp::create(builder, l, to, v);
  return arith::TruncIOp::create(builder, l, to, v);
}

//===----------------------------------------------------------------------===//
// Structured ops
//===----------------------------------------------------------------------===//

FailureOr<Value> Generator::emitElementwise(Location l,
                                            ArrayRef<Operand> operands,
                                            const CheckedType &result,
                                            DType dtype, bool floatMode,
                                            FloatBody body) {
  unsigned rank = result.getRank();
  RankedTensorType resultType = tensorType(result, dtype);
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  SmallVector<std::pair<Value, int64_t>> sources(rank, {Value(), 0});

  for (const Operand &op : operands) {
    if (op.isConstant())
      continue;
    unsigned opRank = op.type->getRank();
    unsigned offset = rank - opRank;
    // Dimensions of size 1 that stretch are collapsed away.
    SmallVector<int64_t> kept;
    SmallVector<bool> stretched(opRank, false);
    for (unsigned j = 0; j < opRank; ++j) {
      bool isOne = resolve(op.type->dims[j]) == 1;
      bool resultIsOne = resolve(result.dims[offset + j]) == 1;
      stretched[j] = isOne && !resultIsOne;
      if (!stretched[j]) {
        kept.push_back(j);
        if (!sources[offset + j].first)
          sources[offset + j] = {op.value, j};
      }
    }
    Value input = op.value;
    if (kept.size() != opRank) {
      SmallVector<ReassociationIndices> groups;
      for (unsigned j = 0; j < opRank; ++j) {
        if (!stretched[j] || groups.empty())
          groups.emplace_back();
        groups.back().push_back(j);
      }
      // A leading stretched run belongs to the first kept dimension.
      if (!kept.empty() && stretched[0] && groups.size() > kept.size()) {
        ReassociationIndices first = groups[0];
        groups.erase(groups.begin());
        groups[0].insert(groups[0].begin(), first.begin(), first.end());
      }
      if (kept.empty())
        groups.clear();
      input = tensor::CollapseShapeOp::create(b, l, input, groups);
    }
    SmallVector<AffineExpr> exprs;
    for (int64_t j : kept)
      exprs.push_back(b.getAffineDimExpr(offset + j));
    maps.push_back(AffineMap::get(rank, 0, exprs, &context));
    inputs.push_back(input);
  }
  // Sources are the uncollapsed operands, which tensor.dim reads.
  FailureOr<Value> init = emptyTensor(l, resultType, result.dims, sources);
  if (failed(init))
    return failure();
  maps.push_back(b.getMultiDimIdentityMap(rank));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);

  Type resultElement = resultType.getElementType();
  auto generic = linalg::GenericOp::create(
      b, l, TypeRange{resultType}, inputs, ValueRange{*init}, maps, iterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        SmallVector<Value> values;
        unsigned next = 0;
        for (const Operand &op : operands) {
          if (op.isConstant()) {
            values.push_back(f32Constant(nb, nl, op.constant));
            continue;
          }
          Value arg = args[next++];
          if (floatMode)
            arg = convertScalar(nb, nl, arg, nb.getF32Type());
          values.push_back(arg);
        }
        Value out = body(nb, nl, values);
        if (floatMode)
          out = convertScalar(nb, nl, out, resultElement);
        linalg::YieldOp::create(nb, nl, out);
      });
  return generic.getResult(0);
}

FailureOr<Value> Generator::emitMatMul(const BinaryExprAST &expr) {
  Location l = loc(expr.getLoc());
  const CheckedType &lhsType = sema.getInfo(expr.getLHS()).getType();
  const CheckedType &rhsType = sema.getInfo(expr.getRHS()).getType();
  const CheckedType &resultType = sema.getInfo(expr).getType();
  FailureOr<Value> lhs = genOne(expr.getLHS());
  FailureOr<Value> rhs = genOne(expr.getRHS());
  if (failed(lhs) || failed(rhs))
    return failure();

  // [..., M, K] @ [K, N]: fold the leading dimensions into M so that every
  // contraction is one linalg.matmul, which the backends schedule well.
  // (Unfolding two or more dynamic dimensions again is an expand_shape that
  // MLIR 22's expand-strided-metadata cannot take; the CPU pipeline rewrites
  // it, see CPUTileAndVectorize.)
  unsigned rank = lhsType.getRank();
  Value a = *lhs;
  CheckedType flat;
  flat.dtype = DType::f32;
  if (rank > 2) {
    SmallVector<ReassociationIndices> groups(2);
    for (unsigned i = 0; i + 1 < rank; ++i)
      groups[0].push_back(i);
    groups[1].push_back(rank - 1);
    a = tensor::CollapseShapeOp::create(b, l, a, groups);
    int64_t rows = cast<RankedTensorType>(a.getType()).getDimSize(0);
    flat.dims.push_back(ShapedType::isDynamic(rows) ? Dim::getDynamic()
                                                    : Dim::getStatic(rows));
  } else {
    flat.dims.push_back(lhsType.dims[0]);
  }
  flat.dims.push_back(rhsType.dims[1]);

  // Accumulate in f32 whatever the inputs, round once at the end.
  RankedTensorType accType = tensorType(flat, DType::f32);
  FailureOr<Value> init =
      emptyTensor(l, accType, flat.dims, {{a, 0}, {*rhs, 1}});
  if (failed(init))
    return failure();
  Value zero = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0.0));
  Value filled =
      linalg::FillOp::create(b, l, ValueRange{zero}, ValueRange{*init})
          .getResult(0);
  Value product =
      linalg::MatmulOp::create(b, l, TypeRange{accType}, ValueRange{a, *rhs},
                               ValueRange{filled})
          .getResult(0);
  if (resultType.dtype != DType::f32) {
    Operand acc{product, &flat};
    FailureOr<Value> rounded = emitElementwise(
        l, {acc}, flat, resultType.dtype, /*floatMode=*/true,
        [](OpBuilder &, Location, ArrayRef<Value> args) { return args[0]; });
    if (failed(rounded))
      return failure();
    product = *rounded;
  }
  if (rank == 2)
    return product;

  // Unfold the leading dimensions again: [P, N] -> [..., M, N].
  SmallVector<ReassociationIndices> groups(2);
  for (unsigned i = 0; i + 1 < rank; ++i)
    groups[0].push_back(i);
  groups[1].push_back(rank - 1);
  SmallVector<OpFoldResult> shape;
  for (unsigned i = 0; i < rank; ++i) {
    FailureOr<OpFoldResult> size =
        i + 1 < rank ? dimSize(resultType.dims[i], *lhs, i, l)
                     : dimSize(resultType.dims[i], *rhs, 1, l);
    if (failed(size))
      return failure();
    shape.push_back(*size);
  }
  return Value(tensor::ExpandShapeOp::create(b, l, tensorType(resultType),
                                             product, groups, shape));
}

FailureOr<Value> Generator::emitReduction(Location l, Value x,
                                          const CheckedType &type,
                                          Reduction kind) {
  unsigned rank = type.getRank();
  CheckedType acc;
  acc.dtype = DType::f32;
  acc.dims.assign(type.dims.begin(), type.dims.end() - 1);
  RankedTensorType accType = tensorType(acc);
  SmallVector<std::pair<Value, int64_t>> sources;
  for (unsigned i = 0; i + 1 < rank; ++i)
    sources.push_back({x, i});
  FailureOr<Value> init = emptyTensor(l, accType, acc.dims, sources);
  if (failed(init))
    return failure();
  double start =
      kind == Reduction::Max ? -std::numeric_limits<double>::infinity() : 0.0;
  Value startValue = arith::ConstantOp::create(b, l, b.getF32FloatAttr(start));
  Value filled =
      linalg::FillOp::create(b, l, ValueRange{startValue}, ValueRange{*init})
          .getResult(0);

  SmallVector<AffineExpr> outExprs;
  for (unsigned i = 0; i + 1 < rank; ++i)
    outExprs.push_back(b.getAffineDimExpr(i));
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank),
                                 AffineMap::get(rank, 0, outExprs, &context)};
  SmallVector<utils::IteratorType> iterators(rank - 1,
                                             utils::IteratorType::parallel);
  iterators.push_back(utils::IteratorType::reduction);
  auto generic = linalg::GenericOp::create(
      b, l, TypeRange{accType}, ValueRange{x}, ValueRange{filled}, maps,
      iterators, [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value v = convertScalar(nb, nl, args[0], nb.getF32Type());
        Value out;
        switch (kind) {
        case Reduction::Sum:
          out = arith::AddFOp::create(nb, nl, v, args[1]);
          break;
        case Reduction::SumOfSquares:
          out = arith::AddFOp::create(
              nb, nl, arith::MulFOp::create(nb, nl, v, v), args[1]);
          break;
        case Reduction::Max:
          out = arith::MaximumFOp::create(nb, nl, v, args[1]);
          break;
        }
        linalg::YieldOp::create(nb, nl, out);
      });
  return generic.getResult(0);
}

FailureOr<Value> Generator::expandTrailingOne(Location l, Value v,
                                              const CheckedType &result) {
  unsigned rank = result.getRank();
  SmallVector<ReassociationIndices> groups;
  for (unsigned i = 0; i + 1 < rank; ++i)
    groups.push_back({static_cast<int64_t>(i)});
  if (!groups.empty())
    groups.back().push_back(rank - 1);
  SmallVector<OpFoldResult> shape;
  for (unsigned i = 0; i < rank; ++i) {
    FailureOr<OpFoldResult> size =
        i + 1 < rank ? dimSize(result.dims[i], v, i, l)
                     : FailureOr<OpFoldResult>(OpFoldResult(b.getIndexAttr(1)));
    if (failed(size))
      return failure();
    shape.push_back(*size);
  }
  return Value(tensor::ExpandShapeOp::create(b, l, tensorType(result), v,
                                             groups, shape));
}

FailureOr<Value> Generator::lastDimAsF32(Location l, Value x,
                                         const CheckedType &type) {
  int64_t n = resolve(type.dims.back());
  if (!ShapedType::isDynamic(n))
    return f32Constant(b, l, static_cast<double>(n));
  FailureOr<OpFoldResult> size =
      dimSize(type.dims.back(), x, type.getRank() - 1, l);
  if (failed(size))
    return failure();
  Value index = cast<Value>(*size);
  Value asInt = arith::IndexCastOp::create(b, l, b.getI64Type(), index);
  return Value(arith::SIToFPOp::create(b, l, b.getF32Type(), asInt));
}

FailureOr<Value> Generator::emitReshape(Location l, Value x,
                                        const CheckedType &from,
                                        const CheckedType &to,
                                        const ReshapePlan &plan) {
  RankedTensorType toType = tensorType(to);
  auto isOne = [&](const Dim &d) { return resolve(d) == 1; };
  auto toReassociation = [](const auto &groups) {
    SmallVector<ReassociationIndices> r;
    for (const auto &g : groups)
      r.emplace_back(g.begin(), g.end());
    return r;
  };
  SmallVector<OpFoldResult> shape;
  for (unsigned i = 0; i < to.getRank(); ++i) {
    FailureOr<OpFoldResult> size = dimSize(to.dims[i], Value(), i, l);
    if (failed(size))
      return failure();
    shape.push_back(*size);
  }

  // Only sizes of 1 on both sides: through a rank-0 tensor.
  if (llvm::all_of(from.dims, isOne) && llvm::all_of(to.dims, isOne)) {
    Value mid = x;
    if (from.getRank() != 0)
      mid = tensor::CollapseShapeOp::create(b, l, x,
                                            ArrayRef<ReassociationIndices>{});
    if (to.getRank() == 0)
      return mid;
    return Value(tensor::ExpandShapeOp::create(
        b, l, toType, mid, ArrayRef<ReassociationIndices>{}, shape));
  }

  // Collapse each source group to one dimension, then expand each to its
  // destination group; skip a step whose groups are all single dimensions.
  auto single = [](const auto &g) { return g.size() == 1; };
  Value mid = x;
  if (!llvm::all_of(plan.srcGroups, single))
    mid = tensor::CollapseShapeOp::create(b, l, x,
                                          toReassociation(plan.srcGroups));
  if (llvm::all_of(plan.dstGroups, single)) {
    if (mid.getType() != toType)
      mid = tensor::CastOp::create(b, l, toType, mid);
    return mid;
  }
  return Value(tensor::ExpandShapeOp::create(
      b, l, toType, mid, toReassociation(plan.dstGroups), shape));
}

FailureOr<Value> Generator::emitRmsNorm(const CallExprAST &call,
                                        const CallInfo &info) {
  Location l = loc(call.getLoc());
  const ExprAST &xExpr = *call.getArgs()[0];
  const CheckedType &type = sema.getInfo(xExpr).getType();
  FailureOr<Value> x = genOne(xExpr);
  if (failed(x))
    return failure();
  Value weight;
  if (info.normWeight) {
    FailureOr<Value> w = genOne(*info.normWeight);
    if (failed(w))
      return failure();
    weight = *w;
  }
  FailureOr<Value> sumSq = emitReduction(l, *x, type, Reduction::SumOfSquares);
  FailureOr<Value> n = lastDimAsF32(l, *x, type);
  if (failed(sumSq) || failed(n))
    return failure();

  unsigned rank = type.getRank();
  RankedTensorType resultType = tensorType(type);
  SmallVector<std::pair<Value, int64_t>> sources;
  for (unsigned i = 0; i < rank; ++i)
    sources.push_back({*x, i});
  FailureOr<Value> init = emptyTensor(l, resultType, type.dims, sources);
  if (failed(init))
    return failure();
  SmallVector<AffineExpr> rowExprs;
  for (unsigned i = 0; i + 1 < rank; ++i)
    rowExprs.push_back(b.getAffineDimExpr(i));
  SmallVector<Value> inputs = {*x, *sumSq};
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank),
                                 AffineMap::get(rank, 0, rowExprs, &context)};
  if (weight) {
    inputs.push_back(weight);
    maps.push_back(
        AffineMap::get(rank, 0, {b.getAffineDimExpr(rank - 1)}, &context));
  }
  maps.push_back(b.getMultiDimIdentityMap(rank));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  Type element = resultType.getElementType();
  double eps = info.epsilon;
  Value count = *n;
  auto generic = linalg::GenericOp::create(
      b, l, TypeRange{resultType}, inputs, ValueRange{*init}, maps, iterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value xf = convertScalar(nb, nl, args[0], nb.getF32Type());
        Value meanSq = arith::DivFOp::create(nb, nl, args[1], count);
        Value shifted =
            arith::AddFOp::create(nb, nl, meanSq, f32Constant(nb, nl, eps));
        Value inv = math::RsqrtOp::create(nb, nl, shifted);
        Value y = arith::MulFOp::create(nb, nl, xf, inv);
        if (weight)
          y = arith::MulFOp::create(
              nb, nl, y, convertScalar(nb, nl, args[2], nb.getF32Type()));
        linalg::YieldOp::create(nb, nl, convertScalar(nb, nl, y, element));
      });
  return generic.getResult(0);
}
