// The bar chart of net commissions by month (chart.js, bundled, tree-shaken to bars), with the
// same figures as a table for screen readers.

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  LinearScale,
  Tooltip,
} from "chart.js";
import { useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";

import { formatMoney, intlLocale } from "../lib/format";
import type { MonthTotal } from "./model";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

function monthLabel(month: string, locale: string): string {
  const [year, number] = month.split("-").map(Number) as [number, number];
  return new Intl.DateTimeFormat(locale, { month: "short", year: "numeric", timeZone: "UTC" }).format(
    new Date(Date.UTC(year, number - 1, 1)),
  );
}

export function MonthChart({ totals, currency }: { totals: readonly MonthTotal[]; currency: string }) {
  const { t, i18n } = useTranslation();
  const locale = intlLocale(i18n.language);
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const context = canvas.current?.getContext("2d");
    if (!context) return undefined;
    const chart = new Chart(context, {
      type: "bar",
      data: {
        labels: totals.map((total) => monthLabel(total.month, locale)),
        datasets: [
          {
            label: t("commissions.amount"),
            // Display only: the exact figures are the strings in the table below.
            data: totals.map((total) => Number(total.total)),
            backgroundColor: "#6d28d9",
            borderRadius: 4,
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          tooltip: {
            callbacks: {
              label: (item) => formatMoney(totals[item.dataIndex]?.total, locale, currency),
            },
          },
        },
        scales: { y: { beginAtZero: true } },
      },
    });
    return () => chart.destroy();
  }, [totals, locale, currency, t]);
  return (
    <figure className="chart">
      <div className="chart__canvas">
        <canvas ref={canvas} role="img" aria-label={t("commissions.chartLabel")} />
      </div>
      <table className="visually-hidden">
        <caption>{t("commissions.chartLabel")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("commissions.month")}</th>
            <th scope="col">{t("commissions.amount")}</th>
          </tr>
        </thead>
        <tbody>
          {totals.map((total) => (
            <tr key={total.month}>
              <td>{monthLabel(total.month, locale)}</td>
              <td>{formatMoney(total.total, locale, currency)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
