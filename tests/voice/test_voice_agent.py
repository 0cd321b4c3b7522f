"""Voice turns through LiveKit's AgentSession (text mode) over our adapter and the real turn
runner: approvals answered by voice under the strict yes/no rules, a failing tool, Chinese, and
the spoken progress phrase (issue 18)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

from langchain_core.messages import AIMessage
from livekit.agents import Agent, AgentSession
from livekit.agents.voice.run_result import RunResult
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.events import (
    Event,
    MessageCompleted,
    RunCompleted,
    RunStarted,
    Token,
    ToolFinished,
    ToolStarted,
)
from agents.runner import TurnRequest
from agents.scripted import ScriptedChatModel
from agents.threads import thread_service
from lending.config import Settings
from lending.models.applications import Application
from lending.models.chat import ChatMessage, ChatRun
from lending.models.tools import ApprovalStatus, ToolApproval
from tests.agents.sse import borrower_with_token
from tests.identity.factories import actor_of
from tests.lending.factories import create_application
from tests.voice.conftest import OpenTurns
from voice.adapter import RunnerLLM, SpokenTurn
from voice.recorder import VoiceRecorder
from voice.speakable import speakable


def _withdraw(application_id: str) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[
            {
                "name": "withdraw_application",
                "args": {"application_id": application_id, "reason": "found another loan"},
                "id": f"call_{uuid.uuid4().hex[:12]}",
            }
        ],
    )


async def _talk(agent_llm: RunnerLLM, *lines: str) -> list[str]:
    """Each line said in turn; what the assistant said after each (one string per turn)."""
    replies: list[str] = []
    async with AgentSession(llm=agent_llm) as session:
        await session.start(Agent(instructions="Omnifin's assistant (the turn runner decides)."))
        for line in lines:
            result: RunResult[None] = await session.run(user_input=line)
            message = result.expect.next_event().is_message(role="assistant")
            replies.append(" ".join(str(part) for part in message.event().item.content).strip())
    return replies


async def _status(session: AsyncSession, application_id: str) -> str:
    application = await session.get(Application, uuid.UUID(application_id))
    assert application is not None
    await session.refresh(application)
    return application.status.value


async def test_a_withdrawal_is_asked_by_voice_and_only_a_clear_yes_runs_it(
    with_turns: OpenTurns, session: AsyncSession, settings: Settings
) -> None:
    borrower, _ = await borrower_with_token(session, settings)
    application = await create_application(session, borrower)
    thread = await thread_service.create(session, actor_of(borrower), graph=None, channel="voice")
    await session.commit()
    app_id = str(application.id)
    model = ScriptedChatModel(
        script=[
            _withdraw(app_id),
            AIMessage(content="**Done**: your application is withdrawn."),
            _withdraw(app_id),
            AIMessage(content="It is withdrawn now."),
        ]
    )
    turns: list[SpokenTurn] = []
    async with with_turns(model) as dispatcher:
        agent_llm = RunnerLLM(
            turns=dispatcher, actor=actor_of(borrower), thread_id=thread.id, on_turn=turns.append
        )
        asked, refused, asked_again, unclear, approved = await _talk(
            agent_llm,
            "please withdraw my application",
            "I do not want to submit it yet",
            "withdraw it please",
            "hmm, maybe, what happens to my credit?",
            "yes",
        )

    reference = speakable(application.reference, "en")
    # The question restates the action (the reference read out), and asks for a yes or no.
    assert reference in asked
    assert "withdraw" in asked
    assert asked.endswith("Please say yes or no.")
    assert "(yes or no)" not in asked
    assert "withdraw_application" not in asked
    # A refusal ran nothing and the assistant's reply to it is what is spoken.
    assert "withdrawn" in refused
    # Unclear: nothing runs, the question is put again.
    assert "clear yes or no" in unclear
    assert reference in asked_again
    assert unclear.endswith("Please say yes or no.")
    assert "(yes or no)" not in unclear  # the written hint is not read out before the prompt
    assert "It is withdrawn now." in approved
    assert await _status(session, app_id) == "withdrawn"
    statuses = [
        status
        for (status,) in (
            await session.execute(
                select(ToolApproval.status)
                .where(ToolApproval.thread_id == thread.id)
                .order_by(ToolApproval.created_at)
            )
        ).all()
    ]
    assert statuses == [ApprovalStatus.REJECTED, ApprovalStatus.EXECUTED]
    # The first refusal left the application as it was (the second question existed only
    # because nothing had run).
    # Every turn went through the runner on the voice channel; the thread records them.
    assert all(turn.run_id for turn in turns)
    assert [turn.events[0] for turn in turns] == ["run.started"] * 5
    contents = (
        await session.scalars(
            select(ChatMessage.content)
            .where(ChatMessage.thread_id == thread.id, ChatMessage.role == "user")
            .order_by(ChatMessage.id)
        )
    ).all()
    assert contents[0] == "please withdraw my application"
    assert "yes" in contents


async def test_markdown_never_reaches_speech_and_the_transcript_keeps_the_figures(
    with_turns: OpenTurns, session: AsyncSession, settings: Settings
) -> None:
    borrower, _ = await borrower_with_token(session, settings)
    thread = await thread_service.create(session, actor_of(borrower), graph=None, channel="voice")
    await session.commit()
    written = (
        "## Your offers\n\n"
        "1. **Acme Bank**: $412.50 a month at 6.49% p.a.\n"
        "2. Beta Credit: $420.00 a month at 6.9%\n"
        "3. Gamma: $433.10 a month\n"
        "4. Delta: $450.00 a month\n\n"
        "Reply by 2026-12-08."
    )
    model = ScriptedChatModel(script=[AIMessage(content=written)])
    async with with_turns(model) as dispatcher:
        agent_llm = RunnerLLM(turns=dispatcher, actor=actor_of(borrower), thread_id=thread.id)
        [spoken] = await _talk(agent_llm, "what are my offers?")
    for mark in ("**", "##", "$", "%", "1."):
        assert mark not in spoken
    assert "There are four items" in spoken
    assert "412 dollars and 50 cents" in spoken
    assert "6.49 percent per year" in spoken
    assert "8 December 2026" in spoken
    assert "Delta" not in spoken  # summarised: the full list is in the chat
    stored = (
        await session.scalars(
            select(ChatMessage.content).where(
                ChatMessage.thread_id == thread.id, ChatMessage.role == "assistant"
            )
        )
    ).all()
    assert any("$412.50" in text and "Delta" in text for text in stored)


async def test_a_failing_tool_is_never_read_out_and_the_reply_explains(
    with_turns: OpenTurns, session: AsyncSession, settings: Settings
) -> None:
    borrower, _ = await borrower_with_token(session, settings)
    thread = await thread_service.create(session, actor_of(borrower), graph=None, channel="voice")
    await session.commit()
    missing = str(uuid.uuid4())
    model = ScriptedChatModel(
        script=[
            AIMessage(
                content="",
                tool_calls=[
                    {"name": "get_application", "args": {"application_id": missing}, "id": "c1"}
                ],
            ),
            AIMessage(content="I couldn't find that application."),
        ]
    )
    turns: list[SpokenTurn] = []
    async with with_turns(model) as dispatcher:
        agent_llm = RunnerLLM(
            turns=dispatcher, actor=actor_of(borrower), thread_id=thread.id, on_turn=turns.append
        )
        [spoken] = await _talk(agent_llm, "how is application " + missing + " doing?")
    assert spoken.strip() == "I couldn't find that application."
    [turn] = turns
    assert turn.events.index("tool.started") < turn.events.index("tool.finished")
    assert turn.events[-1] == "run.completed"
    assert model.calls == 2  # the tool ran once; no retry repeated the turn


async def test_chinese_question_and_refusal_by_voice(
    with_turns: OpenTurns, session: AsyncSession, settings: Settings
) -> None:
    borrower, _ = await borrower_with_token(session, settings)
    application = await create_application(session, borrower)
    thread = await thread_service.create(session, actor_of(borrower), graph=None, channel="voice")
    await session.commit()
    app_id = str(application.id)
    model = ScriptedChatModel(script=[_withdraw(app_id), AIMessage(content="好的，申请保持不变。")])
    async with with_turns(model) as dispatcher:
        agent_llm = RunnerLLM(turns=dispatcher, actor=actor_of(borrower), thread_id=thread.id)
        asked, unclear, refused = await _talk(
            agent_llm, "请帮我撤回贷款申请", "这是什么意思？", "不同意"
        )
    assert "撤回" in asked
    assert asked.endswith("请回答“是”或“否”。")
    assert "（是或否）" not in asked
    assert speakable(application.reference, "zh") in asked
    assert "我还没有执行任何操作" in unclear
    assert "申请保持不变" in refused
    assert await _status(session, app_id) == "draft"


class _SlowTool:
    """Turns whose tool takes `seconds`: what a slow lender search looks like to the adapter."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def start(self, request: TurnRequest) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        yield RunStarted(run_id="r1", thread_id="t1", graph="borrower", mode="llm")
        yield ToolStarted(call_id="c1", tool="find_lenders", args={})
        await asyncio.sleep(self.seconds)
        yield ToolFinished(call_id="c1", tool="find_lenders", ok=True, result={"lenders": ["A"]})
        yield Token(text="I found one lender.")
        yield MessageCompleted(message_id="m1", text="I found one lender.")
        yield RunCompleted(latency_ms=1.0, tokens={"input_tokens": 1, "output_tokens": 1}, cost=0)  # type: ignore[arg-type]


async def test_a_slow_tool_gets_one_short_spoken_phrase_and_a_fast_one_none(
    session: AsyncSession, settings: Settings
) -> None:
    borrower, _ = await borrower_with_token(session, settings)
    actor: Any = actor_of(borrower)
    slow = RunnerLLM(turns=_SlowTool(0.3), actor=actor, thread_id=uuid.uuid4(), progress_after=0.01)
    [spoken] = await _talk(slow, "find me lenders")
    assert spoken == "One moment, I'm checking the lenders. I found one lender."
    fast = RunnerLLM(turns=_SlowTool(0), actor=actor, thread_id=uuid.uuid4(), progress_after=5)
    [spoken] = await _talk(fast, "find me lenders")
    assert "One moment" not in spoken
    assert "I found one lender." in spoken


async def test_barge_in_stops_the_speech_and_the_thread_keeps_only_what_was_heard(
    with_turns: OpenTurns, session: AsyncSession, settings: Settings
) -> None:
    borrower, _ = await borrower_with_token(session, settings)
    thread = await thread_service.create(session, actor_of(borrower), graph=None, channel="voice")
    await session.commit()
    hold = asyncio.Event()
    model = ScriptedChatModel(script=[AIMessage(content="A long answer. It goes on.")], hold=hold)
    turns: list[SpokenTurn] = []
    async with with_turns(model) as dispatcher:
        recorder = VoiceRecorder(dispatcher.runner.sessionmaker)

        def on_turn(turn: SpokenTurn) -> None:
            turns.append(turn)
            recorder.on_turn(turn)

        agent_llm = RunnerLLM(
            turns=dispatcher, actor=actor_of(borrower), thread_id=thread.id, on_turn=on_turn
        )
        async with AgentSession(llm=agent_llm) as voice:
            recorder.follow(agent_llm, voice)
            await voice.start(Agent(instructions="test"))
            voice.generate_reply(user_input="tell me everything")
            await model.started()
            # The person speaks over the assistant: LiveKit stops the reply and closes our stream.
            await voice.interrupt(force=True)
            hold.set()  # the model answers anyway, after the speech was cut
            await dispatcher.drain(timeout=10)
            await recorder.drain()
    # Our stream was closed mid-turn: nothing went to speech; the rest of the turn was followed
    # (unspoken) to its end.
    [cut] = turns
    assert cut.cut
    assert cut.spoken == []
    assert cut.done.is_set()
    assert cut.run_id is not None
    # The turn itself was not cancelled: it finished, and the thread keeps what was heard
    # (nothing) with the cut-off marker in place of the whole reply.
    run = await session.scalar(select(ChatRun).where(ChatRun.thread_id == thread.id))
    assert run is not None
    await session.refresh(run)
    assert run.status == "completed"
    assert str(run.id) == cut.run_id
    assert run.voice == {"interrupted": True, "unspoken_chars": len("A long answer. It goes on.")}
    replies = (
        await session.scalars(
            select(ChatMessage.content).where(
                ChatMessage.thread_id == thread.id, ChatMessage.role == "assistant"
            )
        )
    ).all()
    assert replies == ["[interrupted]"]
