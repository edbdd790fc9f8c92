// RUN: gatec-opt %s --split-input-file --gatec-gpu-distribute="tensor-cores" --cse | FileCheck %s
// RUN: gatec-opt %s --split-input-file --gatec-gpu-distribute | FileCheck %s --check-prefix=SIMT

// A chunk product marked gate.multiplicand_type inside a per-(sequence,
// head) loop stays whole and runs on the block's tensor cores: 64 x 64 tiles
// of C (8 warps of 16 x 32), K in steps of 32 staged through two shared
// buffers (rows padded by 8 elements) with f32 operands rounded to bf16 and
// zeros past the edges, ldmatrix (B transposed), four mma.sync per step of
// 16, and C += the f32 accumulators inside C only.
// CHECK-LABEL: func.func @chunk_products
// CHECK:       gpu.launch
// CHECK-SAME:    workgroup(%[[SA:.*]] : memref<64x40xbf16, #gpu.address_space<workgroup>>, %[[SB:.*]] : memref<32x72xbf16, #gpu.address_space<workgroup>>)
// CHECK:         %[[WARP:.*]] = arith.divui %[[TX:.*]], %c32
// CHECK:         scf.for %[[M0:.*]] = %c0 to %{{.*}} step %c64 {
// CHECK:           scf.for %[[N0:.*]] = %c0 to %{{.*}} step %c64 {
// CHECK:             %[[ACC:.*]]:16 = scf.for %[[K0:.*]] = %c0 to %{{.*}} step %c32 iter_args(
// CHECK:               gpu.barrier
// CHECK:               scf.for %{{.*}} = %[[TX]] to %c2048 step %c256 {
// CHECK:                 %[[A:.*]] = scf.if %{{.*}} -> (bf16) {
// CHECK:                   %[[X:.*]] = memref.load %{{.*}} : memref<?x256xf32
// CHECK:                   %[[R:.*]] = arith.truncf %[[X]] : f32 to bf16
// CHECK:                   scf.yield %[[R]] : bf16
// CHECK:                 } else {
// CHECK:                   scf.yield %{{.*}} : bf16
// CHECK:                 memref.store %[[A]], %[[SA]]
// CHECK:               scf.for %{{.*}} = %[[TX]] to %c2048 step %c256 {
// CHECK:                 memref.load %{{.*}} : memref<?x512xbf16
// CHECK-NOT:             arith.truncf
// CHECK:                 memref.store %{{.*}}, %[[SB]]
// CHECK:               gpu.barrier
// CHECK:               nvgpu.ldmatrix %[[SA]]{{.*}} {gatec.block_matmul, numTiles = 4 : i32, transpose = false}
// CHECK:               nvgpu.ldmatrix %[[SB]]{{.*}} {numTiles = 2 : i32, transpose = true}
// CHECK:               nvvm.mma.sync {{.*}} multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>
// CHECK-COUNT-7:       nvvm.mma.sync
// CHECK:               scf.yield
// CHECK-COUNT-16:    scf.if %{{.*}} {
// CHECK-NEXT:          memref.load
// CHECK-NEXT:          arith.addf
// CHECK-NEXT:          memref.store
// CHECK:         gpu.barrier
// SIMT-LABEL: func.func @chunk_products
// SIMT-NOT:    nvvm.mma.sync
// SIMT-NOT:    workgroup
func.func @chunk_products(%a: memref<?x?x256xf32>, %v: memref<?x?x512xbf16>,
                          %c: memref<?x256x512xf32>, %len: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %a, %c0 : memref<?x?x256xf32>
  scf.forall (%i) in (%n) {
    %ai = memref.subview %a[%i, 0, 0] [1, %len, 256] [1, 1, 1]
        : memref<?x?x256xf32> to memref<?x256xf32, strided<[256, 1], offset: ?>>
    %vi = memref.subview %v[%i, 0, 0] [1, %len, 512] [1, 1, 1]
        : memref<?x?x512xbf16> to memref<?x512xbf16, strided<[512, 1], offset: ?>>
    %ci = memref.subview %c[%i, 0, 0] [1, 256, 512] [1, 1, 1]
        : memref<?x256x512xf32> to memref<256x512xf32, strided<[512, 1], offset: ?>>
    // The state update S += (decayed k)^T v: A is read transposed.
    linalg.matmul
        indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d0)>,
                         affine_map<(d0, d1, d2) -> (d2, d1)>,
                         affine_map<(d0, d1, d2) -> (d0, d1)>]
        {gate.multiplicand_type = bf16}
        ins(%ai, %vi : memref<?x256xf32, strided<[256, 1], offset: ?>>,
                       memref<?x512xbf16, strided<[512, 1], offset: ?>>)
        outs(%ci : memref<256x512xf32, strided<[512, 1], offset: ?>>)
  }
  return
}

// -----

// A transposed A is staged with consecutive threads on consecutive m (the
// contiguous dimension of A^T's storage): the flat index's remainder by the
// tile's 64 rows is the row, its quotient the column; a transposed B alike
// by its 32 rows of K.
// CHECK-LABEL: func.func @transposed_operands
// CHECK:         scf.for %[[E:.*]] = %{{.*}} to %c2048 step %c256 {
// CHECK-NEXT:      %[[R:.*]] = arith.remui %[[E]], %c64
// CHECK-NEXT:      %[[C:.*]] = arith.divui %[[E]], %c64
// CHECK:           memref.load %{{.*}}[%{{.*}}, %{{.*}}] : memref<?x64xbf16
// CHECK:         scf.for %[[F:.*]] = %{{.*}} to %c2048 step %c256 {
// CHECK-NEXT:      %[[KR:.*]] = arith.remui %[[F]], %c32
// CHECK-NEXT:      %[[NC:.*]] = arith.divui %[[F]], %c32
// CHECK:         nvvm.mma.sync
func.func @transposed_operands(%q: memref<?x?x64xbf16>, %k: memref<?x?x64xbf16>,
                               %s: memref<?x?x?xf32>) {
  %c0 = arith.constant 0 : index
  %n = memref.dim %q, %c0 : memref<?x?x64xbf16>
  %c1 = arith.constant 1 : index
  %t = memref.dim %q, %c1 : memref<?x?x64xbf16>
  scf.forall (%i) in (%n) {
    %qi = memref.subview %q[%i, 0, 0] [1, %t, 64] [1, 1, 1]
        : memref<?x?x64xbf16> to memref<?x64xbf16, strided<[64, 1], offset: ?>>
    %ki = memref.subview %k[%i, 0, 0] [1, %t, 64] [1, 1, 1]
        : memref<?x?x64xbf16> to memref<?x64xbf16, strided<[64, 1], offset: ?>>
    %si = memref.subview %s[%i, 0, 0] [1, 64, %t] [1, 1, 1]
        : memref<?x?x?xf32> to memref<64x?xf32, strided<[?, 1], offset: ?>>
    // S[m, n] += sum_t q[t, m] k[n, t]... with q read as A^T and k as B^T.
    linalg.matmul
        indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d0)>,
                         affine_map<(d0, d1, d2) -> (d1, d2)>,
                         affine_map<(d0, d1, d2) -> (d0, d1)>]
        {gate.multiplicand_type = bf16}
        ins(%qi, %ki : memref<?x64xbf16, strided<[64, 1], offset: ?>>,
                       memref<?x64xbf16, strided<[64, 1], offset: ?>>)
        outs(%si : memref<64x?xf32, strided<[?, 1], offset: ?>>)
  }
  return
}

// -----

// A marked matmul outside any per-block loop (a host-level contraction) is
// lowered to loops like any other op.
// CHECK-LABEL: func.func @top_level
// CHECK-NOT:     nvvm.mma.sync
// CHECK:         gpu.launch
// CHECK-NOT:     nvvm.mma.sync
func.func @top_level(%a: memref<64x64xf32>, %b: memref<64x64xbf16>,
                     %c: memref<64x64xf32>) {
  linalg.matmul {gate.multiplicand_type = bf16}
      ins(%a, %b : memref<64x64xf32>, memref<64x64xbf16>)
      outs(%c : memref<64x64xf32>)
  return
}

// -----

// gate.split_multiplicands (a scan's final-state update): the f32 operand is
// staged as a bf16 high part and the bf16 rounding of its remainder, in a
// second buffer; each fragment of B is multiplied by both.
// CHECK-LABEL: func.func @split_state_update
// CHECK:       gpu.launch
// CHECK-SAME:    workgroup(%[[SA:.*]] : memref<64x40xbf16, #gpu.address_space<workgroup>>, %[[SB:.*]] : memref<32x72xbf16, #gpu.address_space<workgroup>>, %[[SL:.*]] : memref<64x40xbf16, #gpu.address_space<workgroup>>)
// CHECK:             %[[X:.*]] = memref.load %{{.*}} : memref<?x256xf32
// CHECK:             %[[HI:.*]] = arith.truncf %[[X]] : f32 to bf16
// CHECK:             %[[HIW:.*]] = arith.extf %[[HI]] : bf16 to f32
// CHECK:             %[[REST:.*]] = arith.subf %[[X]], %[[HIW]] : f32
// CHECK:             %[[LO:.*]] = arith.truncf %[[REST]] : f32 to bf16
// CHECK:             scf.yield %[[HI]], %[[LO]] : bf16, bf16
// CHECK:           memref.store %{{.*}}#0, %[[SA]]
// CHECK:           memref.store %{{.*}}#1, %[[SL]]
// CHECK:         gpu.barrier
// CHECK:         %[[FA:.*]] = nvgpu.ldmatrix %[[SA]]
// CHECK:         %[[FL:.*]] = nvgpu.ldmatrix %[[SL]]
// CHECK:         nvgpu.ldmatrix %[[SB]]
// CHECK-COUNT-2: nvvm.mma.sync
// CHECK:         nvgpu.ldmatrix %[[SB]]
// CHECK-COUNT-2: nvvm.mma.sync
func.func @split_state_update(%a: memref<?x?x256xf32>, %v: memref<?x?x512xbf16>,
                              %c: memref<?x256x512xf32>, %len: index) {
  %c0 = arith.constant 0 : index
  %n = memref.dim %a, %c0 : memref<?x?x256xf32>
  scf.forall (%i) in (%n) {
    %ai = memref.subview %a[%i, 0, 0] [1, %len, 256] [1, 1, 1]
        : memref<?x?x256xf32> to memref<?x256xf32, strided<[256, 1], offset: ?>>
    %vi = memref.subview %v[%i, 0, 0] [1, %len, 512] [1, 1, 1]
        : memref<?x?x512xbf16> to memref<?x512xbf16, strided<[512, 1], offset: ?>>
    %ci = memref.subview %c[%i, 0, 0] [1, 256, 512] [1, 1, 1]
        : memref<?x256x512xf32> to memref<256x512xf32, strided<[512, 1], offset: ?>>
    linalg.matmul
        indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d0)>,
                         affine_map<(d0, d1, d2) -> (d2, d1)>,
                         affine_map<(d0, d1, d2) -> (d0, d1)>]
        {gate.multiplicand_type = bf16, gate.split_multiplicands}
        ins(%ai, %vi : memref<?x256xf32, strided<[256, 1], offset: ?>>,
                       memref<?x512xbf16, strided<[512, 1], offset: ?>>)
        outs(%ci : memref<256x512xf32, strided<[512, 1], offset: ?>>)
  }
  return
}
