"""Guided mode for brokers: the delegations that a fixed parser can read reliably.

It handles "start an application for my client (client@example.com), $25k auto, 60 months",
"what is missing on OMF-2026-000123" / "status of OMF-…", "which of my clients have offers
expiring this week", "how much commission did I earn in October and why" and "list my clients'
applications" through the same tools the model would call, under the broker's own scopes (so
only their own clients' files, offers and commission are reachable). Anything else gets a plain
list of what guided mode can do rather than a guess. Every reply exists in English and Chinese
and follows the thread's language the way the borrower's does (agents/guided/texts.py): the app's
setting, the first message, a request to switch, a message written in Chinese.
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
from agents.guided.hostile import BROKER_INSTRUCTIONS
from agents.guided.meaning import understand
from agents.guided.notices import (
    Reminder,
    asks_for_news,
    declines_reminder,
    news_reply,
    reminder,
)
from agents.guided.parser import (
    parse_amount,
    parse_email,
    parse_period,
    parse_term_months,
    parse_within_days,
)
from agents.guided.policy import GuidedReply, call_tool, say, tool_error
from agents.guided.privacy import GUIDED_REASON, copy_reply, privacy_text, read_privacy_request
from agents.guided.slots import chinese_amounts
from agents.guided.texts import (
    Lang,
    entry_kind,
    field_label,
    join,
    ledger_steps,
    menu,
    offer_kind,
    only_a_language_request,
    option_label,
    say_error,
    say_text,
    status_words,
)
from agents.guided.texts import follow as follow_language
from lending.applications.requirements import requirements
from lending.documents.requirements import document_requirements
from tools.approvals import money as zh_money
from tools.base import ToolError

# Each request is recognised in English and in Chinese. Chinese has no spaces, so its patterns
# never use \b (a Chinese character is a word character: "查看OMF-…" has no boundary before O).
_REFERENCE = re.compile(r"(?<![A-Za-z0-9])OMF-\d{4}-\d{6}(?!\d)", re.I)
_LIST = re.compile(
    r"\b(list|pipeline|clients?|applications|files)\b|列出|列一下|清单|名单|所有|全部|我的客户",
    re.I,
)
_START = re.compile(
    r"\b(start|open|create|begin|new)\b.*\b(application|loan|file)\b|"
    # 新建 / 创建 / 开一个 / 办一笔 / 申请一笔 / 给客户申请 / 申请车贷; never "最新的申请" or
    # "Riley的申请" (a file by description).
    r"新建|创建|发起|新开|开立|开(?:一|个|张|份|笔)|办(?:一|个|理|张|份|笔)|"
    r"申请(?:一|个|笔|份|张)|申请.{0,4}?贷|(?:给|替|为)[^的]{0,40}?申请(?![的状进还缺])|"
    r"(?<![最])新的?申请|"
    # "start a new one for her", "open another one for him".
    r"\b(start|open|create|begin|set up)\b.{0,20}\b(new one|another one|another)\b",
    re.I,
)
_NEWEST = re.compile(
    r"\b(newest|latest|most recent|last|recent)\b|最新|最近|刚(?:建|开|创建)", re.I
)
_OLDEST = re.compile(r"\b(oldest|first)\b|最早|最旧|最老|第一[个份笔]", re.I)
# "Riley's application", "the auto loan for Jane", "Jane Doe's file", "file of Riley".
_WHOSE = re.compile(
    r"\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)['’]s\s+(?:\w+\s+){0,2}(application|file|loan)|"
    r"\b(?:application|file|loan)\s+(?:for|of)\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)\b"
)
# "Riley的申请", "Jane Quill 的档案", "王芳的车贷", "给 Jane 的那笔车贷".
_FILE_ZH = r"(?:申请|档案|文件|卷宗|贷款|车贷|房贷)"
_WHOSE_ZH = re.compile(
    r"(?<![A-Za-z])([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)\s*(?:的|那|这)\S{0,4}?"
    + _FILE_ZH
    + r"|([\u4e00-\u9fff]{2,8}?)\s*的\S{0,4}?"
    + _FILE_ZH
)
# Words that may stand before "的" without being a client's name.
_NOT_A_NAME = re.compile(
    r"^(?:请|麻烦|帮我|帮忙|查看|查询|查一下|看一下|看看|告诉我|显示|打开|找一下|找|问一下|列出|列一下|"
    r"给|关于)+"
)
_NOT_NAME_WORDS = re.compile(
    r"我们?|你们?|他们?|她们?|客户|最新|最近|最早|最旧|这个|那个|这份|那份|一下"
)
_FILE_WORDS = re.compile(r"\b(application|file|loan)\b|" + _FILE_ZH, re.I)
_CANCEL = re.compile(
    r"\b(cancel|never ?mind|forget it|stop)\b|取消|算了|不用了|不要了|别办了", re.I
)
# "Skip" to the amount and term: the application starts without them (they are asked later).
_SKIP = re.compile(
    r"\b(skip|later|not yet|don'?t know|no idea|unknown|without|not sure|tbd)\b|"
    r"跳过|以后|先不|不知道|还没定|没定|不确定|先空着",
    re.I,
)
_EXPIRING = re.compile(r"\bexpir|过期|到期|失效", re.I)
_COMMISSION = re.compile(
    r"\bcommissions?\b|\b(earn|earned|earnings|payouts?)\b|佣金|提成|赚|"
    r"\bhow much (did|have|do|will) i (make|made|get|got)\b|\bwhat did i (make|get)\b",
    re.I,
)
# A follow-up about the file just discussed: "what's missing on it?", "where is she at?".
_ABOUT_FILE = re.compile(
    r"\b(missing|status|need|needed|needs|left|outstanding|going on|update|progress|stand|at)\b|"
    r"缺|状态|进展|还需要|怎么样",
    re.I,
)
_THE_ONE_DISCUSSED = re.compile(
    r"\b(it|its|this|that|her|his|their|them|she|he|the same client|this one|that one)\b|"
    r"它|这个|那个|这份|那份|她|他",
    re.I,
)
_FOR_THE_CLIENT_DISCUSSED = re.compile(
    r"\bfor (her|him|them|the same client|this client|that client)\b|给(她|他)|为(她|他)|替(她|他)",
    re.I,
)
_HELP_WORDS = re.compile(r"^\s*(help|帮助|你能做什么|能做什么)\s*[?？!！.。]?\s*$", re.I)
_SUMMARY_FIELDS = ("accrued", "clawed_back", "adjusted", "paid")
_PAGE = 100  # commission entries read per call (the tool's maximum)
# How many of the period's biggest commission lines are explained step by step.
EXPLAINED_LINES = 3
HELP = say_text("broker_help", "en")


def _money(value: Any, currency: str = "USD", lang: Lang = "en") -> str:
    amount = Decimal(str(value))
    sign = "-" if amount < 0 else ""
    if currency == "USD":
        return (
            f"{sign}{zh_money(abs(amount), 'zh')}" if lang == "zh" else f"{sign}${abs(amount):,.2f}"
        )
    return f"{sign}{abs(amount):,.2f} {currency}"


def _period_words(start: str | None, end: str | None, lang: Lang = "en") -> str:
    if start is None or end is None:
        return say_text("broker_period_all", lang)
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    whole_month = (
        first.day == 1
        and (first.year, first.month) == (last.year, last.month)
        and (last + timedelta(days=1)).day == 1
    )
    if whole_month:
        month = f"{first.year}年{first.month}月" if lang == "zh" else f"{first:%B %Y}"
        return say_text("broker_period_month", lang, month=month)
    return say_text("broker_period_span", lang, start=first.isoformat(), end=last.isoformat())


def _product(code: Any, lang: Lang) -> str:
    """A product type in words: "auto loan" in English sentences, "汽车贷款" in Chinese."""
    if lang == "zh":
        return option_label(str(code), "zh", product=True)
    return str(code).replace("_", " ")


def _missing(data: dict[str, Any], lang: Lang) -> list[str]:
    return [
        field_label(m["name"], lang) if lang == "zh" else m["label"]
        for m in data.get("missing_fields") or []
    ]


def _documents_line(data: dict[str, Any], lang: Lang) -> str:
    """What the file still lacks in documents (a rejected one counts as not received), as a
    sentence after the fields; nothing when the result does not say (an older payload)."""
    names = data.get("missing_documents")
    if names is None:
        return ""
    rules = document_requirements().requirements
    labels = [
        rules[name].label_zh if lang == "zh" else rules[name].label
        for name in names
        if name in rules
    ]
    if labels:
        return " " + say_text("broker_documents_missing", lang, items=join(labels, lang))
    return " " + say_text("broker_documents_complete", lang)


def _lang(memory: dict[str, Any]) -> Lang:
    return "zh" if memory.get("lang") == "zh" else "en"


def _client_name_zh(text: str) -> str | None:
    """A client's name written before 的 in Chinese ("王芳的申请"), without the verbs before it."""
    name = _NOT_NAME_WORDS.sub("", _NOT_A_NAME.sub("", text.strip()))
    return name if 2 <= len(name) <= 4 else None


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
        switched = follow_language(text, memory, context.language_setting)
        lang = _lang(memory)
        draft = memory.get("draft")
        if switched and only_a_language_request(text):
            # The request in progress is kept and its question put again in the new language.
            question = self._draft_question(draft, lang) if draft is not None else None
            return GuidedReply(
                say(
                    say_text("switched", lang)
                    + " "
                    + (question or say_text("broker_what_now", lang))
                ),
                memory,
            )
        if BROKER_INSTRUCTIONS.search(text):
            # Refused whole: no client, reference or figure in it is taken, and a request in
            # progress waits with its question put again.
            question = self._draft_question(draft, lang) if draft is not None else None
            return GuidedReply(
                say(
                    say_text("broker_injection", lang)
                    + " "
                    + (question or say_text("broker_what_now", lang))
                ),
                memory,
            )
        privacy_request = read_privacy_request(text)
        if privacy_request == "export":
            return GuidedReply(call_tool("get_my_data_copy", {}), memory)
        if privacy_request == "erase":
            return GuidedReply(call_tool("request_my_erasure", {"reason": GUIDED_REASON}), memory)
        if privacy_request is not None:
            return GuidedReply(say(privacy_text(privacy_request, lang)), memory)
        if draft is not None:
            return GuidedReply(await self._continue_draft(text, draft, memory, context), memory)
        return GuidedReply(await self._request(text, memory, context), memory)

    async def _request(self, text: str, memory: dict[str, Any], context: AgentContext) -> AIMessage:
        lang = _lang(memory)
        reference = _REFERENCE.search(text)
        if reference:
            found = reference.group(0).upper()
            application_id = await self._find(found, context)
            if application_id is None:
                return say(say_text("broker_no_such_reference", lang, reference=found))
            return call_tool("get_application", {"application_id": application_id})
        focus = memory.get("focus")
        if (
            focus
            and _ABOUT_FILE.search(text)
            and _THE_ONE_DISCUSSED.search(text)
            and not (_START.search(text) or _COMMISSION.search(text) or _LIST.search(text))
        ):
            return call_tool("get_application", {"application_id": focus["id"]})
        if _HELP_WORDS.search(text):
            return say(say_text("broker_help", lang))
        if declines_reminder(text):
            return say(say_text("broker_remind_declined", lang))
        wanted = reminder(text)
        if wanted is not None:
            return self._remind(wanted, memory)
        if asks_for_news(text):
            memory["task"] = {"kind": "news"}
            return call_tool("check_my_notifications", {})
        if _COMMISSION.search(text):
            return self._commission(text, memory)
        if _EXPIRING.search(text):
            within_days = parse_within_days(text) or 7
            return call_tool("list_expiring_offers", {"within_days": min(within_days, 90)})
        if _START.search(text):
            return await self._start(text, memory)
        described = await self._described_file(text, memory)
        if described is not None:
            return described
        if _LIST.search(text):
            return call_tool("list_applications", {"limit": 20})
        return say(say_text("broker_help", lang))

    # Start an application for a client: the request may come in pieces over several turns
    # ("start an application for my client" → "which client?" → "jane@example.com" → "what
    # loan?" → the client looked up → "how much, over how many months?" (once, skippable)),
    # is kept in memory as a draft, and runs only after the broker approves it. The amount and
    # term are asked before the approval is put: an answer to an approval question can only be
    # yes or no, so figures given then would be lost.

    async def _start(self, text: str, memory: dict[str, Any]) -> AIMessage:
        draft: dict[str, Any] = {}
        focus = memory.get("focus")
        if focus and _FOR_THE_CLIENT_DISCUSSED.search(text) and parse_email(text) is None:
            # "Start a new one for her": the client of the file just discussed.
            draft["email"] = focus.get("client_name") or focus["reference"]
            draft["client_id"] = focus["client_id"]
            draft["client_name"] = focus.get("client_name")
        await self._fill_draft(text, draft)
        memory["draft"] = draft
        return self._next_for_draft(draft, memory)

    async def _fill_draft(self, text: str, draft: dict[str, Any]) -> None:
        email = parse_email(text)
        if email is not None:
            draft["email"] = email
        # The address is left out so that digits in it are never read as the amount; Chinese
        # amounts are written in digits first ("两万五" → 25000).
        rest = re.sub(re.escape(email), " ", text, flags=re.I) if email else text
        rest = chinese_amounts(rest)
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

    @staticmethod
    def _draft_question(draft: dict[str, Any], lang: Lang) -> str | None:
        """What the draft still needs from the broker, asked in words (None: nothing to ask)."""
        if "email" not in draft:
            return say_text("broker_which_client", lang)
        if "product_type" not in draft:
            codes = [str(code) for code in requirements().product_types]
            return say_text("broker_which_loan", lang, menu=menu(codes, lang, product=True))
        if "client_id" in draft and (draft.get("awaiting") == "terms" or not draft.get("terms")):
            if "amount" not in draft and "term_months" not in draft:
                return say_text("broker_which_terms", lang)
            if "amount" not in draft:
                return say_text("broker_which_amount", lang)
            if "term_months" not in draft:
                return say_text("broker_which_term", lang)
        return None

    def _next_for_draft(self, draft: dict[str, Any], memory: dict[str, Any]) -> AIMessage:
        question = self._draft_question(draft, _lang(memory))
        if question is not None:
            if "client_id" in draft:
                draft["awaiting"], draft["terms"] = "terms", "asked"  # asked once
            elif "email" in draft:
                draft["awaiting"] = "product_type"
            return say(question)
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
            return say(say_text("broker_cancelled", _lang(memory)))
        awaiting = draft.pop("awaiting", None)
        before = dict(draft)
        if awaiting == "product_type":
            product = await understand(text, list(requirements().product_types), products=True)
            if product.code is not None:
                draft["product_type"] = product.code
        await self._fill_draft(text, draft)
        if draft.get("email") != before.get("email"):
            draft.pop("client_id", None)
        if draft == before:
            if awaiting == "terms" and _SKIP.search(text):
                draft["terms"] = "skipped"
                return self._next_for_draft(draft, memory)
            memory.pop("draft", None)  # not part of the request: a new one
            return await self._request(text, memory, context)
        if awaiting == "terms":
            draft["terms"] = "answered"  # what is still missing is not asked again
        return self._next_for_draft(draft, memory)

    def _after_find_client(
        self, result: ToolMessage, task: dict[str, Any], memory: dict[str, Any]
    ) -> AIMessage:
        if result.status == "error":
            memory.pop("draft", None)
            # The same words whether no such account exists or it belongs to someone else.
            return say(say_text("broker_not_a_client", _lang(memory), email=task["email"]))
        data = result.artifact if isinstance(result.artifact, dict) else {}
        draft = memory.get("draft") or {}
        draft["client_id"] = data["id"]
        draft["client_name"] = data.get("full_name") or task["email"]
        memory["draft"] = draft
        return self._next_for_draft(draft, memory)

    def _after_start(self, data: dict[str, Any], task: dict[str, Any], lang: Lang) -> AIMessage:
        product = _product(data.get("product_type", ""), lang)
        article = "an" if product[:1] in "aeiou" else "a"
        loan = say_text("broker_loan", lang, article=article, product=product)
        if data.get("amount") is not None:
            loan += say_text("broker_loan_amount", lang, amount=_money(data["amount"], lang=lang))
        if data.get("term_months") is not None:
            loan += say_text("broker_loan_term", lang, months=data["term_months"])
        text = say_text(
            "broker_started",
            lang,
            reference=data.get("reference"),
            client=task.get("client_name") or task["email"],
            loan=loan,
        )
        missing = _missing(data, lang)
        text += " " + (
            say_text("broker_still_missing", lang, items=join(missing, lang))
            if missing
            else say_text("broker_nothing_missing", lang)
        )
        return say(text + _documents_line(data, lang))

    # Files by description: "my newest file", "Riley's application", "the auto loan for Jane".

    async def _described_file(self, text: str, memory: dict[str, Any]) -> AIMessage | None:
        if not _FILE_WORDS.search(text):
            return None
        arguments: dict[str, Any] = {"limit": 5}
        whose_name: str | None = None
        whose = _WHOSE.search(text)
        if whose:
            whose_name = whose.group(1) or whose.group(3)
        else:
            whose_zh = _WHOSE_ZH.search(text)
            if whose_zh:
                whose_name = whose_zh.group(1) or _client_name_zh(whose_zh.group(2))
        if whose_name:
            arguments["search"] = whose_name
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
        elif re.search(r"[\u4e00-\u9fff]", text):
            # In Chinese, by the product's own everyday words ("车贷", "房贷", "企业贷款").
            words = await understand(
                re.sub(r"申请|档案|文件|卷宗", " ", text),
                list(requirements().product_types),
                products=True,
                similarity=False,
            )
            if words.code is not None:
                arguments["product_types"] = [words.code]
        newest, oldest = _NEWEST.search(text), _OLDEST.search(text)
        if not (whose_name or newest or oldest):
            return None
        if newest or oldest:
            arguments["order"] = "newest" if newest else "oldest"
        memory["task"] = {"kind": "describe", "one": bool(newest or oldest), "what": text.strip()}
        return call_tool("list_applications", arguments)

    def _after_describe(self, data: dict[str, Any], task: dict[str, Any], lang: Lang) -> AIMessage:
        items = data.get("items", [])
        if not items:
            return say(say_text("broker_no_such_file", lang))
        if task.get("one") or len(items) == 1:
            return call_tool("get_application", {"application_id": items[0]["id"]})
        lines = [
            say_text(
                "broker_file_line",
                lang,
                reference=item["reference"],
                name=item.get("borrower_name") or "",
                product=_product(item["product_type"], lang),
                status=status_words(str(item["status"]), lang),
            )
            for item in items
        ]
        return say(say_text("broker_several_files", lang) + "\n" + "\n".join(lines))

    # "Remind Riley to upload her pay stub": the client's newest file by name, then the reminder
    # (the tool keeps it to the broker's own clients, once a day per client, and only for a
    # document the file is missing).

    def _remind(self, wanted: Reminder, memory: dict[str, Any]) -> AIMessage:
        if wanted.name is None:
            return say(say_text("broker_remind_who", _lang(memory)))
        memory["task"] = {"kind": "remind", "document": wanted.document}
        return call_tool(
            "list_applications", {"search": wanted.name, "limit": 1, "order": "newest"}
        )

    def _after_remind_search(
        self, data: dict[str, Any], task: dict[str, Any], memory: dict[str, Any]
    ) -> AIMessage:
        items = data.get("items", [])
        if not items:
            memory.pop("task", None)
            return say(say_text("broker_no_such_file", _lang(memory)))
        arguments: dict[str, Any] = {"application_id": items[0]["id"]}
        if task.get("document"):
            arguments["document"] = task["document"]
        return call_tool("remind_client_about_documents", arguments)

    @staticmethod
    def _reminded(data: dict[str, Any], lang: Lang) -> AIMessage:
        if not data.get("sent"):
            return say(say_text("broker_remind_off", lang, reference=data.get("reference")))
        items = data.get("reminded_about_zh" if lang == "zh" else "reminded_about") or []
        return say(
            say_text(
                "broker_reminded", lang, items=join(items, lang), reference=data.get("reference")
            )
        )

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

    def _after_entries(self, data: dict[str, Any], task: dict[str, Any], lang: Lang) -> AIMessage:
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
            return self._commission_answer(task, [], lang)
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
        self,
        task: dict[str, Any],
        explanations: list[dict[str, Any]],
        lang: Lang,
        you: str = "",
    ) -> AIMessage:
        summary = task.get("summary") or {}
        period = task.get("period") or {}
        words = _period_words(period.get("period_start"), period.get("period_end"), lang)
        payees = summary.get("payees") or []
        if not payees:
            return say(say_text("broker_no_commission", lang, period=words))
        parts: list[str] = []
        for payee in payees:
            currency = payee["currency"]
            amounts = {key: Decimal(str(payee[key])) for key in _SUMMARY_FIELDS}
            earned = amounts["accrued"] + amounts["clawed_back"] + amounts["adjusted"]
            who = say_text("broker_you", lang) if payee["payee_id"] == you else payee["payee_name"]

            def money(amount: Decimal, currency: str = currency) -> str:
                return _money(amount, currency, lang)

            breakdown = [say_text("broker_accrued", lang, amount=money(amounts["accrued"]))]
            if amounts["clawed_back"]:
                breakdown.append(
                    say_text("broker_clawed_back", lang, amount=money(amounts["clawed_back"]))
                )
            if amounts["adjusted"]:
                breakdown.append(
                    say_text("broker_adjusted", lang, amount=money(amounts["adjusted"]))
                )
            if amounts["paid"]:  # payouts are negative entries
                breakdown.append(
                    say_text("broker_paid", lang, amount=money(-amounts["paid"]), period=words)
                )
            parts.append(
                say_text(
                    "broker_earned",
                    lang,
                    who=who,
                    earned=money(earned),
                    period=words,
                    breakdown=join(breakdown, lang),
                )
            )
        count = summary.get("entries", 0)
        parts.append(
            say_text(
                "broker_entries", lang, count=count, entries="entry" if count == 1 else "entries"
            )
        )
        if explanations:
            lines = int(task.get("lines", len(explanations)))
            parts.append(
                say_text("broker_why_all", lang)
                if lines <= len(explanations)
                else say_text("broker_why_top", lang, shown=len(explanations), lines=lines)
            )
            for number, explanation in enumerate(explanations, start=1):
                entry = explanation["entry"]
                # The ledger gives its steps as keys and values: said in the conversation's
                # language with the ledger's own figures.
                parts.append(
                    say_text(
                        "broker_why_line",
                        lang,
                        n=number,
                        amount=_money(entry["total_amount"], entry["currency"], lang),
                        kind=entry_kind(str(entry["kind"]), lang),
                        date=entry["effective_on"],
                        text=ledger_steps(explanation.get("parts") or [], lang)
                        or explanation["text"],
                    )
                )
        return say("\n".join(parts))

    # Tool results.

    def _after_tools(
        self, results: list[ToolMessage], memory: dict[str, Any], context: AgentContext
    ) -> AIMessage:
        lang = _lang(memory)
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
            kind, _ = tool_error(failed[0])
            if kind == "NotApproved" and failed[0].name == "request_my_erasure":
                return say(privacy_text("erasure_not_sent", lang))
            if kind == "NotApproved":
                return say(say_text("not_approved", lang))
            body = failed[0].artifact if isinstance(failed[0].artifact, dict) else {}
            return say(say_text("tool_failed", lang, message=say_error(body, lang)))
        if result.name == "start_application" and task.get("kind") == "start":
            memory.pop("task", None)
            memory["focus"] = {
                "id": data.get("id"),
                "reference": data.get("reference"),
                "client_id": data.get("borrower_user_id"),
                "client_name": task.get("client_name"),
            }
            return self._after_start(data, task, lang)
        if result.name == "get_commission_summary" and task.get("kind") == "commission":
            return self._after_summary(data, task)
        if result.name == "list_commission_entries" and task.get("kind") == "commission":
            return self._after_entries(data, task, lang)
        if result.name == "explain_commission" and task.get("kind") == "commission":
            memory.pop("task", None)
            explanations = [item.artifact for item in results if isinstance(item.artifact, dict)]
            return self._commission_answer(task, explanations, lang, str(context.actor.user_id))
        if result.name == "list_applications" and task.get("kind") == "remind":
            return self._after_remind_search(data, task, memory)
        if result.name == "remind_client_about_documents":
            memory.pop("task", None)
            return self._reminded(data, lang)
        if result.name == "check_my_notifications":
            memory.pop("task", None)
            return say(news_reply(data, lang))
        if result.name == "list_applications" and task.get("kind") == "describe":
            memory.pop("task", None)
            items = data.get("items", [])
            if items and (task.get("one") or len(items) == 1):
                memory["focus_name"] = items[0].get("borrower_name")
            return self._after_describe(data, task, lang)
        if result.name == "list_expiring_offers":
            return self._expiring(data, lang)
        if result.name == "get_my_data_copy":
            return say(copy_reply(data, lang))
        if result.name == "request_my_erasure":
            return say(privacy_text("erasure_sent", lang))
        if result.name == "get_application":
            previous = memory.get("focus") or {}
            name = memory.pop("focus_name", None)
            if name is None and previous.get("client_id") == data.get("borrower_user_id"):
                name = previous.get("client_name")
            memory["focus"] = {  # what "it" and "her" mean in the next request
                "id": data.get("id"),
                "reference": data.get("reference"),
                "client_id": data.get("borrower_user_id"),
                "client_name": name,
            }
            missing = _missing(data, lang)
            text = say_text(
                "broker_status",
                lang,
                reference=data.get("reference"),
                status=status_words(str(data.get("status", "")), lang),
            )
            text += " " + (
                say_text("broker_missing", lang, items=join(missing, lang))
                if missing
                else say_text("broker_nothing_missing", lang)
            )
            return say(text + _documents_line(data, lang))
        return self._pipeline(data, lang)

    def _expiring(self, data: dict[str, Any], lang: Lang) -> AIMessage:
        days = data.get("within_days", 7)
        items = data.get("items", [])
        if not items:
            return say(say_text("broker_no_expiring", lang, days=days))
        lines = [
            say_text(
                "broker_expiring_line",
                lang,
                name=item["borrower_name"],
                reference=item["application_reference"],
                lender=item["lender_name"],
                apr=f"{Decimal(str(item['apr'])):.2f}",
                payment=_money(item["monthly_payment"], lang=lang),
                term=item["term_months"],
                kind=offer_kind(str(item["kind"]), lang),
                expires=f"{datetime.fromisoformat(item['expires_at']).astimezone(UTC):%Y-%m-%d %H:%M}",
            )
            for item in items
        ]
        return say(say_text("broker_expiring", lang, days=days) + "\n" + "\n".join(lines))

    def _pipeline(self, data: dict[str, Any], lang: Lang) -> AIMessage:
        items = data.get("items", [])
        if not items:
            return say(say_text("broker_no_pipeline", lang))
        separator = "，" if lang == "zh" else ", "
        lines = [
            say_text(
                "broker_pipeline_line",
                lang,
                reference=item["reference"],
                status=status_words(str(item["status"]), lang),
                product=_product(item["product_type"], lang),
            )
            + (separator + _money(item["amount"], lang=lang) if item.get("amount") else "")
            for item in items
        ]
        return say(say_text("broker_pipeline", lang) + "\n" + "\n".join(lines))

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
