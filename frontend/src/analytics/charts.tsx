// The dashboard's charts as plain SVG (no canvas, no chart library): the funnel as horizontal bars
// and the commissions trend as paired bars (accrued, paid) per period. Each chart is an image with
// a label that reads its figures out, and the same figures follow in a table. Bar lengths use
// numbers for geometry only; every figure shown is the API's exact string, formatted by Intl.

import { useTranslation } from "react-i18next";

import type { Schemas } from "../api/client";
import { formatMoney, intlLocale } from "../lib/format";

type DropOffStep = Schemas["DropOff"]["steps"][number];
type TrendPoint = Schemas["CommissionTrendPoint"];

const BAR_COLOUR = "#6d28d9";
const PAID_COLOUR = "#0f766e";

/** The length of `value` on a scale of `max` (0 when the scale is empty). */
export function scaled(value: number, max: number, length: number): number {
  if (!(max > 0) || !(value > 0)) return 0;
  return (Math.min(value, max) / max) * length;
}

function percent(value: string | null | undefined, locale: string): string {
  if (value == null) return "—";
  return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 }).format(
    Number(value),
  );
}

export function FunnelBars({ steps }: { steps: readonly DropOffStep[] }) {
  const { t, i18n } = useTranslation();
  const locale = intlLocale(i18n.language);
  const count = new Intl.NumberFormat(locale);
  const max = Math.max(0, ...steps.map((step) => step.reached));
  const labelWidth = 140;
  const barArea = 300;
  const row = 32;
  const height = steps.length * row;
  const summary = steps
    .map((step) => `${t(`dashboard.steps.${step.step}`)}: ${count.format(step.reached)}`)
    .join(", ");
  return (
    <figure className="chart">
      <svg
        viewBox={`0 0 ${labelWidth + barArea + 60} ${height}`}
        width="100%"
        role="img"
        aria-label={`${t("dashboard.chartLabel")}: ${summary}`}
      >
        {steps.map((step, index) => {
          const y = index * row;
          return (
            <g key={step.step} aria-hidden="true">
              <text x={labelWidth - 8} y={y + row / 2 + 5} textAnchor="end" fontSize="13" fill="currentColor">
                {t(`dashboard.steps.${step.step}`)}
              </text>
              <rect
                x={labelWidth}
                y={y + 6}
                width={scaled(step.reached, max, barArea)}
                height={row - 12}
                rx={3}
                fill={BAR_COLOUR}
                data-testid={`funnel-bar-${step.step}`}
              />
              <text
                x={labelWidth + scaled(step.reached, max, barArea) + 6}
                y={y + row / 2 + 5}
                fontSize="13"
                fill="currentColor"
              >
                {count.format(step.reached)}
              </text>
            </g>
          );
        })}
      </svg>
      <table className="table">
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
          {steps.map((step) => (
            <tr key={step.step}>
              <th scope="row">{t(`dashboard.steps.${step.step}`)}</th>
              <td>{count.format(step.reached)}</td>
              <td>{count.format(step.dropped)}</td>
              <td>{percent(step.conversion, locale)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

/** "2026-03-01" → "Mar 2026" / "2026年3月". */
export function periodLabel(periodStart: string, locale: string): string {
  const [year, month] = periodStart.split("-").map(Number) as [number, number];
  return new Intl.DateTimeFormat(locale, { month: "short", year: "numeric", timeZone: "UTC" }).format(
    new Date(Date.UTC(year, month - 1, 1)),
  );
}

/** One currency's points as paired bars per month: accrued and paid (both as the API states them). */
export function TrendBars({ points, currency }: { points: readonly TrendPoint[]; currency: string }) {
  const { t, i18n } = useTranslation();
  const locale = intlLocale(i18n.language);
  const max = Math.max(0, ...points.flatMap((point) => [Number(point.accrued), Number(point.paid)]));
  const column = 48;
  const plot = 160;
  const top = 8;
  const axis = 24;
  const width = Math.max(points.length * column, column);
  const summary = points
    .map(
      (point) =>
        `${periodLabel(point.period_start, locale)}: ${t("dashboard.accrued")} ${formatMoney(
          point.accrued,
          locale,
          currency,
        )}, ${t("dashboard.paid")} ${formatMoney(point.paid, locale, currency)}`,
    )
    .join("; ");
  const caption = t("dashboard.trendLabel", { currency });
  return (
    <figure className="chart">
      <svg
        viewBox={`0 0 ${width} ${top + plot + axis}`}
        width="100%"
        role="img"
        aria-label={`${caption}: ${summary}`}
      >
        <line x1={0} x2={width} y1={top + plot} y2={top + plot} stroke="currentColor" strokeWidth={1} />
        {points.map((point, index) => {
          const x = index * column;
          const accrued = scaled(Number(point.accrued), max, plot);
          const paid = scaled(Number(point.paid), max, plot);
          return (
            <g key={point.period_start} aria-hidden="true">
              <rect x={x + 6} y={top + plot - accrued} width={17} height={accrued} fill={BAR_COLOUR}>
                <title>{`${t("dashboard.accrued")} ${formatMoney(point.accrued, locale, currency)}`}</title>
              </rect>
              <rect x={x + 25} y={top + plot - paid} width={17} height={paid} fill={PAID_COLOUR}>
                <title>{`${t("dashboard.paid")} ${formatMoney(point.paid, locale, currency)}`}</title>
              </rect>
              <text x={x + column / 2} y={top + plot + 16} textAnchor="middle" fontSize="11" fill="currentColor">
                {periodLabel(point.period_start, locale)}
              </text>
            </g>
          );
        })}
      </svg>
      <p className="muted" aria-hidden="true">
        <span style={{ color: BAR_COLOUR }}>■</span> {t("dashboard.accrued")}{" "}
        <span style={{ color: PAID_COLOUR }}>■</span> {t("dashboard.paid")}
      </p>
      <table className="table">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{t("dashboard.month")}</th>
            <th scope="col">{t("dashboard.accrued")}</th>
            <th scope="col">{t("dashboard.paid")}</th>
            <th scope="col">{t("dashboard.net")}</th>
          </tr>
        </thead>
        <tbody>
          {points.map((point) => (
            <tr key={point.period_start}>
              <th scope="row">{periodLabel(point.period_start, locale)}</th>
              <td>{formatMoney(point.accrued, locale, currency)}</td>
              <td>{formatMoney(point.paid, locale, currency)}</td>
              <td>{formatMoney(point.net, locale, currency)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

/** The points grouped by currency (in the order the currencies first appear). */
export function byCurrency(points: readonly TrendPoint[]): Map<string, TrendPoint[]> {
  const groups = new Map<string, TrendPoint[]>();
  for (const point of points) {
    const group = groups.get(point.currency) ?? [];
    group.push(point);
    groups.set(point.currency, group);
  }
  return groups;
}
