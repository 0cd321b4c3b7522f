// @vitest-environment jsdom
import "../i18n";

import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MemoryRouter, Route, Routes } from "react-router";

import { AuthProvider } from "../auth/AuthProvider";
import { setSession } from "../auth/session";
import { ApplicationPage } from "./ApplicationPage";

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

const APPLICATION = {
  id: "app-1",
  reference: "OMF-000042",
  status: "approved",
  version: 7,
  product_type: "personal",
  purpose: "home_improvement",
  amount: "15000.00",
  term_months: 36,
  borrower_user_id: "b-1",
  broker_user_id: null,
  organization_id: "o-1",
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-02T00:00:00Z",
};

const EVENTS = [
  { id: 1, from_status: null, to_status: "draft", actor_role: "borrower", source: "chat", reason: null, occurred_at: "2026-01-01T10:00:00Z" },
  { id: 2, from_status: "draft", to_status: "submitted", actor_role: "borrower", source: "chat", reason: null, occurred_at: "2026-01-01T11:00:00Z" },
  { id: 3, from_status: "submitted", to_status: "approved", actor_role: null, source: "lender", reason: "Meets our criteria", occurred_at: "2026-01-02T09:00:00Z" },
];

function offer(id: string, lender: string, extra: Record<string, unknown>) {
  return {
    id,
    application_id: "app-1",
    lender_id: `l-${id}`,
    lender_name: lender,
    product_id: null,
    product_name: null,
    kind: "firm",
    status: "active",
    amount: "15000.00",
    term_months: 36,
    note_rate: "7.9",
    apr: "8.412",
    monthly_payment: "469.35",
    total_of_payments: "16896.60",
    finance_charge: "2196.60",
    amount_financed: "14700.00",
    prepaid_finance_charges: "300.00",
    other_fees: "0.00",
    points_and_fees: "300.00",
    total_cost: "17196.60",
    fees: [{ code: "origination", name: "Origination fee", amount: "300.00", finance_charge: true }],
    risky_features: [],
    rank_by_apr: 1,
    rank_by_total_cost: 1,
    anti_steering: [],
    debt_to_income: null,
    expires_at: "2026-02-01T00:00:00Z",
    expired: false,
    accepted_at: null,
    ...extra,
  };
}

const OFFERS = {
  application_id: "app-1",
  prequalification_id: null,
  as_of: null,
  credit_band: "good",
  inputs: {},
  offers: [
    offer("o-1", "Harbor Bank", { anti_steering: ["lowest_rate", "lowest_points_and_fees"] }),
    offer("o-2", "Summit Credit Union", { kind: "prequalified", apr: "9.1" }),
  ],
  ranked_by_total_cost: ["o-1", "o-2"],
  anti_steering: null,
  excluded: [],
};

const ME = {
  id: "b-1",
  email: "bea@example.com",
  full_name: "Bea",
  role: "borrower",
  scopes: ["applications:read:own", "offers:accept"],
  voice_enabled: false,
};

type Route = (method: string, path: string, body: unknown) => Response;

function stubApi(route: Route) {
  const calls: { method: string; path: string; body: unknown }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      const text = await request.text();
      const body: unknown = text ? JSON.parse(text) : undefined;
      const path = new URL(request.url, "http://localhost").pathname;
      calls.push({ method: request.method, path, body });
      return route(request.method, path, body);
    }),
  );
  return calls;
}

function renderPage() {
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <MemoryRouter initialEntries={["/applications/app-1"]}>
        <AuthProvider>
          <Routes>
            <Route path="/applications/:applicationId" element={<ApplicationPage />} />
          </Routes>
        </AuthProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

beforeEach(() =>
  setSession({ accessToken: "tok", expiresAt: "2999-01-01T00:00:00Z", enrollmentOnly: false }),
);
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  setSession(null);
});

function baseRoutes(method: string, path: string): Response | null {
  if (path === "/api/v1/me") return json(200, ME);
  if (method === "GET" && path === "/api/v1/applications/app-1") return json(200, APPLICATION);
  if (method === "GET" && path === "/api/v1/applications/app-1/events") return json(200, EVENTS);
  if (method === "GET" && path === "/api/v1/applications/app-1/offers") return json(200, OFFERS);
  if (method === "GET" && path === "/api/v1/applications/app-1/documents") {
    return json(200, {
      completeness: {
        application_id: "app-1",
        product_type: "personal",
        requirements: [],
        missing: [],
        unverified: [],
        complete: true,
      },
      documents: [],
    });
  }
  return null;
}

describe("<ApplicationPage>", () => {
  it("shows the summary, the status timeline and the offers with the picks marked", async () => {
    stubApi((method, path) => baseRoutes(method, path) ?? json(404, { error: "NotFound", detail: "x" }));
    renderPage();
    expect(await screen.findByRole("heading", { name: "Application OMF-000042" })).toBeTruthy();
    const timeline = screen.getByRole("region", { name: "Status history" });
    const steps = within(timeline).getAllByRole("listitem");
    expect(steps.map((step) => step.querySelector(".timeline__status")?.textContent)).toEqual([
      "Draft",
      "Submitted",
      "Approved",
    ]);
    expect(within(timeline).getByText("Meets our criteria")).toBeTruthy();

    const table = await screen.findByRole("table", { name: "Offers" });
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(2);
    const first = within(rows[0] as HTMLElement);
    expect(first.getByText("Harbor Bank")).toBeTruthy();
    expect(first.getByText("8.412%")).toBeTruthy();
    expect(first.getByText("7.90%")).toBeTruthy();
    expect(first.getByText("$469.35")).toBeTruthy();
    expect(first.getByText("$17,196.60")).toBeTruthy();
    expect(first.getByText("Origination fee: $300.00")).toBeTruthy();
    expect(first.getByText("Lowest rate")).toBeTruthy();
    expect(first.getByText("Lowest points and fees")).toBeTruthy();
    // Only the firm offer can be accepted; the estimate cannot.
    expect(first.getByRole("button", { name: "Accept the offer from Harbor Bank" })).toBeTruthy();
    expect(within(rows[1] as HTMLElement).queryByRole("button")).toBeNull();
    expect(within(rows[1] as HTMLElement).getByText("Estimate")).toBeTruthy();
  });

  it("accepts only after the approval card is approved", async () => {
    let accepted = false;
    const calls = stubApi((method, path) => {
      if (method === "POST" && path === "/api/v1/offers/o-1/acceptance") {
        return json(201, {
          approval_id: "ap-1",
          tool: "accept_offer",
          summary: "Accept Harbor Bank's offer of $15,000.00 at 8.412% APR",
          arguments: { offer_id: "o-1", version: 7 },
          expires_at: "2026-01-02T10:00:00Z",
        });
      }
      if (method === "POST" && path === "/api/v1/offers/o-1/acceptance/ap-1") {
        accepted = true;
        return json(200, { approved: true, accepted: null });
      }
      if (accepted && method === "GET" && path === "/api/v1/applications/app-1") {
        return json(200, { ...APPLICATION, status: "offer_accepted" });
      }
      return baseRoutes(method, path) ?? json(404, { error: "NotFound", detail: "x" });
    });
    const user = userEvent.setup();
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Accept the offer from Harbor Bank" }));
    const card = await screen.findByRole("region", { name: "Your approval is needed" });
    expect(within(card).getByText(/Accept Harbor Bank's offer/)).toBeTruthy();
    expect(document.activeElement?.textContent).toBe("Your approval is needed");
    expect(calls.filter((call) => call.path.startsWith("/api/v1/offers/o-1/acceptance/"))).toHaveLength(0);
    expect(calls.find((call) => call.path === "/api/v1/offers/o-1/acceptance")?.body).toEqual({
      version: 7,
    });

    await user.click(within(card).getByRole("button", { name: "Approve" }));
    expect(await screen.findByText("You accepted the offer from Harbor Bank.")).toBeTruthy();
    expect(calls.find((call) => call.path === "/api/v1/offers/o-1/acceptance/ap-1")?.body).toEqual({
      approved: true,
      channel: "button",
    });
    expect(await screen.findByText("Offer accepted")).toBeTruthy();
  });

  it("rejecting accepts nothing", async () => {
    stubApi((method, path) => {
      if (method === "POST" && path === "/api/v1/offers/o-1/acceptance") {
        return json(201, {
          approval_id: "ap-1",
          tool: "accept_offer",
          summary: "Accept Harbor Bank's offer",
          arguments: { offer_id: "o-1" },
          expires_at: "2026-01-02T10:00:00Z",
        });
      }
      if (method === "POST" && path === "/api/v1/offers/o-1/acceptance/ap-1") {
        return json(200, { approved: false, accepted: null });
      }
      return baseRoutes(method, path) ?? json(404, { error: "NotFound", detail: "x" });
    });
    const user = userEvent.setup();
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Accept the offer from Harbor Bank" }));
    const card = await screen.findByRole("region", { name: "Your approval is needed" });
    await user.click(within(card).getByRole("button", { name: "Reject" }));
    expect(await screen.findByText("Nothing was accepted.")).toBeTruthy();
    expect(screen.queryByRole("region", { name: "Your approval is needed" })).toBeNull();
  });

  it("shows the server's refusal when asking to accept fails", async () => {
    stubApi((method, path) => {
      if (method === "POST" && path === "/api/v1/offers/o-1/acceptance") {
        return json(409, { error: "Conflict", detail: "This offer has expired.", request_id: "r-9" });
      }
      return baseRoutes(method, path) ?? json(404, { error: "NotFound", detail: "x" });
    });
    const user = userEvent.setup();
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Accept the offer from Harbor Bank" }));
    expect((await screen.findByRole("alert")).textContent).toMatch(/This offer has expired/);
    expect(screen.queryByRole("region", { name: "Your approval is needed" })).toBeNull();
  });

  it("says why offers are not there yet, and has no accept for a broker", async () => {
    stubApi((method, path) => {
      if (path === "/api/v1/me") return json(200, { ...ME, role: "broker", scopes: ["applications:read:own"] });
      if (method === "GET" && path === "/api/v1/applications/app-1/offers") {
        return json(422, { error: "InvalidInput", detail: "The borrower has not consented to a credit check." });
      }
      return baseRoutes(method, path) ?? json(404, { error: "NotFound", detail: "x" });
    });
    renderPage();
    expect(await screen.findByText(/not consented to a credit check/)).toBeTruthy();
    expect(screen.getByRole("link", { name: /Back/ }).getAttribute("href")).toBe("/pipeline");
  });

  it("shows a failed load with a retry", async () => {
    stubApi(() => json(500, { error: "InternalError", detail: "boom" }));
    renderPage();
    const alert = await screen.findByRole("alert", {}, { timeout: 3000 });
    expect(within(alert).getByRole("button", { name: "Try again" })).toBeTruthy();
  });
});
