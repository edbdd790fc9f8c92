"""Differential testing: random gate-op configurations against the oracle.

Usage: difftest.py GATEC GATEC_CHECK --workdir DIR [--seed N] [--cases N]
                   [--family F[,F...]] [--per-file N] [--cpu LEVEL[,LEVEL]]

Draws --cases kernels from the seed: GLU gates (every activation, clamped,
fused halves), output gates (headwise and elementwise), gated FFNs (two
matmuls fused into a gate), chunked scans (every decay kind, chunk sizes,
initial/final state, packed variable-length batches, log decays of -inf,
-1e30, -1e4, -100 and -88 among ordinary ones), routers (softmax and
sigmoid, k up to E, E not a power of two, bias, groups, scaling, capacity,
ties, all-negative logits, logits from a projection) and dispatch; dtypes
f32, bf16, f16; sizes 0, 1, primes, non-multiples of every tile (256 x 128
thread blocks, 8 x 2-vector register tiles, 256-deep K blocks) and of the
chunk size, and long sequences.

Several kernels share one .gate file, so that one `gatec --emit=mlir` and
one `gatec-check` (one CPU compilation) check them all; each kernel has its
own parameter and dimension names. Prints the largest error per op and
dtype, then "difftest: N cases, M failed (seed S)". A failure prints the
.gate file and the exact gatec-check command that reproduces it; the same
seed always draws the same cases. Exit status 1 on any failure.
"""

import argparse
import collections
import os
import random
import re
import subprocess
import sys

FAMILIES = ["gate", "fused_gate", "output_gate", "ffn", "scan", "route",
            "dispatch"]
DTYPES = ["f32", "bf16", "f16"]
GLU_ACTS = ["silu", "gelu", "gelu_tanh", "relu", "identity", "sigmoid"]
TIMEOUT_S = 600


def pick_tokens(rng, long_ok=False):
    """A sequence length: mostly small primes and tile non-multiples."""
    r = rng.random()
    if r < 0.05:
        return 0
    if r < 0.2:
        return 1
    if r < 0.85:
        return rng.choice([2, 3, 5, 7, 13, 31, 61, 63, 65, 127, 129])
    return rng.choice([257, 300, 521, 1031, 2053]) if long_ok else 67


def pick_width(rng):
    """A feature width: primes and non-multiples of vector and tile sizes."""
    return rng.choice([1, 3, 7, 16, 17, 33, 64, 65, 127, 257, 300])


class Case:
    def __init__(self, index, family, dtype):
        self.index = index
        self.family = family
        self.dtype = dtype
        self.name = "k%d" % index
        self.op = family  # refined by the generator: gate/silu, scan/vector...
        self.params = []  # "name: type"
        self.results = []
        self.body = []
        self.dims = {}  # symbol -> size
        self.scales = {}  # input -> standard deviation
        self.inputs = {}  # input -> exact values

    def sym(self, base, size):
        name = "%s%d" % (base, self.index)
        self.dims[name] = size
        return name

    def arg(self, base):
        return "%s%d" % (base, self.index)

    def source(self):
        return "// %s\nkernel %s(%s)\n    -> (%s) {\n%s\n}\n" % (
            self.describe(), self.name, ", ".join(self.params),
            ", ".join(self.results), "\n".join("  " + l for l in self.body))

    def describe(self):
        dims = " ".join("%s=%d" % kv for kv in sorted(self.dims.items()))
        return "%s %s %s" % (self.op, self.dtype, dims)


def gen_gate(case, rng):
    dt = case.dtype
    act = rng.choice(GLU_ACTS)
    t = case.sym("T", pick_tokens(rng, long_ok=True))
    f = pick_width(rng)
    x, g = case.arg("x"), case.arg("g")
    case.params += ["%s: %s[%s, %d]" % (x, dt, t, f),
                    "%s: %s[%s, %d]" % (g, dt, t, f)]
    case.results.append("y: %s[%s, %d]" % (dt, t, f))
    extra = ""
    if rng.random() < 0.25:
        extra = ", clamp = %s" % rng.choice(["0.5", "7.0", "1.25"])
    case.op = "gate/%s%s" % (act, "+clamp" if extra else "")
    if rng.random() < 0.2:  # large pre-activations: saturated gates
        case.scales[g] = 30
    case.body.append("return gate(%s, %s, act = %s%s)" % (x, g, act, extra))


def gen_fused_gate(case, rng):
    dt = case.dtype
    act = rng.choice(GLU_ACTS)
    half = rng.choice(["first", "second"])
    t = case.sym("T", pick_tokens(rng, long_ok=True))
    f = pick_width(rng)
    xg = case.arg("xg")
    case.params.append("%s: %s[%s, %d]" % (xg, dt, t, 2 * f))
    case.results.append("y: %s[%s, %d]" % (dt, t, f))
    case.op = "fused_gate/%s" % act
    case.body.append("return gate(%s, act = %s, half = %s)" % (xg, act, half))


def gen_output_gate(case, rng):
    dt = case.dtype
    b = case.sym("B", rng.choice([1, 2, 3]))
    t = case.sym("T", pick_tokens(rng))
    h = rng.choice([1, 2, 5, 16])
    d = rng.choice([1, 8, 17, 64, 128])
    attn, g = case.arg("attn"), case.arg("g")
    headwise = rng.random() < 0.5
    case.params += ["%s: %s[%s, %s, %d, %d]" % (attn, dt, b, t, h, d),
                    "%s: %s[%s, %s, %d, %d]" % (g, dt, b, t, h,
                                                1 if headwise else d)]
    case.results.append("y: %s[%s, %s, %d, %d]" % (dt, b, t, h, d))
    gran = "headwise" if headwise else "elementwise"
    case.op = "output_gate/%s" % gran
    # Headwise needs d > 1 to be inferred; say it explicitly every time.
    case.body.append("return gate(%s, %s, act = sigmoid, granularity = %s)"
                     % (attn, g, gran))


def gen_ffn(case, rng):
    dt = case.dtype
    act = rng.choice(["silu", "gelu", "relu", "identity"])
    t = case.sym("T", pick_tokens(rng))
    d = rng.choice([1, 7, 33, 64, 260, 300])
    f = rng.choice([1, 5, 17, 65, 130, 257])
    x, wu, wg = case.arg("x"), case.arg("wu"), case.arg("wg")
    case.params += ["%s: %s[%s, %d]" % (x, dt, t, d),
                    "%s: %s[%d, %d]" % (wu, dt, d, f),
                    "%s: %s[%d, %d]" % (wg, dt, d, f)]
    case.results.append("y: %s[%s, %d]" % (dt, t, f))
    # Keep the pre-activations O(1) whatever the depth.
    case.scales[wu] = case.scales[wg] = round(1.0 / max(1, d) ** 0.5, 4)
    case.op = "ffn/%s" % act
    case.body.append("return gate(%s @ %s, %s @ %s, act = %s)"
                     % (x, wu, x, wg, act))


def gen_scan(case, rng):
    dt = case.dtype
    kind = rng.choice(["vector", "scalar", "fixed", "none"])
    varlen = rng.random() < 0.2
    long_t = rng.random() < 0.15
    tokens = (rng.choice([300, 1031, 2053]) if long_t
              else pick_tokens(rng))
    h = rng.choice([1, 2, 3])
    # Grouped value heads: HV = G * H states, value head j reading q/k head
    # j / G (Qwen3-Next's 16 key and 32 value heads).
    hv = h * (rng.choice([2, 3]) if rng.random() < 0.3 else 1)
    # The delta rule (DeltaNet, Gated DeltaNet, KDA) on L2-normalized keys.
    delta = rng.random() < 0.35
    # Small K and V keep the compile time of a file of scans low; the
    # schedule's register tiles are still split unevenly by 17 and 13.
    k = rng.choice([1, 4, 16, 17])
    v = rng.choice([1, 8, 13])
    chunk = rng.choice([1, 2, 5, 16, 31, 64, 128])
    t = case.sym("T", tokens)
    if varlen:
        b = "1"
        n = rng.choice([1, 2, 3, 5])
        cuts = sorted(rng.randint(0, tokens) for _ in range(n - 1))
        cu = [0] + cuts + [tokens]  # empty and length-1 sequences happen
        case.inputs[case.arg("cu")] = cu
    else:
        n = rng.choice([1, 2, 3])
        b = case.sym("B", n)
    # Work the scan takes into its chunk loop (gatec-fuse-into-scans): a
    # query shared by all heads, a value scaled elementwise before it, and
    # a per-head RMSNorm and output gate after it.
    prologue = rng.random() < 0.3
    epilogue = rng.random() < 0.4
    if epilogue:
        v = rng.choice([8, 13])  # a norm over 1 element is its sign
    q, kk, vv, a = case.arg("q"), case.arg("k"), case.arg("v"), case.arg("a")
    case.params += ["%s: %s[%s, %s, %d, %d]" % (q, dt, b, t, 1 if prologue else h, k),
                    "%s: %s[%s, %s, %d, %d]" % (kk, dt, b, t, h, k),
                    "%s: %s[%s, %s, %d, %d]" % (vv, dt, b, t, hv, v)]
    q_expr, k_expr, v_expr = q, kk, vv
    if delta:
        k_expr = "%s * rsqrt(sum(%s * %s) + 1e-6)" % (kk, kk, kk)
    if prologue:
        vs = case.arg("vs")
        case.params.append("%s: %s[%s, %s, %d, %d]" % (vs, dt, b, t, hv, v))
        q_expr = "broadcast(%s, [%s, %s, %d, %d])" % (q, b, t, h, k)
        v_expr = "%s * %s" % (vv, vs)
    nstate = str(n) if varlen else b
    # Resets: log decays of -inf (the state is forgotten), or so negative
    # that they nearly are, at random positions between the ordinary gates.
    # x is drawn N(0, 1); relu(y) / y is 1 where y > 0 and 0 where y < 0, so
    # the mask is 0 or the special value, at half the positions (y = x) or at
    # 5% (y = x + 1.645). Resets used to cost f32 scans 4 digits (issue 19).
    reset = kind != "none" and rng.random() < 0.35
    if reset:
        x = case.arg("x")
        y = rng.choice([x, "(%s + 1.645)" % x])
        special = rng.choice(["-inf", "-1e30", "-1e4", "-100", "-88"])
        mask = ("log(relu(%s) / %s)" % (y, y) if special == "-inf" else
                "(relu(%s) / %s - 1) * %s" % (y, y, special[1:]))
    if kind == "vector":
        shape = "%s, %s, %d, %d" % (b, t, hv, k)
        gate = "logsigmoid(%s) / %d" % (a, rng.choice([1, 4, 16]))
    elif kind == "scalar":
        shape = "%s, %s, %d" % (b, t, hv)
        gate = "logsigmoid(%s)" % a
    elif kind == "fixed":
        shape = "%d" % hv
        gate = "logsigmoid(%s)" % a
    if kind == "none":
        decay = "none"
    else:
        case.params.append("%s: f32[%s]" % (a, shape))
        if reset:
            case.params.append("%s: f32[%s]" % (x, shape))
            gate += " + " + mask
        decay = "%s(%s)" % (kind, gate)
    args = ["%s, %s, %s" % (q_expr, k_expr, v_expr), "decay = %s" % decay,
            "chunk = %d" % chunk]
    saturated = False
    if delta:
        # Learning rates in (0, 1), or saturated: exactly 0 or 1 at random
        # positions (relu(x) / x), which the chunk form must get exactly.
        br = case.arg("br")
        case.params.append("%s: f32[%s, %s, %d]" % (br, b, t, hv))
        saturated = rng.random() < 0.3
        beta = ("relu(%s) / %s" % (br, br) if saturated
                else "sigmoid(%s)" % br)
        args.append("delta = %s" % beta)
    if rng.random() < 0.4:
        s0 = case.arg("s0")
        case.params.append("%s: f32[%s, %d, %d, %d]" % (s0, nstate, hv, k, v))
        args.append("initial = %s" % s0)
    if rng.random() < 0.3:
        args.append("scale = %s" % rng.choice(["1.0", "0.125", "0.5"]))
    if varlen:
        cu = case.arg("cu")
        case.params.append("%s: %s[%d]" % (cu, rng.choice(["i32", "i64"]),
                                           n + 1))
        args.append("cu_seqlens = %s" % cu)
    case.results.append("o: %s[%s, %s, %d, %d]" % (dt, b, t, hv, v))
    state = rng.random() < 0.5
    if state:
        case.results.append("s: f32[%s, %d, %d, %d]" % (nstate, hv, k, v))
    if kind == "none" and tokens > 300 and not delta:
        # Without decay the state sums every token; keep it O(sqrt(T)).
        case.scales[vv] = 0.1
    case.op = "scan/%s%s%s%s%s%s%s%s" % (
        kind, "+delta" if delta else "", "+sat" if saturated else "",
        "+grouped" if hv != h else "", "+reset" if reset else "",
        "+varlen" if varlen else "", "+prologue" if prologue else "",
        "+epilogue" if epilogue else "")
    scan = "scan(%s)" % ", ".join(args)
    if not epilogue:
        case.body.append("return " + scan)
        return
    g, w = case.arg("g"), case.arg("w")
    case.params.append("%s: %s[%s, %s, %d, %d]" % (g, dt, b, t, hv, v))
    norm = "rms_norm(o, eps = 1e-5)"
    if rng.random() < 0.5:
        case.params.append("%s: f32[%d]" % (w, v))
        norm = "rms_norm(o, %s, eps = 1e-5)" % w
    act = rng.choice(["silu", "sigmoid", "gelu_tanh"])
    y = "gate(%s, %s, act = %s)" % (norm, g, act)
    if state:
        case.body.append("(o, s) = " + scan)
        case.body.append("return %s, s" % y)
    else:
        case.body.append("o = " + scan)
        case.body.append("return " + y)


def route_config(case, rng, logits):
    """The keyword arguments of a random valid route() call, and the width
    of the `logits` parameter (E, or D when the logits are a projection)."""
    e = rng.choice([2, 7, 8, 16, 60, 64, 144, 160, 256])
    score = rng.choice(["softmax", "sigmoid"])
    kw = ["score = %s" % score]
    groups = 1
    if rng.random() < 0.3:
        divisors = [g for g in range(2, e + 1) if e % g == 0 and g <= 16]
        if divisors:
            groups = rng.choice(divisors)
    if groups > 1:
        topk_groups = rng.randint(1, groups)
        group_score = "sum_top2" if e // groups >= 2 else "max"
        if rng.random() < 0.3:
            group_score = "max"
        kw += ["groups = %d" % groups, "topk_groups = %d" % topk_groups,
               "group_score = %s" % group_score]
        kmax = topk_groups * (e // groups)
    else:
        kmax = e
    k = kmax if rng.random() < 0.1 else rng.randint(1, min(kmax, 8))
    kw.insert(0, "k = %d" % k)
    if rng.random() < 0.5:
        kw.append("renormalize = true")
    if rng.random() < 0.3:
        bias = case.arg("bias")
        case.params.append("%s: f32[%d]" % (bias, e))
        kw.append("bias = %s" % bias)
    if rng.random() < 0.2:
        kw.append("scale = 2.5")
    if rng.random() < 0.25:
        kw.append("capacity = %s" % rng.choice(["0.5", "1.0", "1.25", "2.0"]))
        kw.append("drop = %s" % rng.choice(["token_order", "score_order"]))
    # Logit variants: random, all negative, many exact ties, and a projection
    # (the router of a model): accumulated in f32 and rounded to the dtype,
    # its logits may round another way in the kernel than in the oracle, and
    # with unit weights (logits of size sqrt(D)) most softmax scores
    # underflow f32. gatec-check accepts the choices this makes differ only
    # at near ties, and checks the rest on the kernel's choices.
    variant = rng.choice(["plain", "plain", "negative", "ties", "projected",
                          "projected"])
    width = e
    if variant == "negative":
        expr = "-abs(%s) - 3" % logits
    elif variant == "ties":
        # Integers in a narrow range: most scores tie with another expert.
        expr = "cast(cast(%s, i32), %s)" % (logits, case.dtype)
    elif variant == "projected":
        width = rng.choice([16, 64, 300])
        w = case.arg("w")
        case.params.append("%s: %s[%d, %d]" % (w, case.dtype, width, e))
        case.scales[w] = rng.choice([1.0, round(width ** -0.5, 4)])
        expr = "%s @ %s" % (logits, w)
    else:
        expr = logits
    return e, k, score, variant, expr, kw, width


def gen_route(case, rng):
    dt = case.dtype
    t = case.sym("T", pick_tokens(rng, long_ok=True))
    logits = case.arg("logits")
    e, k, score, variant, expr, kw, width = route_config(case, rng, logits)
    case.params.insert(0, "%s: %s[%s, %d]" % (logits, dt, t, width))
    if variant == "ties":
        case.scales[logits] = 1.5
    elif variant != "projected" and rng.random() < 0.3:
        case.scales[logits] = 8
    case.results += ["w: f32[%s, %d]" % (t, k), "e: i32[%s, %d]" % (t, k)]
    case.op = "route/%s%s" % (score, "+groups" if "groups" in str(kw) else "")
    if variant != "plain":
        case.op += "+" + variant
    case.body.append("return route(%s, %s)" % (expr, ", ".join(kw)))


def gen_dispatch(case, rng):
    dt = case.dtype
    t = case.sym("T", pick_tokens(rng, long_ok=True))
    logits = case.arg("logits")
    e, k, score, variant, expr, kw, width = route_config(case, rng, logits)
    case.params.insert(0, "%s: %s[%s, %d]" % (logits, dt, t, width))
    block = rng.choice([1, 4, 16, 64])
    ell, nb = "L%d" % case.index, "NB%d" % case.index
    case.results += ["w: f32[%s, %d]" % (t, k), "e: i32[%s, %d]" % (t, k),
                     "sorted_pairs: i32[%s]" % ell,
                     "block_experts: i32[%s]" % nb,
                     "expert_offsets: i32[%d]" % (e + 1),
                     "expert_counts: i32[%d]" % e,
                     "pair_positions: i32[%s, %d]" % (t, k)]
    case.op = "dispatch"
    case.body += ["(w, e) = route(%s, %s)" % (expr, ", ".join(kw)),
                  "(sp, be, eo, ec, pp) = dispatch(e, num_experts = %d, "
                  "block = %d)" % (e, block),
                  "return w, e, sp, be, eo, ec, pp"]


GENERATORS = {"gate": gen_gate, "fused_gate": gen_fused_gate,
              "output_gate": gen_output_gate, "ffn": gen_ffn,
              "scan": gen_scan, "route": gen_route, "dispatch": gen_dispatch}

LINE = re.compile(r"^\s+(ok|FAIL)\s+(\w+)\.(\w+) \((\w+), (\d+) elements\): "
                  r"(?:max error ([0-9.e+-]+|nan|inf)|(\d+) mismatches)")


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=TIMEOUT_S, **kw)


def check_file(args, cases, path):
    """Compiles and checks one file; returns {kernel: (ok, [(dtype, err)])}."""
    with open(path, "w") as f:
        f.write("".join(c.source() for c in cases))
    mlir = path[:-len(".gate")] + ".mlir"
    p = run([args.gatec, path, "--emit=mlir"])
    if p.returncode != 0:
        return None, "gatec %s --emit=mlir failed:\n%s" % (
            path, p.stdout.decode(errors="replace"))
    with open(mlir, "wb") as f:
        f.write(p.stdout)
    cmd = [args.gatec_check, mlir, "--seed", str(args.file_seed),
           "--cpu", args.file_cpu]
    for c in cases:
        cmd += ["--dim=%s=%d" % kv for kv in sorted(c.dims.items())]
        cmd += ["--scale=%s=%s" % kv for kv in sorted(c.scales.items())]
        cmd += ["--input=%s=%s" % (n, ",".join(map(str, v)))
                for n, v in sorted(c.inputs.items())]
    p = run(cmd)
    out = p.stdout.decode(errors="replace")
    results = {c.name: [True, []] for c in cases}
    seen = set()
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            kernel = m.group(2)
            seen.add(kernel)
            if kernel in results:
                ok = m.group(1) == "ok"
                results[kernel][0] &= ok
                err = float(m.group(6)) if m.group(6) else float(m.group(7))
                results[kernel][1].append((m.group(4), err))
        elif line.startswith("FAIL ") and ":" in line:
            kernel = line[5:].split(":")[0]
            if kernel in results:
                results[kernel][0] = False
    for name in results:
        if name not in seen:
            results[name][0] = False
    # What gatec-check accepted of the routers: choices at near ties, and
    # weights within what the rounding of their logits allows.
    args.ties += len(re.findall(r"\d+ ties? accepted", out))
    args.bounded += len(re.findall(r"within what the rounding", out))
    return results, (" ".join(cmd), out)


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("gatec")
    ap.add_argument("gatec_check")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", type=int, default=50)
    ap.add_argument("--per-file", type=int, default=16)
    ap.add_argument("--family", default=",".join(FAMILIES))
    ap.add_argument("--cpu", default="native",
                    help="CPU levels for gatec-check, one per file in turn "
                         "(e.g. native,x86-64-v3)")
    args = ap.parse_args(argv[1:])
    families = args.family.split(",")
    for f in families:
        if f not in GENERATORS:
            ap.error("unknown family %r (known: %s)" % (f, ", ".join(FAMILIES)))
    os.makedirs(args.workdir, exist_ok=True)
    args.ties = args.bounded = 0
    rng = random.Random(args.seed)
    cases = []
    for i in range(args.cases):
        c = Case(i, families[i % len(families)], rng.choice(DTYPES))
        GENERATORS[c.family](c, rng)
        cases.append(c)

    print("difftest: seed %d, %d cases, families %s"
          % (args.seed, len(cases), ",".join(families)))
    worst = collections.defaultdict(lambda: [0, 0.0, 0])  # op,dtype -> n,max,int
    failed = 0
    for start in range(0, len(cases), args.per_file):
        chunk = cases[start:start + args.per_file]
        path = os.path.join(args.workdir, "cases%d.gate" % (start // args.per_file))
        args.file_seed = args.seed * 1000 + start
        cpus = args.cpu.split(",")
        args.file_cpu = cpus[(start // args.per_file) % len(cpus)]
        results, detail = check_file(args, chunk, path)
        if results is None:
            failed += len(chunk)
            print("FAIL %s: %s" % (path, detail))
            continue
        cmd, out = detail
        bad = [c for c in chunk if not results[c.name][0]]
        for c in chunk:
            ok, outputs = results[c.name]
            for dtype, err in outputs:
                key = (c.op.split("+")[0], c.dtype)
                w = worst[key]
                if dtype.startswith("i"):
                    w[2] = max(w[2], int(err))
                else:
                    w[1] = max(w[1], err)
            worst[(c.op.split("+")[0], c.dtype)][0] += 1
        if bad:
            failed += len(bad)
            for c in bad:
                print("FAIL %s (%s) in %s" % (c.name, c.describe(), path))
            print("  reproduce: %s" % cmd)
            print("\n".join("  | " + l for l in out.splitlines()
                            if "FAIL" in l))

    print("%-24s %-5s %6s %12s %14s" % ("op", "dtype", "cases", "max error",
                                         "int mismatches"))
    for (op, dtype), (n, err, ints) in sorted(worst.items()):
        print("%-24s %-5s %6d %12.2e %14d" % (op, dtype, n, err, ints))
    if args.ties or args.bounded:
        print("difftest: routers with near ties accepted: %d, with weights "
              "within their logits' rounding: %d" % (args.ties, args.bounded))
    print("difftest: %d cases, %d failed (seed %d)" % (len(cases), failed,
                                                      args.seed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
