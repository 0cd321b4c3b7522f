"""Mail templates: per kind and language, a subject, a text body and an HTML body (Jinja2).

Files live in `templates/<language>/<kind>.{subject.txt,txt,html}`; the HTML ones extend
`templates/<language>/base.html`. A language without a template falls back to English.
tests/mail/test_templates.py checks every kind has all three files in every language.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

TEMPLATE_DIR = Path(__file__).with_name("templates")
LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"
KINDS = (
    "password_reset",
    "email_verification",
    "email_change",
    "email_changed",
    "invitation",
    "referral",
    "notification",
)
# Mail a person cannot turn off (security and the account's own links): no unsubscribe link.
# Everything else is non-essential and carries one (lending/notifications/preferences.py).
ESSENTIAL_KINDS = frozenset(
    {
        "password_reset",
        "email_verification",
        "email_change",
        "email_changed",
        "invitation",
        "referral",
    }
)


@dataclass(frozen=True, slots=True)
class RenderedMail:
    subject: str
    text: str
    html: str
    # RFC 8058 one-click unsubscribe URL, for non-essential mail (List-Unsubscribe headers).
    unsubscribe_url: str | None = None


@functools.cache
def _environment(autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,  # a missing value is a bug, not an empty string
        keep_trailing_newline=True,
    )


def language_of(language: str | None) -> str:
    """The language mail is written in for a person's preference (English when unknown)."""
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def render(kind: str, language: str | None, context: dict[str, Any]) -> RenderedMail:
    """The subject, text and HTML of one message of `kind` in the recipient's language."""
    if kind not in KINDS:
        raise ValueError(f"unknown mail kind {kind!r}")
    lang = language_of(language)
    text_env, html_env = _environment(False), _environment(True)
    subject = text_env.get_template(f"{lang}/{kind}.subject.txt").render(context)
    return RenderedMail(
        subject=" ".join(subject.split()),  # one line: a header cannot hold a newline
        text=text_env.get_template(f"{lang}/{kind}.txt").render(context),
        html=html_env.get_template(f"{lang}/{kind}.html").render(context),
        unsubscribe_url=context.get("unsubscribe_url"),
    )
