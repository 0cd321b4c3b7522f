"""Yes means yes: the answer classifier against a labelled corpus and generated answers.

Labels in `data/yes_no_corpus.jsonl`: "yes" is an unambiguous affirmative to the question asked;
"no" is a plain refusal or deferral and nothing else; "unclear" is everything else (questions,
hedges, conditions, a yes and a no together, polite words or a thumbs-up alone, another action).
A false yes approves or consents without a yes; a false no cancels what the person did not refuse.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.guided.parser import parse_yes_no
from agents.guided.yesno import Answer, classify_answer, consent_answer, is_affirmative

_CORPUS_PATH = Path(__file__).parent / "data" / "yes_no_corpus.jsonl"
_CORPUS: list[dict[str, str]] = [
    json.loads(line) for line in _CORPUS_PATH.read_text(encoding="utf-8").splitlines() if line
]


# Answers the way people refuse, hedge, joke and attack (red-team corpus): read exactly as
# labelled, each to the action named in the row ("action") or to a plain question, showing
# "targets" things (the lenders of a submission; one application) when the row says.
_ADVERSARIAL: list[dict[str, Any]] = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "yes_no_adversarial.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
    if line
]


def _misread(expected: set[str], got: Answer) -> list[str]:
    return [
        f"{row['label']} read as {got}: {row['text']!r}"
        for row in _CORPUS
        if row["label"] in expected and classify_answer(row["text"]) is got
    ]


def test_the_corpus_is_large_varied_and_well_formed() -> None:
    counts = Counter((row["lang"], row["label"]) for row in _CORPUS)
    assert len(_CORPUS) >= 300
    for lang in ("en", "zh"):
        for label in ("yes", "no", "unclear"):
            assert counts[(lang, label)] >= 40, (lang, label)
    assert all(set(row) == {"text", "label", "lang"} for row in _CORPUS)
    texts = [row["text"] for row in _CORPUS]
    assert len(texts) == len(set(texts)), "a corpus answer appears twice"


def test_the_adversarial_corpus_is_read_exactly_as_labelled() -> None:
    counts = Counter((row["lang"], row["label"]) for row in _ADVERSARIAL)
    assert len(counts) == 6, counts
    assert min(counts.values()) >= 10, counts
    wrong = [
        (row["text"], row.get("action"), row.get("targets"), row["label"], got.value)
        for row in _ADVERSARIAL
        if (
            got := classify_answer(
                row["text"], action=row.get("action"), targets=row.get("targets")
            )
        ).value
        != row["label"]
    ]
    assert wrong == []


def test_nothing_but_a_yes_is_read_as_yes() -> None:
    assert _misread({"no", "unclear"}, Answer.YES) == []


def test_nothing_but_a_refusal_is_read_as_no() -> None:
    assert _misread({"yes", "unclear"}, Answer.NO) == []


def test_the_corpus_is_read_almost_entirely_as_labelled() -> None:
    wrong = [row for row in _CORPUS if classify_answer(row["text"]).value != row["label"]]
    # What is left are refusals read as unclear: asked again, never acted on.
    assert len(wrong) / len(_CORPUS) < 0.02, wrong


@pytest.mark.parametrize(
    "text",
    [
        "I do not want to submit it yet",
        "I do not consent to a credit check",
        "ok wait, no",
        "not yet",
        "no thanks, but…",
        "don't",
        "never mind",
        "hold on",
        "不同意",
        "不要",
        "先不",
        "还没",
        "等一下",
        "maybe",
        "I guess?",
        "what does that mean?",
        "probably",
        "let me think",
        "也许",
        "可能吧",
        "这是什么意思",
        "yes but first tell me the fees",
        "yes no",
        "yes if the rate is under 5%",
        "ok, what fees are there?",
        "👍",
        "right, I don't want to",
        "OK I don't",
        "i do not",
    ],
)
def test_the_answers_from_the_issue_are_not_yes(text: str) -> None:
    assert classify_answer(text) is not Answer.YES
    assert parse_yes_no(text) is not True


@pytest.mark.parametrize(
    "text",
    [
        "yes",
        "YES!!",
        "yesss",
        "yeahhh",
        "yes please",
        "sure, go ahead",
        "that's fine, submit it",
        "I agree",
        "I consent",
        "I approve",
        "是的",
        "好的",
        "可以",
        "同意",
        "确认",
        "没问题",
        "行",
        "提交吧",
        "我同意",
        "好的，提交吧",
        "ＯＫ，提交吧",
        "yes 👍",
    ],
)
def test_plain_affirmatives_are_yes(text: str) -> None:
    assert classify_answer(text) is Answer.YES
    assert parse_yes_no(text) is True
    assert is_affirmative(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no", False),
        ("I do not want to submit it yet", False),
        ("取消", False),
        ("yes", True),
        ("maybe", None),
        ("yes no", None),
        ("", None),
    ],
)
def test_parse_yes_no_keeps_its_contract(text: str, expected: bool | None) -> None:
    assert parse_yes_no(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I consent to the credit check", Answer.YES),
        ("yes, you can check my credit", Answer.YES),
        ("我同意征信查询", Answer.YES),
        ("I do not consent to a credit check", Answer.NO),
        ("I withdraw my consent", Answer.NO),
        ("不授权", Answer.NO),
        ("I consent, but only to a soft check", Answer.UNCLEAR),
        ("I agree if it doesn't affect my score", Answer.UNCLEAR),
        ("what does a credit check do?", Answer.UNCLEAR),
    ],
)
def test_consent_needs_a_yes_to_the_consent_itself(text: str, expected: Answer) -> None:
    assert consent_answer(text) is expected


# Generated answers: affirmative and polite words, with a negation word put anywhere.
_AFFIRMATIVE_WORDS = [
    "yes", "ok", "okay", "sure", "please", "go ahead", "submit it", "i agree", "i consent",
    "that's fine", "yeah", "absolutely", "do it", "approve", "thanks", "um", "right", "👍",
]  # fmt: skip
_NEGATION_WORDS = [
    "no", "not", "don't", "do not", "never", "nope", "nah", "not yet", "not now", "cancel",
    "stop", "wait", "hold on", "never mind", "won't", "can't", "i do not", "rather not",
    "didn't", "NO", "Not", "DON'T", "noooo", "reject", "decline", "later", "without",
]  # fmt: skip
_CHINESE_AFFIRMATIVE = ["好的", "是的", "可以", "同意", "确认", "提交", "行", "吧", "请", "没问题"]
_CHINESE_NEGATION = ["不", "不要", "不同意", "先不", "还没", "别", "等一下", "取消", "算了", "拒绝"]
_SEPARATORS = [" ", ", ", ". ", "，", "。", "! ", " - ", "…", "\n", "  "]


@given(
    before=st.lists(st.sampled_from(_AFFIRMATIVE_WORDS), max_size=4),
    negation=st.sampled_from(_NEGATION_WORDS),
    after=st.lists(st.sampled_from(_AFFIRMATIVE_WORDS), max_size=4),
    separator=st.sampled_from(_SEPARATORS),
    noise=st.text(max_size=12),
)
@settings(max_examples=400)
def test_a_negation_word_anywhere_is_never_yes(
    before: list[str], negation: str, after: list[str], separator: str, noise: str
) -> None:
    text = separator.join([*before, negation, *after])
    assert classify_answer(text) is not Answer.YES
    # Arbitrary text around it, set off by a space, changes nothing.
    assert classify_answer(f"{noise} {text} {noise}") is not Answer.YES


@given(
    before=st.lists(st.sampled_from(_CHINESE_AFFIRMATIVE), max_size=4),
    negation=st.sampled_from(_CHINESE_NEGATION),
    after=st.lists(st.sampled_from(_CHINESE_AFFIRMATIVE), max_size=4),
    separator=st.sampled_from(["", "", "，", " ", "。"]),
)
def test_a_chinese_negation_anywhere_is_never_yes(
    before: list[str], negation: str, after: list[str], separator: str
) -> None:
    assert classify_answer(separator.join([*before, negation, *after])) is not Answer.YES


@given(st.text(max_size=60))
def test_any_text_reads_as_one_of_three_answers(text: str) -> None:
    answer = classify_answer(text)
    assert answer in set(Answer)
    if "?" in text or "？" in text:
        assert answer is Answer.UNCLEAR


@pytest.mark.parametrize(
    ("text", "action", "expected"),
    [
        ("yes, withdraw it", "withdraw_application", Answer.YES),
        ("withdraw it", "withdraw_application", Answer.YES),
        ("don't withdraw it", "withdraw_application", Answer.NO),
        ("yes, withdraw it", "submit_application", Answer.UNCLEAR),
        ("withdraw it", "submit_application", Answer.NO),
        ("yes, withdraw it", None, Answer.UNCLEAR),
        ("yes reject it", "reject_document", Answer.YES),
        ("cancel", "withdraw_application", Answer.NO),
    ],
)
def test_the_actions_own_verb_is_agreement_not_refusal(
    text: str, action: str | None, expected: Answer
) -> None:
    assert classify_answer(text, action=action) is expected
    assert (
        parse_yes_no(text, action=action)
        is {
            Answer.YES: True,
            Answer.NO: False,
            Answer.UNCLEAR: None,
        }[expected]
    )


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("yes, submit it", "withdraw_application"),
        ("submit", "withdraw_application"),
        ("accept it", "submit_application"),
        ("ok send it", "accept_offer"),
        ("好的，提交吧", "accept_offer"),
        ("接受", "submit_application"),
    ],
)
def test_a_yes_naming_another_action_approves_nothing(text: str, action: str) -> None:
    """An approval approves exactly the action it showed: agreeing to a different one is unclear."""
    assert classify_answer(text, action=action) is Answer.UNCLEAR


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("yes, submit it", "submit_application"),
        ("yes send it", "submit_application"),
        ("accept", "accept_offer"),
        ("好的，提交吧", "submit_application"),
    ],
)
def test_a_yes_naming_the_action_asked_is_a_yes(text: str, action: str) -> None:
    assert classify_answer(text, action=action) is Answer.YES


# A yes that reaches further than the question: generated with every reach word, anywhere.
_BROADER = [
    "all", "all of them", "every lender", "each one", "everything", "any lender", "too",
    "as well", "also the other one", "another one", "the rest", "都", "全部", "所有的", "一起",
    "顺便", "另外", "其他的",
]  # fmt: skip
_ACTIONS = ["submit_application", "withdraw_application", "accept_offer", None]


@given(
    before=st.lists(st.sampled_from(_AFFIRMATIVE_WORDS), min_size=1, max_size=3),
    broader=st.sampled_from(_BROADER),
    after=st.lists(st.sampled_from(["please", "thanks", "go ahead", "好的", "提交吧"]), max_size=2),
    separator=st.sampled_from([" ", ", ", "，", ". "]),
    action=st.sampled_from(_ACTIONS),
    targets=st.sampled_from([1, 2, 3, None]),
)
def test_a_yes_reaching_further_than_what_was_shown_is_never_yes(
    before: list[str],
    broader: str,
    after: list[str],
    separator: str,
    action: str | None,
    targets: int | None,
) -> None:
    text = separator.join([*before, broader, *after])
    assert classify_answer(text, action=action, targets=targets) is not Answer.YES


@pytest.mark.parametrize(
    ("text", "targets", "expected"),
    [
        ("yes, both", 2, Answer.YES),
        ("yes, both", 1, Answer.UNCLEAR),
        ("yes, both", 3, Answer.UNCLEAR),
        ("yes, both", None, Answer.UNCLEAR),
        ("ok, all three", 3, Answer.YES),
        ("ok, all three", 2, Answer.UNCLEAR),
        ("好的，两家都提交", 2, Answer.YES),
        ("好的，两家都提交", 1, Answer.UNCLEAR),
        ("yes, submit it", 1, Answer.YES),
        ("yes, submit it", 2, Answer.YES),
        ("no, not to both", 1, Answer.NO),
    ],
)
def test_a_number_in_a_yes_must_be_the_number_shown(
    text: str, targets: int | None, expected: Answer
) -> None:
    assert classify_answer(text, action="submit_application", targets=targets) is expected
