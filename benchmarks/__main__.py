"""``make bench``: performance figures, as a markdown table on stdout and JSON in a file."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from benchmarks import sandbox


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--scale", type=float, default=1.0, help="size of the large dataset (1.0 = full)")
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"))
    args = parser.parse_args()
    figures = sandbox.run(args.scale)
    print(sandbox.table(figures))
    args.json.write_text(json.dumps({"sandbox": dataclasses.asdict(figures)}, indent=2))
    print(f"\nJSON written to {args.json}")


if __name__ == "__main__":
    main()
