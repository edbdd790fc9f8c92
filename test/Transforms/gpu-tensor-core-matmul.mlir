// RUN: gatec-opt %s --gatec-gpu-tensor-core-matmul | FileCheck %s
// RUN: not gatec-opt %s --gatec-gpu-tensor-core-matmul="block-tile-m=256 stages=3" 2>&1 | FileCheck %s --check-prefix=SHARED
// RUN: not gatec-opt %s --gatec-gpu-tensor-core-matmul="k-tile=24" 2>&1 | FileCheck %s --check-prefix=SHAPE

// A bf16 projection with a dynamic number of tokens: one block per 128 x 128
// tile of C, 8 warps, A and B staged through a two-buffer shared-memory ring.
// CHECK-LABEL: func.func @projection
// CHECK:       %[[M:.*]] = memref.dim %{{.*}}, %c0 : memref<?x256xf32>
// CHECK:       %[[GM:.*]] = arith.ceildivui %[[M]], %c128
// CHECK:       %[[GN:.*]] = arith.ceildivui %c256{{.*}}, %c128
// CHECK:       gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[GM]], %{{.*}} = %[[GN]], %{{.*}} = %c1{{.*}}) threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c256
// CHECK-SAME:    workgroup(%[[SA:.*]] : memref<2x128x40xbf16, #gpu.address_space<workgroup>>, %[[SB:.*]] : memref<2x32x136xbf16, #gpu.address_space<workgroup>>)
// The prologue fills buffer 0; 16-byte copies, zero-filled outside the matrix.
// CHECK:         nvgpu.device_async_copy %{{.*}}, %[[SA]][%c0{{.*}}], 8, %{{.*}} {bypassL1}
// CHECK:         nvvm.cp.async.commit.group
// CHECK:         scf.for {{.*}} iter_args
// CHECK:           nvvm.cp.async.commit.group
// CHECK:           nvvm.cp.async.wait.group 1
// CHECK:           gpu.barrier
// CHECK:           nvgpu.ldmatrix %[[SA]]{{.*}} {numTiles = 4 : i32, transpose = false} : memref<2x128x40xbf16, #gpu.address_space<workgroup>> -> vector<4x2xbf16>
// CHECK:           nvgpu.ldmatrix %[[SB]]{{.*}} {numTiles = 2 : i32, transpose = true} : memref<2x32x136xbf16, #gpu.address_space<workgroup>> -> vector<2x2xbf16>
// CHECK:           nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK:           gpu.barrier
// The epilogue accumulates into C, only inside it.
// CHECK:         scf.if
// CHECK:           memref.load
// CHECK:           arith.addf
// CHECK:           memref.store
// CHECK-NOT:   linalg.matmul
func.func @projection(%x: memref<?x64xbf16>, %w: memref<64x256xbf16>, %y: memref<?x256xf32>) {
  linalg.matmul ins(%x, %w : memref<?x64xbf16>, memref<64x256xbf16>) outs(%y : memref<?x256xf32>)
  return
}

// f16 takes the same kernel with f16 multiplicands.
// CHECK-LABEL: func.func @half
// CHECK:       nvvm.mma.sync {{.*}} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
func.func @half(%x: memref<?x32xf16>, %w: memref<32x64xf16>, %y: memref<?x64xf32>) {
  linalg.matmul ins(%x, %w : memref<?x32xf16>, memref<32x64xf16>) outs(%y : memref<?x64xf32>)
  return
}

// Not for tensor cores: f32 operands; rows whose 16-byte chunks would
// straddle the edge (N = 130); a matmul inside a loop (part of a larger
// per-iteration kernel).
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT:   gpu.launch
// CHECK-COUNT-3: linalg.matmul
func.func @left_alone(%a: memref<?x64xf32>, %b: memref<64x64xf32>, %c: memref<?x64xf32>,
                      %x: memref<?x64xbf16>, %w: memref<64x130xbf16>, %y: memref<?x130xf32>,
                      %n: index) {
  linalg.matmul ins(%a, %b : memref<?x64xf32>, memref<64x64xf32>) outs(%c : memref<?x64xf32>)
  linalg.matmul ins(%x, %w : memref<?x64xbf16>, memref<64x130xbf16>) outs(%y : memref<?x130xf32>)
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    linalg.matmul ins(%a, %b : memref<?x64xf32>, memref<64x64xf32>) outs(%c : memref<?x64xf32>)
  }
  return
}

// SHARED: error: gatec-gpu-tensor-core-matmul: block tile 256x128x32 with 3 stages needs 87552 bytes of shared memory; a kernel has 49152
// SHAPE: error: gatec-gpu-tensor-core-matmul: block tile 128x128x24 with 2 stages is not a multiple of the 2 x 4 warp grid
