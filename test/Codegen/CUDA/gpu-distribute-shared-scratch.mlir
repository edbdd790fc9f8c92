// RUN: gatec-opt %s --split-input-file --gatec-gpu-distribute | FileCheck %s
// RUN: gatec-opt %s --split-input-file --gatec-gpu-distribute=shared-scratch-bytes=0 | FileCheck %s --check-prefix=GLOBAL

// A router's per-token scratch (scores, and a strided view of them) with one
// token per warp: eight 256-byte slots (64 f32 each) in one shared buffer,
// the warp's slot at warp * 256. The view and the subview taken from it are
// in shared memory too; the host allocates nothing.
// CHECK-LABEL: func.func @per_warp_scratch
// CHECK-NOT:   memref.alloc
// CHECK:       gpu.launch {{.*}} workgroup(%[[SCRATCH:.+]] : memref<2048xi8, #gpu.address_space<workgroup>>
// CHECK:         %[[WARP:.+]] = arith.divui %{{.+}}, %c32
// CHECK:         %[[SHIFT:.+]] = arith.muli %[[WARP]], %c256
// CHECK:         %[[VIEW:.+]] = memref.view %[[SCRATCH]][%[[SHIFT]]][] : memref<2048xi8, #gpu.address_space<workgroup>> to memref<64xf32, #gpu.address_space<workgroup>>
// CHECK:         memref.store %{{.+}}, %[[VIEW]][%{{.+}}] : memref<64xf32, #gpu.address_space<workgroup>>
// CHECK:         %[[EVEN:.+]] = memref.subview %[[VIEW]][0] [32] [2] : memref<64xf32, #gpu.address_space<workgroup>> to memref<32xf32, strided<[2]>, #gpu.address_space<workgroup>>
// CHECK:         memref.load %[[EVEN]][%{{.+}}] : memref<32xf32, strided<[2]>, #gpu.address_space<workgroup>>
// CHECK-NOT:   memref.dealloc
// GLOBAL-LABEL: func.func @per_warp_scratch
// GLOBAL:       %[[WS:.+]] = memref.alloc(%{{.+}}) {alignment = 256 : i64} : memref<?xi8>
// GLOBAL:       gpu.launch
// GLOBAL:         memref.view %[[WS]][%{{.+}}][] : memref<?xi8> to memref<64xf32>
// GLOBAL:       memref.dealloc %[[WS]]
func.func @per_warp_scratch(%logits: memref<?x64xf32>, %best: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %ninf = arith.constant 0xFF800000 : f32
  %t = memref.dim %logits, %c0 : memref<?x64xf32>
  scf.parallel (%tok) = (%c0) to (%t) step (%c1) {
    %scores = memref.alloc() : memref<64xf32>
    scf.parallel (%e) = (%c0) to (%c64) step (%c1) {
      %v = memref.load %logits[%tok, %e] : memref<?x64xf32>
      memref.store %v, %scores[%e] : memref<64xf32>
      scf.reduce
    }
    %even = memref.subview %scores[0] [32] [2]
        : memref<64xf32> to memref<32xf32, strided<[2]>>
    %m = scf.for %e = %c0 to %c32 step %c1 iter_args(%a = %ninf) -> f32 {
      %v = memref.load %even[%e] : memref<32xf32, strided<[2]>>
      %n = arith.maximumf %a, %v : f32
      scf.yield %n : f32
    }
    memref.store %m, %best[%tok] : memref<?xf32>
    memref.dealloc %scores : memref<64xf32>
    scf.reduce
  }
  return
}

// -----

// A block's scratch beyond 44 KiB (one iteration per block, a 64 KiB tile)
// stays in a global workspace.
// CHECK-LABEL: func.func @per_block_large_scratch
// CHECK:       %[[WS:.+]] = memref.alloc(%{{.+}}) {alignment = 256 : i64} : memref<?xi8>
// CHECK:       gpu.launch
// CHECK-NOT:     #gpu.address_space<workgroup>
// CHECK:         memref.view %[[WS]]
func.func @per_block_large_scratch(%x: memref<?x16384xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16384 = arith.constant 16384 : index
  %n = memref.dim %x, %c0 : memref<?x16384xf32>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %tile = memref.alloc() : memref<16384xf32>
    scf.parallel (%j) = (%c0) to (%c16384) step (%c1) {
      %v = memref.load %x[%i, %j] : memref<?x16384xf32>
      memref.store %v, %tile[%j] : memref<16384xf32>
      scf.reduce
    }
    scf.parallel (%j) = (%c0) to (%c16384) step (%c1) {
      %v = memref.load %tile[%j] : memref<16384xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %x[%i, %j] : memref<?x16384xf32>
      scf.reduce
    }
    scf.reduce
  }
  return
}
