// @vitest-environment jsdom
import "../i18n";

import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
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

type Item = ReturnType<typeof item>;

// A stand-in for the API's filtering and paging (which the API tests check against the database):
// what the page asks for is recorded, and the answer follows the query.
let all: Item[] = ITEMS;
let failing: (url: URL) => boolean = () => false;
let requests: URL[] = [];

function answer(url: URL): Item[] {
  const q = url.searchParams.get("q")?.toLowerCase();
  const statuses = url.searchParams.getAll("status");
  const products = url.searchParams.getAll("product_type");
  return all.filter(
    (one) =>
      (!q || `${one.reference} ${one.borrower_name}`.toLowerCase().includes(q)) &&
      (statuses.length === 0 || statuses.includes(one.status)) &&
      (products.length === 0 || products.includes(one.product_type)),
  );
}

beforeEach(() => {
  all = ITEMS;
  failing = () => false;
  requests = [];
  setSession({ accessToken: "tok", expiresAt: "2999-01-01T00:00:00Z", enrollmentOnly: false });
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      const url = new URL(request.url, "http://localhost");
      requests.push(url);
      expect(url.pathname).toBe("/api/v1/applications");
      expect(url.searchParams.get("order")).toBe("newest");
      const limit = Number(url.searchParams.get("limit"));
      const offset = Number(url.searchParams.get("offset"));
      const matching = answer(url);
      const ok = !failing(url);
      const body = ok
        ? { items: matching.slice(offset, offset + limit), limit, offset, total: matching.length }
        : { error: "PermissionDenied", detail: "no" };
      return new Response(JSON.stringify(body), {
        status: ok ? 200 : 403,
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
  it("shows a board by status; search, status and loan type are asked of the API", async () => {
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
    expect(requests[0]?.searchParams.get("offset")).toBe("0");
    expect(requests[0]?.searchParams.has("q")).toBe(false);

    await user.type(screen.getByRole("searchbox", { name: "Search" }), "ben");
    expect(await screen.findByText("1 application")).toBeTruthy();
    expect(requests.at(-1)?.searchParams.get("q")).toBe("ben");
    // Typing is debounced: not one request per key.
    expect(requests.filter((url) => url.searchParams.has("q")).length).toBeLessThan(3);
    const narrowed = screen.getByRole("region", { name: "Board" });
    expect(within(narrowed).getByRole("region", { name: "Submitted (0)" })).toBeTruthy();
    await user.clear(screen.getByRole("searchbox", { name: "Search" }));
    expect(await screen.findByText("3 applications")).toBeTruthy();

    await user.selectOptions(screen.getByRole("combobox", { name: "Loan type" }), "auto");
    expect(await screen.findByText("1 application")).toBeTruthy();
    expect(requests.at(-1)?.searchParams.getAll("product_type")).toEqual(["auto"]);
    await user.selectOptions(screen.getByRole("combobox", { name: "Loan type" }), "");
    await user.selectOptions(screen.getByRole("combobox", { name: "Status" }), "approved");
    await waitFor(() =>
      expect(
        within(screen.getByRole("region", { name: "Board" }))
          .getAllByRole("heading", { level: 2 })
          .map((h) => h.textContent),
      ).toEqual(["Approved (1)"]),
    );
    expect(requests.at(-1)?.searchParams.getAll("status")).toEqual(["approved"]);
  });

  it("loads the next page on request, until every match is shown", async () => {
    all = Array.from({ length: 120 }, (_, index) =>
      item(String(index + 1), `Client ${String(index + 1).padStart(3, "0")}`, "submitted"),
    );
    const user = userEvent.setup();
    renderPage();
    expect(await screen.findByText("120 applications")).toBeTruthy();
    expect(screen.getByText("Showing 50 of 120.")).toBeTruthy();
    expect(within(screen.getByRole("region", { name: "Board" })).getAllByRole("link")).toHaveLength(50);

    await user.click(screen.getByRole("button", { name: "Load more" }));
    expect(await screen.findByText("Showing 100 of 120.")).toBeTruthy();
    expect(requests.at(-1)?.searchParams.get("offset")).toBe("50");
    await user.click(screen.getByRole("button", { name: "Load more" }));
    await waitFor(() =>
      expect(within(screen.getByRole("region", { name: "Board" })).getAllByRole("link")).toHaveLength(
        120,
      ),
    );
    expect(screen.queryByRole("button", { name: "Load more" })).toBeNull();
    expect(screen.getByRole("region", { name: "Submitted (120)" })).toBeTruthy();
  });

  it("keeps what is shown when the next page fails, and retries it", async () => {
    all = Array.from({ length: 60 }, (_, index) => item(String(index + 1), `C${index}`, "draft"));
    failing = (url) => url.searchParams.get("offset") === "50";
    const user = userEvent.setup();
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Load more" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toMatch(/not allowed/);
    expect(within(screen.getByRole("region", { name: "Board" })).getAllByRole("link")).toHaveLength(50);
    failing = () => false;
    await user.click(within(alert).getByRole("button"));
    await waitFor(() => expect(screen.queryByText(/^Showing/)).toBeNull());
    expect(within(screen.getByRole("region", { name: "Board" })).getAllByRole("link")).toHaveLength(60);
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
    failing = () => true;
    renderPage();
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toMatch(/not allowed/);
  });
});
