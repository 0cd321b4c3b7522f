"""Every table that holds personal data, with how a person's rows are found and what export and
erasure do with them; and every other table, with why it holds none.

`tests/privacy/test_registry.py` reads the ORM metadata: a table missing from both maps, or a
table said to hold no personal data that has a column to a person or a personal-looking column,
fails. Adding a table means deciding its rule here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Erasure(enum.StrEnum):
    DELETE = "delete"  # the rows go
    ANONYMISE = "anonymise"  # the rows stay, their personal columns replaced by the pseudonym
    KEEP = "keep"  # the law or the ledger needs them; they name the person only by id


@dataclass(frozen=True, slots=True)
class Rule:
    table: str
    # SQL condition on the table selecting one person's rows; `:user_id` is the person.
    owner: str
    export: bool
    erasure: Erasure
    reason: str
    # Columns never exported (secrets, hashes of secrets); binary (sealed) columns never are.
    omit: tuple[str, ...] = ()


_APPS = "SELECT id FROM loan_application WHERE borrower_user_id = :user_id"
_DOCS = (
    "SELECT id FROM document WHERE uploaded_by_user_id = :user_id OR application_id IN ("
    + _APPS
    + ")"
)
_THREADS = "SELECT id FROM chat_thread WHERE user_id = :user_id"
_LOANS = "SELECT id FROM funded_loan WHERE borrower_user_id = :user_id"
_LEGAL = "kept by law: a record of a credit decision and its disclosures (ECOA/Reg B, TILA)"
_STAFF = (
    "kept: staff authorship is part of the record it authored; the person is named only by an "
    "id whose account is anonymised"
)

RULES: dict[str, Rule] = {
    rule.table: rule
    for rule in (
        Rule(
            "user_account",
            "id = :user_id",
            True,
            Erasure.ANONYMISE,
            "the account stays (other records point at it) with e-mail and name replaced by the "
            "pseudonym, sign-in disabled, secrets removed",
            omit=("password_hash",),
        ),
        Rule(
            "access_token",
            "user_id = :user_id",
            True,
            Erasure.DELETE,
            "sessions end",
            ("token_hash",),
        ),
        Rule(
            "mfa_recovery_code",
            "user_id = :user_id",
            True,
            Erasure.DELETE,
            "no longer needed",
            ("code_hash",),
        ),
        Rule(
            "invitation",
            "used_by_user_id = :user_id",
            True,
            Erasure.ANONYMISE,
            "the firm's record of the invitation stays; the invitee's e-mail goes",
            ("code_hash",),
        ),
        Rule(
            "mfa_reset_request",
            "user_id = :user_id OR requested_by_user_id = :user_id OR decided_by_user_id = :user_id",
            True,
            Erasure.KEEP,
            "kept: the record of a security change to an account (maker-checker); it names "
            "people only by ids whose accounts are anonymised",
        ),
        Rule(
            "borrower_profile",
            "user_id = :user_id",
            True,
            Erasure.DELETE,
            "contact details, SSN, date of birth, income: removed",
        ),
        Rule(
            "consent_record",
            "borrower_user_id = :user_id",
            True,
            Erasure.KEEP,
            "kept: proof of the consent a credit check relied on (no personal values in it)",
        ),
        Rule(
            "loan_application",
            "borrower_user_id = :user_id",
            True,
            Erasure.ANONYMISE,
            "drafts are removed; an application that reached a decision is "
            + _LEGAL
            + ", with its "
            "free-form intake answers removed",
        ),
        Rule("application_event", f"application_id IN ({_APPS})", True, Erasure.KEEP, _LEGAL),
        Rule("prequalification", f"application_id IN ({_APPS})", True, Erasure.KEEP, _LEGAL),
        Rule("offer", f"application_id IN ({_APPS})", True, Erasure.KEEP, _LEGAL),
        Rule("lender_submission", f"application_id IN ({_APPS})", True, Erasure.KEEP, _LEGAL),
        Rule(
            "document",
            f"id IN ({_DOCS})",
            True,
            Erasure.DELETE,
            "crypto-shredded: each file's data key is destroyed with its row and the file deleted",
            ("storage_key", "storage_backend", "chunk_bytes", "key_id"),
        ),
        Rule(
            "document_field", f"document_id IN ({_DOCS})", True, Erasure.DELETE, "with its document"
        ),
        Rule(
            "document_signal",
            f"document_id IN ({_DOCS})",
            True,
            Erasure.DELETE,
            "with its document",
        ),
        Rule(
            "document_event", f"document_id IN ({_DOCS})", True, Erasure.DELETE, "with its document"
        ),
        Rule(
            "chat_thread", "user_id = :user_id", True, Erasure.DELETE, "conversations are removed"
        ),
        Rule(
            "chat_message",
            f"thread_id IN ({_THREADS})",
            True,
            Erasure.DELETE,
            "conversations are removed",
        ),
        Rule(
            "chat_run",
            f"thread_id IN ({_THREADS})",
            True,
            Erasure.DELETE,
            "conversations are removed",
            # A running turn's message as the graph receives it, with sealed vault entries.
            omit=("resume_input",),
        ),
        Rule(
            "chat_feedback", "user_id = :user_id", True, Erasure.DELETE, "conversations are removed"
        ),
        Rule(
            "tool_approval",
            "actor_user_id = :user_id",
            True,
            Erasure.DELETE,
            "questions asked in conversations",
        ),
        Rule(
            "tool_call",
            "actor_user_id = :user_id",
            True,
            Erasure.DELETE,
            "results of the assistant's actions",
        ),
        Rule(
            "funded_loan",
            "borrower_user_id = :user_id",
            True,
            Erasure.ANONYMISE,
            "kept: the commission ledger rests on it; the borrower's name becomes the pseudonym",
        ),
        Rule(
            "loan_servicing_event",
            f"loan_id IN ({_LOANS})",
            True,
            Erasure.KEEP,
            "kept with the funded loan",
        ),
        Rule(
            "lender_statement_line",
            f"loan_id IN ({_LOANS})",
            True,
            Erasure.ANONYMISE,
            "kept for reconciliation; the borrower's name becomes the pseudonym",
        ),
        Rule(
            "commission_entry",
            "payee_id = :user_id",
            True,
            Erasure.KEEP,
            "kept: the commission ledger is append-only and audited",
        ),
        Rule("payout_batch_item", "payee_id = :user_id", True, Erasure.KEEP, "kept: payments made"),
        Rule(
            "audit_event",
            "actor_user_id = :user_id OR (subject_type = 'user' AND subject_id = CAST(:user_id AS text))",
            True,
            Erasure.KEEP,
            "kept: the hash-chained audit log; it names people by id only, and the IP address "
            "lives apart (audit_event_personal)",
            ("prev_hash", "hash", "ip_digest"),
        ),
        Rule(
            "audit_event_personal",
            "event_id IN (SELECT id FROM audit_event WHERE actor_user_id = :user_id)",
            True,
            Erasure.DELETE,
            "the IP addresses of the person's actions; the chain keeps only a salted digest",
            ("salt",),
        ),
        Rule(
            "erasure_request",
            "subject_user_id = :user_id",
            True,
            Erasure.KEEP,
            "kept: the record that the erasure happened and what it kept",
        ),
        Rule(
            "prompt_experiment_assignment",
            "user_id = :user_id",
            True,
            Erasure.DELETE,
            "which prompt variant the person saw",
        ),
        Rule("commission_rule", "created_by_user_id = :user_id", False, Erasure.KEEP, _STAFF),
        Rule(
            "commission_rule_version", "created_by_user_id = :user_id", False, Erasure.KEEP, _STAFF
        ),
        Rule(
            "payout_batch",
            "created_by_user_id = :user_id OR approved_by_user_id = :user_id",
            False,
            Erasure.KEEP,
            _STAFF,
        ),
        Rule("lender_statement", "imported_by_user_id = :user_id", False, Erasure.KEEP, _STAFF),
        Rule("prompt", "created_by_user_id = :user_id", False, Erasure.KEEP, _STAFF),
        Rule("prompt_version", "author_user_id = :user_id", False, Erasure.KEEP, _STAFF),
        Rule("prompt_label", "moved_by_user_id = :user_id", False, Erasure.KEEP, _STAFF),
        Rule("prompt_experiment", "created_by_user_id = :user_id", False, Erasure.KEEP, _STAFF),
        Rule("knowledge_entry", "created_by = :user_id", False, Erasure.KEEP, _STAFF),
        Rule("knowledge_version", "author_id = :user_id", False, Erasure.KEEP, _STAFF),
        Rule(
            "analytics_event",
            "user_id = :user_id",
            True,
            Erasure.DELETE,
            "what the person did, by id (funnel and agent metrics): erased with them; the "
            "rollups lose their counts at the next refresh",
        ),
        Rule(
            "mail_message",
            "user_id = :user_id",
            True,
            Erasure.DELETE,
            "mail sent to the person (address in clear, content sealed): erased with them",
            omit=("content_sealed",),
        ),
        Rule(
            "email_link_token",
            "user_id = :user_id",
            False,
            Erasure.DELETE,
            "single-use reset and verification links (hashes only): erased with the person",
            omit=("token_hash",),
        ),
        Rule(
            "notification",
            "user_id = :user_id",
            True,
            Erasure.DELETE,
            "what the person was told in the app: erased with them",
        ),
        Rule(
            "notification_preference",
            "user_id = :user_id",
            True,
            Erasure.DELETE,
            "how the person chose to be told of each kind: erased with them",
        ),
        Rule(
            "email_change_request",
            "user_id = :user_id",
            True,
            Erasure.DELETE,
            "an address the person asked to move to (confirmed or not): erased with them",
        ),
        Rule("lender_version", "created_by_user_id = :user_id", False, Erasure.KEEP, _STAFF),
        Rule(
            "lender_product_version", "created_by_user_id = :user_id", False, Erasure.KEEP, _STAFF
        ),
        Rule(
            "lender_webhook_secret",
            "created_by_user_id = :user_id",
            False,
            Erasure.KEEP,
            _STAFF,
            omit=("secret_encrypted",),
        ),
        Rule(
            "eval_request",
            "requested_by_user_id = :user_id",
            False,
            Erasure.KEEP,
            _STAFF,
        ),
    )
}

# Tables outside the ORM metadata holding personal data: LangGraph's checkpoints of a
# conversation (keyed by the thread id as text). Erased with the conversation; not exported (the
# conversation itself is, from chat_message).
CHECKPOINT_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")

NOT_PERSONAL: dict[str, str] = {
    "commission_jurisdiction": "reference data",
    "eval_run": "eval runs over scripted scenarios",
    "eval_result": "transcripts of scripted eval scenarios, no real person",
    "knowledge_embedding_set": "embedding model bookkeeping",
    "knowledge_chunk": "published knowledge text",
    "lender": "the lender catalogue",
    "lender_product": "the lender catalogue",
    "lender_webhook_delivery": (
        "a lender's webhook requests: references, event ids and a summary without personal data"
    ),
    "organization": "a broker firm (a business, not a person)",
    "analytics_refresh": "when the analytics rollups were last refreshed",
    "job_trace": "a background job's trace id",
}
