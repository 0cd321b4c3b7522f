// One application: its summary, the status timeline from its events, and its offers with the
// anti-steering options marked. The borrower accepts a firm offer here through the same approval
// as in the chat: "Accept" asks the server (which rehearses accept_offer) for the approval, the
// approval card shows its summary, and only "Approve" accepts.

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";

import type { Schemas } from "../api/client";
import { hasScope, useMe } from "../auth/AuthProvider";
import { ApprovalCard } from "../chat/Chat";
import type { ApprovalItem } from "../chat/reducer";
import { acceptable, picksOf, type OfferRead } from "../applications/model";
import {
  answerAcceptance,
  applicationKeys,
  askToAccept,
  useApplication,
  useApplicationEvents,
  useOffers,
  type PendingApproval,
} from "../applications/queries";
import { ErrorMessage, Loading, QueryState, useErrorText, usePageTitle } from "../components/ui";
import { DocumentsSection } from "../documents/DocumentsSection";
import { formatDateTime, formatMoney, formatPercent, intlLocale } from "../lib/format";

type ApplicationRead = Schemas["ApplicationRead"];
type EventRead = Schemas["lending__applications__schemas__EventRead"];
type OffersRead = Schemas["OffersRead"];

function Summary({ application }: { application: ApplicationRead }) {
  const { t, i18n } = useTranslation();
  const locale = intlLocale(i18n.language);
  return (
    <section className="card" aria-labelledby="summary-title">
      <h2 id="summary-title">{t("application.summary")}</h2>
      <dl className="details">
        <div>
          <dt>{t("applications.status")}</dt>
          <dd>
            <span className={`status status--${application.status}`}>
              {t(`statuses.${application.status}`)}
            </span>
          </dd>
        </div>
        <div>
          <dt>{t("applications.product")}</dt>
          <dd>{t(`products.${application.product_type}`)}</dd>
        </div>
        <div>
          <dt>{t("applications.amount")}</dt>
          <dd>{formatMoney(application.amount, locale)}</dd>
        </div>
        <div>
          <dt>{t("applications.term")}</dt>
          <dd>
            {application.term_months == null
              ? "—"
              : t("applications.termMonths", { count: application.term_months })}
          </dd>
        </div>
        <div>
          <dt>{t("applications.updated")}</dt>
          <dd>{formatDateTime(application.updated_at, locale)}</dd>
        </div>
      </dl>
    </section>
  );
}

export function Timeline({ events }: { events: readonly EventRead[] }) {
  const { t, i18n } = useTranslation();
  const locale = intlLocale(i18n.language);
  const roleName = (role: string): string =>
    i18n.exists(`roles.${role}`) ? t(`roles.${role}` as "roles.borrower") : role;
  if (events.length === 0) return <p className="muted">{t("application.noEvents")}</p>;
  return (
    <ol className="timeline">
      {events.map((event) => (
        <li key={event.id} className="timeline__item">
          <p className="timeline__status">{t(`statuses.${event.to_status}`)}</p>
          <p className="timeline__meta">
            <time dateTime={event.occurred_at}>{formatDateTime(event.occurred_at, locale)}</time>
            {event.actor_role ? ` · ${t("application.by", { who: roleName(event.actor_role) })}` : ""}
            {` · ${t("application.source", { source: event.source })}`}
          </p>
          {event.reason ? <p className="timeline__reason">{event.reason}</p> : null}
        </li>
      ))}
    </ol>
  );
}

function Fees({ offer }: { offer: OfferRead }) {
  const { t, i18n } = useTranslation();
  const locale = intlLocale(i18n.language);
  if (offer.fees.length === 0) return <>{t("application.noFees")}</>;
  return (
    <ul className="plain-list">
      {offer.fees.map((fee) => (
        <li key={fee.code}>
          {fee.name}: {formatMoney(fee.amount, locale)}
        </li>
      ))}
    </ul>
  );
}

export function OffersTable({
  offers,
  applicationStatus,
  canAccept,
  busyOfferId,
  onAccept,
}: {
  offers: OffersRead;
  applicationStatus: ApplicationRead["status"];
  canAccept: boolean;
  busyOfferId: string | null;
  onAccept: (offer: OfferRead) => void;
}) {
  const { t, i18n } = useTranslation();
  const locale = intlLocale(i18n.language);
  if (offers.offers.length === 0) return <p className="muted">{t("application.noOffers")}</p>;
  return (
    <div className="table-wrap" tabIndex={0} role="group" aria-label={t("application.offers")}>
    <table className="table offers-table">
      <caption className="visually-hidden">{t("application.offers")}</caption>
      <thead>
        <tr>
          <th scope="col">{t("application.lender")}</th>
          <th scope="col">{t("applications.amount")}</th>
          <th scope="col">{t("application.apr")}</th>
          <th scope="col">{t("application.noteRate")}</th>
          <th scope="col">{t("applications.term")}</th>
          <th scope="col">{t("application.monthlyPayment")}</th>
          <th scope="col">{t("application.totalCost")}</th>
          <th scope="col">{t("application.fees")}</th>
          <th scope="col">{t("application.expires")}</th>
          <th scope="col">{t("application.picks")}</th>
          {canAccept ? (
            <th scope="col">
              <span className="visually-hidden">{t("application.accept")}</span>
            </th>
          ) : null}
        </tr>
      </thead>
      <tbody>
        {offers.offers.map((offer) => {
          const picks = picksOf(offer);
          return (
            <tr key={offer.id} className={picks.length > 0 ? "offer--pick" : undefined}>
              <td data-label={t("application.lender")}>
                <strong>{offer.lender_name}</strong>
                <span className="offer__kind">{t(`application.kinds.${offer.kind}`)}</span>
              </td>
              <td data-label={t("applications.amount")}>{formatMoney(offer.amount, locale)}</td>
              <td data-label={t("application.apr")}>{formatPercent(offer.apr, locale)}</td>
              <td data-label={t("application.noteRate")}>{formatPercent(offer.note_rate, locale)}</td>
              <td data-label={t("applications.term")}>
                {t("applications.termMonths", { count: offer.term_months })}
              </td>
              <td data-label={t("application.monthlyPayment")}>
                {formatMoney(offer.monthly_payment, locale)}
              </td>
              <td data-label={t("application.totalCost")}>{formatMoney(offer.total_cost, locale)}</td>
              <td data-label={t("application.fees")}>
                <Fees offer={offer} />
              </td>
              <td data-label={t("application.expires")}>
                {offer.expired ? t("application.expired") : formatDateTime(offer.expires_at, locale)}
              </td>
              <td data-label={t("application.picks")}>
                {picks.map((pick) => (
                  <span key={pick} className="badge badge--pick">
                    {t(`application.antiSteering.${pick}`)}
                  </span>
                ))}
              </td>
              {canAccept ? (
                <td data-label="">
                  {offer.status === "accepted" ? (
                    <span className="badge badge--used">{t("application.accepted")}</span>
                  ) : acceptable(offer, applicationStatus) ? (
                    <button
                      type="button"
                      className="button button--small"
                      disabled={busyOfferId !== null}
                      aria-label={t("application.acceptOffer", { lender: offer.lender_name })}
                      onClick={() => onAccept(offer)}
                    >
                      {t("application.accept")}
                    </button>
                  ) : null}
                </td>
              ) : null}
            </tr>
          );
        })}
      </tbody>
    </table>
    </div>
  );
}

function approvalItem(pending: PendingApproval, answering: boolean | null): ApprovalItem {
  return {
    kind: "approval",
    id: pending.approval_id,
    tool: pending.tool,
    summary: pending.summary,
    payload: pending.arguments,
    answering,
    resolution: null,
  };
}

function Offers({ application }: { application: ApplicationRead }) {
  const { t } = useTranslation();
  const me = useMe();
  const queryClient = useQueryClient();
  const errorText = useErrorText();
  const offers = useOffers(application.id, true);
  const canAccept = hasScope(me.data, "offers:accept");
  const [pending, setPending] = useState<{ offer: OfferRead; approval: PendingApproval } | null>(
    null,
  );
  const [outcome, setOutcome] = useState<{ approved: boolean; lender: string } | null>(null);
  const cardHeading = useRef<HTMLHeadingElement>(null);

  const ask = useMutation({
    mutationFn: (offer: OfferRead) => askToAccept(offer.id, application.version),
    onSuccess: (approval, offer) => {
      setOutcome(null);
      setPending({ offer, approval });
    },
  });
  const answer = useMutation({
    mutationFn: (approved: boolean) => {
      if (!pending) throw new Error("nothing to answer");
      return answerAcceptance(pending.offer.id, pending.approval.approval_id, approved);
    },
    onSuccess: (result) => {
      setOutcome({ approved: result.approved, lender: pending?.offer.lender_name ?? "" });
      setPending(null);
      void queryClient.invalidateQueries({ queryKey: applicationKeys.all });
    },
  });

  useEffect(() => {
    if (pending) cardHeading.current?.focus();
  }, [pending]);

  if (offers.isPending) return <Loading />;
  if (offers.isError) {
    return (
      <div className="banner banner--info" role="status">
        <p>{t("application.offersUnavailable", { detail: errorText(offers.error) })}</p>
      </div>
    );
  }
  return (
    <>
      <OffersTable
        offers={offers.data}
        applicationStatus={application.status}
        canAccept={canAccept}
        busyOfferId={ask.isPending ? (ask.variables?.id ?? null) : (pending?.offer.id ?? null)}
        onAccept={(offer) => ask.mutate(offer)}
      />
      {ask.isError ? <ErrorMessage error={ask.error} /> : null}
      {pending ? (
        <ApprovalCard
          item={approvalItem(pending.approval, answer.isPending ? (answer.variables ?? null) : null)}
          headingRef={cardHeading}
          onAnswer={(_, approved) => answer.mutate(approved)}
        />
      ) : null}
      {answer.isError ? <ErrorMessage error={answer.error} /> : null}
      {outcome ? (
        <p className={`banner ${outcome.approved ? "banner--success" : "banner--info"}`} role="status">
          {outcome.approved
            ? t("application.acceptedBanner", { lender: outcome.lender })
            : t("application.rejectedBanner")}
        </p>
      ) : null}
    </>
  );
}

export function ApplicationPage() {
  const { t } = useTranslation();
  const { applicationId = "" } = useParams();
  const application = useApplication(applicationId);
  const events = useApplicationEvents(applicationId);
  const me = useMe();
  usePageTitle(
    application.data
      ? t("application.title", { reference: application.data.reference })
      : t("applications.title"),
  );
  const back = me.data?.role === "borrower" ? "/applications" : "/pipeline";
  return (
    <div className="stack">
      <p>
        <Link to={back}>← {t("application.back")}</Link>
      </p>
      <QueryState query={application}>
        {(data) => (
          <>
            <h1>{t("application.title", { reference: data.reference })}</h1>
            <Summary application={data} />
            <section className="card" aria-labelledby="timeline-title">
              <h2 id="timeline-title">{t("application.timeline")}</h2>
              <QueryState query={events}>{(list) => <Timeline events={list} />}</QueryState>
            </section>
            <DocumentsSection
              applicationId={data.id}
              canUpload={me.data?.role === "borrower"}
              canReview={hasScope(me.data, "documents:review")}
            />
            <section className="card" aria-labelledby="offers-title">
              <h2 id="offers-title">{t("application.offers")}</h2>
              <p className="muted">{t("application.offersIntro")}</p>
              <Offers application={data} />
            </section>
            <p>
              <Link to="/assistant">{t("application.askAssistant")}</Link>
            </p>
          </>
        )}
      </QueryState>
    </div>
  );
}
