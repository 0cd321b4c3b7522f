"""The commission-ledger fixture and voice runs of the eval harness, end to end on real Postgres:
a funded loan built through the services with its ledger accrued by the worker's job body and
read back by ledger predicates (exact Decimal amounts); one scenario file in both channels, where
reply checks see what was written in chat and what was spoken over voice."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.schema import ScenarioFileError, load, load_file
from evals.service import Options, run
from evals.spoken import unspeakable
from lending.config import Settings

HERE = Path(__file__).resolve().parent
SEED = HERE.parent.parent / "evals" / "scenarios"


async def test_a_funded_loan_its_ledger_and_a_voice_run(
    settings: Settings, database_url: str
) -> None:
    scenarios = load(
        [
            HERE / "ledger_voice",
            SEED / "commissions" / "broker-why-this-commission.yaml",
            SEED / "voice" / "unclear-restated.yaml",
        ]
    )
    outcome = await run(
        settings, database_url, scenarios, Options(model="guided", concurrency=2, save=False)
    )
    by_case = {(r.scenario_id, r.mode): r for r in outcome.results}
    assert set(by_case) == {
        ("test-ledger-wrong-amount", "guided"),
        ("test-written-vs-spoken", "guided"),
        ("test-written-vs-spoken", "guided:voice"),
        ("broker-why-this-commission", "guided"),
        ("voice-unclear-restated", "guided:voice"),
    }
    for case in [
        ("broker-why-this-commission", "guided"),
        ("voice-unclear-restated", "guided:voice"),
    ]:
        assert by_case[case].passed, (case, by_case[case].failures, by_case[case].transcript)

    # The ledger: only the amount predicate fails, and says what the entry holds.
    ledger = by_case[("test-ledger-wrong-amount", "guided")]
    failed = {c["name"]: c["detail"] for c in ledger.checks if not c["passed"]}
    assert failed == {"state:1:commission_entries": "total_amount is Decimal('91.00')"}
    # The rest held: the broker's one accrual at 70%, the application funded through its
    # accepted firm offer, and the reply naming the exact amount.
    assert {"state:2:commission_entries", "state:3:applications", "state:4:offers"} <= {
        c["name"] for c in ledger.checks if c["passed"]
    }
    assert any("$91.00" in t["content"] for t in ledger.transcript if t["role"] == "assistant")

    # One file, two channels: the same refusal holds in both; the written figure is only in chat.
    chat = by_case[("test-written-vs-spoken", "guided")]
    spoken = by_case[("test-written-vs-spoken", "guided:voice")]
    assert chat.passed, chat.failures
    assert [f.split(":")[0:3] for f in spoken.failures] == [["reply", "match", "\\$8,500\\.00"]]
    spoken_checks = {c["name"]: c for c in spoken.checks}
    assert spoken_checks["voice:speakable"]["passed"]
    assert spoken_checks["approval:submit_application"]["passed"]
    assert spoken_checks["state:2:approvals"]["passed"]  # a spoken "no" rejected it
    replies = [t["content"] for t in spoken.transcript if t["role"] == "assistant"]
    assert any("8,500 dollars" in reply and "Please say yes or no." in reply for reply in replies)
    assert "voice:speakable" not in {c["name"] for c in chat.checks}
    # Each voice turn ran on a voice thread through the runner: the user said "no" for `answer`.
    assert [t["content"] for t in spoken.transcript if t["role"] == "user"][-1] == "no"


@pytest.mark.parametrize(
    ("reply", "found"),
    [
        ("You earned 91 dollars this month.", []),
        ("您在2026年12月共赚取 91.00 美元。", []),
        ("You earned **$91.00**.", ["markdown emphasis or code", "a written dollar figure"]),
        ("## Offers\nHarbor Bank", ["a markdown heading"]),
        ("- Harbor Bank\n- Lotus Bank", ["a markdown list"]),
        ("See [the rates](https://example.com/rates).", ["a link"]),
        ("| Lender | APR |", ["a table"]),
        ("Run `submit_application` now", ["markdown emphasis or code"]),
    ],
)
def test_what_is_not_speakable(reply: str, found: list[str]) -> None:
    assert unspeakable(reply) == found


def test_a_funded_application_needs_a_borrower_who_can_submit(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "id: bad\ntitle: t\nsuite: s\nfixtures:\n  profile: complete\n"
        "  applications:\n  - {key: a, amount: '1000', funded: {amount: '1000'}}\n"
        "user: {turns: [{say: hi}]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioFileError, match="consent: true"):
        load_file(path)
    path.write_text(
        "id: bad\ntitle: t\nsuite: s\nchannels: []\nuser: {turns: [{say: hi}]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioFileError, match="channels"):
        load_file(path)
