// RUN: gatec-opt %s --loop-invariant-subset-hoisting --split-input-file | FileCheck %s

// gatec registers its own subset models for tensor slices (SliceEquivalence.cpp):
// an extract_slice and an insert_slice are the same subset when their offsets,
// sizes and strides are the same SSA values or constants. That is what lets the
// subset hoisting below move a loop's extract/insert pair out of the loop.

// CHECK-LABEL: func.func @same_values
//       CHECK:   tensor.extract_slice %{{.*}}[%[[OFF:.*]]] [5] [1]
//       CHECK:   scf.for
//   CHECK-NOT:     tensor.extract_slice
//       CHECK:     arith.addf
//       CHECK:     scf.yield
//       CHECK:   tensor.insert_slice %{{.*}}[%[[OFF]]] [5] [1]
func.func @same_values(%t: tensor<?xf32>, %n: index, %off: index) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %iv = %c0 to %n step %c1 iter_args(%acc = %t) -> tensor<?xf32> {
    %e = tensor.extract_slice %acc[%off] [5] [1] : tensor<?xf32> to tensor<5xf32>
    %f = arith.addf %e, %e : tensor<5xf32>
    %i = tensor.insert_slice %f into %acc[%off] [5] [1] : tensor<5xf32> into tensor<?xf32>
    scf.yield %i : tensor<?xf32>
  }
  return %r : tensor<?xf32>
}

// -----

// Offsets equal only by arithmetic (off + 1 - 1) are "not known" to be the same:
// the pair stays in the loop. Upstream's model would prove it with a Presburger
// system over the offsets' whole backward slice, which cost 80% of a chunked
// scan's compile time.
// CHECK-LABEL: func.func @equal_by_arithmetic
//       CHECK:   scf.for
//       CHECK:     tensor.extract_slice
//       CHECK:     arith.addf
//       CHECK:     tensor.insert_slice
//       CHECK:     scf.yield
func.func @equal_by_arithmetic(%t: tensor<?xf32>, %n: index, %off: index) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %up = arith.addi %off, %c1 : index
  %same = arith.subi %up, %c1 : index
  %r = scf.for %iv = %c0 to %n step %c1 iter_args(%acc = %t) -> tensor<?xf32> {
    %e = tensor.extract_slice %acc[%off] [5] [1] : tensor<?xf32> to tensor<5xf32>
    %f = arith.addf %e, %e : tensor<5xf32>
    %i = tensor.insert_slice %f into %acc[%same] [5] [1] : tensor<5xf32> into tensor<?xf32>
    scf.yield %i : tensor<?xf32>
  }
  return %r : tensor<?xf32>
}

// -----

// A second slice at the same offsets (here of another size, as a tile and its
// partial last tile are) overlaps the pair's unless one is empty: gatec's model
// answers "not known to be disjoint" without a proof, as the proof would, so
// the pair stays in the loop (hoisting it would move the write past the read).
// CHECK-LABEL: func.func @same_offsets_overlap
//       CHECK:   scf.for
//       CHECK:     tensor.extract_slice %{{.*}}[%{{.*}}] [5] [1]
//       CHECK:     tensor.extract_slice %{{.*}}[%{{.*}}] [%{{.*}}] [1]
//       CHECK:     tensor.insert_slice
//       CHECK:     scf.yield
func.func @same_offsets_overlap(%t: tensor<?xf32>, %n: index, %off: index, %m: index) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %iv = %c0 to %n step %c1 iter_args(%acc = %t) -> tensor<?xf32> {
    %e = tensor.extract_slice %acc[%off] [5] [1] : tensor<?xf32> to tensor<5xf32>
    %g = tensor.extract_slice %acc[%off] [%m] [1] : tensor<?xf32> to tensor<?xf32>
    %x = tensor.extract %g[%c0] : tensor<?xf32>
    %s = tensor.splat %x : tensor<5xf32>
    %f = arith.addf %e, %s : tensor<5xf32>
    %i = tensor.insert_slice %f into %acc[%off] [5] [1] : tensor<5xf32> into tensor<?xf32>
    scf.yield %i : tensor<?xf32>
  }
  return %r : tensor<?xf32>
}
