"""Time `find_pii` per call on the texts a chat turn gives it: a tool's JSON result, the
assistant's answer, the person's short question, and a long message that does hold an SSN and
a date of birth. A turn calls it ~29 times (tool arguments and results, messages, logs).

Run from the repository root: `.venv/bin/python -m benchmarks.bench_pii [--against PATH]`.
With `--against`, the detector of another checkout (PATH/lending/pii.py, e.g. a worktree of
main) is timed in the same run, in alternating rounds, so both see the same machine load.
Results go to benchmarks/results/pii.json and to stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from benchmarks.report import write_results
from lending import pii

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "pii.json"
TODAY = dt.date(2026, 12, 7)
ROUNDS = 7  # alternating between the two detectors
CALLS = 300  # per text and round; the round's mean is one sample

TEXTS: dict[str, str] = {
    # What the loan calculator tool returns (~300 characters of amounts, rates and dates).
    "tool_result_json": json.dumps(
        {
            "amount": "25000.00",
            "annual_rate": "7.5",
            "term_months": 60,
            "monthly_payment": "500.95",
            "total_interest": "5056.96",
            "total_paid": "30056.96",
            "apr": "7.50",
            "fees": "0.00",
            "rounding": "half_up",
            "first_payment_date": "2027-01-07",
            "last_payment_date": "2031-12-07",
            "currency": "USD",
        },
        separators=(",", ":"),
    ),
    # An answer of 40 words with digits in them.
    "assistant_answer_40_words": " ".join(f"word{i}" for i in range(40)),
    "question": "what would 25k at 7.5% over 5 years cost?",
    # Personal data the detector must find: an SSN and a date of birth in a long message.
    "long_message_with_ssn_and_dob": (
        "Hi, I'm applying for the personal loan we talked about last week. My employer is "
        "Acme Logistics, I've been there since March 2019 and I make about $84,000 a year. "
        "My ssn is 123-45-6789 and I was born on March 15, 1990. I'd like to borrow $25,000 "
        "over 60 months, ideally at the 7.5% rate you quoted; please tell me what else you need."
    ),
}


def _load(checkout: Path) -> ModuleType:
    """The `lending/pii.py` of another checkout, as a module of its own (its imports of other
    `lending` modules resolve to this checkout's, which the detector only reads tables from)."""
    spec = importlib.util.spec_from_file_location("pii_against", checkout / "lending" / "pii.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"no lending/pii.py under {checkout}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


def _commit(checkout: Path) -> str:
    """The commit a checkout has out (uncommitted changes are not shown)."""
    return subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _round_us(find: Callable[..., object], text: str) -> float:
    """CPU microseconds per call over CALLS calls (CPU time is steadier on a shared machine)."""
    start = time.process_time()
    for _ in range(CALLS):
        find(text, today=TODAY)
    return (time.process_time() - start) / CALLS * 1e6


def main() -> None:
    """Run the measurements, write them as JSON and print them."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--against", type=Path, help="another checkout to time side by side")
    args = parser.parse_args()
    detectors: dict[str, ModuleType] = {"this_checkout": pii}
    if args.against is not None:
        detectors["against"] = _load(args.against)
    for module in detectors.values():  # warm up, and check both read the texts alike
        for text in TEXTS.values():
            module.find_pii(text, today=TODAY)
    samples: dict[str, dict[str, list[float]]] = {
        name: {label: [] for label in TEXTS} for name in detectors
    }
    for _ in range(ROUNDS):
        for name, module in detectors.items():
            for label, text in TEXTS.items():
                samples[name][label].append(_round_us(module.find_pii, text))

    results = {
        "benchmark": "pii",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "rounds": ROUNDS,
        "calls_per_round": CALLS,
        "commits": {
            "this_checkout": _commit(Path(__file__).resolve().parent.parent),
            "against": _commit(args.against) if args.against else None,
        },
        "texts": {label: {"chars": len(text)} for label, text in TEXTS.items()},
        "found": {
            name: {
                label: [span.kind.value for span in module.find_pii(text, today=TODAY)]
                for label, text in TEXTS.items()
            }
            for name, module in detectors.items()
        },
        # Median over rounds of the CPU µs per find_pii call.
        "find_pii_cpu_us_p50": {
            name: {label: round(statistics.median(values), 1) for label, values in by_text.items()}
            for name, by_text in samples.items()
        },
    }
    write_results(RESULTS_PATH, results)


if __name__ == "__main__":
    main()
