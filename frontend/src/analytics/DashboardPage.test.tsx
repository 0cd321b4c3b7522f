// @vitest-environment jsdom
import "../i18n";

import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, render, screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { setSession } from "../auth/session";
import { DashboardPage, lastDays } from "./DashboardPage";

const STEPS = [
  { step: "application_started", reached: 40, dropped: 10, conversion: "0.7500" },
  { step: "application_submitted", reached: 30, dropped: 12, conversion: "0.6000" },
  { step: "offer_presented", reached: 18, dropped: 3, conversion: "0.8333" },
  { step: "offer_accepted", reached: 15, dropped: 5, conversion: "0.6667" },
  { step: "funded", reached: 10, dropped: 0, conversion: null },
];

let status = 200;
let requests: URL[] = [];

beforeEach(() => {
  status = 200;
  requests = [];
  setSession({ accessToken: "tok", expiresAt: "2999-01-01T00:00:00Z", enrollmentOnly: false });
  // jsdom has no canvas: the chart draws nothing, the table carries the figures.
  vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(null);
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = new URL(new Request(input, init).url, "http://localhost");
      requests.push(url);
      const body =
        status === 200
          ? {
              as_of: "2026-12-07T06:00:00Z",
              started_from: url.searchParams.get("date_from"),
              started_to: url.searchParams.get("date_to"),
              steps: STEPS,
            }
          : { error: "PermissionDenied", detail: "Analytics are for platform admins and for broker managers." };
      return new Response(JSON.stringify(body), {
        status,
        headers: { "Content-Type": "application/json" },
      });
    }),
  );
});
afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  setSession(null);
});

function renderPage() {
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <DashboardPage />
    </QueryClientProvider>,
  );
}

describe("<DashboardPage>", () => {
  it("shows the last 30 days' funnel, step by step, as the API counts it", async () => {
    renderPage();
    const table = await screen.findByRole("table", { name: "Applications reaching each step" });
    const submitted = within(table).getByRole("row", { name: /Submitted/ });
    expect(within(submitted).getAllByRole("cell").map((cell) => cell.textContent)).toEqual([
      "30",
      "12",
      "60%",
    ]);
    const funded = within(table).getByRole("row", { name: /Funded/ });
    expect(within(funded).getAllByRole("cell").at(-1)?.textContent).toBe("—");
    const asked = requests[0];
    expect(asked?.pathname).toBe("/api/v1/analytics/drop-off");
    const range = lastDays(30);
    expect(asked?.searchParams.get("date_from")).toBe(range.from);
    expect(asked?.searchParams.get("date_to")).toBe(range.to);
  });

  it("says so when the role may not see analytics", async () => {
    status = 403;
    renderPage();
    expect(await screen.findByText("You are not allowed to do this.")).toBeTruthy();
    expect(screen.queryByRole("table")).toBeNull();
  });
});

describe("lastDays", () => {
  it("counts today in", () => {
    expect(lastDays(30, new Date("2026-12-07T10:00:00Z"))).toEqual({
      from: "2026-11-08",
      to: "2026-12-07",
    });
  });
});
