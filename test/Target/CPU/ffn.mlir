// A gated FFN, down(silu(x Wg) * (x Wu)), compiled for the CPU: the gate is
// fused into the two matmuls' thread tiles. Row counts that are not
// multiples of the 8-row register tile or the 64-row thread tile; bf16
// inputs with f32 accumulation.
// RUN: gatec-check %s --dim T=37 --scale wg=0.1 --scale wu=0.1 --scale wd=0.1 | FileCheck %s
// RUN: gatec-check %s --dim T=1 --scale wg=0.1 --scale wu=0.1 --scale wd=0.1 | FileCheck %s
// RUN: gatec-check %s --dim T=130 --cpu x86-64-v3 --scale wg=0.1 --scale wu=0.1 --scale wd=0.1 | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: gatec-check: 2 passed, 0 failed

#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @ffn_f32(%x: tensor<?x96xf32> {gate.name = "x", gate.shape = #gate.shape<T, 96>},
                   %wg: tensor<96x200xf32> {gate.name = "wg", gate.shape = #gate.shape<96, 200>},
                   %wu: tensor<96x200xf32> {gate.name = "wu", gate.shape = #gate.shape<96, 200>},
                   %wd: tensor<200x96xf32> {gate.name = "wd", gate.shape = #gate.shape<200, 96>})
    -> (tensor<?x96xf32> {gate.name = "y", gate.shape = #gate.shape<T, 96>}) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %t = tensor.dim %x, %c0 : tensor<?x96xf32>
  %e = tensor.empty(%t) : tensor<?x200xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x200xf32>) -> tensor<?x200xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<?x96xf32>, tensor<96x200xf32>) outs(%f : tensor<?x200xf32>) -> tensor<?x200xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<?x96xf32>, tensor<96x200xf32>) outs(%f : tensor<?x200xf32>) -> tensor<?x200xf32>
  %h = gate.gate <silu> %u, %g : tensor<?x200xf32>, tensor<?x200xf32> -> tensor<?x200xf32>
  %e2 = tensor.empty(%t) : tensor<?x96xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<?x96xf32>) -> tensor<?x96xf32>
  %y = linalg.matmul ins(%h, %wd : tensor<?x200xf32>, tensor<200x96xf32>) outs(%f2 : tensor<?x96xf32>) -> tensor<?x96xf32>
  return %y : tensor<?x96xf32>
}

func.func @ffn_bf16(%x: tensor<?x96xbf16> {gate.name = "x", gate.shape = #gate.shape<T, 96>},
                    %wg: tensor<96x200xbf16> {gate.name = "wg", gate.shape = #gate.shape<96, 200>},
                    %wu: tensor<96x200xbf16> {gate.name = "wu", gate.shape = #gate.shape<96, 200>},
                    %wd: tensor<200x96xbf16> {gate.name = "wd", gate.shape = #gate.shape<200, 96>})
    -> (tensor<?x96xbf16> {gate.name = "y", gate.shape = #gate.shape<T, 96>}) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %t = tensor.dim %x, %c0 : tensor<?x96xbf16>
  %e = tensor.empty(%t) : tensor<?x200xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x200xf32>) -> tensor<?x200xf32>
  %g = linalg.matmul ins(%x, %wg : tensor<?x96xbf16>, tensor<96x200xbf16>) outs(%f : tensor<?x200xf32>) -> tensor<?x200xf32>
  %u = linalg.matmul ins(%x, %wu : tensor<?x96xbf16>, tensor<96x200xbf16>) outs(%f : tensor<?x200xf32>) -> tensor<?x200xf32>
  %h32 = gate.gate <silu> %u, %g : tensor<?x200xf32>, tensor<?x200xf32> -> tensor<?x200xf32>
  %eb = tensor.empty(%t) : tensor<?x200xbf16>
  %h = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h32 : tensor<?x200xf32>) outs(%eb : tensor<?x200xbf16>) {
  ^bb0(%in: f32, %out: bf16):
    %r = arith.truncf %in : f32 to bf16
    linalg.yield %r : bf16
  } -> tensor<?x200xbf16>
  %e2 = tensor.empty(%t) : tensor<?x96xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<?x96xf32>) -> tensor<?x96xf32>
  %y32 = linalg.matmul ins(%h, %wd : tensor<?x200xbf16>, tensor<200x96xbf16>) outs(%f2 : tensor<?x96xf32>) -> tensor<?x96xf32>
  %e3 = tensor.empty(%t) : tensor<?x96xbf16>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y32 : tensor<?x96xf32>) outs(%e3 : tensor<?x96xbf16>) {
  ^bb0(%in: f32, %out: bf16):
    %r = arith.truncf %in : f32 to bf16
    linalg.yield %r : bf16
  } -> tensor<?x96xbf16>
  return %y : tensor<?x96xbf16>
}
