//===- TensorCore.cpp - mma.sync building blocks for the CUDA passes ------===//
//
// Part of gatec. Fragment layouts (PTX ISA, mma.m16n8k16 with .bf16/.f16):
// lane l holds, with g = l / 4 and t = l % 4,
//   A (16 x 16, row):  rows g and g + 8, columns 2t, 2t + 1, 2t + 8, 2t + 9
//   B (16 x 8, col):   rows 2t, 2t + 1, 2t + 8, 2t + 9 of column g
//   C (16 x 8, f32):   c0, c1 at row g, columns 2t, 2t + 1; c2, c3 at row g + 8
// ldmatrix.x4 on a row-major 16 x 16 A tile, lane l pointing at row l % 16,
// column 8 (l / 16), returns A's registers in that order; ldmatrix.x2.trans
// on a row-major K x N tile (B as stored), lanes 0-15 pointing at rows
// 0-15, returns B's.
//
//===----------------------------------------------------------------------===//

#include "Codegen/CUDA/TensorCore.h"

#include "Transforms/Multiplicand.h"
#include "gatec/Dialect/Gate/GateDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using gatec::kMmaK;
using gatec::kMmaM;
using gatec::kMmaN;

namespace {

/// The two 16-bit elements of row `i` of an ldmatrix result, as mma.sync
/// takes them: a 32-bit register for bf16, vector<2xf16> for f16.
Value registerOf(OpBuilder &b, Location loc, Value frag, int64_t i) {
  Value row = vector::ExtractOp::create(b, loc, frag, ArrayRef<int64_t>{i});
  if (cast<VectorType>(row.getType()).getElementType().isF16())
    return row;
  auto asI32 = vector::BitCastOp::create(
      b, loc, VectorType::get({1}, b.getI32Type()), row);
  return vector::ExtractOp::create(b, loc, asI32, ArrayRef<int64_t>{0});
}

/// How C[m, n] += A B reads its operands.
struct MatmulForm {
  bool transposedA; // A stored as [k, m]
  bool transposedB; // B stored as [n, k]
};

std::optional<MatmulForm> matmulForm(linalg::MatmulOp matmul) {
  SmallVector<AffineMap> maps = matmul.getIndexingMapsArray();
  if (maps.size() != 3)
    return std::nullopt;
  MLIRContext *ctx = matmul.getContext();
  auto dims = [&](unsigned x, unsigned y) {
    return AffineMap::get(
        3, 0, {getAffineDimExpr(x, ctx), getAffineDimExpr(y, ctx)}, ctx);
  };
  // d0 = m, d1 = n, d2 = k.
  if (maps[2] != dims(0, 1))
    return std::nullopt;
  MatmulForm form;
  if (maps[0] == dims(0, 2))
    form.transposedA = false;
  else if (maps[0] == dims(2, 0))
    form.transposedA = true;
  else
    return std::nullopt;
  if (maps[1] == dims(2, 1))
    form.transposedB = false;
  else if (maps[1] == dims(1, 2))
    form.transposedB = true;
  else
    return std::nullopt;
  return form;
}

/// Builds the block-cooperative C += A B; see buildBlockMatmul().
class BlockMatmulBuilder {
public:
  BlockMatmulBuilder(OpBuilder &b, linalg::MatmulOp matmul, IRMapping &map,
                     Value thread, int64_t threads)
      : b(b), loc(matmul.getLoc()), threads(threads), form(*matmulForm(matmul)),
        thread(thread) {
    a = map.lookupOrDefault(matmul.getDpsInputs()[0]);
    bMat = map.lookupOrDefault(matmul.getDpsInputs()[1]);
    c = map.lookupOrDefault(matmul.getDpsInits()[0]);
    multiplicand =
        cast<TypeAttr>(matmul->getAttr(gate::kMultiplicandTypeAttrName))
            .getValue();
    bool split = matmul->hasAttr(gate::kSplitMultiplicandsAttrName);
    auto wider = [&](Value operand) {
      return getElementTypeOrSelf(operand).getIntOrFloatBitWidth() >
             multiplicand.getIntOrFloatBitWidth();
    };
    splitA = split && wider(a);
    splitB = split && wider(bMat);
    int64_t warps = threads / 32;
    warpsM = warps % 4 == 0 ? 4 : (warps % 2 == 0 ? 2 : 1);
    warpsN = warps / warpsM;
    tileM = kMmaM * warpsM;
    tileN = kWarpN * warpsN;
  }

  void build(llvm::function_ref<Value(MemRefType, unsigned)> sharedBuffer);

private:
  /// Columns of C per warp: four 16 x 8 fragments side by side.
  static constexpr int64_t kWarpN = 4 * kMmaN;
  /// K per shared-memory stage: two mma steps.
  static constexpr int64_t kTileK = 32;

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value div(Value x, int64_t y) {
    return arith::DivUIOp::create(b, loc, x, idx(y));
  }
  Value rem(Value x, int64_t y) {
    return arith::RemUIOp::create(b, loc, x, idx(y));
  }
  Value ult(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, y);
  }
  Value dim(Value memref, int64_t i) {
    return memref::DimOp::create(b, loc, memref, i);
  }

  /// Fills the `rows` x `cols` shared tile `dst` with src's elements at
  /// (row0 + r, col0 + c) of the logical operand (rowLimit x colLimit),
  /// zero outside it, rounded to the multiplicand type. `transposed` says
  /// src stores the operand transposed; consecutive threads then walk the
  /// logical rows, so that global reads stay coalesced either way. With
  /// `dstLow`, what the rounding lost goes there, rounded in turn.
  void stage(Value src, bool transposed, Value dst, Value dstLow, int64_t rows,
             int64_t cols, Value row0, Value col0, Value rowLimit,
             Value colLimit);

  OpBuilder &b;
  Location loc;
  int64_t threads;
  MatmulForm form;
  Value thread, a, bMat, c;
  Type multiplicand;
  /// Operands multiplied as a high and a low multiplicand part.
  bool splitA, splitB;
  int64_t warpsM, warpsN, tileM, tileN;
};

void BlockMatmulBuilder::stage(Value src, bool transposed, Value dst,
                               Value dstLow, int64_t rows, int64_t cols,
                               Value row0, Value col0, Value rowLimit,
                               Value colLimit) {
  auto loop =
      scf::ForOp::create(b, loc, thread, idx(rows * cols), idx(threads));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(loop.getBody()->getTerminator());
  Value e = loop.getInductionVar();
  Value r = transposed ? rem(e, rows) : div(e, cols);
  Value col = transposed ? div(e, rows) : rem(e, cols);
  Value row = add(row0, r), column = add(col0, col);
  Value inside =
      arith::AndIOp::create(b, loc, ult(row, rowLimit), ult(column, colLimit));
  SmallVector<Type> parts(dstLow ? 2 : 1, multiplicand);
  auto select = scf::IfOp::create(b, loc, parts, inside,
                                  /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(select.thenBlock());
    SmallVector<Value> at = transposed ? SmallVector<Value>{column, row}
                                       : SmallVector<Value>{row, column};
    Value value = memref::LoadOp::create(b, loc, src, at);
    if (dstLow) {
      gatec::MultiplicandParts parts =
          gatec::splitMultiplicand(b, loc, value, multiplicand);
      scf::YieldOp::create(b, loc, ValueRange{parts.high, parts.low});
    } else {
      scf::YieldOp::create(
          b, loc, gatec::roundToMultiplicand(b, loc, value, multiplicand));
    }
    b.setInsertionPointToStart(select.elseBlock());
    Value zero = arith::ConstantOp::create(b, loc, multiplicand,
                                           b.getFloatAttr(multiplicand, 0.0));
    scf::YieldOp::create(b, loc, SmallVector<Value>(parts.size(), zero));
  }
  memref::StoreOp::create(b, loc, select.getResult(0), dst, ValueRange{r, col});
  if (dstLow)
    memref::StoreOp::create(b, loc, select.getResult(1), dstLow,
                            ValueRange{r, col});
}

void BlockMatmulBuilder::build(
    llvm::function_ref<Value(MemRefType, unsigned)> sharedBuffer) {
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto typeA =
      MemRefType::get({tileM, kTileK + gatec::kSharedRowPad}, multiplicand,
                      MemRefLayoutAttrInterface(), workgroup);
  auto typeB =
      MemRefType::get({kTileK, tileN + gatec::kSharedRowPad}, multiplicand,
                      MemRefLayoutAttrInterface(), workgroup);
  Value sharedA = sharedBuffer(typeA, 0);
  Value sharedB = sharedBuffer(typeB, 0);
  Value sharedALow = splitA ? sharedBuffer(typeA, 1) : Value();
  Value sharedBLow = splitB ? sharedBuffer(typeB, 1) : Value();

  Value sizeM = dim(c, 0), sizeN = dim(c, 1);
  Value sizeK = dim(a, form.transposedA ? 0 : 1);
  Value warp = div(thread, 32), lane = rem(thread, 32);
  Value warpRow = mul(rem(warp, warpsM), idx(kMmaM));
  Value warpCol = mul(div(warp, warpsM), idx(kWarpN));
  Value zero =
      arith::ConstantOp::create(b, loc, b.getF32Type(), b.getF32FloatAttr(0.0));
  constexpr int64_t kFrags = kWarpN / kMmaN;

  auto tilesM = scf::ForOp::create(b, loc, idx(0), sizeM, idx(tileM));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(tilesM.getBody()->getTerminator());
  Value m0 = tilesM.getInductionVar();
  auto tilesN = scf::ForOp::create(b, loc, idx(0), sizeN, idx(tileN));
  b.setInsertionPoint(tilesN.getBody()->getTerminator());
  Value n0 = tilesN.getInductionVar();

  // The K loop carries this lane's accumulators: 4 per fragment.
  SmallVector<Value> init(kFrags * 4, zero);
  auto kLoop = scf::ForOp::create(b, loc, idx(0), sizeK, idx(kTileK), init);
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(kLoop.getBody());
    Value k0 = kLoop.getInductionVar();
    // Every warp is done reading the previous stage.
    gpu::BarrierOp::create(b, loc);
    stage(a, form.transposedA, sharedA, sharedALow, tileM, kTileK, m0, k0,
          sizeM, sizeK);
    stage(bMat, form.transposedB, sharedB, sharedBLow, kTileK, tileN, k0, n0,
          sizeK, sizeN);
    gpu::BarrierOp::create(b, loc);

    SmallVector<Value> acc(kLoop.getRegionIterArgs());
    auto accumulate = [&](int64_t f, Value fragA, Value fragB) {
      SmallVector<Value, 4> out = gatec::buildMmaSync(
          b, loc, fragA, fragB, ArrayRef<Value>(acc).slice(f * 4, 4));
      llvm::copy(out, acc.begin() + f * 4);
    };
    for (int64_t kk = 0; kk < kTileK; kk += kMmaK) {
      auto loadA = [&](Value shared) -> Value {
        Value frag =
            gatec::loadFragmentA(b, loc, shared, {}, warpRow, idx(kk), lane);
        frag.getDefiningOp()->setAttr(gatec::kBlockMatmulMarker,
                                      b.getUnitAttr());
        return frag;
      };
      auto loadB = [&](Value shared, int64_t f) -> Value {
        return gatec::loadFragmentB(b, loc, shared, {}, idx(kk),
                                    add(warpCol, idx(f * kMmaN)), lane);
      };
      Value fragA = loadA(sharedA);
      Value fragALow = splitA ? loadA(sharedALow) : Value();
      for (int64_t f = 0; f < kFrags; ++f) {
        Value fragB = loadB(sharedB, f);
        // hi_a hi_b + lo_a hi_b + hi_a lo_b: lo_a lo_b is below f32's
        // rounding of the sum.
        accumulate(f, fragA, fragB);
        if (splitA)
          accumulate(f, fragALow, fragB);
        if (splitB)
          accumulate(f, fragA, loadB(sharedBLow, f));
      }
    }
    scf::YieldOp::create(b, loc, acc);
  }

  // C += the accumulators, inside C only; each element has one owner.
  for (int64_t f = 0; f < kFrags; ++f)
    for (int64_t i = 0; i < 4; ++i) {
      auto [inRow, inCol] = gatec::accumulatorPosition(b, loc, lane, i);
      Value row = add(add(m0, warpRow), inRow);
      Value col = add(add(n0, warpCol), add(idx(f * kMmaN), inCol));
      Value inside =
          arith::AndIOp::create(b, loc, ult(row, sizeM), ult(col, sizeN));
      auto guardIf = scf::IfOp::create(b, loc, inside, /*else=*/false);
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPoint(guardIf.thenBlock()->getTerminator());
      Value old = memref::LoadOp::create(b, loc, c, ValueRange{row, col});
      Value sum =
          arith::AddFOp::create(b, loc, old, kLoop.getResult(f * 4 + i));
      memref::StoreOp::create(b, loc, sum, c, ValueRange{row, col});
    }
}

} // namespace

SmallVector<Value, 4> gatec::buildMmaSync(OpBuilder &b, Location loc,
                                          Value fragA, Value fragB,
                                          ValueRange acc) {
  SmallVector<Value> opA, opB;
  for (int64_t i = 0; i < 4; ++i)
    opA.push_back(registerOf(b, loc, fragA, i));
  for (int64_t i = 0; i < 2; ++i)
    opB.push_back(registerOf(b, loc, fragB, i));
  Type f32 = b.getF32Type();
  auto resultType =
      LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
  Type elem = cast<VectorType>(fragA.getType()).getElementType();
  NVVM::MMATypes ptxType =
      elem.isF16() ? NVVM::MMATypes::f16 : NVVM::MMATypes::bf16;
  auto op = NVVM::MmaOp::create(
      b, loc, resultType, opA, opB, acc, {kMmaM, kMmaN, kMmaK}, std::nullopt,
      std::nullopt, std::array<NVVM::MMATypes, 2>{ptxType, ptxType},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  SmallVector<Value, 4> out;
  for (int64_t i = 0; i < 4; ++i)
    out.push_back(LLVM::ExtractValueOp::create(b, loc, op, i));
  return out;
}

Value gatec::loadFragmentA(OpBuilder &b, Location loc, Value shared,
                           ValueRange prefix, Value row, Value col,
                           Value lane) {
  // Lanes 0-15 address rows 0-15 at column 0, lanes 16-31 the same rows at
  // column 8: the four 8 x 8 matrices in a0..a3 order.
  Value c8 = arith::ConstantIndexOp::create(b, loc, 8);
  Value c16 = arith::ConstantIndexOp::create(b, loc, 16);
  Value laneRow = arith::RemUIOp::create(b, loc, lane, c16);
  Value laneCol = arith::MulIOp::create(
      b, loc, arith::DivUIOp::create(b, loc, lane, c16), c8);
  SmallVector<Value> at(prefix);
  at.push_back(arith::AddIOp::create(b, loc, row, laneRow));
  at.push_back(arith::AddIOp::create(b, loc, col, laneCol));
  Type elem = cast<MemRefType>(shared.getType()).getElementType();
  return nvgpu::LdMatrixOp::create(b, loc, VectorType::get({4, 2}, elem),
                                   shared, at, /*transpose=*/false,
                                   /*numTiles=*/4);
}

Value gatec::loadFragmentB(OpBuilder &b, Location loc, Value shared,
                           ValueRange prefix, Value row, Value col,
                           Value lane) {
  // Lanes 0-15 address the 16 k rows (lanes 16-31 repeat them, unused by
  // .x2); the transposed load hands each lane its column's k pairs.
  Value c16 = arith::ConstantIndexOp::create(b, loc, 16);
  SmallVector<Value> at(prefix);
  at.push_back(arith::AddIOp::create(
      b, loc, row, arith::RemUIOp::create(b, loc, lane, c16)));
  at.push_back(col);
  Type elem = cast<MemRefType>(shared.getType()).getElementType();
  return nvgpu::LdMatrixOp::create(b, loc, VectorType::get({2, 2}, elem),
                                   shared, at, /*transpose=*/true,
                                   /*numTiles=*/2);
}

std::pair<Value, Value> gatec::accumulatorPosition(OpBuilder &b, Location loc,
                                                   Value lane, int64_t i) {
  // c0, c1 at row lane / 4, columns 2 (lane % 4) and + 1; c2, c3 eight rows
  // below.
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  Value row = arith::AddIOp::create(
      b, loc, arith::DivUIOp::create(b, loc, lane, idx(4)), idx((i / 2) * 8));
  Value col = arith::AddIOp::create(
      b, loc,
      arith::MulIOp::create(
          b, loc, arith::RemUIOp::create(b, loc, lane, idx(4)), idx(2)),
      idx(i % 2));
  return {row, col};
}

Value gatec::buildWgmmaDescriptor(OpBuilder &b, Location loc, Value address,
                                  int64_t leadingBytes, int64_t strideBytes) {
  // Bits 0-13: address >> 4 (an 18-bit shared window address); 16-29 and
  // 32-45: the leading and stride byte offsets >> 4; bits 62-63: swizzle
  // mode, 0 for none; base offset 0.
  Type i64 = b.getI64Type();
  auto constant = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, loc, i64, v);
  };
  Value start = arith::ShRUIOp::create(
      b, loc, arith::AndIOp::create(b, loc, address, constant(0x3FFFF)),
      constant(4));
  int64_t fields = ((leadingBytes >> 4) << 16) | ((strideBytes >> 4) << 32);
  return arith::OrIOp::create(b, loc, start, constant(fields));
}

Type gatec::wgmmaAccumulatorType(MLIRContext *ctx, int64_t n) {
  return LLVM::LLVMStructType::getLiteral(
      ctx, SmallVector<Type>(n / 2, Float32Type::get(ctx)));
}

Value gatec::fenceWgmmaAccumulator(OpBuilder &b, Location loc, Value acc) {
  auto type = cast<LLVM::LLVMStructType>(acc.getType());
  unsigned n = type.getBody().size();
  SmallVector<Value> elements;
  std::string outputs, inputs;
  for (unsigned i = 0; i < n; ++i) {
    elements.push_back(LLVM::ExtractValueOp::create(b, loc, acc, i));
    outputs += "=f,";
    inputs += (i ? "," : "") + std::to_string(i);
  }
  // One asm with n outputs tied to its n inputs: no instruction, but the
  // values must be in their registers at this point of the program.
  auto pinned = LLVM::InlineAsmOp::create(
      b, loc, type, elements, /*asm_string=*/"", outputs + inputs,
      /*has_side_effects=*/true, /*is_align_stack=*/false,
      LLVM::tailcallkind::TailCallKind::None, /*asm_dialect=*/nullptr,
      /*operand_attrs=*/nullptr);
  return pinned.getResult(0);
}

Value gatec::buildWgmma(OpBuilder &b, Location loc, Type multiplicand,
                        int64_t n, Value acc, Value descA, Value descB) {
  MLIRContext *ctx = b.getContext();
  auto type = NVVM::WGMMATypesAttr::get(ctx, multiplicand.isBF16()
                                                 ? NVVM::WGMMATypes::bf16
                                                 : NVVM::WGMMATypes::f16);
  auto one = NVVM::WGMMAScaleInAttr::get(ctx, NVVM::WGMMAScaleIn::one);
  // A "row" (K-major); B "row": row-major K x N, the transposed layout.
  auto row = NVVM::MMALayoutAttr::get(ctx, NVVM::MMALayout::row);
  return NVVM::WgmmaMmaAsyncOp::create(
      b, loc, acc.getType(), acc, descA, descB,
      NVVM::MMAShapeAttr::get(ctx, kWgmmaM, n, kWgmmaK), type, type,
      NVVM::WGMMATypesAttr::get(ctx, NVVM::WGMMATypes::f32),
      NVVM::WGMMAScaleOutAttr::get(ctx, NVVM::WGMMAScaleOut::one), one, one,
      row, row, /*satfinite=*/nullptr);
}

bool gatec::isBlockMatmul(linalg::MatmulOp matmul) {
  auto multiplicand = dyn_cast_or_null<TypeAttr>(
      matmul->getAttr(gate::kMultiplicandTypeAttrName));
  if (!multiplicand || !matmul.hasPureBufferSemantics() ||
      !(multiplicand.getValue().isBF16() || multiplicand.getValue().isF16()))
    return false;
  if (!matmulForm(matmul))
    return false;
  for (Value operand : matmul->getOperands()) {
    auto type = dyn_cast<MemRefType>(operand.getType());
    if (!type || type.getRank() != 2 || type.getMemorySpace() ||
        !isa<FloatType>(type.getElementType()))
      return false;
  }
  return getElementTypeOrSelf(matmul.getDpsInits()[0]).isF32();
}

void gatec::buildBlockMatmul(
    OpBuilder &b, linalg::MatmulOp matmul, IRMapping &map, Value thread,
    int64_t threads,
    llvm::function_ref<Value(MemRefType, unsigned)> sharedBuffer) {
  BlockMatmulBuilder(b, matmul, map, thread, threads).build(sharedBuffer);
}
