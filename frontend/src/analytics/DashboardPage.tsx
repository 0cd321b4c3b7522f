// The firm dashboard for broker managers (and platform admins): the funnel of the last 30 days —
// how many applications reached each step and how many went on — as a bar chart with the same
// figures in a table, from /api/v1/analytics/drop-off (the firm's own rows only, server-side).

import { useQuery } from "@tanstack/react-query";
import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from "chart.js";
import { useEffect, useMemo, useRef } from "react";
import { useTranslation } from "react-i18next";

import { api, unwrap, type Schemas } from "../api/client";
import { QueryState, usePageTitle } from "../components/ui";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

type DropOff = Schemas["DropOff"];

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The last `days` days, today (UTC) included. */
export function lastDays(days: number, today: Date = new Date()): { from: string; to: string } {
  const start = new Date(today.getTime() - (days - 1) * 86_400_000);
  return { from: isoDay(start), to: isoDay(today) };
}

function percent(value: string | null | undefined, locale: string): string {
  if (value == null) return "—";
  return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 }).format(
    Number(value),
  );
}

function FunnelChart({ data }: { data: DropOff }) {
  const { t, i18n } = useTranslation();
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const context = canvas.current?.getContext("2d");
    if (!context) return undefined;
    const chart = new Chart(context, {
      type: "bar",
      data: {
        labels: data.steps.map((step) => t(`dashboard.steps.${step.step}`)),
        datasets: [
          {
            label: t("dashboard.reached"),
            data: data.steps.map((step) => step.reached),
            backgroundColor: "#6d28d9",
            borderRadius: 4,
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
    return () => chart.destroy();
  }, [data, t]);
  const locale = i18n.language;
  return (
    <figure className="chart">
      <div className="chart__canvas">
        <canvas ref={canvas} role="img" aria-label={t("dashboard.chartLabel")} />
      </div>
      <table>
        <caption>{t("dashboard.chartLabel")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("dashboard.step")}</th>
            <th scope="col">{t("dashboard.reached")}</th>
            <th scope="col">{t("dashboard.dropped")}</th>
            <th scope="col">{t("dashboard.conversion")}</th>
          </tr>
        </thead>
        <tbody>
          {data.steps.map((step) => (
            <tr key={step.step}>
              <th scope="row">{t(`dashboard.steps.${step.step}`)}</th>
              <td>{step.reached}</td>
              <td>{step.dropped}</td>
              <td>{percent(step.conversion, locale)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

export function DashboardPage() {
  const { t } = useTranslation();
  usePageTitle(t("dashboard.title"));
  const range = useMemo(() => lastDays(30), []);
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
    <div className="stack">
      <h1>{t("dashboard.title")}</h1>
      <p className="lead">{t("dashboard.intro", { from: range.from, to: range.to })}</p>
      <section className="card" aria-labelledby="dashboard-funnel">
        <h2 id="dashboard-funnel">{t("dashboard.funnel")}</h2>
        <QueryState query={dropOff}>
          {(data) =>
            data.steps[0]?.reached ? (
              <>
                <FunnelChart data={data} />
                {data.as_of ? (
                  <p className="muted">{t("dashboard.asOf", { time: data.as_of })}</p>
                ) : null}
              </>
            ) : (
              <p className="muted">{t("dashboard.empty")}</p>
            )
          }
        </QueryState>
      </section>
    </div>
  );
}
