"""`python -m voice dev|start` (what `omnifin voice dev|start` runs)."""

from __future__ import annotations

import sys

from voice.worker import run


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode not in ("dev", "start"):
        raise SystemExit("usage: omnifin voice dev|start")
    run(mode)


if __name__ == "__main__":
    main()
