// RUN: gatec-opt %s --split-input-file --gatec-gpu-distribute="one-launch-work=-1 shared-scratch-bytes=0" | FileCheck %s

// A loop with no parallel loop inside: one iteration per thread, blocks of
// 256, the flat index guarded and delinearized row-major.
// CHECK-LABEL: func.func @per_thread
// CHECK:       %[[GRID:.*]] = arith.ceildivui %[[TOTAL:.*]], %c256
// CHECK:       gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[GRID]], {{.*}} threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c256
// CHECK:         %[[GID:.*]] = arith.addi %{{.*}}, %[[TX]]
// CHECK:         %[[IN:.*]] = arith.cmpi ult, %[[GID]], %[[TOTAL]]
// CHECK:         scf.if %[[IN]] {
// CHECK:           arith.remui %[[GID]]
// CHECK:           arith.divui %[[GID]]
// CHECK:           memref.store
// CHECK-NOT:   scf.parallel
func.func @per_thread(%out: memref<?x130xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c130 = arith.constant 130 : index
  %cst = arith.constant 0.0 : f32
  %n = memref.dim %out, %c0 : memref<?x130xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c130) step (%c1, %c1) {
    memref.store %cst, %out[%i, %j] : memref<?x130xf32>
    scf.reduce
  }
  return
}

// -----

// A loop with parallel loops inside: one iteration per block. The inner
// loops are spread over the threads with a barrier after each; the scratch
// buffer of each iteration is a view into a workspace slot (its dynamic size
// bounded by 64 rows: 64 x 16 x 4 bytes); a reduction that writes memory
// runs on thread 0 between barriers (the loop's barrier serves as the first)
// and hands its result to the block through shared memory.
// CHECK-LABEL: func.func @per_block
// CHECK:       %[[BYTES:.*]] = arith.muli %{{.*}}, %c4096 : index
// CHECK:       %[[WS:.*]] = memref.alloc(%[[BYTES]]) {alignment = 256 : i64} : memref<?xi8>
// CHECK:       gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in ({{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c256{{.*}}) workgroup(%[[CELL:.*]] : memref<1xf32, #gpu.address_space<workgroup>>)
// CHECK:         %[[SHIFT:.*]] = arith.muli %[[BX]], %c4096
// CHECK:         %[[SCRATCH:.*]] = memref.view %[[WS]][%[[SHIFT]]][%{{.*}}] : memref<?xi8> to memref<?x16xf32>
// CHECK:         scf.for %{{.*}} = %[[TX]] to %{{.*}} step %c256
// CHECK:           memref.store %{{.*}}, %[[SCRATCH]]
// CHECK:         gpu.barrier
// CHECK-NOT:     gpu.barrier
// CHECK:         %[[FIRST:.*]] = arith.cmpi eq, %[[TX]], %c0
// CHECK:         scf.if %[[FIRST]] {
// CHECK:           %[[SUM:.*]] = scf.for
// CHECK:           memref.store %[[SUM]], %[[CELL]][%c0
// CHECK:         gpu.barrier
// CHECK:         %[[SHARED:.*]] = memref.load %[[CELL]]
// CHECK:         scf.for %{{.*}} = %[[TX]] to
// CHECK:           arith.mulf %{{.*}}, %[[SHARED]]
// CHECK:         gpu.barrier
// CHECK:       memref.dealloc %[[WS]]
// CHECK-NOT:   scf.parallel
func.func @per_block(%x: memref<?x?x16xf32>, %acc: memref<?xf32>, %y: memref<?x?x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %cst = arith.constant 0.0 : f32
  %b = memref.dim %x, %c0 : memref<?x?x16xf32>
  %t = memref.dim %x, %c1 : memref<?x?x16xf32>
  scf.parallel (%s) = (%c0) to (%b) step (%c1) {
    %rows = affine.min affine_map<()[s0] -> (s0, 64)>()[%t]
    %scratch = memref.alloc(%rows) : memref<?x16xf32>
    scf.parallel (%i, %j) = (%c0, %c0) to (%rows, %c16) step (%c1, %c1) {
      %v = memref.load %x[%s, %i, %j] : memref<?x?x16xf32>
      memref.store %v, %scratch[%i, %j] : memref<?x16xf32>
      scf.reduce
    }
    %sum = scf.for %i = %c0 to %rows step %c1 iter_args(%a = %cst) -> f32 {
      %v = memref.load %scratch[%i, %c0] : memref<?x16xf32>
      %n = arith.addf %a, %v : f32
      memref.store %n, %acc[%s] : memref<?xf32>
      scf.yield %n : f32
    }
    scf.parallel (%i, %j) = (%c0, %c0) to (%rows, %c16) step (%c1, %c1) {
      %v = memref.load %scratch[%i, %j] : memref<?x16xf32>
      %w = arith.mulf %v, %sum : f32
      memref.store %w, %y[%s, %i, %j] : memref<?x?x16xf32>
      scf.reduce
    }
    memref.dealloc %scratch : memref<?x16xf32>
    scf.reduce
  }
  return
}

// -----

// Top-level code that touches memory runs in one one-thread launch (the
// host never reads device memory); a size the host needs afterwards stays
// on the host.
// CHECK-LABEL: func.func @sequential
// CHECK:       gpu.launch blocks({{.*}}) in (%{{.*}} = %c1{{.*}}) threads({{.*}}) in (%{{.*}} = %c1
// CHECK:         %[[C:.*]] = scf.for
// CHECK:         memref.store %[[C]]
// CHECK:         gpu.terminator
// CHECK:       memref.dim
// CHECK:       return
func.func @sequential(%e: memref<?xi32>, %count: memref<1xi32>) -> index {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0 : i32
  %n = memref.dim %e, %c0 : memref<?xi32>
  %total = scf.for %i = %c0 to %n step %c1 iter_args(%a = %zero) -> i32 {
    %v = memref.load %e[%i] : memref<?xi32>
    %s = arith.addi %a, %v : i32
    scf.yield %s : i32
  }
  memref.store %total, %count[%c0] : memref<1xi32>
  %m = memref.dim %e, %c0 : memref<?xi32>
  return %m : index
}

// -----

// Inner loops with a constant trip count of at most warp-loop-limit (a
// router's loops over its experts) take one warp per iteration: eight
// tokens per block of 256, warp syncs instead of block barriers, one shared
// cell per warp for the values lane 0 hands on.
// CHECK-LABEL: func.func @per_warp
// CHECK:       %[[GRID:.*]] = arith.ceildivui %{{.*}}, %c8
// CHECK:       gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[GRID]]{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c256{{.*}}) workgroup(%[[CELL:.*]] : memref<8xf32, #gpu.address_space<workgroup>>)
// CHECK:         %[[LANE:.*]] = arith.remui %[[TX]], %c32
// CHECK:         %[[WARP:.*]] = arith.divui %[[TX]], %c32
// CHECK:         %[[TOKEN:.*]] = arith.addi %{{.*}}, %[[WARP]]
// CHECK:         scf.if
// CHECK:           scf.for %{{.*}} = %[[LANE]] to %{{.*}} step %c32
// CHECK:           nvvm.bar.warp.sync
// CHECK:           %[[FIRST:.*]] = arith.cmpi eq, %[[LANE]], %c0
// CHECK:           scf.if %[[FIRST]] {
// CHECK:             memref.store %{{.*}}, %[[CELL]][%[[WARP]]]
// CHECK:           nvvm.bar.warp.sync
// CHECK:           memref.load %[[CELL]][%[[WARP]]]
// CHECK-NOT:     gpu.barrier
func.func @per_warp(%logits: memref<?x64xf32>, %best: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %ninf = arith.constant 0xFF800000 : f32
  %t = memref.dim %logits, %c0 : memref<?x64xf32>
  scf.parallel (%tok) = (%c0) to (%t) step (%c1) {
    %scratch = memref.alloc() : memref<64xf32>
    scf.parallel (%e) = (%c0) to (%c64) step (%c1) {
      %v = memref.load %logits[%tok, %e] : memref<?x64xf32>
      memref.store %v, %scratch[%e] : memref<64xf32>
      scf.reduce
    }
    %m = scf.for %e = %c0 to %c64 step %c1 iter_args(%a = %ninf) -> f32 {
      %v = memref.load %scratch[%e] : memref<64xf32>
      %n = arith.maximumf %a, %v : f32
      memref.store %n, %best[%tok] : memref<?xf32>
      scf.yield %n : f32
    }
    scf.parallel (%e) = (%c0) to (%c64) step (%c1) {
      %v = memref.load %scratch[%e] : memref<64xf32>
      %d = arith.subf %v, %m : f32
      memref.store %d, %logits[%tok, %e] : memref<?x64xf32>
      scf.reduce
    }
    scf.reduce
  }
  return
}

// -----

// Copies inside a loop (the shape of a counting sort's passes): a forall's
// in-place write-back (a slice copied onto itself) disappears, a
// one-element copy (a scatter's write) is a load and a store, and a chunk's
// private copy of its cursors is a serial loop. None of them is work for a
// group, so both loops run one iteration per thread.
// CHECK-LABEL: func.func @copies_per_thread
// CHECK:         gpu.launch
// CHECK-NOT:       memref.copy
// CHECK:           scf.for
// CHECK:             memref.load %{{.+}} : memref<8xi32, strided<[1], offset: ?>>
// CHECK:             memref.store
// CHECK:           scf.for
// CHECK:         gpu.terminator
// CHECK:         gpu.launch
// CHECK:           %[[ID:.+]] = memref.load %{{.+}}[%{{.+}}] : memref<1xi32, strided<[1], offset: ?>>
// CHECK:           memref.store %[[ID]], %{{.+}}[%{{.+}}] : memref<1xi32, strided<[1], offset: ?>>
// CHECK-NOT:     scf.parallel
// CHECK-NOT:     memref.copy
func.func @copies_per_thread(%table: memref<?x8xi32>, %ids: memref<?xi32>,
                             %dest: memref<?xi32>, %pos: memref<?xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %n = memref.dim %table, %c0 : memref<?x8xi32>
  scf.forall (%c) in (%n) {
    %row = memref.subview %table[%c, 0] [1, 8] [1, 1]
        : memref<?x8xi32> to memref<8xi32, strided<[1], offset: ?>>
    %cursors = memref.alloc() : memref<8xi32>
    memref.copy %row, %cursors : memref<8xi32, strided<[1], offset: ?>> to memref<8xi32>
    scf.for %e = %c0 to %c8 step %c1 {
      %v = memref.load %cursors[%e] : memref<8xi32>
      memref.store %v, %row[%e] : memref<8xi32, strided<[1], offset: ?>>
    }
    memref.copy %row, %row : memref<8xi32, strided<[1], offset: ?>> to memref<8xi32, strided<[1], offset: ?>>
  }
  %m = memref.dim %ids, %c0 : memref<?xi32>
  scf.forall (%j) in (%m) {
    %p = memref.load %pos[%j] : memref<?xi32>
    %at = arith.index_cast %p : i32 to index
    %src = memref.subview %ids[%j] [1] [1] : memref<?xi32> to memref<1xi32, strided<[1], offset: ?>>
    %dst = memref.subview %dest[%at] [1] [1] : memref<?xi32> to memref<1xi32, strided<[1], offset: ?>>
    memref.copy %src, %dst : memref<1xi32, strided<[1], offset: ?>> to memref<1xi32, strided<[1], offset: ?>>
  }
  return
}
