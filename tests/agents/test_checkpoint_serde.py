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


def test_a_message_read_again_is_the_one_read_before_and_is_not_encoded_again() -> None:
    ours = MessageCachingSerializer()
    written = JsonPlusSerializer().dumps_typed(_conversation())  # as another process wrote it
    first = ours.loads_typed(written)
    second = ours.loads_typed(written)  # the next turn reads the same checkpoint blob
    assert second == first == _conversation()
    assert all(a is b for a, b in zip(first, second, strict=True))
    assert second is not first  # a list of its own: the state's list is not shared
    # Its encoding is its own bytes: written back unchanged, as the library writes it.
    assert ours.dumps_typed(second) == written
    assert len(ours._encoded) == 4


def test_an_edited_message_is_a_new_entry_and_the_oldest_entries_go() -> None:
    ours = MessageCachingSerializer(decoded_messages=3)
    library = JsonPlusSerializer()
    [original] = ours.loads_typed(library.dumps_typed([HumanMessage("hi", id="m1")]))
    [edited] = ours.loads_typed(library.dumps_typed([HumanMessage("hello", id="m1")]))
    assert (original.content, edited.content) == ("hi", "hello")
    ours.loads_typed(library.dumps_typed(_conversation()))
    assert len(ours._decoded) == 3  # bounded: the oldest went first
    [read_again] = ours.loads_typed(library.dumps_typed([HumanMessage("hi", id="m1")]))
    assert read_again == original
    assert read_again is not original  # decoded afresh once it had gone


def test_values_that_are_not_messages_are_decoded_as_the_library_does() -> None:
    ours = MessageCachingSerializer()
    library = JsonPlusSerializer()
    state = {"guided": {"slot": "amount", "lang": "en"}, "vault": {"[SSN-1]": "sealed"}}
    assert ours.loads_typed(library.dumps_typed(state)) == state
    assert ours.loads_typed(library.dumps_typed(state)) is not ours.loads_typed(
        library.dumps_typed(state)
    )
    assert ours._decoded == {}
