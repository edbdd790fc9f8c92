// RUN: gatec-opt %s --gatec-gpu-sink-into-launches | FileCheck %s

// Constants and memref views defined on the host but used in a launch are
// cloned into its body, so gpu-kernel-outlining passes the buffer rather
// than the view and a constant. A value that needs a memory effect to
// compute (the load of %s) stays on the host and is still captured.
// CHECK-LABEL: func.func @constants_and_views(
// CHECK-SAME:  [[X:%[^:]+]]: memref<?x64xf32>, [[Y:%[^:]+]]: memref<?xf32>, [[S:%[^:]+]]: memref<f32>)
// CHECK:       [[SCALE:%.+]] = memref.load [[S]][]
// CHECK:       gpu.launch blocks([[BX:%[^,]+]],
// CHECK-DAG:     [[ROW:%.+]] = memref.subview [[X]][1, 0] [1, 64] [1, 1]
// CHECK-DAG:     [[TWO:%.+]] = arith.constant 2.000000e+00 : f32
// CHECK:         [[V:%.+]] = memref.load [[ROW]][[[BX]]]
// CHECK:         [[W:%.+]] = arith.mulf [[V]], [[TWO]] : f32
// CHECK:         [[U:%.+]] = arith.mulf [[W]], [[SCALE]] : f32
// CHECK:         memref.store [[U]], [[Y]][[[BX]]]
// CHECK:         gpu.terminator
func.func @constants_and_views(%x: memref<?x64xf32>, %y: memref<?xf32>, %s: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2.0 : f32
  %n = memref.dim %x, %c0 : memref<?x64xf32>
  %row = memref.subview %x[1, 0] [1, 64] [1, 1]
      : memref<?x64xf32> to memref<64xf32, strided<[1], offset: 64>>
  %scale = memref.load %s[] : memref<f32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %row[%bx] : memref<64xf32, strided<[1], offset: 64>>
    %w = arith.mulf %v, %c2 : f32
    %u = arith.mulf %w, %scale : f32
    memref.store %u, %y[%bx] : memref<?xf32>
    gpu.terminator
  }
  return
}

// A size computed on the host (dim and muli of a constant) is recomputed in
// the launch from the buffer, with the definitions it depends on; the launch
// then takes %x alone, not %x and the size.
// CHECK-LABEL: func.func @sizes(
// CHECK-SAME:  [[X:%[^:]+]]: memref<?x64xf32>,
// CHECK:       gpu.launch blocks({{.*}}) threads([[TX:%[^,]+]],
// CHECK-DAG:     [[C0:%.+]] = arith.constant 0 : index
// CHECK-DAG:     [[C64:%.+]] = arith.constant 64 : index
// CHECK-DAG:     [[N:%.+]] = memref.dim [[X]], [[C0]]
// CHECK:         [[TOTAL:%.+]] = arith.muli [[N]], [[C64]] : index
// CHECK:         [[IN:%.+]] = arith.cmpi ult, [[TX]], [[TOTAL]] : index
// CHECK:         scf.if [[IN]] {
// CHECK:           memref.load [[X]][[[C0]], [[TX]]]
func.func @sizes(%x: memref<?x64xf32>, %y: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %n = memref.dim %x, %c0 : memref<?x64xf32>
  %total = arith.muli %n, %c64 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %in = arith.cmpi ult, %tx, %total : index
    scf.if %in {
      %v = memref.load %x[%c0, %tx] : memref<?x64xf32>
      memref.store %v, %y[%tx] : memref<?xf32>
    }
    gpu.terminator
  }
  return
}

// An expand_shape with two dynamic sizes in one group ([B*T, 16] ->
// [B, T, 16]), once sunk, becomes a reinterpret_cast of the buffer's
// metadata inside the kernel (expand-strided-metadata cannot take it), with
// row stride 16 * T. The host keeps its view for the launch-code translator.
// CHECK-LABEL: func.func @multi_dynamic_view(
// CHECK-SAME:  [[FLAT:%[^:]+]]: memref<?x16xf32>, [[B:%[^:]+]]: index, [[T:%[^:]+]]: index,
// CHECK:       [[VIEW:%.+]] = memref.expand_shape [[FLAT]] {{\[}}[0, 1], [2]] output_shape {{\[}}[[B]], [[T]], 16]
// CHECK:       [[ROWS:%.+]] = memref.dim [[VIEW]], %{{.+}} : memref<?x?x16xf32>
// CHECK:       gpu.launch blocks([[BX:%[^,]+]], {{.*}}) in ({{%[^ ]+}} = [[ROWS]],
// CHECK-NOT:     memref.expand_shape
// CHECK:         [[BASE:%.+]], %{{.+}}, %{{.+}}:2, [[STRIDES:%.+]]:2 = memref.extract_strided_metadata [[FLAT]]
// CHECK:         [[STRIDE:%.+]] = affine.apply #{{.+}}(){{\[}}[[STRIDES]]#0, [[T]]]
// CHECK-NOT:     memref.expand_shape
// CHECK:         [[CAST:%.+]] = memref.reinterpret_cast [[BASE]] to offset: [0], sizes: {{\[}}[[B]], [[T]], 16], strides: {{\[}}[[STRIDE]], 16, 1]
// CHECK-NOT:     memref.expand_shape
// CHECK:         memref.load [[CAST]][[[BX]],
// CHECK:         gpu.terminator
func.func @multi_dynamic_view(%flat: memref<?x16xf32>, %b: index, %t: index, %out: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %view = memref.expand_shape %flat [[0, 1], [2]] output_shape [%b, %t, 16]
      : memref<?x16xf32> into memref<?x?x16xf32>
  %rows = memref.dim %view, %c0 : memref<?x?x16xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %rows, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %view[%bx, %c1, %c0] : memref<?x?x16xf32>
    memref.store %v, %out[%bx] : memref<?xf32>
    gpu.terminator
  }
  return
}
