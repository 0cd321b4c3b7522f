"""The privacy tools: a copy of one's data ("send me a copy of my data") and asking to be erased.

Thin wrappers over lending.privacy.service, with its permission checks; the person is always the
actor (never an argument the model chooses). The copy itself is a ZIP the person downloads from
the web app or the API (the link below): a chat message cannot carry a file.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lending.identity.scopes import Scope
from lending.privacy.schemas import ErasureRequestCreate
from lending.privacy.service import privacy_service
from tools.approvals import Confirmation
from tools.base import Tool, ToolCall, tool

EXPORT_PATH = "/api/v1/privacy/export"


class NoInput(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErasureInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=500)


class DataCopyRead(BaseModel):
    download_path: str
    # Kinds of records held about the person and how many of each (no values).
    records: dict[str, int]
    note: str


class ErasureRequestedRead(BaseModel):
    request_id: str
    status: str
    note: str


@tool(scopes=[Scope.PRIVACY_OWN])
async def get_my_data_copy(call: ToolCall, data: NoInput) -> DataCopyRead:
    """Give the person a copy of everything the platform holds about them.

    Use when they ask for their data, a copy of their data, or what is held about them. Tell them
    the kinds of records held and that the download link gives a ZIP with all of it, including
    their original documents; do not read values out.
    """
    records = await privacy_service.summary(call.session, call.actor)
    return DataCopyRead(
        download_path=EXPORT_PATH,
        records=records,
        note="The ZIP holds JSON files and the original documents; downloading it is recorded.",
    )


async def _confirm_erasure(call: ToolCall, data: ErasureInput) -> Confirmation:
    return Confirmation(
        en="I'm about to ask for your personal data to be erased. An administrator reviews the "
        "request; once approved it cannot be undone: your profile, documents and conversations "
        "are deleted and your account is closed. Records the law requires (credit decisions, "
        "commissions, the audit log) are kept under an anonymous name. Shall I send the "
        "request? (yes or no)",
        zh="我将为您提交删除个人数据的申请。管理员审核通过后无法撤销：您的资料、文件和对话将被删除，"
        "账户将被关闭。法律要求保留的记录（信贷决定、佣金、审计日志）将以匿名名称保留。要提交吗？（是或否）",
        details={"action": "erasure request"},
    )


@tool(
    scopes=[Scope.PRIVACY_OWN],
    side_effect=True,
    requires_approval=True,
    confirm=_confirm_erasure,
)
async def request_my_erasure(call: ToolCall, data: ErasureInput) -> ErasureRequestedRead:
    """Ask for the person's own personal data to be erased (an administrator reviews it).

    Only when the person clearly asks to have their data deleted or their account erased.

    Args:
        reason: The person's reason, in a few words.
    """
    request = await privacy_service.request_erasure(
        call.session, call.actor, data=ErasureRequestCreate(reason=data.reason)
    )
    return ErasureRequestedRead(
        request_id=str(request.id),
        status=request.status,
        note="An administrator reviews the request; the person is not erased until then.",
    )


PRIVACY_TOOLS: list[Tool[Any, Any]] = [get_my_data_copy, request_my_erasure]
