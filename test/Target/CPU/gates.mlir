// Every gate variant compiled for the CPU and run against the reference
// interpreter, on row counts that are not multiples of any tile (1, 37), an
// empty batch, a width (40) that is not a multiple of the vector width, and
// saturating inputs (scale 30: sigmoid/silu/gelu deep in their tails).
// RUN: gatec-check %s --dim T=37 | FileCheck %s
// RUN: gatec-check %s --dim T=1 --seed 7 | FileCheck %s
// RUN: gatec-check %s --dim T=0 | FileCheck %s
// RUN: gatec-check %s --dim T=5 --scale x=30 --scale g=30 --scale gu=30 | FileCheck %s
// RUN: gatec-check %s --dim T=3 --cpu x86-64-v3 | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: gatec-check: {{[0-9]+}} passed, 0 failed

func.func @sigmoid_f32(%x: tensor<?x40xf32> {gate.name = "x", gate.shape = #gate.shape<T, 40>}, %g: tensor<?x40xf32> {gate.name = "g", gate.shape = #gate.shape<T, 40>}) -> (tensor<?x40xf32> {gate.shape = #gate.shape<T, 40>}) {
  %y = gate.gate <sigmoid> %x, %g : tensor<?x40xf32>, tensor<?x40xf32> -> tensor<?x40xf32>
  return %y : tensor<?x40xf32>
}
func.func @identity_f32(%x: tensor<?x40xf32> {gate.name = "x", gate.shape = #gate.shape<T, 40>}, %g: tensor<?x40xf32> {gate.name = "g", gate.shape = #gate.shape<T, 40>}) -> (tensor<?x40xf32> {gate.shape = #gate.shape<T, 40>}) {
  %y = gate.gate <identity> %x, %g : tensor<?x40xf32>, tensor<?x40xf32> -> tensor<?x40xf32>
  return %y : tensor<?x40xf32>
}
func.func @relu_f32(%x: tensor<?x40xf32> {gate.name = "x", gate.shape = #gate.shape<T, 40>}, %g: tensor<?x40xf32> {gate.name = "g", gate.shape = #gate.shape<T, 40>}) -> (tensor<?x40xf32> {gate.shape = #gate.shape<T, 40>}) {
  %y = gate.gate <relu> %x, %g : tensor<?x40xf32>, tensor<?x40xf32> -> tensor<?x40xf32>
  return %y : tensor<?x40xf32>
}
func.func @gelu_f32(%x: tensor<?x40xf32> {gate.name = "x", gate.shape = #gate.shape<T, 40>}, %g: tensor<?x40xf32> {gate.name = "g", gate.shape = #gate.shape<T, 40>}) -> (tensor<?x40xf32> {gate.shape = #gate.shape<T, 40>}) {
  %y = gate.gate <gelu> %x, %g : tensor<?x40xf32>, tensor<?x40xf32> -> tensor<?x40xf32>
  return %y : tensor<?x40xf32>
}
func.func @gelu_tanh_f32(%x: tensor<?x40xf32> {gate.name = "x", gate.shape = #gate.shape<T, 40>}, %g: tensor<?x40xf32> {gate.name = "g", gate.shape = #gate.shape<T, 40>}) -> (tensor<?x40xf32> {gate.shape = #gate.shape<T, 40>}) {
  %y = gate.gate <gelu_tanh> %x, %g : tensor<?x40xf32>, tensor<?x40xf32> -> tensor<?x40xf32>
  return %y : tensor<?x40xf32>
}
func.func @silu_f32(%x: tensor<?x40xf32> {gate.name = "x", gate.shape = #gate.shape<T, 40>}, %g: tensor<?x40xf32> {gate.name = "g", gate.shape = #gate.shape<T, 40>}) -> (tensor<?x40xf32> {gate.shape = #gate.shape<T, 40>}) {
  %y = gate.gate <silu> %x, %g : tensor<?x40xf32>, tensor<?x40xf32> -> tensor<?x40xf32>
  return %y : tensor<?x40xf32>
}
func.func @sigmoid_bf16(%x: tensor<?x40xbf16> {gate.name = "x", gate.shape = #gate.shape<T, 40>}, %g: tensor<?x40xbf16> {gate.name = "g", gate.shape = #gate.shape<T, 40>}) -> (tensor<?x40xbf16> {gate.shape = #gate.shape<T, 40>}) {
  %y = gate.gate <sigmoid> %x, %g : tensor<?x40xbf16>, tensor<?x40xbf16> -> tensor<?x40xbf16>
  return %y : tensor<?x40xbf16>
}
func.func @identity_bf16(%x: tensor<?x40xbf16> {gate.name = "x", gate.shape = #gate.shape<T, 40>}, %g: tensor<?x40xbf16> {gate.name = "g", gate.shape = #gate.shape<T, 40>}) -> (tensor<?x40xbf16> {gate.shape = #gate.shape<T, 40>}) {
  %y = gate.gate <identity> %x, %g : tensor<?x40xbf16>, tensor<?x40xbf16> -> tensor<?x40xbf16>
  return %y : tensor<?x40xbf16>
}
func.func @relu_bf16(%x: tensor<?x40xbf16> {gate.name = "x", gate.shape = #gate.shape<T, 40>}, %g: tensor<?x40xbf16> {gate.name = "g", gate.shape = #gate.shape<T, 40>}) -> (tensor<?x40xbf16> {gate.shape = #gate.shape<T, 40>}) {
  %y = gate.gate <relu> %x, %g : tensor<?x40xbf16>, tensor<?x40xbf16> -> tensor<?x40xbf16>
  return %y : tensor<?x40xbf16>
}
func.func @gelu_bf16(%x: tensor<?x40xbf16> {gate.name = "x", gate.shape = #gate.shape<T, 40>}, %g: tensor<?x40xbf16> {gate.name = "g", gate.shape = #gate.shape<T, 40>}) -> (tensor<?x40xbf16> {gate.shape = #gate.shape<T, 40>}) {
  %y = gate.gate <gelu> %x, %g : tensor<?x40xbf16>, tensor<?x40xbf16> -> tensor<?x40xbf16>
  return %y : tensor<?x40xbf16>
}
func.func @gelu_tanh_bf16(%x: tensor<?x40xbf16> {gate.name = "x", gate.shape = #gate.shape<T, 40>}, %g: tensor<?x40xbf16> {gate.name = "g", gate.shape = #gate.shape<T, 40>}) -> (tensor<?x40xbf16> {gate.shape = #gate.shape<T, 40>}) {
  %y = gate.gate <gelu_tanh> %x, %g : tensor<?x40xbf16>, tensor<?x40xbf16> -> tensor<?x40xbf16>
  return %y : tensor<?x40xbf16>
}
func.func @silu_bf16(%x: tensor<?x40xbf16> {gate.name = "x", gate.shape = #gate.shape<T, 40>}, %g: tensor<?x40xbf16> {gate.name = "g", gate.shape = #gate.shape<T, 40>}) -> (tensor<?x40xbf16> {gate.shape = #gate.shape<T, 40>}) {
  %y = gate.gate <silu> %x, %g : tensor<?x40xbf16>, tensor<?x40xbf16> -> tensor<?x40xbf16>
  return %y : tensor<?x40xbf16>
}
func.func @sigmoid_f16(%x: tensor<?x40xf16> {gate.name = "x", gate.shape = #gate.shape<T, 40>}, %g: tensor<?x40xf16> {gate.name = "g", gate.shape = #gate.shape<T, 40>}) -> (tensor<?x40xf16> {gate.shape = #gate.shape<T, 40>}) {
  %y = gate.gate <sigmoid> %x, %g : tensor<?x40xf16>, tensor<?x40xf16> -> tensor<?x40xf16>
  return %y : tensor<?x40xf16>
}
func.func @identity_f16(%x: tensor<?x40xf16> {gate.name = "x", gate.shape = #gate.shape<T, 40>}, %g: tensor<?x40xf16> {gate.name = "g", gate.shape = #gate.shape<T, 40>}) -> (tensor<?x40xf16> {gate.shape = #gate.shape<T, 40>}) {
  %y = gate.gate <identity> %x, %g : tensor<?x40xf16>, tensor<?x40xf16> -> tensor<?x40xf16>
  return %y : tensor<?x40xf16>
}
func.func @relu_f16(%x: tensor<?x40xf16> {gate.name = "x", gate.shape = #gate.shape<T, 40>}, %g: tensor<?x40xf16> {gate.name = "g", gate.shape = #gate.shape<T, 40>}) -> (tensor<?x40xf16> {gate.shape = #gate.shape<T, 40>}) {
  %y = gate.gate <relu> %x, %g : tensor<?x40xf16>, tensor<?x40xf16> -> tensor<?x40xf16>
  return %y : tensor<?x40xf16>
}
func.func @gelu_f16(%x: tensor<?x40xf16> {gate.name = "x", gate.shape = #gate.shape<T, 40>}, %g: tensor<?x40xf16> {gate.name = "g", gate.shape = #gate.shape<T, 40>}) -> (tensor<?x40xf16> {gate.shape = #gate.shape<T, 40>}) {
  %y = gate.gate <gelu> %x, %g : tensor<?x40xf16>, tensor<?x40xf16> -> tensor<?x40xf16>
  return %y : tensor<?x40xf16>
}
func.func @gelu_tanh_f16(%x: tensor<?x40xf16> {gate.name = "x", gate.shape = #gate.shape<T, 40>}, %g: tensor<?x40xf16> {gate.name = "g", gate.shape = #gate.shape<T, 40>}) -> (tensor<?x40xf16> {gate.shape = #gate.shape<T, 40>}) {
  %y = gate.gate <gelu_tanh> %x, %g : tensor<?x40xf16>, tensor<?x40xf16> -> tensor<?x40xf16>
  return %y : tensor<?x40xf16>
}
func.func @silu_f16(%x: tensor<?x40xf16> {gate.name = "x", gate.shape = #gate.shape<T, 40>}, %g: tensor<?x40xf16> {gate.name = "g", gate.shape = #gate.shape<T, 40>}) -> (tensor<?x40xf16> {gate.shape = #gate.shape<T, 40>}) {
  %y = gate.gate <silu> %x, %g : tensor<?x40xf16>, tensor<?x40xf16> -> tensor<?x40xf16>
  return %y : tensor<?x40xf16>
}
func.func @headwise_f32(%x: tensor<?x3x40xf32> {gate.name = "x", gate.shape = #gate.shape<T, 3, 40>}, %g: tensor<?x3x1xf32> {gate.name = "g", gate.shape = #gate.shape<T, 3, 1>}) -> (tensor<?x3x40xf32> {gate.shape = #gate.shape<T, 3, 40>}) {
  %y = gate.gate <sigmoid> %x, %g {granularity = #gate.granularity<headwise>} : tensor<?x3x40xf32>, tensor<?x3x1xf32> -> tensor<?x3x40xf32>
  return %y : tensor<?x3x40xf32>
}
func.func @clamped_f32(%x: tensor<?x40xf32> {gate.name = "x", gate.shape = #gate.shape<T, 40>}, %g: tensor<?x40xf32> {gate.name = "g", gate.shape = #gate.shape<T, 40>}) -> (tensor<?x40xf32> {gate.shape = #gate.shape<T, 40>}) {
  %y = gate.gate <silu> %x, %g {clamp_limit = 0.75 : f32} : tensor<?x40xf32>, tensor<?x40xf32> -> tensor<?x40xf32>
  return %y : tensor<?x40xf32>
}
func.func @fused_first_f32(%gu: tensor<?x66xf32> {gate.name = "gu", gate.shape = #gate.shape<T, 66>}) -> (tensor<?x33xf32> {gate.shape = #gate.shape<T, 33>}) {
  %y = gate.fused_gate <gelu_tanh> %gu {gate_half = #gate.gate_half<first>} : tensor<?x66xf32> -> tensor<?x33xf32>
  return %y : tensor<?x33xf32>
}
func.func @fused_second_f32(%gu: tensor<?x66xf32> {gate.name = "gu", gate.shape = #gate.shape<T, 66>}) -> (tensor<?x33xf32> {gate.shape = #gate.shape<T, 33>}) {
  %y = gate.fused_gate <gelu_tanh> %gu {gate_half = #gate.gate_half<second>} : tensor<?x66xf32> -> tensor<?x33xf32>
  return %y : tensor<?x33xf32>
}
func.func @headwise_bf16(%x: tensor<?x3x40xbf16> {gate.name = "x", gate.shape = #gate.shape<T, 3, 40>}, %g: tensor<?x3x1xbf16> {gate.name = "g", gate.shape = #gate.shape<T, 3, 1>}) -> (tensor<?x3x40xbf16> {gate.shape = #gate.shape<T, 3, 40>}) {
  %y = gate.gate <sigmoid> %x, %g {granularity = #gate.granularity<headwise>} : tensor<?x3x40xbf16>, tensor<?x3x1xbf16> -> tensor<?x3x40xbf16>
  return %y : tensor<?x3x40xbf16>
}
func.func @clamped_bf16(%x: tensor<?x40xbf16> {gate.name = "x", gate.shape = #gate.shape<T, 40>}, %g: tensor<?x40xbf16> {gate.name = "g", gate.shape = #gate.shape<T, 40>}) -> (tensor<?x40xbf16> {gate.shape = #gate.shape<T, 40>}) {
  %y = gate.gate <silu> %x, %g {clamp_limit = 0.75 : f32} : tensor<?x40xbf16>, tensor<?x40xbf16> -> tensor<?x40xbf16>
  return %y : tensor<?x40xbf16>
}
func.func @fused_first_bf16(%gu: tensor<?x66xbf16> {gate.name = "gu", gate.shape = #gate.shape<T, 66>}) -> (tensor<?x33xbf16> {gate.shape = #gate.shape<T, 33>}) {
  %y = gate.fused_gate <gelu_tanh> %gu {gate_half = #gate.gate_half<first>} : tensor<?x66xbf16> -> tensor<?x33xbf16>
  return %y : tensor<?x33xbf16>
}
func.func @fused_second_bf16(%gu: tensor<?x66xbf16> {gate.name = "gu", gate.shape = #gate.shape<T, 66>}) -> (tensor<?x33xbf16> {gate.shape = #gate.shape<T, 33>}) {
  %y = gate.fused_gate <gelu_tanh> %gu {gate_half = #gate.gate_half<second>} : tensor<?x66xbf16> -> tensor<?x33xbf16>
  return %y : tensor<?x33xbf16>
}
