"""All ORM models, in one package so that Alembic sees one metadata.

Domain packages import their models from here; each domain's models live in a module of this
package named after the domain, imported below so that `Base.metadata` is complete.
"""

from lending.models import analytics as analytics  # analytics events, job traces (issue 20)
from lending.models import evals as evals  # eval runs and results (issue 16)
from lending.models import knowledge as knowledge  # the knowledge base's tables (issue 7)
from lending.models import mail as mail  # the mail outbox (issue 19)
from lending.models import notifications as notifications  # in-app notifications (issue 19)
from lending.models import privacy as privacy  # erasure requests (issue 22)
from lending.models import prompts as prompts  # the prompt registry's tables (issue 6)
from lending.models.applications import (
    Application,
    ApplicationEvent,
    ApplicationStatus,
    BorrowerProfile,
    ConsentKind,
    ConsentRecord,
    ProductType,
)
from lending.models.audit import AuditEvent
from lending.models.base import Base, TimestampMixin, new_id, utcnow
from lending.models.chat import ChatFeedback, ChatMessage, ChatRun, ChatThread
from lending.models.commissions import (
    CommissionEntry,
    CommissionJurisdiction,
    CommissionRule,
    CommissionRuleVersion,
    FundedLoan,
    LenderStatement,
    LenderStatementLine,
    LoanServicingEvent,
    PayoutBatch,
    PayoutBatchItem,
)
from lending.models.documents import (
    Document,
    DocumentEvent,
    DocumentField,
    DocumentSignal,
    DocumentStatus,
    SignalSeverity,
)
from lending.models.identity import (
    AccessToken,
    Invitation,
    MfaRecoveryCode,
    Organization,
    OrganizationKind,
    OrganizationStatus,
    Role,
    TokenPurpose,
    User,
)
from lending.models.lenders import (
    CreditBand,
    IntegrationAdapter,
    Lender,
    LenderProduct,
    LenderProductVersion,
    LenderSubmission,
    LenderVersion,
    LenderWebhookSecret,
    SubmissionStatus,
)
from lending.models.offers import Offer, OfferKind, OfferStatus, Prequalification
from lending.models.tools import ToolCallRecord

__all__ = [
    "CommissionEntry",
    "CommissionJurisdiction",
    "CommissionRule",
    "CommissionRuleVersion",
    "FundedLoan",
    "LenderStatement",
    "LenderStatementLine",
    "LoanServicingEvent",
    "PayoutBatch",
    "PayoutBatchItem",
    "AccessToken",
    "Application",
    "ApplicationEvent",
    "ApplicationStatus",
    "BorrowerProfile",
    "ConsentKind",
    "ConsentRecord",
    "CreditBand",
    "Document",
    "DocumentEvent",
    "DocumentField",
    "DocumentSignal",
    "DocumentStatus",
    "SignalSeverity",
    "Lender",
    "IntegrationAdapter",
    "LenderProduct",
    "LenderProductVersion",
    "LenderSubmission",
    "LenderVersion",
    "LenderWebhookSecret",
    "Offer",
    "OfferKind",
    "OfferStatus",
    "Prequalification",
    "ProductType",
    "SubmissionStatus",
    "ToolCallRecord",
    "AuditEvent",
    "ChatFeedback",
    "ChatMessage",
    "ChatRun",
    "ChatThread",
    "Base",
    "Invitation",
    "MfaRecoveryCode",
    "Organization",
    "OrganizationKind",
    "OrganizationStatus",
    "Role",
    "TimestampMixin",
    "TokenPurpose",
    "User",
    "new_id",
    "utcnow",
]
