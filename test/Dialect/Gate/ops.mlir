// RUN: gatec-opt %s | FileCheck %s
// RUN: gatec-opt %s | gatec-opt | FileCheck %s
// RUN: gatec-opt %s --mlir-print-op-generic | gatec-opt | FileCheck %s

// CHECK-LABEL: func @gates
func.func @gates(%x: tensor<?x8xbf16>, %g: tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  // CHECK: gate.gate <sigmoid> %{{.*}}, %{{.*}} : tensor<?x8xbf16>, tensor<?x8xbf16> -> tensor<?x8xbf16>
  %0 = gate.gate <sigmoid> %x, %g : tensor<?x8xbf16>, tensor<?x8xbf16> -> tensor<?x8xbf16>
  // CHECK: gate.gate <identity>
  %1 = gate.gate <identity> %0, %g : tensor<?x8xbf16>, tensor<?x8xbf16> -> tensor<?x8xbf16>
  // CHECK: gate.gate <relu>
  %2 = gate.gate <relu> %1, %g : tensor<?x8xbf16>, tensor<?x8xbf16> -> tensor<?x8xbf16>
  // CHECK: gate.gate <gelu>
  %3 = gate.gate <gelu> %2, %g : tensor<?x8xbf16>, tensor<?x8xbf16> -> tensor<?x8xbf16>
  // CHECK: gate.gate <gelu_tanh>
  %4 = gate.gate <gelu_tanh> %3, %g : tensor<?x8xbf16>, tensor<?x8xbf16> -> tensor<?x8xbf16>
  // CHECK: gate.gate <silu> %{{.*}}, %{{.*}} {clamp_limit = 7.000000e+00 : f32}
  %5 = gate.gate <silu> %4, %g {clamp_limit = 7.0 : f32} : tensor<?x8xbf16>, tensor<?x8xbf16> -> tensor<?x8xbf16>
  return %5 : tensor<?x8xbf16>
}

// The elementwise default is elided when printing.
// CHECK-LABEL: func @granularity
func.func @granularity(%y: tensor<1x?x16x128xf16>, %gh: tensor<1x?x16x1xf16>, %ge: tensor<1x?x16x128xf16>)
    -> (tensor<1x?x16x128xf16>, tensor<1x?x16x128xf16>) {
  // CHECK: gate.gate <sigmoid> %{{.*}}, %{{.*}} {granularity = #gate.granularity<headwise>} : tensor<1x?x16x128xf16>, tensor<1x?x16x1xf16>
  %0 = gate.gate <sigmoid> %y, %gh {granularity = #gate.granularity<headwise>} : tensor<1x?x16x128xf16>, tensor<1x?x16x1xf16> -> tensor<1x?x16x128xf16>
  // CHECK: gate.gate <sigmoid> %{{.*}}, %{{.*}} : tensor<1x?x16x128xf16>, tensor<1x?x16x128xf16>
  %1 = gate.gate <sigmoid> %y, %ge {granularity = #gate.granularity<elementwise>} : tensor<1x?x16x128xf16>, tensor<1x?x16x128xf16> -> tensor<1x?x16x128xf16>
  return %0, %1 : tensor<1x?x16x128xf16>, tensor<1x?x16x128xf16>
}

// CHECK-LABEL: func @fused
func.func @fused(%gu: tensor<?x22016xf32>, %d: tensor<4x?xf32>) -> (tensor<?x11008xf32>, tensor<?x11008xf32>, tensor<4x?xf32>) {
  // CHECK: gate.fused_gate <silu> %{{.*}} : tensor<?x22016xf32> -> tensor<?x11008xf32>
  %0 = gate.fused_gate <silu> %gu : tensor<?x22016xf32> -> tensor<?x11008xf32>
  // CHECK: gate.fused_gate <gelu> %{{.*}} {clamp_limit = 1.000000e+01 : f32, gate_half = #gate.gate_half<second>}
  %1 = gate.fused_gate <gelu> %gu {gate_half = #gate.gate_half<second>, clamp_limit = 10.0 : f32} : tensor<?x22016xf32> -> tensor<?x11008xf32>
  // CHECK: gate.fused_gate <silu> %{{.*}} : tensor<4x?xf32> -> tensor<4x?xf32>
  %2 = gate.fused_gate <silu> %d : tensor<4x?xf32> -> tensor<4x?xf32>
  return %0, %1, %2 : tensor<?x11008xf32>, tensor<?x11008xf32>, tensor<4x?xf32>
}

// CHECK-LABEL: func @scans
func.func @scans(%q: tensor<2x?x4x64xbf16>, %v: tensor<2x?x4x32xbf16>, %gv: tensor<2x?x4x64xf32>,
                 %gs: tensor<2x?x4xf32>, %gf: tensor<4xf32>, %s0: tensor<2x4x64x32xf32>) {
  // CHECK: [[O:%.+]], [[S:%.+]] = gate.chunked_scan <vector> %{{.*}}, %{{.*}}, %{{.*}} decay(%{{.*}} : tensor<2x?x4x64xf32>) initial_state(%{{.*}} : tensor<2x4x64x32xf32>) :
  // CHECK-SAME: -> tensor<2x?x4x32xbf16>, tensor<2x4x64x32xf32>
  %o0, %s = gate.chunked_scan <vector> %q, %q, %v decay(%gv : tensor<2x?x4x64xf32>) initial_state(%s0 : tensor<2x4x64x32xf32>)
      : tensor<2x?x4x64xbf16>, tensor<2x?x4x64xbf16>, tensor<2x?x4x32xbf16> -> tensor<2x?x4x32xbf16>, tensor<2x4x64x32xf32>
  // CHECK: gate.chunked_scan <scalar> {{.*}} decay(%{{.*}} : tensor<2x?x4xf32>) {chunk_size = 128 : i64, scale = 1.000000e+00 : f32}
  %o1 = gate.chunked_scan <scalar> %q, %q, %v decay(%gs : tensor<2x?x4xf32>) {chunk_size = 128 : i64, scale = 1.0 : f32}
      : tensor<2x?x4x64xbf16>, tensor<2x?x4x64xbf16>, tensor<2x?x4x32xbf16> -> tensor<2x?x4x32xbf16>
  // CHECK: gate.chunked_scan <fixed> {{.*}} decay(%{{.*}} : tensor<4xf32>) :
  %o2 = gate.chunked_scan <fixed> %q, %q, %v decay(%gf : tensor<4xf32>) {chunk_size = 64 : i64}
      : tensor<2x?x4x64xbf16>, tensor<2x?x4x64xbf16>, tensor<2x?x4x32xbf16> -> tensor<2x?x4x32xbf16>
  // CHECK: gate.chunked_scan <none> %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x?x4x64xbf16>
  %o3 = gate.chunked_scan <none> %q, %q, %v
      : tensor<2x?x4x64xbf16>, tensor<2x?x4x64xbf16>, tensor<2x?x4x32xbf16> -> tensor<2x?x4x32xbf16>
  return
}

// The delta rule (Gated DeltaNet: scalar decay, beta per value head) with
// grouped value heads: 2 query/key heads, 4 value heads and states.
// CHECK-LABEL: func @delta_scans
func.func @delta_scans(%q: tensor<1x?x2x64xbf16>, %v: tensor<1x?x4x32xbf16>, %g: tensor<1x?x4xf32>,
                       %beta: tensor<1x?x4xbf16>, %gk: tensor<1x?x4x64xf32>, %s0: tensor<1x4x64x32xf32>) {
  // CHECK: [[O:%.+]], [[S:%.+]] = gate.chunked_scan <scalar> %{{.*}}, %{{.*}}, %{{.*}} decay(%{{.*}} : tensor<1x?x4xf32>) delta(%{{.*}} : tensor<1x?x4xbf16>) initial_state(%{{.*}} : tensor<1x4x64x32xf32>) :
  // CHECK-SAME: tensor<1x?x2x64xbf16>, tensor<1x?x2x64xbf16>, tensor<1x?x4x32xbf16> -> tensor<1x?x4x32xbf16>, tensor<1x4x64x32xf32>
  %o0, %s = gate.chunked_scan <scalar> %q, %q, %v decay(%g : tensor<1x?x4xf32>) delta(%beta : tensor<1x?x4xbf16>) initial_state(%s0 : tensor<1x4x64x32xf32>)
      : tensor<1x?x2x64xbf16>, tensor<1x?x2x64xbf16>, tensor<1x?x4x32xbf16> -> tensor<1x?x4x32xbf16>, tensor<1x4x64x32xf32>
  // KDA: a vector decay per value head.
  // CHECK: gate.chunked_scan <vector> {{.*}} decay(%{{.*}} : tensor<1x?x4x64xf32>) delta(%{{.*}} : tensor<1x?x4xbf16>) :
  %o1 = gate.chunked_scan <vector> %q, %q, %v decay(%gk : tensor<1x?x4x64xf32>) delta(%beta : tensor<1x?x4xbf16>)
      : tensor<1x?x2x64xbf16>, tensor<1x?x2x64xbf16>, tensor<1x?x4x32xbf16> -> tensor<1x?x4x32xbf16>
  // CHECK: gate.chunked_scan <none> {{.*}} delta(%{{.*}} : tensor<1x?x4xbf16>) :
  %o2 = gate.chunked_scan <none> %q, %q, %v delta(%beta : tensor<1x?x4xbf16>)
      : tensor<1x?x2x64xbf16>, tensor<1x?x2x64xbf16>, tensor<1x?x4x32xbf16> -> tensor<1x?x4x32xbf16>
  return
}

// Decoding against a state pool: sequence n reads and writes row slots[n].
// CHECK-LABEL: func @pool_scan
func.func @pool_scan(%q: tensor<?x1x2x64xbf16>, %v: tensor<?x1x4x32xbf16>, %g: tensor<?x1x4xf32>,
                     %beta: tensor<?x1x4xf32>, %pool: tensor<?x4x64x32xf32>, %slots: tensor<?xi32>) {
  // CHECK: gate.chunked_scan <scalar> {{.*}} initial_state(%{{.*}} : tensor<?x4x64x32xf32>) slots(%{{.*}} : tensor<?xi32>) :
  // CHECK-SAME: -> tensor<?x1x4x32xbf16>, tensor<?x4x64x32xf32>
  %o, %p = gate.chunked_scan <scalar> %q, %q, %v decay(%g : tensor<?x1x4xf32>) delta(%beta : tensor<?x1x4xf32>)
      initial_state(%pool : tensor<?x4x64x32xf32>) slots(%slots : tensor<?xi32>)
      : tensor<?x1x2x64xbf16>, tensor<?x1x2x64xbf16>, tensor<?x1x4x32xbf16> -> tensor<?x1x4x32xbf16>, tensor<?x4x64x32xf32>
  return
}

// A bf16 pool (f32 arithmetic), and the states after every token.
// CHECK-LABEL: func @bf16_pool_history
func.func @bf16_pool_history(%q: tensor<?x3x2x64xbf16>, %v: tensor<?x3x4x32xbf16>, %g: tensor<?x3x4xf32>,
                             %pool: tensor<?x4x64x32xbf16>, %slots: tensor<?xi64>) {
  // CHECK: gate.chunked_scan <scalar> {{.*}} initial_state(%{{.*}} : tensor<?x4x64x32xbf16>) slots(%{{.*}} : tensor<?xi64>) {chunk_size = 1 : i64} :
  // CHECK-SAME: -> tensor<?x3x4x32xbf16>, tensor<?x4x64x32xbf16> chunk_states tensor<?x3x4x64x32xf32>
  %o, %p, %h = gate.chunked_scan <scalar> %q, %q, %v decay(%g : tensor<?x3x4xf32>)
      initial_state(%pool : tensor<?x4x64x32xbf16>) slots(%slots : tensor<?xi64>) {chunk_size = 1 : i64}
      : tensor<?x3x2x64xbf16>, tensor<?x3x2x64xbf16>, tensor<?x3x4x32xbf16>
      -> tensor<?x3x4x32xbf16>, tensor<?x4x64x32xbf16> chunk_states tensor<?x3x4x64x32xf32>
  return
}

// The state after every chunk of 64 tokens: ceil(100 / 64) = 2 of them.
// CHECK-LABEL: func @chunk_states
func.func @chunk_states(%q: tensor<2x100x2x16xf32>, %v: tensor<2x100x2x8xf32>) {
  // CHECK: gate.chunked_scan <none> {{.*}} -> tensor<2x100x2x8xf32> chunk_states tensor<2x2x2x16x8xf32>
  %o, %h = gate.chunked_scan <none> %q, %q, %v
      : tensor<2x100x2x16xf32>, tensor<2x100x2x16xf32>, tensor<2x100x2x8xf32>
      -> tensor<2x100x2x8xf32> chunk_states tensor<2x2x2x16x8xf32>
  return
}

// CHECK-LABEL: func @varlen
func.func @varlen(%q: tensor<1x?x2x16xf32>, %v: tensor<1x?x2x8xf32>, %cu: tensor<?xi64>, %s0: tensor<?x2x16x8xf32>)
    -> (tensor<1x?x2x8xf32>, tensor<?x2x16x8xf32>) {
  // CHECK: gate.chunked_scan <none> {{.*}} initial_state(%{{.*}} : tensor<?x2x16x8xf32>) cu_seqlens(%{{.*}} : tensor<?xi64>) :
  %o, %s = gate.chunked_scan <none> %q, %q, %v initial_state(%s0 : tensor<?x2x16x8xf32>) cu_seqlens(%cu : tensor<?xi64>)
      : tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x8xf32> -> tensor<1x?x2x8xf32>, tensor<?x2x16x8xf32>
  return %o, %s : tensor<1x?x2x8xf32>, tensor<?x2x16x8xf32>
}

// CHECK-LABEL: func @routers
func.func @routers(%l8: tensor<?x8xbf16>, %l256: tensor<?x256xf32>, %b: tensor<256xf32>, %l60: tensor<7x60xf32>) {
  // CHECK: gate.router <softmax> %{{.*}} {k = 2 : i64, renormalize = true} : tensor<?x8xbf16> -> tensor<?x2xf32>, tensor<?x2xi32>
  %w0, %e0 = gate.router <softmax> %l8 {k = 2 : i64, renormalize = true} : tensor<?x8xbf16> -> tensor<?x2xf32>, tensor<?x2xi32>
  // CHECK: gate.router <sigmoid> %{{.*}} bias(%{{.*}} : tensor<256xf32>) {k = 8 : i64, n_group = 8 : i64, renormalize = true, routed_scaling_factor = 2.500000e+00 : f32, topk_group = 4 : i64}
  %w1, %e1 = gate.router <sigmoid> %l256 bias(%b : tensor<256xf32>)
      {k = 8 : i64, n_group = 8 : i64, topk_group = 4 : i64, renormalize = true, routed_scaling_factor = 2.5 : f32}
      : tensor<?x256xf32> -> tensor<?x8xf32>, tensor<?x8xi32>
  // CHECK: gate.router <softmax> %{{.*}} {group_score = #gate.group_score<max>, k = 6 : i64, n_group = 8 : i64, topk_group = 3 : i64}
  %w2, %e2 = gate.router <softmax> %l256 {k = 6 : i64, n_group = 8 : i64, topk_group = 3 : i64, group_score = #gate.group_score<max>}
      : tensor<?x256xf32> -> tensor<?x6xf32>, tensor<?x6xi32>
  // CHECK: gate.router <softmax> %{{.*}} {capacity_factor = 1.250000e+00 : f32, drop_policy = #gate.drop_policy<score_order>, k = 60 : i64}
  %w3, %e3 = gate.router <softmax> %l60 {k = 60 : i64, capacity_factor = 1.25 : f32, drop_policy = #gate.drop_policy<score_order>}
      : tensor<7x60xf32> -> tensor<7x60xf32>, tensor<7x60xi32>
  return
}

// L = ceil((T*k + E*(block_size-1)) / block_size) * block_size = ceil((10*2 + 8*15) / 16) * 16 = 144.
// CHECK-LABEL: func @dispatch
func.func @dispatch(%e: tensor<10x2xi32>, %d: tensor<?x8xi32>) {
  // CHECK: gate.dispatch %{{.*}} {block_size = 16 : i64, num_experts = 8 : i64} : tensor<10x2xi32> -> tensor<144xi32>, tensor<9xi32>, tensor<9xi32>, tensor<8xi32>, tensor<10x2xi32>
  %s, %b, %o, %c, %p = gate.dispatch %e {num_experts = 8 : i64, block_size = 16 : i64}
      : tensor<10x2xi32> -> tensor<144xi32>, tensor<9xi32>, tensor<9xi32>, tensor<8xi32>, tensor<10x2xi32>
  // The default block size (64) is elided.
  // CHECK: gate.dispatch %{{.*}} {num_experts = 256 : i64} : tensor<?x8xi32> -> tensor<?xi32>, tensor<?xi32>, tensor<257xi32>, tensor<256xi32>, tensor<?x8xi32>
  %s1, %b1, %o1, %c1, %p1 = gate.dispatch %d {num_experts = 256 : i64}
      : tensor<?x8xi32> -> tensor<?xi32>, tensor<?xi32>, tensor<257xi32>, tensor<256xi32>, tensor<?x8xi32>
  return
}

// CHECK-LABEL: func @causal_conv1d
func.func @causal_conv1d(%x: tensor<2x?x64xbf16>, %w: tensor<64x4xf32>, %b: tensor<64xbf16>, %s0: tensor<2x64x3xbf16>,
                         %xw: tensor<?x?x?xf32>, %w1: tensor<?x1xf16>) {
  // CHECK: gate.causal_conv1d <silu> %{{.*}}, %{{.*}} bias(%{{.*}} : tensor<64xbf16>) initial_state(%{{.*}} : tensor<2x64x3xbf16>) : tensor<2x?x64xbf16>, tensor<64x4xf32> -> tensor<2x?x64xbf16>, tensor<2x64x3xbf16>
  %y, %s = gate.causal_conv1d <silu> %x, %w bias(%b : tensor<64xbf16>) initial_state(%s0 : tensor<2x64x3xbf16>)
      : tensor<2x?x64xbf16>, tensor<64x4xf32> -> tensor<2x?x64xbf16>, tensor<2x64x3xbf16>
  // Any shape may be dynamic but W; width 1 has no state.
  // CHECK: gate.causal_conv1d <identity> %{{.*}}, %{{.*}} : tensor<?x?x?xf32>, tensor<?x1xf16> -> tensor<?x?x?xf32>
  %y1 = gate.causal_conv1d <identity> %xw, %w1 : tensor<?x?x?xf32>, tensor<?x1xf16> -> tensor<?x?x?xf32>
  return
}

// A pool of P conv states with one slot per sequence: the pool in and out.
// CHECK-LABEL: func @causal_conv1d_pool
func.func @causal_conv1d_pool(%x: tensor<?x1x64xbf16>, %w: tensor<64x4xbf16>, %pool: tensor<?x64x3xbf16>,
                              %slots: tensor<?xi64>) -> (tensor<?x1x64xbf16>, tensor<?x64x3xbf16>) {
  // CHECK: gate.causal_conv1d <silu> %{{.*}}, %{{.*}} initial_state(%{{.*}} : tensor<?x64x3xbf16>) slots(%{{.*}} : tensor<?xi64>) : tensor<?x1x64xbf16>, tensor<64x4xbf16> -> tensor<?x1x64xbf16>, tensor<?x64x3xbf16>
  %y, %p = gate.causal_conv1d <silu> %x, %w initial_state(%pool : tensor<?x64x3xbf16>) slots(%slots : tensor<?xi64>)
      : tensor<?x1x64xbf16>, tensor<64x4xbf16> -> tensor<?x1x64xbf16>, tensor<?x64x3xbf16>
  return %y, %p : tensor<?x1x64xbf16>, tensor<?x64x3xbf16>
}

// CHECK-LABEL: func @causal_conv1d_varlen
func.func @causal_conv1d_varlen(%x: tensor<1x?x96xf32>, %w: tensor<96x2xf32>, %cu: tensor<5xi64>, %cud: tensor<?xi32>,
                                %s0: tensor<?x96x1xf32>) -> (tensor<1x?x96xf32>, tensor<4x96x1xf32>, tensor<?x96x1xf32>) {
  // CHECK: gate.causal_conv1d <silu> %{{.*}}, %{{.*}} cu_seqlens(%{{.*}} : tensor<5xi64>) : tensor<1x?x96xf32>, tensor<96x2xf32> -> tensor<1x?x96xf32>, tensor<4x96x1xf32>
  %y, %s = gate.causal_conv1d <silu> %x, %w cu_seqlens(%cu : tensor<5xi64>)
      : tensor<1x?x96xf32>, tensor<96x2xf32> -> tensor<1x?x96xf32>, tensor<4x96x1xf32>
  // CHECK: gate.causal_conv1d <gelu> %{{.*}}, %{{.*}} initial_state(%{{.*}} : tensor<?x96x1xf32>) cu_seqlens(%{{.*}} : tensor<?xi32>) : tensor<1x?x96xf32>, tensor<96x2xf32> -> tensor<1x?x96xf32>, tensor<?x96x1xf32>
  %y2, %s2 = gate.causal_conv1d <gelu> %x, %w initial_state(%s0 : tensor<?x96x1xf32>) cu_seqlens(%cud : tensor<?xi32>)
      : tensor<1x?x96xf32>, tensor<96x2xf32> -> tensor<1x?x96xf32>, tensor<?x96x1xf32>
  return %y, %s, %s2 : tensor<1x?x96xf32>, tensor<4x96x1xf32>, tensor<?x96x1xf32>
}
