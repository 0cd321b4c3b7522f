"""The kinds of notification: who gets each, its defaults, and its words in English and Chinese.

A notification row holds what its words are made from (a reference, statuses, a lender's name, a
requirement's name), never typed text; `words(kind, data, language)` makes the subject and the
message in the reader's language when it is shown or mailed. tests/notifications checks every
kind has both languages and that each text's fields are the ones its events write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lending.models.identity import Role

APPLICATION_STATUS_CHANGED = "application.status_changed"
DOCUMENT_REJECTED = "document.rejected"
LENDER_DECISION = "lender.decision"
OFFERS_ARRIVED = "offer.arrived"
OFFER_EXPIRING = "offer.expiring"
DOCUMENT_MISSING = "document.missing"
DOCUMENT_REMINDER = "document.reminder"
COMMISSION_ACCRUED = "commission.accrued"
COMMISSION_PAID = "commission.paid"
COMMISSION_CLAWED_BACK = "commission.clawed_back"
COMMISSION_ADJUSTED = "commission.adjusted"
PAYOUT_BATCH_AWAITING_APPROVAL = "payout_batch.awaiting_approval"

# The mail a person cannot turn off: shown in the preferences, fixed on.
ESSENTIAL = "account.security"

_BORROWER_SIDE = frozenset({Role.BORROWER, Role.BROKER, Role.BROKER_MANAGER})
_BROKERS = frozenset({Role.BROKER, Role.BROKER_MANAGER})
_ADMINS = frozenset({Role.PLATFORM_ADMIN})


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    roles: frozenset[Role]  # who can receive it (and so sees it in their preferences)
    email: bool  # the default when the person has not chosen
    in_app: bool
    subject: dict[str, str]
    message: dict[str, str]


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            APPLICATION_STATUS_CHANGED,
            _BORROWER_SIDE,
            email=True,
            in_app=True,
            subject={"en": "Application {reference}: {status}", "zh": "申请 {reference}：{status}"},
            message={
                "en": "Application {reference} is now {status}.",
                "zh": "申请 {reference} 的状态已变为：{status}。",
            },
        ),
        Kind(
            DOCUMENT_REJECTED,
            _BORROWER_SIDE,
            email=True,
            in_app=True,
            subject={
                "en": "A document for {reference} was not accepted",
                "zh": "申请 {reference} 的一份文件未被接受",
            },
            message={
                "en": "Your {document} for application {reference} was not accepted; open it to "
                "see why and upload another.",
                "zh": "您为申请 {reference} 上传的{document}未被接受；请打开查看原因并重新上传。",
            },
        ),
        Kind(
            LENDER_DECISION,
            _BORROWER_SIDE,
            email=True,
            in_app=True,
            subject={
                "en": "{lender} decided on {reference}",
                "zh": "{lender} 已对申请 {reference} 作出决定",
            },
            message={
                "en": "{lender} {decision} application {reference}.",
                "zh": "{lender} 对申请 {reference} 的决定：{decision}。",
            },
        ),
        Kind(
            OFFERS_ARRIVED,
            _BORROWER_SIDE,
            email=True,
            in_app=True,
            subject={"en": "New offers for {reference}", "zh": "申请 {reference} 有新的报价"},
            message={
                "en": "{lender} sent {count} offer(s) for application {reference}; compare them "
                "before they expire.",
                "zh": "{lender} 为申请 {reference} 发来 {count} 份报价；请在过期前比较。",
            },
        ),
        Kind(
            OFFER_EXPIRING,
            _BORROWER_SIDE,
            email=True,
            in_app=True,
            subject={
                "en": "An offer for {reference} expires soon",
                "zh": "申请 {reference} 的报价即将过期",
            },
            message={
                "en": "The offer from {lender} for application {reference} expires on {expires_on}.",
                "zh": "{lender} 为申请 {reference} 提供的报价将于 {expires_on} 过期。",
            },
        ),
        Kind(
            DOCUMENT_MISSING,
            _BORROWER_SIDE,
            email=True,
            in_app=True,
            subject={
                "en": "A document is still missing for {reference}",
                "zh": "申请 {reference} 仍缺少文件",
            },
            message={
                "en": "Application {reference} still needs: {requirement}. Upload it so the "
                "application can go ahead.",
                "zh": "申请 {reference} 仍需要：{requirement}。请上传，以便申请继续办理。",
            },
        ),
        Kind(
            DOCUMENT_REMINDER,
            frozenset({Role.BORROWER}),
            email=True,
            in_app=True,
            subject={"en": "{broker} asks for a document", "zh": "{broker} 请您上传文件"},
            message={
                "en": "{broker} reminds you that application {reference} still needs: "
                "{requirement}.",
                "zh": "{broker} 提醒您：申请 {reference} 仍需要：{requirement}。",
            },
        ),
        Kind(
            COMMISSION_ACCRUED,
            _BROKERS,
            email=False,
            in_app=True,
            subject={
                "en": "Commission accrued: {amount} {currency}",
                "zh": "佣金已计提：{amount} {currency}",
            },
            message={
                "en": "A commission of {amount} {currency} accrued to you on loan {reference}.",
                "zh": "贷款 {reference} 为您计提了 {amount} {currency} 的佣金。",
            },
        ),
        Kind(
            COMMISSION_PAID,
            _BROKERS,
            email=True,
            in_app=True,
            subject={
                "en": "Commission paid: {amount} {currency}",
                "zh": "佣金已支付：{amount} {currency}",
            },
            message={
                "en": "{amount} {currency} of commission was paid to you (reference {payment}).",
                "zh": "已向您支付佣金 {amount} {currency}（付款参考号 {payment}）。",
            },
        ),
        Kind(
            COMMISSION_CLAWED_BACK,
            _BROKERS,
            email=True,
            in_app=True,
            subject={
                "en": "Commission clawed back: {amount} {currency}",
                "zh": "佣金被追回：{amount} {currency}",
            },
            message={
                "en": "{amount} {currency} of your commission on loan {reference} was clawed "
                "back: the loan was repaid or refinanced early.",
                "zh": "贷款 {reference} 已提前结清或再融资，您在该贷款上的佣金被追回 "
                "{amount} {currency}。",
            },
        ),
        Kind(
            COMMISSION_ADJUSTED,
            _BROKERS,
            email=True,
            in_app=True,
            subject={
                "en": "Commission adjusted: {amount} {currency}",
                "zh": "佣金已调整：{amount} {currency}",
            },
            message={
                "en": "Your commission was adjusted by {amount} {currency}; your commission "
                "statement shows why.",
                "zh": "您的佣金调整了 {amount} {currency}；原因请查看您的佣金明细。",
            },
        ),
        Kind(
            PAYOUT_BATCH_AWAITING_APPROVAL,
            _ADMINS,
            email=True,
            in_app=True,
            subject={
                "en": "A payout batch waits for approval",
                "zh": "有一个佣金支付批次等待审批",
            },
            message={
                "en": "A payout batch of {amount} {currency} to {payees} payee(s) waits for a "
                "second administrator's approval.",
                "zh": "一个向 {payees} 位收款人支付 {amount} {currency} 的批次等待另一位管理员审批。",
            },
        ),
    )
}

# Words for the values a message carries, in Chinese (English uses the value with spaces).
_ZH_VALUES: dict[str, str] = {
    "draft": "草稿",
    "submitted": "已提交",
    "under_review": "审核中",
    "approved": "已批准",
    "referred": "需补充信息",
    "declined": "已拒绝",
    "withdrawn": "已撤回",
    "offer_accepted": "已接受报价",
    "funded": "已放款",
    "closed": "已结清",
    "received": "已受理",
}
_EN_DECISIONS = {"approved": "approved", "declined": "declined", "referred": "asked for more on"}
_VALUE_FIELDS = ("status", "decision")


def kinds_for(role: Role) -> list[Kind]:
    return [kind for kind in KINDS.values() if role in kind.roles]


def _value(field: str, raw: Any, language: str) -> str:
    text = str(raw)
    if language == "zh":
        return _ZH_VALUES.get(text, text.replace("_", " "))
    if field == "decision":
        return _EN_DECISIONS.get(text, text.replace("_", " "))
    return text.replace("_", " ")


def _fields(data: dict[str, Any], language: str) -> dict[str, str]:
    fields = {key: str(value) for key, value in data.items()}
    for name in _VALUE_FIELDS:
        if name in data:
            fields[name] = _value(name, data[name], language)
    if "to_status" in data:
        fields["status"] = _value("status", data["to_status"], language)
    if "document_type" in data:
        fields["document"] = _document_word(str(data["document_type"]), language)
    # A requirement's label in both languages is written with the event (requirements.json's
    # label and label_zh), so this module needs nothing from the documents domain above it.
    label = data.get(f"label_{language}") or data.get("label_en")
    if label:
        fields["requirement"] = str(label)
    return fields


_ZH_DOCUMENTS = {
    "pay_stub": "工资单",
    "w2": "W-2 表",
    "bank_statement": "银行对账单",
    "tax_return": "报税表",
    "identification": "身份证件",
    "proof_of_address": "地址证明",
    "business_licence": "营业执照",
}


def _document_word(document_type: str, language: str) -> str:
    if language == "zh":
        return _ZH_DOCUMENTS.get(document_type, document_type.replace("_", " "))
    return document_type.replace("_", " ")


class _Missing(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"  # an old row without a field still reads; a test keeps texts and data in step


def words(kind: str, data: dict[str, Any], language: str | None) -> tuple[str, str]:
    """The subject and message of a notification in `language` (English when unknown)."""
    lang = "zh" if language == "zh" else "en"
    found = KINDS.get(kind)
    if found is None:
        return kind.replace("_", " "), kind.replace("_", " ")
    fields = _Missing(_fields(data, lang))
    return found.subject[lang].format_map(fields), found.message[lang].format_map(fields)
