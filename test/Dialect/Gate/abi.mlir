// RUN: gatec-opt %s | FileCheck %s
// RUN: gatec-opt %s | gatec-opt | FileCheck %s

// The kernel ABI's attributes print as C expressions with the parentheses C
// needs to read the same tree back, and no more; what the generated headers
// quote is this text.

// CHECK-LABEL: func.func @shapes
// CHECK-SAME:    gate.shape = #gate.shape<T, (T*2 + 8*63 + 63)/64*64>
// CHECK-SAME:    gate.shape = #gate.shape<T - (B + 1), T/2*3, T/(2*3), 2*F, T, (N + 1)*2>
// CHECK-SAME:    gate.shape = #gate.shape<>
// CHECK-SAME:    gate.offsets = {upper_bound = #gate.dim<N - 1>}
func.func @shapes(%a: tensor<?x?xi32> {gate.shape = #gate.shape<T, (T * 2 + 8 * 63 + 63) / 64 * 64>},
                  %b: tensor<?x?x?x?x?x?xf32> {gate.shape = #gate.shape<T - (B + 1), (T/2)*3, T/(2*3), 2 * F, ((T)), (N + 1) * 2>},
                  %c: tensor<f32> {gate.shape = #gate.shape<>},
                  %d: tensor<?xi32> {gate.offsets = {upper_bound = #gate.dim<N - 1>}}) {
  return
}
