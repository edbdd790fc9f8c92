//===- GPUTensorCoreMatmul.cpp - bf16/f16 matmuls on tensor cores ---------===//
//
// Part of gatec. Every bufferized `linalg.matmul` with bf16 or f16 operands
// and an f32 accumulator (the projections of gates, scans and routers)
// becomes a kernel on the sm_80 tensor-core path:
// - a block computes a BM x BN tile of C with 8 warps in a 2 x 4 grid, each
//   warp a (BM/2) x (BN/4) tile of 16 x 8 mma.sync.m16n8k16 fragments held in
//   f32 registers across the whole K loop;
// - A and B tiles are staged through shared memory with cp.async (16-byte
//   copies, zero-filled past M, N and K, so any M works) in a ring of
//   `stages` buffers: the copies for the next tiles fly while the current
//   one is multiplied;
// - operands reach registers with ldmatrix (A as stored, B transposed, so the
//   row-major K x N weights need no repacking); rows are padded by 8
//   elements so the eight addresses of each ldmatrix phase hit distinct
//   banks.
// The epilogue adds the accumulators to C (linalg.matmul accumulates) with
// bounds checks. f16 and bf16 share the code: the multiplicand type only
// changes the mma's PTX type.
// With `wgmma` (sm_90a) the grid, ring and epilogue stay; the tiles are kept
// in the core-matrix layout instead and each warpgroup multiplies its 64
// rows with wgmma.mma_async (TensorCore.h). With `chip`, each matmul's tile
// comes from the tuning table row nearest its weight shape (Tuning.h).
//
//===----------------------------------------------------------------------===//

#include "Codegen/CUDA/TensorCore.h"
#include "Codegen/Common/MemRefRewrites.h"
#include "Transforms/GenericBody.h"
#include "gatec/Codegen/CUDA/Passes.h"
#include "gatec/Codegen/CUDA/Tuning.h"

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
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Remarks.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

namespace gatec {
#define GEN_PASS_DEF_GPUTENSORCOREMATMUL
#include "gatec/Codegen/CUDA/Passes.h.inc"
} // namespace gatec

using namespace mlir;

namespace {

using gatec::kMmaK;
using gatec::kMmaM;
using gatec::kMmaN;
/// Elements per 16-byte cp.async of a 16-bit type.
constexpr int64_t kChunk = 8;
constexpr int64_t kWarpsM = 2, kWarpsN = 4, kWarpSize = 32;
constexpr int64_t kThreads = kWarpsM * kWarpsN * kWarpSize;
/// Static shared memory a kernel may use without opting in.
constexpr int64_t kStaticSharedLimit = 48 * 1024;

/// Static size, last stride 1, and a 16-byte aligned static row stride and
/// offset: what 16-byte cp.async copies of rows need.
bool hasCopyableRows(MemRefType type) {
  if (type.getRank() != 2)
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)))
    return false;
  return strides[1] == 1 && !ShapedType::isDynamic(strides[0]) &&
         strides[0] % kChunk == 0 && !ShapedType::isDynamic(offset) &&
         offset % kChunk == 0;
}

struct Tile {
  int64_t m, n, k, stages;
  /// B matrices multiplied by the same A tile: 2 for a paired projection.
  int64_t numB = 1;
  /// sm_90a wgmma from unpadded core-matrix tiles instead of mma.sync.
  bool wgmma = false;
  int64_t warpM() const { return m / kWarpsM; }
  int64_t warpN() const { return n / kWarpsN; }
  int64_t fragsM() const { return warpM() / kMmaM; }
  int64_t fragsN() const { return warpN() / kMmaN; }
  int64_t rowA() const { return k + gatec::kSharedRowPad; }
  int64_t rowB() const { return n + gatec::kSharedRowPad; }
  int64_t sharedBytes() const {
    if (wgmma)
      return stages * (m * k + numB * k * n) * 2;
    return stages * (m * rowA() + numB * k * rowB()) * 2;
  }
};

/// Why `tile` cannot make a kernel (empty when it can).
std::string tileProblem(const Tile &tile) {
  std::string head = llvm::formatv("block tile {0}x{1}x{2} with {3} stages",
                                   tile.m, tile.n, tile.k, tile.stages);
  bool copiesFit = (tile.m * tile.k) % (kThreads * kChunk) == 0 &&
                   (tile.k * tile.n) % (kThreads * kChunk) == 0;
  if (tile.wgmma) {
    // Two warpgroups of 64 rows; N whole 8-column fragments, at most 256
    // per instruction; K in steps of 16.
    if (tile.m != 2 * gatec::kWgmmaM || tile.n % kMmaN || tile.n > 256 ||
        tile.k % gatec::kWgmmaK || tile.stages < 2 || !copiesFit)
      return head + " does not fit wgmma: M must be 128 (two warpgroups of "
                    "64 rows), N a multiple of 8 up to 256, K a multiple of "
                    "16";
  } else if (tile.m % (kWarpsM * kMmaM) || tile.n % (kWarpsN * kMmaN) ||
             tile.k % kMmaK || tile.stages < 2 || !copiesFit) {
    return head + " is not a multiple of the 2 x 4 warp grid of 16 x 8 x 16 "
                  "fragments (and of the 256 threads' 16-byte copies)";
  }
  if (tile.sharedBytes() > kStaticSharedLimit)
    return head + llvm::formatv(" needs {0} bytes of shared memory; a kernel "
                                "has {1}",
                                tile.sharedBytes(), kStaticSharedLimit)
                      .str();
  return "";
}

/// A gated projection's second matmul, computed by the same kernel: the
/// first matmul `matmul` (same A, zero-filled C) and the elementwise
/// `epilogue` that turns its C into `result` (the up projection rounded to
/// bf16), which the main matmul's epilogue reads. With it, act(x W) * (x V)
/// is one kernel and neither product reaches memory.
struct PairedProjection {
  linalg::MatmulOp matmul;
  linalg::GenericOp epilogue;
  Value result;
};

class MatmulKernelBuilder {
public:
  /// `epilogue`, when set, is an elementwise linalg.generic reading C that
  /// the kernel applies to the finished fragments instead of storing C;
  /// `zeroInit` says C holds zeros before the matmul (no C read needed).
  MatmulKernelBuilder(OpBuilder &b, Location loc, const Tile &tile,
                      linalg::MatmulOp matmul, linalg::GenericOp epilogue,
                      bool zeroInit,
                      std::optional<PairedProjection> paired = std::nullopt)
      : b(b), loc(loc), tile(tile), a(matmul.getDpsInputs()[0]),
        bMat(matmul.getDpsInputs()[1]), c(matmul.getDpsInits()[0]),
        epilogue(epilogue), zeroInit(zeroInit), paired(paired) {
    elem = cast<MemRefType>(a.getType()).getElementType();
    if (paired)
      pairB = paired->matmul.getDpsInputs()[1];
  }

  /// Emits the launch before the builder's insertion point; returns it.
  Operation *build();

private:
  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value ult(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, y);
  }
  Value minu(Value x, Value y) { return arith::MinUIOp::create(b, loc, x, y); }

  /// Issues the cp.async copies of K tile `kt` into ring slot `slot`.
  void loadTile(Value kt, Value slot);
  /// Copies `rows` x `cols` elements of `src` starting at (row0, col0) into
  /// `dst[slot]`, zero-filling outside (rowLimit, colLimit).
  void copyTile(Value src, Value dst, Value slot, int64_t rows, int64_t cols,
                Value row0, Value col0, Value rowLimit, Value colLimit);
  /// Multiplies the tiles in ring slot `slot` into `acc` (4 f32 per
  /// fragment, fragment-major).
  void multiplyTile(Value slot, SmallVectorImpl<Value> &acc);
  void storeTile(ArrayRef<Value> acc);
  /// The wgmma forms: `acc` holds one accumulator struct per B.
  void multiplyTileWgmma(Value slot, SmallVectorImpl<Value> &acc);
  void storeTileWgmma(ArrayRef<Value> acc);
  /// The shared-window byte address of `shared` (i64).
  Value sharedAddress(Value shared);
  /// Finishes one element at (row, col): C_in + acc, through the epilogue
  /// when there is one, into memory; `pairAcc` is the paired projection's
  /// accumulator for the same element.
  void finishElement(Value row, Value col, Value acc, Value pairAcc);

  OpBuilder &b;
  Location loc;
  Tile tile;
  Value a, bMat, c;
  linalg::GenericOp epilogue;
  bool zeroInit;
  std::optional<PairedProjection> paired;
  Value pairB;
  Type elem;
  // Inside the launch.
  Value sharedA, sharedB, sharedPairB, lane, warpRow, warpCol, m0, n0, sizeM,
      sizeN, sizeK;
  Value threadId;
};

Operation *MatmulKernelBuilder::build() {
  // Sizes from the operands: C may be a buffer the kernel never touches.
  Value sizeMHost = b.createOrFold<memref::DimOp>(loc, a, 0);
  Value gridM = arith::CeilDivUIOp::create(b, loc, sizeMHost, idx(tile.m));
  Value sizeNHost = b.createOrFold<memref::DimOp>(loc, bMat, 1);
  Value gridN = arith::CeilDivUIOp::create(b, loc, sizeNHost, idx(tile.n));
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto sharedTile = [&](ArrayRef<int64_t> shape) {
    return MemRefType::get(shape, elem, MemRefLayoutAttrInterface(), workgroup);
  };
  // mma.sync: row-major tiles with padded rows (ldmatrix banks); wgmma:
  // [K/8 or N/8][rows][8], the core-matrix layout its descriptors read.
  MemRefType typeA =
      tile.wgmma ? sharedTile({tile.stages, tile.k / kChunk, tile.m, kChunk})
                 : sharedTile({tile.stages, tile.m, tile.rowA()});
  MemRefType typeB =
      tile.wgmma ? sharedTile({tile.stages, tile.n / kChunk, tile.k, kChunk})
                 : sharedTile({tile.stages, tile.k, tile.rowB()});
  Value one = idx(1);
  SmallVector<Type> sharedTypes = {typeA, typeB};
  if (paired)
    sharedTypes.push_back(typeB);
  auto launch = gpu::LaunchOp::create(
      b, loc, gridM, gridN, one, idx(kThreads), one, one,
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/{}, sharedTypes);
  Block &body = launch.getBody().front();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&body);
  gpu::TerminatorOp::create(b, loc);
  b.setInsertionPoint(body.getTerminator());

  sharedA = launch.getWorkgroupAttributions()[0];
  sharedB = launch.getWorkgroupAttributions()[1];
  if (paired)
    sharedPairB = launch.getWorkgroupAttributions()[2];
  threadId = launch.getThreadIds().x;
  Value warp = arith::DivUIOp::create(b, loc, threadId, idx(kWarpSize));
  lane = arith::RemUIOp::create(b, loc, threadId, idx(kWarpSize));
  warpRow = mul(arith::DivUIOp::create(b, loc, warp, idx(kWarpsN)),
                idx(tile.warpM()));
  warpCol = mul(arith::RemUIOp::create(b, loc, warp, idx(kWarpsN)),
                idx(tile.warpN()));
  m0 = mul(launch.getBlockIds().x, idx(tile.m));
  n0 = mul(launch.getBlockIds().y, idx(tile.n));
  sizeM = b.createOrFold<memref::DimOp>(loc, a, 0);
  sizeN = b.createOrFold<memref::DimOp>(loc, bMat, 1);
  sizeK = b.createOrFold<memref::DimOp>(loc, a, 1);
  Value tilesK = arith::CeilDivUIOp::create(b, loc, sizeK, idx(tile.k));

  // Prologue: the first stages - 1 tiles in flight. Every step commits one
  // group (possibly empty), so "all but stages - 1 groups done" always
  // means "the tile about to be used has landed".
  for (int64_t s = 0; s + 1 < tile.stages; ++s) {
    auto inRange = scf::IfOp::create(b, loc, ult(idx(s), tilesK), false);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(inRange.thenBlock()->getTerminator());
      loadTile(idx(s), idx(s));
    }
    NVVM::CpAsyncCommitGroupOp::create(b, loc);
  }

  // The main matmul's accumulators, then the paired one's: f32 scalars for
  // mma.sync, one register struct per B for wgmma.
  SmallVector<Value> init;
  if (tile.wgmma) {
    Type accType = gatec::wgmmaAccumulatorType(b.getContext(), tile.n);
    for (int64_t j = 0; j < tile.numB; ++j)
      init.push_back(LLVM::ZeroOp::create(b, loc, accType));
  } else {
    int64_t numAcc = tile.fragsM() * tile.fragsN() * 4 * tile.numB;
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
    init.assign(numAcc, zero);
  }
  auto kLoop = scf::ForOp::create(b, loc, idx(0), tilesK, one, init);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(kLoop.getBody());
    Value kt = kLoop.getInductionVar();
    Value next = add(kt, idx(tile.stages - 1));
    auto inRange = scf::IfOp::create(b, loc, ult(next, tilesK), false);
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPoint(inRange.thenBlock()->getTerminator());
      loadTile(next, arith::RemUIOp::create(b, loc, next, idx(tile.stages)));
    }
    NVVM::CpAsyncCommitGroupOp::create(b, loc);
    NVVM::CpAsyncWaitGroupOp::create(b, loc, tile.stages - 1);
    // cp.async writes through the generic proxy, wgmma reads through the
    // async one: each thread's copies are made visible to it before the
    // barrier.
    if (tile.wgmma)
      NVVM::FenceProxyOp::create(
          b, loc,
          NVVM::ProxyKindAttr::get(b.getContext(),
                                   NVVM::ProxyKind::async_shared),
          NVVM::SharedSpaceAttr::get(b.getContext(),
                                     NVVM::SharedSpace::shared_cta));
    gpu::BarrierOp::create(b, loc);
    SmallVector<Value> acc(kLoop.getRegionIterArgs());
    Value slot = arith::RemUIOp::create(b, loc, kt, idx(tile.stages));
    if (tile.wgmma)
      multiplyTileWgmma(slot, acc);
    else
      multiplyTile(slot, acc);
    // The slot is refilled by a later iteration's copies.
    gpu::BarrierOp::create(b, loc);
    scf::YieldOp::create(b, loc, acc);
  }
  if (tile.wgmma)
    storeTileWgmma(SmallVector<Value>(kLoop.getResults()));
  else
    storeTile(SmallVector<Value>(kLoop.getResults()));
  return launch;
}

void MatmulKernelBuilder::loadTile(Value kt, Value slot) {
  Value k0 = mul(kt, idx(tile.k));
  copyTile(a, sharedA, slot, tile.m, tile.k, m0, k0, sizeM, sizeK);
  copyTile(bMat, sharedB, slot, tile.k, tile.n, k0, n0, sizeK, sizeN);
  if (paired)
    copyTile(pairB, sharedPairB, slot, tile.k, tile.n, k0, n0, sizeK, sizeN);
}

void MatmulKernelBuilder::copyTile(Value src, Value dst, Value slot,
                                   int64_t rows, int64_t cols, Value row0,
                                   Value col0, Value rowLimit, Value colLimit) {
  int64_t chunksPerRow = cols / kChunk;
  int64_t chunks = rows * chunksPerRow;
  Value lastRow = arith::SubIOp::create(b, loc, rowLimit, idx(1));
  Value lastCol = arith::SubIOp::create(b, loc, colLimit, idx(kChunk));
  for (int64_t i = 0; i < chunks; i += kThreads) {
    Value chunk = add(threadId, idx(i));
    Value row = arith::DivUIOp::create(b, loc, chunk, idx(chunksPerRow));
    Value chunkCol = arith::RemUIOp::create(b, loc, chunk, idx(chunksPerRow));
    Value col = mul(chunkCol, idx(kChunk));
    Value globalRow = add(row0, row), globalCol = add(col0, col);
    Value valid = arith::AndIOp::create(b, loc, ult(globalRow, rowLimit),
                                        ult(globalCol, colLimit));
    // Out-of-range chunks copy zero bytes from a valid address.
    Value srcElems =
        arith::SelectOp::create(b, loc, valid, idx(kChunk), idx(0));
    Value srcRow = minu(globalRow, lastRow);
    Value srcCol = minu(globalCol, lastCol);
    // The chunk is one 16-byte row of a core matrix in the wgmma layout.
    SmallVector<Value> at =
        tile.wgmma ? SmallVector<Value>{slot, chunkCol, row, idx(0)}
                   : SmallVector<Value>{slot, row, col};
    nvgpu::DeviceAsyncCopyOp::create(b, loc, dst, at, src,
                                     ValueRange{srcRow, srcCol},
                                     b.getIndexAttr(kChunk), srcElems,
                                     /*bypassL1=*/b.getUnitAttr());
  }
}

void MatmulKernelBuilder::multiplyTile(Value slot,
                                       SmallVectorImpl<Value> &acc) {
  for (int64_t kk = 0; kk < tile.k; kk += kMmaK) {
    SmallVector<Value> fragsA;
    for (int64_t mi = 0; mi < tile.fragsM(); ++mi)
      fragsA.push_back(gatec::loadFragmentA(
          b, loc, sharedA, slot, add(warpRow, idx(mi * kMmaM)), idx(kk), lane));
    // Each B in turn (the main one, then the paired one) against the
    // same A fragments.
    SmallVector<Value> shared = {sharedB};
    if (paired)
      shared.push_back(sharedPairB);
    int64_t perB = tile.fragsM() * tile.fragsN() * 4;
    for (auto [j, sharedBj] : llvm::enumerate(shared)) {
      SmallVector<Value> fragsB;
      for (int64_t ni = 0; ni < tile.fragsN(); ++ni)
        fragsB.push_back(gatec::loadFragmentB(b, loc, sharedBj, slot, idx(kk),
                                              add(warpCol, idx(ni * kMmaN)),
                                              lane));
      for (int64_t mi = 0; mi < tile.fragsM(); ++mi)
        for (int64_t ni = 0; ni < tile.fragsN(); ++ni) {
          int64_t base = j * perB + (mi * tile.fragsN() + ni) * 4;
          SmallVector<Value, 4> out =
              gatec::buildMmaSync(b, loc, fragsA[mi], fragsB[ni],
                                  ArrayRef<Value>(acc).slice(base, 4));
          for (int64_t i = 0; i < 4; ++i)
            acc[base + i] = out[i];
        }
    }
  }
}

Value MatmulKernelBuilder::sharedAddress(Value shared) {
  Value pointer =
      memref::ExtractAlignedPointerAsIndexOp::create(b, loc, shared);
  return arith::IndexCastUIOp::create(b, loc, b.getI64Type(), pointer);
}

void MatmulKernelBuilder::multiplyTileWgmma(Value slot,
                                            SmallVectorImpl<Value> &acc) {
  Type i64 = b.getI64Type();
  auto constant = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, loc, i64, v);
  };
  auto add64 = [&](Value x, int64_t y) -> Value {
    return y ? arith::AddIOp::create(b, loc, x, constant(y)).getResult() : x;
  };
  constexpr int64_t bytes = 2; // bf16, f16
  constexpr int64_t coreRow = kChunk * bytes, coreMatrix = 8 * coreRow;
  Value slot64 = arith::IndexCastUIOp::create(b, loc, i64, slot);
  Value warpgroup = arith::IndexCastUIOp::create(
      b, loc, i64,
      arith::DivUIOp::create(b, loc, threadId, idx(gatec::kWarpgroupThreads)));
  // A: this warpgroup's 64 rows; K-adjacent core matrices are M / 8 core
  // matrices apart, M-adjacent ones next to each other.
  int64_t leadingA = tile.m / 8 * coreMatrix;
  Value baseA = arith::AddIOp::create(
      b, loc,
      arith::AddIOp::create(
          b, loc, sharedAddress(sharedA),
          arith::MulIOp::create(b, loc, slot64,
                                constant(tile.m * tile.k * bytes))),
      arith::MulIOp::create(b, loc, warpgroup,
                            constant(gatec::kWgmmaM / 8 * coreMatrix)));
  // B: N-adjacent core matrices are K / 8 core matrices apart (the stride
  // byte offset of the no-swizzle MN-major layout), K-adjacent ones next to
  // each other (its leading byte offset).
  int64_t strideB = tile.k / 8 * coreMatrix;
  SmallVector<Value> shared = {sharedB};
  if (paired)
    shared.push_back(sharedPairB);
  SmallVector<Value> basesB;
  for (Value sharedBj : shared)
    basesB.push_back(arith::AddIOp::create(
        b, loc, sharedAddress(sharedBj),
        arith::MulIOp::create(b, loc, slot64,
                              constant(tile.k * tile.n * bytes))));
  for (Value &a : acc)
    a = gatec::fenceWgmmaAccumulator(b, loc, a);
  NVVM::WgmmaFenceAlignedOp::create(b, loc);
  for (int64_t kk = 0; kk < tile.k; kk += gatec::kWgmmaK) {
    Value descA = gatec::buildWgmmaDescriptor(
        b, loc, add64(baseA, kk / 8 * leadingA), leadingA, coreMatrix);
    for (auto [j, baseB] : llvm::enumerate(basesB)) {
      Value descB = gatec::buildWgmmaDescriptor(
          b, loc, add64(baseB, kk * coreRow), coreMatrix, strideB);
      acc[j] = gatec::buildWgmma(b, loc, elem, tile.n, acc[j], descA, descB);
    }
  }
  NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
  // The slot is refilled after the next barrier: the products must be done.
  NVVM::WgmmaWaitGroupSyncOp::create(b, loc, b.getI64IntegerAttr(0));
  for (Value &a : acc)
    a = gatec::fenceWgmmaAccumulator(b, loc, a);
}

void MatmulKernelBuilder::storeTileWgmma(ArrayRef<Value> acc) {
  // Warp w of warpgroup g holds rows 64 g + 16 w + (0..15) in mma.sync's
  // 16 x 8 fragment layout, one fragment per 8 columns.
  Value inWarpgroup =
      arith::RemUIOp::create(b, loc, threadId, idx(gatec::kWarpgroupThreads));
  Value rowBase = add(
      m0, add(mul(arith::DivUIOp::create(b, loc, threadId,
                                         idx(gatec::kWarpgroupThreads)),
                  idx(gatec::kWgmmaM)),
              mul(arith::DivUIOp::create(b, loc, inWarpgroup, idx(kWarpSize)),
                  idx(kMmaM))));
  for (int64_t i = 0; i < tile.n / 2; ++i) {
    auto [inRow, inCol] = gatec::accumulatorPosition(b, loc, lane, i % 4);
    Value row = add(rowBase, inRow);
    Value col = add(add(n0, idx(i / 4 * kMmaN)), inCol);
    Value inside =
        arith::AndIOp::create(b, loc, ult(row, sizeM), ult(col, sizeN));
    auto guard = scf::IfOp::create(b, loc, inside, false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(guard.thenBlock()->getTerminator());
    Value value = LLVM::ExtractValueOp::create(b, loc, acc[0], i);
    Value pairValue =
        paired ? LLVM::ExtractValueOp::create(b, loc, acc[1], i).getResult()
               : Value();
    finishElement(row, col, value, pairValue);
  }
}

void MatmulKernelBuilder::storeTile(ArrayRef<Value> acc) {
  for (int64_t mi = 0; mi < tile.fragsM(); ++mi)
    for (int64_t ni = 0; ni < tile.fragsN(); ++ni)
      for (int64_t i = 0; i < 4; ++i) {
        auto [inRow, inCol] = gatec::accumulatorPosition(b, loc, lane, i);
        Value row = add(add(m0, add(warpRow, idx(mi * kMmaM))), inRow);
        Value col = add(add(n0, add(warpCol, idx(ni * kMmaN))), inCol);
        Value inside =
            arith::AndIOp::create(b, loc, ult(row, sizeM), ult(col, sizeN));
        auto guard = scf::IfOp::create(b, loc, inside, false);
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPoint(guard.thenBlock()->getTerminator());
        int64_t at = (mi * tile.fragsN() + ni) * 4 + i;
        int64_t perB = tile.fragsM() * tile.fragsN() * 4;
        finishElement(row, col, acc[at], paired ? acc[perB + at] : Value());
      }
}

void MatmulKernelBuilder::finishElement(Value row, Value col, Value acc,
                                        Value pairAcc) {
  Value value = acc;
  // Epilogues are elementwise over C: their index (row, col) is C's.
  auto index = [&](unsigned dim) { return dim == 0 ? row : col; };
  // The paired projection's element through its own epilogue (its C holds
  // zeros and is its only input), in registers.
  Value pairResult;
  if (paired) {
    IRMapping pairMap;
    pairMap.map(paired->epilogue.getRegion().getArgument(0), pairAcc);
    pairResult =
        gatec::cloneGenericBody(b, paired->epilogue, pairMap, index)[0];
  }
  if (!zeroInit) {
    Value old = memref::LoadOp::create(b, loc, c, ValueRange{row, col});
    value = arith::AddFOp::create(b, loc, old, acc);
  }
  if (!epilogue) {
    memref::StoreOp::create(b, loc, value, c, ValueRange{row, col});
    return;
  }
  // The consumer's body on this element: C from registers, its other
  // operands from memory at the same position.
  IRMapping map;
  Block &body = epilogue.getRegion().front();
  for (OpOperand &operand : epilogue->getOpOperands()) {
    BlockArgument arg = body.getArgument(operand.getOperandNumber());
    if (arg.use_empty())
      continue;
    if (operand.get() == c && epilogue.isDpsInput(&operand)) {
      map.map(arg, value);
      continue;
    }
    if (paired && operand.get() == paired->result &&
        epilogue.isDpsInput(&operand)) {
      map.map(arg, pairResult);
      continue;
    }
    SmallVector<Value> indices;
    for (AffineExpr expr :
         epilogue.getMatchingIndexingMap(&operand).getResults())
      indices.push_back(index(cast<AffineDimExpr>(expr).getPosition()));
    map.map(arg, memref::LoadOp::create(b, loc, operand.get(), indices));
  }
  for (auto [result, init] :
       llvm::zip(gatec::cloneGenericBody(b, epilogue, map, index),
                 epilogue.getDpsInits()))
    memref::StoreOp::create(b, loc, result, init, ValueRange{row, col});
}

struct GPUTensorCoreMatmulPass
    : gatec::impl::GPUTensorCoreMatmulBase<GPUTensorCoreMatmulPass> {
  using Base::Base;

  void runOnOperation() override {
    Tile tile{blockTileM, blockTileN, kTile, stages};
    tile.wgmma = wgmma;
    if (std::string problem = tileProblem(tile); !problem.empty()) {
      getOperation().emitError() << "gatec-gpu-tensor-core-matmul: " << problem;
      return signalPassFailure();
    }
    if (failed(loadTuningTable()))
      return signalPassFailure();
    SmallVector<linalg::MatmulOp> matmuls;
    getOperation().walk([&](linalg::MatmulOp op) {
      if (isTensorCoreMatmul(op))
        matmuls.push_back(op);
    });
    // Paired projections are found before any kernel replaces a matmul.
    Tile pairTile = tile;
    pairTile.n = tile.n / 2;
    pairTile.numB = 2;
    bool pairTileFits = tileProblem(pairTile).empty();
    llvm::DenseMap<Operation *, PairedProjection> pairs;
    llvm::SmallPtrSet<Operation *, 4> pairedAway;
    for (linalg::MatmulOp op : matmuls)
      if (pairTileFits && !pairedAway.contains(op))
        if (std::optional<PairedProjection> pair = pairedProjection(op);
            pair && !pairs.contains(pair->matmul) &&
            !pairedAway.contains(pair->matmul)) {
          pairs[op] = *pair;
          pairedAway.insert(pair->matmul);
        }
    for (linalg::MatmulOp op : matmuls) {
      if (pairedAway.contains(op))
        continue; // Built with the matmul it pairs with.
      Value c = op.getDpsInits()[0];
      bool zeroInit = holdsZeros(c, op);
      // Found before the kernel is built in front of the matmul.
      linalg::FillOp zeroFill = zeroFillReadOnlyBy(c, op);
      linalg::GenericOp epilogue = fusableEpilogue(op);
      std::optional<PairedProjection> paired;
      if (auto it = pairs.find(op); it != pairs.end())
        paired = it->second;
      // At the consumer when fused: its buffers may be allocated after the
      // matmul (nothing in between touches C or the operands).
      OpBuilder b(epilogue ? epilogue.getOperation() : op.getOperation());
      std::optional<Tile> tuned = tunedTile(op, paired.has_value());
      Tile chosen = tuned.value_or(paired ? pairTile : tile);
      // The decision, for `gatec --remarks=gatec-gpu` (free when off).
      remark::passed(op.getLoc(), remark::RemarkOpts::name("MatmulKernel")
                                      .category(getArgument())
                                      .function(getOperation().getSymName()))
          << remark::add("{0} {1} kernel, block tile {2}x{3}x{4}, {5} stages "
                         "({6}){7}{8}",
                         wgmma ? "wgmma" : "mma.sync",
                         paired ? "paired-projection" : "matmul", chosen.m,
                         chosen.n * chosen.numB, chosen.k, chosen.stages,
                         tuned ? "tuning table, " + chip
                               : std::string("default"),
                         epilogue ? ", epilogue fused" : "",
                         zeroInit ? "" : ", accumulates into C");
      Operation *kernel = MatmulKernelBuilder(b, op.getLoc(), chosen, op,
                                              epilogue, zeroInit, paired)
                              .build();
      // What the kernel writes, for holdsZeros() on later matmuls.
      SmallVector<Value> &written = kernelWrites[kernel];
      if (epilogue)
        llvm::append_range(written, epilogue.getDpsInits());
      else
        written.push_back(c);
      // A zero fill that only this kernel would have read is dead when the
      // kernel stores every element of C (no epilogue, or one writing over
      // C): GLA's forget-gate projection needs no fill kernel.
      if (zeroFill && zeroInit &&
          (!epilogue || llvm::is_contained(epilogue.getDpsInits(), c)))
        zeroFill.erase();
      op.erase();
      if (epilogue) {
        epilogue.erase();
        ++numFusedEpilogues;
      }
      if (paired) {
        paired->epilogue.erase();
        paired->matmul.erase();
        ++numPairedProjections;
        ++numFusedEpilogues;
        ++numTensorCoreMatmuls;
      }
      ++numTensorCoreMatmuls;
    }
    IRRewriter rewriter(&getContext());
    gatec::eraseWriteOnlyBuffers(rewriter, getOperation());
  }

  /// The rows the tuned tiles come from: tuning-table's file, or the table
  /// compiled into gatec.
  std::vector<gatec::TuningEntry> table;

  LogicalResult loadTuningTable() {
    if (tuningTable.empty()) {
      table = gatec::builtinTuningTable();
      return success();
    }
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file =
        llvm::MemoryBuffer::getFile(tuningTable);
    if (!file)
      return getOperation().emitError()
             << "gatec-gpu-tensor-core-matmul: cannot read tuning table '"
             << tuningTable << "': " << file.getError().message();
    std::string error;
    std::optional<std::vector<gatec::TuningEntry>> parsed =
        gatec::parseTuningTable((*file)->getBuffer(), error);
    if (!parsed)
      return getOperation().emitError()
             << "gatec-gpu-tensor-core-matmul: " << tuningTable << ": "
             << error;
    table = std::move(*parsed);
    return success();
  }

  /// The tile the table gives `op`'s weight shape on `chip` (none without a
  /// chip, a row, or when the row's tile does not make a kernel).
  std::optional<Tile> tunedTile(linalg::MatmulOp op, bool paired) {
    if (chip.empty())
      return std::nullopt;
    auto typeB = cast<MemRefType>(op.getDpsInputs()[1].getType());
    std::string kind =
        std::string(wgmma ? "wgmma" : "mma") + (paired ? "-paired" : "");
    std::optional<gatec::MatmulTile> row = gatec::lookupMatmulTile(
        table, chip, kind, typeB.getDimSize(1), typeB.getDimSize(0));
    if (!row)
      return std::nullopt;
    // As the block-tile options: a paired kernel's n covers both B tiles.
    Tile tuned{row->m,         paired ? row->n / 2 : row->n,
               row->k,         row->stages,
               paired ? 2 : 1, wgmma};
    if (std::string problem = tileProblem(tuned); !problem.empty()) {
      op.emitWarning() << "gatec-gpu-tensor-core-matmul: ignoring the tuned "
                       << kind << " tile for " << chip << ": " << problem;
      return std::nullopt;
    }
    ++numTunedMatmuls;
    return tuned;
  }

  /// Whether two B operands can share a paired kernel: the same shape and
  /// element type, possibly different views (the two column halves of a
  /// fused gate/up weight); the kernel copies each from its own.
  static bool sameShapeAndElement(Value x, Value y) {
    auto tx = cast<MemRefType>(x.getType()), ty = cast<MemRefType>(y.getType());
    return tx.getShape() == ty.getShape() &&
           tx.getElementType() == ty.getElementType();
  }

  /// The first projection of a gated pair whose second is `second`:
  ///   C1 = 0; C1 += A B1; D = r(C1)   (r elementwise: a rounding)
  ///   C2 = 0; C2 += A B2; E(D, C2)    (E: the gate, second's epilogue)
  /// with the same A, B1 and B2 of one shape, nothing else reading C1, C2
  /// or D (E may write D in place), and nothing but allocations and shape
  /// arithmetic between r and the second matmul's zero fill. One kernel
  /// then computes both and applies r and E to the pair of accumulators.
  std::optional<PairedProjection> pairedProjection(linalg::MatmulOp second) {
    linalg::GenericOp gate = fusableEpilogue(second);
    Value c2 = second.getDpsInits()[0];
    if (!gate || !holdsZeros(c2, second))
      return std::nullopt;
    for (Value d : gate.getDpsInputs()) {
      if (d == c2)
        continue;
      // r: the op before `second` (past its C's setup) writing D.
      Operation *prev = second->getPrevNode();
      while (prev &&
             (isa<memref::AllocOp, linalg::FillOp, memref::CopyOp>(prev) ||
              (isMemoryEffectFree(prev) && prev->getNumRegions() == 0))) {
        if (auto fill = dyn_cast<linalg::FillOp>(prev))
          if (fill.getDpsInits()[0] != c2)
            break;
        if (auto copy = dyn_cast<memref::CopyOp>(prev))
          if (copy.getTarget() != c2)
            break;
        prev = prev->getPrevNode();
      }
      auto round = dyn_cast_or_null<linalg::GenericOp>(prev);
      if (!round || round.getNumDpsInputs() != 1 ||
          round.getNumDpsInits() != 1 || round.getDpsInits()[0] != d ||
          !round.getRegion().front().getArgument(1).use_empty())
        continue;
      Operation *before = round->getPrevNode();
      while (before &&
             (isa<memref::AllocOp>(before) ||
              (isMemoryEffectFree(before) && before->getNumRegions() == 0)))
        before = before->getPrevNode();
      auto first = dyn_cast_or_null<linalg::MatmulOp>(before);
      if (!first || !isTensorCoreMatmul(first) ||
          fusableEpilogue(first) != round ||
          first.getDpsInits()[0] != round.getDpsInputs()[0] ||
          first.getDpsInputs()[0] != second.getDpsInputs()[0] ||
          !sameShapeAndElement(first.getDpsInputs()[1],
                               second.getDpsInputs()[1]) ||
          !holdsZeros(first.getDpsInits()[0], first))
        continue;
      // D is read by the gate only (later readers see the gate's result
      // when it writes D in place).
      bool gateWritesD = llvm::is_contained(gate.getDpsInits(), d);
      bool otherReaders = false;
      for (Operation *user : d.getUsers())
        if (user != round.getOperation() && user != gate.getOperation() &&
            !isa<memref::DeallocOp>(user) &&
            !(gateWritesD && gate->isBeforeInBlock(user)))
          otherReaders = true;
      if (otherReaders)
        continue;
      return PairedProjection{first, round, d};
    }
    return std::nullopt;
  }

  /// The buffers each kernel built here writes.
  llvm::DenseMap<Operation *, SmallVector<Value>> kernelWrites;

  /// The fill that last wrote `c` before `matmul`, when nothing in between
  /// reads or writes `c` (or anything unknown).
  static linalg::FillOp zeroFillReadOnlyBy(Value c, Operation *matmul) {
    for (Operation *op = matmul->getPrevNode(); op; op = op->getPrevNode()) {
      if (auto fill = dyn_cast<linalg::FillOp>(op);
          fill && fill.getDpsInits()[0] == c)
        return fill;
      if (isMemoryEffectFree(op))
        continue;
      std::optional<SmallVector<MemoryEffects::EffectInstance>> effects =
          getEffectsRecursively(op);
      if (!effects)
        return nullptr;
      for (const MemoryEffects::EffectInstance &e : *effects)
        if (!e.getValue() || e.getValue() == c)
          return nullptr;
    }
    return nullptr;
  }

  /// The value of `v` is zero everywhere just before `user`: the last write
  /// to it in the block is a fill with 0.0, or a copy of such a buffer.
  bool holdsZeros(Value v, Operation *user) {
    for (Operation *op = user->getPrevNode(); op; op = op->getPrevNode()) {
      if (auto fill = dyn_cast<linalg::FillOp>(op)) {
        if (fill.getDpsInits()[0] != v)
          continue;
        return matchPattern(fill.getDpsInputs()[0], m_AnyZeroFloat());
      }
      if (auto copy = dyn_cast<memref::CopyOp>(op)) {
        if (copy.getTarget() == v)
          return holdsZeros(copy.getSource(), op);
        continue;
      }
      if (isMemoryEffectFree(op))
        continue;
      auto kernel = kernelWrites.find(op);
      if (kernel != kernelWrites.end()) {
        if (llvm::is_contained(kernel->second, v))
          return false;
        continue;
      }
      std::optional<SmallVector<MemoryEffects::EffectInstance>> effects =
          getEffectsRecursively(op);
      if (!effects)
        return false;
      for (const MemoryEffects::EffectInstance &e : *effects)
        if (isa<MemoryEffects::Write>(e.getEffect()) &&
            (!e.getValue() || e.getValue() == v))
          return false;
    }
    return false;
  }

  /// The elementwise linalg.generic right after `matmul` that reads its C
  /// and is the last to read it, if its body can run on each finished
  /// element: identity maps over C's 2-D shape, outputs of that shape.
  static linalg::GenericOp fusableEpilogue(linalg::MatmulOp matmul) {
    Value c = matmul.getDpsInits()[0];
    // Allocations and shape arithmetic in between do not touch C.
    Operation *next = matmul->getNextNode();
    while (next && (isa<memref::AllocOp>(next) ||
                    (isMemoryEffectFree(next) && next->getNumRegions() == 0)))
      next = next->getNextNode();
    auto generic = dyn_cast_or_null<linalg::GenericOp>(next);
    if (!generic || !generic.hasPureBufferSemantics() ||
        generic.getNumLoops() != 2 || generic.getNumParallelLoops() != 2 ||
        !llvm::is_contained(generic.getDpsInputs(), c))
      return nullptr;
    // Outputs and C are indexed like C; other inputs may be broadcast along
    // a dim (a bias per column, a scale per row). Every operand's shape is
    // the op's iteration domain seen through its map, so (row, col) inside
    // C is inside each of them.
    auto shapeOfC = cast<MemRefType>(c.getType()).getShape();
    for (OpOperand &operand : generic->getOpOperands()) {
      auto type = dyn_cast<MemRefType>(operand.get().getType());
      AffineMap map = generic.getMatchingIndexingMap(&operand);
      bool broadcast = generic.isDpsInput(&operand) && operand.get() != c &&
                       map.isProjectedPermutation();
      if (!type || !(map.isIdentity() || broadcast))
        return nullptr;
      for (auto [j, expr] : llvm::enumerate(map.getResults())) {
        int64_t want = shapeOfC[cast<AffineDimExpr>(expr).getPosition()];
        if (type.getDimSize(j) != want)
          return nullptr;
      }
    }
    // Other blocks still read A and B while this one writes its outputs.
    for (Value init : generic.getDpsInits())
      if (llvm::is_contained(matmul.getDpsInputs(), init))
        return nullptr;
    // An epilogue that writes its result over C (in place) leaves C holding
    // what the kernel stores: later reads read that.
    if (llvm::is_contained(generic.getDpsInits(), c))
      return generic;
    // Otherwise C is never written with the fragments, so nothing may read
    // it, or a view of it, later.
    llvm::SmallPtrSet<Value, 4> viewsOfC = {c};
    for (Operation &op : *generic->getBlock()) {
      if (&op == generic.getOperation())
        break;
      if (auto view = dyn_cast<ViewLikeOpInterface>(op))
        if (viewsOfC.contains(view.getViewSource()))
          viewsOfC.insert(op.getResult(0));
    }
    for (Operation *op = generic->getNextNode(); op; op = op->getNextNode()) {
      if (isa<memref::DeallocOp>(op))
        continue;
      bool usesC = false;
      op->walk([&](Operation *nested) {
        for (Value operand : nested->getOperands())
          usesC |= viewsOfC.contains(operand);
      });
      if (usesC)
        return nullptr;
    }
    return generic;
  }

  static bool isTensorCoreMatmul(linalg::MatmulOp op) {
    if (!op.hasPureBufferSemantics() || op.hasUserDefinedMaps())
      return false;
    // Only matmuls the host runs: one inside a loop is part of a larger
    // per-iteration computation that the loop's kernel performs.
    if (!isa<func::FuncOp>(op->getParentOp()))
      return false;
    auto typeA = cast<MemRefType>(op.getDpsInputs()[0].getType());
    auto typeB = cast<MemRefType>(op.getDpsInputs()[1].getType());
    auto typeC = cast<MemRefType>(op.getDpsInits()[0].getType());
    Type elem = typeA.getElementType();
    if (!(elem.isBF16() || elem.isF16()) || typeB.getElementType() != elem ||
        !typeC.getElementType().isF32())
      return false;
    if (!hasCopyableRows(typeA) || !hasCopyableRows(typeB) ||
        typeA.getMemorySpace() || typeB.getMemorySpace())
      return false;
    // K and N in whole 16-byte chunks: a chunk is then either entirely
    // inside the matrix or entirely outside.
    int64_t k = typeA.getDimSize(1), n = typeB.getDimSize(1);
    return !ShapedType::isDynamic(k) && k % kChunk == 0 &&
           !ShapedType::isDynamic(n) && n % kChunk == 0;
  }
};

} // namespace
