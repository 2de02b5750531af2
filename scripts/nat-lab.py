#!/usr/bin/env python3
"""make nat-lab: build the NAT lab (root), run its matrix, print one line per case.

Usage: .venv/bin/python scripts/nat-lab.py [--case SUBSTRING] [--delay MS] [--keep]
Each line: the case, then each peer's selected candidate pair (local -> remote, as the
path really is) and its time to connect, or what it was told when it gave up. The
topology and what each case means: tests/natlab/, docs/networks.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.natlab.cases import CASES, run_case
from tests.natlab.topology import Lab, available


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", default=[], help="run only cases naming this")
    parser.add_argument("--delay", type=int, default=0, help="netem delay on each router (ms)")
    args = parser.parse_args()
    why = available()
    if why is not None:
        print(f"nat-lab: {why}", file=sys.stderr)
        return 2
    cases = [c for c in CASES if not args.case or any(s in c.name for s in args.case)]
    with tempfile.TemporaryDirectory(prefix="nat-lab-") as tmp:
        lab = Lab(Path(tmp))
        try:
            lab.build()
            if args.delay:
                failed = lab.delay(args.delay)
                if failed:
                    print(f"nat-lab: no delay: {failed}", file=sys.stderr)
                    return 2
            lab.start_coturn()
            bad = 0
            for case in cases:
                result = run_case(lab, case)
                ok = result.connected == (case.expect == "connected")
                bad += not ok
                print(("ok   " if ok else "FAIL ") + result.line(), flush=True)
            return 1 if bad else 0
        finally:
            lab.close()


if __name__ == "__main__":
    sys.exit(main())
