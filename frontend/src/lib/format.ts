// Display formatting of API values with Intl. Decimal strings go to Intl as strings, which formats
// them exactly (no float in between); everything here is for display only, never for arithmetic.

import { isDecimal, movePoint } from "./decimal";

const MISSING = "—";

type NumericString = `${number}`;

function numberFormat(locale: string, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  return new Intl.NumberFormat(locale, options);
}

/** "1234.5" → "$1,234.50" (en) / "US$1,234.50" (zh-CN). Null or malformed input shows a dash. */
export function formatMoney(
  amount: string | null | undefined,
  locale: string,
  currency = "USD",
): string {
  if (amount == null || !isDecimal(amount)) return MISSING;
  return numberFormat(locale, {
    style: "currency",
    currency,
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  }).format(amount.trim() as NumericString);
}

/**
 * A rate the API gives in percent units ("6.25" meaning 6.25 %) → "6.25%". Up to three decimals,
 * since note rates are often quoted to eighths (6.125 %).
 */
export function formatPercent(
  rate: string | null | undefined,
  locale: string,
  maximumFractionDigits = 3,
): string {
  if (rate == null || !isDecimal(rate)) return MISSING;
  const fraction = movePoint(rate.trim(), -2);
  return numberFormat(locale, {
    style: "percent",
    minimumFractionDigits: 2,
    maximumFractionDigits,
  }).format(fraction as NumericString);
}

/** An ISO date-time from the API in the reader's locale and time zone. */
export function formatDateTime(iso: string | null | undefined, locale: string): string {
  if (!iso) return MISSING;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return MISSING;
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(date);
}

/** The Intl locale for an app language code. */
export function intlLocale(language: string): string {
  return language.startsWith("zh") ? "zh-CN" : "en-US";
}
