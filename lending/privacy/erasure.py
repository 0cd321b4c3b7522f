"""Carrying out one person's erasure: what goes, what is anonymised, what is kept and why.

Used by the review of a request (lending.privacy.service) and by the re-application of
completed erasures after a backup is restored (lending.privacy.ledger). Besides the person's own
rows it reaches what others recorded about them: a broker (or staff member) acting for the person
left tool results in their own conversations (the transcript, the assistant's checkpoints, the
idempotent tool results and approvals). Those are found by the values that identify the person
(ids, application references, e-mail, full name) and anonymised or removed.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lending.documents.storage import BlobStore
from lending.models.identity import User
from lending.privacy.registry import RULES, Erasure
from lending.privacy.repository import PrivacyRepository

# What a broker's transcript shows where a message held data of a person since erased.
ERASED_NOTE = "[removed: this held data of a person whose data was erased]"

# The person's own rows, children before parents.
_DELETED = (
    "tool_approval",
    "tool_call",
    "chat_feedback",
    "chat_message",
    "chat_run",
    "chat_thread",
    "document_field",
    "document_signal",
    "document_event",
    "document",
    "borrower_profile",
    "access_token",
    "mfa_recovery_code",
    "audit_event_personal",
    "prompt_experiment_assignment",
    "analytics_event",
    "mail_message",
    "email_change_request",
    "email_link_token",
    "notification",
    "notification_preference",
)
# Shorter names would match unrelated words in other people's conversations.
_SHORTEST_NAME = 5


async def identifying_values(session: AsyncSession, user_id: uuid.UUID) -> list[str]:
    """The values by which others' records point at the person (lower case, for matching)."""
    repository = PrivacyRepository.from_session(session)
    user = await session.get(User, user_id)
    assert user is not None
    values = {str(user_id), user.email}
    if user.full_name and len(user.full_name) >= _SHORTEST_NAME:
        values.add(user.full_name)
    for row in await repository.rows_of(RULES["borrower_profile"], user_id):
        first, last = row.get("legal_first_name"), row.get("legal_last_name")
        if first and last:
            values.update({f"{first} {last}", f"{last}{first}"})
        if row.get("email"):
            values.add(row["email"])
    for row in await repository.rows_of(RULES["loan_application"], user_id):
        values.update({str(row["id"]), row["reference"]})
    values.update(str(document_id) for document_id, _ in await repository.documents_of(user_id))
    return sorted({value.lower() for value in values if value})


async def erase_person(
    session: AsyncSession, user_id: uuid.UUID, pseudonym: str, files: BlobStore
) -> dict[str, Any]:
    """Remove or anonymise one person's data; return counts per table and what was kept.

    The document files are deleted from `files` last: were the transaction to roll back, running
    the erasure again finishes it."""
    repository = PrivacyRepository.from_session(session)
    removed: dict[str, int] = {}
    anonymised: dict[str, int] = {}
    kept: dict[str, dict[str, Any]] = {}
    for rule in RULES.values():
        if rule.erasure is Erasure.KEEP:
            count = await repository.count_of(rule, user_id)
            if count:
                kept[rule.table] = {"rows": count, "why": rule.reason}
    documents = await repository.documents_of(user_id)
    threads = await repository.threads_of(user_id)
    # Others' records of the person first: finding them needs the rows about to go.
    markers = await identifying_values(session, user_id)
    others = await repository.others_records(user_id, markers)
    removed["checkpoints"] = await repository.delete_checkpoints(threads)
    for table in _DELETED:
        removed[table] = await repository.delete_owned(table, user_id)
    # Drafts go; an application that reached a decision is kept without its intake answers.
    removed["loan_application"] = await repository.execute(
        "DELETE FROM loan_application WHERE borrower_user_id = :user_id "
        "AND status = 'draft' AND submitted_at IS NULL AND decided_at IS NULL",
        user_id=user_id,
    )
    anonymised["loan_application"] = await repository.execute(
        "UPDATE loan_application SET slots = '{}'::jsonb WHERE borrower_user_id = :user_id",
        user_id=user_id,
    )
    if anonymised["loan_application"]:
        kept["loan_application"] = {
            "rows": anonymised["loan_application"],
            "why": RULES["loan_application"].reason,
        }
    anonymised["lender_statement_line"] = await repository.execute(
        "UPDATE lender_statement_line SET borrower_name = :name "
        f"WHERE {RULES['lender_statement_line'].owner}",
        user_id=user_id,
        name=pseudonym,
    )
    anonymised["funded_loan"] = await repository.execute(
        "UPDATE funded_loan SET borrower_name = :name WHERE borrower_user_id = :user_id",
        user_id=user_id,
        name=pseudonym,
    )
    user = await session.get(User, user_id)
    assert user is not None
    anonymised["invitation"] = await repository.execute(
        "UPDATE invitation SET email = NULL "
        "WHERE used_by_user_id = :user_id OR lower(email) = lower(:email)",
        user_id=user_id,
        email=user.email,
    )
    # What brokers and staff recorded while acting for the person, in their own conversations.
    removed["others_checkpoints"] = await repository.delete_checkpoints(others.thread_ids)
    anonymised["others_chat_message"] = await repository.anonymise_messages(
        others.message_ids, ERASED_NOTE
    )
    anonymised["others_chat_run"] = await repository.anonymise_run_errors(
        others.run_ids, ERASED_NOTE
    )
    removed["others_tool_call"] = await repository.delete_by_ids("tool_call", others.tool_call_ids)
    removed["others_tool_approval"] = await repository.delete_by_ids(
        "tool_approval", others.approval_ids
    )
    user.email = f"{pseudonym}@erased.invalid"
    user.full_name = pseudonym
    user.is_active = False
    user.password_hash = "!erased"
    user.mfa_secret_encrypted = None
    user.mfa_enabled_at = None
    user.referral_code = None
    user.last_login_at = None
    anonymised["user_account"] = 1
    await session.flush()
    # Crypto-shredding: the data keys went with the rows; the files go now.
    for _, storage_key in documents:
        await files.delete(storage_key)
    return {
        "removed": {k: v for k, v in removed.items() if v},
        "anonymised": {k: v for k, v in anonymised.items() if v},
        "kept": kept,
        "document_files_destroyed": len(documents),
    }


async def preview_erasure(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    """What erasing the person would do, before anyone approves it: per registered table, the
    person's rows and whether they go, are anonymised or are kept, with why; and how many
    records in others' conversations mention them. Reads only."""
    repository = PrivacyRepository.from_session(session)
    tables = []
    for rule in RULES.values():
        count = await repository.count_of(rule, user_id)
        if count:
            tables.append(
                {
                    "table": rule.table,
                    "action": rule.erasure.value,
                    "rows": count,
                    "why": rule.reason,
                }
            )
    others = await repository.others_records(user_id, await identifying_values(session, user_id))
    return {
        "tables": tables,
        "documents": len(await repository.documents_of(user_id)),
        "others": {
            "conversations": len(others.thread_ids),
            "messages": len(others.message_ids),
            "tool_results": len(others.tool_call_ids),
            "approvals": len(others.approval_ids),
            "turn_errors": len(others.run_ids),
        },
    }
