"""Every error message a tool call can show a person, read from the source: the raise sites of the
modules the tools reach, their field-level messages, and the error classes' default messages.

Used by tests/tools/test_error_messages.py to check that each one has a key in
tools/error_messages.json (English and Chinese). A message built at run time is read as a
template: each computed part becomes "{}".
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

from lending.errors import OmnifinError

ROOT = Path(__file__).resolve().parents[2]

# The modules whose errors a tool call passes on: the tools themselves, the services they call
# and what those raise through. Log lines and errors of start-up, migrations, webhooks and the
# back office are not here: no chat shows them.
MODULES = (
    "tools/registry.py",
    "tools/approvals.py",
    "tools/lending.py",
    "tools/documents.py",
    "tools/knowledge.py",
    "tools/commissions.py",
    "agents/core/nodes.py",
    "lending/identity/actor.py",
    "lending/applications/service.py",
    "lending/applications/profile.py",
    "lending/applications/repository.py",
    "lending/applications/requirements.py",
    "lending/applications/transitions.py",
    "lending/offers/service.py",
    "lending/lenders/service.py",
    "lending/documents/service.py",
    "lending/documents/upload.py",
    "lending/commissions/commission_rules.py",
    "lending/commissions/servicing.py",
    "lending/commissions/accrual.py",
    "lending/commissions/entries.py",
    "lending/commissions/payout_batches.py",
    "lending/commissions/reconciliation.py",
    "knowledge/common.py",
    "knowledge/search.py",
    "knowledge/ingest.py",
    "knowledge/entries.py",
    "knowledge/reindex.py",
)
# Modules whose error classes are raised through the tools (their default messages count).
CLASS_MODULES = (
    "lending.errors",
    "lending.applications.service",
    "lending.applications.repository",
    "lending.applications.transitions",
    "lending.offers.service",
    "lending.documents.service",
    "lending.documents.upload",
    "lending.commissions.errors",
    "knowledge.embeddings",
)


def _error_names() -> set[str]:
    for name in CLASS_MODULES:
        importlib.import_module(name)
    names = {"ToolError"}
    pending: list[type[OmnifinError]] = [OmnifinError]
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return names


def error_classes() -> list[type[OmnifinError]]:
    """OmnifinError and its subclasses raised through the tools."""
    for name in CLASS_MODULES:
        importlib.import_module(name)
    found: list[type[OmnifinError]] = []
    pending: list[type[OmnifinError]] = [OmnifinError]
    while pending:
        cls = pending.pop()
        if cls.__module__ in CLASS_MODULES:
            found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def _template(node: ast.expr, assigned: dict[str, list[ast.expr]]) -> list[str]:
    """The message templates an expression can produce ("{}" for computed parts)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value.replace("{", "{{").replace("}", "}}")]
    if isinstance(node, ast.JoinedStr):
        text = ""
        for part in node.values:
            if isinstance(part, ast.Constant):
                text += str(part.value).replace("{", "{{").replace("}", "}}")
            else:
                text += "{}"
        return [text]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [
            a + b for a in _template(node.left, assigned) for b in _template(node.right, assigned)
        ]
    if isinstance(node, ast.Name) and node.id in assigned:
        return [t for value in assigned[node.id] for t in _template(value, assigned)]
    if isinstance(node, ast.Attribute) and node.attr == "message":
        return []  # a class's default message: collected from the class itself
    if isinstance(node, ast.IfExp):
        return _template(node.body, assigned) + _template(node.orelse, assigned)
    return ["{}"]


def _messages(node: ast.expr, assigned: dict[str, list[ast.expr]]) -> Iterator[tuple[str, str]]:
    """(kind, template) for an error's first argument: "message" or "field"."""
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and key.value == "message":
                for text in _template(value, assigned):
                    yield "message", text
        return
    if isinstance(node, ast.List):
        return  # field problems: collected everywhere by _field_messages
    if isinstance(node, ast.Name) and node.id in assigned:
        values = assigned[node.id]
        if all(isinstance(v, ast.List | ast.ListComp) for v in values):
            return
    for text in _template(node, assigned):
        yield "message", text


def _field_messages(tree: ast.AST) -> Iterator[str]:
    # `_SlotError(loc, msg)` too: requirements.py raises it and turns it into a field_error.
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("field_error", "_problem", "_SlotError")
            and len(node.args) >= 2
        ):
            index = 2 if node.func.id == "_problem" else 1
            if len(node.args) > index:
                yield from _template(node.args[index], {})
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "msg":
                    yield from _template(value, {})


def _assignments(function: ast.AST) -> dict[str, list[ast.expr]]:
    assigned: dict[str, list[ast.expr]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
    return assigned


def _called(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            return func.id
        if isinstance(func, ast.Attribute):
            return func.attr
    return None


def user_visible_messages() -> list[tuple[str, str, str]]:
    """(where, kind, template) for each message: kind is "message", "field" or "default"."""
    names = _error_names()
    found: list[tuple[str, str, str]] = []
    for relative in MODULES:
        path = ROOT / relative
        tree = ast.parse(path.read_text(), filename=str(path))
        functions = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        for function in functions:
            assigned = _assignments(function)
            for node in ast.walk(function):
                if not isinstance(node, ast.Raise) or node.exc is None:
                    continue
                name = _called(node.exc)
                if name not in names:
                    continue
                assert isinstance(node.exc, ast.Call)
                args = node.exc.args
                where = f"{relative}:{node.lineno}"
                if name == "ToolError":
                    if len(args) >= 2:
                        for text in _template(args[1], assigned):
                            found.append((where, "message", text))
                    continue
                if args:
                    for kind, text in _messages(args[0], assigned):
                        found.append((where, kind, text))
                for keyword in node.exc.keywords:
                    if keyword.arg == "detail":
                        for kind, text in _messages(keyword.value, assigned):
                            found.append((where, kind, text))
        for text in _field_messages(tree):
            found.append((relative, "field", text))
    for cls in error_classes():
        found.append((f"{cls.__module__}.{cls.__name__}", "default", cls.message))
    return found
