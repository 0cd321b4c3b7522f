"""The drift check for the published loan-math cases finds a changed case and passes on equal files."""

from __future__ import annotations

import copy
import json

from devtools.published_cases import REPOSITORY_COPY, differences


def test_equal_files_have_no_differences_and_a_changed_case_is_named() -> None:
    ours = json.loads(REPOSITORY_COPY.read_text(encoding="utf-8"))
    assert differences(ours, copy.deepcopy(ours)) == []
    changed = copy.deepcopy(ours)
    section = "apr"
    changed[section][0]["expected_marker"] = "drift"
    assert differences(ours, changed) == [f"{section}/{ours[section][0]['name']}"]
