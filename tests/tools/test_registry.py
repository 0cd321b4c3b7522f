"""The registry: the contract's tool names, docstrings as prompts, JSON schemas, and tools
filtered by the actor's scopes (a tool the actor lacks is not even listed)."""

from __future__ import annotations

import uuid

import pytest
from pydantic import BaseModel

from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.models.identity import Role
from tools.base import ToolCall, parse_docstring, tool
from tools.registry import ToolRegistry, registry

CONTRACT = {
    "start_application",
    "update_application",
    "get_application",
    "list_applications",
    "submit_application",
    "withdraw_application",
    "get_borrower_profile",
    "update_borrower_profile",
    "record_consent",
    "find_lenders",
    "get_offers",
    "accept_offer",
    "compute_payment",
}
DOCUMENTS = {
    "list_required_documents",
    "attach_document",
    "get_document_status",
    "get_extracted_fields",
}
REVIEW = {"verify_document", "reject_document"}


def actor(role: Role) -> Actor:
    return Actor.for_user(uuid.uuid4(), role, uuid.uuid4())


def test_the_contract_names_are_registered() -> None:
    assert CONTRACT <= set(registry.names())


def test_irreversible_tools_need_approval_and_reads_have_no_side_effects() -> None:
    approval = {item.name for item in registry.all() if item.requires_approval}
    assert {"submit_application", "accept_offer"} <= approval
    reads = {"get_application", "list_applications", "get_borrower_profile", "find_lenders"}
    assert all(not registry.get(name).side_effect for name in reads | {"compute_payment"})
    assert registry.get("start_application").side_effect


def test_every_tool_documents_its_arguments_for_the_model() -> None:
    for item in registry.all():
        schema = item.openai_schema()["function"]
        assert schema["name"] == item.name
        assert schema["description"]
        assert "Args:" not in schema["description"]
        properties = schema["parameters"].get("properties", {})
        assert set(properties) == set(item.input_model.model_fields), item.name
        for name, prop in properties.items():
            assert prop.get("description"), f"{item.name}.{name} has no description"
        # The actor never comes from the model's arguments.
        assert not {"actor", "user_id", "organization_id", "role"} & set(properties)


def test_a_tool_the_actor_lacks_is_not_listed() -> None:
    prompt_engineer = {item.name for item in registry.for_actor(actor(Role.PROMPT_ENGINEER))}
    # Everyone may have a copy of their own data and ask to be erased (issue 22).
    own_data = {"get_my_data_copy", "request_my_erasure"}
    assert prompt_engineer == {"compute_payment", "search_knowledge"} | own_data
    borrower = {item.name for item in registry.for_actor(actor(Role.BORROWER))}
    # "Anything new on my application?" (issue 19): everyone with applications to ask about.
    assert (
        borrower == CONTRACT | DOCUMENTS | {"search_knowledge", "check_my_notifications"} | own_data
    )
    admin = {item.name for item in registry.for_actor(actor(Role.PLATFORM_ADMIN))}
    assert "submit_application" not in admin
    assert "accept_offer" not in admin
    assert "record_consent" not in admin
    broker = {item.name for item in registry.for_actor(actor(Role.BROKER))}
    assert "record_consent" not in broker
    assert "accept_offer" not in broker
    assert REVIEW <= broker
    # A document reminder goes from a broker to their own client only.
    assert "remind_client_about_documents" in broker
    assert "remind_client_about_documents" not in borrower
    # Tools over a book of clients: staff only (a borrower has get_offers for their own).
    book = {"find_client", "list_expiring_offers"}
    assert book <= broker
    assert book <= admin
    assert book <= {item.name for item in registry.for_actor(actor(Role.BROKER_MANAGER))}
    assert not book & borrower
    assert REVIEW <= admin
    schemas = registry.json_schemas(actor(Role.PROMPT_ENGINEER))
    assert [s["function"]["name"] for s in schemas] == [
        "compute_payment",
        "search_knowledge",
        *sorted(own_data),
    ]


def test_docstring_args_are_parsed_google_style() -> None:
    text, arguments = parse_docstring(
        "Do a thing.\n\nMore words.\n\nArgs:\n    first: One line.\n    second (int): Two\n"
        "        lines.\n\nReturns:\n    Something."
    )
    assert arguments == {"first": "One line.", "second": "Two lines."}
    assert text == "Do a thing.\n\nMore words.\n\nReturns:\n    Something."


class _In(BaseModel):
    value: int


class _Out(BaseModel):
    value: int


def test_a_tool_must_document_exactly_its_input_fields() -> None:
    async def undocumented(call: ToolCall, data: _In) -> _Out:
        """Does things.

        Args:
            other: Not a field.
        """
        return _Out(value=data.value)

    with pytest.raises(TypeError, match="exactly the input fields"):
        tool(scopes=[Scope.CHAT_USE])(undocumented)

    async def fine(call: ToolCall, data: _In) -> _Out:
        """Does things.

        Args:
            value: A number.
        """
        return _Out(value=data.value)

    declared = tool(scopes=[Scope.CHAT_USE])(fine)
    with pytest.raises(ValueError, match="two tools"):
        ToolRegistry([declared, declared])
    with pytest.raises(TypeError, match="side-effecting"):
        tool(scopes=[Scope.CHAT_USE], requires_approval=True)(fine)
