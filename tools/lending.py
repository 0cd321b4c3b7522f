"""The lending tools: applications, the borrower profile and consent, lenders, offers, what-ifs.

Each is a thin wrapper over one lending service call; the actor comes from the call's context.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from lending.applications.profile import borrower_profile_service
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
from lending.applications.service import application_service
from lending.db import MAX_OFFSET
from lending.identity.scopes import Scope
from lending.lenders.service import lender_service
from lending.models.applications import ApplicationStatus, ProductType
from lending.offers.schemas import (
    AcceptedOffer,
    ExpiringOffers,
    LenderMatches,
    OffersRead,
    PaymentAnswer,
    PaymentQuestion,
)
from lending.offers.service import offer_service
from tools.approvals import Confirmation, joined, money, product_names
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
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0


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


async def _confirm_start(call: ToolCall, data: ApplicationCreate) -> Confirmation | None:
    """A borrower starting their own application is asked nothing; staff starting one on
    someone else's behalf confirm whose it is and what."""
    if data.borrower_user_id is None or data.borrower_user_id == call.actor.user_id:
        return None
    client = await borrower_profile_service.get(
        call.session, call.actor, user_id=data.borrower_user_id
    )
    name = " ".join(p for p in (client.legal_first_name, client.legal_last_name) if p)
    who = f"{name} ({client.email})" if name and client.email else (name or client.email or "")
    who = who or "your client"
    product_en, product_zh = product_names(data.product_type)
    article = "an" if product_en[:1] in "aeiou" else "a"
    what_en, what_zh = f"{article} {product_en} application", f"一份{product_zh}申请"
    if data.amount is not None:
        what_en += f" for {money(data.amount)}"
        what_zh = f"一份金额为{money(data.amount, 'zh')}的{product_zh}申请"
    if data.term_months is not None:
        what_en += f" over {data.term_months} months"
        what_zh += f"（{data.term_months}个月）"
    return Confirmation(
        en=f"I'm about to start {what_en} on behalf of {who}. It will be on their record and "
        "they will see it. Shall I go ahead? (yes or no)",
        zh=f"我将代表{who}创建{what_zh}。该申请会记入其名下，对方也会看到。要继续吗？（是或否）",
        details={"client": who, "product": product_en, "amount": str(data.amount or "")},
    )


@tool(scopes=WRITE_SCOPES, side_effect=True, requires_approval=True, confirm=_confirm_start)
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


async def _confirm_submit(call: ToolCall, data: SubmitApplicationInput) -> Confirmation:
    application = await application_service.get(
        call.session, call.actor, application_id=data.application_id
    )
    names = await lender_service.names(call.session, data.lender_ids)
    lenders = [names.get(lender_id, "a lender") for lender_id in data.lender_ids]
    product_en, product_zh = product_names(application.product_type)
    amount_en = f" for {money(application.amount)}" if application.amount else ""
    amount_zh = f"，金额{money(application.amount, 'zh')}" if application.amount else ""
    term_en = f" over {application.term_months} months" if application.term_months else ""
    term_zh = f"，期限{application.term_months}个月" if application.term_months else ""
    each_en = "Each lender" if len(lenders) > 1 else "The lender"
    return Confirmation(
        en=f"I'm about to send your {product_en} application {application.reference}"
        f"{amount_en}{term_en} to {joined(lenders, 'en')}. {each_en} may run a hard credit "
        "check, which can lower your credit score, and a sent application cannot be taken "
        "back. Shall I send it? (yes or no)",
        zh=f"我将把您的{product_zh}申请 {application.reference}{amount_zh}{term_zh}"
        f"提交给{joined(lenders, 'zh')}。贷款机构可能会进行硬性信用查询，这可能降低您的信用评分；"
        "申请一旦提交便无法撤回。要提交吗？（是或否）",
        details={
            "reference": application.reference,
            "product": product_en,
            "amount": str(application.amount or ""),
            "term_months": application.term_months,
            "lenders": lenders,
        },
    )


@tool(
    scopes=[Scope.APPLICATIONS_SUBMIT],
    side_effect=True,
    requires_approval=True,
    confirm=_confirm_submit,
)
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


async def _confirm_withdraw(call: ToolCall, data: WithdrawApplicationInput) -> Confirmation:
    application = await application_service.get(
        call.session, call.actor, application_id=data.application_id
    )
    product_en, product_zh = product_names(application.product_type)
    return Confirmation(
        en=f"I'm about to withdraw your {product_en} application {application.reference}. "
        "A withdrawn application never reopens (you can start a new one). Shall I withdraw it? "
        "(yes or no)",
        zh=f"我将撤回您的{product_zh}申请 {application.reference}。撤回后无法重新打开（您可以重新申请）。"
        "要撤回吗？（是或否）",
        details={"reference": application.reference, "product": product_en},
    )


@tool(scopes=WRITE_SCOPES, side_effect=True, requires_approval=True, confirm=_confirm_withdraw)
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
    return await borrower_profile_service.get(
        call.session, call.actor, user_id=data.borrower_user_id
    )


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
    return await borrower_profile_service.find_client(call.session, call.actor, email=data.email)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


async def _confirm_profile(call: ToolCall, data: UpdateProfileInput) -> Confirmation | None:
    """Filling in a profile is asked nothing; replacing an SSN or e-mail address already on
    file is (a changed identity or contact is how accounts are taken over). Typing the same SSN
    again is not a change (compared here, in the tool; the value never leaves it)."""
    if data.ssn is None and data.email is None:
        return None
    current = await borrower_profile_service.get(
        call.session, call.actor, user_id=data.borrower_user_id
    )
    changes_en: list[str] = []
    changes_zh: list[str] = []
    same_ssn = data.ssn is not None and _digits(data.ssn) == _digits(
        await borrower_profile_service.reveal_ssn(
            call.session, user_id=current.user_id, settings=call.settings
        )
        or ""
    )
    if data.ssn is not None and current.ssn_last4 and not same_ssn:
        changes_en.append(f"the Social Security number on file (ending {current.ssn_last4})")
        changes_zh.append(f"已登记的社会安全号码（尾号 {current.ssn_last4}）")
    if data.email is not None and current.email and data.email.lower() != current.email.lower():
        changes_en.append(f"the e-mail address {current.email} with {data.email}")
        changes_zh.append(f"电子邮箱 {current.email}（改为 {data.email}）")
    if not changes_en:
        return None
    whose_en = "your" if data.borrower_user_id in (None, call.actor.user_id) else "the client's"
    return Confirmation(
        en=f"I'm about to replace {joined(changes_en, 'en')} in {whose_en} profile. Lenders and "
        "notices will use the new details from now on. Shall I change it? (yes or no)",
        zh=f"我将更换资料中的{joined(changes_zh, 'zh')}。今后贷款机构和通知都将使用新信息。要更改吗？（是或否）",
        details={"changes": changes_en},
    )


@tool(
    scopes=WRITE_SCOPES,
    side_effect=True,
    requires_approval=True,
    confirm=_confirm_profile,
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
    return await borrower_profile_service.update(
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
    return await borrower_profile_service.record_consent(
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


async def _confirm_accept(call: ToolCall, data: AcceptOfferInput) -> Confirmation:
    offer = await offer_service.get_offer(call.session, call.actor, offer_id=data.offer_id)
    return Confirmation(
        en=f"I'm about to accept {offer.lender_name}'s offer: {money(offer.amount)} over "
        f"{offer.term_months} months at {offer.apr}% APR, {money(offer.monthly_payment)} a "
        f"month, {money(offer.total_of_payments)} in total. You commit to this loan and every "
        "other offer is declined; this cannot be undone. Shall I accept it? (yes or no)",
        zh=f"我将接受{offer.lender_name}的报价：{money(offer.amount, 'zh')}，期限"
        f"{offer.term_months}个月，年利率（APR）{offer.apr}%，每月还款{money(offer.monthly_payment, 'zh')}，"
        f"总还款{money(offer.total_of_payments, 'zh')}。接受后您将承诺这笔贷款，其他报价都会被拒绝，"
        "且无法撤销。要接受吗？（是或否）",
        details={
            "lender": offer.lender_name,
            "amount": str(offer.amount),
            "term_months": offer.term_months,
            "apr": str(offer.apr),
            "monthly_payment": str(offer.monthly_payment),
            "total_of_payments": str(offer.total_of_payments),
        },
    )


@tool(
    scopes=[Scope.OFFERS_ACCEPT], side_effect=True, requires_approval=True, confirm=_confirm_accept
)
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
