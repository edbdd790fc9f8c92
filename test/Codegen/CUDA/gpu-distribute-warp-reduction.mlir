// RUN: gatec-opt %s --split-input-file --gatec-gpu-distribute=shared-scratch-bytes=0 --cse | FileCheck %s

// A router's top-k pass: the largest 64-bit key below a bound, per token. The
// token loop runs one token per warp, and the reduction is split among the
// lanes: each folds keys lane, lane + 32, ... from the initial value, five
// shuffle-xor steps (16 down to 1, each 64-bit value as two 32-bit halves)
// combine the partials with the same unsigned max, and lane 0 stores them.
// CHECK-LABEL: func.func @top_k_pass
// CHECK:       gpu.launch
// CHECK:         %[[LANE:.*]] = arith.remui %{{.*}}, %c32
// CHECK:         %[[FIRST:.*]] = arith.cmpi eq, %[[LANE]], %c0
// CHECK:         %[[INIT:.*]] = memref.load %[[ACC:.*]][] : memref<i64>
// CHECK:         %[[PART:.*]] = scf.for %[[E:.*]] = %[[LANE]] to %c64 step %c32 iter_args(%[[P:.*]] = %[[INIT]]) -> (i64) {
// CHECK:           %[[KEY:.*]] = memref.load %{{.*}}[%[[E]]]
// CHECK:           %[[LT:.*]] = arith.cmpi ult, %[[KEY]], %{{.*}} : i64
// CHECK:           %[[CAND:.*]] = arith.select %[[LT]], %[[KEY]], %{{.*}} : i64
// CHECK:           %[[MAX:.*]] = arith.maxui %[[P]], %[[CAND]] : i64
// CHECK:           scf.yield %[[MAX]] : i64
// CHECK:         gpu.shuffle  xor %{{.*}}, %c16_i32, %c32_i32 : i32
// CHECK:         gpu.shuffle  xor %{{.*}}, %c16_i32, %c32_i32 : i32
// CHECK:         %[[M16:.*]] = arith.maxui %[[PART]], %{{.*}} : i64
// CHECK-COUNT-2: gpu.shuffle  xor %{{.*}}, %c8_i32, %c32_i32 : i32
// CHECK:         arith.maxui %[[M16]], %{{.*}} : i64
// CHECK-COUNT-2: gpu.shuffle  xor %{{.*}}, %c4_i32, %c32_i32 : i32
// CHECK-COUNT-2: gpu.shuffle  xor %{{.*}}, %c2_i32, %c32_i32 : i32
// CHECK-COUNT-2: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32 : i32
// CHECK:         %[[RESULT:.*]] = arith.maxui
// CHECK:         nvvm.bar.warp.sync
// CHECK-NEXT:    scf.if %[[FIRST]] {
// CHECK-NEXT:      memref.store %[[RESULT]], %[[ACC]][] : memref<i64>
// CHECK:         nvvm.bar.warp.sync
func.func @top_k_pass(%keys: memref<?x64xi64>, %out: memref<?xi64>,
                      %bound: i64) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0 : i64
  %n = memref.dim %keys, %c0 : memref<?x64xi64>
  scf.forall (%t) in (%n) {
    %acc = memref.alloc() : memref<i64>
    linalg.fill ins(%zero : i64) outs(%acc : memref<i64>)
    %row = memref.subview %keys[%t, 0] [1, 64] [1, 1]
        : memref<?x64xi64> to memref<64xi64, strided<[1], offset: ?>>
    linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>,
                                     affine_map<(d0) -> ()>],
                    iterator_types = ["reduction"]}
        ins(%row : memref<64xi64, strided<[1], offset: ?>>)
        outs(%acc : memref<i64>) {
    ^bb0(%key: i64, %best: i64):
      %below = arith.cmpi ult, %key, %bound : i64
      %cand = arith.select %below, %key, %zero : i64
      %max = arith.maxui %best, %cand : i64
      linalg.yield %max : i64
    }
    %r = memref.load %acc[] : memref<i64>
    memref.store %r, %out[%t] : memref<?xi64>
  }
  return
}

// -----

// Sums (f32 addition is not associative) and maxnumf (which may return
// either zero of +0 == -0) depend on the order: they stay sequential loops.
// CHECK-LABEL: func.func @order_dependent
// CHECK-NOT:   gpu.shuffle
// CHECK:       scf.for
// CHECK-NOT:   gpu.shuffle
func.func @order_dependent(%x: memref<?x64xf32>, %out: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %x, %c0 : memref<?x64xf32>
  scf.forall (%t) in (%n) {
    %acc = memref.alloc() : memref<f32>
    %acc2 = memref.alloc() : memref<f32>
    linalg.fill ins(%zero : f32) outs(%acc : memref<f32>)
    linalg.fill ins(%zero : f32) outs(%acc2 : memref<f32>)
    %row = memref.subview %x[%t, 0] [1, 64] [1, 1]
        : memref<?x64xf32> to memref<64xf32, strided<[1], offset: ?>>
    linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>,
                                     affine_map<(d0) -> ()>],
                    iterator_types = ["reduction"]}
        ins(%row : memref<64xf32, strided<[1], offset: ?>>)
        outs(%acc : memref<f32>) {
    ^bb0(%v: f32, %s: f32):
      %sum = arith.addf %s, %v : f32
      linalg.yield %sum : f32
    }
    linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>,
                                     affine_map<(d0) -> ()>],
                    iterator_types = ["reduction"]}
        ins(%row : memref<64xf32, strided<[1], offset: ?>>)
        outs(%acc2 : memref<f32>) {
    ^bb0(%v: f32, %m: f32):
      %max = arith.maxnumf %m, %v : f32
      linalg.yield %max : f32
    }
    %r = memref.load %acc[] : memref<f32>
    %r2 = memref.load %acc2[] : memref<f32>
    %s = arith.addf %r, %r2 : f32
    memref.store %s, %out[%t] : memref<?xf32>
  }
  return
}
