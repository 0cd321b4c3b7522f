// A borrower's applications: each with its status, amount and term, linking to its page.

import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { useApplications } from "../applications/queries";
import { QueryState, usePageTitle } from "../components/ui";
import { formatDateTime, formatMoney, intlLocale } from "../lib/format";

export function ApplicationsPage() {
  const { t, i18n } = useTranslation();
  const locale = intlLocale(i18n.language);
  usePageTitle(t("applications.title"));
  const applications = useApplications();
  return (
    <div className="stack">
      <h1>{t("applications.title")}</h1>
      <QueryState query={applications}>
        {(list) =>
          list.items.length === 0 ? (
            <div className="card card--notice">
              <p>{t("applications.none")}</p>
              <p>
                <Link to="/assistant">{t("applications.talkToAssistant")}</Link>
              </p>
            </div>
          ) : (
            <ul className="application-cards">
              {list.items.map((item) => (
                <li key={item.id} className="card application-card">
                  <h2 className="application-card__title">
                    <Link to={`/applications/${item.id}`}>
                      {item.reference} · {t(`products.${item.product_type}`)}
                    </Link>
                  </h2>
                  <p>
                    <span className={`status status--${item.status}`}>
                      {t(`statuses.${item.status}`)}
                    </span>
                  </p>
                  <p className="muted">
                    {formatMoney(item.amount, locale)}
                    {item.term_months != null
                      ? ` · ${t("applications.termMonths", { count: item.term_months })}`
                      : ""}
                    {` · ${t("applications.updated")} ${formatDateTime(item.updated_at, locale)}`}
                  </p>
                </li>
              ))}
            </ul>
          )
        }
      </QueryState>
    </div>
  );
}
