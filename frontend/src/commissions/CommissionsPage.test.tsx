// @vitest-environment jsdom
import "../i18n";

import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MemoryRouter } from "react-router";

import { AuthProvider } from "../auth/AuthProvider";
import { setSession } from "../auth/session";
import { CommissionsPage } from "./CommissionsPage";

// jsdom has no canvas: the chart is replaced by a stand-in that shows what it was given.
vi.mock("./MonthChart", () => ({
  MonthChart: ({ totals }: { totals: { month: string; total: string }[] }) => (
    <ul aria-label="chart">
      {totals.map((total) => (
        <li key={total.month}>{`${total.month}: ${total.total}`}</li>
      ))}
    </ul>
  ),
}));

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

const ME = {
  id: "broker-1",
  email: "broker@harbor.demo",
  full_name: "Bo Broker",
  role: "broker",
  scopes: ["commissions:read:own"],
  organization: { id: "org-1", name: "Harbor Brokers" },
  voice_enabled: false,
};

function entry(id: number, day: string, amount: string, kind = "accrual") {
  return {
    id,
    event_key: `e-${id}`,
    kind,
    component: "upfront",
    loan_id: "loan-1",
    loan_reference: "OMF-2026-000001",
    rule_id: "rule-1",
    rule_version_id: "rv-1",
    party: "broker",
    payee_kind: "user",
    payee_id: "broker-1",
    organization_id: "org-1",
    amount,
    tax_amount: "0.00",
    total_amount: amount,
    currency: "USD",
    effective_on: day,
    reverses_entry_id: null,
    details: {},
    created_at: `${day}T00:00:00Z`,
  };
}

const calls: string[] = [];

beforeEach(() => {
  calls.length = 0;
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(new Date("2026-03-15T12:00:00Z"));
  setSession({ accessToken: "tok", expiresAt: "2999-01-01T00:00:00Z", enrollmentOnly: false });
  vi.stubGlobal("URL", Object.assign(URL, { createObjectURL: () => "blob:statement", revokeObjectURL: () => {} }));
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL) => {
      const url = new URL(new Request(input).url, "http://localhost");
      calls.push(url.pathname + url.search);
      switch (url.pathname) {
        case "/api/v1/me":
          return json(200, ME);
        case "/api/v1/commissions/summary":
          return json(200, {
            period_start: url.searchParams.get("period_start"),
            period_end: url.searchParams.get("period_end"),
            entries: 3,
            payees: [
              { payee_kind: "user", payee_id: "broker-1", payee_name: "Bo Broker", currency: "USD", accrued: "300.30", clawed_back: "-40.00", adjusted: "0.00", paid: "0.00", balance: "260.30" },
            ],
          });
        case "/api/v1/commissions/entries":
          return json(200, {
            items: [entry(1, "2026-01-10", "100.10"), entry(2, "2026-01-20", "200.20"), entry(3, "2026-03-01", "-40.00", "clawback")],
            limit: 500,
            offset: 0,
          });
        case "/api/v1/commissions/entries/1/explanation":
          return json(200, {
            entry: entry(1, "2026-01-10", "100.10"),
            rule_name: "Demo upfront",
            rule_version: 2,
            rule_effective_from: "2026-01-01",
            loan_reference: "OMF-2026-000001",
            steps: ["Funded amount $10,010.00 × 1% = $100.10", "Broker share 100% = $100.10"],
            text: "",
          });
        case "/api/v1/commissions/statements/payees/broker-1":
          return json(200, {
            subject_kind: "payee",
            subject_id: "broker-1",
            subject_name: "Bo Broker",
            currency: "USD",
            period_start: "2026-01-01",
            period_end: "2026-03-15",
            opening_balance: "0.00",
            accruals: "300.30",
            clawbacks: "-40.00",
            adjustments: "0.00",
            payouts: "0.00",
            closing_balance: "260.30",
            lines: [],
          });
        default:
          return json(404, { error: "NotFound", detail: "x" });
      }
    }),
  );
});
afterEach(() => {
  cleanup();
  vi.useRealTimers();
  vi.unstubAllGlobals();
  setSession(null);
});

function renderPage() {
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <MemoryRouter>
        <AuthProvider>
          <CommissionsPage />
        </AuthProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe("<CommissionsPage>", () => {
  it("shows the year so far: summary, months, ledger with why, statement download", async () => {
    const user = userEvent.setup();
    renderPage();
    const summary = await screen.findByRole("region", { name: "Summary" });
    expect(await within(summary).findByText("$260.30")).toBeTruthy();
    expect(calls).toContain("/api/v1/commissions/summary?period_start=2026-01-01&period_end=2026-03-15");

    const chart = await screen.findByRole("list", { name: "chart" });
    expect(within(chart).getAllByRole("listitem").map((item) => item.textContent)).toEqual([
      "2026-01: 300.30",
      "2026-02: 0.00",
      "2026-03: -40.00",
    ]);

    const ledger = screen.getByRole("region", { name: "Ledger" });
    const why = within(ledger).getAllByRole("button", { name: /^Why\?/ });
    expect(why).toHaveLength(3);
    await user.click(why[0] as HTMLElement);
    const explanation = await screen.findByRole("region", { name: "Why entry 1 is $100.10" });
    expect(await within(explanation).findByText("Rule Demo upfront, version 2 (from 2026-01-01)")).toBeTruthy();
    expect(within(explanation).getByText(/× 1% = \$100.10/)).toBeTruthy();

    const statement = await screen.findByRole("region", { name: "Statement" });
    const download = await within(statement).findByRole("link", { name: "Download the statement (CSV)" });
    expect(download.getAttribute("download")).toBe("statement-2026-01-01-2026-03-15.csv");
    expect(download.getAttribute("href")).toBe("blob:statement");
  });

  it("refuses a period that ends before it starts, and asks again for a valid one", async () => {
    const user = userEvent.setup();
    renderPage();
    await screen.findByRole("region", { name: "Summary" });
    const from = screen.getByLabelText("From");
    await user.clear(from);
    await user.type(from, "2026-04-01");
    await user.click(screen.getByRole("button", { name: "Show" }));
    expect(screen.getByRole("alert").textContent).toMatch(/on or before the end/);
    await user.clear(from);
    await user.type(from, "2026-02-01");
    await user.click(screen.getByRole("button", { name: "Show" }));
    await vi.waitFor(() =>
      expect(calls).toContain("/api/v1/commissions/summary?period_start=2026-02-01&period_end=2026-03-15"),
    );
  });
});
