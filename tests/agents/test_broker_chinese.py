"""A broker delegates in Chinese in guided mode (through the chat API, with the real tools and
database): every reply, question, option and error comes back in Chinese, and the request in
pieces, the approval of a start, files by description, offers about to expire and commission
for a month work as they do in English."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agents.guided.parser import parse_period
from agents.guided.texts import LEDGER_STEPS_ZH, ledger_steps
from lending.commissions.accrual import accrual_service
from lending.commissions.entries import commission_entry_service
from lending.commissions.explanation import STEP_TEXTS, step
from lending.config import Settings
from lending.models.applications import Application, ProductType
from lending.models.commissions import CommissionEntry
from lending.models.identity import Role, User
from lending.models.offers import Offer
from lending.offers.service import offer_service
from tests.agents.sse import reply_text, send
from tests.agents.test_broker_delegation import _broker_thread, _tools_called
from tests.commissions.factories import create_admin, create_loan, create_rule
from tests.identity.factories import actor_of, create_organization, create_user
from tests.lending.factories import (
    create_application,
    create_borrower,
    create_catalog,
    give_consent,
)
from tools.messages import placeholders


async def _count(session: AsyncSession, borrower: User) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Application)
            .where(Application.borrower_user_id == borrower.id)
        )
        or 0
    )


def _question(events: list[tuple[str, dict[str, Any]]]) -> str:
    [question] = [data for kind, data in events if kind == "interrupt.requested"]
    return str(question["summary"])


async def test_a_broker_starts_an_application_in_chinese_in_one_message_or_in_pieces(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    firm, other_firm = await create_organization(session), await create_organization(session)
    broker = await create_user(session, role=Role.BROKER, organization=firm)
    jane = await create_borrower(session, settings, organization=firm, referred_by=broker)
    jane.full_name = "Jane Quill"
    riley = await create_borrower(session, settings, organization=firm, referred_by=broker)
    stranger = await create_borrower(session, settings, organization=other_firm)
    token, thread_id = await _broker_thread(client, session, broker, settings)

    events = await send(
        client, token, thread_id, f"帮我给客户 {jane.email} 申请一笔两万五的车贷，60个月"
    )
    assert _tools_called(events) == ["find_client", "start_application"]
    # The tool's own approval question, in the thread's language: whose, which loan, how much.
    question = _question(events)
    assert question.startswith("我将代表")
    assert "25,000.00 美元" in question
    assert "60个月" in question
    assert await _count(session, jane) == 0
    started = reply_text(await send(client, token, thread_id, "好的"))
    application = await session.scalar(
        select(Application).where(Application.borrower_user_id == jane.id)
    )
    assert application is not None
    assert (application.product_type, application.amount, application.term_months) == (
        ProductType.AUTO,
        Decimal("25000.00"),
        60,
    )
    assert f"我已为Jane Quill创建申请 {application.reference}" in started
    assert "一笔汽车贷款，金额 25,000.00 美元，期限 60 个月。" in started
    assert "还缺：" in started
    assert "Still missing" not in started
    # A new file has no documents yet: which are needed, in Chinese.
    assert "还需要的文件：政府签发的带照片身份证件、近期收入证明（工资单或W-2）" in started
    assert "Documents" not in started

    # In pieces: who, then what; each question in Chinese, the menu with Chinese labels.
    which = reply_text(await send(client, token, thread_id, "给我的客户开一个新申请"))
    assert "是给哪位客户的" in which
    what = reply_text(await send(client, token, thread_id, riley.email))
    assert "是哪种贷款？" in what
    assert "1. 个人贷款；2. 债务整合贷款；3. 汽车贷款" in what
    # The client is looked up, then the amount and term asked once, before the approval (an
    # answer to an approval question can only be yes or no).
    events = await send(client, token, thread_id, "第一个")
    assert _tools_called(events) == ["find_client"]
    assert reply_text(events).startswith("金额是多少、分多少个月还？")
    events = await send(client, token, thread_id, "一万，三年")
    assert _tools_called(events) == ["start_application"]
    assert "一份金额为10,000.00 美元的个人贷款申请（36个月）" in _question(events)
    refused = reply_text(await send(client, token, thread_id, "不要"))
    assert refused == "明白：什么都没有执行。"
    assert await _count(session, riley) == 0
    # "跳过": the approval is put without an amount or term.
    await send(client, token, thread_id, f"给 {riley.email} 新建一个车贷申请")
    events = await send(client, token, thread_id, "跳过")
    assert _tools_called(events) == ["start_application"]
    assert "一份汽车贷款申请" in _question(events)
    assert reply_text(await send(client, token, thread_id, "不")) == "明白：什么都没有执行。"

    # "算了" drops a half-request; nothing is started.
    await send(client, token, thread_id, "新建一个申请")
    assert (
        reply_text(await send(client, token, thread_id, "算了")) == "已取消：我没有创建任何申请。"
    )

    # Another firm's client: the same refusal as an unknown address, in Chinese.
    refusal = reply_text(
        await send(client, token, thread_id, f"为 {stranger.email} 申请一笔个人贷款，一万")
    )
    assert refusal.startswith(f"{stranger.email} 不是您的客户")
    assert await _count(session, stranger) == 0


async def test_a_broker_finds_files_and_what_is_missing_in_chinese(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    firm = await create_organization(session)
    broker = await create_user(session, role=Role.BROKER, organization=firm)
    jane = await create_borrower(session, settings, organization=firm, referred_by=broker)
    jane.full_name = "Jane Quill"
    riley = await create_borrower(session, settings, organization=firm, referred_by=broker)
    riley.full_name = "Riley Stone"
    rileys = await create_application(session, riley)
    janes = await create_application(
        session, jane, by=broker, product_type=ProductType.AUTO, purpose=None
    )
    await session.execute(
        update(Application)
        .where(Application.id == rileys.id)
        .values(created_at=datetime.now(UTC) - timedelta(days=2))
    )
    token, thread_id = await _broker_thread(client, session, broker, settings)

    missing = reply_text(await send(client, token, thread_id, f"{rileys.reference}还缺什么？"))
    assert missing.startswith(f"{rileys.reference} 的状态：草稿。")
    assert "提交所需的信息已经齐全。" in missing
    assert missing.endswith("还需要的文件：政府签发的带照片身份证件、近期收入证明（工资单或W-2）。")
    assert reply_text(await send(client, token, thread_id, "Riley的申请状态怎么样")).startswith(
        f"{rileys.reference} 的状态"
    )
    newest = reply_text(await send(client, token, thread_id, "我最新的档案"))
    assert newest.startswith(f"{janes.reference} 的状态：草稿。 还缺：")
    assert "车" in newest  # the auto loan still needs the vehicle, named in Chinese
    assert "Missing" not in newest
    assert "vehicle" not in newest
    by_loan = reply_text(await send(client, token, thread_id, "Jane 的车贷"))
    assert by_loan.startswith(f"{janes.reference} 的状态")
    listed = reply_text(await send(client, token, thread_id, "列出我客户的申请"))
    assert listed.startswith("您客户的申请：")
    assert f"{janes.reference}：草稿，汽车贷款" in listed
    assert f"{rileys.reference}：草稿，个人贷款" in listed
    unknown = reply_text(await send(client, token, thread_id, "OMF-2000-000001 还缺什么"))
    assert unknown == "在您客户的档案中找不到 OMF-2000-000001。"
    helped = reply_text(await send(client, token, thread_id, "今天天气怎么样？"))
    assert helped.startswith("我现在处于引导模式")
    assert "OMF-2026-000123 还缺什么" in helped


async def test_a_broker_asks_in_chinese_about_expiring_offers_and_commission(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    await create_catalog(session)
    firm = await create_organization(session)
    broker = await create_user(session, role=Role.BROKER, organization=firm)
    casey = await create_borrower(session, settings, organization=firm, referred_by=broker)
    casey.full_name = "Casey Client"
    await give_consent(session, casey)
    application = await create_application(session, casey)
    await offer_service.get_offers(session, actor_of(casey), application_id=application.id)
    now = datetime.now(UTC)
    await session.execute(update(Offer).values(expires_at=now + timedelta(days=20)))
    soon = await session.scalar(
        select(Offer).where(Offer.application_id == application.id).order_by(Offer.rank_by_apr)
    )
    assert soon is not None
    soon.expires_at = now + timedelta(days=3)
    await create_rule(session, await create_admin(session))  # 0.65% upfront, all to the broker
    october = parse_period("十月", now.date())
    assert october is not None
    loan = await create_loan(
        session,
        firm,
        broker=broker,
        amount="200000.00",
        funded_on=october.start,
        reference="LOAN-OCTOBER-A",
    )
    await accrual_service.accrue_pending(session)
    token, thread_id = await _broker_thread(client, session, broker, settings)

    events = await send(client, token, thread_id, "哪些客户的报价这周到期？")
    assert _tools_called(events) == ["list_expiring_offers"]
    expiring = reply_text(events)
    assert expiring.startswith("未来 7 天内到期的报价：")
    assert f"- Casey Client，{application.reference}：" in expiring
    assert f"年化利率（APR）{soon.apr:.2f}%" in expiring
    assert expiring.count("\n- ") == 1  # the others expire in 20 days
    wider = reply_text(await send(client, token, thread_id, "30天内到期的报价"))
    assert wider.startswith("未来 30 天内到期的报价：")
    assert wider.count("\n- ") > 1

    answer = reply_text(await send(client, token, thread_id, "我十月赚了多少佣金，为什么"))
    month = f"{october.start.year}年10月"
    # 0.65% of 200,000 = 1,300.
    assert f"您在{month}共赚取 1,300.00 美元：应计 1,300.00 美元。" in answer
    assert "共 1 条账目记录。" in answer
    assert "原因（按金额从大到小）：" in answer
    assert (
        f"1. 1,300.00 美元（应计，{october.start.isoformat()}）：贷款 {loan.reference}（" in answer
    )
    # The ledger's arithmetic in Chinese, with the ledger's own figures.
    assert "前期佣金：放款金额 200,000.00 的 0.650000% = 1,300.00（四舍五入到分）。" in answer
    assert "分成：经纪人" in answer
    entry_id = await session.scalar(
        select(CommissionEntry.id).where(CommissionEntry.payee_id == broker.id)
    )
    assert entry_id is not None
    english = (
        await commission_entry_service.explain(session, actor_of(broker), entry_id=entry_id)
    ).text
    figures = re.findall(r"\d[\d,]*\.\d+", english)
    assert figures
    line = next(text for text in answer.splitlines() if text.startswith("1. "))
    steps = line.split("）：", 1)[1]
    assert sorted(re.findall(r"\d[\d,]*\.\d+", steps)) == sorted(figures)
    for english_word in ("Upfront", "Split", "half up", "Total", "Rule '"):
        assert english_word not in answer
    nothing = reply_text(await send(client, token, thread_id, "去年的佣金呢"))
    last_year = now.year - 1
    assert nothing == f"您在 {last_year}-01-01 至 {last_year}-12-31 期间没有佣金。"


def test_every_ledger_step_has_chinese_with_the_same_values() -> None:
    assert set(LEDGER_STEPS_ZH) == set(STEP_TEXTS)
    for key, english in STEP_TEXTS.items():
        assert placeholders(LEDGER_STEPS_ZH[key]) == placeholders(english), key


def test_a_clawback_with_tax_is_explained_in_chinese_with_the_same_figures() -> None:
    parts = [
        step(
            "clawback",
            reason="discharged",
            loan_month=4,
            percent="50",
            entry=17,
            accrued="1,300.00",
            amount="-650.00",
        ),
        step("tax", rate="10", tax="-65.00", total="-715.00", currency="USD"),
    ]
    said = ledger_steps([part.model_dump() for part in parts], "zh")
    assert said == (
        "追回：该贷款在第 4 个贷款月已结清；按规则的追回表，退回前期佣金账目 #17（1,300.00）的 50% = "
        "-650.00。税 10%：-65.00；合计 -715.00 美元。"
    )
    english = ledger_steps([part.model_dump() for part in parts], "en")
    assert english == " ".join(part.english() for part in parts)
