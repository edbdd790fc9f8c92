"""Feeds truncated and garbled versions of .gate files to gatec.

Usage: fuzz.py GATEC FILE... [--seed N] [--count N]

Every run must end with exit status 0 or 1 within the time limit: never a
signal, never a hang. Prints one line per failure and exits 1 if any.
"""

import random
import re
import subprocess
import sys

TIMEOUT_S = 20
# Fragments that stress the parser's recovery: unbalanced brackets, stray
# operators, an unterminated comment, a huge number, deep nesting.
FRAGMENTS = [b"(", b")", b"[", b"]", b"{", b"}", b",", b"=", b"@", b"->",
             b"/*", b"**", b"$", b"\x00", b"\xff", b"99999999999999999999",
             b"1e999", b"kernel", b"return", b"(" * 300, b"-" * 300,
             b"\n", b"gate(", b"scan(", b"route(x, k = ", b"T", b"0"]


def variants(data, rng, count):
    """Yields (description, bytes) pairs derived from data."""
    n = len(data)
    # Words and numbers of the file, for mutations that stay lexically valid
    # and so reach sema and MLIRGen.
    tokens = [(m.start(), m.end()) for m in re.finditer(rb"[A-Za-z_0-9.]+", data)]
    words = [data[a:b] for a, b in tokens] + [b"1", b"2", b"0", b"T", b"f32"]
    for i in range(count):
        kind = i % 5
        if kind == 4 and tokens:  # a word replaced by another word
            a, b = rng.choice(tokens)
            word = rng.choice(words)
            yield "word %d..%d -> %r" % (a, b, word), data[:a] + word + data[b:]
            continue
        if kind == 0:  # truncation at an arbitrary byte
            cut = rng.randrange(n + 1)
            yield "truncated at %d" % cut, data[:cut]
        elif kind == 1:  # one byte replaced
            pos = rng.randrange(n)
            byte = bytes([rng.randrange(256)])
            yield "byte %d -> %r" % (pos, byte), data[:pos] + byte + data[pos + 1:]
        elif kind == 2:  # a fragment inserted
            pos = rng.randrange(n + 1)
            frag = rng.choice(FRAGMENTS)
            yield "inserted %r at %d" % (frag[:12], pos), data[:pos] + frag + data[pos:]
        elif kind == 3:  # a span deleted
            a = rng.randrange(n)
            b = min(n, a + rng.randrange(1, 40))
            yield "deleted %d..%d" % (a, b), data[:a] + data[b:]


def main(argv):
    args = argv[1:]
    seed, count = 0, 24
    if "--seed" in args:
        i = args.index("--seed")
        seed = int(args[i + 1])
        del args[i:i + 2]
    if "--count" in args:
        i = args.index("--count")
        count = int(args[i + 1])
        del args[i:i + 2]
    gatec, files = args[0], args[1:]
    rng = random.Random(seed)
    failures = runs = 0
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        for what, text in variants(data, rng, count):
            runs += 1
            try:
                proc = subprocess.run([gatec, "-", "--emit=mlir"], input=text,
                                      stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                print("HANG %s: %s" % (path, what))
                failures += 1
                continue
            if proc.returncode not in (0, 1):
                print("CRASH (status %d) %s: %s" % (proc.returncode, path, what))
                failures += 1
            elif b"internal error" in proc.stderr:
                print("INTERNAL ERROR %s: %s" % (path, what))
                failures += 1
    print("fuzz: %d runs, %d failures" % (runs, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
