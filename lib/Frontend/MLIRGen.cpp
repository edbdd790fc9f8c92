//===- MLIRGen.cpp - .gate AST to gate-level MLIR -------------------------===//
//
// Part of gatec. Every elementwise operation becomes its own linalg.generic
// computing in f32 (fusion is the backends' job); matmuls become
// linalg.matmul with an f32 accumulator; layer calls become gate ops.
// Sema has checked everything: a failure here is a gatec bug and is
// reported as an internal error.
//
//===----------------------------------------------------------------------===//

#include "gatec/Frontend/MLIRGen.h"

#include "gatec/Dialect/Gate/GateDialect.h"
#include "gatec/Dialect/Gate/GateMath.h"
#include "gatec/Dialect/Gate/GateOps.h"
#include "gatec/Frontend/AST.h"
#include "gatec/Frontend/Diagnostics.h"
#include "gatec/Frontend/Sema.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringMap.h"

using namespace gatec;
using namespace mlir;
using llvm::SMLoc;
using llvm::StringRef;

void gatec::registerFrontendDialects(DialectRegistry &registry) {
  registry.insert<gate::GateDialect, func::FuncDialect, arith::ArithDialect,
                  math::MathDialect, linalg::LinalgDialect,
                  tensor::TensorDialect>();
}

namespace {

/// An operand of an elementwise operation: a tensor, or a number that is
/// materialized inside the loop body.
struct Operand {
  Value value;
  const CheckedType *type = nullptr;
  double constant = 0.0;
  bool isConstant() const { return !value; }
};

/// Builds the loop body of a float elementwise op from f32 arguments.
using FloatBody =
    llvm::function_ref<Value(OpBuilder &, Location, ArrayRef<Value>)>;

class Generator {
public:
  Generator(MLIRContext &context, const SemaResult &sema,
            gatec::DiagnosticEngine &diag)
      : context(context), b(&context), sema(sema), diag(diag) {}

  OwningOpRef<ModuleOp> run(const ModuleAST &module, StringRef onlyKernel);

private:
  //===--------------------------------------------------------------------===//
  // Helpers
  //===--------------------------------------------------------------------===//

  LogicalResult internalError(SMLoc where, const llvm::Twine &what) {
    diag.error(where, "internal error: " + what +
                          " (this is a gatec bug; please report it)");
    return failure();
  }
  Location loc(SMLoc l) {
    auto [line, col] = diag.getLineAndColumn(l);
    return FileLineColLoc::get(&context, diag.getBufferName(l), line, col);
  }
  Type elementType(DType dtype) {
    switch (dtype) {
    case DType::f32:
      return b.getF32Type();
    case DType::f16:
      return b.getF16Type();
    case DType::bf16:
      return b.getBF16Type();
    case DType::i32:
      return b.getI32Type();
    case DType::i64:
      return b.getI64Type();
    }
    return b.getF32Type();
  }
  int64_t resolve(const Dim &dim) const { return sema.resolve(dim, *kernelInfo); }
  RankedTensorType tensorType(const CheckedType &type) {
    return tensorType(type, type.dtype);
  }
  RankedTensorType tensorType(const CheckedType &type, DType dtype) {
    SmallVector<int64_t> shape;
    for (const Dim &d : type.dims)
      shape.push_back(resolve(d));
    return RankedTensorType::get(shape, elementType(dtype));
  }

  /// The run-time size of a kernel symbol: a tensor.dim of the first
  /// parameter holding it, emitted once at the top of the function.
  FailureOr<Value> symbolSize(StringRef symbol);
  /// The size of a symbolic dimension: its symbol's size plus its constant.
  FailureOr<Value> symbolDimSize(const Dim &dim);
  /// Marks the kernel parameter `offsets` (a scan's cu_seqlens; Sema checked
  /// that it is one) with `gate.offsets`, so that the entry points check
  /// its values: 0 first, never decreasing, at most `upperBound` (T).
  void markOffsets(Value offsets, const Dim &upperBound);
  /// A state pool is updated in place: its new value `updatedPool` is a
  /// kernel result tied to the pool parameter, and the slots parameter is
  /// marked `gate.slots` so that the entry points check them against it.
  void tieStatePool(const CallInfo &info, Value updatedPool, Value slots);
  /// The states of a scan or conv call: the operand that starts them (the
  /// pool, or the initial state, or null) and the type of the final-state
  /// result (the pool's, the second result's `finalState`, or null).
  struct States {
    Value initial;
    Type finalType;
  };
  FailureOr<States> genStates(const CallInfo &info,
                              const CheckedType *finalState);
  /// The size of dimension `dim` (index `index` of `source`) as an
  /// OpFoldResult: a constant when static.
  FailureOr<OpFoldResult> dimSize(const Dim &dim, Value source, int64_t index,
                                  Location l);
  /// A tensor.empty of `type`; dynamic sizes come from the symbols, else
  /// from `sources` (values whose matching dimension has the size).
  FailureOr<Value> emptyTensor(Location l, RankedTensorType type,
                               ArrayRef<Dim> dims,
                               ArrayRef<std::pair<Value, int64_t>> sources);

  Value f32Constant(OpBuilder &builder, Location l, double value) {
    return arith::ConstantOp::create(builder, l,
                                     builder.getF32FloatAttr(value));
  }
  /// Converts a scalar between element types (cast's semantics).
  Value convertScalar(OpBuilder &builder, Location l, Value v, Type to);

  //===--------------------------------------------------------------------===//
  // Structured ops
  //===--------------------------------------------------------------------===//

  /// A linalg.generic over the result shape, numpy-broadcasting operands
  /// (dimensions of size 1 that stretch are collapsed away first so that
  /// every indexing map is a projected permutation). In float mode the body
  /// gets f32 arguments and its result is rounded to the result dtype; in
  /// raw mode it gets the elements as they are.
  FailureOr<Value> emitElementwise(Location l, ArrayRef<Operand> operands,
                                   const CheckedType &result, DType dtype,
                                   bool floatMode, FloatBody body);
  FailureOr<Value> emitMatMul(const BinaryExprAST &expr);
  /// Reduces the last dimension in f32: sum, sum of squares or max.
  enum class Reduction { Sum, SumOfSquares, Max };
  FailureOr<Value> emitReduction(Location l, Value x, const CheckedType &type,
                                 Reduction kind);
  /// Adds a trailing dimension of size 1.
  FailureOr<Value> expandTrailingOne(Location l, Value v,
                                     const CheckedType &result);
  FailureOr<Value> emitReshape(Location l, Value x, const CheckedType &from,
                               const CheckedType &to, const ReshapePlan &plan);
  FailureOr<Value> emitRmsNorm(const CallExprAST &call, const CallInfo &info);
  /// The length of the last dimension of `x` as an f32 scalar.
  FailureOr<Value> lastDimAsF32(Location l, Value x, const CheckedType &type);

  //===--------------------------------------------------------------------===//
  // Expressions
  //===--------------------------------------------------------------------===//

  FailureOr<SmallVector<Value>> gen(const ExprAST &expr);
  FailureOr<Value> genOne(const ExprAST &expr);
  FailureOr<Operand> genOperand(const ExprAST &expr);
  FailureOr<SmallVector<Value>> genCall(const CallExprAST &call);
  LogicalResult genKernel(const KernelAST &kernel, ModuleOp module);

  MLIRContext &context;
  OpBuilder b;
  const SemaResult &sema;
  gatec::DiagnosticEngine &diag;

  // Per kernel.
  const KernelAST *kernel = nullptr;
  const KernelInfo *kernelInfo = nullptr;
  Block *entry = nullptr;
  Operation *lastEntryOp = nullptr;
  llvm::StringMap<Value> symbolValues;
  llvm::StringMap<SmallVector<Value, 1>> vars;
  /// The updated value of each parameter the kernel updates in place (a
  /// state pool), by parameter index; returned as results tied to them.
  DenseMap<unsigned, Value> updatedParams;
};

} // namespace

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

FailureOr<Value> Generator::symbolSize(StringRef symbol) {
  auto cached = symbolValues.find(symbol);
  if (cached != symbolValues.end())
    return cached->second;
  auto it = kernelInfo->symbols.find(symbol);
  if (it == kernelInfo->symbols.end() || it->second.paramIndex < 0)
    return internalError(kernel->loc, "no parameter holds dimension '" +
                                          symbol + "'");
  const SymbolInfo &sym = it->second;
  OpBuilder::InsertionGuard guard(b);
  if (lastEntryOp)
    b.setInsertionPointAfter(lastEntryOp);
  else
    b.setInsertionPointToStart(entry);
  Value dim = tensor::DimOp::create(b, loc(sym.loc),
                                    entry->getArgument(sym.paramIndex),
                                    static_cast<int64_t>(sym.dimIndex));
  lastEntryOp = dim.getDefiningOp();
  if (sym.dimOffset != 0) { // `cu: i32[N + 1]` alone gives N as dim - 1
    Value offset = arith::ConstantIndexOp::create(b, loc(sym.loc), sym.dimOffset);
    dim = arith::SubIOp::create(b, loc(sym.loc), dim, offset);
    lastEntryOp = dim.getDefiningOp();
  }
  symbolValues[symbol] = dim;
  return dim;
}

void Generator::markOffsets(Value offsets, const Dim &upperBound) {
  auto arg = dyn_cast_or_null<BlockArgument>(offsets);
  if (!arg)
    return;
  auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
  if (!func)
    return;
  SmallVector<NamedAttribute, 1> entries;
  int64_t size = resolve(upperBound);
  if (!ShapedType::isDynamic(size))
    entries.push_back(b.getNamedAttr("upper_bound", b.getI64IntegerAttr(size)));
  else if (upperBound.isSymbol())
    entries.push_back(b.getNamedAttr(
        "upper_bound", b.getStringAttr(formatSymbol(upperBound))));
  func.setArgAttr(arg.getArgNumber(), "gate.offsets",
                  b.getDictionaryAttr(entries));
}

void Generator::tieStatePool(const CallInfo &info, Value updatedPool,
                             Value slots) {
  auto poolIndex = static_cast<unsigned>(info.poolParam);
  updatedParams[poolIndex] = updatedPool;
  auto slotsArg = cast<BlockArgument>(slots);
  cast<func::FuncOp>(slotsArg.getOwner()->getParentOp())
      .setArgAttr(slotsArg.getArgNumber(), "gate.slots",
                  b.getDictionaryAttr(
                      b.getNamedAttr("pool", b.getI64IntegerAttr(poolIndex))));
}

FailureOr<Generator::States>
Generator::genStates(const CallInfo &info, const CheckedType *finalState) {
  States states;
  if (const ExprAST *start =
          info.statePool ? info.statePool : info.initialState) {
    FailureOr<Value> value = genOne(*start);
    if (failed(value))
      return failure();
    states.initial = *value;
  }
  if (info.statePool)
    states.finalType = states.initial.getType();
  else if (finalState)
    states.finalType = tensorType(*finalState);
  return states;
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
  Value product = linalg::MatmulOp::create(b, l, TypeRange{accType},
                                           ValueRange{a, *rhs},
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
  double start = kind == Reduction::Max
                     ? -std::numeric_limits<double>::infinity()
                     : 0.0;
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
      mid = tensor::CollapseShapeOp::create(
          b, l, x, ArrayRef<ReassociationIndices>{});
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
  FailureOr<Value> sumSq =
      emitReduction(l, *x, type, Reduction::SumOfSquares);
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

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

/// The body of a one-operand float builtin, in f32. The gate functions are
/// GateMath's, the same arithmetic the gate ops lower to.
static Value unaryBody(Builtin builtin, OpBuilder &nb, Location l, Value x) {
  switch (builtin) {
  case Builtin::Exp:
    return math::ExpOp::create(nb, l, x);
  case Builtin::Log:
    return math::LogOp::create(nb, l, x);
  case Builtin::Sigmoid:
    return gate::buildActivation(nb, l, gate::Activation::sigmoid, x);
  case Builtin::Silu:
    return gate::buildActivation(nb, l, gate::Activation::silu, x);
  case Builtin::Relu:
    return gate::buildActivation(nb, l, gate::Activation::relu, x);
  case Builtin::Gelu:
    return gate::buildActivation(nb, l, gate::Activation::gelu, x);
  case Builtin::GeluTanh:
    return gate::buildActivation(nb, l, gate::Activation::gelu_tanh, x);
  case Builtin::Tanh:
    return math::TanhOp::create(nb, l, x);
  case Builtin::Softplus:
    return gate::buildSoftplus(nb, l, x);
  case Builtin::LogSigmoid:
    return gate::buildLogSigmoid(nb, l, x);
  case Builtin::Sqrt:
    return math::SqrtOp::create(nb, l, x);
  case Builtin::Rsqrt:
    return math::RsqrtOp::create(nb, l, x);
  case Builtin::Abs:
    return math::AbsFOp::create(nb, l, x);
  case Builtin::Neg:
  default:
    return arith::NegFOp::create(nb, l, x);
  }
}

FailureOr<Value> Generator::genOne(const ExprAST &expr) {
  FailureOr<SmallVector<Value>> values = gen(expr);
  if (failed(values))
    return failure();
  if (values->size() != 1)
    return internalError(expr.getLoc(), "expected one value");
  return values->front();
}

FailureOr<Operand> Generator::genOperand(const ExprAST &expr) {
  const ExprInfo &info = sema.getInfo(expr);
  Operand op;
  if (info.isConstant()) {
    op.constant = info.constant;
    return op;
  }
  if (!info.isTensor())
    return internalError(expr.getLoc(), "an operand has no type");
  FailureOr<Value> v = genOne(expr);
  if (failed(v))
    return failure();
  op.value = *v;
  op.type = &info.getType();
  return op;
}

FailureOr<SmallVector<Value>> Generator::gen(const ExprAST &expr) {
  const ExprInfo &info = sema.getInfo(expr);
  if (info.isInvalid() || info.isConstant())
    return internalError(expr.getLoc(), "no tensor to generate here");
  auto one = [](FailureOr<Value> v) -> FailureOr<SmallVector<Value>> {
    if (failed(v))
      return failure();
    return SmallVector<Value>{*v};
  };
  Location l = loc(expr.getLoc());

  switch (expr.getKind()) {
  case ExprAST::Kind::Name: {
    auto it = vars.find(llvm::cast<NameExprAST>(expr).getName());
    if (it == vars.end())
      return internalError(expr.getLoc(), "an unbound name");
    return SmallVector<Value>(it->second.begin(), it->second.end());
  }
  case ExprAST::Kind::Unary: {
    FailureOr<Operand> x =
        genOperand(llvm::cast<UnaryExprAST>(expr).getOperand());
    if (failed(x))
      return failure();
    return one(emitElementwise(
        l, {*x}, info.getType(), info.getType().dtype, true,
        [](OpBuilder &nb, Location nl, ArrayRef<Value> a) -> Value {
          return arith::NegFOp::create(nb, nl, a[0]);
        }));
  }
  case ExprAST::Kind::Binary: {
    const auto &bin = llvm::cast<BinaryExprAST>(expr);
    if (bin.getOp() == BinaryOp::MatMul)
      return one(emitMatMul(bin));
    FailureOr<Operand> lhs = genOperand(bin.getLHS());
    FailureOr<Operand> rhs = genOperand(bin.getRHS());
    if (failed(lhs) || failed(rhs))
      return failure();
    BinaryOp op = bin.getOp();
    return one(emitElementwise(
        l, {*lhs, *rhs}, info.getType(), info.getType().dtype, true,
        [op](OpBuilder &nb, Location nl, ArrayRef<Value> a) -> Value {
          switch (op) {
          case BinaryOp::Add:
            return arith::AddFOp::create(nb, nl, a[0], a[1]);
          case BinaryOp::Sub:
            return arith::SubFOp::create(nb, nl, a[0], a[1]);
          case BinaryOp::Mul:
            return arith::MulFOp::create(nb, nl, a[0], a[1]);
          default:
            return arith::DivFOp::create(nb, nl, a[0], a[1]);
          }
        }));
  }
  case ExprAST::Kind::Call:
    return genCall(llvm::cast<CallExprAST>(expr));
  default:
    return internalError(expr.getLoc(), "an expression with no code");
  }
}

FailureOr<SmallVector<Value>> Generator::genCall(const CallExprAST &call) {
  const CallInfo &info = sema.getCall(call);
  const ExprInfo &value = sema.getInfo(call);
  const auto &args = call.getArgs();
  Location l = loc(call.getLoc());
  auto one = [](FailureOr<Value> v) -> FailureOr<SmallVector<Value>> {
    if (failed(v))
      return failure();
    return SmallVector<Value>{*v};
  };
  auto optional = [&](const ExprAST *e) -> FailureOr<Value> {
    if (!e)
      return Value();
    return genOne(*e);
  };
  Builtin builtin = info.builtin;

  if (builtin >= Builtin::Exp && builtin <= Builtin::Neg) {
    FailureOr<Operand> x = genOperand(*args[0]);
    if (failed(x))
      return failure();
    return one(emitElementwise(
        l, {*x}, value.getType(), value.getType().dtype, true,
        [builtin](OpBuilder &nb, Location nl, ArrayRef<Value> a) {
          return unaryBody(builtin, nb, nl, a[0]);
        }));
  }

  switch (builtin) {
  case Builtin::Pow:
  case Builtin::Maximum:
  case Builtin::Minimum: {
    FailureOr<Operand> x = genOperand(*args[0]);
    FailureOr<Operand> y = genOperand(*args[1]);
    if (failed(x) || failed(y))
      return failure();
    return one(emitElementwise(
        l, {*x, *y}, value.getType(), value.getType().dtype, true,
        [builtin](OpBuilder &nb, Location nl, ArrayRef<Value> a) -> Value {
          if (builtin == Builtin::Pow)
            return math::PowFOp::create(nb, nl, a[0], a[1]);
          if (builtin == Builtin::Maximum)
            return arith::MaximumFOp::create(nb, nl, a[0], a[1]);
          return arith::MinimumFOp::create(nb, nl, a[0], a[1]);
        }));
  }

  case Builtin::Cast: {
    FailureOr<Operand> x = genOperand(*args[0]);
    if (failed(x))
      return failure();
    if (x->type->dtype == info.castTo)
      return SmallVector<Value>{x->value};
    Type to = elementType(info.castTo);
    return one(emitElementwise(
        l, {*x}, value.getType(), info.castTo, /*floatMode=*/false,
        [&](OpBuilder &nb, Location nl, ArrayRef<Value> a) {
          return convertScalar(nb, nl, a[0], to);
        }));
  }

  case Builtin::Broadcast: {
    FailureOr<Operand> x = genOperand(*args[0]);
    if (failed(x))
      return failure();
    return one(emitElementwise(
        l, {*x}, value.getType(), value.getType().dtype, /*floatMode=*/false,
        [](OpBuilder &, Location, ArrayRef<Value> a) { return a[0]; }));
  }

  case Builtin::Reshape: {
    FailureOr<Value> x = genOne(*args[0]);
    if (failed(x))
      return failure();
    return one(emitReshape(l, *x, sema.getInfo(*args[0]).getType(),
                           value.getType(), info.reshape));
  }

  case Builtin::Arange: {
    const CheckedType &type = value.getType();
    RankedTensorType tensorTy = tensorType(type);
    Value init = tensor::EmptyOp::create(b, l, tensorTy, ValueRange{});
    auto generic = linalg::GenericOp::create(
        b, l, TypeRange{tensorTy}, ValueRange{}, ValueRange{init},
        ArrayRef<AffineMap>{b.getMultiDimIdentityMap(1)},
        ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
        [&](OpBuilder &nb, Location nl, ValueRange) {
          Value i = linalg::IndexOp::create(nb, nl, nb.getI64IntegerAttr(0));
          Value i64 = arith::IndexCastOp::create(nb, nl, nb.getI64Type(), i);
          Value f = arith::SIToFPOp::create(nb, nl, nb.getF32Type(), i64);
          linalg::YieldOp::create(nb, nl, f);
        });
    return SmallVector<Value>{generic.getResult(0)};
  }

  case Builtin::Sum:
  case Builtin::Mean:
  case Builtin::Max: {
    const CheckedType &xType = sema.getInfo(*args[0]).getType();
    FailureOr<Value> x = genOne(*args[0]);
    if (failed(x))
      return failure();
    FailureOr<Value> reduced =
        emitReduction(l, *x, xType,
                      builtin == Builtin::Max ? Reduction::Max : Reduction::Sum);
    if (failed(reduced))
      return failure();
    CheckedType rows;
    rows.dtype = DType::f32;
    rows.dims.assign(xType.dims.begin(), xType.dims.end() - 1);
    Value r = *reduced;
    if (builtin == Builtin::Mean || xType.dtype != DType::f32) {
      Value count;
      if (builtin == Builtin::Mean) {
        FailureOr<Value> n = lastDimAsF32(l, *x, xType);
        if (failed(n))
          return failure();
        count = *n;
      }
      Operand acc{r, &rows};
      FailureOr<Value> finished = emitElementwise(
          l, {acc}, rows, xType.dtype, true,
          [&](OpBuilder &nb, Location nl, ArrayRef<Value> a) -> Value {
            if (!count)
              return a[0];
            return arith::DivFOp::create(nb, nl, a[0], count);
          });
      if (failed(finished))
        return failure();
      r = *finished;
    }
    return one(expandTrailingOne(l, r, value.getType()));
  }

  case Builtin::RmsNorm:
    return one(emitRmsNorm(call, info));

  case Builtin::Gate: {
    FailureOr<Value> x = genOne(*args[0]);
    if (failed(x))
      return failure();
    auto act = gate::ActivationAttr::get(&context, info.activation);
    FloatAttr clamp =
        info.clampLimit ? b.getF32FloatAttr(*info.clampLimit) : FloatAttr();
    RankedTensorType yType = tensorType(value.getType());
    if (info.fusedGate)
      return SmallVector<Value>{gate::FusedGateOp::create(
          b, l, yType, *x, act,
          gate::GateHalfAttr::get(&context, info.gateHalf), clamp)};
    FailureOr<Value> g = genOne(*args[1]);
    if (failed(g))
      return failure();
    return SmallVector<Value>{gate::GateOp::create(
        b, l, yType, *x, *g, act,
        gate::GranularityAttr::get(&context, info.granularity), clamp)};
  }

  case Builtin::Scan: {
    FailureOr<Value> q = genOne(*args[0]);
    FailureOr<Value> k = genOne(*args[1]);
    FailureOr<Value> v = genOne(*args[2]);
    FailureOr<Value> decay = optional(info.decay);
    FailureOr<Value> beta = optional(info.beta);
    FailureOr<States> states =
        genStates(info, info.withFinalState ? &value.types[1] : nullptr);
    FailureOr<Value> cu = optional(info.cuSeqlens);
    FailureOr<Value> slots = optional(info.stateSlots);
    if (failed(q) || failed(k) || failed(v) || failed(decay) || failed(beta) ||
        failed(states) || failed(cu) || failed(slots))
      return failure();
    Type historyType =
        info.withStateHistory ? Type(tensorType(value.types.back())) : Type();
    auto scan = gate::ChunkedScanOp::create(
        b, l, tensorType(value.types[0]), states->finalType, historyType, *q,
        *k, *v, *decay, *beta, states->initial, *cu, *slots, info.decayKind,
        static_cast<uint64_t>(info.chunkSize),
        info.scale ? b.getF32FloatAttr(*info.scale) : FloatAttr());
    markOffsets(*cu, value.types[0].dims[1]);
    if (info.statePool)
      tieStatePool(info, scan.getFinalState(), *slots);
    SmallVector<Value> results = {scan.getO()};
    if (info.withStateHistory)
      results.push_back(scan.getChunkStates());
    else if (info.withFinalState)
      results.push_back(scan.getFinalState());
    return results;
  }

  case Builtin::Route: {
    FailureOr<Value> logits = genOne(*args[0]);
    FailureOr<Value> bias = optional(info.selectionBias);
    if (failed(logits) || failed(bias))
      return failure();
    auto router = gate::RouterOp::create(
        b, l, tensorType(value.types[0]), tensorType(value.types[1]), *logits,
        *bias, info.scoring, static_cast<uint64_t>(info.topK),
        info.renormalize, llvm::APFloat(info.routedScalingFactor),
        static_cast<uint64_t>(info.numGroups),
        static_cast<uint64_t>(info.topkGroups), info.groupScore,
        info.capacityFactor ? b.getF32FloatAttr(*info.capacityFactor)
                            : FloatAttr(),
        info.dropPolicy);
    return SmallVector<Value>{router.getWeights(), router.getExperts()};
  }

  case Builtin::Dispatch: {
    FailureOr<Value> experts = genOne(*args[0]);
    if (failed(experts))
      return failure();
    auto op = gate::DispatchOp::create(
        b, l, tensorType(value.types[0]), tensorType(value.types[1]),
        tensorType(value.types[2]), tensorType(value.types[3]),
        tensorType(value.types[4]), *experts,
        static_cast<uint64_t>(info.numExperts),
        static_cast<uint64_t>(info.blockSize));
    return SmallVector<Value>(op->getResults().begin(), op->getResults().end());
  }

  case Builtin::Conv: {
    FailureOr<Value> x = genOne(*args[0]);
    FailureOr<Value> weight = genOne(*args[1]);
    FailureOr<Value> bias = optional(info.convBias);
    FailureOr<States> states =
        genStates(info, info.withFinalState ? &value.types[1] : nullptr);
    FailureOr<Value> cu = optional(info.cuSeqlens);
    FailureOr<Value> slots = optional(info.stateSlots);
    if (failed(x) || failed(weight) || failed(bias) || failed(states) ||
        failed(cu) || failed(slots))
      return failure();
    auto conv = gate::CausalConv1dOp::create(
        b, l, tensorType(value.types[0]), states->finalType, *x, *weight, *bias,
        states->initial, *cu, *slots, info.activation);
    markOffsets(*cu, value.types[0].dims[1]);
    if (info.statePool) {
      tieStatePool(info, conv.getFinalState(), *slots);
      return SmallVector<Value>{conv.getY()};
    }
    SmallVector<Value> results = {conv.getY()};
    if (info.withFinalState)
      results.push_back(conv.getFinalState());
    return results;
  }

  default:
    return internalError(call.getLoc(), "an unhandled builtin");
  }
}

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

/// `gate.shape`: the dimensions as written, names for symbols. A symbol
/// that only the results use names nothing a caller passes in, so it is
/// replaced by what it stands for: a size, a parameter's symbol, or the
/// expression computing it from those (dispatch's padded length).
static ArrayAttr shapeAttr(Builder &b, const TypeAST &type,
                           const KernelInfo &info) {
  SmallVector<Attribute> dims;
  for (const DimAST &dim : type.dims) {
    Attribute entry =
        dim.isSymbol()
            ? Attribute(b.getStringAttr(formatSymbol(
                  Dim::getSymbol(dim.symbol, dim.loc, dim.offset))))
            : Attribute(b.getI64IntegerAttr(dim.value));
    auto it = dim.isSymbol() ? info.symbols.find(dim.symbol)
                             : info.symbols.end();
    if (it != info.symbols.end() && it->second.paramIndex < 0 &&
        it->second.resultBinding) {
      const Dim &bound = *it->second.resultBinding;
      if (bound.isStatic())
        entry = b.getI64IntegerAttr(bound.size);
      else if (bound.isSymbol())
        entry = b.getStringAttr(formatSymbol(bound));
      else if (!bound.expr.empty())
        entry = b.getStringAttr(bound.expr);
    }
    dims.push_back(entry);
  }
  return b.getArrayAttr(dims);
}

LogicalResult Generator::genKernel(const KernelAST &k, ModuleOp module) {
  kernel = &k;
  kernelInfo = &sema.getKernel(k);
  symbolValues.clear();
  vars.clear();
  lastEntryOp = nullptr;

  SmallVector<Type> inputs, results;
  for (const CheckedType &t : kernelInfo->paramTypes)
    inputs.push_back(tensorType(t));
  for (const CheckedType &t : kernelInfo->resultTypes)
    results.push_back(tensorType(t));
  if (inputs.size() != k.params.size() || results.size() != k.results.size())
    return internalError(k.loc, "kernel '" + k.name + "' was not checked");
  // Parameters updated in place come last, as results tied to them.
  for (unsigned index : kernelInfo->updatedParams)
    results.push_back(inputs[index]);
  updatedParams.clear();

  b.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(b, loc(k.loc), k.name,
                                   b.getFunctionType(inputs, results));
  func.setPublic();
  func->setAttr("gate.source", b.getStringAttr(diag.getFileLine(k.loc)));
  if (!k.doc.empty())
    func->setAttr("gate.doc", b.getStringAttr(k.doc));
  for (auto [i, param] : llvm::enumerate(k.params)) {
    func.setArgAttr(i, "gate.name", b.getStringAttr(param.name));
    func.setArgAttr(i, "gate.shape", shapeAttr(b, param.type, *kernelInfo));
  }
  for (auto [i, result] : llvm::enumerate(k.results)) {
    std::string name =
        result.name.empty() ? "result" + std::to_string(i) : result.name;
    func.setResultAttr(i, "gate.name", b.getStringAttr(name));
    func.setResultAttr(i, "gate.shape",
                         shapeAttr(b, result.type, *kernelInfo));
  }
  for (auto [i, index] : llvm::enumerate(kernelInfo->updatedParams)) {
    unsigned r = k.results.size() + i;
    const ParamAST &param = k.params[index];
    func.setResultAttr(r, "gate.name", b.getStringAttr(param.name));
    func.setResultAttr(r, "gate.shape",
                       shapeAttr(b, param.type, *kernelInfo));
    func.setResultAttr(r, "gate.updates", b.getI64IntegerAttr(index));
  }

  entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  for (auto [i, param] : llvm::enumerate(k.params))
    vars[param.name] = {entry->getArgument(i)};

  bool returned = false;
  for (const auto &stmt : k.body) {
    if (const auto *let = llvm::dyn_cast<LetStmtAST>(stmt.get())) {
      const ExprAST *value = let->getValue();
      if (!value)
        return internalError(stmt->getLoc(), "a statement without a value");
      // Numbers are folded into their uses; they have no code.
      if (sema.getInfo(*value).isConstant())
        continue;
      FailureOr<SmallVector<Value>> values = gen(*value);
      if (failed(values))
        return failure();
      const auto &targets = let->getTargets();
      if (values->size() != targets.size())
        return internalError(stmt->getLoc(), "a binding of the wrong arity");
      for (auto [target, v] : llvm::zip(targets, *values))
        if (target.name != "_")
          vars[target.name] = {v};
      continue;
    }
    const auto &ret = llvm::cast<ReturnStmtAST>(*stmt);
    SmallVector<Value> values;
    for (const ExprPtr &e : ret.getValues()) {
      FailureOr<SmallVector<Value>> v = gen(*e);
      if (failed(v))
        return failure();
      values.append(v->begin(), v->end());
    }
    for (unsigned index : kernelInfo->updatedParams)
      values.push_back(updatedParams.lookup(index));
    func::ReturnOp::create(b, loc(ret.getLoc()), values);
    returned = true;
    break;
  }
  if (!returned)
    return internalError(k.loc, "kernel '" + k.name + "' has no return");

  // The module must verify; if it does not, sema missed a rule. Say so at
  // the kernel, with what the verifier said as a note.
  std::string verifierMessage;
  LogicalResult verified = success();
  {
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
      if (verifierMessage.empty())
        verifierMessage = d.str();
      return success();
    });
    verified = verify(func);
  }
  if (failed(verified)) {
    (void)internalError(k.loc, "gatec generated invalid IR for kernel '" +
                                   k.name + "'");
    diag.note(k.loc, "the verifier said: " + verifierMessage);
    return failure();
  }
  return success();
}

OwningOpRef<ModuleOp> Generator::run(const ModuleAST &module,
                                     StringRef onlyKernel) {
  OwningOpRef<ModuleOp> result = ModuleOp::create(b.getUnknownLoc());
  bool ok = true;
  for (const auto &k : module.kernels) {
    if (!onlyKernel.empty() && k->name != onlyKernel)
      continue;
    ok &= succeeded(genKernel(*k, *result));
  }
  if (!ok)
    return nullptr;
  return result;
}

OwningOpRef<ModuleOp> gatec::mlirGen(MLIRContext &context,
                                     const ModuleAST &module,
                                     const SemaResult &sema,
                                     gatec::DiagnosticEngine &diag,
                                     StringRef onlyKernel) {
  context.loadDialect<gate::GateDialect, func::FuncDialect,
                      arith::ArithDialect, math::MathDialect,
                      linalg::LinalgDialect, tensor::TensorDialect>();
  return Generator(context, sema, diag).run(module, onlyKernel);
}
