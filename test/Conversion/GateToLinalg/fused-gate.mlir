// RUN: gatec-opt %s --convert-gate-to-linalg | FileCheck %s
// RUN: gatec-check %s --dim T=37 | FileCheck %s --check-prefix=EXEC
// RUN: gatec-check %s --dim T=1 | FileCheck %s --check-prefix=EXEC
// RUN: gatec-check %s --dim T=0 | FileCheck %s --check-prefix=EXEC
// EXEC-NOT: FAIL
// EXEC: gatec-check: 3 passed, 0 failed

// A fused gate over a rounded projection (vLLM's gate_up_proj layout) becomes
// the rounded projections of the weight's two column halves, the value half
// first: the pair that a GEMM takes as one paired projection with the gate in
// its epilogue (test/Target/CUDA/examples.test), so the [T, 2F] projection
// never exists. Each element is the same dot product over K as before.
// CHECK-LABEL: func.func @gate_first(
// CHECK:       %[[WX:.*]] = tensor.extract_slice %arg1[0, 48] [32, 48] [1, 1] : tensor<32x96xbf16> to tensor<32x48xbf16>
// CHECK:       %[[PX:.*]] = linalg.matmul ins(%arg0, %[[WX]] : tensor<?x32xbf16>, tensor<32x48xbf16>)
// CHECK:       %[[X:.*]] = linalg.generic {{.*}} ins(%[[PX]] : tensor<?x48xf32>)
// CHECK:       %[[WG:.*]] = tensor.extract_slice %arg1[0, 0] [32, 48] [1, 1] : tensor<32x96xbf16> to tensor<32x48xbf16>
// CHECK:       %[[PG:.*]] = linalg.matmul ins(%arg0, %[[WG]] : tensor<?x32xbf16>, tensor<32x48xbf16>)
// CHECK:       %[[G:.*]] = linalg.generic {{.*}} ins(%[[PG]] : tensor<?x48xf32>)
// CHECK:       linalg.generic {{.*}} ins(%[[X]], %[[G]] : tensor<?x48xbf16>, tensor<?x48xbf16>)
// CHECK-NOT:   tensor<?x96xf32>
// CHECK:       return
func.func @gate_first(%x: tensor<?x32xbf16> {gate.name = "x", gate.shape = #gate.shape<T, 32>},
                      %w: tensor<32x96xbf16> {gate.name = "w", gate.shape = #gate.shape<32, 96>})
    -> (tensor<?x48xbf16> {gate.name = "y"}) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %t = tensor.dim %x, %c0 : tensor<?x32xbf16>
  %e = tensor.empty(%t) : tensor<?x96xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<?x96xf32>) -> tensor<?x96xf32>
  %p = linalg.matmul ins(%x, %w : tensor<?x32xbf16>, tensor<32x96xbf16>) outs(%acc : tensor<?x96xf32>) -> tensor<?x96xf32>
  %eb = tensor.empty(%t) : tensor<?x96xbf16>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%p : tensor<?x96xf32>) outs(%eb : tensor<?x96xbf16>) {
  ^bb0(%in: f32, %out: bf16):
    %b = arith.truncf %in : f32 to bf16
    linalg.yield %b : bf16
  } -> tensor<?x96xbf16>
  %y = gate.fused_gate <gelu_tanh> %r : tensor<?x96xbf16> -> tensor<?x48xbf16>
  return %y : tensor<?x48xbf16>
}

// The swapped layout [x | g]: the value half is the first.
// CHECK-LABEL: func.func @gate_second(
// CHECK:       tensor.extract_slice %arg1[0, 0] [32, 48] [1, 1]
// CHECK:       linalg.matmul
// CHECK:       tensor.extract_slice %arg1[0, 48] [32, 48] [1, 1]
// CHECK:       linalg.matmul
func.func @gate_second(%x: tensor<?x32xbf16> {gate.name = "x", gate.shape = #gate.shape<T, 32>},
                       %w: tensor<32x96xbf16> {gate.name = "w", gate.shape = #gate.shape<32, 96>})
    -> (tensor<?x48xbf16> {gate.name = "y"}) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %t = tensor.dim %x, %c0 : tensor<?x32xbf16>
  %e = tensor.empty(%t) : tensor<?x96xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<?x96xf32>) -> tensor<?x96xf32>
  %p = linalg.matmul ins(%x, %w : tensor<?x32xbf16>, tensor<32x96xbf16>) outs(%acc : tensor<?x96xf32>) -> tensor<?x96xf32>
  %eb = tensor.empty(%t) : tensor<?x96xbf16>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%p : tensor<?x96xf32>) outs(%eb : tensor<?x96xbf16>) {
  ^bb0(%in: f32, %out: bf16):
    %b = arith.truncf %in : f32 to bf16
    linalg.yield %b : bf16
  } -> tensor<?x96xbf16>
  %y = gate.fused_gate <silu> %r {gate_half = #gate.gate_half<second>, clamp_limit = 7.0 : f32} : tensor<?x96xbf16> -> tensor<?x48xbf16>
  return %y : tensor<?x48xbf16>
}

// The rounded projection is a result as well: it stays whole and the gate
// reads its halves.
// CHECK-LABEL: func.func @projection_kept(
// CHECK:       linalg.matmul ins(%arg0, %arg1 : tensor<?x32xbf16>, tensor<32x96xbf16>)
// CHECK:       tensor.extract_slice %{{.*}}[0, 0] [%{{.*}}, 48] [1, 1] : tensor<?x96xbf16> to tensor<?x48xbf16>
// CHECK:       tensor.extract_slice %{{.*}}[0, 48] [%{{.*}}, 48] [1, 1] : tensor<?x96xbf16> to tensor<?x48xbf16>
// CHECK-NOT:   linalg.matmul
// CHECK:       return
func.func @projection_kept(%x: tensor<?x32xbf16> {gate.name = "x", gate.shape = #gate.shape<T, 32>},
                           %w: tensor<32x96xbf16> {gate.name = "w", gate.shape = #gate.shape<32, 96>})
    -> (tensor<?x48xbf16> {gate.name = "y"}, tensor<?x96xbf16> {gate.name = "gu"}) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %t = tensor.dim %x, %c0 : tensor<?x32xbf16>
  %e = tensor.empty(%t) : tensor<?x96xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<?x96xf32>) -> tensor<?x96xf32>
  %p = linalg.matmul ins(%x, %w : tensor<?x32xbf16>, tensor<32x96xbf16>) outs(%acc : tensor<?x96xf32>) -> tensor<?x96xf32>
  %eb = tensor.empty(%t) : tensor<?x96xbf16>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%p : tensor<?x96xf32>) outs(%eb : tensor<?x96xbf16>) {
  ^bb0(%in: f32, %out: bf16):
    %b = arith.truncf %in : f32 to bf16
    linalg.yield %b : bf16
  } -> tensor<?x96xbf16>
  %y = gate.fused_gate <gelu> %r : tensor<?x96xbf16> -> tensor<?x48xbf16>
  return %y, %r : tensor<?x48xbf16>, tensor<?x96xbf16>
}
