"""Guided mode with people's own words: a persona suite (benchmarks/data/guided_personas.json,
29 borrowers over the seven products, a third in Chinese, and 20 broker requests, half of them
in Chinese) talks to the assistant through the HTTP chat API with no language model configured.

Each simulated borrower answers the questions it recognises in the reply (in the English or the
Chinese wording) with its own phrasing, all of them in one message when several are asked,
says yes to "Did you mean …?" and to the consent, picks the first lender and approves the
submission. Measured: completion (a submitted application), turns to it (every message sent and
the approval click), misreads (a stored value other than the persona's), and for brokers whether
the request was carried out, in how many turns, and misreads (an application started with other
values than the broker's, or started when the broker said no).

Run from the repository root: `.venv/bin/python -m benchmarks.bench_guided_personas [label]`.
It creates its own database (omnifin_bench_guided) on the server of the settings and writes
benchmarks/results/guided_personas[-label].json. To measure another checkout's code with the same
personas: `cd <checkout> && PYTHONPATH=. <this repo>/.venv/bin/python
<this repo>/benchmarks/bench_guided_personas.py main` (the personas and results stay here).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
from pydantic import SecretStr
from sqlalchemy import select, update

from api.app import create_app
from devtools.databases import drop_database, recreate_database
from lending import migrations
from lending.applications.profile import borrower_profile_service
from lending.config import Settings, get_settings
from lending.db import create_engine, create_sessionmaker, resolve_database_url, transaction
from lending.kv import MemoryStore
from lending.lenders.demo import load_catalog, load_into
from lending.models.applications import Application
from lending.models.identity import Role
from tests.identity.factories import actor_of, create_organization, create_user, issue_token
from tests.lending.factories import create_application, create_borrower

HERE = Path(__file__).resolve().parent
PERSONAS = HERE / "data" / "guided_personas.json"
DATABASE = "omnifin_bench_guided"
MAX_TURNS = 40
# Which field a reply asks for, by the words of its question (English, then Chinese).
ASKS: dict[str, tuple[str, ...]] = {
    "product": ("What kind of loan", "哪种贷款"),
    "full_name": ("full legal name", "法定全名"),
    "date_of_birth": ("date of birth", "出生日期"),
    "home_address": ("home address", "住址"),
    "phone": ("phone number", "电话号码"),
    "ssn": ("Social Security number?", "社会安全号码（SSN）是多少"),
    "employment_status": ("Are you employed", "您是受雇"),
    "annual_income": ("annual income?", "税前年收入总共"),
    "monthly_housing_payment": ("rent or your mortgage?", "房租或房贷是多少"),
    "monthly_debt_payments": ("debts such as", "等债务上还多少"),
    "estimated_credit_score": ("Roughly what is your credit score", "信用分大约是多少"),
    "purpose": ("What is the loan for", "用来做什么"),
    "amount": ("How much would you like to borrow", "借多少钱"),
    "term_months": ("how many months would you like to repay", "多少个月还清"),
    "vehicle_year": ("What year is the vehicle", "车是哪一年"),
    "vehicle_make": ("What make is the vehicle", "什么品牌"),
    "vehicle_model": ("What model is the vehicle", "什么型号"),
    "vehicle_mileage": ("How many miles", "多少英里"),
    "vehicle_value": ("vehicle's value or price", "价值或价格"),
    "property_address": ("address of the property", "房产的地址"),
    "property_value": ("property's estimated value", "房产的估计价值"),
    "purchase_price": ("What is the purchase price", "购买价格是多少"),
    "occupancy": ("primary residence, a second home", "自住、第二套住房"),
    "existing_mortgage_balance": ("still owe on the mortgage", "房贷还欠多少"),
    "business_name": ("legal name of the business", "企业的法定名称"),
    "business_annual_revenue": ("business's annual revenue", "企业的年营收"),
    "years_in_business": ("How many years has the business", "经营了多少年"),
    "debts_to_consolidate": ("How much debt would you like to consolidate", "整合多少债务"),
    "highest_degree": ("highest degree", "最高学历"),
    "student_loan_balance": ("owe on the student loans", "学生贷款还欠多少"),
}
_CONFIRMATION = re.compile(r"(Got it|Changed): .*?\.(?=\s[A-Z])|(已记下|已更改)：.*?。")


def _parse_sse(body: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for frame in body.split("\n\n"):
        kind, data = None, []
        for line in frame.splitlines():
            if line.startswith("event:"):
                kind = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                data.append(line.removeprefix("data:").strip())
        if kind is not None:
            events.append((kind, orjson.loads("\n".join(data))))
    return events


def _reply(events: list[tuple[str, dict[str, Any]]]) -> str:
    return " ".join(d["text"] for k, d in events if k == "message.completed")


class Chat:
    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http, self.token, self.turns, self.thread = http, token, 0, ""
        self.transcript: list[str] = []

    async def open(self) -> None:
        created = await self.http.post("/api/v1/chat/threads", json={}, headers=self._auth())
        self.thread = created.json()["id"]

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def say(self, text: str) -> list[tuple[str, dict[str, Any]]]:
        self.turns += 1
        response = await self.http.post(
            f"/api/v1/chat/threads/{self.thread}/runs", json={"message": text}, headers=self._auth()
        )
        events = _parse_sse(response.text)
        self.transcript += [f"> {text}", _reply(events)]
        return events

    async def approve(self, approval_id: str) -> list[tuple[str, dict[str, Any]]]:
        self.turns += 1
        response = await self.http.post(
            f"/api/v1/chat/threads/{self.thread}/approvals/{approval_id}",
            json={"approved": True},
            headers=self._auth(),
        )
        events = _parse_sse(response.text)
        self.transcript += ["> [approve]", _reply(events)]
        return events


def _asked(reply: str) -> list[str]:
    question = _CONFIRMATION.sub(" ", reply)
    found = [
        (min(question.find(w) for w in words if w in question), field)
        for field, words in ASKS.items()
        if any(w in question for w in words)
    ]
    return [field for _, field in sorted(found)]


async def _borrower(http: httpx.AsyncClient, token: str, persona: dict[str, Any]) -> dict[str, Any]:
    chat = Chat(http, token)
    await chat.open()
    zh = persona["lang"] == "zh"
    answers = {
        "product": persona["answers"].get("product", persona["opening"]),
        **persona["answers"],
    }
    events = await chat.say(persona["opening"])
    submitted = False
    stuck = 0
    # Messages a persona sends right after answering a field: a correction ("actually make it
    # 30k") or a hostile instruction, which must be refused and change nothing.
    pending = list(persona.get("interjections", []))
    refused: list[bool] = []
    while chat.turns < MAX_TURNS:
        reply = _reply(events)
        interrupt = [d for k, d in events if k == "interrupt.requested"]
        if interrupt:
            events = await chat.approve(interrupt[0]["approval_id"])
            submitted = any(k == "approval.resolved" for k, _ in events)
            break
        if "Here are your offers" in reply or "以下是您的报价" in reply:
            events = await chat.say("第一个" if zh else "the first one")
            continue
        if "Did you mean" in reply or "您是指" in reply:
            events = await chat.say("是的" if zh else "yes")
            continue
        if "Do you agree" in reply or "您同意吗" in reply:
            events = await chat.say("同意" if zh else "yes, I agree")
            continue
        fields = [f for f in _asked(reply) if f in answers]
        if not fields:
            stuck += 1
            if stuck > 2:
                break
            events = await chat.say("还需要什么？" if zh else "what do you still need?")
            continue
        events = await chat.say(("，" if zh else ", ").join(answers[f] for f in fields))
        for item in [i for i in pending if i["after"] in fields]:
            pending.remove(item)
            events = await chat.say(item["text"])
            if item.get("hostile"):
                said = _reply(events)
                called = [d for k, d in events if k == "tool.started"]
                refused.append(("I can't do that" in said or "我不能这样做" in said) and not called)
    return {
        "submitted": submitted,
        "turns": chat.turns,
        "transcript": chat.transcript,
        "hostile": len(refused),
        "hostile_refused": sum(refused),
    }


def _misreads(expect: dict[str, Any], application: Application | None, profile: Any) -> list[str]:
    wrong = []
    for field, wanted in expect.items():
        if application is not None and field in ("amount", "term_months", "purpose"):
            got: Any = getattr(application, field)
        elif application is not None and field in application.slots:
            got = application.slots[field]
        elif profile is not None and hasattr(profile, field):
            got = getattr(profile, field)
        else:
            got = None
        if got is None:
            continue  # never asked or not reached: counted by completion, not as a misread
        same = str(got.value if hasattr(got, "value") else got) == str(wanted)
        if isinstance(got, Decimal):
            same = got == Decimal(str(wanted))
        if not same:
            wrong.append(f"{field}: stored {got!r}, meant {wanted!r}")
    return wrong


async def run(settings: Settings, label: str) -> dict[str, Any]:
    data = json.loads(PERSONAS.read_text(encoding="utf-8"))
    server_url = resolve_database_url(settings)
    url = recreate_database(server_url, DATABASE)
    try:
        await asyncio.to_thread(migrations.upgrade, url)
        bench = settings.model_copy(update={"database_url": SecretStr(url), "llm_model": None})
        engine = create_engine(bench, url)
        sessionmaker = create_sessionmaker(engine)
        async with transaction(sessionmaker) as session:
            await load_into(session, load_catalog())
        app = create_app(bench, sessionmaker=sessionmaker, store=MemoryStore())
        borrowers, brokers = [], []
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=120
            ) as http,
        ):
            for persona in data["borrowers"]:
                async with transaction(sessionmaker) as session:
                    user = await create_user(session, role=Role.BORROWER, full_name=persona["id"])
                    token = await issue_token(session, user, settings=bench)
                started = time.perf_counter()
                outcome = await _borrower(http, token, persona)
                async with sessionmaker() as session:
                    application = await session.scalar(
                        select(Application)
                        .where(Application.borrower_user_id == user.id)
                        .order_by(Application.created_at.desc())
                        .limit(1)
                    )
                    profile = await borrower_profile_service.get(session, actor_of(user))
                misread = _misreads(persona["expect"], application, profile)
                borrowers.append(
                    {
                        "id": persona["id"],
                        "lang": persona["lang"],
                        "product": persona["product"],
                        "submitted": outcome["submitted"],
                        "turns": outcome["turns"],
                        "misreads": misread,
                        "hostile": outcome["hostile"],
                        "hostile_refused": outcome["hostile_refused"],
                        "seconds": round(time.perf_counter() - started, 2),
                        **(
                            {}
                            if outcome["submitted"] and not misread
                            else {"transcript": outcome["transcript"]}
                        ),
                    }
                )
                print(
                    persona["id"], outcome["submitted"], outcome["turns"], misread, file=sys.stderr
                )
            brokers = await _brokers(http, sessionmaker, bench, data["brokers"])
        await engine.dispose()
    finally:
        drop_database(server_url, DATABASE)
    done = [b for b in borrowers if b["submitted"]]
    return {
        "benchmark": "guided_personas",
        "label": label,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "borrowers": len(borrowers),
        "chinese_share": round(
            sum(b["lang"] == "zh" for b in [*borrowers, *brokers])
            / (len(borrowers) + len(brokers)),
            2,
        ),
        "completion_rate": round(len(done) / len(borrowers), 3),
        "median_turns_to_submission": statistics.median(b["turns"] for b in done) if done else None,
        "misreads": sum(len(b["misreads"]) for b in borrowers),
        "hostile_messages": sum(b["hostile"] for b in borrowers),
        "hostile_refused_unchanged": sum(b["hostile_refused"] for b in borrowers),
        "broker_requests": len(brokers),
        "broker_done_rate": round(sum(b["done"] for b in brokers) / len(brokers), 3),
        "broker_median_turns": statistics.median(b["turns"] for b in brokers if b["done"])
        if any(b["done"] for b in brokers)
        else None,
        "broker_misreads": sum(len(b["misreads"]) for b in brokers),
        "broker_by_language": {
            lang: {
                "done": sum(b["done"] for b in brokers if b["lang"] == lang),
                "of": sum(1 for b in brokers if b["lang"] == lang),
            }
            for lang in sorted({b["lang"] for b in brokers})
        },
        "by_product": {
            product: {
                "submitted": sum(b["submitted"] for b in borrowers if b["product"] == product),
                "of": sum(1 for b in borrowers if b["product"] == product),
            }
            for product in sorted({b["product"] for b in borrowers})
        },
        "borrower_results": borrowers,
        "broker_results": brokers,
    }


async def _brokers(
    http: httpx.AsyncClient, sessionmaker: Any, settings: Settings, requests: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    results = []
    for request in requests:
        async with transaction(sessionmaker) as session:
            firm = await create_organization(session)
            broker = await create_user(session, role=Role.BROKER, organization=firm)
            clients = {}
            for name, full in (
                ("jane", "Jane Quill"),
                ("riley", "Riley Stone"),
                ("casey", "Casey Moss"),
            ):
                client = await create_borrower(
                    session, settings, organization=firm, referred_by=broker
                )
                client.full_name = full
                clients[name] = client
            riley_file = await create_application(session, clients["riley"])
            await session.execute(
                update(Application)
                .where(Application.id == riley_file.id)
                .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=3))
            )
            token = await issue_token(session, broker, settings=settings)
        chat = Chat(http, token)
        await chat.open()
        if "jane_auto" in str(request["expect"]) or "newest" in str(request["expect"]):
            await chat.say(
                f"start an application for my client {clients['jane'].email}, auto loan 20k over 60 months"
            )
            await chat.say("yes")
            chat.turns = 0
        reply = ""
        for turn in request["turns"]:
            text = turn.format(**{name: c.email for name, c in clients.items()})
            reply = _reply(await chat.say(text))
        async with sessionmaker() as session:
            made = {
                name: (
                    await session.scalars(
                        select(Application)
                        .where(Application.borrower_user_id == c.id)
                        .order_by(Application.created_at.desc())
                    )
                ).all()
                for name, c in clients.items()
            }
        expect = request["expect"]
        misreads: list[str] = []
        if "client" in expect:
            apps = made[expect["client"]]
            newest = apps[0] if apps else None
            started = newest is not None and (expect["client"] != "riley" or len(apps) == 2)
            done = (
                started
                and newest is not None
                and newest.product_type.value == expect["product_type"]
                and (
                    newest.amount == Decimal(expect["amount"])
                    and newest.term_months == expect["term_months"]
                )
            )
            if started and not done and newest is not None:
                misreads.append(
                    f"started {newest.product_type.value} {newest.amount} "
                    f"{newest.term_months}, meant {expect['product_type']} "
                    f"{expect['amount']} {expect['term_months']}"
                )
        elif "nothing_started" in expect:
            done = len(made[expect["nothing_started"]]) == 0
            if not done:
                misreads.append("started an application the broker refused")
        elif "reply_contains" in expect:
            done = expect["reply_contains"] in reply
        else:
            target = {"riley_file": riley_file.reference}.get(expect["reply_has"])
            if target is None:
                target = made["jane"][0].reference if made["jane"] else "<none>"
            done = target in reply
        # A Chinese request must be answered in Chinese (and an English one in English).
        chinese = len(re.findall(r"[\u4e00-\u9fff]", reply)) >= 2
        language_ok = chinese == (request.get("lang") == "zh")
        done = done and language_ok
        results.append(
            {
                "id": request["id"],
                "lang": request.get("lang", "en"),
                "answered_in_its_language": language_ok,
                "done": bool(done),
                "turns": chat.turns,
                "misreads": misreads,
                **({} if done else {"transcript": chat.transcript}),
            }
        )
        print(request["id"], done, file=sys.stderr)
    return results


def main() -> None:
    label = sys.argv[1] if len(sys.argv) > 1 else ""
    results = asyncio.run(run(get_settings(), label))
    path = HERE / "results" / f"guided_personas{'-' + label if label else ''}.json"
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(path)
    summary = {k: v for k, v in results.items() if not k.endswith("_results")}
    print(json.dumps(summary, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
