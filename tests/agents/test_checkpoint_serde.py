"""The checkpointer's serialiser writes the library's bytes, encoding each message once."""

from __future__ import annotations

import gc

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from agents.checkpoint import MessageCachingSerializer


def _conversation() -> list[object]:
    return [
        HumanMessage("what would 25k cost?", id="m1"),
        AIMessage(
            "",
            id="m2",
            tool_calls=[{"name": "compute_payment", "args": {"amount": "25000"}, "id": "c1"}],
        ),
        ToolMessage('{"monthly_payment": "500.95"}', tool_call_id="c1", id="m3"),
        AIMessage("About $501 a month.", id="m4"),
    ]


def test_the_bytes_are_the_librarys_and_read_back_the_same() -> None:
    messages = _conversation()
    ours = MessageCachingSerializer()
    first = ours.dumps_typed(messages)
    again = ours.dumps_typed(messages)  # from the cache
    assert first == again == JsonPlusSerializer().dumps_typed(messages)
    assert ours.loads_typed(again) == messages
    state = {"messages": messages, "mode": "llm", "vault": {}}
    assert ours.dumps_typed(state) == JsonPlusSerializer().dumps_typed(state)


def test_a_message_given_its_id_later_is_encoded_again() -> None:
    ours = MessageCachingSerializer()
    message = AIMessage("Hello.")
    ours.dumps_typed([message])  # as a task's write, before the state gives it an id
    message.id = "assigned-later"
    decoded = ours.loads_typed(ours.dumps_typed([message]))
    assert decoded[0].id == "assigned-later"
    message.id = "assigned-again"
    assert ours.loads_typed(ours.dumps_typed([message]))[0].id == "assigned-again"


def test_nothing_is_kept_for_a_message_that_is_gone() -> None:
    ours = MessageCachingSerializer()
    messages = _conversation()
    ours.dumps_typed(messages)
    assert len(ours._encoded) == 4
    del messages
    gc.collect()
    assert ours._encoded == {}
