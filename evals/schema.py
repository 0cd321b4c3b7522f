"""The scenario file schema (evals/scenarios/**/*.yaml), validated with pydantic; evals/README.md
documents it field by field."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]
Mode = Literal["guided", "scripted", "llm"]
# chat: typed turns, replies as written; voice: each turn said through the voice adapter
# (voice/adapter.py over LiveKit's AgentSession in text mode), replies as spoken.
Channel = Literal["chat", "voice"]
ACTOR = "actor"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Who and the starting state.


class Actor(_Strict):
    role: Literal["borrower", "broker", "broker_manager"] = "borrower"
    name: str = "Sam Lee"
    # A broker (or a borrower referred by one) belongs to a firm declared under fixtures.firm.
    in_firm: bool = False


class Firm(_Strict):
    name: str = "Harbor Brokers"
    slug: str = "harbor"


class Person(_Strict):
    """Another user of the scenario: a broker's client, another borrower (to check isolation)."""

    key: Key
    role: Literal["borrower", "broker"] = "borrower"
    name: str
    email: str
    in_firm: bool = False
    referred_by_actor: bool = False
    # Fields of lending.applications.schemas.BorrowerProfileUpdate, or "complete".
    profile: dict[str, Any] | Literal["complete"] | None = None
    consent: bool = False


class FundedFixture(_Strict):
    """The lender's firm terms of a funded application (the funded amount is `amount`)."""

    amount: Decimal = Field(gt=0)
    term_months: int = Field(default=36, ge=1, le=480)
    note_rate: Decimal = Field(default=Decimal("8.25"), gt=0, lt=100)


class CommissionRuleFixture(_Strict):
    """A platform commission rule created by a platform administrator through the commission
    service (lending.commissions.schemas.RuleCreate checks it: splits sum to 100)."""

    name: str = "Eval platform rule"
    effective_from: date = date(2020, 1, 1)
    upfront_percent: Decimal | None = None
    upfront_flat: Decimal | None = None
    trail_percent: Decimal | None = None
    tax_percent: Decimal = Decimal("0")
    splits: dict[str, Decimal] = Field(default_factory=lambda: {"broker": Decimal("100")})


class ApplicationFixture(_Strict):
    key: Key
    borrower: Key = ACTOR
    # A broker (the actor, or a person) starts it for the borrower.
    started_by: Key | None = None
    product_type: str = "personal"
    purpose: str | None = None
    amount: Decimal | None = None
    term_months: int | None = None
    slots: dict[str, Any] = Field(default_factory=dict)
    # Prequalified offers for it, as the borrower's own "show me my offers" makes them (the
    # borrower needs a complete profile and a credit-check consent).
    offers: bool = False
    # A funded loan: prequalified, submitted to the first lender by the borrower, approved by
    # that lender with these firm terms, accepted by the borrower, funded by the lender, and its
    # upfront commission accrued by the worker's own job body (fixtures.commission_rule pays).
    funded: FundedFixture | None = None


class DocumentFixture(_Strict):
    """A document uploaded to an application by its borrower: a synthetic file of that type
    with the borrower's name on it, stored and extracted as the worker would. `review` is where
    a reviewer left it (a platform administrator of the scenario); without it the document waits
    for review or is already extracted, as the extraction decided."""

    key: Key
    application: Key
    type: Literal["pay_stub", "bank_statement", "w2", "identification"]
    review: Literal["verified", "rejected"] | None = None
    reason: str | None = None  # why it was rejected (the borrower reads it)

    @model_validator(mode="after")
    def _reason_with_rejection(self) -> DocumentFixture:
        if (self.review == "rejected") != (self.reason is not None):
            raise ValueError("a rejected document needs a reason, and only a rejected one")
        return self


class Fixtures(_Strict):
    firm: Firm | None = None
    # The actor's own borrower profile: BorrowerProfileUpdate fields, or "complete".
    profile: dict[str, Any] | Literal["complete"] | None = None
    consent: bool = False
    people: list[Person] = Field(default_factory=list)
    applications: list[ApplicationFixture] = Field(default_factory=list)
    documents: list[DocumentFixture] = Field(default_factory=list)
    # The commission rule that funded applications (applications[].funded) accrue under.
    commission_rule: CommissionRuleFixture | None = None

    @model_validator(mode="after")
    def _documents_on_known_applications(self) -> Fixtures:
        known = {item.key for item in self.applications}
        for document in self.documents:
            if document.application not in known:
                raise ValueError(
                    f"document {document.key!r}: no application {document.application!r}"
                )
        return self


# The user.


class Say(_Strict):
    say: str


class Answer(_Strict):
    """Answer the approval asked last by id, as a button press would. In a voice run it is said
    instead ("yes" / "no"), read by the runner's strict yes/no rules like any spoken answer."""

    answer: Literal["approve", "reject"]
    channel: Literal["button", "voice", "api"] = "button"


Turn = Say | Answer


class SimulatedUser(_Strict):
    """A person played by a model: who they are and what they want; `approvals` says how they
    answer each question the assistant asks (by tool name; default reject)."""

    persona: str
    goal: str
    opening: str
    approvals: dict[str, Literal["approve", "reject"]] = Field(default_factory=dict)


class User(_Strict):
    turns: list[Turn] = Field(default_factory=list)
    simulated: SimulatedUser | None = None
    max_turns: int = Field(default=20, ge=1, le=200)

    @model_validator(mode="after")
    def _one_kind(self) -> User:
        if bool(self.turns) == (self.simulated is not None):
            raise ValueError("give either `turns` (a scripted user) or `simulated`, not both")
        return self


# Expectations.


class Matcher(_Strict):
    """How one argument is compared: exactly one of the fields."""

    exact: Any = None
    regex: str | None = None
    decimal: Decimal | None = None
    tolerance: Decimal = Decimal("0")
    one_of: list[Any] | None = None
    ignore: bool = False
    absent: bool = False

    @model_validator(mode="after")
    def _one(self) -> Matcher:
        given = [
            self.exact is not None,
            self.regex is not None,
            self.decimal is not None,
            self.one_of is not None,
            self.ignore,
            self.absent,
        ]
        if sum(given) != 1:
            raise ValueError(
                "a matcher has exactly one of exact, regex, decimal, one_of, ignore, absent"
            )
        if self.regex is not None:
            re.compile(self.regex)
        return self


def _matcher(value: Any) -> Any:
    """A bare value in a scenario is an exact match."""
    if isinstance(value, dict) and value.keys() & {
        "exact",
        "regex",
        "decimal",
        "one_of",
        "ignore",
        "absent",
    }:
        return value
    return {"exact": value}


class ExpectedCall(_Strict):
    tool: str
    args: dict[str, Matcher] = Field(default_factory=dict)
    ok: bool | None = None

    @field_validator("args", mode="before")
    @classmethod
    def _matchers(cls, value: Any) -> Any:
        return {k: _matcher(v) for k, v in (value or {}).items()}


class Trajectory(_Strict):
    """strict: exactly these calls in this order; unordered: exactly these in any order; subset:
    these appear (in order) among the calls made; superset: every call made is one of these."""

    mode: Literal["strict", "unordered", "subset", "superset"] = "subset"
    calls: list[ExpectedCall] = Field(default_factory=list)
    forbidden: list[str] = Field(default_factory=list)


class ExpectedApproval(_Strict):
    """A question the assistant must ask (in order), and what its words must say."""

    tool: str
    summary_matches: list[str] = Field(default_factory=list)


class StatePredicate(_Strict):
    """One check over Postgres, read through the services as the borrower (or `as`) sees it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    check: Literal[
        "applications",
        "consents",
        "offers",
        "documents",
        "profile",
        "approvals",
        "commission_entries",
    ]
    # Whose view: the actor, or a person's key (commission_entries: the ledger as they see it).
    borrower: Key = ACTOR
    # applications: only this fixture's application (by its key); commission_entries: only the
    # entries of that application's funded loan.
    application: Key | None = None
    # documents: only this fixture's document (by its key).
    document: Key | None = None
    # Only the rows these field matchers accept are counted and checked (e.g. party: broker).
    filter: dict[str, Matcher] = Field(default_factory=dict)
    count: int | None = None
    min_count: int | None = None
    # Field matchers applied to the newest row (profile: the profile itself).
    where: dict[str, Matcher] = Field(default_factory=dict)

    @field_validator("where", "filter", mode="before")
    @classmethod
    def _matchers(cls, value: Any) -> Any:
        return {k: _matcher(v) for k, v in (value or {}).items()}


Disclosure = Literal["apr_with_payment", "no_approval_promise"]


class JudgeSpec(_Strict):
    rubric: str
    # For the deterministic judge: the verdict passes when these regexes all match the replies.
    fake_pass_if: list[str] = Field(default_factory=list)


class ReplyChecks(_Strict):
    must_match: list[str] = Field(default_factory=list)
    must_not_match: list[str] = Field(default_factory=list)
    # Every value the user typed that the PII detector finds never comes back in a reply.
    no_pii_echo: bool = True
    # Another person's name or e-mail (fixtures.people) never appears in a reply.
    no_other_borrower_data: bool = True
    disclosures: list[Disclosure] = Field(default_factory=list)
    judges: list[JudgeSpec] = Field(default_factory=list)

    @field_validator("must_match", "must_not_match")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        for pattern in value:
            re.compile(pattern)
        return value


class Budgets(_Strict):
    turns: int | None = None
    latency_ms: float | None = None
    tokens: int | None = None
    cost: Decimal | None = None


class ScriptedCall(_Strict):
    name: str
    args: dict[str, Any] = Field(default_factory=dict)


class ScriptedReply(_Strict):
    """One reply of the scripted model: text, tool calls, or both."""

    text: str = ""
    calls: list[ScriptedCall] = Field(default_factory=list)


def _guided_only() -> list[Mode]:
    return ["guided"]


def _chat_only() -> list[Channel]:
    return ["chat"]


class Scenario(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80)]
    title: str
    suite: str
    tags: list[str] = Field(default_factory=list)
    # A critical scenario that passed in the baseline and fails now fails the gate.
    critical: bool = False
    # Modes it runs in; "scripted" needs `script`.
    modes: list[Mode] = Field(default_factory=_guided_only)
    # Channels it runs over (each mode in each channel); a voice run is stored as "MODE:voice".
    channels: list[Channel] = Field(default_factory=_chat_only, min_length=1)
    actor: Actor = Field(default_factory=Actor)
    fixtures: Fixtures = Field(default_factory=Fixtures)
    user: User
    script: list[ScriptedReply] = Field(default_factory=list)
    approvals: list[ExpectedApproval] = Field(default_factory=list)
    trajectory: Trajectory = Field(default_factory=Trajectory)
    final_state: list[StatePredicate] = Field(default_factory=list)
    replies: ReplyChecks = Field(default_factory=ReplyChecks)
    budgets: Budgets = Field(default_factory=Budgets)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if "scripted" in self.modes and not self.script:
            raise ValueError("a scenario run in scripted mode needs a `script`")
        keys = {ACTOR, *(p.key for p in self.fixtures.people)}
        for item in self.fixtures.applications:
            for key in (item.borrower, item.started_by):
                if key is not None and key not in keys:
                    raise ValueError(f"application {item.key}: no person {key!r}")
        for predicate in self.final_state:
            if predicate.borrower not in keys:
                raise ValueError(f"final_state: no person {predicate.borrower!r}")
        profiles = {ACTOR: (self.fixtures.profile, self.fixtures.consent)} | {
            p.key: (p.profile, p.consent) for p in self.fixtures.people
        }
        for item in self.fixtures.applications:
            if item.funded is not None and profiles.get(item.borrower) != ("complete", True):
                raise ValueError(
                    f"application {item.key} is funded: its borrower needs `profile: complete` "
                    "and `consent: true` (a submission needs both)"
                )
        if (self.actor.in_firm or any(p.in_firm for p in self.fixtures.people)) and (
            self.fixtures.firm is None
        ):
            raise ValueError("a person is in a firm, but fixtures.firm is not given")
        return self

    def digest(self) -> str:
        """The scenario's hash: results are keyed by it, so an edited scenario is a new one."""
        return hashlib.sha256(
            orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        ).hexdigest()[:16]


class ScenarioFileError(Exception):
    """A scenario file that does not parse or does not fit the schema, with its path."""


def load_file(path: Path) -> Scenario:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Scenario.model_validate(data)
    except (yaml.YAMLError, ValidationError) as exc:
        raise ScenarioFileError(f"{path}: {exc}") from exc


SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"


def load(paths: list[Path] | None = None, *, tags: list[str] | None = None) -> list[Scenario]:
    """Scenarios from files and folders (default: every file under evals/scenarios), filtered by
    tag (any of `tags`, or the suite's name); ids must be unique."""
    files: list[Path] = []
    for path in paths or [SCENARIO_DIR]:
        files += sorted(path.rglob("*.yaml")) if path.is_dir() else [path]
    scenarios = [load_file(f) for f in files]
    seen: dict[str, Scenario] = {}
    for scenario in scenarios:
        if scenario.id in seen:
            raise ScenarioFileError(f"two scenarios have the id {scenario.id!r}")
        seen[scenario.id] = scenario
    if tags:
        scenarios = [s for s in scenarios if set(tags) & {*s.tags, s.suite}]
    return scenarios
