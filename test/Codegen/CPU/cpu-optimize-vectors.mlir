// RUN: gatec-opt %s --pass-pipeline='builtin.module(func.func(gatec-cpu-optimize-vectors))' | FileCheck %s

// Per-token scratch of a parallel loop moves to the stack at the start of its
// body, including a buffer allocated in a sequential loop nested in it whose
// uses stay in the iteration. A buffer over 4 KiB stays on the heap, and so
// does one that a sequential loop yields to its next iteration.
// CHECK-LABEL: func.func @per_token_scratch(
// CHECK:         scf.forall
// CHECK-DAG:       memref.alloca() : memref<4xf32>
// CHECK-DAG:       memref.alloca() : memref<f32>
// CHECK-DAG:       memref.alloca() {alignment = 64 : i64} : memref<64xf32>
// CHECK:           scf.for
// CHECK-NOT:         memref.alloc
// CHECK:           memref.alloc() : memref<2048xf32>
// CHECK:           scf.for
// CHECK:             memref.alloc() : memref<4xf32>
// CHECK:             scf.yield
// CHECK-NOT:       memref.alloc
func.func @per_token_scratch(%in: memref<?x64xf32>, %out: memref<?xf32>, %big_out: memref<2048xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %pad = arith.constant 0.0 : f32
  %n = memref.dim %in, %c0 : memref<?x64xf32>
  scf.forall (%i) in (%n) {
    %row = memref.subview %in[%i, 0] [1, 64] [1, 1] : memref<?x64xf32> to memref<64xf32, strided<[1], offset: ?>>
    %tmp = memref.alloc() {alignment = 64 : i64} : memref<64xf32>
    %v = vector.transfer_read %row[%c0], %pad {in_bounds = [true]} : memref<64xf32, strided<[1], offset: ?>>, vector<64xf32>
    vector.transfer_write %v, %tmp[%c0] {in_bounds = [true]} : vector<64xf32>, memref<64xf32>
    %s = scf.for %j = %c0 to %c4 step %c1 iter_args(%acc = %pad) -> f32 {
      %cell = memref.alloc() : memref<f32>
      %w = vector.transfer_read %tmp[%c0], %pad {in_bounds = [true]} : memref<64xf32>, vector<64xf32>
      %r = vector.multi_reduction <add>, %w, %acc [0] : vector<64xf32> to f32
      memref.store %r, %cell[] : memref<f32>
      %l = memref.load %cell[] : memref<f32>
      scf.yield %l : f32
    }
    %big = memref.alloc() : memref<2048xf32>
    memref.copy %big, %big_out : memref<2048xf32> to memref<2048xf32>
    %init = memref.alloc() : memref<4xf32>
    %last = scf.for %j = %c0 to %c4 step %c1 iter_args(%buf = %init) -> memref<4xf32> {
      %next = memref.alloc() : memref<4xf32>
      memref.store %s, %next[%j] : memref<4xf32>
      scf.yield %next : memref<4xf32>
    }
    %x = memref.load %last[%c0] : memref<4xf32>
    memref.store %x, %out[%i] : memref<?xf32>
  }
  return
}

// A reduction of a 1-D vector to a scalar is a tree of halves: 64 -> 32 ->
// ... -> 1 elementwise, then the accumulator.
// CHECK-LABEL: func.func @tree_reduction(
// CHECK-SAME:    %[[V:.+]]: vector<64xi64>, %[[ACC:.+]]: i64)
// CHECK:         %[[L32:.+]] = vector.extract_strided_slice %[[V]] {offsets = [0], sizes = [32], strides = [1]}
// CHECK:         %[[H32:.+]] = vector.extract_strided_slice %[[V]] {offsets = [32], sizes = [32], strides = [1]}
// CHECK:         %[[M32:.+]] = arith.maxui %[[L32]], %[[H32]] : vector<32xi64>
// CHECK:         arith.maxui {{.*}} : vector<16xi64>
// CHECK:         arith.maxui {{.*}} : vector<8xi64>
// CHECK:         arith.maxui {{.*}} : vector<4xi64>
// CHECK:         arith.maxui {{.*}} : vector<2xi64>
// CHECK:         %[[M1:.+]] = arith.maxui {{.*}} : vector<1xi64>
// CHECK:         %[[E:.+]] = vector.extract %[[M1]][0] : i64 from vector<1xi64>
// CHECK:         %[[R:.+]] = arith.maxui %[[E]], %[[ACC]] : i64
// CHECK:         return %[[R]]
// CHECK-NOT:     vector.multi_reduction
func.func @tree_reduction(%v: vector<64xi64>, %acc: i64) -> i64 {
  %r = vector.multi_reduction <maxui>, %v, %acc [0] : vector<64xi64> to i64
  return %r : i64
}

// A width that is not a power of two halves while it is even, then reduces
// the rest with one vector.reduction.
// CHECK-LABEL: func.func @odd_width(
// CHECK:         arith.addf {{.*}} : vector<12xf32>
// CHECK:         arith.addf {{.*}} : vector<6xf32>
// CHECK:         arith.addf {{.*}} : vector<3xf32>
// CHECK:         vector.reduction <add>, %{{.+}}, %{{.+}} : vector<3xf32> into f32
func.func @odd_width(%v: vector<24xf32>, %acc: f32) -> f32 {
  %r = vector.multi_reduction <add>, %v, %acc [0] : vector<24xf32> to f32
  return %r : f32
}
