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
from agents.guided.parser import (
    LENDING_PRODUCT_TYPES,
    parse_amount,
    parse_email,
    parse_period,
    parse_product_type,
    parse_term_months,
    parse_within_days,
)
from agents.guided.policy import GuidedReply, call_tool, say
from tools.base import ToolError

_REFERENCE = re.compile(r"\bOMF-\d{4}-\d{6}\b", re.I)
_LIST = re.compile(r"\b(list|pipeline|clients?|applications|files)\b", re.I)
_START = re.compile(r"\b(start|open|create|begin|new)\b.*\b(application|loan|file)\b", re.I)
_EXPIRING = re.compile(r"\bexpir", re.I)
_COMMISSION = re.compile(r"\bcommissions?\b|\b(earn|earned|earnings|payouts?)\b", re.I)
_SUMMARY_FIELDS = ("accrued", "clawed_back", "adjusted", "paid")
_PAGE = 100  # commission entries read per call (the tool's maximum)
# How many of the period's biggest commission lines are explained step by step.
EXPLAINED_LINES = 3
HELP = (
    "I'm in guided mode, so I understand a few requests:\n"
    '- "start an application for my client (client@example.com), $25k auto, 60 months"\n'
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
            return self._start(text, memory)
        if _LIST.search(text):
            return call_tool("list_applications", {"limit": 20})
        return say(HELP)

    # Start an application for a client named by e-mail.

    def _start(self, text: str, memory: dict[str, Any]) -> AIMessage:
        email = parse_email(text)
        product = parse_product_type(text)
        if email is None or product is None:
            return say(
                "To start an application I need the client's e-mail address and the kind of "
                'loan, e.g. "start an application for my client (client@example.com), $25k '
                'auto, 60 months".'
            )
        arguments: dict[str, Any] = {"product_type": LENDING_PRODUCT_TYPES[product]}
        # The address is left out so that digits in it are never read as the amount.
        amount = parse_amount(re.sub(re.escape(email), " ", text, flags=re.I))
        if amount is not None:
            arguments["amount"] = str(amount)
        months = parse_term_months(text)
        if months is not None:
            arguments["term_months"] = months
        memory["task"] = {"kind": "start", "email": email, "arguments": arguments}
        return call_tool("find_client", {"email": email})

    def _after_find_client(self, result: ToolMessage, task: dict[str, Any]) -> AIMessage:
        if result.status == "error":
            # The same words whether no such account exists or it belongs to someone else.
            return say(
                f"{task['email']} is not one of your clients, so I can't start an application "
                "for them. Check the address, or ask them to sign up through your referral link."
            )
        data = result.artifact if isinstance(result.artifact, dict) else {}
        task["client_name"] = data.get("full_name")
        return call_tool("start_application", {**task["arguments"], "borrower_user_id": data["id"]})

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
            return self._after_find_client(result, task)
        failed = [item for item in results if item.status == "error"]
        if failed:
            memory.pop("task", None)
            return say(f"That didn't work: {failed[0].content}")
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
