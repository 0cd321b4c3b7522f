"""The catalog service: lenders and products created, edited and retired as dated versions.

The one way the catalog changes (the REST routes, the back office and `omnifin seed demo` all
call it). Its API, for the back office (every function takes `(session, actor, *, ...)`,
requires `lenders:manage` — platform administrators — and never commits):

- reads: `list_lenders(on=)` and `get_lender(lender_id, on=)` give each lender as of a day
  (default today): its version in effect, the versions scheduled after it, its products the
  same way, its integration settings; `lender_history` / `product_history` list every version.
- writes: `create_lender`, `edit_lender`, `retire_lender`, `create_product`, `edit_product`,
  `retire_product`. Each writes one new version, effective from a day (today or later, default
  today, never before the latest version's day) and audits it in the same transaction.
  An edit carries only the fields that change; the merged version is validated as a whole.
  Retiring writes a last, inactive version: nothing is ever deleted or rewritten, so an offer
  priced with a version can always read it back (`offer.product_version_id`).
- idempotent: a create repeated with the same details returns the first version; an edit or a
  retirement that changes nothing returns the latest version; neither writes nor audits again.

Which version is in effect on a day: the latest `effective_from` on or before it, the highest
version among equals. Matching and pricing read the versions of the day
(`LenderRepository.catalog_on`); the `lender`/`lender_product` rows mirror the version in effect
today, for everything that only shows names, and `apply_due_versions` (hourly job) brings them
up to date when a scheduled version takes effect.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lending.audit.schemas import Origin
from lending.audit.service import audit_service
from lending.errors import Conflict, InvalidInput, NotFound
from lending.identity.actor import Actor
from lending.identity.scopes import Scope
from lending.lenders.integration_service import integration_service
from lending.lenders.repository import LenderRepository
from lending.lenders.schemas import (
    CatalogLender,
    CatalogProduct,
    CatalogSpec,
    LenderCreate,
    LenderDetailsSpec,
    LenderEdit,
    LenderVersionRead,
    ProductCreate,
    ProductEdit,
    ProductTermsSpec,
    ProductVersionRead,
    Retirement,
)
from lending.models.lenders import Lender, LenderProduct, LenderProductVersion, LenderVersion

_Spec = TypeVar("_Spec", LenderDetailsSpec, ProductTermsSpec)

_LENDER_FIELDS = tuple(LenderDetailsSpec.model_fields)
_PRODUCT_FIELDS = tuple(ProductTermsSpec.model_fields)


class RetiredError(Conflict):
    message = "This is retired: it can no longer be changed."


class EffectiveDateError(Conflict):
    message = "A change cannot take effect before the latest version."


def today() -> date:
    """The catalog's day: versions take effect by the UTC date."""
    return datetime.now(UTC).date()


class CatalogService:
    # Reads

    async def list_lenders(
        self, session: AsyncSession, actor: Actor, *, on: date | None = None
    ) -> list[CatalogLender]:
        """Every lender (retired ones too) as of `on`, by name."""
        actor.require(Scope.LENDERS_MANAGE)
        repository = LenderRepository.from_session(session)
        return [
            await self._describe(session, lender, on or today())
            for lender in await repository.all_lenders()
        ]

    async def get_lender(
        self, session: AsyncSession, actor: Actor, *, lender_id: uuid.UUID, on: date | None = None
    ) -> CatalogLender:
        actor.require(Scope.LENDERS_MANAGE)
        lender = await LenderRepository.from_session(session).get_lender(lender_id)
        if lender is None:
            raise NotFound("No such lender.")
        return await self._describe(session, lender, on or today())

    async def lender_history(
        self, session: AsyncSession, actor: Actor, *, lender_id: uuid.UUID
    ) -> list[LenderVersionRead]:
        """Every version of the lender's details, oldest first."""
        actor.require(Scope.LENDERS_MANAGE)
        versions = await LenderRepository.from_session(session).lender_history(lender_id)
        if not versions:
            raise NotFound("No such lender.")
        return [LenderVersionRead.model_validate(version) for version in versions]

    async def product_history(
        self, session: AsyncSession, actor: Actor, *, product_id: uuid.UUID
    ) -> list[ProductVersionRead]:
        """Every version of the product's terms, oldest first."""
        actor.require(Scope.LENDERS_MANAGE)
        versions = await LenderRepository.from_session(session).product_history(product_id)
        if not versions:
            raise NotFound("No such product.")
        return [ProductVersionRead.model_validate(version) for version in versions]

    # Writes

    async def create_lender(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        data: LenderCreate,
        origin: Origin | None = None,
    ) -> LenderVersionRead:
        """A new lender, version 1 effective from `data.effective_from`.

        Raises:
            Conflict: another lender has the slug (the same request again returns version 1).
            EffectiveDateError: the day is in the past.
        """
        actor.require(Scope.LENDERS_MANAGE)
        details = LenderDetailsSpec.model_validate(data.model_dump(include=set(_LENDER_FIELDS)))
        effective_from = _check_day(data.effective_from, None)
        repository = LenderRepository.from_session(session)
        existing = await repository.get_lender_by_slug(data.slug)
        if existing is not None:
            first = (await repository.lender_history(existing.id))[:1]
            if first and _lender_spec(first[0]) == details:
                return LenderVersionRead.model_validate(first[0])
            raise Conflict({"message": "A lender already has this slug.", "slug": data.slug})
        lender = Lender(id=uuid.uuid4(), slug=data.slug, current_version=0)
        _copy(details.model_dump(), lender)
        lender.active = False  # until its first version is in effect
        try:
            # A savepoint: the same slug created at the same moment by another request fails
            # here, on the unique index, and is the same Conflict as when it was seen above.
            async with session.begin_nested():
                await repository.add(lender)
        except IntegrityError:
            raise Conflict(
                {"message": "A lender already has this slug.", "slug": data.slug}
            ) from None
        version = await self._new_lender_version(
            session, lender, details, True, effective_from, data.note, actor.user_id
        )
        await _audit(session, actor, origin, "lender.created", version, _LENDER_FIELDS)
        return LenderVersionRead.model_validate(version)

    async def edit_lender(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        lender_id: uuid.UUID,
        data: LenderEdit,
        origin: Origin | None = None,
    ) -> LenderVersionRead:
        """A new version of the lender's details with the fields given.

        Raises:
            NotFound: no such lender.
            RetiredError: the lender is retired (or its retirement is scheduled).
            EffectiveDateError: the day is in the past or before the latest version's.
            InvalidInput: the merged details are not valid.
        """
        return await self._change_lender(session, actor, origin, lender_id, data)

    async def retire_lender(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        lender_id: uuid.UUID,
        data: Retirement,
        origin: Origin | None = None,
    ) -> LenderVersionRead:
        """Retire the lender from a day: none of its products is offered from then on.

        Raises:
            NotFound: no such lender.
            EffectiveDateError: the day is in the past or before the latest version's.
        """
        return await self._change_lender(session, actor, origin, lender_id, data)

    async def create_product(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        lender_id: uuid.UUID,
        data: ProductCreate,
        origin: Origin | None = None,
    ) -> ProductVersionRead:
        """A new product of the lender, version 1 effective from `data.effective_from`.

        Raises:
            NotFound: no such lender.
            RetiredError: the lender is retired.
            Conflict: the lender has a product with this code (the same request again returns
                version 1).
            EffectiveDateError: the day is in the past.
        """
        actor.require(Scope.LENDERS_MANAGE)
        terms = ProductTermsSpec.model_validate(data.model_dump(include=set(_PRODUCT_FIELDS)))
        lender, latest_lender = await self._lender_and_latest(session, lender_id)
        repository = LenderRepository.from_session(session)
        existing = await repository.get_product_by_code(lender.id, data.code)
        if existing is not None:
            first = (await repository.product_history(existing.id))[:1]
            if first and _product_spec(first[0]) == terms:
                return ProductVersionRead.model_validate(first[0])
            raise Conflict(
                {"message": "The lender has a product with this code.", "code": data.code}
            )
        _refuse_retired(latest_lender.active, "lender")
        effective_from = _check_day(data.effective_from, None)
        product = LenderProduct(id=uuid.uuid4(), lender_id=lender.id, code=data.code)
        _copy(term_values(terms), product)
        product.active = False  # until its first version is in effect
        product.current_version = 0
        await repository.add(product)
        version = await self._new_product_version(
            session, product, terms, True, effective_from, data.note, actor.user_id
        )
        await _audit(session, actor, origin, "lender_product.created", version, _PRODUCT_FIELDS)
        return ProductVersionRead.model_validate(version)

    async def edit_product(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        product_id: uuid.UUID,
        data: ProductEdit,
        origin: Origin | None = None,
    ) -> ProductVersionRead:
        """A new version of the product's terms with the fields given.

        Raises:
            NotFound: no such product.
            RetiredError: the product is retired (or its retirement is scheduled).
            EffectiveDateError: the day is in the past or before the latest version's.
            InvalidInput: the merged terms are not valid (min above max, an unknown state...).
        """
        return await self._change_product(session, actor, origin, product_id, data)

    async def retire_product(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        product_id: uuid.UUID,
        data: Retirement,
        origin: Origin | None = None,
    ) -> ProductVersionRead:
        """Retire the product from a day: it is not offered from then on.

        Raises:
            NotFound: no such product.
            EffectiveDateError: the day is in the past or before the latest version's.
        """
        return await self._change_product(session, actor, origin, product_id, data)

    # System paths (no actor)

    async def apply_due_versions(self, session: AsyncSession, *, on: date | None = None) -> int:
        """Copy the version in effect on `on` (default today) into every lender and product row
        that mirrors an older one; returns how many rows changed. The hourly job's work."""
        lenders, products = await LenderRepository.from_session(session).heads_out_of_date(
            on or today()
        )
        for lender, lender_version in lenders:
            _mirror(lender, _lender_spec(lender_version).model_dump(), lender_version)
        for product, product_version in products:
            _mirror(product, term_values(_product_spec(product_version)), product_version)
        await session.flush()
        return len(lenders) + len(products)

    async def load_spec(
        self, session: AsyncSession, catalog: CatalogSpec, *, origin: Origin
    ) -> int:
        """Bring the catalog in line with a catalog file (the demo seed): a lender or product
        that is missing is created, one that differs gets a version effective today, one marked
        inactive is retired; what already matches is left alone. Audited with the operator of
        `origin`. Returns the number of products in the file."""
        repository = LenderRepository.from_session(session)
        count = 0
        for spec in catalog.lenders:
            details = LenderDetailsSpec.model_validate(spec.model_dump(include=set(_LENDER_FIELDS)))
            lender = await repository.get_lender_by_slug(spec.slug)
            if lender is None:
                lender = Lender(id=uuid.uuid4(), slug=spec.slug, current_version=0)
                _copy(details.model_dump(), lender)
                await repository.add(lender)
            await self._sync_lender(session, lender, details, spec.active, origin)
            for product_spec in spec.products:
                count += 1
                terms = ProductTermsSpec.model_validate(
                    product_spec.model_dump(include=set(_PRODUCT_FIELDS))
                )
                product = await repository.get_product_by_code(lender.id, product_spec.code)
                if product is None:
                    product = LenderProduct(
                        id=uuid.uuid4(), lender_id=lender.id, code=product_spec.code
                    )
                    product.current_version = 0
                    _copy(term_values(terms), product)
                    await repository.add(product)
                await self._sync_product(session, product, terms, product_spec.active, origin)
        await session.flush()
        return count

    # Internals

    async def _change_lender(
        self,
        session: AsyncSession,
        actor: Actor,
        origin: Origin | None,
        lender_id: uuid.UUID,
        change: LenderEdit | Retirement,
    ) -> LenderVersionRead:
        """`edit_lender` and `retire_lender`."""
        actor.require(Scope.LENDERS_MANAGE)
        lender, latest = await self._lender_and_latest(session, lender_id)
        version = await _changed_version(
            session,
            actor,
            origin,
            "lender",
            latest=latest,
            current=_lender_spec(latest),
            change=change,
            add=lambda spec, active, day: self._new_lender_version(
                session, lender, spec, active, day, change.note, actor.user_id
            ),
        )
        return LenderVersionRead.model_validate(version)

    async def _change_product(
        self,
        session: AsyncSession,
        actor: Actor,
        origin: Origin | None,
        product_id: uuid.UUID,
        change: ProductEdit | Retirement,
    ) -> ProductVersionRead:
        """`edit_product` and `retire_product`."""
        actor.require(Scope.LENDERS_MANAGE)
        product, latest = await self._product_and_latest(session, product_id)
        version = await _changed_version(
            session,
            actor,
            origin,
            "product",
            latest=latest,
            current=_product_spec(latest),
            change=change,
            add=lambda spec, active, day: self._new_product_version(
                session, product, spec, active, day, change.note, actor.user_id
            ),
        )
        return ProductVersionRead.model_validate(version)

    async def _sync_lender(
        self,
        session: AsyncSession,
        lender: Lender,
        details: LenderDetailsSpec,
        active: bool,
        origin: Origin,
    ) -> None:
        repository = LenderRepository.from_session(session)
        latest = await repository.latest_lender_version(lender.id)
        if latest is not None and _lender_spec(latest) == details and latest.active == active:
            return
        day = today() if latest is None else max(today(), latest.effective_from)
        version = await self._new_lender_version(
            session, lender, details, active, day, "Loaded from a catalog file.", None
        )
        action = "lender.created" if latest is None else "lender.version_created"
        await _audit(session, None, origin, action, version, _LENDER_FIELDS)

    async def _sync_product(
        self,
        session: AsyncSession,
        product: LenderProduct,
        terms: ProductTermsSpec,
        active: bool,
        origin: Origin,
    ) -> None:
        repository = LenderRepository.from_session(session)
        latest = await repository.latest_product_version(product.id)
        if latest is not None and _product_spec(latest) == terms and latest.active == active:
            return
        day = today() if latest is None else max(today(), latest.effective_from)
        version = await self._new_product_version(
            session, product, terms, active, day, "Loaded from a catalog file.", None
        )
        action = "lender_product.created" if latest is None else "lender_product.version_created"
        await _audit(session, None, origin, action, version, _PRODUCT_FIELDS)

    async def _lender_and_latest(
        self, session: AsyncSession, lender_id: uuid.UUID
    ) -> tuple[Lender, LenderVersion]:
        repository = LenderRepository.from_session(session)
        lender = await repository.lock_lender(lender_id)
        latest = await repository.latest_lender_version(lender_id) if lender else None
        if lender is None or latest is None:
            raise NotFound("No such lender.")
        return lender, latest

    async def _product_and_latest(
        self, session: AsyncSession, product_id: uuid.UUID
    ) -> tuple[LenderProduct, LenderProductVersion]:
        repository = LenderRepository.from_session(session)
        product = await repository.get_product(product_id)
        if product is None:
            raise NotFound("No such product.")
        # Writes on a lender's products take turns on the lender's row.
        await repository.lock_lender(product.lender_id)
        latest = await repository.latest_product_version(product_id)
        if latest is None:
            raise NotFound("No such product.")
        return product, latest

    async def _new_lender_version(
        self,
        session: AsyncSession,
        lender: Lender,
        details: LenderDetailsSpec,
        active: bool,
        effective_from: date,
        note: str | None,
        user_id: uuid.UUID | None,
    ) -> LenderVersion:
        repository = LenderRepository.from_session(session)
        latest = await repository.latest_lender_version(lender.id)
        version = LenderVersion(
            id=uuid.uuid4(),
            lender_id=lender.id,
            version=(latest.version if latest else 0) + 1,
            effective_from=effective_from,
            active=active,
            note=note,
            created_by_user_id=user_id,
            created_at=datetime.now(UTC),
            **details.model_dump(),
        )
        await _add_version(session, lender, details.model_dump(), version)
        return version

    async def _new_product_version(
        self,
        session: AsyncSession,
        product: LenderProduct,
        terms: ProductTermsSpec,
        active: bool,
        effective_from: date,
        note: str | None,
        user_id: uuid.UUID | None,
    ) -> LenderProductVersion:
        repository = LenderRepository.from_session(session)
        latest = await repository.latest_product_version(product.id)
        version = LenderProductVersion(
            id=uuid.uuid4(),
            product_id=product.id,
            lender_id=product.lender_id,
            code=product.code,
            version=(latest.version if latest else 0) + 1,
            effective_from=effective_from,
            note=note,
            created_by_user_id=user_id,
            created_at=datetime.now(UTC),
            **term_values(terms),
        )
        version.active = active
        await _add_version(session, product, term_values(terms), version)
        return version

    async def _describe(self, session: AsyncSession, lender: Lender, on: date) -> CatalogLender:
        repository = LenderRepository.from_session(session)
        history = await repository.lender_history(lender.id)
        in_effect = _in_effect(history, on)
        products = []
        for product in await repository.products_of([lender.id], include_inactive=True):
            versions = await repository.product_history(product.id)
            current = _in_effect(versions, on)
            products.append(
                CatalogProduct(
                    product_id=product.id,
                    code=product.code,
                    offered=bool(current and current.active and in_effect and in_effect.active),
                    in_effect=ProductVersionRead.model_validate(current) if current else None,
                    scheduled=[
                        ProductVersionRead.model_validate(v) for v in _scheduled(versions, on)
                    ],
                )
            )
        return CatalogLender(
            id=lender.id,
            slug=lender.slug,
            as_of=on,
            in_effect=LenderVersionRead.model_validate(in_effect) if in_effect else None,
            scheduled=[LenderVersionRead.model_validate(v) for v in _scheduled(history, on)],
            integration=await integration_service.describe(session, lender),
            products=products,
        )


def term_values(spec: ProductTermsSpec) -> dict[str, Any]:
    """A product's terms as the ORM stores them (JSONB money and rates as strings)."""
    data = spec.model_dump(mode="json")
    python = spec.model_dump()
    for name in ("min_amount", "max_amount", "max_dti", "max_ltv"):
        data[name] = python[name]
    data["allowed_purposes"] = list(spec.allowed_purposes)
    data["allowed_states"] = list(spec.allowed_states)
    data["risky_features"] = [feature.value for feature in spec.risky_features]
    data["conditions"] = spec.conditions.model_dump(mode="json", exclude_none=True)
    data["fees"] = [fee.model_dump(mode="json", exclude_none=True) for fee in spec.fees]
    return data


def _lender_spec(version: LenderVersion) -> LenderDetailsSpec:
    return LenderDetailsSpec.model_validate(
        {name: getattr(version, name) for name in _LENDER_FIELDS}
    )


def _product_spec(version: LenderProductVersion) -> ProductTermsSpec:
    return ProductTermsSpec.model_validate(
        {name: getattr(version, name) for name in _PRODUCT_FIELDS}
    )


def _merge(model: type[_Spec], current: _Spec, change: BaseModel) -> _Spec:
    """The current spec with the fields `change` sets, validated as a whole."""
    given = change.model_fields_set - {"effective_from", "note"}
    values = {**current.model_dump(), **change.model_dump(include=given)}
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise _invalid(error) from None


def _invalid(error: ValidationError) -> InvalidInput:
    """The validation errors of a merged version, shaped like a request's (under `body`)."""
    return InvalidInput(
        [
            {"loc": ["body", *detail["loc"]], "msg": detail["msg"], "type": detail["type"]}
            for detail in error.errors(include_url=False, include_context=False)
        ]
    )


def _changed(current: BaseModel, merged: BaseModel) -> list[str]:
    return [
        name
        for name in type(current).model_fields
        if getattr(current, name) != getattr(merged, name)
    ]


def _check_day(day: date | None, latest: date | None) -> date:
    """The day a change takes effect: today or later, and not before the latest version's."""
    first = today()
    day = day or max(first, latest or first)
    if day < first:
        raise EffectiveDateError(
            {
                "message": "A change cannot take effect in the past: offers were priced with "
                "the versions in effect then.",
                "effective_from": day.isoformat(),
                "earliest": first.isoformat(),
            }
        )
    if latest is not None and day < latest:
        raise EffectiveDateError(
            {
                "message": "A later version is already scheduled; a change must take effect "
                "on or after it.",
                "effective_from": day.isoformat(),
                "earliest": latest.isoformat(),
            }
        )
    return day


def _refuse_retired(active: bool, what: str) -> None:
    if not active:
        raise RetiredError(f"This {what} is retired (or its retirement is scheduled).")


_V = TypeVar("_V", LenderVersion, LenderProductVersion)


def _in_effect(versions: Sequence[_V], on: date) -> _V | None:
    """The version in effect on `on` of versions listed oldest first."""
    chosen = None
    for version in versions:  # by version number
        if version.effective_from <= on and (
            chosen is None or version.effective_from >= chosen.effective_from
        ):
            chosen = version
    return chosen


def _scheduled(versions: Sequence[_V], on: date) -> list[_V]:
    """The versions that take effect after `on`."""
    return [v for v in versions if v.effective_from > on]


def _copy(values: Mapping[str, Any], row: Any) -> None:
    for name, value in values.items():
        if getattr(row, name, None) != value:
            setattr(row, name, value)


def _mirror(
    head: Lender | LenderProduct,
    values: Mapping[str, Any],
    version: LenderVersion | LenderProductVersion,
) -> None:
    _copy(values, head)
    head.active = version.active
    head.current_version = version.version


async def _add_version(
    session: AsyncSession,
    head: Lender | LenderProduct,
    values: Mapping[str, Any],
    version: LenderVersion | LenderProductVersion,
) -> None:
    """Store a new version; the lender's or product's row mirrors it if it is in effect today."""
    await LenderRepository.from_session(session).add(version)
    if version.effective_from <= today():
        _mirror(head, values, version)
        await session.flush()


async def _changed_version(
    session: AsyncSession,
    actor: Actor,
    origin: Origin | None,
    what: str,
    *,
    latest: _V,
    current: _Spec,
    change: LenderEdit | ProductEdit | Retirement,
    add: Callable[[_Spec, bool, date], Awaitable[_V]],
) -> _V:
    """An edit's new version, with the merged details or terms, audited with the fields that
    changed; or a retirement's last, inactive version, audited. The latest version when nothing
    changes (an edit to the same values, a retirement of what is retired)."""
    if isinstance(change, Retirement):
        if not latest.active:
            return latest
        spec, active, done, fields = current, False, "retired", ["active"]
    else:
        spec = _merge(type(current), current, change)
        if spec == current:
            return latest
        _refuse_retired(latest.active, what)
        active, done, fields = True, "version_created", _changed(current, spec)
    version = await add(spec, active, _check_day(change.effective_from, latest.effective_from))
    await _audit(session, actor, origin, _action(what, done), version, fields)
    return version


def _action(what: str, done: str) -> str:
    return f"{'lender' if what == 'lender' else 'lender_product'}.{done}"


async def _audit(
    session: AsyncSession,
    actor: Actor | None,
    origin: Origin | None,
    action: str,
    version: LenderVersion | LenderProductVersion,
    fields: tuple[str, ...] | list[str],
) -> None:
    is_lender = isinstance(version, LenderVersion)
    await audit_service.record(
        session,
        actor,
        action=action,
        origin=origin,
        subject_type="lender" if is_lender else "lender_product",
        subject_id=version.lender_id if is_lender else version.product_id,  # type: ignore[union-attr]
        details={
            "version": version.version,
            "version_id": str(version.id),
            "effective_from": version.effective_from.isoformat(),
            "active": version.active,
            "fields": sorted(fields),
            **({"channel": origin.channel} if origin and origin.channel else {}),
        },
    )


catalog_service = CatalogService()
