// RUN: gatec-opt %s --gatec-fuse-elementwise | FileCheck %s

// A projection reshaped for its elementwise consumer stays a 2-D matmul: the
// reshape is not folded into it (that would make a rank-5 contraction).
// CHECK-LABEL: func.func @reshaped_projection(
// CHECK:         %[[MM:.+]] = linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<64x32xf32>)
// CHECK:         %[[G:.+]] = tensor.expand_shape %[[MM]] {{\[}}[0, 1], [2, 3]]
// CHECK:         linalg.generic {{.*}} ins(%{{.*}}, %[[G]] : tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>)
// CHECK:           arith.negf
// CHECK:           math.exp
// CHECK-NOT:     linalg.generic
func.func @reshaped_projection(%o: tensor<?x?x4x8xf32>, %x: tensor<?x64xf32>,
                               %w: tensor<64x32xf32>, %b: index, %t: index)
    -> tensor<?x?x4x8xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %rows = tensor.dim %x, %c0 : tensor<?x64xf32>
  %empty = tensor.empty(%rows) : tensor<?x32xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%empty : tensor<?x32xf32>) -> tensor<?x32xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<?x64xf32>, tensor<64x32xf32>)
                      outs(%acc : tensor<?x32xf32>) -> tensor<?x32xf32>
  %g = tensor.expand_shape %mm [[0, 1], [2, 3]] output_shape [%b, %t, 4, 8]
      : tensor<?x32xf32> into tensor<?x?x4x8xf32>
  %init = tensor.empty(%b, %t) : tensor<?x?x4x8xf32>
  // Two elementwise ops: negate, then exp * o; they fuse into one.
  %neg = linalg.generic {
      indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                       affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%g : tensor<?x?x4x8xf32>) outs(%init : tensor<?x?x4x8xf32>) {
  ^bb0(%a: f32, %out: f32):
    %n = arith.negf %a : f32
    linalg.yield %n : f32
  } -> tensor<?x?x4x8xf32>
  %y = linalg.generic {
      indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                       affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                       affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%o, %neg : tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>)
      outs(%init : tensor<?x?x4x8xf32>) {
  ^bb0(%a: f32, %n: f32, %out: f32):
    %e = math.exp %n : f32
    %p = arith.mulf %a, %e : f32
    linalg.yield %p : f32
  } -> tensor<?x?x4x8xf32>
  return %y : tensor<?x?x4x8xf32>
}
