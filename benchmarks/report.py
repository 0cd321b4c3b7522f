"""A benchmark's results: written to its file in benchmarks/results/ and printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_results(path: Path, results: dict[str, Any]) -> None:
    """Write `results` as JSON to `path` (beside, then renamed, so a reader never sees half a
    file) and print them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
    print(json.dumps(results, indent=2))
