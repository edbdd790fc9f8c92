// RUN: gatec-opt %s --split-input-file --gatec-gpu-distribute --canonicalize --cse | FileCheck %s
// RUN: gatec-opt %s --split-input-file --gatec-gpu-distribute="vector-bytes=0" | FileCheck %s --check-prefix=SCALAR

// An elementwise kernel over rows of 64 bf16: each thread takes 8
// consecutive elements, one 16-byte load per contiguous operand (the f32
// one 32 bytes, aligned to 16), the bias broadcast over rows read as a
// vector along the row too, the body once per element, one 16-byte store.
// CHECK-LABEL: func.func @gate_rows
// CHECK:       gpu.launch
// CHECK:         %[[ROW:.*]] = arith.divui %{{.*}}, %c8
// CHECK:         %[[COL:.*]] = arith.muli %{{.*}}, %c8
// CHECK:         %[[X:.*]] = vector.load %{{.*}}[%[[ROW]], %[[COL]]] {alignment = 16 : i64} : memref<?x64xbf16>, vector<8xbf16>
// CHECK:         %[[G:.*]] = vector.load %{{.*}}[%[[ROW]], %[[COL]]] {alignment = 16 : i64} : memref<?x64xf32>, vector<8xf32>
// CHECK:         %[[B:.*]] = vector.load %{{.*}}[%[[COL]]] {alignment = 16 : i64} : memref<64xbf16>, vector<8xbf16>
// CHECK-COUNT-8: math.exp
// CHECK:         %[[Y:.*]] = vector.from_elements {{.*}} : vector<8xbf16>
// CHECK:         vector.store %[[Y]], %{{.*}}[%[[ROW]], %[[COL]]] {alignment = 16 : i64} : memref<?x64xbf16>, vector<8xbf16>
// SCALAR-LABEL: func.func @gate_rows
// SCALAR-NOT:   vector.load
// SCALAR:       memref.load
// SCALAR-NOT:   vector.store
#row = affine_map<(d0, d1) -> (d0, d1)>
#bias = affine_map<(d0, d1) -> (d1)>
func.func @gate_rows(%x: memref<?x64xbf16>, %g: memref<?x64xf32>,
                     %b: memref<64xbf16>, %y: memref<?x64xbf16>) {
  linalg.generic {indexing_maps = [#row, #row, #bias, #row],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %g, %b : memref<?x64xbf16>, memref<?x64xf32>, memref<64xbf16>)
      outs(%y : memref<?x64xbf16>) {
  ^bb0(%xi: bf16, %gi: f32, %bi: bf16, %out: bf16):
    %bf = arith.extf %bi : bf16 to f32
    %z = arith.addf %gi, %bf : f32
    %e = math.exp %z : f32
    %xf = arith.extf %xi : bf16 to f32
    %p = arith.mulf %xf, %e : f32
    %r = arith.truncf %p : f32 to bf16
    linalg.yield %r : bf16
  }
  return
}

// -----

// A value constant along the row (a per-row scale) is loaded once; the
// innermost index seen by linalg.index is the column of each element.
// CHECK-LABEL: func.func @row_scale_and_index
// CHECK:         %[[ROW:.*]] = arith.divui %{{.*}}, %c8
// CHECK:         %[[COL:.*]] = arith.muli %{{.*}}, %c4
// CHECK:         %[[S:.*]] = memref.load %{{.*}}[%[[ROW]]] : memref<?xf32>
// CHECK:         %[[C1:.*]] = arith.addi %[[COL]], %c1
// CHECK:         %[[C2:.*]] = arith.addi %[[COL]], %c2
// CHECK:         %[[C3:.*]] = arith.addi %[[COL]], %c3
// CHECK:         vector.store %{{.*}}, %{{.*}}[%[[ROW]], %[[COL]]] {alignment = 16 : i64} : memref<?x32xf32>, vector<4xf32>
func.func @row_scale_and_index(%s: memref<?xf32>, %y: memref<?x32xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>,
                                   affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%s : memref<?xf32>) outs(%y : memref<?x32xf32>) {
  ^bb0(%si: f32, %out: f32):
    %j = linalg.index 1 : index
    %ji = arith.index_cast %j : index to i32
    %jf = arith.sitofp %ji : i32 to f32
    %r = arith.mulf %si, %jf : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A fill is an elementwise kernel too: a constant vector per store.
// CHECK-LABEL: func.func @fill
// CHECK:         %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<4xf32>
// CHECK:         vector.store %[[ZERO]], %{{.*}} {alignment = 16 : i64} : memref<?x128xf32>, vector<4xf32>
func.func @fill(%y: memref<?x128xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<?x128xf32>)
  return
}

// -----

// Element by element: rows of 60 bf16 are not a whole number of 16-byte
// vectors; a view at a dynamic offset may not be 16-byte aligned; a
// transposed read is not contiguous along the innermost loop.
// CHECK-LABEL: func.func @not_vectorized
// CHECK-NOT:     vector.load
// CHECK-NOT:     vector.store
func.func @not_vectorized(%x: memref<?x60xbf16>, %y: memref<?x60xbf16>,
                          %big: memref<?x64xbf16>, %at: index,
                          %t: memref<64x64xbf16>, %u: memref<64x64xbf16>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                   affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<?x60xbf16>) outs(%y : memref<?x60xbf16>) {
  ^bb0(%a: bf16, %out: bf16):
    linalg.yield %a : bf16
  }
  %view = memref.subview %big[0, %at] [4, 8] [1, 1]
      : memref<?x64xbf16> to memref<4x8xbf16, strided<[64, 1], offset: ?>>
  %dst = memref.subview %big[8, 0] [4, 8] [1, 1]
      : memref<?x64xbf16> to memref<4x8xbf16, strided<[64, 1], offset: 512>>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                   affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%view : memref<4x8xbf16, strided<[64, 1], offset: ?>>)
      outs(%dst : memref<4x8xbf16, strided<[64, 1], offset: 512>>) {
  ^bb0(%a: bf16, %out: bf16):
    linalg.yield %a : bf16
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>,
                                   affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%t : memref<64x64xbf16>) outs(%u : memref<64x64xbf16>) {
  ^bb0(%a: bf16, %out: bf16):
    linalg.yield %a : bf16
  }
  return
}
