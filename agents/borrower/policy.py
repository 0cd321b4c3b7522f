"""Guided mode for borrowers: the intake as a deterministic conversation over the same tools.

It asks for one missing field at a time (the product's required fields are data), calls
update tools with what it parsed, asks for credit-check consent, gets offers, lets the borrower
pick a lender to submit to and accept a firm offer; submit and accept pause for approval like
any tool that cannot be undone. It never guesses: an answer it cannot read is asked again.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agents.core.context import AgentContext
from agents.core.state import AgentState
from agents.guided.answers import answer, choice, choices_for
from agents.guided.parser import (
    LENDING_PRODUCT_TYPES,
    parse_amount,
    parse_menu_choice,
    parse_product_type,
    parse_term_months,
    parse_yes_no,
)
from agents.guided.policy import GuidedReply, call_tool, say
from lending.applications.requirements import requirements
from tools.base import ToolError

GUIDED_NOTE = "(Guided mode: I follow a fixed set of questions; answer in a few words.)"
_PRODUCT_WORDS = {product.value: name for product, name in LENDING_PRODUCT_TYPES.items()}
_STATUS = re.compile(r"\b(status|progress|where is|update on|what'?s happening)\b|进度|状态", re.I)
_OFFERS = re.compile(r"\b(offers?|quotes?|rates?)\b|报价", re.I)
_INJECTION = re.compile(
    r"ignore (all |your |previous )*instructions|approve (my|the) (loan|application)|"
    r"you are now|system prompt|act as (an? )?(admin|administrator)|another (borrower|user)",
    re.I,
)


# A document the web app uploaded with the message, not yet on an application (api/routes/chat).
# Only the reference lines the API writes ("- document_id=..."), never text inside a fenced file
# name that imitates one (the tool refuses another person's document anyway).
_DOCUMENT_REFERENCE = re.compile(
    r"^- document_id=([0-9a-f-]{36}) [^\n]*application_id=none\b", re.MULTILINE
)


def _attach(document_ids: list[str], application_id: str, text: str = "") -> AIMessage:
    """One attach_document call per uploaded document, as a model would make them."""
    return AIMessage(
        content=text,
        id=f"guided-{uuid.uuid4().hex}",
        tool_calls=[
            {
                "name": "attach_document",
                "args": {"document_id": document_id, "application_id": application_id},
                "id": f"call-{uuid.uuid4().hex[:24]}",
                "type": "tool_call",
            }
            for document_id in document_ids
        ],
    )


def _money(value: Any) -> str:
    return f"${Decimal(str(value)):,.2f}"


def _error_message(message: ToolMessage) -> str:
    # The tools node keeps the error as an artifact; the content the model reads is fenced.
    body = message.artifact if isinstance(message.artifact, dict) else {}
    return str(body.get("message") or body.get("error") or "That did not work.")


class BorrowerIntakePolicy:
    async def respond(self, state: AgentState, context: AgentContext) -> GuidedReply:
        memory: dict[str, Any] = dict(state.get("guided") or {})
        messages = state.get("messages", [])
        last = messages[-1] if messages else None
        if isinstance(last, ToolMessage):
            results = []
            for message in reversed(messages):
                if not isinstance(message, ToolMessage):
                    break
                results.append(message)
            reply = await self._after_tools(list(reversed(results)), memory, context)
        else:
            text = str(last.content) if isinstance(last, HumanMessage) else ""
            reply = await self._after_message(text, memory, context)
        return GuidedReply(reply, memory)

    # A person wrote something.

    async def _after_message(
        self, text: str, memory: dict[str, Any], context: AgentContext
    ) -> AIMessage:
        application_id = memory.get("application_id")
        uploaded = _DOCUMENT_REFERENCE.findall(text)
        if uploaded:
            pending = [*memory.get("pending_documents", []), *uploaded]
            memory["pending_documents"] = list(dict.fromkeys(pending))
            if application_id:
                return _attach(memory.pop("pending_documents"), application_id)
            text = text.split("[Attached documents", 1)[0]
        if _INJECTION.search(text):
            return say(
                "I can't do that. Lenders make every credit decision, and I only act on your own "
                "application, within what you've asked for. " + self._reminder(memory)
            )
        if application_id and _STATUS.search(text):
            return call_tool("get_application", {"application_id": application_id})
        awaiting = memory.get("awaiting")
        if application_id is None:
            return self._start(text, memory)
        if awaiting == "consent":
            consent = parse_yes_no(text)
            if consent is None:
                return say("Please answer yes or no: " + self._consent_question())
            if not consent:
                return say(
                    "Understood: without your consent I can't prequalify you or show offers. "
                    "Say yes whenever you're ready."
                )
            return call_tool("record_consent", {"kind": "credit_check", "granted": True})
        if awaiting in ("lender_choice", "offer_choice"):
            return self._choose(text, memory)
        if awaiting is None and _OFFERS.search(text):
            return call_tool("get_offers", {"application_id": application_id})
        if isinstance(awaiting, str):
            purposes = tuple(memory.get("purposes", ()))
            arguments = answer(awaiting, text, purposes)
            if arguments is None:
                return say(f"Sorry, I couldn't read that. {memory.get('question', '')}".strip())
            return self._update(awaiting, arguments, text, memory)
        return await self._next_step(memory, context)

    def _start(self, text: str, memory: dict[str, Any]) -> AIMessage:
        labels = {key: rules.label for key, rules in requirements().product_types.items()}
        product = parse_product_type(text)
        product_type = _PRODUCT_WORDS.get(product.value) if product else None
        if product_type is None and memory.get("awaiting") == "product_type":
            product_type = choice(text, tuple(labels))
        if product_type is None:
            memory["awaiting"] = "product_type"
            menu = "; ".join(f"{i}. {label}" for i, label in enumerate(labels.values(), start=1))
            greeting = (
                "" if memory.get("greeted") else "Hello! I'm Omni, Omnifin's loan assistant. "
            )
            memory["greeted"] = True
            return say(f"{greeting}{GUIDED_NOTE} What kind of loan are you looking for? {menu}")
        args: dict[str, Any] = {"product_type": product_type}
        amount = parse_amount(text)
        if amount is not None:
            args["amount"] = str(amount)
        months = parse_term_months(text)
        if months is not None:
            args["term_months"] = months
        memory["product_type"] = product_type
        memory["purposes"] = list(requirements().product_types[product_type].purposes)  # type: ignore[index]
        memory["awaiting"] = None
        return call_tool("start_application", args)

    def _update(
        self, field: str, arguments: dict[str, Any], text: str, memory: dict[str, Any]
    ) -> AIMessage:
        spec = requirements().fields.get(field)
        application_id = memory["application_id"]
        if spec is not None and spec.source == "profile":
            return call_tool("update_borrower_profile", arguments)
        if field == "amount":
            months = parse_term_months(text)
            if months is not None:
                arguments["term_months"] = months
        return call_tool("update_application", {"application_id": application_id, **arguments})

    def _choose(self, text: str, memory: dict[str, Any]) -> AIMessage:
        options: list[dict[str, Any]] = memory.get("options", [])
        names = [option["label"] for option in options]
        index = parse_menu_choice(text, names)
        if index is None:
            return say(f"Which one? Answer with its number, 1 to {len(options)}.")
        picked = options[index]
        if memory["awaiting"] == "lender_choice":
            return call_tool(
                "submit_application",
                {"application_id": memory["application_id"], "lender_ids": [picked["lender_id"]]},
            )
        return call_tool("accept_offer", {"offer_id": picked["offer_id"]})

    # Tools answered.

    async def _after_tools(
        self, results: list[ToolMessage], memory: dict[str, Any], context: AgentContext
    ) -> AIMessage:
        replies: list[str] = []
        for result in results:
            data = result.artifact if isinstance(result.artifact, dict) else {}
            failed = result.status == "error"
            name = result.name or ""
            if failed:
                message = _error_message(result)
                if "NotApproved" in str(result.content):
                    memory["awaiting"] = memory.get("last_choice_kind")
                    return say("Understood: nothing was done. " + self._reminder(memory))
                if name == "get_offers" and "consent" in message.lower():
                    memory["awaiting"] = "consent"
                    return say(self._consent_question())
                question = memory.get("question", "")
                return say(f"That didn't work: {message} {question}".strip())
            match name:
                case "start_application":
                    memory["application_id"] = data.get("id")
                    started = f"I've started your application {data.get('reference')}."
                    if memory.get("pending_documents"):
                        documents = memory.pop("pending_documents")
                        return _attach(documents, str(data.get("id")), started)
                    replies.append(started)
                case "attach_document":
                    replies.append(
                        f"{data.get('filename')} is already on your application."
                        if data.get("duplicate")
                        else f"I've added {data.get('filename')} to your application; "
                        "it is being read now."
                    )
                case "record_consent":
                    memory["consented"] = True
                    return call_tool("get_offers", {"application_id": memory["application_id"]})
                case "get_offers":
                    return say(self._present_offers(data, memory))
                case "submit_application":
                    memory["awaiting"] = None
                    return say(
                        f"Done: application {data.get('reference')} was sent to the lender. "
                        "The lender will review it and make a firm decision; ask me for the "
                        "status any time."
                    )
                case "accept_offer":
                    memory["awaiting"] = None
                    return say(
                        "Congratulations: you accepted the offer. The lender will contact you "
                        "to finish the loan; the other offers are now declined."
                    )
                case "get_application":
                    return say(self._status(data))
        step = await self._next_step(memory, context)
        if replies and isinstance(step.content, str):
            step.content = " ".join([*replies, step.content]).strip()
        return step

    async def _next_step(self, memory: dict[str, Any], context: AgentContext) -> AIMessage:
        """Ask for the first missing field, then consent, then get the offers."""
        application_id = memory["application_id"]
        try:
            output = await context.registry.execute(
                "get_application", {"application_id": application_id}, context.tools
            )
        except ToolError as error:
            return say(f"I couldn't read your application: {error.message}")
        application = output.model_dump(mode="json")
        missing = application.get("missing_fields") or []
        if missing:
            field = missing[0]
            memory["awaiting"] = field["name"]
            question = field["question"]
            options = choices_for(field["name"], tuple(memory.get("purposes", ())))
            if options:
                question += " " + "; ".join(
                    f"{i}. {option.replace('_', ' ')}" for i, option in enumerate(options, start=1)
                )
            memory["question"] = question
            return say(question)
        if application.get("status") != "draft":
            return say(self._status(application))
        if not memory.get("consented"):
            memory["awaiting"] = "consent"
            return say(self._consent_question())
        return call_tool("get_offers", {"application_id": application_id})

    def _consent_question(self) -> str:
        consent = requirements().consent_texts
        text = next(iter(consent.values())).text
        for kind, item in consent.items():
            if kind.value == "credit_check":
                text = item.text
        return f'To show you offers I need your consent: "{text}" Do you agree? (yes or no)'

    def _present_offers(self, data: dict[str, Any], memory: dict[str, Any]) -> str:
        offers = [o for o in data.get("offers", []) if not o.get("expired")]
        if not offers:
            reasons = {
                reason["message"]
                for product in data.get("excluded", [])
                for reason in product.get("reasons", [])
            }
            memory["awaiting"] = None
            why = (" Main reasons: " + "; ".join(sorted(reasons)[:3]) + ".") if reasons else ""
            return "No lender could make an offer for this application right now." + why
        firm = [o for o in offers if o.get("kind") == "firm" and o.get("status") != "declined"]
        shown = firm or offers
        kind = "offer_choice" if firm else "lender_choice"
        memory["awaiting"] = kind
        memory["last_choice_kind"] = kind
        memory["options"] = [
            {"label": o["lender_name"], "lender_id": o["lender_id"], "offer_id": o["id"]}
            for o in shown
        ]
        lines = []
        for number, offer in enumerate(shown, start=1):
            picks = offer.get("anti_steering") or []
            marks = f" [{', '.join(p.replace('_', ' ') for p in picks)}]" if picks else ""
            lines.append(
                f"{number}. {offer['lender_name']}: {_money(offer['amount'])} over "
                f"{offer['term_months']} months, APR {offer['apr']}% (note rate "
                f"{offer['note_rate']}%), {_money(offer['monthly_payment'])} a month, total cost "
                f"{_money(offer['total_cost'])}, fees {_money(offer['points_and_fees'])}{marks}"
            )
        if firm:
            ask = "These are firm offers. Which one would you like to accept? (number)"
        else:
            ask = (
                "These are prequalified estimates (a soft check; your score is not affected). "
                "Which lender would you like to apply to? (number)"
            )
        return "Here are your offers:\n" + "\n".join(lines) + "\n" + ask

    def _status(self, application: dict[str, Any]) -> str:
        status = str(application.get("status", "unknown")).replace("_", " ")
        missing = [m["label"] for m in application.get("missing_fields") or []]
        text = f"Application {application.get('reference')} is {status}."
        if missing:
            text += " Still needed: " + ", ".join(missing) + "."
        return text

    def _reminder(self, memory: dict[str, Any]) -> str:
        question = memory.get("question")
        return str(question) if question else "How can I help with your application?"
