"""Guided mode for brokers: the delegations that a fixed parser can read reliably.

It handles "start an application for my client (client@example.com), $25k auto, 60 months",
"what is missing on OMF-2026-000123" / "status of OMF-…", "which of my clients have offers
expiring this week", "how much commission did I earn in October and why" and "list my clients'
applications" through the same tools the model would call, under the broker's own scopes (so
only their own clients' files, offers and commission are reachable). Anything else gets a plain
list of what guided mode can do rather than a guess.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agents.core.context import AgentContext
from agents.core.state import AgentState
from agents.guided.meaning import understand
from agents.guided.parser import (
    parse_amount,
    parse_email,
    parse_period,
    parse_term_months,
    parse_within_days,
)
from agents.guided.policy import GuidedReply, call_tool, say, tool_error
from agents.guided.texts import option_label
from lending.applications.requirements import requirements
from tools.base import ToolError

_REFERENCE = re.compile(r"\bOMF-\d{4}-\d{6}\b", re.I)
_LIST = re.compile(r"\b(list|pipeline|clients?|applications|files)\b", re.I)
_START = re.compile(r"\b(start|open|create|begin|new)\b.*\b(application|loan|file)\b", re.I)
_NEWEST = re.compile(r"\b(newest|latest|most recent|last|recent)\b", re.I)
_OLDEST = re.compile(r"\b(oldest|first)\b", re.I)
# "Riley's application", "the auto loan for Jane", "Jane Doe's file", "file of Riley".
_WHOSE = re.compile(
    r"\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)['’]s\s+(?:\w+\s+){0,2}(application|file|loan)|"
    r"\b(?:application|file|loan)\s+(?:for|of)\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)\b"
)
_FILE_WORDS = re.compile(r"\b(application|file|loan)\b", re.I)
_CANCEL = re.compile(r"\b(cancel|never ?mind|forget it|stop)\b", re.I)
_EXPIRING = re.compile(r"\bexpir", re.I)
_COMMISSION = re.compile(r"\bcommissions?\b|\b(earn|earned|earnings|payouts?)\b", re.I)
_SUMMARY_FIELDS = ("accrued", "clawed_back", "adjusted", "paid")
_PAGE = 100  # commission entries read per call (the tool's maximum)
# How many of the period's biggest commission lines are explained step by step.
EXPLAINED_LINES = 3
HELP = (
    "I'm in guided mode, so I understand a few requests:\n"
    '- "start an application for my client (client@example.com), $25k auto, 60 months" (or in '
    "pieces: I'll ask for what is missing and confirm before starting)\n"
    '- "my newest file", "Riley\'s application", "the auto loan for Jane"\n'
    '- "what is missing on OMF-2026-000123" or "status of OMF-2026-000123"\n'
    '- "which of my clients have offers expiring this week"\n'
    '- "how much commission did I earn in October and why"\n'
    '- "list my clients\' applications"\n'
    "For anything else, use the pipeline in the web app."
)


def _money(value: Any, currency: str = "USD") -> str:
    amount = Decimal(str(value))
    sign = "-" if amount < 0 else ""
    if currency == "USD":
        return f"{sign}${abs(amount):,.2f}"
    return f"{sign}{abs(amount):,.2f} {currency}"


def _period_words(start: str | None, end: str | None) -> str:
    if start is None or end is None:
        return "so far"
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    whole_month = (
        first.day == 1
        and (first.year, first.month) == (last.year, last.month)
        and (last + timedelta(days=1)).day == 1
    )
    if whole_month:
        return f"in {first:%B %Y}"
    return f"from {first.isoformat()} to {last.isoformat()}"


def _trailing_tool_messages(messages: Sequence[BaseMessage]) -> list[ToolMessage]:
    """The results of the policy's last tool calls (one message may call several tools)."""
    results: list[ToolMessage] = []
    for message in reversed(messages):
        if not isinstance(message, ToolMessage):
            break
        results.append(message)
    return list(reversed(results))


class BrokerPolicy:
    async def respond(self, state: AgentState, context: AgentContext) -> GuidedReply:
        memory: dict[str, Any] = dict(state.get("guided") or {})
        messages = list(state.get("messages", []))
        last = messages[-1] if messages else None
        if isinstance(last, ToolMessage):
            return GuidedReply(
                self._after_tools(_trailing_tool_messages(messages), memory, context), memory
            )
        text = str(last.content) if isinstance(last, HumanMessage) else ""
        memory.pop("task", None)
        draft = memory.get("draft")
        if draft is not None:
            return GuidedReply(await self._continue_draft(text, draft, memory, context), memory)
        return GuidedReply(await self._request(text, memory, context), memory)

    async def _request(self, text: str, memory: dict[str, Any], context: AgentContext) -> AIMessage:
        reference = _REFERENCE.search(text)
        if reference:
            application_id = await self._find(reference.group(0).upper(), context)
            if application_id is None:
                return say(f"I can't find {reference.group(0).upper()} among your clients' files.")
            return call_tool("get_application", {"application_id": application_id})
        if _COMMISSION.search(text):
            return self._commission(text, memory)
        if _EXPIRING.search(text):
            within_days = parse_within_days(text) or 7
            return call_tool("list_expiring_offers", {"within_days": min(within_days, 90)})
        if _START.search(text):
            return await self._start(text, memory)
        described = self._described_file(text, memory)
        if described is not None:
            return described
        if _LIST.search(text):
            return call_tool("list_applications", {"limit": 20})
        return say(HELP)

    # Start an application for a client: the request may come in pieces over several turns
    # ("start an application for my client" → "which client?" → "jane@example.com" → "what
    # loan?" …), is kept in memory as a draft, and runs only after the broker confirms it.

    async def _start(self, text: str, memory: dict[str, Any]) -> AIMessage:
        draft: dict[str, Any] = {}
        await self._fill_draft(text, draft)
        memory["draft"] = draft
        return self._next_for_draft(draft, memory)

    async def _fill_draft(self, text: str, draft: dict[str, Any]) -> None:
        email = parse_email(text)
        if email is not None:
            draft["email"] = email
        # The address is left out so that digits in it are never read as the amount.
        rest = re.sub(re.escape(email), " ", text, flags=re.I) if email else text
        product = await understand(
            rest, list(requirements().product_types), products=True, similarity=False
        )
        if product.code is not None:
            draft["product_type"] = product.code
        amount = parse_amount(rest)
        if amount is not None:
            draft["amount"] = str(amount)
        months = parse_term_months(rest)
        if months is not None:
            draft["term_months"] = months

    def _next_for_draft(self, draft: dict[str, Any], memory: dict[str, Any]) -> AIMessage:
        if "email" not in draft:
            return say(
                "Which client is it for? I need the client's e-mail address (e.g. "
                '"client@example.com"), or say "cancel".'
            )
        if "product_type" not in draft:
            menu = "; ".join(
                f"{i}. {option_label(code, 'en', product=True)}"
                for i, code in enumerate(requirements().product_types, start=1)
            )
            draft["awaiting"] = "product_type"
            return say(f"What kind of loan is it? {menu}")
        if "client_id" not in draft:
            memory["task"] = {"kind": "start", "email": draft["email"]}
            return call_tool("find_client", {"email": draft["email"]})
        # Starting an application on a client's behalf is asked as an approval by the tool
        # itself (whose, which loan, the amounts): one question, the same in every mode.
        memory.pop("draft", None)
        memory["task"] = {
            "kind": "start",
            "email": draft["email"],
            "client_name": draft.get("client_name"),
        }
        arguments: dict[str, Any] = {
            key: draft[key] for key in ("product_type", "amount", "term_months") if key in draft
        }
        return call_tool("start_application", {**arguments, "borrower_user_id": draft["client_id"]})

    async def _continue_draft(
        self, text: str, draft: dict[str, Any], memory: dict[str, Any], context: AgentContext
    ) -> AIMessage:
        if _CANCEL.search(text):
            memory.pop("draft", None)
            return say("Cancelled: I haven't started anything.")
        before = {k: v for k, v in draft.items() if k != "awaiting"}
        if draft.get("awaiting") == "product_type":
            product = await understand(text, list(requirements().product_types), products=True)
            if product.code is not None:
                draft["product_type"] = product.code
        await self._fill_draft(text, draft)
        if draft.get("email") != before.get("email"):
            draft.pop("client_id", None)
        if {k: v for k, v in draft.items() if k != "awaiting"} == before:
            memory.pop("draft", None)  # not part of the request: a new one
            return await self._request(text, memory, context)
        return self._next_for_draft(draft, memory)

    def _after_find_client(
        self, result: ToolMessage, task: dict[str, Any], memory: dict[str, Any]
    ) -> AIMessage:
        if result.status == "error":
            memory.pop("draft", None)
            # The same words whether no such account exists or it belongs to someone else.
            return say(
                f"{task['email']} is not one of your clients, so I can't start an application "
                "for them. Check the address, or ask them to sign up through your referral link."
            )
        data = result.artifact if isinstance(result.artifact, dict) else {}
        draft = memory.get("draft") or {}
        draft["client_id"] = data["id"]
        draft["client_name"] = data.get("full_name") or task["email"]
        memory["draft"] = draft
        return self._next_for_draft(draft, memory)

    def _after_start(self, data: dict[str, Any], task: dict[str, Any]) -> AIMessage:
        product = str(data.get("product_type", "")).replace("_", " ")
        loan = f"{'an' if product[:1] in 'aeiou' else 'a'} {product} loan"
        if data.get("amount") is not None:
            loan += f" of {_money(data['amount'])}"
        if data.get("term_months") is not None:
            loan += f" over {data['term_months']} months"
        text = f"I started {data.get('reference')} for {task.get('client_name') or task['email']}: {loan}."
        missing = [m["label"] for m in data.get("missing_fields") or []]
        text += (
            " Still missing: " + ", ".join(missing) + "."
            if missing
            else " Nothing is missing for submission."
        )
        return say(text)

    # Files by description: "my newest file", "Riley's application", "the auto loan for Jane".

    def _described_file(self, text: str, memory: dict[str, Any]) -> AIMessage | None:
        if not _FILE_WORDS.search(text):
            return None
        arguments: dict[str, Any] = {"limit": 5}
        whose = _WHOSE.search(text)
        if whose:
            arguments["search"] = whose.group(1) or whose.group(3)
        product = re.search(
            r"\b(personal|auto|car|mortgage|home equity|business|student|debt consolidation)\b",
            text,
            re.I,
        )
        if product:
            code = {
                "car": "auto",
                "student": "student_refinance",
                "home equity": "home_equity",
                "debt consolidation": "debt_consolidation",
            }.get(product.group(1).lower(), product.group(1).lower())
            arguments["product_types"] = [code]
        newest, oldest = _NEWEST.search(text), _OLDEST.search(text)
        if not (whose or newest or oldest):
            return None
        if newest or oldest:
            arguments["order"] = "newest" if newest else "oldest"
        memory["task"] = {"kind": "describe", "one": bool(newest or oldest), "what": text.strip()}
        return call_tool("list_applications", arguments)

    def _after_describe(self, data: dict[str, Any], task: dict[str, Any]) -> AIMessage:
        items = data.get("items", [])
        if not items:
            return say("I can't find a file like that among your clients' applications.")
        if task.get("one") or len(items) == 1:
            return call_tool("get_application", {"application_id": items[0]["id"]})
        lines = [
            f"- {item['reference']}: {item.get('borrower_name') or ''}, "
            f"{str(item['product_type']).replace('_', ' ')}, {str(item['status']).replace('_', ' ')}"
            for item in items
        ]
        return say("Several files match; which one? Say its reference.\n" + "\n".join(lines))

    # Commission for a period: the summary, the entries, then the biggest lines explained.

    def _commission(self, text: str, memory: dict[str, Any]) -> AIMessage:
        period = parse_period(text, datetime.now(UTC).date())
        arguments: dict[str, Any] = {}
        if period is not None:
            arguments = {
                "period_start": period.start.isoformat(),
                "period_end": period.end.isoformat(),
            }
        memory["task"] = {"kind": "commission", "period": arguments}
        return call_tool("get_commission_summary", arguments)

    def _after_summary(self, data: dict[str, Any], task: dict[str, Any]) -> AIMessage:
        task["summary"] = data
        task["offset"], task["lines"], task["top"] = 0, 0, []
        return self._entries_page(task)

    def _entries_page(self, task: dict[str, Any]) -> AIMessage:
        return call_tool(
            "list_commission_entries",
            {**task["period"], "limit": _PAGE, "offset": task["offset"]},
        )

    def _after_entries(self, data: dict[str, Any], task: dict[str, Any]) -> AIMessage:
        """Keep the biggest lines (payouts aside) page by page, then explain them."""
        items = data.get("items", [])
        lines = [
            [item["id"], str(item["total_amount"])] for item in items if item["kind"] != "payout"
        ]
        task["lines"] += len(lines)
        top = sorted(task["top"] + lines, key=lambda line: (-abs(Decimal(line[1])), line[0]))
        task["top"] = top[:EXPLAINED_LINES]
        if len(items) == _PAGE:
            task["offset"] += _PAGE
            return self._entries_page(task)
        if not task["top"]:
            return self._commission_answer(task, [])
        return AIMessage(
            content="",
            id=f"guided-{uuid.uuid4().hex}",
            tool_calls=[
                {
                    "name": "explain_commission",
                    "args": {"entry_id": entry_id},
                    "id": f"call-{uuid.uuid4().hex[:24]}",
                    "type": "tool_call",
                }
                for entry_id, _ in task["top"]
            ],
        )

    def _commission_answer(
        self, task: dict[str, Any], explanations: list[dict[str, Any]], you: str = ""
    ) -> AIMessage:
        summary = task.get("summary") or {}
        period = task.get("period") or {}
        words = _period_words(period.get("period_start"), period.get("period_end"))
        payees = summary.get("payees") or []
        if not payees:
            return say(f"You have no commission {words}.")
        parts: list[str] = []
        for payee in payees:
            currency = payee["currency"]
            amounts = {key: Decimal(str(payee[key])) for key in _SUMMARY_FIELDS}
            earned = amounts["accrued"] + amounts["clawed_back"] + amounts["adjusted"]
            who = "You" if payee["payee_id"] == you else payee["payee_name"]
            breakdown = [f"{_money(amounts['accrued'], currency)} accrued"]
            if amounts["clawed_back"]:
                breakdown.append(f"{_money(amounts['clawed_back'], currency)} clawed back")
            if amounts["adjusted"]:
                breakdown.append(f"{_money(amounts['adjusted'], currency)} in adjustments")
            if amounts["paid"]:  # payouts are negative entries
                breakdown.append(f"{_money(-amounts['paid'], currency)} paid out {words}")
            parts.append(
                f"{who} earned {_money(earned, currency)} {words}: " + ", ".join(breakdown) + "."
            )
        count = summary.get("entries", 0)
        parts.append(f"That is {count} ledger {'entry' if count == 1 else 'entries'}.")
        if explanations:
            lines = int(task.get("lines", len(explanations)))
            parts.append(
                "Why, biggest first:"
                if lines <= len(explanations)
                else f"Why, for the {len(explanations)} biggest of {lines} lines:"
            )
            for number, explanation in enumerate(explanations, start=1):
                entry = explanation["entry"]
                parts.append(
                    f"{number}. {_money(entry['total_amount'], entry['currency'])} "
                    f"({entry['kind']}, {entry['effective_on']}): {explanation['text']}"
                )
        return say("\n".join(parts))

    # Tool results.

    def _after_tools(
        self, results: list[ToolMessage], memory: dict[str, Any], context: AgentContext
    ) -> AIMessage:
        task: dict[str, Any] = dict(memory.get("task") or {})
        memory["task"] = task
        result = results[-1]
        data = result.artifact if isinstance(result.artifact, dict) else {}
        if result.name == "find_client" and task.get("kind") == "start":
            memory.pop("task", None)
            return self._after_find_client(result, task, memory)
        failed = [item for item in results if item.status == "error"]
        if failed:
            memory.pop("task", None)
            kind, message = tool_error(failed[0])
            if kind == "NotApproved":
                return say("Understood: nothing was done.")
            return say(f"That didn't work: {message}")
        if result.name == "start_application" and task.get("kind") == "start":
            memory.pop("task", None)
            return self._after_start(data, task)
        if result.name == "get_commission_summary" and task.get("kind") == "commission":
            return self._after_summary(data, task)
        if result.name == "list_commission_entries" and task.get("kind") == "commission":
            return self._after_entries(data, task)
        if result.name == "explain_commission" and task.get("kind") == "commission":
            memory.pop("task", None)
            explanations = [item.artifact for item in results if isinstance(item.artifact, dict)]
            return self._commission_answer(task, explanations, str(context.actor.user_id))
        if result.name == "list_applications" and task.get("kind") == "describe":
            memory.pop("task", None)
            return self._after_describe(data, task)
        if result.name == "list_expiring_offers":
            return self._expiring(data)
        if result.name == "get_application":
            missing = [m["label"] for m in data.get("missing_fields") or []]
            status = str(data.get("status", "")).replace("_", " ")
            text = f"{data.get('reference')} is {status}."
            text += (
                " Missing: " + ", ".join(missing) + "."
                if missing
                else " Nothing is missing for submission."
            )
            return say(text)
        return self._pipeline(data)

    def _expiring(self, data: dict[str, Any]) -> AIMessage:
        days = data.get("within_days", 7)
        items = data.get("items", [])
        if not items:
            return say(f"None of your clients has an offer expiring in the next {days} days.")
        lines = [
            f"- {item['borrower_name']}, {item['application_reference']}: "
            f"{item['lender_name']}, {Decimal(str(item['apr'])):.2f}% APR, "
            f"{_money(item['monthly_payment'])}/month for {item['term_months']} months "
            f"({item['kind']}), expires "
            f"{datetime.fromisoformat(item['expires_at']).astimezone(UTC):%Y-%m-%d %H:%M} UTC"
            for item in items
        ]
        return say(f"Offers expiring in the next {days} days:\n" + "\n".join(lines))

    def _pipeline(self, data: dict[str, Any]) -> AIMessage:
        items = data.get("items", [])
        if not items:
            return say("You have no client applications yet.")
        lines = [
            f"{item['reference']}: {str(item['status']).replace('_', ' ')}, "
            f"{item['product_type'].replace('_', ' ')}"
            + (f", {_money(item['amount'])}" if item.get("amount") else "")
            for item in items
        ]
        return say("Your clients' applications:\n" + "\n".join(lines))

    async def _find(self, reference: str, context: AgentContext) -> str | None:
        offset = 0
        while True:
            try:
                page = await context.registry.execute(
                    "list_applications", {"limit": 100, "offset": offset}, context.tools
                )
            except ToolError:
                return None
            items = page.model_dump(mode="json")["items"]
            for item in items:
                if item["reference"] == reference:
                    return str(item["id"])
            if len(items) < 100:
                return None
            offset += 100
