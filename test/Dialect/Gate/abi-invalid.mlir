// RUN: gatec-opt %s -split-input-file -verify-diagnostics

// The kernel ABI's attributes are typed: malformed expressions fail to parse,
// and the dialect verifies each attribute against the function's types.

// expected-error@+1 {{unbalanced '(' character in pretty dialect name}}
func.func private @unclosed(%x: tensor<?xf32> {gate.shape = #gate.shape<(T*2 + 1>})

// -----

// expected-error@+1 {{expected '>'}}
func.func private @juxtaposed(%x: tensor<?xf32> {gate.shape = #gate.shape<T 2>})

// -----

// expected-error@+1 {{expected an integer, a symbol or '('}}
func.func private @dangling(%x: tensor<?xf32> {gate.shape = #gate.shape<T *>})

// -----

// expected-error@+1 {{a #gate.dim symbol must be a C identifier}}
func.func private @dotted(%x: tensor<?xf32> {gate.shape = #gate.shape<a.b>})

// -----

// Constant parts must fold with the rules the headers apply at run time.
// expected-error@+1 {{argument #0 dim 0 is T/(4 - 4), which overflows int64 or divides by zero}}
func.func private @div_zero(%x: tensor<?xf32> {gate.shape = #gate.shape<T/(4 - 4)>})

// -----

// expected-error@+1 {{result #0 dim 0 is T + 9223372036854775807*2, which overflows int64 or divides by zero}}
func.func private @const_overflow(%x: tensor<?xf32>) -> (tensor<?xf32> {gate.shape = #gate.shape<T + 9223372036854775807 * 2>})

// -----

// expected-error@+1 {{argument #0 dim 0 is 2 - 3, which is negative}}
func.func private @negative(%x: tensor<?xf32> {gate.shape = #gate.shape<2 - 3>})

// -----

// expected-error@+1 {{argument #0 has 2 gate.shape dims but rank 1}}
func.func private @rank_mismatch(%x: tensor<4xf32> {gate.shape = #gate.shape<T, 4>})

// -----

// expected-error@+1 {{argument #0 dim 0 is 8 in gate.shape but 4 in its type 'tensor<4xf32>'}}
func.func private @literal_mismatch(%x: tensor<4xf32> {gate.shape = #gate.shape<8>})

// -----

// The untyped spelling of earlier gatec versions.
// expected-error@+1 {{argument #0: gate.shape must be a #gate.shape, got ["T"]}}
func.func private @strings(%x: tensor<?xf32> {gate.shape = ["T"]})

// -----

// expected-error@+1 {{argument #0: gate.name must be a string, got 3 : i64}}
func.func private @name(%x: tensor<?xf32> {gate.name = 3})

// -----

// expected-error@+1 {{result #0: gate.updates must be the index of an argument, got "x"}}
func.func private @updates(%x: tensor<?xf32>) -> (tensor<?xf32> {gate.updates = "x"})

// -----

// expected-error@+1 {{argument #0: gate.offsets must be {upper_bound = #gate.dim<...>} or {}, got {upper_bound = "T"}}}
func.func private @offsets(%x: tensor<?xi32> {gate.offsets = {upper_bound = "T"}})

// -----

// expected-error@+1 {{argument #0: gate.slots must be {pool = <argument index>}, got {}}}
func.func private @slots(%x: tensor<?xi32> {gate.slots = {}})

// -----

// expected-error@+1 {{argument #0: unknown attribute gate.size of the gate dialect}}
func.func private @unknown(%x: tensor<?xi32> {gate.size = 1})

// -----

// expected-error@+1 {{gate.doc must be a string, got 1 : i64}}
func.func private @doc(%x: tensor<?xi32>) attributes {gate.doc = 1}

// -----

// expected-error@+1 {{argument #0: the gate.offsets upper_bound T/(2 - 2) overflows int64 or divides by zero}}
func.func private @offsets_bound(%x: tensor<?xi32> {gate.offsets = {upper_bound = #gate.dim<T/(2 - 2)>}})
