import { describe, expect, it } from "vitest";

import { monthsBetween, toCsv, totalsByMonth, yearToDate } from "./model";

describe("commission months", () => {
  it("lists every month of a period, across a year end", () => {
    expect(monthsBetween("2025-11-15", "2026-02-01")).toEqual([
      "2025-11",
      "2025-12",
      "2026-01",
      "2026-02",
    ]);
    expect(monthsBetween("2026-03-01", "2026-02-01")).toEqual([]);
  });

  it("adds each month's entries exactly, clawbacks negative, empty months zero", () => {
    const totals = totalsByMonth(
      [
        { effective_on: "2026-01-10", total_amount: "100.10", kind: "accrual" },
        { effective_on: "2026-01-31", total_amount: "0.20", kind: "accrual" },
        { effective_on: "2026-03-02", total_amount: "-40.05", kind: "clawback" },
        { effective_on: "2025-12-31", total_amount: "999.99", kind: "accrual" }, // outside
      ],
      "2026-01-01",
      "2026-03-31",
    );
    expect(totals).toEqual([
      { month: "2026-01", total: "100.30" },
      { month: "2026-02", total: "0.00" },
      { month: "2026-03", total: "-40.05" },
    ]);
  });

  it("defaults to the year so far", () => {
    expect(yearToDate(new Date("2026-11-28T10:00:00Z"))).toEqual({
      start: "2026-01-01",
      end: "2026-11-28",
    });
  });
});

describe("statement CSV", () => {
  it("quotes separators and neutralises formulas, keeps negative amounts", () => {
    expect(
      toCsv([
        ["date", "loan", "why", "amount"],
        ["2026-01-10", "OMF-1", 'Upfront 1%, "demo" rule', "-12.50"],
        ["2026-01-11", "=HYPERLINK(1)", "line\nbreak", "3"],
      ]),
    ).toBe(
      'date,loan,why,amount\r\n2026-01-10,OMF-1,"Upfront 1%, ""demo"" rule",-12.50\r\n' +
        "2026-01-11,'=HYPERLINK(1),\"line\nbreak\",3\r\n",
    );
  });
});
