// RUN: gatec-opt %s --gatec-gpu-tensor-core-matmul | FileCheck %s
// RUN: not gatec-opt %s --gatec-gpu-tensor-core-matmul="block-tile-m=256 stages=3" 2>&1 | FileCheck %s --check-prefix=SHARED
// RUN: not gatec-opt %s --gatec-gpu-tensor-core-matmul="k-tile=24" 2>&1 | FileCheck %s --check-prefix=SHAPE

// A bf16 projection with a dynamic number of tokens: one block per 128 x 128
// tile of C, 8 warps, A and B staged through a two-buffer shared-memory ring.
// CHECK-LABEL: func.func @projection
// CHECK:       %[[M:.*]] = memref.dim %arg0, %c0 : memref<?x64xbf16>
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

// A gate consuming the projection (silu(x W) * up, rounded to bf16) runs in
// the kernel's epilogue on the finished fragments: the f32 accumulator is
// never stored, never read (the zero fill before the matmul is known), and
// with its fill it disappears.
// CHECK-LABEL: func.func @fused_gate
// CHECK-NOT:   memref.alloc
// CHECK-NOT:   linalg.fill
// CHECK:       gpu.launch
// CHECK:         nvvm.mma.sync
// CHECK:         scf.if
// CHECK-NOT:       memref.load {{.*}} : memref<?x128xf32>
// CHECK:           %[[UP:.*]] = memref.load %arg2[%{{.*}}, %{{.*}}] : memref<?x128xbf16>
// CHECK:           arith.negf
// CHECK:           %[[H:.*]] = arith.truncf
// CHECK:           memref.store %[[H]], %arg3[%{{.*}}, %{{.*}}] : memref<?x128xbf16>
// CHECK-NOT:   linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @fused_gate(%x: memref<?x64xbf16>, %w: memref<64x128xbf16>, %up: memref<?x128xbf16>, %out: memref<?x128xbf16>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %x, %c0 : memref<?x64xbf16>
  %acc = memref.alloc(%n) : memref<?x128xf32>
  linalg.fill ins(%zero : f32) outs(%acc : memref<?x128xf32>)
  linalg.matmul ins(%x, %w : memref<?x64xbf16>, memref<64x128xbf16>) outs(%acc : memref<?x128xf32>)
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%acc, %up : memref<?x128xf32>, memref<?x128xbf16>) outs(%out : memref<?x128xbf16>) {
  ^bb0(%a: f32, %u: bf16, %o: bf16):
    %neg = arith.negf %a : f32
    %e = math.exp %neg : f32
    %one = arith.constant 1.0 : f32
    %d = arith.addf %e, %one : f32
    %s = arith.divf %a, %d : f32
    %uf = arith.extf %u : bf16 to f32
    %p = arith.mulf %s, %uf : f32
    %t = arith.truncf %p : f32 to bf16
    linalg.yield %t : bf16
  }
  return
}

// A gated pair: the up projection rounded to bf16 (h), then the gate
// projection with silu(.) * h in its epilogue. One kernel computes both
// products from the same A tiles (C tile 128 x 64, a second B ring, 64
// accumulators per thread) and applies the rounding, then the gate, to each
// pair of accumulators: neither product nor h's intermediate value is
// written before the gate's result.
// CHECK-LABEL: func.func @paired_gate
// CHECK-NOT:   memref.alloc
// CHECK:       gpu.launch blocks
// CHECK-SAME:    workgroup(%[[SA:.*]] : memref<2x128x40xbf16, #gpu.address_space<workgroup>>, %[[SB:.*]] : memref<2x32x72xbf16, #gpu.address_space<workgroup>>, %[[SU:.*]] : memref<2x32x72xbf16, #gpu.address_space<workgroup>>)
// CHECK:         nvgpu.device_async_copy %arg2{{.*}}, %[[SB]]
// CHECK:         nvgpu.device_async_copy %arg1{{.*}}, %[[SU]]
// CHECK:         %[[ACC:.*]]:64 = scf.for
// CHECK:           nvgpu.ldmatrix %[[SB]]
// CHECK-COUNT-8:   nvvm.mma.sync
// CHECK:           nvgpu.ldmatrix %[[SU]]
// CHECK-COUNT-8:   nvvm.mma.sync
// CHECK:         scf.if
// CHECK-NEXT:      %[[UP:.*]] = arith.truncf %[[ACC]]#32 : f32 to bf16
// CHECK-NEXT:      %[[G:.*]] = arith.truncf %[[ACC]]#0 : f32 to bf16
// CHECK:           arith.negf
// CHECK:           %[[UPF:.*]] = arith.extf %[[UP]] : bf16 to f32
// CHECK:           %[[P:.*]] = arith.mulf %{{.*}}, %[[UPF]] : f32
// CHECK:           %[[H:.*]] = arith.truncf %[[P]] : f32 to bf16
// CHECK:           memref.store %[[H]], %arg3[%{{.*}}, %{{.*}}] : memref<?x128xbf16>
// CHECK-NOT:   gpu.launch
// CHECK-NOT:   linalg.generic
// CHECK-NOT:   linalg.matmul
func.func @paired_gate(%x: memref<?x64xbf16>, %wu: memref<64x128xbf16>,
                       %wg: memref<64x128xbf16>, %h: memref<?x128xbf16>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %x, %c0 : memref<?x64xbf16>
  %acc_g = memref.alloc(%n) : memref<?x128xf32>
  linalg.fill ins(%zero : f32) outs(%acc_g : memref<?x128xf32>)
  %acc_u = memref.alloc(%n) : memref<?x128xf32>
  memref.copy %acc_g, %acc_u : memref<?x128xf32> to memref<?x128xf32>
  linalg.matmul ins(%x, %wu : memref<?x64xbf16>, memref<64x128xbf16>) outs(%acc_u : memref<?x128xf32>)
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%acc_u : memref<?x128xf32>) outs(%h : memref<?x128xbf16>) {
  ^bb0(%a: f32, %o: bf16):
    %t = arith.truncf %a : f32 to bf16
    linalg.yield %t : bf16
  }
  linalg.matmul ins(%x, %wg : memref<?x64xbf16>, memref<64x128xbf16>) outs(%acc_g : memref<?x128xf32>)
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h, %acc_g : memref<?x128xbf16>, memref<?x128xf32>) outs(%h : memref<?x128xbf16>) {
  ^bb0(%u: bf16, %a: f32, %o: bf16):
    %g = arith.truncf %a : f32 to bf16
    %gf = arith.extf %g : bf16 to f32
    %neg = arith.negf %gf : f32
    %e = math.exp %neg : f32
    %one = arith.constant 1.0 : f32
    %d = arith.addf %e, %one : f32
    %s = arith.divf %gf, %d : f32
    %uf = arith.extf %u : bf16 to f32
    %p = arith.mulf %s, %uf : f32
    %r = arith.truncf %p : f32 to bf16
    linalg.yield %r : bf16
  }
  return
}

// Not fused: the accumulator is read again after the consumer; and C is not
// known to be zero, so the epilogue adds it.
// CHECK-LABEL: func.func @not_fused
// CHECK:       gpu.launch
// CHECK:         memref.load %arg2{{.*}} : memref<?x128xf32>
// CHECK:         arith.addf
// CHECK:         memref.store %{{.*}}, %arg2
// CHECK:       linalg.generic
// CHECK:       linalg.copy
func.func @not_fused(%x: memref<?x64xbf16>, %w: memref<64x128xbf16>, %acc: memref<?x128xf32>, %out: memref<?x128xbf16>, %keep: memref<?x128xf32>) {
  linalg.matmul ins(%x, %w : memref<?x64xbf16>, memref<64x128xbf16>) outs(%acc : memref<?x128xf32>)
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%acc : memref<?x128xf32>) outs(%out : memref<?x128xbf16>) {
  ^bb0(%a: f32, %o: bf16):
    %t = arith.truncf %a : f32 to bf16
    linalg.yield %t : bf16
  }
  linalg.copy ins(%acc : memref<?x128xf32>) outs(%keep : memref<?x128xf32>)
  return
}

// GLA's forget gate: a bias per column read by column, written over C in
// place (as bufferization leaves it) and read again afterwards through a
// view. The kernel stores the epilogue's result into C, so the later read is
// of that; the zero fill before the matmul is read by no one and goes.
// CHECK-LABEL: func.func @bias_in_place
// CHECK-NOT:   linalg.fill
// CHECK:       gpu.launch
// CHECK:         nvvm.mma.sync
// CHECK:         scf.if
// CHECK-NOT:       memref.load {{.*}} : memref<?x128xf32>
// CHECK:           %[[BIAS:.*]] = memref.load %arg2[%[[COL:.*]]] : memref<128xf32>
// CHECK-NEXT:      %[[Y:.*]] = arith.addf %{{.*}}, %[[BIAS]]
// CHECK-NEXT:      memref.store %[[Y]], %{{.*}}[%{{.*}}, %[[COL]]] : memref<?x128xf32>
// CHECK-NOT:   linalg.generic
// CHECK:       memref.expand_shape
// CHECK:       linalg.copy
func.func @bias_in_place(%x: memref<?x64xbf16>, %w: memref<64x128xbf16>, %b: memref<128xf32>, %keep: memref<?x2x64xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %x, %c0 : memref<?x64xbf16>
  %acc = memref.alloc(%n) : memref<?x128xf32>
  linalg.fill ins(%zero : f32) outs(%acc : memref<?x128xf32>)
  linalg.matmul ins(%x, %w : memref<?x64xbf16>, memref<64x128xbf16>) outs(%acc : memref<?x128xf32>)
  linalg.generic {indexing_maps = [#id, affine_map<(d0, d1) -> (d1)>, #id], iterator_types = ["parallel", "parallel"]}
      ins(%acc, %b : memref<?x128xf32>, memref<128xf32>) outs(%acc : memref<?x128xf32>) {
  ^bb0(%a: f32, %bias: f32, %o: f32):
    %y = arith.addf %a, %bias : f32
    linalg.yield %y : f32
  }
  %v = memref.expand_shape %acc [[0], [1, 2]] output_shape [%n, 2, 64] : memref<?x128xf32> into memref<?x2x64xf32>
  linalg.copy ins(%v : memref<?x2x64xf32>) outs(%keep : memref<?x2x64xf32>)
  return
}

// Not fused: the epilogue writes elsewhere and C is read afterwards through
// a view made before the matmul.
// CHECK-LABEL: func.func @read_through_view
// CHECK:       gpu.launch
// CHECK:         memref.store %{{.*}}, %arg2
// CHECK:       linalg.generic
func.func @read_through_view(%x: memref<?x64xbf16>, %w: memref<64x128xbf16>, %acc: memref<?x128xf32>, %out: memref<?x128xbf16>, %keep: memref<?x2x64xf32>) {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x64xbf16>
  %v = memref.expand_shape %acc [[0], [1, 2]] output_shape [%n, 2, 64] : memref<?x128xf32> into memref<?x2x64xf32>
  linalg.matmul ins(%x, %w : memref<?x64xbf16>, memref<64x128xbf16>) outs(%acc : memref<?x128xf32>)
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%acc : memref<?x128xf32>) outs(%out : memref<?x128xbf16>) {
  ^bb0(%a: f32, %o: bf16):
    %t = arith.truncf %a : f32 to bf16
    linalg.yield %t : bf16
  }
  linalg.copy ins(%v : memref<?x2x64xf32>) outs(%keep : memref<?x2x64xf32>)
  return
}

// A projection with no epilogue (the headwise gate's [T, 16] logits, read by
// a broadcast after it): the kernel stores every element of C from zero, so
// the zero fill before it is not a kernel of its own.
// CHECK-LABEL: func.func @no_epilogue_zero_init
// CHECK-NOT:   linalg.fill
// CHECK:       gpu.launch
// CHECK-NOT:     memref.load {{.*}} : memref<?x16xf32>
// CHECK:         memref.store {{.*}} : memref<?x16xf32>
// CHECK:       linalg.copy
func.func @no_epilogue_zero_init(%x: memref<?x64xbf16>, %w: memref<64x16xbf16>, %keep: memref<?x16xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %x, %c0 : memref<?x64xbf16>
  %acc = memref.alloc(%n) : memref<?x16xf32>
  linalg.fill ins(%zero : f32) outs(%acc : memref<?x16xf32>)
  linalg.matmul ins(%x, %w : memref<?x64xbf16>, memref<64x16xbf16>) outs(%acc : memref<?x16xf32>)
  linalg.copy ins(%acc : memref<?x16xf32>) outs(%keep : memref<?x16xf32>)
  return
}

// SHARED: error: gatec-gpu-tensor-core-matmul: block tile 256x128x32 with 3 stages needs 87552 bytes of shared memory; a kernel has 49152
// SHAPE: error: gatec-gpu-tensor-core-matmul: block tile 128x128x24 with 2 stages is not a multiple of the 2 x 4 warp grid
