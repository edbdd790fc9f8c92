// RUN: gatec-opt %s --gatec-privatize-fills | FileCheck %s

// Two projections of the same shape share one zero accumulator after CSE;
// each gets its own fill (and empty tensor) right before it, so
// bufferization gives each its own zeroed buffer instead of copying one.
// CHECK-LABEL: func.func @shared_accumulator
// CHECK:       %[[E0:.*]] = tensor.empty(%{{.*}}) : tensor<?x64xf32>
// CHECK:       %[[F0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E0]] : tensor<?x64xf32>)
// CHECK:       linalg.matmul ins(%arg0, %arg1 : {{.*}}) outs(%[[F0]] : tensor<?x64xf32>)
// CHECK:       %[[E1:.*]] = tensor.empty(%{{.*}}) : tensor<?x64xf32>
// CHECK:       %[[F1:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E1]] : tensor<?x64xf32>)
// CHECK:       linalg.matmul ins(%arg0, %arg2 : {{.*}}) outs(%[[F1]] : tensor<?x64xf32>)
func.func @shared_accumulator(%x: tensor<?x32xbf16>, %w1: tensor<32x64xbf16>, %w2: tensor<32x64xbf16>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x32xbf16>
  %e = tensor.empty(%n) : tensor<?x64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x64xf32>) -> tensor<?x64xf32>
  %a = linalg.matmul ins(%x, %w1 : tensor<?x32xbf16>, tensor<32x64xbf16>) outs(%f : tensor<?x64xf32>) -> tensor<?x64xf32>
  %b = linalg.matmul ins(%x, %w2 : tensor<?x32xbf16>, tensor<32x64xbf16>) outs(%f : tensor<?x64xf32>) -> tensor<?x64xf32>
  return %a, %b : tensor<?x64xf32>, tensor<?x64xf32>
}

// A fill that is also read as an input keeps its first destination's fill:
// only destinations get copies.
// CHECK-LABEL: func.func @read_and_written
// CHECK:       %[[F:.*]] = linalg.fill
// CHECK:       %[[G:.*]] = linalg.fill
// CHECK:       linalg.matmul {{.*}} outs(%[[G]] : tensor<?x64xf32>)
// CHECK:       return %[[F]]
func.func @read_and_written(%x: tensor<?x32xbf16>, %w: tensor<32x64xbf16>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x32xbf16>
  %e = tensor.empty(%n) : tensor<?x64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x64xf32>) -> tensor<?x64xf32>
  %a = linalg.matmul ins(%x, %w : tensor<?x32xbf16>, tensor<32x64xbf16>) outs(%f : tensor<?x64xf32>) -> tensor<?x64xf32>
  return %f, %a : tensor<?x64xf32>, tensor<?x64xf32>
}
