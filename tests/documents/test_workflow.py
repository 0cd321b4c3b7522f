"""The document workflow end to end over REST and the extraction job: fields with confidence and
spans, every fraud signal on its tampered variant, review, type correction, completeness, and
the injection fixture changing nothing."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from evals.synthetic_documents import Format, SyntheticDocument, Variant, generate
from lending import crypto
from lending.applications.profile import borrower_profile_service
from lending.applications.schemas import BorrowerProfileUpdate
from lending.config import Settings
from lending.db import SessionMaker
from lending.documents.service import field_context
from lending.documents.tasks import run_extraction
from lending.documents.types import DocumentType
from lending.models.applications import Application, ApplicationStatus
from lending.models.documents import Document, DocumentField, DocumentStatus
from lending.models.identity import Role, User
from tests.identity.factories import actor_of, bearer, create_user, issue_token
from tests.lending.factories import create_application, create_borrower


async def _applicant(
    session: AsyncSession, settings: Settings, document: SyntheticDocument, broker: User
) -> User:
    """A borrower whose profile names the person the synthetic document was made for."""
    borrower = await create_borrower(session, settings, referred_by=broker)
    assert document.applicant.full_name is not None
    first, _, last = document.applicant.full_name.rpartition(" ")
    await borrower_profile_service.update(
        session,
        actor_of(borrower),
        settings=settings,
        data=BorrowerProfileUpdate(
            legal_first_name=first.split(" ")[0],
            legal_last_name=last,
            date_of_birth=document.applicant.date_of_birth,
        ),
    )
    return borrower


class World:
    def __init__(
        self,
        client: httpx.AsyncClient,
        session: AsyncSession,
        sessionmaker: SessionMaker,
        settings: Settings,
    ) -> None:
        self.client, self.session, self.sessionmaker, self.settings = (
            client,
            session,
            sessionmaker,
            settings,
        )

    async def headers(self, user: User) -> dict[str, str]:
        return bearer(await issue_token(self.session, user, settings=self.settings))

    async def upload(
        self,
        user: User,
        application_id: uuid.UUID,
        document: SyntheticDocument,
        declared: DocumentType | None,
    ) -> str:
        data = {"application_id": str(application_id)}
        if declared is not None:
            data["document_type"] = declared.value
        response = await self.client.post(
            "/api/v1/documents",
            data=data,
            files={"file": ("upload.bin", document.data, "application/octet-stream")},
            headers=await self.headers(user),
        )
        assert response.status_code == 201, response.text
        document_id: str = response.json()["id"]
        return document_id

    async def extract(self, document_id: str, today: date) -> DocumentStatus | None:
        return await run_extraction(
            self.sessionmaker, self.settings, uuid.UUID(document_id), today=today
        )

    async def read(self, user: User, document_id: str) -> dict[str, object]:
        response = await self.client.get(
            f"/api/v1/documents/{document_id}", headers=await self.headers(user)
        )
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body


@pytest.fixture
def world(
    doc_client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: SessionMaker,
    doc_settings: Settings,
) -> World:
    return World(doc_client, session, sessionmaker, doc_settings)


@pytest.mark.parametrize(
    "document_type",
    [
        DocumentType.PAY_STUB,
        DocumentType.BANK_STATEMENT,
        DocumentType.W2,
        DocumentType.IDENTIFICATION,
    ],
)
async def test_a_clean_document_is_extracted_with_its_values_then_verified(
    world: World, document_type: DocumentType
) -> None:
    document = generate(document_type, seed=2)
    broker = await create_user(world.session, role=Role.BROKER)
    borrower = await _applicant(world.session, world.settings, document, broker)
    application = await create_application(world.session, borrower)
    document_id = await world.upload(borrower, application.id, document, declared=None)

    status = await world.extract(document_id, document.today)

    assert status is DocumentStatus.EXTRACTED
    body = await world.read(borrower, document_id)
    assert body["document_type"] == document_type.value
    assert body["suggested_type"] == document_type.value
    assert body["signals"] == []
    assert body["review_reasons"] == []
    fields = {f["name"]: f for f in body["fields"]}  # type: ignore[attr-defined]
    for name, expected in document.expected.items():
        found = fields[name]
        assert found["span"] is not None, name
        assert 0 < found["confidence"] <= 1, name
        if found["sensitive"]:
            assert found["value"] == "****" + str(expected)[-4:]
        elif isinstance(expected, str):
            assert " ".join(str(found["value"]).split()).lower() == expected.lower(), name
        else:
            assert str(found["value"]) == str(expected), name

    verified = await world.client.post(
        f"/api/v1/documents/{document_id}/verify", headers=await world.headers(broker)
    )

    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "verified"
    assert verified.json()["reviewed_by_user_id"] == str(broker.id)
    statuses = [e["to_status"] for e in verified.json()["events"] if e["kind"] == "status"]
    assert statuses == ["processing", "extracted", "verified"]


async def test_an_ids_number_is_stored_encrypted_and_shown_masked(world: World) -> None:
    document = generate(DocumentType.IDENTIFICATION, seed=3)
    broker = await create_user(world.session, role=Role.BROKER)
    borrower = await _applicant(world.session, world.settings, document, broker)
    application = await create_application(world.session, borrower)
    document_id = await world.upload(
        borrower, application.id, document, DocumentType.IDENTIFICATION
    )

    await world.extract(document_id, document.today)

    number = str(document.expected["document_number"])
    row = (
        await world.session.execute(
            select(DocumentField).where(
                DocumentField.document_id == uuid.UUID(document_id),
                DocumentField.name == "document_number",
            )
        )
    ).scalar_one()
    assert row.sensitive
    assert row.value == "****" + number[-4:]
    assert row.value_encrypted is not None
    assert number.encode() not in row.value_encrypted
    opened = crypto.encryptor(world.settings).decrypt(
        row.value_encrypted, field_context(uuid.UUID(document_id), "document_number")
    )
    assert opened.decode() == number
    stored = await world.session.get(Document, uuid.UUID(document_id))
    assert stored is not None
    assert stored.text_encrypted is not None
    assert number.encode() not in stored.text_encrypted


TAMPERED = [
    (DocumentType.PAY_STUB, Variant.EDITED_METADATA, "editing_software"),
    (DocumentType.PAY_STUB, Variant.MODIFIED_AFTER_CREATION, "modified_after_creation"),
    (DocumentType.PAY_STUB, Variant.WRONG_NAME, "name_mismatch"),
    (DocumentType.PAY_STUB, Variant.INCONSISTENT_YTD, "ytd_inconsistent"),
    (DocumentType.PAY_STUB, Variant.STALE, "stale_document"),
    (DocumentType.BANK_STATEMENT, Variant.BALANCE_MISMATCH, "balance_mismatch"),
    (DocumentType.BANK_STATEMENT, Variant.WRONG_NAME, "name_mismatch"),
    (DocumentType.W2, Variant.EDITED_METADATA, "editing_software"),
    (DocumentType.IDENTIFICATION, Variant.WRONG_NAME, "name_mismatch"),
]


@pytest.mark.parametrize(
    ("document_type", "variant", "code"), TAMPERED, ids=[f"{t}-{v}" for t, v, _ in TAMPERED]
)
async def test_each_tampered_variant_is_flagged_and_goes_to_review(
    world: World, document_type: DocumentType, variant: Variant, code: str
) -> None:
    document = generate(document_type, seed=4, variant=variant)
    broker = await create_user(world.session, role=Role.BROKER)
    borrower = await _applicant(world.session, world.settings, document, broker)
    application = await create_application(world.session, borrower)
    document_id = await world.upload(borrower, application.id, document, document_type)

    status = await world.extract(document_id, document.today)

    assert status is DocumentStatus.NEEDS_REVIEW
    body = await world.read(broker, document_id)
    signals = {s["code"]: s for s in body["signals"]}  # type: ignore[attr-defined]
    assert code in signals, signals
    assert signals[code]["severity"] in ("low", "medium", "high")
    assert signals[code]["description"]
    assert any(code in reason for reason in body["review_reasons"])  # type: ignore[attr-defined]


async def test_the_injection_pay_stub_changes_nothing(world: World) -> None:
    document = generate(DocumentType.PAY_STUB, seed=6, variant=Variant.INJECTION)
    broker = await create_user(world.session, role=Role.BROKER)
    borrower = await _applicant(world.session, world.settings, document, broker)
    application = await create_application(world.session, borrower)
    document_id = await world.upload(borrower, application.id, document, DocumentType.PAY_STUB)

    status = await world.extract(document_id, document.today)

    assert status is DocumentStatus.NEEDS_REVIEW
    body = await world.read(borrower, document_id)
    assert "embedded_instructions" in {s["code"] for s in body["signals"]}  # type: ignore[attr-defined]
    assert body["reviewed_by_user_id"] is None
    stored = await world.session.get(Application, application.id)
    assert stored is not None
    await world.session.refresh(stored)
    assert stored.status is ApplicationStatus.DRAFT
    assert stored.version == application.version
    # The borrower cannot verify their own document, whatever the document says.
    refused = await world.client.post(
        f"/api/v1/documents/{document_id}/verify", headers=await world.headers(borrower)
    )
    assert refused.status_code == 403


async def test_rejection_with_a_reason_and_completeness(world: World) -> None:
    stub = generate(DocumentType.PAY_STUB, seed=7)
    identity = generate(DocumentType.IDENTIFICATION, seed=7)
    broker = await create_user(world.session, role=Role.BROKER)
    borrower = await _applicant(world.session, world.settings, stub, broker)
    application = await create_application(world.session, borrower)
    path = f"/api/v1/applications/{application.id}/documents"

    before = (await world.client.get(path, headers=await world.headers(borrower))).json()
    stub_id = await world.upload(borrower, application.id, stub, DocumentType.PAY_STUB)
    await world.extract(stub_id, stub.today)
    id_id = await world.upload(borrower, application.id, identity, DocumentType.IDENTIFICATION)
    await world.extract(id_id, identity.today)
    received = (await world.client.get(path, headers=await world.headers(borrower))).json()
    rejected = await world.client.post(
        f"/api/v1/documents/{id_id}/reject",
        json={"reason": "The photo does not match the applicant."},
        headers=await world.headers(broker),
    )
    again = await world.client.post(
        f"/api/v1/documents/{id_id}/verify", headers=await world.headers(broker)
    )
    await world.client.post(
        f"/api/v1/documents/{stub_id}/verify", headers=await world.headers(broker)
    )
    after = (await world.client.get(path, headers=await world.headers(borrower))).json()
    application_read = await world.client.get(
        f"/api/v1/applications/{application.id}", headers=await world.headers(borrower)
    )

    assert before["completeness"]["missing"] == ["identity", "income"]
    assert before["completeness"]["complete"] is False
    assert received["completeness"]["missing"] == []
    assert sorted(received["completeness"]["unverified"]) == ["identity", "income"]
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["status_reason"] == "The photo does not match the applicant."
    assert again.status_code == 409
    assert after["completeness"]["missing"] == ["identity"]
    assert after["completeness"]["unverified"] == []
    assert application_read.json()["missing_documents"] == ["identity"]


async def test_correcting_the_type_runs_extraction_again(world: World) -> None:
    document = generate(DocumentType.W2, seed=8)
    broker = await create_user(world.session, role=Role.BROKER)
    borrower = await _applicant(world.session, world.settings, document, broker)
    application = await create_application(world.session, borrower)
    document_id = await world.upload(borrower, application.id, document, DocumentType.PAY_STUB)
    first = await world.extract(document_id, document.today)

    corrected = await world.client.post(
        f"/api/v1/documents/{document_id}/type",
        json={"document_type": "w2"},
        headers=await world.headers(borrower),
    )
    second = await world.extract(document_id, document.today)

    assert first is DocumentStatus.NEEDS_REVIEW  # declared a pay stub, reads as a W-2
    assert corrected.status_code == 200
    assert corrected.json()["status"] == "uploaded"
    assert second is DocumentStatus.EXTRACTED
    body = await world.read(borrower, document_id)
    assert body["document_type"] == "w2"
    assert {f["name"] for f in body["fields"]} >= {"wages", "tax_year", "ein"}  # type: ignore[attr-defined]


async def test_a_result_overtaken_by_a_type_correction_is_dropped(world: World) -> None:
    from lending.documents import tasks

    document = generate(DocumentType.PAY_STUB, seed=9)
    broker = await create_user(world.session, role=Role.BROKER)
    borrower = await _applicant(world.session, world.settings, document, broker)
    application = await create_application(world.session, borrower)
    document_id = await world.upload(borrower, application.id, document, DocumentType.PAY_STUB)
    started = await tasks._start(world.sessionmaker, world.settings, uuid.UUID(document_id))
    assert started is not None
    from lending.documents.extraction import analyse

    analysis = await analyse(
        started[2], started[3], declared_type=started[4], applicant=started[1], today=document.today
    )
    await world.client.post(
        f"/api/v1/documents/{document_id}/type",
        json={"document_type": "w2"},
        headers=await world.headers(borrower),
    )

    outcome = await tasks._finish(
        world.sessionmaker, world.settings, uuid.UUID(document_id), started[0], analysis
    )

    assert outcome is None
    body = await world.read(borrower, document_id)
    assert body["status"] == "uploaded"
    assert body["fields"] == []


async def test_a_scan_without_ocr_needs_ocr_and_goes_to_a_person(world: World) -> None:
    document = generate(DocumentType.PAY_STUB, seed=10, fmt=Format.PNG)
    broker = await create_user(world.session, role=Role.BROKER)
    borrower = await _applicant(world.session, world.settings, document, broker)
    application = await create_application(world.session, borrower)
    document_id = await world.upload(borrower, application.id, document, DocumentType.PAY_STUB)
    no_ocr = world.settings.model_copy(update={"documents_tesseract_cmd": None})

    status = await run_extraction(
        world.sessionmaker, no_ocr, uuid.UUID(document_id), today=document.today
    )

    assert status is DocumentStatus.NEEDS_REVIEW
    body = await world.read(broker, document_id)
    statuses = [e["to_status"] for e in body["events"] if e["kind"] == "status"]  # type: ignore[attr-defined]
    assert statuses == ["processing", "needs_ocr", "needs_review"]
    assert any("needs_ocr" in r for r in body["review_reasons"])  # type: ignore[attr-defined]
