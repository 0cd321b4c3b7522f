// Commissions for brokers and firm managers: a period's summary per payee, net amounts by month
// (chart), the ledger lines with the reason for each amount (the rule and its arithmetic), and the
// period's statement (the broker's own, or the manager's firm's) to download as CSV.

import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { api, unwrap, type Schemas } from "../api/client";
import { useMe, type Me } from "../auth/AuthProvider";
import { ErrorMessage, Loading, QueryState, usePageTitle } from "../components/ui";
import { formatMoney, intlLocale } from "../lib/format";
import { MonthChart } from "./MonthChart";
import { toCsv, totalsByMonth, yearToDate } from "./model";

type EntryRead = Schemas["lending__commissions__schemas__EntryRead"];
type Statement = Schemas["Statement"];

interface Period {
  start: string;
  end: string;
}

function label(value: string): string {
  return value.replace(/_/g, " ");
}

function PeriodForm({ period, onChange }: { period: Period; onChange: (next: Period) => void }) {
  const { t } = useTranslation();
  const [start, setStart] = useState(period.start);
  const [end, setEnd] = useState(period.end);
  const [problem, setProblem] = useState<string | null>(null);
  function submit(event: FormEvent) {
    event.preventDefault();
    if (!start || !end || start > end) {
      setProblem(t("commissions.invalidPeriod"));
      return;
    }
    setProblem(null);
    onChange({ start, end });
  }
  return (
    <form className="form form--inline" onSubmit={submit} aria-label={t("commissions.period")} noValidate>
      <div className="field">
        <label className="field__label" htmlFor="period-start">
          {t("commissions.from")}
        </label>
        <input
          id="period-start"
          className="field__input"
          type="date"
          value={start}
          onChange={(event) => setStart(event.target.value)}
        />
      </div>
      <div className="field">
        <label className="field__label" htmlFor="period-end">
          {t("commissions.to")}
        </label>
        <input
          id="period-end"
          className="field__input"
          type="date"
          value={end}
          onChange={(event) => setEnd(event.target.value)}
        />
      </div>
      <button type="submit" className="button">
        {t("commissions.show")}
      </button>
      {problem ? (
        <p className="field__error" role="alert">
          {problem}
        </p>
      ) : null}
    </form>
  );
}

function Summary({ period }: { period: Period }) {
  const { t, i18n } = useTranslation();
  const locale = intlLocale(i18n.language);
  const summary = useQuery({
    queryKey: ["commissions", "summary", period],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/commissions/summary", {
          params: { query: { period_start: period.start, period_end: period.end } },
        }),
      ),
  });
  return (
    <section className="card" aria-labelledby="commission-summary">
      <h2 id="commission-summary">{t("commissions.summary")}</h2>
      <QueryState query={summary}>
        {(data) =>
          data.payees.length === 0 ? (
            <p className="muted">{t("commissions.noPayees")}</p>
          ) : (
            <table className="table">
              <caption className="visually-hidden">{t("commissions.summary")}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("commissions.payee")}</th>
                  <th scope="col">{t("commissions.accrued")}</th>
                  <th scope="col">{t("commissions.clawedBack")}</th>
                  <th scope="col">{t("commissions.adjusted")}</th>
                  <th scope="col">{t("commissions.paid")}</th>
                  <th scope="col">{t("commissions.balance")}</th>
                </tr>
              </thead>
              <tbody>
                {data.payees.map((payee) => (
                  <tr key={`${payee.payee_kind}-${payee.payee_id}-${payee.currency}`}>
                    <td data-label={t("commissions.payee")}>{payee.payee_name}</td>
                    <td data-label={t("commissions.accrued")}>{formatMoney(payee.accrued, locale, payee.currency)}</td>
                    <td data-label={t("commissions.clawedBack")}>
                      {formatMoney(payee.clawed_back, locale, payee.currency)}
                    </td>
                    <td data-label={t("commissions.adjusted")}>{formatMoney(payee.adjusted, locale, payee.currency)}</td>
                    <td data-label={t("commissions.paid")}>{formatMoney(payee.paid, locale, payee.currency)}</td>
                    <td data-label={t("commissions.balance")}>
                      <strong>{formatMoney(payee.balance, locale, payee.currency)}</strong>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </QueryState>
    </section>
  );
}

function Why({ entry }: { entry: EntryRead }) {
  const { t, i18n } = useTranslation();
  const locale = intlLocale(i18n.language);
  const explanation = useQuery({
    queryKey: ["commissions", "why", entry.id],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/commissions/entries/{entry_id}/explanation", {
          params: { path: { entry_id: entry.id } },
        }),
      ),
  });
  return (
    <div
      className="why"
      role="region"
      aria-label={t("commissions.whyOf", {
        id: entry.id,
        amount: formatMoney(entry.total_amount, locale, entry.currency),
      })}
    >
      <QueryState query={explanation}>
        {(data) => (
          <>
            {data.rule_name ? (
              <p className="why__rule">
                {t("commissions.rule", {
                  name: data.rule_name,
                  version: data.rule_version ?? "—",
                  from: data.rule_effective_from ?? "—",
                })}
              </p>
            ) : null}
            <ol className="why__steps">
              {data.steps.map((step, index) => (
                <li key={index}>{step}</li>
              ))}
            </ol>
            {data.steps.length === 0 ? <p>{data.text}</p> : null}
          </>
        )}
      </QueryState>
    </div>
  );
}

function Ledger({ entries }: { entries: readonly EntryRead[] }) {
  const { t, i18n } = useTranslation();
  const locale = intlLocale(i18n.language);
  const [open, setOpen] = useState<number | null>(null);
  if (entries.length === 0) return <p className="muted">{t("commissions.noEntries")}</p>;
  return (
    <ul className="ledger">
      {entries.map((entry) => (
        <li key={entry.id} className="ledger__line">
          <div className="ledger__row">
            <span>{entry.effective_on}</span>
            <span>
              {label(entry.kind)} · {label(entry.component)} · {label(entry.party)}
            </span>
            <span>{entry.loan_reference ?? "—"}</span>
            <strong className="ledger__amount">
              {formatMoney(entry.total_amount, locale, entry.currency)}
            </strong>
            <button
              type="button"
              className="button button--secondary button--small"
              aria-expanded={open === entry.id}
              aria-label={`${t("commissions.why")} ${entry.loan_reference ?? ""} ${formatMoney(entry.total_amount, locale, entry.currency)}`.trim()}
              onClick={() => setOpen(open === entry.id ? null : entry.id)}
            >
              {t("commissions.why")}
            </button>
          </div>
          {open === entry.id ? <Why entry={entry} /> : null}
        </li>
      ))}
    </ul>
  );
}

function statementCsv(statement: Statement): string {
  return toCsv([
    ["date", "kind", "component", "share", "payee", "loan", "borrower", "rule", "amount", "tax", "total"],
    ...statement.lines.map((line) => [
      line.effective_on,
      line.kind,
      line.component,
      line.party,
      line.payee_name,
      line.loan_reference,
      line.borrower_name,
      line.rule,
      line.amount,
      line.tax_amount,
      line.total_amount,
    ]),
    [],
    ["opening_balance", statement.opening_balance],
    ["accruals", statement.accruals],
    ["clawbacks", statement.clawbacks],
    ["adjustments", statement.adjustments],
    ["payouts", statement.payouts],
    ["closing_balance", statement.closing_balance],
  ]);
}

function StatementView({ statement: data, period }: { statement: Statement; period: Period }) {
  const { t, i18n } = useTranslation();
  const locale = intlLocale(i18n.language);
  const href = useMemo(
    () => URL.createObjectURL(new Blob([statementCsv(data)], { type: "text/csv" })),
    [data],
  );
  useEffect(() => () => URL.revokeObjectURL(href), [href]);
  const money = (value: string) => formatMoney(value, locale, data.currency);
  return (
    <>
      <p>{t("commissions.statementFor", { name: data.subject_name })}</p>
      <dl className="details">
        <div>
          <dt>{t("commissions.opening")}</dt>
          <dd>{money(data.opening_balance)}</dd>
        </div>
        <div>
          <dt>{t("commissions.accruals")}</dt>
          <dd>{money(data.accruals)}</dd>
        </div>
        <div>
          <dt>{t("commissions.clawbacks")}</dt>
          <dd>{money(data.clawbacks)}</dd>
        </div>
        <div>
          <dt>{t("commissions.adjustments")}</dt>
          <dd>{money(data.adjustments)}</dd>
        </div>
        <div>
          <dt>{t("commissions.payouts")}</dt>
          <dd>{money(data.payouts)}</dd>
        </div>
        <div>
          <dt>{t("commissions.closing")}</dt>
          <dd>
            <strong>{money(data.closing_balance)}</strong>
          </dd>
        </div>
      </dl>
      <p>
        <a
          className="button button--secondary"
          href={href}
          download={`statement-${period.start}-${period.end}.csv`}
        >
          {t("commissions.download")}
        </a>
      </p>
    </>
  );
}

function StatementSection({ period, me }: { period: Period; me: Me }) {
  const { t } = useTranslation();
  const firm = me.role === "broker_manager";
  const statement = useQuery({
    queryKey: ["commissions", "statement", firm ? "firm" : "payee", period],
    queryFn: () =>
      firm
        ? unwrap(
            api.GET("/api/v1/commissions/statements/firms/{organization_id}", {
              params: {
                path: { organization_id: me.organization.id },
                query: { period_start: period.start, period_end: period.end },
              },
            }),
          )
        : unwrap(
            api.GET("/api/v1/commissions/statements/payees/{payee_id}", {
              params: {
                path: { payee_id: me.id },
                query: { period_start: period.start, period_end: period.end },
              },
            }),
          ),
  });
  return (
    <section className="card" aria-labelledby="commission-statement">
      <h2 id="commission-statement">{t("commissions.statement")}</h2>
      <QueryState query={statement}>
        {(data) => <StatementView statement={data} period={period} />}
      </QueryState>
    </section>
  );
}

function Entries({ period }: { period: Period }) {
  const { t } = useTranslation();
  const entries = useQuery({
    queryKey: ["commissions", "entries", period],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/commissions/entries", {
          params: { query: { period_start: period.start, period_end: period.end, limit: 500 } },
        }),
      ),
  });
  return (
    <>
      <section className="card" aria-labelledby="commission-chart">
        <h2 id="commission-chart">{t("commissions.chart")}</h2>
        <QueryState query={entries}>
          {(data) => (
            <MonthChart
              totals={totalsByMonth(data.items, period.start, period.end)}
              currency={data.items[0]?.currency ?? "USD"}
            />
          )}
        </QueryState>
      </section>
      <section className="card" aria-labelledby="commission-ledger">
        <h2 id="commission-ledger">{t("commissions.ledger")}</h2>
        <QueryState query={entries}>{(data) => <Ledger entries={data.items} />}</QueryState>
      </section>
    </>
  );
}

export function CommissionsPage() {
  const { t } = useTranslation();
  usePageTitle(t("commissions.title"));
  const me = useMe();
  const [period, setPeriod] = useState<Period>(() => yearToDate(new Date()));
  return (
    <div className="stack">
      <h1>{t("commissions.title")}</h1>
      <PeriodForm period={period} onChange={setPeriod} />
      <Summary period={period} />
      <Entries period={period} />
      {me.isPending ? <Loading /> : me.isError ? <ErrorMessage error={me.error} /> : null}
      {me.data && (me.data.role === "broker" || me.data.role === "broker_manager") ? (
        <StatementSection period={period} me={me.data} />
      ) : null}
    </div>
  );
}

