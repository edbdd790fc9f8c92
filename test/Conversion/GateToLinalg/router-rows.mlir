// RUN: gatec-opt %s --convert-gate-to-linalg=router-rows=4 --cse | FileCheck %s
// RUN: not gatec-opt %s --convert-gate-to-linalg=router-rows=0 2>&1 | FileCheck %s --check-prefix=ZERO

// Routers with several tokens per iteration (the CPU pipeline's schedule):
// one forall over the groups of four tokens, whose top-k loop carries every
// token's (bound, weights, experts, sum) so that their passes interleave,
// and one forall over the tokens left over, a token per iteration.
// router.mlir checks a token's math; routers.mlir (Target/CPU) runs this
// schedule against the reference at T = 0, 1, 3, 37 and 300.

// CHECK-LABEL: func.func @dynamic
// CHECK-SAME:    ([[LOGITS:%.+]]: tensor<?x8xf32>)
// CHECK-DAG:     [[C4:%.+]] = arith.constant 4 : index
// CHECK-DAG:     [[T:%.+]] = tensor.dim [[LOGITS]]
// CHECK:         [[GROUPS:%.+]] = arith.divui [[T]], [[C4]] : index
// CHECK:         [[GROUPED:%.+]] = arith.muli [[GROUPS]], [[C4]] : index
// CHECK:         [[MAIN:%.+]]:2 = scf.forall ([[G:%.+]]) in ([[GROUPS]]) shared_outs([[W:%.+]] = {{%.+}}, [[E:%.+]] = {{%.+}})
// CHECK:           [[T0:%.+]] = arith.muli [[G]], [[C4]] : index
// CHECK:           tensor.extract_slice [[LOGITS]][[[T0]], 0] [1, 8]
// CHECK:           [[T1:%.+]] = arith.addi [[T0]], %c1
// CHECK:           tensor.extract_slice [[LOGITS]][[[T1]], 0] [1, 8]
// CHECK:           [[T2:%.+]] = arith.addi [[T0]], %c2
// CHECK:           tensor.extract_slice [[LOGITS]][[[T2]], 0] [1, 8]
// CHECK:           [[T3:%.+]] = arith.addi [[T0]], %c3
// CHECK:           tensor.extract_slice [[LOGITS]][[[T3]], 0] [1, 8]
// CHECK:           [[TOP:%.+]]:16 = scf.for
// CHECK-SAME:        -> (i64, tensor<2xf32>, tensor<2xi32>, f32, i64, tensor<2xf32>, tensor<2xi32>, f32, i64, tensor<2xf32>, tensor<2xi32>, f32, i64, tensor<2xf32>, tensor<2xi32>, f32)
// CHECK-COUNT-4:     arith.minui
// CHECK-NOT:         arith.minui
// CHECK:             scf.yield
// CHECK:           scf.forall.in_parallel
// CHECK-NEXT:        tensor.parallel_insert_slice {{%.+}} into [[W]][[[T0]], 0] [1, 2]
// CHECK-NEXT:        tensor.parallel_insert_slice [[TOP]]#2 into [[E]][[[T0]], 0] [1, 2]
// CHECK-NEXT:        tensor.parallel_insert_slice {{%.+}} into [[W]][[[T1]], 0] [1, 2]
// CHECK-NEXT:        tensor.parallel_insert_slice [[TOP]]#6 into [[E]][[[T1]], 0] [1, 2]
// CHECK-NEXT:        tensor.parallel_insert_slice {{%.+}} into [[W]][[[T2]], 0] [1, 2]
// CHECK-NEXT:        tensor.parallel_insert_slice [[TOP]]#10 into [[E]][[[T2]], 0] [1, 2]
// CHECK-NEXT:        tensor.parallel_insert_slice {{%.+}} into [[W]][[[T3]], 0] [1, 2]
// CHECK-NEXT:        tensor.parallel_insert_slice [[TOP]]#14 into [[E]][[[T3]], 0] [1, 2]
// CHECK:         [[REST:%.+]] = arith.subi [[T]], [[GROUPED]] : index
// CHECK:         [[TAIL:%.+]]:2 = scf.forall ([[I:%.+]]) in ([[REST]]) shared_outs([[W2:%.+]] = [[MAIN]]#0, [[E2:%.+]] = [[MAIN]]#1)
// CHECK:           [[TOK:%.+]] = arith.addi [[I]], [[GROUPED]] : index
// CHECK:           tensor.extract_slice [[LOGITS]][[[TOK]], 0] [1, 8]
// CHECK:           scf.for {{.*}} -> (i64, tensor<2xf32>, tensor<2xi32>, f32)
// CHECK:           scf.forall.in_parallel
// CHECK-NEXT:        tensor.parallel_insert_slice {{%.+}} into [[W2]][[[TOK]], 0] [1, 2]
// CHECK-NEXT:        tensor.parallel_insert_slice {{%.+}} into [[E2]][[[TOK]], 0] [1, 2]
// CHECK:         return [[TAIL]]#0, [[TAIL]]#1
func.func @dynamic(%logits: tensor<?x8xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %e = gate.router <softmax> %logits {k = 2 : i64, renormalize = true}
      : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  return %w, %e : tensor<?x2xf32>, tensor<?x2xi32>
}

// Static T: the loop counts fold, and a loop with nothing to do is left out.
// CHECK-LABEL: func.func @static_six
// CHECK:         [[MAIN:%.+]]:2 = scf.forall ({{%.+}}) in (%c1{{(_[0-9]+)?}})
// CHECK:           scf.for {{.*}} -> (i64, tensor<2xf32>, tensor<2xi32>, f32, i64,
// CHECK:         scf.forall ([[I:%.+]]) in (%c2{{(_[0-9]+)?}}) shared_outs({{%.+}} = [[MAIN]]#0, {{%.+}} = [[MAIN]]#1)
// CHECK:           arith.addi [[I]], %c4
func.func @static_six(%logits: tensor<6x8xf32>) -> (tensor<6x2xf32>, tensor<6x2xi32>) {
  %w, %e = gate.router <softmax> %logits {k = 2 : i64}
      : tensor<6x8xf32> -> tensor<6x2xf32>, tensor<6x2xi32>
  return %w, %e : tensor<6x2xf32>, tensor<6x2xi32>
}

// CHECK-LABEL: func.func @static_eight
// CHECK:         scf.forall ({{%.+}}) in (%c2{{(_[0-9]+)?}})
// CHECK-NOT:     scf.forall (
// CHECK:         return
func.func @static_eight(%logits: tensor<8x8xf32>) -> (tensor<8x2xf32>, tensor<8x2xi32>) {
  %w, %e = gate.router <softmax> %logits {k = 2 : i64}
      : tensor<8x8xf32> -> tensor<8x2xf32>, tensor<8x2xi32>
  return %w, %e : tensor<8x2xf32>, tensor<8x2xi32>
}

// CHECK-LABEL: func.func @static_three
// CHECK:         scf.forall ({{%.+}}) in (%c3{{(_[0-9]+)?}})
// CHECK:           scf.for {{.*}} -> (i64, tensor<2xf32>, tensor<2xi32>, f32) {
// CHECK-NOT:     scf.forall (
// CHECK:         return
func.func @static_three(%logits: tensor<3x8xf32>) -> (tensor<3x2xf32>, tensor<3x2xi32>) {
  %w, %e = gate.router <softmax> %logits {k = 2 : i64}
      : tensor<3x8xf32> -> tensor<3x2xf32>, tensor<3x2xi32>
  return %w, %e : tensor<3x2xf32>, tensor<3x2xi32>
}

// ZERO: convert-gate-to-linalg: router-rows must be >= 1, got 0
