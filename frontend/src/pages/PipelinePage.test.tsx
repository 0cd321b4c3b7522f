// @vitest-environment jsdom
import "../i18n";

import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MemoryRouter } from "react-router";

import { setSession } from "../auth/session";
import { PipelinePage } from "./PipelinePage";

function item(id: string, name: string, status: string, product = "personal") {
  return {
    id,
    reference: `OMF-${id}`,
    status,
    version: 1,
    product_type: product,
    purpose: null,
    amount: "9000.00",
    term_months: 24,
    borrower_user_id: `b-${name}`,
    borrower_name: name,
    broker_user_id: "me",
    organization_id: "o-1",
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
  };
}

const ITEMS = [
  item("1", "Ada Applicant", "submitted"),
  item("2", "Ben Borrower", "draft", "auto"),
  item("3", "Ada Applicant", "approved"),
];

let status = 200;

beforeEach(() => {
  status = 200;
  setSession({ accessToken: "tok", expiresAt: "2999-01-01T00:00:00Z", enrollmentOnly: false });
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      const url = new URL(request.url, "http://localhost");
      expect(url.pathname).toBe("/api/v1/applications");
      expect(url.searchParams.get("limit")).toBe("100");
      const body =
        status === 200
          ? { items: ITEMS, limit: 100, offset: 0 }
          : { error: "PermissionDenied", detail: "no" };
      return new Response(JSON.stringify(body), {
        status,
        headers: { "Content-Type": "application/json" },
      });
    }),
  );
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  setSession(null);
});

function renderPage() {
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <MemoryRouter>
        <PipelinePage />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe("<PipelinePage>", () => {
  it("shows a board by status, filtered by search, status and loan type", async () => {
    const user = userEvent.setup();
    renderPage();
    const board = await screen.findByRole("region", { name: "Board" });
    const submitted = within(board).getByRole("region", { name: "Submitted (1)" });
    expect(within(submitted).getByRole("link", { name: "Ada Applicant" }).getAttribute("href")).toBe(
      "/applications/1",
    );
    expect(within(board).getByRole("region", { name: "Draft (1)" })).toBeTruthy();
    expect(within(board).getByRole("region", { name: "Funded (0)" })).toBeTruthy();
    expect(screen.getByText("3 applications")).toBeTruthy();

    await user.type(screen.getByRole("searchbox", { name: "Search" }), "ben");
    expect(screen.getByText("1 application")).toBeTruthy();
    expect(within(board).getByRole("region", { name: "Submitted (0)" })).toBeTruthy();
    await user.clear(screen.getByRole("searchbox", { name: "Search" }));

    await user.selectOptions(screen.getByRole("combobox", { name: "Loan type" }), "auto");
    expect(screen.getByText("1 application")).toBeTruthy();
    await user.selectOptions(screen.getByRole("combobox", { name: "Loan type" }), "");
    await user.selectOptions(screen.getByRole("combobox", { name: "Status" }), "approved");
    const only = screen.getByRole("region", { name: "Board" });
    expect(within(only).getAllByRole("heading", { level: 2 }).map((h) => h.textContent)).toEqual([
      "Approved (1)",
    ]);
  });

  it("groups by client", async () => {
    const user = userEvent.setup();
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Clients" }));
    expect(screen.getByRole("button", { name: "Clients" }).getAttribute("aria-pressed")).toBe("true");
    const names = screen.getAllByRole("heading", { level: 2 }).map((h) => h.textContent);
    expect(names).toEqual(["Ada Applicant", "Ben Borrower"]);
  });

  it("shows an error with a retry", async () => {
    status = 403;
    renderPage();
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toMatch(/not allowed/);
  });
});
