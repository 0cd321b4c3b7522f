"""The lending tools: applications, the borrower profile and consent, lenders, offers, what-ifs.

Each is a thin wrapper over one lending service call; the actor comes from the call's context.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from lending.applications.profile import borrower_profile
from lending.applications.repository import OFFER_SCOPES, READ_SCOPES, WRITE_SCOPES
from lending.applications.schemas import (
    ApplicationCreate,
    ApplicationFilters,
    ApplicationList,
    ApplicationOrder,
    ApplicationRead,
    ApplicationUpdate,
    BorrowerProfileRead,
    BorrowerProfileUpdate,
    ClientRead,
    ConsentCreate,
    ConsentRead,
    Reason,
    Version,
)
from lending.applications.service import application as application_service
from lending.identity.scopes import Scope
from lending.models.applications import ApplicationStatus, ProductType
from lending.offers.schemas import (
    AcceptedOffer,
    ExpiringOffers,
    LenderMatches,
    OffersRead,
    PaymentAnswer,
    PaymentQuestion,
)
from lending.offers.service import offer as offer_service
from tools.base import Tool, ToolCall, tool

# Tools over a book of clients (finding one by e-mail, offers expiring across them) are offered to
# brokers, broker managers and the platform, not to a borrower, whose only "client" is themselves.
# The service still limits each call to the actor's own/firm/all reach.
CLIENT_BOOK_SCOPES = [
    Scope.REFERRALS_SHARE,
    Scope.APPLICATIONS_READ_FIRM,
    Scope.APPLICATIONS_READ_ALL,
]
CLIENT_OFFER_SCOPES = [Scope.REFERRALS_SHARE, Scope.OFFERS_READ_FIRM, Scope.OFFERS_READ_ALL]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApplicationRef(_Input):
    application_id: uuid.UUID


class UpdateApplicationInput(ApplicationUpdate):
    application_id: uuid.UUID


class ListApplicationsInput(_Input):
    status: ApplicationStatus | None = None
    statuses: Annotated[list[ApplicationStatus], Field(max_length=len(ApplicationStatus))] = []
    product_types: Annotated[list[ProductType], Field(max_length=len(ProductType))] = []
    search: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
        | None
    ) = None
    order: ApplicationOrder = ApplicationOrder.NEWEST
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    offset: Annotated[int, Field(ge=0)] = 0


class SubmitApplicationInput(_Input):
    application_id: uuid.UUID
    lender_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=5)]
    version: Version | None = None


class WithdrawApplicationInput(_Input):
    application_id: uuid.UUID
    reason: Reason
    version: Version | None = None


class BorrowerRef(_Input):
    borrower_user_id: uuid.UUID | None = None


class UpdateProfileInput(BorrowerProfileUpdate):
    borrower_user_id: uuid.UUID | None = None


class GetOffersInput(_Input):
    application_id: uuid.UUID
    refresh: bool = False


class FindClientInput(_Input):
    email: Annotated[
        str, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    ]


class ExpiringOffersInput(_Input):
    within_days: Annotated[int, Field(ge=1, le=90)] = 7


class AcceptOfferInput(_Input):
    offer_id: uuid.UUID
    version: Version | None = None


@tool(scopes=WRITE_SCOPES, side_effect=True)
async def start_application(call: ToolCall, data: ApplicationCreate) -> ApplicationRead:
    """Start a new draft loan application.

    Use it once the borrower has said what kind of loan they want; fill in the rest later with
    update_application. The result lists `missing_fields`, in the order to ask for them, each
    with a question to ask. A borrower applies for themselves; a broker names the borrower.

    Args:
        product_type: personal, auto, mortgage, home_equity, business, debt_consolidation or
            student_refinance.
        borrower_user_id: Brokers only: the id of the borrower the application is for. Leave
            empty when the borrower is the one talking.
        purpose: What the money is for, one of the purposes of the product type (e.g.
            home_improvement for a personal loan, purchase for a mortgage).
        amount: The amount to borrow in US dollars, at most 2 decimal places.
        term_months: How many months to repay over.
        requested_product_id: Only if the borrower asked for one specific lender product.
        slots: Product-specific answers by name, e.g. {"property_value": "450000.00",
            "property_address": {"line1": "1 Main St", "city": "Austin", "state": "TX",
            "postal_code": "78701"}}.
    """
    return await application_service.start(call.session, call.actor, data=data)


@tool(scopes=WRITE_SCOPES, side_effect=True)
async def update_application(call: ToolCall, data: UpdateApplicationInput) -> ApplicationRead:
    """Record the borrower's answers on a draft application (amount, term, purpose, slots).

    Only what is given changes. Each answer is checked: a wrong one comes back as a field error
    to correct with the borrower, and nothing is saved from that call.

    Args:
        application_id: The application to change.
        version: The version from your last read of the application; if it changed since,
            the call is refused (read it again with get_application).
        purpose: What the money is for, one of the product type's purposes.
        amount: The amount to borrow in US dollars, at most 2 decimal places.
        term_months: How many months to repay over.
        requested_product_id: A specific lender product the borrower asked for.
        slots: Product-specific answers by name (see missing_fields); null clears one.
    """
    changes = data.model_dump(exclude_unset=True, exclude={"application_id"})
    return await application_service.update(
        call.session,
        call.actor,
        application_id=data.application_id,
        data=ApplicationUpdate.model_validate(changes),
    )


@tool(scopes=READ_SCOPES)
async def get_application(call: ToolCall, data: ApplicationRef) -> ApplicationRead:
    """Read one application: its status, version, answers, what is still missing, the
    debt-to-income and loan-to-value ratios with the numbers behind them, and its submissions.

    Args:
        application_id: The application to read.
    """
    return await application_service.get(
        call.session, call.actor, application_id=data.application_id
    )


@tool(scopes=READ_SCOPES)
async def list_applications(call: ToolCall, data: ListApplicationsInput) -> ApplicationList:
    """List the applications you can see (a borrower sees their own, a broker their clients', a
    manager the firm's), newest first unless ordered otherwise; `total` says how many match.

    Args:
        status: Only applications in this status.
        statuses: Only applications in any of these statuses (with `status`: any of them all).
        product_types: Only these product types.
        search: Text in the reference (OMF-...) or the borrower's name or email, any case.
        order: newest, oldest, status_changed, amount_desc or amount_asc.
        limit: How many to return (1-100).
        offset: How many to skip, for the next page.
    """
    statuses = [*([data.status] if data.status else []), *data.statuses]
    return await application_service.list_applications(
        call.session,
        call.actor,
        ApplicationFilters(
            statuses=tuple(dict.fromkeys(statuses)),
            product_types=tuple(dict.fromkeys(data.product_types)),
            search=data.search,
            order=data.order,
        ),
        limit=data.limit,
        offset=data.offset,
    )


@tool(scopes=[Scope.APPLICATIONS_SUBMIT], side_effect=True, requires_approval=True)
async def submit_application(call: ToolCall, data: SubmitApplicationInput) -> ApplicationRead:
    """Submit a complete draft application to the lenders the borrower chose.

    Irreversible: each lender receives the application and may make a hard credit inquiry, so
    the borrower must approve first. Only lenders with a current prequalified offer (from
    get_offers) can be chosen, and the borrower must have consented to a credit check.

    Args:
        application_id: The application to submit.
        lender_ids: The lenders to send it to (1 to 5), from the offers' lender_id.
        version: The version from your last read of the application.
    """
    return await application_service.submit(
        call.session,
        call.actor,
        application_id=data.application_id,
        lender_ids=data.lender_ids,
        version=data.version,
    )


@tool(scopes=WRITE_SCOPES, side_effect=True, requires_approval=True)
async def withdraw_application(call: ToolCall, data: WithdrawApplicationInput) -> ApplicationRead:
    """Withdraw an application at the borrower's request.

    Final: a withdrawn application never reopens (a new one can be started), so the borrower
    must approve first.

    Args:
        application_id: The application to withdraw.
        reason: Why, in the borrower's words.
        version: The version from your last read of the application.
    """
    return await application_service.withdraw(
        call.session,
        call.actor,
        application_id=data.application_id,
        reason=data.reason,
        version=data.version,
    )


@tool(scopes=READ_SCOPES)
async def get_borrower_profile(call: ToolCall, data: BorrowerRef) -> BorrowerProfileRead:
    """Read the borrower's profile: contact details, address, employment, income, debts, the
    stated credit score and its band, current DTI, consents given, and the consent texts.

    The SSN is never shown in full (only its last four digits) and the date of birth only as
    on file or not.

    Args:
        borrower_user_id: Brokers only: whose profile. Leave empty for the borrower talking.
    """
    return await borrower_profile.get(call.session, call.actor, user_id=data.borrower_user_id)


@tool(scopes=CLIENT_BOOK_SCOPES)
async def find_client(call: ToolCall, data: FindClientInput) -> ClientRead:
    """Find one of your clients (a borrower you work with) by e-mail address, to get the
    borrower_user_id that start_application, get_borrower_profile and others need.

    Only your own clients are found (a broker manager: the firm's). "Not found" means the
    address is not one of your clients; say exactly that and nothing about whether such an
    account exists elsewhere.

    Args:
        email: The client's e-mail address, e.g. client@example.com.
    """
    return await borrower_profile.find_client(call.session, call.actor, email=data.email)


@tool(
    scopes=WRITE_SCOPES,
    side_effect=True,
    pii_fields=("ssn", "date_of_birth", "employment_start_date"),
)
async def update_borrower_profile(call: ToolCall, data: UpdateProfileInput) -> BorrowerProfileRead:
    """Save what the borrower tells you about themselves; only the fields given change.

    Amounts are US dollars with at most 2 decimal places. The SSN and date of birth are
    encrypted when stored; never repeat them back in full.

    Args:
        borrower_user_id: Brokers only: whose profile. Leave empty for the borrower talking.
        legal_first_name: First name as on their ID.
        legal_last_name: Last name as on their ID.
        email: Email address.
        phone: Phone number.
        address_line1: Street address.
        address_line2: Apartment, suite, unit.
        city: City.
        state: Two-letter US state code, e.g. CA.
        postal_code: ZIP code, e.g. 94105.
        date_of_birth: YYYY-MM-DD; the borrower must be at least 18.
        ssn: Social Security number, 9 digits.
        employment_status: employed, self_employed, retired, unemployed, student or other.
        employer_name: Employer.
        job_title: Job title.
        employment_start_date: YYYY-MM-DD, when the current job started.
        annual_income: Gross (before tax) yearly income.
        monthly_debt_payments: Monthly payments on cards, car, student and other loans (not
            rent or mortgage).
        monthly_housing_payment: Monthly rent or mortgage payment.
        estimated_credit_score: The borrower's own estimate, 300-850.
    """
    changes = data.model_dump(exclude_unset=True, exclude={"borrower_user_id"})
    return await borrower_profile.update(
        call.session,
        call.actor,
        user_id=data.borrower_user_id,
        data=BorrowerProfileUpdate.model_validate(changes),
        settings=call.settings,
    )


@tool(scopes=[Scope.CONSENTS_GIVE], side_effect=True)
async def record_consent(call: ToolCall, data: ConsentCreate) -> ConsentRead:
    """Record the borrower's own answer to a consent, after showing them its exact current
    text (from get_borrower_profile's consent_texts).

    A credit-check consent is needed before offers can be prequalified or an application
    submitted. Only the borrower can consent; never record it for them without a clear yes.

    Args:
        kind: credit_check, electronic_records or privacy_notice.
        granted: true for yes, false to refuse or withdraw consent.
        text_version: The version of the text shown; leave empty for the current one.
    """
    return await borrower_profile.record_consent(
        call.session, call.actor, data=data, channel=call.context.channel
    )


@tool(scopes=OFFER_SCOPES)
async def find_lenders(call: ToolCall, data: ApplicationRef) -> LenderMatches:
    """Check which lender products fit the application and why each other product does not
    (state, amount, term, credit band, DTI, LTV, purpose...). Changes nothing and makes no
    credit inquiry; use get_offers for priced offers.

    Args:
        application_id: The application to match.
    """
    return await offer_service.find_lenders(
        call.session, call.actor, application_id=data.application_id
    )


@tool(scopes=OFFER_SCOPES, side_effect=True)
async def get_offers(call: ToolCall, data: GetOffersInput) -> OffersRead:
    """Get the application's loan offers, prequalifying a draft when needed.

    Each offer has the lender, amount, term, note rate, APR, monthly payment, total of
    payments, fees, total cost, expiry and whether it is prequalified (an estimate) or firm.
    Offers come cheapest APR first; `ranked_by_total_cost` orders them by total cost. Always
    present the anti_steering options (lowest rate, lowest rate without risky features, lowest
    points and fees, from at least three lenders when three qualify) and never steer the
    borrower to one lender. Needs the borrower's credit-check consent.

    Args:
        application_id: The application.
        refresh: Reprice now even if current offers exist.
    """
    return await offer_service.get_offers(
        call.session, call.actor, application_id=data.application_id, refresh=data.refresh
    )


@tool(scopes=CLIENT_OFFER_SCOPES)
async def list_expiring_offers(call: ToolCall, data: ExpiringOffersInput) -> ExpiringOffers:
    """List the active offers on your clients' applications that expire within the next days,
    soonest first: client name, application reference, lender, APR, monthly payment, amount,
    term and expiry (a broker sees their own clients', a manager their firm's).

    Use it for "which of my clients have offers expiring this week". Changes nothing.

    Args:
        within_days: How many days ahead to look (1-90); 7 for "this week".
    """
    return await offer_service.expiring(call.session, call.actor, within_days=data.within_days)


@tool(scopes=[Scope.OFFERS_ACCEPT], side_effect=True, requires_approval=True)
async def accept_offer(call: ToolCall, data: AcceptOfferInput) -> AcceptedOffer:
    """Accept a lender's firm offer on an approved application.

    Irreversible: the borrower commits to this lender's loan and the other offers are declined,
    so the borrower must approve first. Prequalified offers cannot be accepted: they become
    firm only when the lender approves the submitted application.

    Args:
        offer_id: The firm offer to accept.
        version: The application's version from your last read.
    """
    return await offer_service.accept(
        call.session, call.actor, offer_id=data.offer_id, version=data.version
    )


@tool(
    scopes=[
        Scope.APPLICATIONS_READ_OWN,
        Scope.APPLICATIONS_READ_FIRM,
        Scope.APPLICATIONS_READ_ALL,
        Scope.LENDERS_READ,
    ]
)
async def compute_payment(call: ToolCall, data: PaymentQuestion) -> PaymentAnswer:
    """Answer a what-if about a fixed-rate loan: the monthly payment, total of payments, total
    interest, finance charge and APR, optionally with the full amortization schedule.

    Use exact figures from this tool; never estimate loan math yourself. With product_id the
    product's rate, fees and rounding are used and its amount and term limits apply.

    Args:
        amount: The amount borrowed in US dollars, at most 2 decimal places.
        annual_rate: The note rate in percent a year, e.g. 7.5 (not needed with product_id).
        term_months: The number of monthly payments.
        prepaid_finance_charges: Fees in the finance charge paid at closing (origination,
            points), in dollars; they raise the APR above the note rate.
        rounding: half_up, half_even or up: how interest and payments round to the cent.
        product_id: A catalog product whose rate, fees and limits to use.
        credit_band: excellent, good, fair or poor: which of the product's rates to use.
        include_schedule: Also return every month's payment, interest, principal and balance.
    """
    return await offer_service.compute_payment(call.session, call.actor, question=data)


LENDING_TOOLS: list[Tool[Any, Any]] = [
    start_application,
    update_application,
    get_application,
    list_applications,
    submit_application,
    withdraw_application,
    get_borrower_profile,
    find_client,
    update_borrower_profile,
    record_consent,
    find_lenders,
    get_offers,
    list_expiring_offers,
    accept_offer,
    compute_payment,
]
