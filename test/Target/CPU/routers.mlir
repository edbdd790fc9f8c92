// Routers and dispatch compiled for the CPU against the reference: Mixtral
// (softmax top-2, renormalized), E=64 top-8, DeepSeek-V3 (sigmoid + selection
// bias, 8 groups keep 4, top-8, scale 2.5), E=60 (not a power of two), k = E,
// both capacity policies, and the dispatch metadata of a routed batch.
// Expert indices must match exactly; weights within the f32 tolerance.
// RUN: gatec-check %s --dim T=37 --kernel mixtral --kernel e64 --kernel deepseek_v3 --kernel e60_k_eq_e --kernel capacity_token --kernel capacity_score --kernel routed_dispatch | FileCheck %s
// RUN: gatec-check %s --dim T=1 --kernel mixtral --kernel e64 --kernel deepseek_v3 --kernel e60_k_eq_e --kernel capacity_token --kernel capacity_score --kernel routed_dispatch | FileCheck %s
// RUN: gatec-check %s --dim T=0 --kernel mixtral --kernel deepseek_v3 --kernel routed_dispatch | FileCheck %s
// RUN: gatec-check %s --dim T=300 --scale logits=8 --kernel mixtral --kernel deepseek_v3 --kernel capacity_score --kernel routed_dispatch | FileCheck %s
//
// Ties and all-negative rows, values given exactly: row 0 all equal (ties go
// to the lowest experts), row 1 all negative with a tie for second place,
// row 2 a single large logit.
// RUN: gatec-check %s --dim T=3 --kernel mixtral --input logits=0,0,0,0,0,0,0,0,-3,-1,-2,-1,-5,-9,-4,-7,0,0,0,40,0,0,0,0 | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: gatec-check: {{[0-9]+}} passed, 0 failed

func.func @mixtral(%l: tensor<?x8xf32> {gate.name = "logits", gate.shape = #gate.shape<T, 8>})
    -> (tensor<?x2xf32> {gate.name = "weights", gate.shape = #gate.shape<T, 2>}, tensor<?x2xi32> {gate.name = "experts", gate.shape = #gate.shape<T, 2>}) {
  %w, %e = gate.router <softmax> %l {k = 2 : i64, renormalize = true} : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  return %w, %e : tensor<?x2xf32>, tensor<?x2xi32>
}

func.func @e64(%l: tensor<?x64xbf16> {gate.name = "logits", gate.shape = #gate.shape<T, 64>})
    -> (tensor<?x8xf32> {gate.name = "weights", gate.shape = #gate.shape<T, 8>}, tensor<?x8xi32> {gate.name = "experts", gate.shape = #gate.shape<T, 8>}) {
  %w, %e = gate.router <softmax> %l {k = 8 : i64} : tensor<?x64xbf16> -> tensor<?x8xf32>, tensor<?x8xi32>
  return %w, %e : tensor<?x8xf32>, tensor<?x8xi32>
}

func.func @deepseek_v3(%l: tensor<?x256xf32> {gate.name = "logits", gate.shape = #gate.shape<T, 256>},
                       %b: tensor<256xf32> {gate.name = "bias", gate.shape = #gate.shape<256>})
    -> (tensor<?x8xf32> {gate.name = "weights", gate.shape = #gate.shape<T, 8>}, tensor<?x8xi32> {gate.name = "experts", gate.shape = #gate.shape<T, 8>}) {
  %w, %e = gate.router <sigmoid> %l bias(%b : tensor<256xf32>)
      {k = 8 : i64, n_group = 8 : i64, topk_group = 4 : i64, renormalize = true, routed_scaling_factor = 2.5 : f32}
      : tensor<?x256xf32> -> tensor<?x8xf32>, tensor<?x8xi32>
  return %w, %e : tensor<?x8xf32>, tensor<?x8xi32>
}

func.func @e60_k_eq_e(%l: tensor<?x60xf32> {gate.name = "logits", gate.shape = #gate.shape<T, 60>})
    -> (tensor<?x60xf32> {gate.name = "weights", gate.shape = #gate.shape<T, 60>}, tensor<?x60xi32> {gate.name = "experts", gate.shape = #gate.shape<T, 60>}) {
  %w, %e = gate.router <softmax> %l {k = 60 : i64, n_group = 6 : i64, topk_group = 6 : i64, group_score = #gate.group_score<max>}
      : tensor<?x60xf32> -> tensor<?x60xf32>, tensor<?x60xi32>
  return %w, %e : tensor<?x60xf32>, tensor<?x60xi32>
}

func.func @capacity_token(%l: tensor<?x6xf32> {gate.name = "logits", gate.shape = #gate.shape<T, 6>})
    -> (tensor<?x2xf32> {gate.name = "weights", gate.shape = #gate.shape<T, 2>}, tensor<?x2xi32> {gate.name = "experts", gate.shape = #gate.shape<T, 2>}) {
  %w, %e = gate.router <softmax> %l {k = 2 : i64, capacity_factor = 1.0 : f32}
      : tensor<?x6xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  return %w, %e : tensor<?x2xf32>, tensor<?x2xi32>
}

func.func @capacity_score(%l: tensor<?x6xf32> {gate.name = "logits", gate.shape = #gate.shape<T, 6>})
    -> (tensor<?x2xf32> {gate.name = "weights", gate.shape = #gate.shape<T, 2>}, tensor<?x2xi32> {gate.name = "experts", gate.shape = #gate.shape<T, 2>}) {
  %w, %e = gate.router <softmax> %l {k = 2 : i64, renormalize = true, capacity_factor = 1.25 : f32, drop_policy = #gate.drop_policy<score_order>}
      : tensor<?x6xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  return %w, %e : tensor<?x2xf32>, tensor<?x2xi32>
}

func.func @routed_dispatch(%l: tensor<?x8xf32> {gate.name = "logits", gate.shape = #gate.shape<T, 8>})
    -> (tensor<?xi32> {gate.name = "sorted", gate.shape = #gate.shape<(T*2 + 8*3 + 3)/4*4>},
        tensor<?xi32> {gate.name = "blocks", gate.shape = #gate.shape<(T*2 + 8*3 + 3)/4>},
        tensor<9xi32> {gate.name = "offsets"}, tensor<8xi32> {gate.name = "counts"},
        tensor<?x2xi32> {gate.name = "positions", gate.shape = #gate.shape<T, 2>}) {
  %w, %e = gate.router <softmax> %l {k = 2 : i64, capacity_factor = 2.0 : f32} : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  %s, %b, %o, %c, %p = gate.dispatch %e {num_experts = 8 : i64, block_size = 4 : i64}
      : tensor<?x2xi32> -> tensor<?xi32>, tensor<?xi32>, tensor<9xi32>, tensor<8xi32>, tensor<?x2xi32>
  return %s, %b, %o, %c, %p : tensor<?xi32>, tensor<?xi32>, tensor<9xi32>, tensor<8xi32>, tensor<?x2xi32>
}
