"""Compare the repository's copy of the published loan-math cases with a published file.

The tests read only the repository's copy (tests/lending/offers/data), so a clone anywhere runs
them; a maintainer who has the published file checks for drift by hand:

    .venv/bin/python -m devtools.published_cases PATH/TO/loan_math_cases.json

Exit status 0 when the two are equal, 1 with the first differing case otherwise.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REPOSITORY_COPY = (
    Path(__file__).resolve().parents[1]
    / "tests"
    / "lending"
    / "offers"
    / "data"
    / "loan_math_cases.json"
)


def differences(ours: dict[str, Any], published: dict[str, Any]) -> list[str]:
    """The names of the cases (or sections) that differ, in order."""
    found: list[str] = []
    for section in sorted(set(ours) | set(published)):
        mine, theirs = ours.get(section), published.get(section)
        if not (isinstance(mine, list) and isinstance(theirs, list)):
            if mine != theirs:
                found.append(section)  # a note or a tolerance, not a list of cases
            continue
        by_name = {case.get("name"): case for case in mine}
        published_by_name = {case.get("name"): case for case in theirs}
        for name in sorted(set(by_name) | set(published_by_name), key=str):
            if by_name.get(name) != published_by_name.get(name):
                found.append(f"{section}/{name}")
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    published = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    ours = json.loads(REPOSITORY_COPY.read_text(encoding="utf-8"))
    changed = differences(ours, published)
    if changed:
        print("differs: " + ", ".join(changed))
        return 1
    print(f"equal: {sum(len(v) for v in ours.values() if isinstance(v, list))} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
