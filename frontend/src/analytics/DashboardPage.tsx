// The dashboard for brokers, broker managers and platform admins: the funnel of the last 30 days
// (how many applications reached each step and how many went on), from /api/v1/analytics/drop-off,
// and the commissions trend of the last 12 months (accrued and paid per month), from
// /api/v1/analytics/commissions. The server scopes both: a broker sees their own applications and
// entries, a manager their firm's. Charts are SVG with the same figures in tables (./charts.tsx).

import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";

import { api, unwrap } from "../api/client";
import { useMe } from "../auth/AuthProvider";
import { QueryState, usePageTitle } from "../components/ui";
import { formatDateTime, intlLocale } from "../lib/format";
import { FunnelBars, TrendBars, byCurrency } from "./charts";

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The last `days` days, today (UTC) included. */
export function lastDays(days: number, today: Date = new Date()): { from: string; to: string } {
  const start = new Date(today.getTime() - (days - 1) * 86_400_000);
  return { from: isoDay(start), to: isoDay(today) };
}

/** The last `months` calendar months (UTC), this one included: first day of the first to today. */
export function lastMonths(months: number, today: Date = new Date()): { from: string; to: string } {
  const start = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - (months - 1), 1));
  return { from: isoDay(start), to: isoDay(today) };
}

function Funnel({ range }: { range: { from: string; to: string } }) {
  const { t, i18n } = useTranslation();
  const dropOff = useQuery({
    queryKey: ["analytics", "drop-off", range],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/analytics/drop-off", {
          params: { query: { date_from: range.from, date_to: range.to } },
        }),
      ),
  });
  return (
    <section className="card" aria-labelledby="dashboard-funnel">
      <h2 id="dashboard-funnel">{t("dashboard.funnel")}</h2>
      <QueryState query={dropOff}>
        {(data) =>
          data.steps[0]?.reached ? (
            <>
              <FunnelBars steps={data.steps} />
              {data.as_of ? (
                <p className="muted">
                  {t("dashboard.asOf", { time: formatDateTime(data.as_of, intlLocale(i18n.language)) })}
                </p>
              ) : null}
            </>
          ) : (
            <p className="muted">{t("dashboard.empty")}</p>
          )
        }
      </QueryState>
    </section>
  );
}

function Commissions({ range }: { range: { from: string; to: string } }) {
  const { t, i18n } = useTranslation();
  const trend = useQuery({
    queryKey: ["analytics", "commissions", range],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/analytics/commissions", {
          params: { query: { date_from: range.from, date_to: range.to, period: "month" } },
        }),
      ),
  });
  return (
    <section className="card" aria-labelledby="dashboard-commissions">
      <h2 id="dashboard-commissions">{t("dashboard.commissions")}</h2>
      <p className="muted">{t("dashboard.commissionsIntro", { from: range.from, to: range.to })}</p>
      <QueryState query={trend}>
        {(data) =>
          data.points.length === 0 ? (
            <p className="muted">{t("dashboard.noCommissions")}</p>
          ) : (
            <>
              {[...byCurrency(data.points)].map(([currency, points]) => (
                <TrendBars key={currency} currency={currency} points={points} />
              ))}
              {data.as_of ? (
                <p className="muted">
                  {t("dashboard.asOf", { time: formatDateTime(data.as_of, intlLocale(i18n.language)) })}
                </p>
              ) : null}
            </>
          )
        }
      </QueryState>
    </section>
  );
}

export function DashboardPage() {
  const { t } = useTranslation();
  usePageTitle(t("dashboard.title"));
  const me = useMe();
  const days = useMemo(() => lastDays(30), []);
  const months = useMemo(() => lastMonths(12), []);
  const own = me.data?.role === "broker";
  return (
    <div className="stack">
      <h1>{t("dashboard.title")}</h1>
      <p className="lead">
        {t(own ? "dashboard.introOwn" : "dashboard.intro", { from: days.from, to: days.to })}
      </p>
      <Funnel range={days} />
      <Commissions range={months} />
    </div>
  );
}
