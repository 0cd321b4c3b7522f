"""Per-kind notification preferences, and the signed one-click unsubscribe link of non-essential
mail (RFC 8058: a mail client POSTs to it; no sign-in, the signature is the proof).

The link names the person and the kind and is signed with a key derived from the secret key; it
does not expire (an old mail still unsubscribes) and can only ever turn that one kind's e-mail
off, so a leaked link can do nothing else. Essential mail (account.security: password reset,
e-mail verification and change) is not a preference: it is always sent and has no link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import uuid
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings
from lending.errors import InvalidInput, NotFound
from lending.identity.actor import Actor
from lending.identity.links import app_link
from lending.models.identity import User
from lending.notifications import kinds
from lending.notifications.repository import PreferenceRepository
from lending.notifications.schemas import PreferenceRead, PreferenceUpdate, Unsubscribed

UNSUBSCRIBE_PATH = "/api/v1/notifications/unsubscribe"
_INVALID_LINK = "This unsubscribe link is not valid."
_LABELS = {
    kinds.ESSENTIAL: "Security and account mail (password reset, address confirmation)",
    kinds.APPLICATION_STATUS_CHANGED: "An application's status changes",
    kinds.DOCUMENT_REJECTED: "A document was not accepted",
    kinds.LENDER_DECISION: "A lender decided",
    kinds.OFFERS_ARRIVED: "Offers arrived",
    kinds.OFFER_EXPIRING: "An offer expires soon",
    kinds.DOCUMENT_MISSING: "A required document is still missing",
    kinds.DOCUMENT_REMINDER: "Your broker asks for a document",
    kinds.COMMISSION_ACCRUED: "Commission accrued",
    kinds.COMMISSION_PAID: "Commission paid",
    kinds.COMMISSION_CLAWED_BACK: "Commission clawed back",
    kinds.COMMISSION_ADJUSTED: "Commission adjusted",
    kinds.PAYOUT_BATCH_AWAITING_APPROVAL: "A payout batch waits for approval",
}


_LABELS_ZH = {
    kinds.ESSENTIAL: "安全与账户邮件（重置密码、确认地址）",
    kinds.APPLICATION_STATUS_CHANGED: "申请状态变更",
    kinds.DOCUMENT_REJECTED: "文件未被接受",
    kinds.LENDER_DECISION: "贷款机构作出决定",
    kinds.OFFERS_ARRIVED: "收到报价",
    kinds.OFFER_EXPIRING: "报价即将过期",
    kinds.DOCUMENT_MISSING: "仍缺少必需的文件",
    kinds.DOCUMENT_REMINDER: "经纪人请您上传文件",
    kinds.COMMISSION_ACCRUED: "佣金已计提",
    kinds.COMMISSION_PAID: "佣金已支付",
    kinds.COMMISSION_CLAWED_BACK: "佣金被追回",
    kinds.COMMISSION_ADJUSTED: "佣金已调整",
    kinds.PAYOUT_BATCH_AWAITING_APPROVAL: "佣金支付批次等待审批",
}


def label_of(kind: str, language: str | None = None) -> str:
    labels = _LABELS_ZH if language == "zh" else _LABELS
    return labels.get(kind, kind)


def _key(settings: Settings) -> bytes:
    secret = settings.secret("secret_key").get_secret_value().encode()
    return hmac.new(secret, b"omnifin/unsubscribe-link-key", hashlib.sha256).digest()


def _signature(settings: Settings, user_id: uuid.UUID, kind: str) -> str:
    mac = hmac.new(_key(settings), f"{user_id}:{kind}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:20]).decode().rstrip("=")


def unsubscribe_token(settings: Settings, user_id: uuid.UUID, kind: str) -> str:
    return f"{user_id}.{kind}.{_signature(settings, user_id, kind)}"


def unsubscribe_url(settings: Settings, user_id: uuid.UUID, kind: str) -> str:
    token = quote(unsubscribe_token(settings, user_id, kind), safe="")
    return f"{settings.public_url.rstrip('/')}{UNSUBSCRIBE_PATH}?token={token}"


def _parse(settings: Settings, token: str) -> tuple[uuid.UUID, str]:
    try:
        raw_user, rest = token.strip().split(".", 1)
        kind, signature = rest.rsplit(".", 1)
        user_id = uuid.UUID(raw_user)
    except ValueError:
        raise InvalidInput(_INVALID_LINK) from None
    expected = _signature(settings, user_id, kind)
    if kind not in kinds.KINDS or not hmac.compare_digest(expected, signature):
        raise InvalidInput(_INVALID_LINK)
    return user_id, kind


# The field the page's button sends: a person pressed it in a browser (the answer is a page).
# A mail client's one-click POST (RFC 8058) sends `List-Unsubscribe=One-Click` and gets JSON.
FROM_PAGE_FIELD = "source"
FROM_PAGE_VALUE = "page"
PREFERENCES_PATH = "/notifications/preferences"


_ASK = {
    "en": (
        "Unsubscribe",
        "Stop e-mails about “{label}”?",
        "Unsubscribe",
        'You can change every kind in your <a href="{link}">notification settings</a>.',
    ),
    "zh": (
        "退订",
        "停止接收关于“{label}”的邮件？",
        "退订",
        '可在<a href="{link}">通知设置</a>中更改所有通知类型。',
    ),
}


def unsubscribe_page(settings: Settings, token: str, kind: str, language: str | None) -> str:
    """The page a person's click opens, in their language: nothing changes until they press the
    button (mail scanners that open links unsubscribe nobody); the button POSTs the same link."""
    lang = "zh" if language == "zh" else "en"
    title, question, button, settings_line = _ASK[lang]
    action = f"{UNSUBSCRIBE_PATH}?token={quote(token, safe='')}"
    link = html.escape(app_link(settings, PREFERENCES_PATH))
    return _page(
        "zh-CN" if lang == "zh" else "en",
        title,
        f'<form method="post" action="{html.escape(action)}">'
        f'<input type="hidden" name="{FROM_PAGE_FIELD}" value="{FROM_PAGE_VALUE}">'
        f"<p>{question.format(label=html.escape(label_of(kind, lang)))}</p>"
        f'<button type="submit">{button}</button></form>'
        f"<p>{settings_line.format(link=link)}</p>",
    )


@dataclass(frozen=True, slots=True)
class HtmlPage:
    status_code: int
    body: str


_DONE = {
    "en": (
        "Unsubscribed",
        "You are unsubscribed: you will no longer get e-mails about “{label}”.",
        "You still see them in the app. Changed your mind? Turn the e-mails back on in your "
        '<a href="{link}">notification settings</a>.',
    ),
    "zh": (
        "已退订",
        "您已退订：今后不会再收到关于“{label}”的邮件。",
        '此类通知仍会显示在应用内。如需恢复邮件，请前往<a href="{link}">通知设置</a>重新开启。',
    ),
}
_INVALID_PAGE = (
    "<p>This unsubscribe link is not valid; nothing was changed. 此退订链接无效，未作任何更改。</p>"
)


def _page(language: str, title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # The web app's icon (served beside the API): a browser asks for one.
        '<link rel="icon" type="image/svg+xml" href="/favicon.svg">'
        f"<title>{html.escape(title)}</title></head>"
        '<body style="font-family: system-ui, sans-serif; max-width: 480px; margin: 2rem auto;">'
        f"{body}</body></html>"
    )


def unsubscribed_page(settings: Settings, kind: str, language: str | None) -> str:
    """What a person who pressed the button reads, in their language: which mail stopped and
    how to turn it back on."""
    lang = "zh" if language == "zh" else "en"
    title, done, undo = _DONE[lang]
    link = html.escape(app_link(settings, PREFERENCES_PATH))
    label = html.escape(label_of(kind, lang))
    return _page(
        "zh-CN" if lang == "zh" else "en",
        title,
        f"<h1>{title}</h1><p>{done.format(label=label)}</p><p>{undo.format(link=link)}</p>",
    )


class PreferenceService:
    async def list_own(self, session: AsyncSession, actor: Actor) -> list[PreferenceRead]:
        """Every kind the person can receive, with their choice or its default; essential mail
        first, fixed on."""
        chosen = await PreferenceRepository.from_session(session).own(actor.user_id)
        items = [
            PreferenceRead(
                kind=kinds.ESSENTIAL,
                label=label_of(kinds.ESSENTIAL),
                email=True,
                in_app=False,
                essential=True,
            )
        ]
        for kind in kinds.kinds_for(actor.role):
            row = chosen.get(kind.name)
            items.append(
                PreferenceRead(
                    kind=kind.name,
                    label=label_of(kind.name),
                    email=row.email if row else kind.email,
                    in_app=row.in_app if row else kind.in_app,
                    essential=False,
                )
            )
        return items

    async def update_own(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        kind: str,
        data: PreferenceUpdate,
        origin: Origin | None = None,
    ) -> PreferenceRead:
        """Choose e-mail and/or in-app for one kind.

        Raises:
            InvalidInput: essential mail cannot be turned off.
            NotFound: no such kind for the person's role.
        """
        if kind == kinds.ESSENTIAL:
            raise InvalidInput(
                "Security and account mail (password reset, address confirmation) is always sent."
            )
        current = {item.kind: item for item in await self.list_own(session, actor)}.get(kind)
        if current is None:
            raise NotFound("No such kind of notification.")
        email = current.email if data.email is None else data.email
        in_app = current.in_app if data.in_app is None else data.in_app
        await PreferenceRepository.from_session(session).put(
            actor.user_id, kind, email=email, in_app=in_app
        )
        await audit_service.record(
            session,
            actor,
            action="notification.preference_changed",
            origin=origin,
            subject_type="user",
            subject_id=actor.user_id,
            details={"kind": kind, "email": email, "in_app": in_app},
        )
        return current.model_copy(update={"email": email, "in_app": in_app})

    async def unsubscribe(
        self,
        session: AsyncSession,
        *,
        settings: Settings,
        token: str,
        origin: Origin | None = None,
    ) -> Unsubscribed:
        """Turn off one kind's e-mail from a signed link (no sign-in). Repeating it is harmless.

        Raises:
            InvalidInput: the link was not signed by us.
        """
        user_id, kind = _parse(settings, token)
        user = await session.get(User, user_id)
        if user is None:
            raise InvalidInput(_INVALID_LINK)
        await PreferenceRepository.from_session(session).turn_off_email(user_id, kind)
        await audit_service.record(
            session,
            Actor.for_user(user.id, user.role, user.organization_id),
            action="notification.unsubscribed",
            origin=origin,
            subject_type="user",
            subject_id=user.id,
            details={"kind": kind},
        )
        return Unsubscribed(kind=kind)

    async def unsubscribe_form(
        self, session: AsyncSession, *, settings: Settings, token: str
    ) -> HtmlPage:
        """The page an unsubscribe link opens, in the person's language; it changes nothing. A
        link not signed by us opens a page saying so, with no button (a page for a person, as
        the link's every other answer: the API's JSON errors are for programs)."""
        try:
            user_id, kind = _parse(settings, token)
        except InvalidInput:
            return HtmlPage(200, _page("en", "Unsubscribe · 退订", _INVALID_PAGE))
        user = await session.get(User, user_id)
        if user is None:
            return HtmlPage(200, _page("en", "Unsubscribe · 退订", _INVALID_PAGE))
        return HtmlPage(200, unsubscribe_page(settings, token, kind, user.language))

    async def unsubscribe_from_page(
        self,
        session: AsyncSession,
        *,
        settings: Settings,
        token: str,
        origin: Origin | None = None,
    ) -> HtmlPage:
        """The unsubscribe page's button: the same change as the one-click POST, answered with
        a page in the person's language (a link not signed by us changes nothing, and says so)."""
        try:
            done = await self.unsubscribe(session, settings=settings, token=token, origin=origin)
        except InvalidInput:
            return HtmlPage(422, _page("en", "Unsubscribe · 退订", _INVALID_PAGE))
        user_id, _ = _parse(settings, token)
        user = await session.get(User, user_id)
        language = user.language if user is not None else None
        return HtmlPage(200, unsubscribed_page(settings, done.kind, language))


preference_service = PreferenceService()
