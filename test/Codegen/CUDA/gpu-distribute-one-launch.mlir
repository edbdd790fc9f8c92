// RUN: gatec-opt %s --split-input-file --gatec-gpu-distribute | FileCheck %s
// RUN: gatec-opt %s --split-input-file --gatec-gpu-distribute=one-launch-work=-1 | FileCheck %s --check-prefix=OFF

// A kernel of several launches (a per-token loop writing expert ids, a
// per-expert count over them, a one-thread write) gets a one-launch path for
// small problems. The host compares the sequential iterations per thread
// that running the count loop in one block adds (its iterations beyond 256
// per thread, times its body: one plus its inner loop over 16 ids) with
// 128. The one launch has at least one block; each block runs its share of
// the first loop, then its first thread fences, counts the block done on
// the zeroed counter and fences again, and the last block to count runs the
// rest: the count loop spread over its threads (a barrier after it), then
// the write on its first thread. The usual launches stay in the else branch.
// CHECK-LABEL: func.func @route_then_count
// CHECK:         %[[LESS:.+]] = arith.subi %[[TRIPS:.+]], %c1{{.*}} : index
// CHECK:         %[[BEYOND:.+]] = arith.maxsi %[[LESS]], %c0{{.*}} : index
// CHECK:         %[[ROUNDS:.+]] = arith.divui %[[BEYOND]], %c256{{.*}} : index
// CHECK:         %[[WORK:.+]] = arith.muli %[[ROUNDS]], %c17 : index
// CHECK:         %[[SMALL:.+]] = arith.cmpi ule, %[[WORK]], %c128 : index
// CHECK:         scf.if %[[SMALL]] {
// CHECK:           %[[COUNTER:.+]] = memref.alloc() {alignment = 256 : i64} : memref<1xi32>
// CHECK:           gpu.memset %[[COUNTER]], %c0_i32{{.*}} : memref<1xi32>, i32
// CHECK:           %[[GRID:.+]] = arith.maxui %{{.+}}, %c1{{.*}} : index
// CHECK:           gpu.launch blocks(%{{.+}}, %{{.+}}, %{{.+}}) in (%[[GX:.+]] = %[[GRID]], %{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}}) threads(%[[TX:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %c256{{.*}}, %{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}}) workgroup(%[[CELL:.+]] : memref<1xi32, #gpu.address_space<workgroup>>) {
// CHECK:             arith.cmpi ult
// CHECK:             scf.if
// CHECK:               memref.store %{{.+}}, %arg0[%{{.+}}] : memref<?xi32>
// CHECK:             gpu.barrier
// CHECK:             %[[FIRST:.+]] = arith.cmpi eq, %[[TX]], %c0
// CHECK:             scf.if %[[FIRST]] {
// CHECK-NEXT:          nvvm.memory.barrier <gpu>
// CHECK:               %[[DONE:.+]] = memref.atomic_rmw addi %{{.+}}, %[[COUNTER]][%{{.+}}] {gatec.one_launch_count} : (i32, memref<1xi32>) -> i32
// CHECK-NEXT:          nvvm.memory.barrier <gpu>
// CHECK-NEXT:          memref.store %[[DONE]], %[[CELL]]
// CHECK:             gpu.barrier
// CHECK:             %[[BEFORE:.+]] = memref.load %[[CELL]]
// CHECK:             %[[LASTID:.+]] = arith.subi %[[GX]], %c1
// CHECK:             %[[LASTI32:.+]] = arith.index_cast %[[LASTID]] : index to i32
// CHECK:             %[[LAST:.+]] = arith.cmpi eq, %[[BEFORE]], %[[LASTI32]] : i32
// CHECK:             scf.if %[[LAST]] {
// CHECK:               scf.for %{{.+}} = %[[TX]] to %{{.+}} step %c256
// CHECK:                 scf.for
// CHECK:                   memref.load %arg0
// CHECK:                 memref.store %{{.+}}, %arg1
// CHECK:               gpu.barrier
// CHECK:               scf.if
// CHECK:                 memref.store %{{.+}}, %arg2
// CHECK:             gpu.terminator
// CHECK:           memref.dealloc %[[COUNTER]]
// CHECK:         } else {
// CHECK:           gpu.launch
// CHECK:           gpu.launch
// CHECK:           gpu.launch
// CHECK-NOT:       gpu.memset
// CHECK:         }
// CHECK-NOT:     scf.parallel
// OFF-LABEL:   func.func @route_then_count
// OFF-NOT:       scf.if
// OFF-NOT:       gpu.memset
// OFF:           gpu.launch
// OFF:           gpu.launch
// OFF:           gpu.launch
func.func @route_then_count(%ids: memref<?xi32>, %counts: memref<?xi32>,
                            %total: memref<1xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c0_i32 = arith.constant 0 : i32
  %c1_i32 = arith.constant 1 : i32
  %n = memref.dim %ids, %c0 : memref<?xi32>
  scf.parallel (%t) = (%c0) to (%n) step (%c1) {
    %e = arith.index_cast %t : index to i32
    %id = arith.remui %e, %c1_i32 : i32
    memref.store %id, %ids[%t] : memref<?xi32>
    scf.reduce
  }
  %experts = memref.dim %counts, %c0 : memref<?xi32>
  scf.parallel (%e) = (%c0) to (%experts) step (%c1) {
    %ei = arith.index_cast %e : index to i32
    %sum = scf.for %t = %c0 to %c16 step %c1 iter_args(%acc = %c0_i32) -> i32 {
      %id = memref.load %ids[%t] : memref<?xi32>
      %hit = arith.cmpi eq, %id, %ei : i32
      %one = arith.extui %hit : i1 to i32
      %next = arith.addi %acc, %one : i32
      scf.yield %next : i32
    }
    memref.store %sum, %counts[%e] : memref<?xi32>
    scf.reduce
  }
  %nt = arith.index_cast %n : index to i32
  memref.store %nt, %total[%c0] : memref<1xi32>
  return
}

// -----

// A later loop whose inner loop runs to a value read from memory has no
// bound the host can check: no one-launch path.
// CHECK-LABEL: func.func @data_dependent_inner_loop
// CHECK-NOT:     gpu.memset
// CHECK:         gpu.launch
// CHECK:         gpu.launch
// CHECK-NOT:     } else {
// CHECK:         return
func.func @data_dependent_inner_loop(%ids: memref<?xi32>, %counts: memref<8xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c1_i32 = arith.constant 1 : i32
  %n = memref.dim %ids, %c0 : memref<?xi32>
  scf.parallel (%t) = (%c0) to (%n) step (%c1) {
    memref.store %c1_i32, %ids[%t] : memref<?xi32>
    scf.reduce
  }
  scf.parallel (%e) = (%c0) to (%c8) step (%c1) {
    %len = memref.load %ids[%e] : memref<?xi32>
    %ub = arith.index_cast %len : i32 to index
    scf.for %t = %c0 to %ub step %c1 {
      memref.store %c1_i32, %counts[%e] : memref<8xi32>
    }
    scf.reduce
  }
  return
}

// -----

// A kernel whose first write is not a loop keeps its usual launches, and so
// does one whose later loop holds a loop for a group of threads.
// CHECK-LABEL: func.func @write_first
// CHECK-NOT:     gpu.memset
// CHECK-LABEL: func.func @nested_later_loop
// CHECK-NOT:     gpu.memset
func.func @write_first(%ids: memref<?xi32>, %total: memref<1xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c1_i32 = arith.constant 1 : i32
  memref.store %c1_i32, %total[%c0] : memref<1xi32>
  %n = memref.dim %ids, %c0 : memref<?xi32>
  scf.parallel (%t) = (%c0) to (%n) step (%c1) {
    memref.store %c1_i32, %ids[%t] : memref<?xi32>
    scf.reduce
  }
  return
}

func.func @nested_later_loop(%ids: memref<?xi32>, %table: memref<8x8xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c1_i32 = arith.constant 1 : i32
  %n = memref.dim %ids, %c0 : memref<?xi32>
  scf.parallel (%t) = (%c0) to (%n) step (%c1) {
    memref.store %c1_i32, %ids[%t] : memref<?xi32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
      memref.store %c1_i32, %table[%i, %j] : memref<8x8xi32>
      scf.reduce
    }
    scf.reduce
  }
  return
}
