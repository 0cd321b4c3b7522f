"""Reports of a run: JSON (everything), Markdown (for a pull request) and one self-contained HTML
page (for prompt engineers until the back office shows runs)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from evals.harness import ScenarioResult


def as_json(meta: dict[str, Any], summary: dict[str, Any], results: list[ScenarioResult]) -> str:
    return json.dumps(
        {
            **meta,
            "summary": summary,
            "results": [
                {
                    **{k: v for k, v in vars(r).items() if k != "cost"},
                    "cost": str(r.cost),
                }
                for r in results
            ],
        },
        indent=2,
        ensure_ascii=False,
        default=str,
    )


def as_markdown(meta: dict[str, Any], summary: dict[str, Any]) -> str:
    lines = [
        f"# Eval run {meta.get('run_id', '')}",
        "",
        f"model `{meta.get('model')}`, prompt label `{meta.get('prompt_label')}`, "
        f"graph `{meta.get('graph_hash')}`, {meta.get('trials')} trial(s)",
        "",
        f"**pass@k {summary['pass_at_k']:.0%}**, pass^k {summary['pass_all_k']:.0%} "
        f"over {summary['scenarios']} scenario runs; flaky: {', '.join(summary['flaky']) or 'none'}",
        "",
        "| suite | scenarios | pass@k | pass^k |",
        "|---|---|---|---|",
    ]
    for suite, rates in summary["suites"].items():
        lines.append(
            f"| {suite} | {rates['scenarios']} | {rates['pass_at_k']:.0%} | {rates['pass_all_k']:.0%} |"
        )
    failed = [c for c in summary["cases"] if not c["pass_all_k"]]
    if failed:
        lines += ["", "## Failing", ""]
        for case in failed:
            critical = " (critical)" if case["critical"] else ""
            lines.append(
                f"- `{case['scenario_id']}` [{case['mode']}]{critical}: {case['passes']}/{case['trials']}"
            )
            lines += [f"  - {f}" for f in case["failures"][:5]]
    return "\n".join(lines) + "\n"


def as_html(meta: dict[str, Any], summary: dict[str, Any], results: list[ScenarioResult]) -> str:
    e = html.escape
    rows = []
    for r in results:
        failures = "".join(f"<li>{e(f)}</li>" for f in r.failures)
        transcript = "".join(
            f"<div class='{e(t['role'])}'><b>{e(t['role'])}</b> {e(t['content'])}</div>"
            for t in r.transcript
        )
        verdicts = "".join(
            f"<li>{e(v['judge'])}: {'pass' if v['passed'] else 'fail'} — {e(v['rationale'])}</li>"
            for v in r.verdicts
        )
        rows.append(
            f"<tr class='{'pass' if r.passed else 'fail'}'><td>{e(r.suite)}</td>"
            f"<td>{e(r.scenario_id)}{' ★' if r.critical else ''}</td><td>{e(r.mode)}</td>"
            f"<td>{r.trial}</td><td>{'pass' if r.passed else 'FAIL'}</td><td>{r.turns}</td>"
            f"<td>{r.duration_ms:.0f}</td><td><ul>{failures}{verdicts}</ul>"
            f"<details><summary>transcript</summary>{transcript}</details></td></tr>"
        )
    suites = "".join(
        f"<tr><td>{e(s)}</td><td>{v['scenarios']}</td><td>{v['pass_at_k']:.0%}</td>"
        f"<td>{v['pass_all_k']:.0%}</td></tr>"
        for s, v in summary["suites"].items()
    )
    facts = ", ".join(
        f"{e(k)}: {e(str(meta.get(k)))}"
        for k in ("run_id", "model", "prompt_label", "graph_hash", "trials")
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Omnifin evals</title>
<style>
body{{font:14px system-ui,sans-serif;margin:2rem;color:#111}} table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}}
tr.fail td{{background:#fdecea}} tr.pass td:nth-child(5){{color:#1b5e20}}
.assistant{{color:#0d47a1}} .tool{{color:#555;font-family:monospace}} .approval{{color:#6a1b9a}}
</style></head><body>
<h1>Eval run</h1><p>{facts}</p>
<p><b>pass@k {summary["pass_at_k"]:.0%}</b>, pass^k {summary["pass_all_k"]:.0%};
flaky: {e(", ".join(summary["flaky"]) or "none")}</p>
<table><tr><th>suite</th><th>scenarios</th><th>pass@k</th><th>pass^k</th></tr>{suites}</table>
<h2>Scenarios</h2>
<table><tr><th>suite</th><th>scenario</th><th>mode</th><th>trial</th><th>result</th><th>turns</th>
<th>ms</th><th>why</th></tr>{"".join(rows)}</table>
</body></html>
"""


def write_all(
    folder: Path, meta: dict[str, Any], summary: dict[str, Any], results: list[ScenarioResult]
) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "report.json", folder / "report.md", folder / "report.html"]
    paths[0].write_text(as_json(meta, summary, results), encoding="utf-8")
    paths[1].write_text(as_markdown(meta, summary), encoding="utf-8")
    paths[2].write_text(as_html(meta, summary, results), encoding="utf-8")
    return paths
