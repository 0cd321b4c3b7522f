"""`omnifin loan-math` as operators and acceptance checks call it: a real process, JSON in and out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.lending.offers.test_math import CASES

OMNIFIN = str(Path(sys.executable).parent / "omnifin")


def _loan_math(command: str, payload: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OMNIFIN, "loan-math", command],
        input=payload,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("case", CASES["apr"], ids=lambda case: case["name"])
def test_published_apr_cases(case: dict[str, Any]) -> None:
    result = _loan_math("apr", json.dumps(case["input"]))
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["apr"] == case["expected_apr"]
    assert output["apr_exact"].startswith(case["expected_apr"][:3])


@pytest.mark.parametrize("case", CASES["schedule"], ids=lambda case: case["name"])
def test_published_schedule_cases(case: dict[str, Any]) -> None:
    result = _loan_math("schedule", json.dumps(case["input"]))
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    expected = case["expected"]
    assert output["payment"] == expected["payment"]
    rows = output["schedule"]
    assert len(rows) == case["input"]["term_months"]
    assert rows[-1]["balance"] == "0.00"
    if "first_row" in expected:
        assert {k: rows[0][k] for k in expected["first_row"]} == expected["first_row"]
    for column in ("interest", "principal", "balance"):
        if column in expected:
            assert [row[column] for row in rows] == expected[column]


@pytest.mark.parametrize(
    ("command", "payload", "message"),
    [
        ("schedule", '{"principal":"-5","annual_rate":"5","term_months":12}', "principal"),
        ("schedule", '{"principal":"100.001","annual_rate":"5","term_months":12}', "principal"),
        ("schedule", "not json", "JSON"),
        (
            "apr",
            '{"advances":[{"amount":"100.00","date":"2026-02-01"}],'
            '"payments":[{"amount":"110.00","date":"2026-01-01"}]}',
            "before",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(command: str, payload: str, message: str) -> None:
    result = _loan_math(command, payload)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert message.lower() in lines[0].lower()
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
