"""Guided mode for borrowers: the intake as a deterministic conversation over the same tools.

It asks for the product's missing fields a few at a time (the fields are data; related ones are
asked together), takes several answers from one message, understands options by meaning, accepts
corrections, "go back", "what do you still need?", "why?" and "talk to a person" at any point,
answers questions from the knowledge base and then resumes, asks for credit-check consent, gets
offers (or says why there are none and what would work), lets the borrower pick a lender to
submit to and accept a firm offer; submit and accept pause for approval like any tool that
cannot be undone. It never guesses: what it cannot read is asked again, or offered as
"Did you mean …?". Every sentence exists in English and Chinese (agents/guided/texts.py).
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agents.core.context import AgentContext
from agents.core.state import AgentState
from agents.guided import texts
from agents.guided.answers import answer, choices_for
from agents.guided.hostile import BORROWER_INSTRUCTIONS
from agents.guided.meaning import Reading, pick_by_position, understand
from agents.guided.notices import asks_for_news, news_reply
from agents.guided.parser import parse_yes_no
from agents.guided.policy import GuidedReply, call_tool, say, tool_error
from agents.guided.privacy import (
    GUIDED_REASON,
    Intent,
    copy_reply,
    privacy_text,
    read_privacy_request,
)
from agents.guided.questions import (
    answer_from_knowledge,
    asks_why,
    is_question,
    wants_back,
    wants_person,
    wants_remaining,
)
from agents.guided.slots import extract, is_correction, lone_amount, name_answer
from agents.guided.texts import (
    Lang,
    field_label,
    field_question,
    menu,
    option_label,
    say_error,
    say_text,
    status_words,
)
from agents.guided.vocabulary import vocabulary
from agents.guided.yesno import only_answer_words
from lending.applications.requirements import requirements
from lending.audit.service import audit_service
from lending.db import transaction
from tools.base import ToolError

_STATUS = re.compile(r"\b(status|progress|where is|update on|what'?s happening)\b|进度|状态", re.I)
_OFFERS = re.compile(r"\b(offers?|quotes?)\b|报价", re.I)
# Applications a new conversation can take up ("what offers do I have?").
_OPEN_STATUSES = ["draft", "submitted", "under_review", "approved", "referred", "offer_accepted"]
_CONTINUE = re.compile(
    r"\b(continue|finish|resume|complete|carry on|pick up|my application)\b|继续|完成|接着|我的申请",
    re.I,
)
# "A new one" instead of a draft the person already has.
_NEW_APPLICATION = re.compile(
    r"\b(new|another|fresh|separate|start over|from scratch)\b|新申请|新的|另一|重新开始|从头",
    re.I,
)
_CHEAPEST = re.compile(r"\b(cheapest|lowest|best rate|lowest apr|lowest rate)\b|最便宜|最低", re.I)
_LOWEST_PAYMENT = re.compile(
    r"\b(lowest|smallest|cheapest|least)\b[^.?]{0,20}\b(monthly|payments?|a month)\b|月供最低|每月.{0,4}最少",
    re.I,
)
# Words that make a question a choice ("can I go with the first one?").
_CHOICE_VERB = re.compile(
    r"\b(go with|take|choose|pick|apply (to|with)|select|i'?ll have|let'?s do|want)\b|选|我要|申请",
    re.I,
)
_CHOICE_FIELDS = {"purpose", "employment_status", "occupancy", "highest_degree"}
_TEXT_SLOTS = {"vehicle_make", "vehicle_model", "business_name"}
_MARKS_ZH = {
    "lowest_rate": "最低利率",
    "lowest_rate_without_risky_features": "无风险条款的最低利率",
    "lowest_points_and_fees": "最低点数和费用",
}

# A document the web app uploaded with the message, not yet on an application (api/routes/chat).
# Only the reference lines the API writes ("- document_id=..."), never text inside a fenced file
# name that imitates one (the tool refuses another person's document anyway).
_DOCUMENT_REFERENCE = re.compile(
    r"^- document_id=([0-9a-f-]{36}) [^\n]*application_id=none\b", re.MULTILINE
)


def _attach(document_ids: list[str], application_id: str, text: str = "") -> AIMessage:
    """One attach_document call per uploaded document, as a model would make them."""
    return _calls(
        [
            ("attach_document", {"document_id": d, "application_id": application_id})
            for d in document_ids
        ],
        text,
    )


def _calls(calls: list[tuple[str, dict[str, Any]]], text: str = "") -> AIMessage:
    """One reply calling several tools in order, as a model's parallel tool calls look."""
    return AIMessage(
        content=text,
        id=f"guided-{uuid.uuid4().hex}",
        tool_calls=[
            {"name": name, "args": args, "id": f"call-{uuid.uuid4().hex[:24]}", "type": "tool_call"}
            for name, args in calls
        ],
    )


def _span(low: int, high: int, lang: Lang) -> str:
    if low == high:
        return f"{low} 个月" if lang == "zh" else f"{low} months"
    return f"{low} 到 {high} 个月" if lang == "zh" else f"{low} to {high} months"


def _money(value: Any) -> str:
    return f"${Decimal(str(value)):,.2f}"


def _error_message(message: ToolMessage) -> str:
    return tool_error(message)[1]


def _error_body(message: ToolMessage) -> dict[str, Any]:
    return message.artifact if isinstance(message.artifact, dict) else {}


def _product_words(product_type: str, lang: Lang) -> str:
    """The kind of loan inside a sentence ("a draft auto loan application")."""
    label = option_label(product_type, lang, product=True)
    return label if lang == "zh" else label[:1].lower() + label[1:]


def _product_fields(product_type: str | None) -> tuple[str, ...]:
    if product_type is None:
        return ()
    rules = requirements().product_types.get(product_type)  # type: ignore[call-overload]
    return tuple(rules.required) if rules is not None else ()


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
        switched = texts.follow(text, memory, context.language_setting)
        lang: Lang = memory["lang"]
        memory.pop("notes", None)
        if switched and texts.only_a_language_request(text):
            return say(
                say_text("switched", lang) + " " + await self._current_question(memory, context)
            )
        if BORROWER_INSTRUCTIONS.search(text):
            return say(
                say_text("injection", lang) + " " + await self._current_question(memory, context)
            )
        privacy_request = read_privacy_request(text)
        if privacy_request is not None:
            return await self._privacy(privacy_request, memory, context)
        if wants_person(text):
            return say(
                await self._handoff(memory, context)
                + " "
                + await self._current_question(memory, context)
            )
        if asks_for_news(text):
            # The person's own unread notifications; the ones read out are marked read.
            return call_tool(
                "check_my_notifications",
                {"application_id": application_id} if application_id else {},
            )
        if application_id and _STATUS.search(text) and not is_correction(text):
            return call_tool("get_application", {"application_id": application_id})
        awaiting = memory.get("awaiting")
        amount_check = memory.pop("amount_check", None)
        memory.pop("amount_declined", None)
        if amount_check is not None and application_id:
            if parse_yes_no(text) is True:
                return self._updates({"amount": {"amount": amount_check}}, memory, correction=False)
            # Anything but a clear yes leaves the amount untaken, and the message is read on its
            # own ("no, that's my income"); if nothing in it is usable, the reply says so.
            memory["amount_declined"] = True
        suggestion = memory.pop("suggest", None)
        if suggestion and awaiting not in ("consent",):
            picked = await self._settle_suggestion(text, suggestion, memory)
            if picked is not None:
                return await self._apply_choice(suggestion["field"], picked, text, memory, context)
        if wants_back(text):
            return await self._go_back(memory, context)
        if wants_remaining(text):
            return say(
                await self._remaining(memory, context)
                + " "
                + await self._current_question(memory, context)
            )
        if asks_why(text) and (memory.get("asked") or awaiting == "consent"):
            return say(
                await self._why(memory, context)
                + " "
                + await self._current_question(memory, context)
            )
        if application_id is None and awaiting == "which_application":
            row = self._pick_application(text, memory)
            if row is not None:
                return await self._take_up(row, memory, context)
            if (memory.get("looked_up") or {}).get("intent") == "draft" and (
                _NEW_APPLICATION.search(text)
            ):
                # "A new one" instead of any of the drafts listed.
                memory.pop("application_rows", None)
                memory.pop("looked_up", None)
                memory["awaiting"] = None
                return await self._start(text, memory, context)
        if application_id is None and "looked_up" not in memory and not is_correction(text):
            intent = (
                "offers" if _OFFERS.search(text) else "status" if _STATUS.search(text) else None
            )
            if intent is not None:
                # A new conversation about an application they already have: find it first.
                memory["looked_up"] = {"intent": intent, "text": text}
                return call_tool("list_applications", {"statuses": _OPEN_STATUSES, "limit": 10})
            if (
                awaiting is None
                and not memory.get("greeted")
                and "drafts_checked" not in memory
                and not _NEW_APPLICATION.search(text)
            ):
                # The first message of a new conversation: a draft they (or their broker)
                # started before is continued rather than a second application begun.
                memory["drafts_checked"] = True
                memory["looked_up"] = {"intent": "draft", "text": text}
                return call_tool("list_applications", {"statuses": ["draft"], "limit": 10})
        if application_id is None:
            return await self._start(text, memory, context)
        if awaiting == "consent":
            return await self._consent(text, memory, context)
        if awaiting in ("lender_choice", "offer_choice"):
            chosen = self._choose(text, memory)
            if chosen is not None:
                return chosen
        if awaiting is None and _OFFERS.search(text) and not is_question(text):
            return call_tool("get_offers", {"application_id": application_id})
        if awaiting == "no_offers":
            other = await understand(
                text, list(requirements().product_types), products=True, similarity=False
            )
            if (
                other.code is not None
                and other.code != memory.get("product_type")
                and not is_correction(text)
            ):
                return self._start_product(other.code, text, memory, carry=True)
        return await self._fields(text, memory, context)

    async def _fields(self, text: str, memory: dict[str, Any], context: AgentContext) -> AIMessage:
        lang: Lang = memory["lang"]
        fields = _product_fields(memory.get("product_type"))
        asked: list[str] = [f for f in memory.get("asked", []) if f in fields]
        if memory.get("awaiting") != "fields":
            asked = []
        purposes = tuple(memory.get("purposes", ()))
        question_like = is_question(text)
        found = extract(text, fields=fields, asked=asked, purposes=purposes)
        values = dict(found.values)
        # Menus in the message: the purpose in the words of the loan ("to buy a used car").
        for field in [f for f in fields if f in _CHOICE_FIELDS and f not in values]:
            codes = choices_for(field, purposes)
            if field in asked:
                reading = await understand(text, codes, similarity=not question_like)
                if field == "purpose" and reading.code is None:
                    reading = self._purpose_fallback(text, codes, reading, memory)
            elif field == "purpose" and not question_like:
                reading = await understand(text, codes, similarity=False)
                if reading.how != "words":
                    continue
                # Not asked: "no other debts" is not the purpose "other", and a purpose given
                # already changes only when the person says they are correcting it.
                known = memory.get("missing")
                if reading.code == "other" or (
                    known is not None and field not in known and not is_correction(text)
                ):
                    continue
            else:
                continue
            if reading.code is not None:
                values[field] = self._choice_args(field, reading.code)
                if field == "purpose":
                    memory.pop("purpose_unread", None)
            elif reading.suggestions and field in asked and not values:
                memory["suggest"] = {"field": field, "codes": list(reading.suggestions)}
                return say(self._did_you_mean(reading, lang, memory))
        # The whole message as the answer to the one question asked.
        if len(asked) == 1 and asked[0] not in values and not question_like:
            field = asked[0]
            reading_args = self._whole_answer(field, text, purposes)
            if reading_args is not None:
                values[field] = reading_args
        if not values:
            lone = lone_amount(text) if "amount" in memory.get("missing", ()) else None
            if lone is not None and "amount" in fields:
                # "$15,000" while the name is asked: most likely the loan amount, but nothing
                # in it says so. Asked, not guessed; the question asked before waits.
                memory["amount_check"] = str(lone)
                return say(say_text("amount_check", lang, amount=_money(lone)))
            if memory.pop("amount_declined", False):
                return say(
                    say_text("amount_not_taken", lang)
                    + " "
                    + await self._current_question(memory, context)
                )
            stuck = memory.get("awaiting") == "no_offers"
            if stuck and not (question_like and len(text.split()) >= 3):
                return say(self._still_no_offers(memory))
            if question_like or not asked:
                return say(await self._knowledge(text, memory, context))
            return say(
                say_text("didnt_read", lang) + " " + await self._current_question(memory, context)
            )
        return self._updates(
            values,
            memory,
            correction=found.correction or self._changes_answers(values, asked, memory),
        )

    @staticmethod
    def _changes_answers(
        values: dict[str, dict[str, Any]], asked: list[str], memory: dict[str, Any]
    ) -> bool:
        """Whether the reply should say "Changed" rather than "Got it": a field given before."""
        known = memory.get("missing")
        if known is None:  # a conversation from before missing fields were remembered
            return not set(values) & set(asked)
        return any(field not in known for field in values)

    def _whole_answer(
        self, field: str, text: str, purposes: tuple[str, ...]
    ) -> dict[str, Any] | None:
        if field == "full_name":
            return name_answer(text)
        if field in _TEXT_SLOTS:
            cleaned = text.strip().strip(".。")
            if not cleaned or len(cleaned.split()) > 6 or len(cleaned) > 50:
                return None
            if only_answer_words(cleaned):
                return None  # "go ahead", "idk", "等一下": a reply, not a make or a name
            return {"slots": {field: cleaned}}
        if field in _CHOICE_FIELDS:
            return None
        return answer(field, text, purposes)

    def _choice_args(self, field: str, code: str) -> dict[str, Any]:
        spec = requirements().fields.get(field)
        if spec is not None and spec.source == "slot":
            return {"slots": {field: code}}
        return {field: code}

    async def _settle_suggestion(
        self, text: str, suggestion: dict[str, Any], memory: dict[str, Any]
    ) -> str | None:
        codes: list[str] = suggestion["codes"]
        if len(codes) == 1 and parse_yes_no(text) is True:
            return codes[0]
        products = suggestion["field"] == "product_type"
        reading = await understand(text, codes, products=products, similarity=False)
        return reading.code

    async def _apply_choice(
        self, field: str, code: str, text: str, memory: dict[str, Any], context: AgentContext
    ) -> AIMessage:
        if field == "product_type":
            return self._start_product(code, text, memory)
        return self._updates({field: self._choice_args(field, code)}, memory, correction=False)

    @staticmethod
    def _purpose_fallback(
        text: str, codes: tuple[str, ...], reading: Reading, memory: dict[str, Any]
    ) -> Reading:
        """A purpose the options do not name is "other" the second time it is given, so the
        question is never asked forever ("a bail bond", "christmas gifts"). A reply rather than
        a purpose ("idk", "yes", "what?") is never taken; the first time, the question is put
        again (with its "Did you mean …?" when there is one)."""
        described = (
            "other" in codes
            and not is_question(text)
            and not only_answer_words(text)
            and re.search(r"[^\W\d_]", text) is not None
        )
        if not described:
            return reading
        if memory.pop("purpose_unread", None) is None:
            memory["purpose_unread"] = True
            return reading
        return Reading(code="other", how="fallback")

    def _did_you_mean(self, reading: Reading, lang: Lang, memory: dict[str, Any]) -> str:
        product = memory.get("suggest", {}).get("field") == "product_type"
        labels = [f'"{option_label(code, lang, product=product)}"' for code in reading.suggestions]
        return say_text("did_you_mean", lang, options=say_text("or", lang).join(labels))

    # Starting: the kind of loan, and whatever else the first message says.

    async def _start(self, text: str, memory: dict[str, Any], context: AgentContext) -> AIMessage:
        lang: Lang = memory["lang"]
        products = list(requirements().product_types)
        question_like = is_question(text)
        reading = await understand(text, products, products=True, similarity=not question_like)
        if reading.code is not None and not (question_like and reading.how == "similarity"):
            return self._start_product(reading.code, text, memory)
        greeting = (
            ""
            if memory.get("greeted")
            else say_text("greeting", lang) + " " + say_text("guided_note", lang) + " "
        )
        memory["greeted"] = True
        memory["awaiting"] = "product_type"
        if reading.suggestions and not question_like:
            memory["suggest"] = {"field": "product_type", "codes": list(reading.suggestions)}
            return say(greeting + self._did_you_mean(reading, lang, memory))
        if question_like:
            return say(await self._knowledge(text, memory, context))
        return say(greeting + self._product_question(lang))

    def _product_question(self, lang: Lang) -> str:
        return (
            say_text("which_product", lang)
            + " "
            + menu(list(requirements().product_types), lang, product=True)
        )

    def _start_product(
        self, product_type: str, text: str, memory: dict[str, Any], *, carry: bool = False
    ) -> AIMessage:
        rules = requirements().product_types[product_type]  # type: ignore[index]
        memory["product_type"] = product_type
        memory["purposes"] = list(rules.purposes)
        memory["awaiting"] = None
        memory["asked"] = []
        memory["history"] = []
        memory.pop("offer_rows", None)
        found = extract(
            text, fields=tuple(rules.required), purposes=tuple(rules.purposes), opening=True
        )
        values = dict(found.values)
        args: dict[str, Any] = {"product_type": product_type}
        for key in ("amount", "term_months"):
            if key in values:
                args.update(values.pop(key))
            elif carry and memory.get(f"last_{key}") is not None:
                args[key] = memory[f"last_{key}"]
        memory["pending_values"] = values
        memory["purpose_text"] = text
        if carry:
            memory.pop("application_id", None)
        return call_tool("start_application", args)

    # Writing what was understood.

    def _updates(
        self, values: dict[str, dict[str, Any]], memory: dict[str, Any], *, correction: bool
    ) -> AIMessage:
        specs = requirements().fields
        profile: dict[str, Any] = {}
        application: dict[str, Any] = {}
        for field, args in values.items():
            spec = specs.get(field)
            if spec is not None and spec.source == "profile":
                profile.update(args)
            else:
                for key, value in args.items():
                    if key == "slots":
                        application.setdefault("slots", {}).update(value)
                    else:
                        application[key] = value
        lang: Lang = memory["lang"]
        order = {f: i for i, f in enumerate(_product_fields(memory.get("product_type")))}
        values = dict(sorted(values.items(), key=lambda item: order.get(item[0], len(order))))
        memory["took"] = [
            [field, self._display(field, args, lang)] for field, args in values.items()
        ]
        memory["took_kind"] = "changed" if correction else "took"
        if memory.get("redo") and set(values) & set(memory["redo"]):
            memory.pop("redo")
        if memory.get("consented") and set(values) & {
            "amount",
            "term_months",
            "purpose",
            "annual_income",
            "monthly_debt_payments",
            "monthly_housing_payment",
            "estimated_credit_score",
        } | {f for f in values}:
            memory["refresh_offers"] = True
        for key in ("amount", "term_months"):
            if key in application:
                memory[f"last_{key}"] = application[key]
        calls: list[tuple[str, dict[str, Any]]] = []
        if profile:
            calls.append(("update_borrower_profile", profile))
        if application:
            calls.append(
                ("update_application", {"application_id": memory["application_id"], **application})
            )
        return _calls(calls)

    def _display(self, field: str, args: dict[str, Any], lang: Lang) -> str:
        label = field_label(field, lang)
        value: Any = args.get(field, args.get("slots", {}).get(field))
        if field in ("ssn", "date_of_birth"):
            shown = say_text("noted", lang)
        elif field == "full_name":
            first, last = args["legal_first_name"], args["legal_last_name"]
            shown = f"{last}{first}" if re.match(r"[\u4e00-\u9fff]", last) else f"{first} {last}"
        elif field == "home_address":
            street = ", ".join(
                part for part in (args["address_line1"], args.get("address_line2")) if part
            )
            shown = f"{street}, {args['city']}, {args['state']} {args['postal_code']}"
        elif field == "annual_income":
            shown = f"{_money(value)} {say_text('a_year', lang)}"
        elif field in ("monthly_housing_payment", "monthly_debt_payments"):
            shown = f"{_money(value)} {say_text('a_month', lang)}"
        elif field in _CHOICE_FIELDS:
            shown = option_label(str(value), lang)
        elif isinstance(value, dict):
            shown = ", ".join(str(v) for v in value.values())
        elif field == "term_months":
            shown = f"{value} 个月" if lang == "zh" else f"{value} months"
        elif isinstance(value, str) and re.fullmatch(r"\d+\.\d{2}", value):
            shown = _money(value)
        else:
            shown = str(value)
        return (
            f"{label} {shown}"
            if lang == "zh"
            else f"{label.lower() if field != 'full_name' else 'name'} {shown}"
        )

    # Tools answered.

    async def _after_tools(
        self, results: list[ToolMessage], memory: dict[str, Any], context: AgentContext
    ) -> AIMessage:
        lang: Lang = memory.get("lang", "en")
        notes: list[str] = memory.setdefault("notes", [])
        updated = False
        for result in results:
            data = result.artifact if isinstance(result.artifact, dict) else {}
            name = result.name or ""
            if result.status == "error":
                message = _error_message(result)
                if name == "request_my_erasure" and tool_error(result)[0] == "NotApproved":
                    return say(
                        privacy_text("erasure_not_sent", lang)
                        + " "
                        + await self._current_question(memory, context)
                    )
                if tool_error(result)[0] == "NotApproved":
                    memory["awaiting"] = memory.get("last_choice_kind")
                    return say(
                        self._flush(
                            memory,
                            say_text("not_approved", lang)
                            + " "
                            + await self._current_question(memory, context),
                        )
                    )
                if name == "get_offers" and "consent" in message.lower():
                    memory["awaiting"] = "consent"
                    return say(self._flush(memory, self._consent_question(memory)))
                memory.pop("took", None)
                return say(
                    self._flush(
                        memory,
                        say_text("tool_failed", lang, message=say_error(_error_body(result), lang))
                        + " "
                        + await self._current_question(memory, context),
                    )
                )
            match name:
                case "check_my_notifications":
                    news = news_reply(data, lang)
                    question = await self._current_question(memory, context)
                    return say(self._flush(memory, news + "\n" + question))
                case "start_application":
                    memory["application_id"] = data.get("id")
                    notes.append(say_text("started", lang, reference=data.get("reference")))
                    if memory.get("pending_documents"):
                        return _attach(
                            memory.pop("pending_documents"),
                            str(data.get("id")),
                            self._flush(memory, ""),
                        )
                    pending = memory.pop("pending_values", {}) or {}
                    if memory.get("purpose_text") and "purpose" not in pending:
                        reading = await understand(
                            memory["purpose_text"],
                            tuple(memory.get("purposes", ())),
                            similarity=False,
                        )
                        if reading.code is not None and reading.how == "words":
                            pending["purpose"] = {"purpose": reading.code}
                    memory.pop("purpose_text", None)
                    if pending:
                        return self._updates(pending, memory, correction=False)
                case "attach_document":
                    key = "attached_duplicate" if data.get("duplicate") else "attached"
                    notes.append(say_text(key, lang, filename=data.get("filename")))
                case "update_borrower_profile" | "update_application":
                    updated = True
                case "record_consent":
                    memory["consented"] = True
                    return call_tool("get_offers", {"application_id": memory["application_id"]})
                case "get_offers":
                    memory.pop("refresh_offers", None)
                    return say(self._flush(memory, self._present_offers(data, memory)))
                case "submit_application":
                    memory["awaiting"] = None
                    return say(say_text("submitted", lang, reference=data.get("reference")))
                case "accept_offer":
                    memory["awaiting"] = None
                    return say(say_text("accepted", lang))
                case "list_applications":
                    return await self._found_applications(data, memory, context)
                case "get_my_data_copy":
                    return say(
                        self._flush(
                            memory,
                            copy_reply(data, lang)
                            + " "
                            + await self._current_question(memory, context),
                        )
                    )
                case "request_my_erasure":
                    return say(self._flush(memory, privacy_text("erasure_sent", lang)))
                case "get_application":
                    return say(
                        self._status(data, memory)
                        + " "
                        + await self._current_question(memory, context)
                    )
        if updated and memory.get("took"):
            items = texts.join([item[1] for item in memory.pop("took")], lang)
            notes.append(say_text(memory.pop("took_kind", "took"), lang, items=items))
        return await self._next_step(memory, context)

    async def _found_applications(
        self, data: dict[str, Any], memory: dict[str, Any], context: AgentContext
    ) -> AIMessage:
        """The person's open applications, looked up because a new conversation asked about
        offers or status (or, on its first message, their drafts): one is taken up; several are
        listed to choose from; none, and the message is read as the start of a new application
        (or a question)."""
        lang: Lang = memory["lang"]
        lookup = memory.get("looked_up") or {}
        text = str(lookup.get("text", ""))
        rows = [
            {
                "id": item["id"],
                "reference": item["reference"],
                "product_type": item["product_type"],
                "status": item["status"],
                "started_by": item.get("started_by"),
            }
            for item in data.get("items", [])
        ]
        drafts = lookup.get("intent") == "draft"
        if drafts and rows:
            # A message asking for another kind of loan starts it; the drafts stay as they are.
            products = list(requirements().product_types)
            reading = await understand(text, products, products=True, similarity=False)
            if reading.code is not None:
                same = [row for row in rows if row["product_type"] == reading.code]
                if not same:
                    memory.pop("looked_up", None)
                    memory.setdefault("notes", []).extend(
                        say_text(
                            "draft_kept",
                            lang,
                            product=_product_words(row["product_type"], lang),
                            reference=row["reference"],
                        )
                        for row in rows
                    )
                    return self._start_product(reading.code, text, memory)
                rows = same
        if not rows:
            if drafts:
                memory.pop("looked_up", None)  # a later "what are my offers?" still looks
            return await self._start(text, memory, context)
        if len(rows) == 1:
            return await self._take_up(rows[0], memory, context)
        memory["awaiting"] = "which_application"
        memory["application_rows"] = rows
        lines = [
            say_text(
                "application_line",
                lang,
                number=number,
                reference=row["reference"],
                product=option_label(row["product_type"], lang, product=True),
                status=status_words(row["status"], lang),
            )
            for number, row in enumerate(rows, start=1)
        ]
        greeting = ""
        if drafts and not memory.get("greeted"):
            memory["greeted"] = True
            greeting = say_text("greeting", lang) + " " + say_text("guided_note", lang) + " "
        return say(
            greeting
            + say_text("your_drafts" if drafts else "your_applications", lang, count=len(rows))
            + "\n"
            + "\n".join(lines)
            + "\n"
            + say_text("which_draft" if drafts else "which_application", lang)
        )

    def _pick_application(self, text: str, memory: dict[str, Any]) -> dict[str, Any] | None:
        """The file chosen from the list, by reference or by its number; None: not a choice."""
        rows: list[dict[str, Any]] = memory.get("application_rows") or []
        upper = text.upper()
        for row in rows:
            if row["reference"] in upper:
                return row
        number = pick_by_position(text, len(rows))
        if number is not None:
            return rows[number]
        return None

    async def _take_up(
        self, row: dict[str, Any], memory: dict[str, Any], context: AgentContext
    ) -> AIMessage:
        """Continue with an application the person already has, for what they asked: a draft
        from where it stands (with what the opening message said), else its offers or status."""
        product_type = row["product_type"]
        memory.pop("application_rows", None)
        memory["application_id"] = row["id"]
        memory["product_type"] = product_type
        memory["purposes"] = list(requirements().product_types[product_type].purposes)
        memory["awaiting"] = None
        memory["asked"] = []
        memory["history"] = []
        lookup = memory.get("looked_up") or {}
        intent = lookup.get("intent")
        if intent == "offers":
            return call_tool("get_offers", {"application_id": row["id"]})
        if intent != "draft":
            return call_tool("get_application", {"application_id": row["id"]})
        return await self._continue_draft(row, str(lookup.get("text", "")), memory, context)

    async def _continue_draft(
        self, row: dict[str, Any], opening: str, memory: dict[str, Any], context: AgentContext
    ) -> AIMessage:
        """Say which draft this is (and who started it) and go on with its next question,
        taking what the conversation's first message already answered."""
        lang: Lang = memory["lang"]
        key = "draft_found_broker" if row.get("started_by") == "broker" else "draft_found"
        notes: list[str] = memory.setdefault("notes", [])
        if not memory.get("greeted"):
            notes.append(say_text("greeting", lang) + " " + say_text("guided_note", lang))
        memory["greeted"] = True
        notes.append(
            say_text(
                key,
                lang,
                product=_product_words(row["product_type"], lang),
                reference=row["reference"],
            )
        )
        if is_question(opening) and not _CONTINUE.search(opening):
            # "Hi, what is an APR?": answered, then the draft's next question.
            found_answer = await answer_from_knowledge(opening, lang, context)
            if found_answer is not None:
                notes.append(found_answer)
        if memory.get("pending_documents"):
            return _attach(memory.pop("pending_documents"), row["id"])
        found = extract(
            opening,
            fields=_product_fields(row["product_type"]),
            purposes=tuple(memory["purposes"]),
            opening=True,
        )
        if found.values:
            return self._updates(dict(found.values), memory, correction=False)
        return await self._next_step(memory, context)

    def _flush(self, memory: dict[str, Any], text: str) -> str:
        notes = memory.pop("notes", None) or []
        return " ".join([*notes, text]).strip()

    async def _read_application(
        self, memory: dict[str, Any], context: AgentContext
    ) -> dict[str, Any] | str:
        try:
            output = await context.registry.execute(
                "get_application", {"application_id": memory["application_id"]}, context.tools
            )
        except ToolError as error:
            lang = memory.get("lang", "en")
            return say_text(
                "read_application_failed", lang, message=say_error(error.payload(), lang)
            )
        application: dict[str, Any] = output.model_dump(mode="json")
        return application

    async def _next_step(self, memory: dict[str, Any], context: AgentContext) -> AIMessage:
        """Ask for the next missing fields, then consent, then get the offers."""
        application = await self._read_application(memory, context)
        if isinstance(application, str):
            return say(self._flush(memory, application))
        missing = [m["name"] for m in application.get("missing_fields") or []]
        memory["missing"] = missing
        redo = memory.get("redo")
        if redo:
            return say(self._flush(memory, self._ask(list(redo), memory)))
        if missing:
            group = [f for f in vocabulary().group_of(missing[0]) if f in missing] or [missing[0]]
            return say(self._flush(memory, self._ask(group, memory)))
        memory["asked"] = []
        if application.get("status") != "draft":
            return say(self._flush(memory, self._status(application, memory)))
        if not memory.get("consented"):
            memory["awaiting"] = "consent"
            return say(self._flush(memory, self._consent_question(memory)))
        refresh = bool(memory.pop("refresh_offers", False))
        return call_tool(
            "get_offers",
            {"application_id": memory["application_id"], "refresh": refresh},
            self._flush(memory, ""),
        )

    def _ask(self, group: list[str], memory: dict[str, Any]) -> str:
        history: list[list[str]] = memory.setdefault("history", [])
        if not history or history[-1] != group:
            history.append(group)
        memory["asked"] = group
        memory["awaiting"] = "fields"
        return self._question_text(memory)

    def _question_text(self, memory: dict[str, Any]) -> str:
        lang: Lang = memory.get("lang", "en")
        parts = []
        for field in memory.get("asked", []):
            question = field_question(field, lang)
            options = choices_for(field, tuple(memory.get("purposes", ())))
            if options:
                question += " " + menu(list(options), lang)
            parts.append(question)
        return " ".join(parts)

    async def _current_question(self, memory: dict[str, Any], context: AgentContext) -> str:
        lang: Lang = memory.get("lang", "en")
        awaiting = memory.get("awaiting")
        if memory.get("application_id") is None:
            return self._product_question(lang)
        if awaiting == "consent":
            return self._consent_question(memory)
        if awaiting in ("lender_choice", "offer_choice") and memory.get("offer_rows"):
            return self._offers_text(memory)
        if awaiting == "no_offers":
            return say_text("ways_on", lang, ways=memory.get("ways", ""))
        if memory.get("asked"):
            return self._question_text(memory)
        return say_text("how_can_i_help", lang)

    # Consent: only an unambiguous yes to the consent question itself records it.

    def _consent_question(self, memory: dict[str, Any], key: str = "consent_question") -> str:
        """The consent's exact current text with a question on it (`key`: the words around it).
        A yes records consent only in answer to a message that showed this text."""
        lang: Lang = memory.get("lang", "en")
        consents = requirements().consent_texts
        item = next(item for kind, item in consents.items() if kind.value == "credit_check")
        memory["consent_version"] = item.version
        return say_text(
            key,
            lang,
            text=item.text,
            version=item.version,
            translation=texts.CONSENT_TRANSLATIONS["credit_check"],
        )

    async def _consent(self, text: str, memory: dict[str, Any], context: AgentContext) -> AIMessage:
        lang: Lang = memory["lang"]
        decided = parse_yes_no(text)
        if decided is True:
            version = memory.get("consent_version")
            if version is None:  # the question was never shown in this thread's memory
                return say(self._consent_question(memory))
            return call_tool(
                "record_consent", {"kind": "credit_check", "granted": True, "text_version": version}
            )
        if decided is False:
            return say(self._consent_question(memory, "consent_refused"))
        if is_question(text):
            return say(
                await self._knowledge(text, memory, context, resume=False)
                + " "
                + self._consent_question(memory)
            )
        return say(say_text("consent_unclear", lang) + " " + self._consent_question(memory))

    # Offers, and what to do when there are none.

    def _present_offers(self, data: dict[str, Any], memory: dict[str, Any]) -> str:
        offers = [o for o in data.get("offers", []) if not o.get("expired")]
        if not offers:
            return self._no_offers(data, memory)
        firm = [o for o in offers if o.get("kind") == "firm" and o.get("status") != "declined"]
        shown = firm or offers
        kind = "offer_choice" if firm else "lender_choice"
        memory["awaiting"] = kind
        memory["last_choice_kind"] = kind
        memory["no_offer_count"] = 0
        memory["options"] = [
            {"label": o["lender_name"], "lender_id": o["lender_id"], "offer_id": o["id"]}
            for o in shown
        ]
        memory["offer_rows"] = [
            {
                "lender": o["lender_name"],
                "amount": _money(o["amount"]),
                "term": o["term_months"],
                "apr": o["apr"],
                "rate": o["note_rate"],
                "payment": _money(o["monthly_payment"]),
                "total": _money(o["total_cost"]),
                "fees": _money(o["points_and_fees"]),
                "marks": list(o.get("anti_steering") or []),
            }
            for o in shown
        ]
        memory["offers_firm"] = bool(firm)
        return self._offers_text(memory)

    def _offers_text(self, memory: dict[str, Any]) -> str:
        lang: Lang = memory.get("lang", "en")
        lines = []
        for number, row in enumerate(memory.get("offer_rows", []), start=1):
            marks = [
                _MARKS_ZH.get(m, m) if lang == "zh" else m.replace("_", " ") for m in row["marks"]
            ]
            shown = {k: v for k, v in row.items() if k != "marks"}
            lines.append(
                say_text(
                    "offer_line",
                    lang,
                    n=number,
                    marks=f" [{', '.join(marks)}]" if marks else "",
                    **shown,
                )
            )
        ask = say_text("offers_firm" if memory.get("offers_firm") else "offers_prequalified", lang)
        return say_text("offers_intro", lang) + "\n" + "\n".join(lines) + "\n" + ask

    def _no_offers(self, data: dict[str, Any], memory: dict[str, Any]) -> str:
        lang: Lang = memory.get("lang", "en")
        product = memory.get("product_type")
        excluded = [
            e
            for e in data.get("excluded", [])
            if not any(r.get("code") == "product_type" for r in e.get("reasons", []))
        ]
        reasons = [reason for e in excluded for reason in e.get("reasons", [])]
        # Limits are quoted from the products that only the amount, term or payment keep out.
        fixable = [
            reason
            for e in excluded
            if {r["code"] for r in e.get("reasons", [])} <= {"amount", "term", "dti"}
            for reason in e.get("reasons", [])
        ] or reasons
        codes = [r["code"] for r in reasons]
        inputs = data.get("inputs") or {}
        requested = Decimal(str(inputs.get("amount") or memory.get("last_amount") or 0))
        why: list[str] = []
        ways: list[str] = []
        ranges = [
            (Decimal(m.group(1).replace(",", "")), Decimal(m.group(2).replace(",", "")))
            for r in fixable
            if r["code"] == "amount"
            and (m := re.search(r"lends ([\d,.]+) to ([\d,.]+)", r["message"]))
        ]
        if ranges:
            highest = max(high for _, high in ranges)
            lowest = min(low for low, _ in ranges)
            if requested > highest:
                why.append(say_text("reason_amount_high", lang, amount=_money(highest)))
                example = f"{int(highest / 1000)}k" if highest >= 1000 else str(highest)
                ways.append(say_text("way_amount", lang, amount=_money(highest), example=example))
            elif requested and requested < lowest:
                why.append(say_text("reason_amount_low", lang, amount=_money(lowest)))
                ways.append(say_text("way_amount_up", lang, amount=_money(lowest)))
        terms = [
            (int(m.group(1)), int(m.group(2)))
            for r in fixable
            if r["code"] == "term"
            and (m := re.search(r"terms of (\d+) to (\d+) months", r["message"]))
        ]
        if terms:
            low, high = min(t[0] for t in terms), max(t[1] for t in terms)
            why.append(
                say_text("reason_term", lang, low=low, high=high, span=_span(low, high, lang))
            )
            ways.append(say_text("way_term", lang, low=low, high=high, span=_span(low, high, lang)))
        simple = {
            "dti": "reason_dti",
            "credit_band": "reason_credit",
            "no_rate": "reason_credit",
            "state": "reason_state",
            "purpose": "reason_purpose",
            "income": "reason_income",
            "vehicle_age": "reason_vehicle",
            "vehicle_mileage": "reason_vehicle",
            "ltv": "reason_ltv",
            "collateral_value": "reason_ltv",
            "years_in_business": "reason_business",
            "business_revenue": "reason_business",
            "pricing": "reason_pricing",
        }
        for code in dict.fromkeys(codes):
            key = simple.get(code)
            if key is not None:
                sentence = say_text(key, lang)
                if sentence not in why:
                    why.append(sentence)
        if "dti" in codes:
            ways.append(say_text("way_payment", lang))
        if not why:
            why.append(
                say_text(
                    "reason_other",
                    lang,
                    message="; ".join(sorted({r["message"] for r in reasons})[:2]) or "—",
                )
            )
        others = [
            p
            for p in requirements().product_types
            if p != product and p not in ("mortgage", "home_equity")
        ][:2]
        ways.append(
            say_text(
                "way_product",
                lang,
                products=texts.join([option_label(p, lang, product=True) for p in others], lang),
            )
        )
        ways.append(say_text("way_broker", lang))
        separator = "；" if lang == "zh" else "; "
        memory["awaiting"] = "no_offers"
        memory["asked"] = []
        memory["why"] = separator.join(why)
        memory["ways"] = separator.join(ways)
        count = int(memory.get("no_offer_count", 0)) + 1
        memory["no_offer_count"] = count
        head = say_text("no_offers" if count == 1 else "no_offers_again", lang, why=memory["why"])
        if count == 1 and not head.endswith((".", "。")):
            head += "。" if lang == "zh" else "."
        return head + " " + say_text("ways_on", lang, ways=memory["ways"])

    def _still_no_offers(self, memory: dict[str, Any]) -> str:
        """After a dead end, a message that changes nothing gets one of three different pointers
        in turn, never the same paragraph twice in a row."""
        lang: Lang = memory["lang"]
        count = int(memory.get("no_offer_nudges", 0))
        memory["no_offer_nudges"] = count + 1
        variant = ("nudge_ways", "nudge_examples", "nudge_why")[count % 3]
        return say_text(variant, lang, ways=memory.get("ways", ""), why=memory.get("why", ""))

    def _choose(self, text: str, memory: dict[str, Any]) -> AIMessage | None:
        from agents.guided.meaning import pick_by_position

        options: list[dict[str, Any]] = memory.get("options", [])
        if is_question(text) and not _CHOICE_VERB.search(text):
            # "Which one is the cheapest?", "what's the APR of the second one?": a question
            # about the offers is answered, never taken as the choice that leads to sending.
            if options and (_CHEAPEST.search(text) or _LOWEST_PAYMENT.search(text)):
                return say(self._lowest(text, memory))
            return None
        index = pick_by_position(text, len(options))
        if index is None:
            named = [i for i, o in enumerate(options) if o["label"].lower() in text.lower()]
            first_words = [
                i
                for i, o in enumerate(options)
                if o["label"].split()[0].lower() in text.lower().split()
            ]
            index = (
                named[0] if len(named) == 1 else first_words[0] if len(first_words) == 1 else None
            )
        if index is None and _CHEAPEST.search(text) and options:
            index = 0  # offers come cheapest APR first
        if index is None:
            if (
                is_question(text)
                or is_correction(text)
                or extract(text, fields=_product_fields(memory.get("product_type"))).values
            ):
                return None
            return say(say_text("answer_with_number", memory["lang"], count=len(options)))
        picked = options[index]
        if memory["awaiting"] == "lender_choice":
            return call_tool(
                "submit_application",
                {"application_id": memory["application_id"], "lender_ids": [picked["lender_id"]]},
            )
        return call_tool("accept_offer", {"offer_id": picked["offer_id"]})

    def _lowest(self, text: str, memory: dict[str, Any]) -> str:
        """Which shown offer is lowest: by monthly payment when that is asked, else by APR."""
        lang: Lang = memory.get("lang", "en")
        rows: list[dict[str, Any]] = memory.get("offer_rows", [])
        by_payment = bool(_LOWEST_PAYMENT.search(text))

        def key(row: dict[str, Any]) -> Decimal:
            shown = str(row["payment"] if by_payment else row["apr"])
            return Decimal(re.sub(r"[^\d.]", "", shown) or "0")

        number, row = min(enumerate(rows, start=1), key=lambda item: key(item[1]))
        answer = say_text(
            "lowest_payment" if by_payment else "lowest_apr",
            lang,
            n=number,
            lender=row["lender"],
            apr=row["apr"],
            payment=row["payment"],
        )
        ask = say_text("offers_firm" if memory.get("offers_firm") else "offers_prequalified", lang)
        return answer + " " + ask

    # Things a person can say at any point.

    async def _knowledge(
        self, text: str, memory: dict[str, Any], context: AgentContext, *, resume: bool = True
    ) -> str:
        lang: Lang = memory["lang"]
        found = await answer_from_knowledge(text, lang, context)
        reply = found if found is not None else say_text("kb_none", lang)
        if not resume:
            return reply
        question = await self._current_question(memory, context)
        return reply + " " + say_text("resume", lang, question=question)

    async def _why(self, memory: dict[str, Any], context: AgentContext) -> str:
        lang: Lang = memory["lang"]
        asked = memory.get("asked") or []
        field = asked[0] if asked else "estimated_credit_score"
        if memory.get("awaiting") == "consent":
            query = (
                "soft inquiry credit check prequalification" if lang == "en" else "软查询 信用 预审"
            )
            label = say_text("consent_needed", lang)
        else:
            query = vocabulary().fields.get(field, {}).get("why", field_label(field, "en"))
            label = field_label(field, lang)
        found = await answer_from_knowledge(query, lang, context, shown_question=query)
        if found is None and lang == "zh":
            found = await answer_from_knowledge(query, "en", context, shown_question=query)
        return say_text("why_intro", lang, label=label) + (found or say_text("kb_none", lang))

    async def _remaining(self, memory: dict[str, Any], context: AgentContext) -> str:
        lang: Lang = memory["lang"]
        if memory.get("application_id") is None:
            return say_text("still_needed", lang, items=say_text("which_product", lang))
        application = await self._read_application(memory, context)
        if isinstance(application, str):
            return application
        items = [field_label(m["name"], lang) for m in application.get("missing_fields") or []]
        if not memory.get("consented"):
            items.append(say_text("consent_needed", lang))
        if not items:
            return say_text("nothing_needed", lang)
        return say_text("still_needed", lang, items=texts.join(items, lang))

    async def _go_back(self, memory: dict[str, Any], context: AgentContext) -> AIMessage:
        lang: Lang = memory["lang"]
        history: list[list[str]] = memory.get("history", [])
        current = memory.get("asked") or []
        if history and history[-1] == current and memory.get("awaiting") == "fields":
            history.pop()
        if not history:
            return say(
                say_text("nothing_to_go_back", lang)
                + " "
                + await self._current_question(memory, context)
            )
        previous = history[-1]
        memory["redo"] = previous
        memory["asked"] = previous
        memory["awaiting"] = "fields"
        return say(say_text("go_back", lang) + " " + self._question_text(memory))

    async def _handoff(self, memory: dict[str, Any], context: AgentContext) -> str:
        """Record the request in the audit log (append-only, visible to staff), on the
        application when there is one; nothing else is promised."""
        lang: Lang = memory["lang"]
        application_id = memory.get("application_id")
        reference = None
        has_broker = False
        if application_id:
            application = await self._read_application(memory, context)
            if isinstance(application, dict):
                reference = application.get("reference")
                has_broker = application.get("broker_user_id") is not None
        async with transaction(context.tools.sessionmaker) as session:
            await audit_service.record(
                session,
                context.actor,
                action="assistant.handoff_requested",
                origin=context.tools.origin,
                subject_type="loan_application" if application_id else None,
                subject_id=application_id,
                details={
                    "channel": context.tools.channel,
                    "thread_id": context.tools.thread_id,
                    "mode": "guided",
                    "language": lang,
                    "to": "broker" if has_broker else "support",
                },
            )
        memory["handoff_requested"] = True
        return say_text(
            "handoff",
            lang,
            about=say_text("handoff_about", lang, reference=reference) if reference else "",
            broker=say_text("handoff_broker", lang) if has_broker else "",
        )

    async def _privacy(
        self, request: Intent, memory: dict[str, Any], context: AgentContext
    ) -> AIMessage:
        """A copy of one's data, or a request to erase it (which waits for the person's
        approval); anything else about it is explained and changes nothing."""
        if request == "export":
            return call_tool("get_my_data_copy", {})
        if request == "erase":
            return call_tool("request_my_erasure", {"reason": GUIDED_REASON})
        return say(
            privacy_text(request, memory["lang"])
            + " "
            + await self._current_question(memory, context)
        )

    def _status(self, application: dict[str, Any], memory: dict[str, Any]) -> str:
        lang: Lang = memory.get("lang", "en")
        status = texts.status_words(str(application.get("status", "unknown")), lang)
        text = say_text("status", lang, reference=application.get("reference"), status=status)
        missing = [field_label(m["name"], lang) for m in application.get("missing_fields") or []]
        if missing:
            text += " " + say_text("still_needed", lang, items=texts.join(missing, lang))
        return text
