// RUN: gatec-opt %s --gatec-gpu-tensor-core-matmul=wgmma --canonicalize --cse | FileCheck %s
// RUN: not gatec-opt %s --gatec-gpu-tensor-core-matmul="wgmma block-tile-m=64" 2>&1 | FileCheck %s --check-prefix=TILE

// sm_90a: the same grid, ring and epilogue as the mma.sync kernel, but each
// warpgroup (128 threads) multiplies its 64 rows with wgmma.mma_async
// straight from shared memory. The tiles are unpadded and stored as 8 x 8
// core matrices ([K/8][M][8] for A, [N/8][K][8] for B), each 16-byte
// cp.async landing as one core-matrix row; the descriptors carry the
// no-swizzle strides: A (K-major): leading (K) offset 128 rows * 16 B = 2048,
// stride (M) offset 128; B (MN-major, no swizzle): leading (K) offset 128,
// stride (N) offset 32 rows * 16 B = 512 (34368126976 = 2048/16 << 16 |
// 128/16 << 32, and 137439477760 = 128/16 << 16 | 512/16 << 32).
// CHECK-LABEL: func.func @projection
// CHECK:       %[[ZERO:.+]] = llvm.mlir.zero : !llvm.struct<(f32, {{(f32, )+}}f32)>
// CHECK:       gpu.launch {{.*}} threads({{.*}}) in (%{{.*}} = %c256
// CHECK-SAME:    workgroup(%[[SA:.*]] : memref<2x4x128x8xbf16, #gpu.address_space<workgroup>>, %[[SB:.*]] : memref<2x16x32x8xbf16, #gpu.address_space<workgroup>>)
// CHECK:         nvgpu.device_async_copy %arg0[{{.*}}], %[[SA]][%c0, %[[KCHUNK:.+]], %[[ROW:.+]], %c0], 8, {{.*}} {bypassL1}
// CHECK:         nvgpu.device_async_copy %arg1[{{.*}}], %[[SB]][%c0, %[[NCHUNK:.+]], %[[KROW:.+]], %c0], 8, {{.*}} {bypassL1}
// CHECK:         scf.for {{.*}} iter_args(%[[ACC:.+]] = %[[ZERO]])
// CHECK:           nvvm.cp.async.wait.group 1
// Each thread's copies become visible to the async proxy before the barrier.
// CHECK-NEXT:      nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT:      gpu.barrier
// A: slot * 8192 + warpgroup * 1024 bytes (64 rows of 16 bytes).
// CHECK:           %[[WG:.+]] = arith.divui %{{.+}}, %c128 : index
// CHECK:           memref.extract_aligned_pointer_as_index %[[SA]]
// CHECK:           arith.muli %{{.+}}, %c8192_i64 : i64
// CHECK:           arith.muli %{{.+}}, %c1024_i64 : i64
// CHECK:           memref.extract_aligned_pointer_as_index %[[SB]]
// The accumulators pass through an empty asm tied to each of their 64
// registers right before the fence (fenceWgmmaAccumulator): every write of
// them, the zero fill included, happens before wgmma.fence.
// CHECK:           %[[E0:.+]] = llvm.extractvalue %[[ACC]][0]
// CHECK:           %[[PINNED:.+]] = llvm.inline_asm has_side_effects "", "{{(=f,){64}0(,[0-9]+){63}"}} %[[E0]],
// CHECK-NEXT:      nvvm.wgmma.fence.aligned
// CHECK:           %[[DA0:.+]] = arith.ori %{{.+}}, %c34368126976_i64 : i64
// CHECK:           %[[DB0:.+]] = arith.ori %{{.+}}, %c137439477760_i64 : i64
// CHECK:           %[[D0:.+]] = nvvm.wgmma.mma_async %[[DA0]], %[[DB0]], %[[PINNED]], <m = 64, n = 128, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>]
// The second k16 step: A two core matrices (4096 bytes) along K, B 16 rows.
// CHECK:           arith.addi %{{.+}}, %c4096_i64 : i64
// CHECK:           arith.addi %{{.+}}, %c256_i64 : i64
// CHECK:           %[[D1:.+]] = nvvm.wgmma.mma_async %{{.+}}, %{{.+}}, %[[D0]], <m = 64, n = 128, k = 16>
// CHECK:           nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT:      nvvm.wgmma.wait.group.sync.aligned 0
// ... and again after the wait, so no read of them moves above it.
// CHECK-NEXT:      llvm.extractvalue %[[D1]][0]
// CHECK:           %[[OUT:.+]] = llvm.inline_asm has_side_effects ""
// CHECK-NEXT:      gpu.barrier
// CHECK-NEXT:      scf.yield %[[OUT]]
// The epilogue reads the 64 accumulators of the struct, each at its
// element of warp (tid % 128) / 32 of warpgroup tid / 128.
// CHECK:         scf.if
// CHECK:           llvm.extractvalue %{{.+}}[0]
// CHECK:           memref.load
// CHECK:           arith.addf
// CHECK:           memref.store
// CHECK:         llvm.extractvalue %{{.+}}[63]
// CHECK-NOT:   linalg.matmul
func.func @projection(%x: memref<?x64xbf16>, %w: memref<64x256xbf16>, %y: memref<?x256xf32>) {
  linalg.matmul ins(%x, %w : memref<?x64xbf16>, memref<64x256xbf16>) outs(%y : memref<?x256xf32>)
  return
}

// TILE: error: gatec-gpu-tensor-core-matmul: block tile 64x128x32 with 2 stages does not fit wgmma: M must be 128
