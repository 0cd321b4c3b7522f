// Pure helpers of the commissions screen: ledger totals by month (exact decimals), the months of a
// period, and a statement as CSV for download. Tested without a browser.

import { addDecimal } from "../lib/decimal";

export interface LedgerAmount {
  effective_on: string; // ISO date
  total_amount: string; // decimal string
  kind: string;
}

export interface MonthTotal {
  month: string; // YYYY-MM
  total: string; // exact, at the ledger's scale
}

/** The months from `start` to `end` (ISO dates), inclusive: every bar of the chart. */
export function monthsBetween(start: string, end: string): string[] {
  const [startYear, startMonth] = start.split("-").map(Number) as [number, number];
  const [endYear, endMonth] = end.split("-").map(Number) as [number, number];
  const months: string[] = [];
  let year = startYear;
  let month = startMonth;
  while (year < endYear || (year === endYear && month <= endMonth)) {
    months.push(`${year}-${String(month).padStart(2, "0")}`);
    month += 1;
    if (month > 12) {
      month = 1;
      year += 1;
    }
    if (months.length > 600) break; // a malformed period never loops forever
  }
  return months;
}

/** Net ledger total per month of the period (clawbacks and reversals count negative as booked). */
export function totalsByMonth(
  entries: readonly LedgerAmount[],
  periodStart: string,
  periodEnd: string,
): MonthTotal[] {
  const totals = new Map(monthsBetween(periodStart, periodEnd).map((month) => [month, "0.00"]));
  for (const entry of entries) {
    const month = entry.effective_on.slice(0, 7);
    const before = totals.get(month);
    if (before !== undefined) totals.set(month, addDecimal(before, entry.total_amount));
  }
  return [...totals].map(([month, total]) => ({ month, total }));
}

/** The first and last day of the calendar year of `today` (the default period). */
export function yearToDate(today: Date): { start: string; end: string } {
  const year = today.getUTCFullYear();
  const month = String(today.getUTCMonth() + 1).padStart(2, "0");
  const day = String(today.getUTCDate()).padStart(2, "0");
  return { start: `${year}-01-01`, end: `${year}-${month}-${day}` };
}

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? "" : String(value);
  // Quotes around anything with a separator; a leading = + - @ is prefixed so that a
  // spreadsheet never runs it as a formula.
  const safe = /^[=+\-@]/.test(text) && !/^-?\d/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Rows (first one the header) as RFC 4180 CSV with CRLF line ends. */
export function toCsv(rows: readonly (readonly unknown[])[]): string {
  return rows.map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";
}
