// The broker's workspace: their clients' applications as a board by status (or grouped by
// client), with a search box and status and loan-type filters; each card opens the application.

import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import {
  NO_FILTER,
  PRODUCT_TYPES,
  STATUS_ORDER,
  byClient,
  byStatus,
  matches,
  type ApplicationItem,
  type PipelineFilter,
} from "../applications/model";
import { useApplications } from "../applications/queries";
import { QueryState, usePageTitle } from "../components/ui";
import { formatMoney, intlLocale } from "../lib/format";

function ApplicationCard({ item, showStatus }: { item: ApplicationItem; showStatus: boolean }) {
  const { t, i18n } = useTranslation();
  const locale = intlLocale(i18n.language);
  return (
    <article className="pipeline-card">
      <h3 className="pipeline-card__title">
        <Link to={`/applications/${item.id}`}>{item.borrower_name ?? item.reference}</Link>
      </h3>
      <p className="pipeline-card__meta">
        {item.reference} · {t(`products.${item.product_type}`)}
      </p>
      <p className="pipeline-card__meta">
        {formatMoney(item.amount, locale)}
        {item.term_months != null
          ? ` · ${t("applications.termMonths", { count: item.term_months })}`
          : ""}
      </p>
      {showStatus ? (
        <p>
          <span className={`status status--${item.status}`}>{t(`statuses.${item.status}`)}</span>
        </p>
      ) : null}
    </article>
  );
}

function Filters({
  filter,
  onChange,
}: {
  filter: PipelineFilter;
  onChange: (next: PipelineFilter) => void;
}) {
  const { t } = useTranslation();
  return (
    <form className="filters" role="search" onSubmit={(event) => event.preventDefault()}>
      <div className="field">
        <label className="field__label" htmlFor="pipeline-search">
          {t("pipeline.search")}
        </label>
        <input
          id="pipeline-search"
          className="field__input"
          type="search"
          value={filter.search}
          placeholder={t("pipeline.searchHint")}
          onChange={(event) => onChange({ ...filter, search: event.target.value })}
        />
      </div>
      <div className="field">
        <label className="field__label" htmlFor="pipeline-status">
          {t("pipeline.status")}
        </label>
        <select
          id="pipeline-status"
          className="field__input"
          value={filter.status}
          onChange={(event) =>
            onChange({ ...filter, status: event.target.value as PipelineFilter["status"] })
          }
        >
          <option value="">{t("pipeline.all")}</option>
          {STATUS_ORDER.map((status) => (
            <option key={status} value={status}>
              {t(`statuses.${status}`)}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label className="field__label" htmlFor="pipeline-product">
          {t("pipeline.product")}
        </label>
        <select
          id="pipeline-product"
          className="field__input"
          value={filter.product}
          onChange={(event) =>
            onChange({ ...filter, product: event.target.value as PipelineFilter["product"] })
          }
        >
          <option value="">{t("pipeline.all")}</option>
          {PRODUCT_TYPES.map((product) => (
            <option key={product} value={product}>
              {t(`products.${product}`)}
            </option>
          ))}
        </select>
      </div>
    </form>
  );
}

export function Pipeline({ items }: { items: readonly ApplicationItem[] }) {
  const { t } = useTranslation();
  const [filter, setFilter] = useState<PipelineFilter>(NO_FILTER);
  const [view, setView] = useState<"board" | "clients">("board");
  const shown = useMemo(() => items.filter((item) => matches(item, filter)), [items, filter]);
  const columns = byStatus(shown).filter(
    (column) => filter.status === "" || column.status === filter.status,
  );
  return (
    <>
      <Filters filter={filter} onChange={setFilter} />
      <div className="button-row" role="group" aria-label={t("pipeline.title")}>
        <button
          type="button"
          className={`button button--small${view === "board" ? "" : " button--secondary"}`}
          aria-pressed={view === "board"}
          onClick={() => setView("board")}
        >
          {t("pipeline.board")}
        </button>
        <button
          type="button"
          className={`button button--small${view === "clients" ? "" : " button--secondary"}`}
          aria-pressed={view === "clients"}
          onClick={() => setView("clients")}
        >
          {t("pipeline.clients")}
        </button>
      </div>
      <p role="status" className="muted">
        {t("pipeline.count", { count: shown.length })}
      </p>
      {shown.length === 0 ? (
        <p>{t("pipeline.empty")}</p>
      ) : view === "board" ? (
        <div className="board" tabIndex={0} role="region" aria-label={t("pipeline.board")}>
          {columns.map((column) => (
            <section
              key={column.status}
              className="board__column"
              aria-labelledby={`column-${column.status}`}
            >
              <h2 id={`column-${column.status}`} className="board__title">
                {t("pipeline.column", {
                  status: t(`statuses.${column.status}`),
                  count: column.items.length,
                })}
              </h2>
              <ul className="board__cards">
                {column.items.map((item) => (
                  <li key={item.id}>
                    <ApplicationCard item={item} showStatus={false} />
                  </li>
                ))}
              </ul>
            </section>
          ))}
        </div>
      ) : (
        <ul className="clients">
          {byClient(shown).map((client) => (
            <li key={client.borrowerId} className="card">
              <h2>{client.name}</h2>
              <p className="muted">
                {t("pipeline.clientApplications", { count: client.items.length })}
              </p>
              <ul className="board__cards">
                {client.items.map((item) => (
                  <li key={item.id}>
                    <ApplicationCard item={item} showStatus />
                  </li>
                ))}
              </ul>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

export function PipelinePage() {
  const { t } = useTranslation();
  usePageTitle(t("pipeline.title"));
  const applications = useApplications();
  return (
    <div className="stack">
      <h1>{t("pipeline.title")}</h1>
      <p className="lead">{t("pipeline.intro")}</p>
      <QueryState query={applications}>{(list) => <Pipeline items={list.items} />}</QueryState>
    </div>
  );
}
