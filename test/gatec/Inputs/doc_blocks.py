"""Writes each ```gate block of a Markdown file to OUTDIR/blockN.gate.

Usage: doc_blocks.py FILE.md OUTDIR
Prints the number of blocks written.
"""

import os
import re
import sys


def main(argv):
    text = open(argv[1], encoding="utf-8").read()
    blocks = re.findall(r"^```gate\n(.*?)^```", text, re.S | re.M)
    os.makedirs(argv[2], exist_ok=True)
    for i, block in enumerate(blocks):
        with open(os.path.join(argv[2], "block%d.gate" % i), "w") as f:
            f.write(block)
    print("blocks: %d" % len(blocks))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
