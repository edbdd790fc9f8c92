// Malformed gate.updates and gate.slots: each error is reported at the
// function and names the kernel and the parameter.

// RUN: gatec-translate --gate-to-cpp-header --split-input-file --verify-diagnostics %s

// expected-error@+1 {{kernel 'wrong_type': result #1: gate.updates must be the index of an argument of the same type, got 0}}
func.func @wrong_type(%p: tensor<?x4xf32> {gate.name = "p", gate.shape = #gate.shape<P, 4>})
    -> (tensor<?x4xf32> {gate.name = "y", gate.shape = #gate.shape<P, 4>},
        tensor<?x8xf32> {gate.name = "p", gate.shape = #gate.shape<P, 8>, gate.updates = 0 : i64}) {
  %0 = tensor.empty() : tensor<2x8xf32>
  %1 = tensor.cast %0 : tensor<2x8xf32> to tensor<?x8xf32>
  return %p, %1 : tensor<?x4xf32>, tensor<?x8xf32>
}

// -----

// expected-error@+1 {{kernel 'out_of_range': result #1: gate.updates must be the index of an argument of the same type, got 3}}
func.func @out_of_range(%p: tensor<?x4xf32> {gate.name = "p", gate.shape = #gate.shape<P, 4>})
    -> (tensor<?x4xf32> {gate.name = "y", gate.shape = #gate.shape<P, 4>},
        tensor<?x4xf32> {gate.name = "p", gate.shape = #gate.shape<P, 4>, gate.updates = 3 : i64}) {
  return %p, %p : tensor<?x4xf32>, tensor<?x4xf32>
}

// -----

// An index past 32 bits stays itself (it must not wrap to argument 0).
// expected-error@+1 {{kernel 'wide_index': result #1: gate.updates must be the index of an argument of the same type, got 4294967296}}
func.func @wide_index(%p: tensor<?x4xf32> {gate.name = "p", gate.shape = #gate.shape<P, 4>})
    -> (tensor<?x4xf32> {gate.name = "y", gate.shape = #gate.shape<P, 4>},
        tensor<?x4xf32> {gate.name = "p", gate.shape = #gate.shape<P, 4>, gate.updates = 4294967296 : i64}) {
  return %p, %p : tensor<?x4xf32>, tensor<?x4xf32>
}

// -----

// expected-error@+1 {{kernel 'twice': argument 'p' is updated by two results}}
func.func @twice(%p: tensor<?x4xf32> {gate.name = "p", gate.shape = #gate.shape<P, 4>})
    -> (tensor<?x4xf32> {gate.name = "y", gate.shape = #gate.shape<P, 4>},
        tensor<?x4xf32> {gate.updates = 0 : i64},
        tensor<?x4xf32> {gate.updates = 0 : i64}) {
  return %p, %p, %p : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>
}

// -----

// expected-error@+1 {{kernel 'only_updates': has no results besides parameters it updates in place}}
func.func @only_updates(%p: tensor<?x4xf32> {gate.name = "p", gate.shape = #gate.shape<P, 4>})
    -> (tensor<?x4xf32> {gate.name = "p", gate.shape = #gate.shape<P, 4>, gate.updates = 0 : i64}) {
  return %p : tensor<?x4xf32>
}

// -----

// expected-error@+1 {{kernel 'float_slots': argument 's': gate.slots must be {pool = <argument index>} on an i32 or i64 argument of rank 1}}
func.func @float_slots(%p: tensor<?x4xf32> {gate.name = "p", gate.shape = #gate.shape<P, 4>},
                       %s: tensor<?xf32> {gate.name = "s", gate.shape = #gate.shape<N>, gate.slots = {pool = 0 : i64}})
    -> (tensor<?xf32> {gate.name = "y", gate.shape = #gate.shape<N>}) {
  return %s : tensor<?xf32>
}

// -----

// expected-error@+1 {{kernel 'self_pool': argument 's': gate.slots names argument #1, which is not another argument of rank >= 1}}
func.func @self_pool(%p: tensor<?x4xf32> {gate.name = "p", gate.shape = #gate.shape<P, 4>},
                     %s: tensor<?xi32> {gate.name = "s", gate.shape = #gate.shape<N>, gate.slots = {pool = 1 : i64}})
    -> (tensor<?xi32> {gate.name = "y", gate.shape = #gate.shape<N>}) {
  return %s : tensor<?xi32>
}

// -----

// expected-error@+1 {{kernel 'missing_pool': argument 's': gate.slots names argument #7, which is not another argument of rank >= 1}}
func.func @missing_pool(%s: tensor<?xi32> {gate.name = "s", gate.shape = #gate.shape<N>, gate.slots = {pool = 7 : i64}})
    -> (tensor<?xi32> {gate.name = "y", gate.shape = #gate.shape<N>}) {
  return %s : tensor<?xi32>
}
