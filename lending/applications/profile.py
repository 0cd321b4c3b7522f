"""The borrower profile service: what a borrower told us, PII sealed at rest, and consents."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from lending import crypto
from lending.applications.ratios import debt_to_income
from lending.applications.repository import READ_SCOPES, WRITE_SCOPES, BorrowerRepository
from lending.applications.requirements import credit_band_for, field_error, requirements
from lending.applications.schemas import (
    BorrowerProfileRead,
    BorrowerProfileUpdate,
    ClientRead,
    ConsentCreate,
    ConsentRead,
    ConsentTextRead,
)
from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.config import Settings
from lending.errors import InvalidInput, NotFound, PermissionDenied
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.models.applications import BorrowerProfile, ConsentKind, ConsentRecord
from lending.models.base import utcnow
from lending.models.identity import Role, User

CHANNELS = frozenset({"web", "chat", "voice", "api", "back_office", "eval"})


def _ssn_context(user_id: uuid.UUID) -> bytes:
    # Binds the sealed value to this borrower and column: copied elsewhere, it will not open.
    return f"borrower_profile:{user_id}:ssn".encode()


def _birth_date_context(user_id: uuid.UUID) -> bytes:
    return f"borrower_profile:{user_id}:date_of_birth".encode()


class BorrowerProfileService:
    async def resolve_borrower(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        user_id: uuid.UUID | None,
        write: bool = False,
    ) -> User:
        """The borrower `actor` means: themselves when `user_id` is omitted (borrowers), else
        a borrower the actor reaches. Anyone else is not found."""
        scopes = WRITE_SCOPES if write else READ_SCOPES
        actor.require_any(*scopes)
        repository = BorrowerRepository.from_session(session)
        if user_id is None:
            if actor.role is not Role.BORROWER:
                raise InvalidInput(
                    [field_error(["borrower_user_id"], "is required: say which borrower")]
                )
            user_id = actor.user_id
        user = await repository.get_scoped_user(actor, user_id, scopes)
        if user is None:
            raise NotFound("No such borrower.")
        return user

    async def find_client(self, session: AsyncSession, actor: Actor, *, email: str) -> ClientRead:
        """The borrower with this e-mail address among those `actor` reaches (a broker's own
        clients, a manager's firm). Anyone else, or no account at all, is the same NotFound:
        the answer never tells whether the address is registered elsewhere."""
        actor.require_any(*READ_SCOPES)
        user = await BorrowerRepository.from_session(session).find_scoped_by_email(actor, email)
        if user is None:
            raise NotFound("None of your clients has that e-mail address.")
        return ClientRead.model_validate(user)

    async def get(
        self, session: AsyncSession, actor: Actor, *, user_id: uuid.UUID | None = None
    ) -> BorrowerProfileRead:
        user = await self.resolve_borrower(session, actor, user_id=user_id)
        repository = BorrowerRepository.from_session(session)
        return await self._read(repository, user, await repository.get_profile(user.id))

    async def update(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        data: BorrowerProfileUpdate,
        settings: Settings,
        user_id: uuid.UUID | None = None,
        origin: Origin | None = None,
    ) -> BorrowerProfileRead:
        """Set the given fields; the SSN and date of birth are sealed before they are stored."""
        user = await self.resolve_borrower(session, actor, user_id=user_id, write=True)
        repository = BorrowerRepository.from_session(session)
        profile = await repository.get_profile(user.id)
        if profile is None:
            profile = BorrowerProfile(user_id=user.id, email=user.email)
            session.add(profile)
        changes = data.model_dump(exclude_unset=True)
        sealer = crypto.encryptor(settings)
        if (ssn := changes.pop("ssn", None)) is not None:
            profile.ssn_encrypted = sealer.encrypt(ssn.encode(), _ssn_context(user.id))
            profile.ssn_last4 = ssn[-4:]
        if (birth_date := changes.pop("date_of_birth", None)) is not None:
            profile.date_of_birth_encrypted = sealer.encrypt(
                birth_date.isoformat().encode(), _birth_date_context(user.id)
            )
        for name, value in changes.items():
            if value is None:
                raise InvalidInput([field_error([name], "cannot be cleared; give a value")])
            setattr(profile, name, value)
        profile.updated_at = utcnow()
        await session.flush()
        updated = await self._read(repository, user, profile)
        await audit_service.record_change(
            session,
            actor,
            "profile.updated",
            origin=origin,
            subject_type="user_account",
            subject_id=user.id,
            fields=data.model_fields_set,
        )
        return updated

    async def record_consent(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        data: ConsentCreate,
        channel: str,
        origin: Origin | None = None,
    ) -> ConsentRead:
        """Record the borrower's own consent (nobody can consent for them)."""
        actor.require(Scope.CONSENTS_GIVE)
        if actor.role is not Role.BORROWER:
            raise PermissionDenied("Only the borrower can give or withdraw their consent.")
        current = requirements().consent_texts[data.kind]
        version = data.text_version or current.version
        if version != current.version:
            raise InvalidInput(
                [
                    field_error(
                        ["text_version"],
                        f"must be the current version {current.version}; show the borrower "
                        "the current text first",
                    )
                ]
            )
        if channel not in CHANNELS:
            raise InvalidInput([field_error(["channel"], f"must be one of {sorted(CHANNELS)}")])
        record = await BorrowerRepository.from_session(session).add_consent(
            ConsentRecord(
                borrower_user_id=actor.user_id,
                kind=data.kind,
                granted=data.granted,
                text_version=version,
                channel=channel,
                recorded_by_user_id=actor.user_id,
                # Set here rather than by now(): two records in one transaction keep their order.
                recorded_at=utcnow(),
            )
        )
        await audit_service.record_change(
            session,
            actor,
            f"consent.{'granted' if data.granted else 'withdrawn'}",
            origin=origin,
            subject_type="user_account",
            subject_id=actor.user_id,
            fields=[data.kind.value],
        )
        return ConsentRead.model_validate(record)

    async def has_credit_check_consent(self, session: AsyncSession, user_id: uuid.UUID) -> bool:
        return await BorrowerRepository.from_session(session).has_consent(
            user_id, ConsentKind.CREDIT_CHECK
        )

    async def reveal_ssn(
        self, session: AsyncSession, *, user_id: uuid.UUID, settings: Settings
    ) -> str | None:
        """The full SSN, for delivery to a lender the borrower chose (system path, never shown
        to a person or a language model)."""
        profile = await BorrowerRepository.from_session(session).get_profile(user_id)
        if profile is None or profile.ssn_encrypted is None:
            return None
        return (
            crypto.encryptor(settings)
            .decrypt(profile.ssn_encrypted, _ssn_context(user_id))
            .decode()
        )

    async def reveal_date_of_birth(
        self, session: AsyncSession, *, user_id: uuid.UUID, settings: Settings
    ) -> date | None:
        """The date of birth, for delivery to a chosen lender (system path)."""
        profile = await BorrowerRepository.from_session(session).get_profile(user_id)
        if profile is None or profile.date_of_birth_encrypted is None:
            return None
        text = crypto.encryptor(settings).decrypt(
            profile.date_of_birth_encrypted, _birth_date_context(user_id)
        )
        return date.fromisoformat(text.decode())

    async def _read(
        self, repository: BorrowerRepository, user: User, profile: BorrowerProfile | None
    ) -> BorrowerProfileRead:
        consents = [
            ConsentRead.model_validate(c) for c in await repository.latest_consents(user.id)
        ]
        texts = [
            ConsentTextRead(kind=kind, version=text.version, text=text.text)
            for kind, text in requirements().consent_texts.items()
        ]
        if profile is None:
            return BorrowerProfileRead(
                user_id=user.id,
                legal_first_name=None,
                legal_last_name=None,
                email=user.email,
                phone=None,
                address_line1=None,
                address_line2=None,
                city=None,
                state=None,
                postal_code=None,
                date_of_birth_on_file=False,
                ssn_last4=None,
                employment_status=None,
                employer_name=None,
                job_title=None,
                employment_start_date=None,
                annual_income=None,
                monthly_debt_payments=None,
                monthly_housing_payment=None,
                estimated_credit_score=None,
                credit_band=None,
                debt_to_income=None,
                consents=consents,
                consent_texts=texts,
                updated_at=None,
            )
        score = profile.estimated_credit_score
        return BorrowerProfileRead(
            user_id=user.id,
            legal_first_name=profile.legal_first_name,
            legal_last_name=profile.legal_last_name,
            email=profile.email,
            phone=profile.phone,
            address_line1=profile.address_line1,
            address_line2=profile.address_line2,
            city=profile.city,
            state=profile.state,
            postal_code=profile.postal_code,
            date_of_birth_on_file=profile.date_of_birth_encrypted is not None,
            ssn_last4=profile.ssn_last4,
            employment_status=profile.employment_status,
            employer_name=profile.employer_name,
            job_title=profile.job_title,
            employment_start_date=profile.employment_start_date,
            annual_income=profile.annual_income,
            monthly_debt_payments=profile.monthly_debt_payments,
            monthly_housing_payment=profile.monthly_housing_payment,
            estimated_credit_score=score,
            credit_band=credit_band_for(score) if score is not None else None,
            debt_to_income=debt_to_income(
                annual_income=profile.annual_income,
                monthly_debt_payments=profile.monthly_debt_payments,
                monthly_housing_payment=profile.monthly_housing_payment,
            ),
            consents=consents,
            consent_texts=texts,
            updated_at=profile.updated_at,
        )


borrower_profile_service = BorrowerProfileService()
