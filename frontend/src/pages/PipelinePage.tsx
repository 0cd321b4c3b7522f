// The broker's workspace: their clients' applications as a board by status (or grouped by
// client), with a search box and status and loan-type filters; each card opens the application.
// The API filters, searches and pages (a broker's own, a manager's firm's): the page loads 50 at
// a time with "Load more", so an older application is found by search, not only the newest.

import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import {
  NO_FILTER,
  PRODUCT_TYPES,
  STATUS_ORDER,
  byClient,
  byStatus,
  type ApplicationItem,
  type PipelineFilter,
} from "../applications/model";
import { usePipeline } from "../applications/queries";
import { ErrorMessage, Loading, usePageTitle } from "../components/ui";
import { formatMoney, intlLocale } from "../lib/format";

const SEARCH_PAUSE_MS = 250;

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

/** Waits `ms` after the last change before passing `value` on (a search per pause, not per key). */
function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

export function Pipeline({
  items,
  total,
  status,
}: {
  items: readonly ApplicationItem[];
  total: number;
  status: PipelineFilter["status"];
}) {
  const { t } = useTranslation();
  const [view, setView] = useState<"board" | "clients">("board");
  const columns = byStatus(items).filter((column) => status === "" || column.status === status);
  return (
    <>
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
        {t("pipeline.count", { count: total })}
      </p>
      {items.length === 0 ? (
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
          {byClient(items).map((client) => (
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
  const [filter, setFilter] = useState<PipelineFilter>(NO_FILTER);
  const search = useDebounced(filter.search, SEARCH_PAUSE_MS);
  const applied = useMemo(() => ({ ...filter, search }), [filter, search]);
  const pipeline = usePipeline(applied);
  const pages = pipeline.data?.pages ?? [];
  const items = pages.flatMap((page) => page.items);
  const total = pages.at(-1)?.total ?? 0;
  const loadMoreFailed = pipeline.isFetchNextPageError;
  return (
    <div className="stack">
      <h1>{t("pipeline.title")}</h1>
      <p className="lead">{t("pipeline.intro")}</p>
      <Filters filter={filter} onChange={setFilter} />
      {pipeline.isError && !loadMoreFailed ? (
        <ErrorMessage error={pipeline.error} onRetry={() => void pipeline.refetch()} />
      ) : pipeline.isPending ? (
        <Loading />
      ) : (
        <div aria-busy={pipeline.isPlaceholderData} className="stack">
          {pipeline.isPlaceholderData ? <p className="muted">{t("pipeline.updating")}</p> : null}
          <Pipeline items={items} total={total} status={applied.status} />
          {items.length < total ? (
            <div className="stack">
              <p className="muted">{t("pipeline.showing", { shown: items.length, total })}</p>
              {loadMoreFailed ? (
                <ErrorMessage error={pipeline.error} onRetry={() => void pipeline.fetchNextPage()} />
              ) : (
                <p>
                  <button
                    type="button"
                    className="button button--secondary"
                    disabled={pipeline.isFetchingNextPage || !pipeline.hasNextPage}
                    onClick={() => void pipeline.fetchNextPage()}
                  >
                    {pipeline.isFetchingNextPage ? t("pipeline.loadingMore") : t("pipeline.loadMore")}
                  </button>
                </p>
              )}
            </div>
          ) : null}
        </div>
      )}
    </div>
  );
}
