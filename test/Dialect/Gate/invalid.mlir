// RUN: gatec-opt %s -split-input-file -verify-diagnostics

// One case per verifier rule of the gate ops; each message names the
// relation that failed.

func.func @case0(%x: tensor<4x8xf32>, %g: tensor<4x8xf16>) {
  // expected-error @+1 {{expects g to have the element type of x ('f32'), got 'f16'}}
  %0 = gate.gate <silu> %x, %g : tensor<4x8xf32>, tensor<4x8xf16> -> tensor<4x8xf32>
  return
}

// -----

func.func @case1(%x: tensor<4x8xf32>, %g: tensor<4x8xf32>) {
  // expected-error @+1 {{expects y to have the element type of x ('f32'), got 'bf16'}}
  %0 = gate.gate <silu> %x, %g : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xbf16>
  return
}

// -----

func.func @case2(%x: tensor<f32>, %g: tensor<f32>) {
  // expected-error @+1 {{expects x of rank >= 1, got 'tensor<f32>'}}
  %0 = gate.gate <silu> %x, %g : tensor<f32>, tensor<f32> -> tensor<f32>
  return
}

// -----

func.func @case3(%x: tensor<4x8xf32>, %g: tensor<4x7xf32>) {
  // expected-error @+1 {{dimension #1 is 8 in x (dim 1) but 7 in g (dim 1)}}
  %0 = gate.gate <silu> %x, %g : tensor<4x8xf32>, tensor<4x7xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @case4(%x: tensor<4x8xf32>, %g: tensor<4x8xf32>) {
  // expected-error @+1 {{dimension #0 is 4 in x (dim 0) but 5 in y (dim 0)}}
  %0 = gate.gate <silu> %x, %g : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<5x8xf32>
  return
}

// -----

func.func @case5(%x: tensor<4x8xf32>, %g: tensor<4x8x1xf32>) {
  // expected-error @+1 {{expects a headwise g of rank 2 (x's shape with a trailing 1), got 'tensor<4x8x1xf32>'}}
  %0 = gate.gate <silu> %x, %g {granularity = #gate.granularity<headwise>} : tensor<4x8xf32>, tensor<4x8x1xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @case6(%x: tensor<4x8xf32>, %g: tensor<4x8xf32>) {
  // expected-error @+1 {{expects a headwise g to end in a dimension of size 1, broadcast over x's last dimension, got 'tensor<4x8xf32>'}}
  %0 = gate.gate <sigmoid> %x, %g {granularity = #gate.granularity<headwise>} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @case7(%x: tensor<2x4x8xf32>, %g: tensor<2x3x1xf32>) {
  // expected-error @+1 {{dimension #1 is 4 in x (dim 1) but 3 in g (dim 1)}}
  %0 = gate.gate <sigmoid> %x, %g {granularity = #gate.granularity<headwise>} : tensor<2x4x8xf32>, tensor<2x3x1xf32> -> tensor<2x4x8xf32>
  return
}

// -----

func.func @case8(%x: tensor<4x8xf32>, %g: tensor<4x8xf32>) {
  // expected-error @+1 {{expects clamp_limit to be finite and > 0, got 0}}
  %0 = gate.gate <silu> %x, %g {clamp_limit = 0.0 : f32} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @case9(%x: tensor<4x8xf32>, %g: tensor<4x8xf32>) {
  // expected-error @+1 {{expects clamp_limit to be finite and > 0, got inf}}
  %0 = gate.gate <silu> %x, %g {clamp_limit = 0x7F800000 : f32} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @case10(%x: tensor<4x8xi32>, %g: tensor<4x8xi32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<4x8xi32>'}}
  %0 = gate.gate <silu> %x, %g : tensor<4x8xi32>, tensor<4x8xi32> -> tensor<4x8xi32>
  return
}

// -----

func.func @case11(%x: tensor<4x8xf32>, %g: tensor<4x8xf32>) {
  // expected-error @+2 {{expected ::mlir::gate::Activation to be one of: sigmoid, identity, relu, gelu, gelu_tanh, silu}}
  // expected-error @+1 {{failed to parse Gate_ActivationAttr parameter 'value' which is to be a `::mlir::gate::Activation`}}
  %0 = gate.gate <swish> %x, %g : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @case12(%x: tensor<4x9xf32>) {
  // expected-error @+1 {{expects the last dimension of input to hold two equal halves (an even size), got 9}}
  %0 = gate.fused_gate <silu> %x : tensor<4x9xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @case13(%x: tensor<4x16xf32>) {
  // expected-error @+1 {{expects y's last dimension to be half of input's (8), got 16}}
  %0 = gate.fused_gate <silu> %x : tensor<4x16xf32> -> tensor<4x16xf32>
  return
}

// -----

func.func @case14(%x: tensor<4x16xf32>) {
  // expected-error @+1 {{expects y of rank 2, got 'tensor<8xf32>'}}
  %0 = gate.fused_gate <silu> %x : tensor<4x16xf32> -> tensor<8xf32>
  return
}

// -----

func.func @case15(%x: tensor<4x16xf32>) {
  // expected-error @+1 {{dimension #0 is 4 in input (dim 0) but 3 in y (dim 0)}}
  %0 = gate.fused_gate <silu> %x : tensor<4x16xf32> -> tensor<3x8xf32>
  return
}

// -----

func.func @case16(%x: tensor<f32>) {
  // expected-error @+1 {{expects an input of rank >= 1, got 'tensor<f32>'}}
  %0 = gate.fused_gate <silu> %x : tensor<f32> -> tensor<f32>
  return
}

// -----

func.func @case17(%x: tensor<4x16xf32>) {
  // expected-error @+1 {{expects clamp_limit to be finite and > 0, got -1}}
  %0 = gate.fused_gate <silu> %x {clamp_limit = -1.0 : f32} : tensor<4x16xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @case18(%q: tensor<2x10x16xf32>, %k: tensor<2x10x4x16xf32>, %v: tensor<2x10x4x8xf32>) {
  // expected-error @+1 {{expects q of rank 4 [B, T, H, K], got 'tensor<2x10x16xf32>'}}
  %o = gate.chunked_scan <none> %q, %k, %v  : tensor<2x10x16xf32>, tensor<2x10x4x16xf32>, tensor<2x10x4x8xf32> -> tensor<2x10x4x8xf32>
  return
}

// -----

func.func @case19(%q: tensor<2x10x4x16xf32>, %k: tensor<2x10x4x32xf32>, %v: tensor<2x10x4x8xf32>) {
  // expected-error @+1 {{dimension K is 16 in q (dim 3) but 32 in k (dim 3)}}
  %o = gate.chunked_scan <none> %q, %k, %v  : tensor<2x10x4x16xf32>, tensor<2x10x4x32xf32>, tensor<2x10x4x8xf32> -> tensor<2x10x4x8xf32>
  return
}

// -----

func.func @case20(%q: tensor<2x10x4x16xf32>, %k: tensor<2x10x4x16xf32>, %v: tensor<2x11x4x8xf32>) {
  // expected-error @+1 {{dimension T is 10 in q (dim 1) but 11 in v (dim 1)}}
  %o = gate.chunked_scan <none> %q, %k, %v  : tensor<2x10x4x16xf32>, tensor<2x10x4x16xf32>, tensor<2x11x4x8xf32> -> tensor<2x10x4x8xf32>
  return
}

// -----

func.func @case21(%q: tensor<2x10x4x16xf32>, %k: tensor<2x10x4x16xf32>, %v: tensor<2x10x4x8xf32>) {
  // expected-error @+1 {{dimension V is 8 in v (dim 3) but 16 in o (dim 3)}}
  %o = gate.chunked_scan <none> %q, %k, %v  : tensor<2x10x4x16xf32>, tensor<2x10x4x16xf32>, tensor<2x10x4x8xf32> -> tensor<2x10x4x16xf32>
  return
}

// -----

func.func @case22(%q: tensor<2x10x4x16xf32>, %k: tensor<2x10x4x16xf32>, %v: tensor<2x10x4x8xbf16>) {
  // expected-error @+1 {{expects v to have the element type of q ('f32'), got 'bf16'}}
  %o = gate.chunked_scan <none> %q, %k, %v  : tensor<2x10x4x16xf32>, tensor<2x10x4x16xf32>, tensor<2x10x4x8xbf16> -> tensor<2x10x4x8xbf16>
  return
}

// -----

func.func @case23(%q: tensor<2x10x4x16xf32>, %k: tensor<2x10x4x16xf32>, %v: tensor<2x10x4x8xf32>) {
  // expected-error @+1 {{expects o to have the element type of v ('f32'), got 'f16'}}
  %o = gate.chunked_scan <none> %q, %k, %v  : tensor<2x10x4x16xf32>, tensor<2x10x4x16xf32>, tensor<2x10x4x8xf32> -> tensor<2x10x4x8xf16>
  return
}

// -----

func.func @case24(%q: tensor<2x10x4x?xf32>, %k: tensor<2x10x4x?xf32>, %v: tensor<2x10x4x8xf32>) {
  // expected-error @+1 {{expects static head dimensions K and V, got 'tensor<2x10x4x?xf32>' and 'tensor<2x10x4x8xf32>'}}
  %o = gate.chunked_scan <none> %q, %k, %v  : tensor<2x10x4x?xf32>, tensor<2x10x4x?xf32>, tensor<2x10x4x8xf32> -> tensor<2x10x4x8xf32>
  return
}

// -----

func.func @case25(%q: tensor<2x10x4x16xf32>, %k: tensor<2x10x4x16xf32>, %v: tensor<2x10x4x8xf32>, %g: tensor<4xf32>) {
  // expected-error @+1 {{expects no decay operand for decay kind 'none'}}
  %o = gate.chunked_scan <none> %q, %k, %v decay(%g : tensor<4xf32>) : tensor<2x10x4x16xf32>, tensor<2x10x4x16xf32>, tensor<2x10x4x8xf32> -> tensor<2x10x4x8xf32>
  return
}

// -----

func.func @case26(%q: tensor<2x10x4x16xf32>, %k: tensor<2x10x4x16xf32>, %v: tensor<2x10x4x8xf32>) {
  // expected-error @+1 {{expects a decay operand for decay kind 'vector'}}
  %o = gate.chunked_scan <vector> %q, %k, %v  : tensor<2x10x4x16xf32>, tensor<2x10x4x16xf32>, tensor<2x10x4x8xf32> -> tensor<2x10x4x8xf32>
  return
}

// -----

func.func @case27(%q: tensor<2x10x4x16xf32>, %k: tensor<2x10x4x16xf32>, %v: tensor<2x10x4x8xf32>, %g: tensor<2x10x4x8xf32>) {
  // expected-error @+1 {{dimension K is 16 in q (dim 3) but 8 in decay (dim 3)}}
  %o = gate.chunked_scan <vector> %q, %k, %v decay(%g : tensor<2x10x4x8xf32>) : tensor<2x10x4x16xf32>, tensor<2x10x4x16xf32>, tensor<2x10x4x8xf32> -> tensor<2x10x4x8xf32>
  return
}

// -----

func.func @case28(%q: tensor<2x10x4x16xf32>, %k: tensor<2x10x4x16xf32>, %v: tensor<2x10x4x8xf32>, %g: tensor<2x10x4x16xf32>) {
  // expected-error @+1 {{expects decay of rank 3 [B, T, HV], got 'tensor<2x10x4x16xf32>'}}
  %o = gate.chunked_scan <scalar> %q, %k, %v decay(%g : tensor<2x10x4x16xf32>) : tensor<2x10x4x16xf32>, tensor<2x10x4x16xf32>, tensor<2x10x4x8xf32> -> tensor<2x10x4x8xf32>
  return
}

// -----

func.func @case29(%q: tensor<2x10x4x16xf32>, %k: tensor<2x10x4x16xf32>, %v: tensor<2x10x4x8xf32>, %g: tensor<5xf32>) {
  // expected-error @+1 {{dimension HV is 4 in v (dim 2) but 5 in decay (dim 0)}}
  %o = gate.chunked_scan <fixed> %q, %k, %v decay(%g : tensor<5xf32>) : tensor<2x10x4x16xf32>, tensor<2x10x4x16xf32>, tensor<2x10x4x8xf32> -> tensor<2x10x4x8xf32>
  return
}

// -----

func.func @case30(%q: tensor<2x10x4x16xf32>, %k: tensor<2x10x4x16xf32>, %v: tensor<2x10x4x8xf32>, %cu: tensor<2x2xi32>) {
  // expected-error @+1 {{expects cu_seqlens of rank 1 [N + 1], got 'tensor<2x2xi32>'}}
  %o = gate.chunked_scan <none> %q, %k, %v cu_seqlens(%cu : tensor<2x2xi32>) : tensor<2x10x4x16xf32>, tensor<2x10x4x16xf32>, tensor<2x10x4x8xf32> -> tensor<2x10x4x8xf32>
  return
}

// -----

func.func @case31(%q: tensor<1x10x4x16xf32>, %k: tensor<1x10x4x16xf32>, %v: tensor<1x10x4x8xf32>, %cu: tensor<1xi32>) {
  // expected-error @+1 {{expects cu_seqlens to hold at least 2 offsets (one sequence), got 1}}
  %o = gate.chunked_scan <none> %q, %k, %v cu_seqlens(%cu : tensor<1xi32>) : tensor<1x10x4x16xf32>, tensor<1x10x4x16xf32>, tensor<1x10x4x8xf32> -> tensor<1x10x4x8xf32>
  return
}

// -----

func.func @case32(%q: tensor<2x10x4x16xf32>, %k: tensor<2x10x4x16xf32>, %v: tensor<2x10x4x8xf32>, %cu: tensor<3xi32>) {
  // expected-error @+1 {{expects batch B = 1 with cu_seqlens (sequences are packed along T), got B = 2}}
  %o = gate.chunked_scan <none> %q, %k, %v cu_seqlens(%cu : tensor<3xi32>) : tensor<2x10x4x16xf32>, tensor<2x10x4x16xf32>, tensor<2x10x4x8xf32> -> tensor<2x10x4x8xf32>
  return
}

// -----

func.func @case33(%q: tensor<1x10x4x16xf32>, %k: tensor<1x10x4x16xf32>, %v: tensor<1x10x4x8xf32>, %cu: tensor<4xi32>, %s0: tensor<2x4x16x8xf32>) {
  // expected-error @+1 {{dimension N is 3 in cu_seqlens (length - 1) but 2 in initial_state (dim 0)}}
  %o = gate.chunked_scan <none> %q, %k, %v initial_state(%s0 : tensor<2x4x16x8xf32>) cu_seqlens(%cu : tensor<4xi32>) : tensor<1x10x4x16xf32>, tensor<1x10x4x16xf32>, tensor<1x10x4x8xf32> -> tensor<1x10x4x8xf32>
  return
}

// -----

func.func @case34(%q: tensor<2x10x4x16xf32>, %k: tensor<2x10x4x16xf32>, %v: tensor<2x10x4x8xf32>) {
  // expected-error @+1 {{dimension K is 16 in q (dim 3) but 8 in final_state (dim 2)}}
  %o, %s = gate.chunked_scan <none> %q, %k, %v  : tensor<2x10x4x16xf32>, tensor<2x10x4x16xf32>, tensor<2x10x4x8xf32> -> tensor<2x10x4x8xf32>, tensor<2x4x8x8xf32>
  return
}

// -----

func.func @case35(%q: tensor<2x10x4x16xf32>, %k: tensor<2x10x4x16xf32>, %v: tensor<2x10x4x8xf32>) {
  // expected-error @+1 {{expects chunk_size >= 1, got 0}}
  %o = gate.chunked_scan <none> %q, %k, %v {chunk_size = 0 : i64} : tensor<2x10x4x16xf32>, tensor<2x10x4x16xf32>, tensor<2x10x4x8xf32> -> tensor<2x10x4x8xf32>
  return
}

// -----

func.func @case36(%q: tensor<2x10x4x16xf32>, %k: tensor<2x10x4x16xf32>, %v: tensor<2x10x4x8xf32>) {
  // expected-error @+1 {{expects a finite scale, got nan}}
  %o = gate.chunked_scan <none> %q, %k, %v {scale = 0x7FC00000 : f32} : tensor<2x10x4x16xf32>, tensor<2x10x4x16xf32>, tensor<2x10x4x8xf32> -> tensor<2x10x4x8xf32>
  return
}

// -----

func.func @case37(%q: tensor<2x10x4x16xf32>, %k: tensor<2x10x4x16xf32>, %v: tensor<2x10x4x8xf32>, %s0: tensor<2x4x16x8xbf16>) {
  // expected-error @+1 {{expects an f32 initial_state (bf16 states need a pool), got 'tensor<2x4x16x8xbf16>'}}
  %o = gate.chunked_scan <none> %q, %k, %v initial_state(%s0 : tensor<2x4x16x8xbf16>) : tensor<2x10x4x16xf32>, tensor<2x10x4x16xf32>, tensor<2x10x4x8xf32> -> tensor<2x10x4x8xf32>
  return
}

// -----

func.func @case38(%l: tensor<5x8x1xf32>) {
  // expected-error @+1 {{expects logits of rank 2 [T, E], got 'tensor<5x8x1xf32>'}}
  %w, %e = gate.router <softmax> %l  {k = 2 : i64} : tensor<5x8x1xf32> -> tensor<5x2xf32>, tensor<5x2xi32>
  return
}

// -----

func.func @case39(%l: tensor<5x?xf32>) {
  // expected-error @+1 {{expects a static expert count E, got 'tensor<5x?xf32>'}}
  %w, %e = gate.router <softmax> %l  {k = 2 : i64} : tensor<5x?xf32> -> tensor<5x2xf32>, tensor<5x2xi32>
  return
}

// -----

func.func @case40(%l: tensor<5x8xf32>) {
  // expected-error @+1 {{expects 1 <= k <= E = 8, got k = 9}}
  %w, %e = gate.router <softmax> %l  {k = 9 : i64} : tensor<5x8xf32> -> tensor<5x9xf32>, tensor<5x9xi32>
  return
}

// -----

func.func @case41(%l: tensor<5x8xf32>) {
  // expected-error @+1 {{expects 1 <= k <= E = 8, got k = 0}}
  %w, %e = gate.router <softmax> %l  {k = 0 : i64} : tensor<5x8xf32> -> tensor<5x0xf32>, tensor<5x0xi32>
  return
}

// -----

func.func @case42(%l: tensor<5x8xf32>) {
  // expected-error @+1 {{dimension k is 2 in attribute k but 3 in weights (dim 1)}}
  %w, %e = gate.router <softmax> %l  {k = 2 : i64} : tensor<5x8xf32> -> tensor<5x3xf32>, tensor<5x2xi32>
  return
}

// -----

func.func @case43(%l: tensor<5x8xf32>) {
  // expected-error @+1 {{dimension T is 5 in logits (dim 0) but 6 in experts (dim 0)}}
  %w, %e = gate.router <softmax> %l  {k = 2 : i64} : tensor<5x8xf32> -> tensor<5x2xf32>, tensor<6x2xi32>
  return
}

// -----

func.func @case44(%l: tensor<5x8xf32>, %b: tensor<7xf32>) {
  // expected-error @+1 {{dimension E is 8 in logits (dim 1) but 7 in selection_bias (dim 0)}}
  %w, %e = gate.router <softmax> %l bias(%b : tensor<7xf32>) {k = 2 : i64} : tensor<5x8xf32> -> tensor<5x2xf32>, tensor<5x2xi32>
  return
}

// -----

func.func @case45(%l: tensor<5x8xf32>) {
  // expected-error @+1 {{expects n_group to divide E = 8, got n_group = 3}}
  %w, %e = gate.router <softmax> %l  {k = 2 : i64, n_group = 3 : i64} : tensor<5x8xf32> -> tensor<5x2xf32>, tensor<5x2xi32>
  return
}

// -----

func.func @case46(%l: tensor<5x8xf32>) {
  // expected-error @+1 {{expects 1 <= topk_group <= n_group = 4, got topk_group = 5}}
  %w, %e = gate.router <softmax> %l  {k = 2 : i64, n_group = 4 : i64, topk_group = 5 : i64} : tensor<5x8xf32> -> tensor<5x2xf32>, tensor<5x2xi32>
  return
}

// -----

func.func @case47(%l: tensor<5x8xf32>) {
  // expected-error @+1 {{expects groups of at least 2 experts for group_score sum_top2, got 1}}
  %w, %e = gate.router <softmax> %l  {k = 2 : i64, n_group = 8 : i64, topk_group = 2 : i64} : tensor<5x8xf32> -> tensor<5x2xf32>, tensor<5x2xi32>
  return
}

// -----

func.func @case48(%l: tensor<5x8xf32>) {
  // expected-error @+1 {{expects k <= topk_group * (E / n_group) = 1 eligible experts, got k = 2}}
  %w, %e = gate.router <softmax> %l  {k = 2 : i64, n_group = 8 : i64, topk_group = 1 : i64, group_score = #gate.group_score<max>} : tensor<5x8xf32> -> tensor<5x2xf32>, tensor<5x2xi32>
  return
}

// -----

func.func @case49(%l: tensor<5x8xf32>) {
  // expected-error @+1 {{expects routed_scaling_factor to be finite and > 0, got 0}}
  %w, %e = gate.router <softmax> %l  {k = 2 : i64, routed_scaling_factor = 0.0 : f32} : tensor<5x8xf32> -> tensor<5x2xf32>, tensor<5x2xi32>
  return
}

// -----

func.func @case50(%l: tensor<5x8xf32>) {
  // expected-error @+1 {{expects capacity_factor to be finite and > 0, got -1}}
  %w, %e = gate.router <softmax> %l  {k = 2 : i64, capacity_factor = -1.0 : f32} : tensor<5x8xf32> -> tensor<5x2xf32>, tensor<5x2xi32>
  return
}

// -----

func.func @case51(%l: tensor<5x8xf32>) {
  // expected-error @+1 {{result #1 must be ranked tensor of 32-bit signless integer values, but got 'tensor<5x2xi64>'}}
  %w, %e = gate.router <softmax> %l  {k = 2 : i64} : tensor<5x8xf32> -> tensor<5x2xf32>, tensor<5x2xi64>
  return
}

// -----

func.func @case52(%e: tensor<10x2xi32>) {
  // expected-error @+1 {{expects num_experts >= 1, got 0}}
  %s, %b, %o, %c, %p = gate.dispatch %e {num_experts = 0 : i64, block_size = 16 : i64} : tensor<10x2xi32> -> tensor<144xi32>, tensor<9xi32>, tensor<9xi32>, tensor<8xi32>, tensor<10x2xi32>
  return
}

// -----

func.func @case53(%e: tensor<10x2xi32>) {
  // expected-error @+1 {{expects block_size >= 1, got 0}}
  %s, %b, %o, %c, %p = gate.dispatch %e {num_experts = 8 : i64, block_size = 0 : i64} : tensor<10x2xi32> -> tensor<144xi32>, tensor<9xi32>, tensor<9xi32>, tensor<8xi32>, tensor<10x2xi32>
  return
}

// -----

func.func @case54(%e: tensor<10x2xi32>) {
  // expected-error @+1 {{dimension E + 1 is 9 in attribute num_experts + 1 but 8 in expert_offsets (dim 0)}}
  %s, %b, %o, %c, %p = gate.dispatch %e {num_experts = 8 : i64, block_size = 16 : i64} : tensor<10x2xi32> -> tensor<144xi32>, tensor<9xi32>, tensor<8xi32>, tensor<8xi32>, tensor<10x2xi32>
  return
}

// -----

func.func @case55(%e: tensor<10x2xi32>) {
  // expected-error @+1 {{dimension E is 8 in attribute num_experts but 9 in expert_counts (dim 0)}}
  %s, %b, %o, %c, %p = gate.dispatch %e {num_experts = 8 : i64, block_size = 16 : i64} : tensor<10x2xi32> -> tensor<144xi32>, tensor<9xi32>, tensor<9xi32>, tensor<9xi32>, tensor<10x2xi32>
  return
}

// -----

func.func @case56(%e: tensor<10x2xi32>) {
  // expected-error @+1 {{dimension L is 144 in T * k + E * (block_size - 1), rounded up to block_size but 140 in sorted_pairs (dim 0)}}
  %s, %b, %o, %c, %p = gate.dispatch %e {num_experts = 8 : i64, block_size = 16 : i64} : tensor<10x2xi32> -> tensor<140xi32>, tensor<9xi32>, tensor<9xi32>, tensor<8xi32>, tensor<10x2xi32>
  return
}

// -----

func.func @case57(%e: tensor<10x2xi32>) {
  // expected-error @+1 {{dimension L / block_size is 9 in the block count but 10 in block_experts (dim 0)}}
  %s, %b, %o, %c, %p = gate.dispatch %e {num_experts = 8 : i64, block_size = 16 : i64} : tensor<10x2xi32> -> tensor<144xi32>, tensor<10xi32>, tensor<9xi32>, tensor<8xi32>, tensor<10x2xi32>
  return
}

// -----

func.func @case58(%e: tensor<10x2xi32>) {
  // expected-error @+1 {{dimension k is 2 in experts (dim 1) but 3 in pair_positions (dim 1)}}
  %s, %b, %o, %c, %p = gate.dispatch %e {num_experts = 8 : i64, block_size = 16 : i64} : tensor<10x2xi32> -> tensor<144xi32>, tensor<9xi32>, tensor<9xi32>, tensor<8xi32>, tensor<10x3xi32>
  return
}

// -----

func.func @case59(%e: tensor<20xi32>) {
  // expected-error @+1 {{expects experts of rank 2 [T, k], got 'tensor<20xi32>'}}
  %s, %b, %o, %c, %p = gate.dispatch %e {num_experts = 8 : i64, block_size = 16 : i64} : tensor<20xi32> -> tensor<144xi32>, tensor<9xi32>, tensor<9xi32>, tensor<8xi32>, tensor<10x2xi32>
  return
}

// -----

func.func @grouped_heads_not_multiple(%q: tensor<2x10x4x16xf32>, %v: tensor<2x10x6x8xf32>) {
  // expected-error @+1 {{expects the value heads HV (6, v dim 2) to be a multiple of the query/key heads H (4, q dim 2)}}
  %o = gate.chunked_scan <none> %q, %q, %v : tensor<2x10x4x16xf32>, tensor<2x10x4x16xf32>, tensor<2x10x6x8xf32> -> tensor<2x10x6x8xf32>
  return
}

// -----

func.func @grouped_heads_dynamic(%q: tensor<2x10x?x16xf32>, %v: tensor<2x10x8x8xf32>, %g: tensor<4xf32>) {
  // expected-error @+1 {{dimension HV is 8 in v (dim 2) but 4 in decay (dim 0)}}
  %o = gate.chunked_scan <fixed> %q, %q, %v decay(%g : tensor<4xf32>) : tensor<2x10x?x16xf32>, tensor<2x10x?x16xf32>, tensor<2x10x8x8xf32> -> tensor<2x10x8x8xf32>
  return
}

// -----

func.func @grouped_state_on_key_heads(%q: tensor<2x10x2x16xf32>, %v: tensor<2x10x4x8xf32>, %s0: tensor<2x2x16x8xf32>) {
  // expected-error @+1 {{dimension HV is 4 in v (dim 2) but 2 in initial_state (dim 1)}}
  %o = gate.chunked_scan <none> %q, %q, %v initial_state(%s0 : tensor<2x2x16x8xf32>) : tensor<2x10x2x16xf32>, tensor<2x10x2x16xf32>, tensor<2x10x4x8xf32> -> tensor<2x10x4x8xf32>
  return
}

// -----

func.func @delta_beta_rank(%q: tensor<2x10x4x16xf32>, %v: tensor<2x10x4x8xf32>, %beta: tensor<2x10x4x1xf32>) {
  // expected-error @+1 {{expects beta of rank 3 [B, T, HV], got 'tensor<2x10x4x1xf32>'}}
  %o = gate.chunked_scan <none> %q, %q, %v delta(%beta : tensor<2x10x4x1xf32>) : tensor<2x10x4x16xf32>, tensor<2x10x4x16xf32>, tensor<2x10x4x8xf32> -> tensor<2x10x4x8xf32>
  return
}

// -----

func.func @delta_beta_heads(%q: tensor<2x10x2x16xf32>, %v: tensor<2x10x4x8xf32>, %beta: tensor<2x10x2xf32>) {
  // expected-error @+1 {{dimension HV is 4 in v (dim 2) but 2 in beta (dim 2)}}
  %o = gate.chunked_scan <none> %q, %q, %v delta(%beta : tensor<2x10x2xf32>) : tensor<2x10x2x16xf32>, tensor<2x10x2x16xf32>, tensor<2x10x4x8xf32> -> tensor<2x10x4x8xf32>
  return
}

// -----

func.func @delta_beta_tokens(%q: tensor<2x10x4x16xf32>, %v: tensor<2x10x4x8xf32>, %beta: tensor<2x9x4xbf16>) {
  // expected-error @+1 {{dimension T is 10 in q (dim 1) but 9 in beta (dim 1)}}
  %o = gate.chunked_scan <none> %q, %q, %v delta(%beta : tensor<2x9x4xbf16>) : tensor<2x10x4x16xf32>, tensor<2x10x4x16xf32>, tensor<2x10x4x8xf32> -> tensor<2x10x4x8xf32>
  return
}

// -----

func.func @delta_beta_integer(%q: tensor<2x10x4x16xf32>, %v: tensor<2x10x4x8xf32>, %beta: tensor<2x10x4xi32>) {
  // expected-error @+1 {{operand #3 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values}}
  %o = gate.chunked_scan <none> %q, %q, %v delta(%beta : tensor<2x10x4xi32>) : tensor<2x10x4x16xf32>, tensor<2x10x4x16xf32>, tensor<2x10x4x8xf32> -> tensor<2x10x4x8xf32>
  return
}

// -----

func.func @conv_x_rank(%x: tensor<10x64xf32>, %w: tensor<64x4xf32>) {
  // expected-error @+1 {{expects x of rank 3 [B, T, C], got 'tensor<10x64xf32>'}}
  %y = gate.causal_conv1d <silu> %x, %w : tensor<10x64xf32>, tensor<64x4xf32> -> tensor<10x64xf32>
  return
}

// -----

func.func @conv_y_shape(%x: tensor<2x10x64xf32>, %w: tensor<64x4xf32>) {
  // expected-error @+1 {{dimension T is 10 in x (dim 1) but 9 in y (dim 1)}}
  %y = gate.causal_conv1d <silu> %x, %w : tensor<2x10x64xf32>, tensor<64x4xf32> -> tensor<2x9x64xf32>
  return
}

// -----

func.func @conv_y_type(%x: tensor<2x10x64xbf16>, %w: tensor<64x4xf32>) {
  // expected-error @+1 {{expects y to have the element type of x ('bf16'), got 'f32'}}
  %y = gate.causal_conv1d <silu> %x, %w : tensor<2x10x64xbf16>, tensor<64x4xf32> -> tensor<2x10x64xf32>
  return
}

// -----

func.func @conv_weight_rank(%x: tensor<2x10x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{expects weight of rank 2 [C, W], got 'tensor<64xf32>'}}
  %y = gate.causal_conv1d <silu> %x, %w : tensor<2x10x64xf32>, tensor<64xf32> -> tensor<2x10x64xf32>
  return
}

// -----

func.func @conv_weight_channels(%x: tensor<2x10x64xf32>, %w: tensor<32x4xf32>) {
  // expected-error @+1 {{dimension C is 64 in x (dim 2) but 32 in weight (dim 0)}}
  %y = gate.causal_conv1d <silu> %x, %w : tensor<2x10x64xf32>, tensor<32x4xf32> -> tensor<2x10x64xf32>
  return
}

// -----

func.func @conv_width_too_large(%x: tensor<2x10x64xf32>, %w: tensor<64x9xf32>) {
  // expected-error @+1 {{expects a static kernel width W (weight dim 1) between 1 and 8, got 'tensor<64x9xf32>'}}
  %y = gate.causal_conv1d <silu> %x, %w : tensor<2x10x64xf32>, tensor<64x9xf32> -> tensor<2x10x64xf32>
  return
}

// -----

func.func @conv_width_dynamic(%x: tensor<2x10x64xf32>, %w: tensor<64x?xf32>) {
  // expected-error @+1 {{expects a static kernel width W (weight dim 1) between 1 and 8, got 'tensor<64x?xf32>'}}
  %y = gate.causal_conv1d <silu> %x, %w : tensor<2x10x64xf32>, tensor<64x?xf32> -> tensor<2x10x64xf32>
  return
}

// -----

func.func @conv_bias_shape(%x: tensor<2x10x64xf32>, %w: tensor<64x4xf32>, %b: tensor<63xf32>) {
  // expected-error @+1 {{dimension C is 64 in x (dim 2) but 63 in bias (dim 0)}}
  %y = gate.causal_conv1d <silu> %x, %w bias(%b : tensor<63xf32>) : tensor<2x10x64xf32>, tensor<64x4xf32> -> tensor<2x10x64xf32>
  return
}

// -----

func.func @conv_cu_rank(%x: tensor<1x10x64xf32>, %w: tensor<64x4xf32>, %cu: tensor<2x3xi32>) {
  // expected-error @+1 {{expects cu_seqlens of rank 1 [N + 1], got 'tensor<2x3xi32>'}}
  %y = gate.causal_conv1d <silu> %x, %w cu_seqlens(%cu : tensor<2x3xi32>) : tensor<1x10x64xf32>, tensor<64x4xf32> -> tensor<1x10x64xf32>
  return
}

// -----

func.func @conv_cu_too_short(%x: tensor<1x10x64xf32>, %w: tensor<64x4xf32>, %cu: tensor<1xi32>) {
  // expected-error @+1 {{expects cu_seqlens to hold at least 2 offsets (one sequence), got 1}}
  %y = gate.causal_conv1d <silu> %x, %w cu_seqlens(%cu : tensor<1xi32>) : tensor<1x10x64xf32>, tensor<64x4xf32> -> tensor<1x10x64xf32>
  return
}

// -----

func.func @conv_cu_batch(%x: tensor<2x10x64xf32>, %w: tensor<64x4xf32>, %cu: tensor<3xi64>) {
  // expected-error @+1 {{expects batch B = 1 with cu_seqlens (sequences are packed along T), got B = 2}}
  %y = gate.causal_conv1d <silu> %x, %w cu_seqlens(%cu : tensor<3xi64>) : tensor<2x10x64xf32>, tensor<64x4xf32> -> tensor<2x10x64xf32>
  return
}

// -----

func.func @conv_cu_float(%x: tensor<1x10x64xf32>, %w: tensor<64x4xf32>, %cu: tensor<3xf32>) {
  // expected-error @+1 {{operand #2 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values}}
  %y = gate.causal_conv1d <silu> %x, %w cu_seqlens(%cu : tensor<3xf32>) : tensor<1x10x64xf32>, tensor<64x4xf32> -> tensor<1x10x64xf32>
  return
}

// -----

func.func @conv_width_one_state(%x: tensor<2x10x64xf32>, %w: tensor<64x1xf32>, %s0: tensor<2x64x0xf32>) {
  // expected-error @+1 {{expects no initial state with width W = 1: a width-1 convolution reads no earlier inputs}}
  %y = gate.causal_conv1d <silu> %x, %w initial_state(%s0 : tensor<2x64x0xf32>) : tensor<2x10x64xf32>, tensor<64x1xf32> -> tensor<2x10x64xf32>
  return
}

// -----

func.func @conv_width_one_final_state(%x: tensor<2x10x64xf32>, %w: tensor<64x1xf32>) {
  // expected-error @+1 {{expects no final state with width W = 1: a width-1 convolution reads no earlier inputs}}
  %y, %s = gate.causal_conv1d <silu> %x, %w : tensor<2x10x64xf32>, tensor<64x1xf32> -> tensor<2x10x64xf32>, tensor<2x64x0xf32>
  return
}

// -----

func.func @conv_state_sequences(%x: tensor<2x10x64xf32>, %w: tensor<64x4xf32>, %s0: tensor<3x64x3xf32>) {
  // expected-error @+1 {{dimension N is 2 in x (dim 0) but 3 in initial_state (dim 0)}}
  %y = gate.causal_conv1d <silu> %x, %w initial_state(%s0 : tensor<3x64x3xf32>) : tensor<2x10x64xf32>, tensor<64x4xf32> -> tensor<2x10x64xf32>
  return
}

// -----

func.func @conv_state_varlen_sequences(%x: tensor<1x10x64xf32>, %w: tensor<64x4xf32>, %cu: tensor<4xi32>) {
  // expected-error @+1 {{dimension N is 3 in cu_seqlens (length - 1) but 4 in final_state (dim 0)}}
  %y, %s = gate.causal_conv1d <silu> %x, %w cu_seqlens(%cu : tensor<4xi32>) : tensor<1x10x64xf32>, tensor<64x4xf32> -> tensor<1x10x64xf32>, tensor<4x64x3xf32>
  return
}

// -----

func.func @conv_state_channels(%x: tensor<2x10x64xf32>, %w: tensor<64x4xf32>, %s0: tensor<2x32x3xf32>) {
  // expected-error @+1 {{dimension C is 64 in x (dim 2) but 32 in initial_state (dim 1)}}
  %y = gate.causal_conv1d <silu> %x, %w initial_state(%s0 : tensor<2x32x3xf32>) : tensor<2x10x64xf32>, tensor<64x4xf32> -> tensor<2x10x64xf32>
  return
}

// -----

func.func @conv_state_width(%x: tensor<2x10x64xf32>, %w: tensor<64x4xf32>, %s0: tensor<2x64x4xf32>) {
  // expected-error @+1 {{dimension W - 1 is 3 in weight (dim 1) - 1 but 4 in initial_state (dim 2)}}
  %y = gate.causal_conv1d <silu> %x, %w initial_state(%s0 : tensor<2x64x4xf32>) : tensor<2x10x64xf32>, tensor<64x4xf32> -> tensor<2x10x64xf32>
  return
}

// -----

func.func @conv_state_rank(%x: tensor<2x10x64xf32>, %w: tensor<64x4xf32>) {
  // expected-error @+1 {{expects final_state of rank 3 [N, C, W - 1], got 'tensor<2x64xf32>'}}
  %y, %s = gate.causal_conv1d <silu> %x, %w : tensor<2x10x64xf32>, tensor<64x4xf32> -> tensor<2x10x64xf32>, tensor<2x64xf32>
  return
}

// -----

func.func @conv_state_type(%x: tensor<2x10x64xbf16>, %w: tensor<64x4xf32>, %s0: tensor<2x64x3xf32>) {
  // expected-error @+1 {{expects initial_state to have the element type of x ('bf16'), got 'f32'}}
  %y = gate.causal_conv1d <silu> %x, %w initial_state(%s0 : tensor<2x64x3xf32>) : tensor<2x10x64xbf16>, tensor<64x4xf32> -> tensor<2x10x64xbf16>
  return
}

// -----

func.func @pool_without_final_state(%q: tensor<2x1x4x16xf32>, %v: tensor<2x1x4x8xf32>, %pool: tensor<9x4x16x8xf32>, %slots: tensor<2xi32>) {
  // expected-error @+1 {{expects initial_state and final_state with state_slots (the pool in and out)}}
  %o = gate.chunked_scan <none> %q, %q, %v initial_state(%pool : tensor<9x4x16x8xf32>) slots(%slots : tensor<2xi32>) : tensor<2x1x4x16xf32>, tensor<2x1x4x16xf32>, tensor<2x1x4x8xf32> -> tensor<2x1x4x8xf32>
  return
}

// -----

func.func @pool_slots_per_sequence(%q: tensor<2x1x4x16xf32>, %v: tensor<2x1x4x8xf32>, %pool: tensor<9x4x16x8xf32>, %slots: tensor<3xi32>) {
  // expected-error @+1 {{dimension N is 2 in q (dim 0) but 3 in state_slots (dim 0)}}
  %o, %p = gate.chunked_scan <none> %q, %q, %v initial_state(%pool : tensor<9x4x16x8xf32>) slots(%slots : tensor<3xi32>) : tensor<2x1x4x16xf32>, tensor<2x1x4x16xf32>, tensor<2x1x4x8xf32> -> tensor<2x1x4x8xf32>, tensor<9x4x16x8xf32>
  return
}

// -----

func.func @pool_type_changes(%q: tensor<2x1x4x16xf32>, %v: tensor<2x1x4x8xf32>, %pool: tensor<9x4x16x8xf32>, %slots: tensor<2xi64>) {
  // expected-error @+1 {{expects final_state of the pool's type 'tensor<9x4x16x8xf32>', got 'tensor<2x4x16x8xf32>'}}
  %o, %p = gate.chunked_scan <none> %q, %q, %v initial_state(%pool : tensor<9x4x16x8xf32>) slots(%slots : tensor<2xi64>) : tensor<2x1x4x16xf32>, tensor<2x1x4x16xf32>, tensor<2x1x4x8xf32> -> tensor<2x1x4x8xf32>, tensor<2x4x16x8xf32>
  return
}

// -----

func.func @pool_value_heads(%q: tensor<2x1x4x16xf32>, %v: tensor<2x1x4x8xf32>, %pool: tensor<9x2x16x8xf32>, %slots: tensor<2xi32>) {
  // expected-error @+1 {{dimension HV is 4 in v (dim 2) but 2 in initial_state (dim 1)}}
  %o, %p = gate.chunked_scan <none> %q, %q, %v initial_state(%pool : tensor<9x2x16x8xf32>) slots(%slots : tensor<2xi32>) : tensor<2x1x4x16xf32>, tensor<2x1x4x16xf32>, tensor<2x1x4x8xf32> -> tensor<2x1x4x8xf32>, tensor<9x2x16x8xf32>
  return
}

// -----

func.func @bf16_final_state_without_pool(%q: tensor<2x1x4x16xf32>, %v: tensor<2x1x4x8xf32>) {
  // expected-error @+1 {{expects an f32 final_state (bf16 states need a pool), got 'tensor<2x4x16x8xbf16>'}}
  %o, %s = gate.chunked_scan <none> %q, %q, %v : tensor<2x1x4x16xf32>, tensor<2x1x4x16xf32>, tensor<2x1x4x8xf32> -> tensor<2x1x4x8xf32>, tensor<2x4x16x8xbf16>
  return
}

// -----

func.func @chunk_states_rank(%q: tensor<2x5x4x16xf32>, %v: tensor<2x5x4x8xf32>) {
  // expected-error @+1 {{expects chunk_states [B, ceil(T / C), HV, K, V], got 'tensor<2x5x16x8xf32>'}}
  %o, %h = gate.chunked_scan <none> %q, %q, %v : tensor<2x5x4x16xf32>, tensor<2x5x4x16xf32>, tensor<2x5x4x8xf32> -> tensor<2x5x4x8xf32> chunk_states tensor<2x5x16x8xf32>
  return
}

// -----

func.func @chunk_states_count(%q: tensor<2x5x4x16xf32>, %v: tensor<2x5x4x8xf32>) {
  // expected-error @+1 {{expects chunk_states to hold ceil(T / C) = 3 states (T = 5, C = 2), got 5}}
  %o, %h = gate.chunked_scan <none> %q, %q, %v {chunk_size = 2 : i64} : tensor<2x5x4x16xf32>, tensor<2x5x4x16xf32>, tensor<2x5x4x8xf32> -> tensor<2x5x4x8xf32> chunk_states tensor<2x5x4x16x8xf32>
  return
}

// -----

func.func @chunk_states_heads(%q: tensor<2x5x4x16xf32>, %v: tensor<2x5x4x8xf32>) {
  // expected-error @+1 {{dimension HV is 4 in v (dim 2) but 2 in chunk_states (dim 2)}}
  %o, %h = gate.chunked_scan <none> %q, %q, %v : tensor<2x5x4x16xf32>, tensor<2x5x4x16xf32>, tensor<2x5x4x8xf32> -> tensor<2x5x4x8xf32> chunk_states tensor<2x1x2x16x8xf32>
  return
}

// -----

func.func @chunk_states_packed(%q: tensor<1x5x4x16xf32>, %v: tensor<1x5x4x8xf32>, %cu: tensor<3xi32>) {
  // expected-error @+1 {{expects chunk_size 1 for chunk_states with cu_seqlens (the state after each token), got 4}}
  %o, %h = gate.chunked_scan <none> %q, %q, %v cu_seqlens(%cu : tensor<3xi32>) {chunk_size = 4 : i64} : tensor<1x5x4x16xf32>, tensor<1x5x4x16xf32>, tensor<1x5x4x8xf32> -> tensor<1x5x4x8xf32> chunk_states tensor<1x2x4x16x8xf32>
  return
}

// -----

func.func @conv_pool_without_final_state(%x: tensor<2x1x64xbf16>, %w: tensor<64x4xbf16>, %pool: tensor<9x64x3xbf16>, %slots: tensor<2xi32>) {
  // expected-error @+1 {{expects initial_state and final_state with state_slots (the pool in and out)}}
  %y = gate.causal_conv1d <silu> %x, %w initial_state(%pool : tensor<9x64x3xbf16>) slots(%slots : tensor<2xi32>) : tensor<2x1x64xbf16>, tensor<64x4xbf16> -> tensor<2x1x64xbf16>
  return
}

// -----

func.func @conv_pool_slot_count(%x: tensor<2x1x64xbf16>, %w: tensor<64x4xbf16>, %pool: tensor<9x64x3xbf16>, %slots: tensor<3xi32>) {
  // expected-error @+1 {{dimension N is 2 in x (dim 0) but 3 in state_slots (dim 0)}}
  %y, %p = gate.causal_conv1d <silu> %x, %w initial_state(%pool : tensor<9x64x3xbf16>) slots(%slots : tensor<3xi32>) : tensor<2x1x64xbf16>, tensor<64x4xbf16> -> tensor<2x1x64xbf16>, tensor<9x64x3xbf16>
  return
}

// -----

func.func @conv_pool_type_changes(%x: tensor<2x1x64xbf16>, %w: tensor<64x4xbf16>, %pool: tensor<9x64x3xbf16>, %slots: tensor<2xi32>) {
  // expected-error @+1 {{expects final_state of the pool's type 'tensor<9x64x3xbf16>', got 'tensor<2x64x3xbf16>'}}
  %y, %p = gate.causal_conv1d <silu> %x, %w initial_state(%pool : tensor<9x64x3xbf16>) slots(%slots : tensor<2xi32>) : tensor<2x1x64xbf16>, tensor<64x4xbf16> -> tensor<2x1x64xbf16>, tensor<2x64x3xbf16>
  return
}

// -----

func.func @conv_pool_channels(%x: tensor<2x1x64xbf16>, %w: tensor<64x4xbf16>, %pool: tensor<9x32x3xbf16>, %slots: tensor<2xi32>) {
  // expected-error @+1 {{dimension C is 64 in x (dim 2) but 32 in initial_state (dim 1)}}
  %y, %p = gate.causal_conv1d <silu> %x, %w initial_state(%pool : tensor<9x32x3xbf16>) slots(%slots : tensor<2xi32>) : tensor<2x1x64xbf16>, tensor<64x4xbf16> -> tensor<2x1x64xbf16>, tensor<9x32x3xbf16>
  return
}
