"""Which documents each product needs (requirements.json), and how far an application is."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lending.documents.schemas import Completeness, RequirementStatus
from lending.documents.types import DocumentType
from lending.models.applications import Application, ProductType
from lending.models.documents import Document, DocumentStatus

DATA_PATH = Path(__file__).with_name("requirements.json")


class Requirement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    label_zh: str = Field(min_length=1)  # what the assistant says in Chinese
    any_of: tuple[DocumentType, ...] = Field(min_length=1)


class DocumentRequirements(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    requirements: dict[str, Requirement]
    product_types: dict[ProductType, tuple[str, ...]]

    @model_validator(mode="after")
    def _consistent(self) -> DocumentRequirements:
        missing = set(ProductType) - set(self.product_types)
        if missing:
            raise ValueError(f"product_types: missing {sorted(missing)}")
        for product_type, names in self.product_types.items():
            for name in names:
                if name not in self.requirements:
                    raise ValueError(f"product_types.{product_type}: unknown requirement {name!r}")
        return self


@cache
def document_requirements() -> DocumentRequirements:
    return DocumentRequirements.model_validate_json(DATA_PATH.read_bytes())


def completeness(application: Application, documents: Iterable[Document]) -> Completeness:
    """The application's required documents and which of them are received and verified."""
    rules = document_requirements()
    documents = list(documents)
    statuses: list[RequirementStatus] = []
    for name in rules.product_types[application.product_type]:
        requirement = rules.requirements[name]
        matching = [
            document
            for document in documents
            if document.document_type in requirement.any_of
            and document.status is not DocumentStatus.REJECTED
        ]
        verified = [d.id for d in matching if d.status is DocumentStatus.VERIFIED]
        statuses.append(
            RequirementStatus(
                name=name,
                label=requirement.label,
                any_of=list(requirement.any_of),
                received=[d.id for d in matching],
                verified=verified,
                satisfied=bool(verified),
            )
        )
    return Completeness(
        application_id=application.id,
        product_type=application.product_type.value,
        requirements=statuses,
        missing=[s.name for s in statuses if not s.received],
        unverified=[s.name for s in statuses if s.received and not s.verified],
        complete=all(s.satisfied for s in statuses),
    )
