// @vitest-environment jsdom
import "../i18n";

import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, render, screen, within } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { AuthProvider } from "../auth/AuthProvider";
import { setSession } from "../auth/session";
import i18n from "../i18n";
import { DashboardPage, lastDays, lastMonths } from "./DashboardPage";
import { byCurrency, scaled } from "./charts";

const STEPS = [
  { step: "application_started", reached: 40, dropped: 10, conversion: "0.7500" },
  { step: "application_submitted", reached: 30, dropped: 12, conversion: "0.6000" },
  { step: "offer_presented", reached: 18, dropped: 3, conversion: "0.8333" },
  { step: "offer_accepted", reached: 15, dropped: 5, conversion: "0.6667" },
  { step: "funded", reached: 10, dropped: 0, conversion: null },
];

const POINTS = [
  { period_start: "2026-01-01", currency: "USD", accrued: "1234.56", clawed_back: "0.00", adjusted: "0.00", paid: "0.00", net: "1234.56" },
  { period_start: "2026-02-01", currency: "USD", accrued: "0.10", clawed_back: "-0.20", adjusted: "0.00", paid: "1234.56", net: "-0.10" },
  { period_start: "2026-02-01", currency: "CAD", accrued: "99.99", clawed_back: "0.00", adjusted: "0.00", paid: "0.00", net: "99.99" },
];

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

const DENIED = { error: "PermissionDenied", detail: "Analytics are for platform admins, broker managers and brokers." };

let role = "broker";
let funnelStatus = 200;
let trendStatus = 200;
let points: unknown[] = POINTS;
let requests: URL[] = [];

beforeEach(() => {
  role = "broker";
  funnelStatus = 200;
  trendStatus = 200;
  points = POINTS;
  requests = [];
  setSession({ accessToken: "tok", expiresAt: "2999-01-01T00:00:00Z", enrollmentOnly: false });
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = new URL(new Request(input, init).url, "http://localhost");
      requests.push(url);
      switch (url.pathname) {
        case "/api/v1/me":
          return json(200, {
            id: "u-1",
            email: "bo@harbor.demo",
            full_name: "Bo Broker",
            role,
            scopes: ["commissions:read:own"],
            organization: { id: "org-1", name: "Harbor Brokers" },
            voice_enabled: false,
          });
        case "/api/v1/analytics/drop-off":
          return funnelStatus === 200
            ? json(200, {
                as_of: null,
                started_from: url.searchParams.get("date_from"),
                started_to: url.searchParams.get("date_to"),
                steps: STEPS,
              })
            : json(funnelStatus, DENIED);
        case "/api/v1/analytics/commissions":
          return trendStatus === 200
            ? json(200, {
                as_of: null,
                period: url.searchParams.get("period"),
                date_from: url.searchParams.get("date_from"),
                date_to: url.searchParams.get("date_to"),
                points,
              })
            : json(trendStatus, DENIED);
        default:
          return json(404, { error: "NotFound", detail: "x" });
      }
    }),
  );
});
afterEach(async () => {
  cleanup();
  vi.unstubAllGlobals();
  setSession(null);
  await i18n.changeLanguage("en");
});

function renderPage() {
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <MemoryRouter>
        <AuthProvider>
          <DashboardPage />
        </AuthProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

function cells(row: HTMLElement): (string | null)[] {
  return within(row).getAllByRole("cell").map((cell) => cell.textContent);
}

describe("<DashboardPage>", () => {
  it("shows a broker their own funnel as bars and as a table, for the last 30 days", async () => {
    renderPage();
    const table = await screen.findByRole("table", { name: "Applications reaching each step" });
    expect(cells(within(table).getByRole("row", { name: /Submitted/ }))).toEqual(["30", "12", "60%"]);
    expect(within(table).getByRole("row", { name: /Funded/ }).lastChild?.textContent).toBe("—");
    const chart = screen.getByRole("img", { name: /^Applications reaching each step: Started: 40, Submitted: 30/ });
    // The longest bar is the first step's; the others are in proportion.
    const started = chart.querySelector("[data-testid=funnel-bar-application_started]");
    const funded = chart.querySelector("[data-testid=funnel-bar-funded]");
    expect(Number(started?.getAttribute("width"))).toBe(300);
    expect(Number(funded?.getAttribute("width"))).toBe(75);
    expect(await screen.findByText(/Your applications started from/)).toBeTruthy();
    const asked = requests.find((url) => url.pathname === "/api/v1/analytics/drop-off");
    const range = lastDays(30);
    expect(asked?.searchParams.get("date_from")).toBe(range.from);
    expect(asked?.searchParams.get("date_to")).toBe(range.to);
  });

  it("shows the commissions trend per month and currency with exact amounts", async () => {
    renderPage();
    const usd = await screen.findByRole("table", { name: "Commissions per month (USD)" });
    expect(cells(within(usd).getByRole("row", { name: /Jan 2026/ }))).toEqual(["$1,234.56", "$0.00", "$1,234.56"]);
    expect(cells(within(usd).getByRole("row", { name: /Feb 2026/ }))).toEqual(["$0.10", "$1,234.56", "-$0.10"]);
    const cad = screen.getByRole("table", { name: "Commissions per month (CAD)" });
    expect(cells(within(cad).getByRole("row", { name: /Feb 2026/ }))).toEqual(["CA$99.99", "CA$0.00", "CA$99.99"]);
    expect(
      screen.getByRole("img", {
        name: "Commissions per month (USD): Jan 2026: Accrued $1,234.56, Paid $0.00; Feb 2026: Accrued $0.10, Paid $1,234.56",
      }),
    ).toBeTruthy();
    const asked = requests.find((url) => url.pathname === "/api/v1/analytics/commissions");
    const range = lastMonths(12);
    expect(asked?.searchParams.get("period")).toBe("month");
    expect(asked?.searchParams.get("date_from")).toBe(range.from);
    expect(asked?.searchParams.get("date_to")).toBe(range.to);
  });

  it("says so when there are no commissions yet", async () => {
    points = [];
    renderPage();
    expect(await screen.findByText("No commissions in these 12 months.")).toBeTruthy();
  });

  it("shows the firm's wording to a manager", async () => {
    role = "broker_manager";
    renderPage();
    expect(await screen.findByText(/Your firm's applications started from/)).toBeTruthy();
  });

  it("shows an error in one section without hiding the other", async () => {
    trendStatus = 403;
    renderPage();
    expect(await screen.findByText("You are not allowed to do this.")).toBeTruthy();
    expect(await screen.findByRole("table", { name: "Applications reaching each step" })).toBeTruthy();
    expect(screen.queryByRole("table", { name: /Commissions per month/ })).toBeNull();
  });

  it("shows loading until the figures arrive", () => {
    renderPage();
    expect(screen.getAllByRole("status").length).toBeGreaterThan(0);
  });

  it("speaks Chinese", async () => {
    await i18n.changeLanguage("zh");
    renderPage();
    expect(await screen.findByRole("table", { name: "每月佣金（USD）" })).toBeTruthy();
    expect(screen.getByRole("table", { name: "到达各步骤的申请数" })).toBeTruthy();
  });
});

describe("helpers", () => {
  it("lastDays counts today in", () => {
    expect(lastDays(30, new Date("2026-12-07T10:00:00Z"))).toEqual({ from: "2026-11-08", to: "2026-12-07" });
  });
  it("lastMonths starts on the first of the month 11 months back, across a year", () => {
    expect(lastMonths(12, new Date("2026-03-15T10:00:00Z"))).toEqual({ from: "2025-04-01", to: "2026-03-15" });
  });
  it("scaled keeps bars in proportion and never negative", () => {
    expect(scaled(5, 10, 300)).toBe(150);
    expect(scaled(-3, 10, 300)).toBe(0);
    expect(scaled(3, 0, 300)).toBe(0);
  });
  it("byCurrency groups in order of first appearance", () => {
    expect([...byCurrency(POINTS).keys()]).toEqual(["USD", "CAD"]);
  });
});
