"""What a tool is: an async function with pydantic input and output, a docstring that is the
model's prompt, the scopes it needs, and whether it has side effects or needs approval."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, get_type_hints

import orjson
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy.ext.asyncio import AsyncSession

from lending.config import Settings
from lending.errors import OmnifinError
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from tools.approvals import Confirmation
from tools.context import ToolContext
from tools.messages import key_of

InputT = TypeVar("InputT", bound=BaseModel)
OutputT = TypeVar("OutputT", bound=BaseModel)


class ToolError(Exception):
    """A failure the model should read and can act on: wrong arguments, a refused action, a
    state conflict. `kind` names it (the service error's class name, or InvalidInput,
    PermissionDenied, ApprovalRequired, InternalError); `detail` carries field-level problems;
    `key` is its message key in tools/error_messages.json, by which guided mode says it in the
    conversation's language (`message` stays English: what the API, logs and a model read).
    """

    def __init__(self, kind: str, message: str, *, detail: Any = None, status: int = 400) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.detail = detail
        self.status = status
        self.key = key_of(kind, message)

    @classmethod
    def from_service(cls, error: OmnifinError) -> ToolError:
        detail = error.detail
        if isinstance(detail, str):
            message, detail = detail, None
        elif isinstance(detail, dict) and isinstance(detail.get("message"), str):
            message = detail["message"]
        else:
            message = error.message
        return cls(type(error).__name__, message, detail=detail, status=error.status_code)

    @classmethod
    def from_validation(cls, error: ValidationError) -> ToolError:
        problems = [_problem(item) for item in error.errors(include_url=False)]
        summary = "; ".join(
            f"{'.'.join(str(part) for part in p['loc']) or 'arguments'}: {p['msg']}"
            for p in problems[:5]
        )
        return cls(
            "InvalidInput", f"The arguments are not valid: {summary}", detail=problems, status=422
        )

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.kind, "message": self.message, "key": self.key}
        if self.detail is not None:
            body["detail"] = self.detail
        return body

    def to_text(self) -> str:
        return orjson.dumps(self.payload(), default=str).decode()


def _problem(item: ErrorDetails) -> dict[str, Any]:
    # Shaped like the services' field errors (and the API's, without "body").
    msg = item["msg"].removeprefix("Value error, ")
    return {"loc": list(item["loc"]), "msg": msg, "type": item["type"]}


@dataclass(frozen=True, slots=True)
class ToolCall:
    """What a tool body gets: the run's context and this call's own database session."""

    context: ToolContext
    session: AsyncSession

    @property
    def actor(self) -> Actor:
        return self.context.actor

    @property
    def settings(self) -> Settings:
        return self.context.settings


ToolFunction = Callable[[ToolCall, InputT], Awaitable[OutputT]]
# What to ask the person before this call runs, read in the rehearsal's transaction before the
# tool body; None when this particular call needs no approval (e.g. a first SSN, not a change).
ConfirmFunction = Callable[[ToolCall, InputT], Awaitable[Confirmation | None]]


@dataclass(frozen=True)
class Tool(Generic[InputT, OutputT]):
    """One capability offered to the assistant.

    Attributes:
        name: The contract name the agent uses.
        description: The docstring without its Args section: what the model reads.
        arguments: Each input field's description, from the docstring's Args section.
        scopes: The actor needs at least one of these (e.g. own, firm or all reach); a tool
            the actor lacks is not listed for them and is refused at execution.
        side_effect: It changes something: the call is audited and honours idempotency keys.
        requires_approval: Irreversible (or sensitive): a person approves before it runs,
            asked in the words `confirm` gives.
        confirm: Builds the question put to the person for one call, or None when that call
            needs no approval.
        pii_fields: Input fields that take personal data (an SSN, a date of birth): the only
            arguments into which the conversation vault puts real values back for its tokens.
    """

    name: str
    description: str
    arguments: dict[str, str]
    input_model: type[InputT]
    output_model: type[OutputT]
    scopes: frozenset[Scope]
    side_effect: bool
    requires_approval: bool
    function: ToolFunction[InputT, OutputT]
    confirm: ConfirmFunction[InputT] | None = None
    pii_fields: frozenset[str] = frozenset()

    def allowed(self, actor: Actor) -> bool:
        return any(actor.has(scope) for scope in self.scopes)

    def parameters_schema(self) -> dict[str, Any]:
        """The input's JSON schema, each property described by the docstring's Args entry."""
        schema = self.input_model.model_json_schema()
        schema.pop("title", None)
        for name, prop in schema.get("properties", {}).items():
            prop.pop("title", None)
            if name in self.arguments:
                prop["description"] = self.arguments[name]
        return schema

    def openai_schema(self) -> dict[str, Any]:
        """The OpenAI function-calling form: {"type": "function", "function": {...}}."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters_schema(),
            },
        }


def tool(
    *,
    scopes: Iterable[Scope],
    side_effect: bool = False,
    requires_approval: bool = False,
    confirm: ConfirmFunction[Any] | None = None,
    pii_fields: Iterable[str] = (),
) -> Callable[[ToolFunction[InputT, OutputT]], Tool[InputT, OutputT]]:
    """Declare a tool from `async def name(call: ToolCall, data: Input) -> Output`.

    The docstring must document every input field in its Args section and nothing else:
    that section becomes the JSON schema's field descriptions, the rest the tool description.
    A tool that requires approval gives `confirm`, which words the question for the person.
    """
    required = frozenset(scopes)
    personal = frozenset(pii_fields)

    def declare(function: ToolFunction[InputT, OutputT]) -> Tool[InputT, OutputT]:
        hints = get_type_hints(function)
        parameters = list(inspect.signature(function).parameters)
        if len(parameters) != 2:
            raise TypeError(f"{function.__name__}: a tool takes (call, data)")
        input_model, output_model = hints[parameters[1]], hints["return"]
        description, arguments = parse_docstring(inspect.getdoc(function) or "")
        fields = set(input_model.model_fields)
        if set(arguments) != fields:
            raise TypeError(
                f"{function.__name__}: the docstring's Args must document exactly the input "
                f"fields {sorted(fields)}, not {sorted(arguments)}"
            )
        if not required:
            raise TypeError(f"{function.__name__}: a tool needs at least one scope")
        if requires_approval and not side_effect:
            raise TypeError(f"{function.__name__}: only a side-effecting tool needs approval")
        if requires_approval != (confirm is not None):
            raise TypeError(
                f"{function.__name__}: a tool needs approval exactly when it says how to ask "
                "(confirm=...)"
            )
        if not personal <= fields:
            raise TypeError(
                f"{function.__name__}: pii_fields {sorted(personal - fields)} are not input fields"
            )
        return Tool(
            name=function.__name__,
            description=description,
            arguments=arguments,
            input_model=input_model,
            output_model=output_model,
            scopes=required,
            side_effect=side_effect,
            requires_approval=requires_approval,
            function=function,
            confirm=confirm,
            pii_fields=personal,
        )

    return declare


_SECTION = re.compile(r"^(Args|Arguments|Returns|Raises|Examples?|Notes?):\s*$")
_ARGUMENT = re.compile(r"^(\w+)(?:\s*\([^)]*\))?:\s*(.*)$")


def parse_docstring(docstring: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into (the text without Args, {argument: description})."""
    kept: list[str] = []
    arguments: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    indent: int | None = None
    for line in docstring.splitlines():
        header = _SECTION.match(line.strip()) if not line.startswith(" ") else None
        if header:
            section = header.group(1)
            current, indent = None, None
            if section in ("Args", "Arguments"):
                continue
        if section in ("Args", "Arguments"):
            stripped = line.strip()
            if not stripped:
                continue
            level = len(line) - len(line.lstrip())
            match = _ARGUMENT.match(stripped)
            if match and (indent is None or level <= indent):
                indent = level
                current = match.group(1)
                arguments[current] = match.group(2).strip()
            elif current is not None:
                arguments[current] = f"{arguments[current]} {stripped}".strip()
            continue
        kept.append(line)
    return "\n".join(kept).strip(), arguments
