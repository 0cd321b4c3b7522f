// @vitest-environment jsdom
import "../i18n";

import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MemoryRouter } from "react-router";

import { PrivacyPage, downloadName } from "./PrivacyPage";

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

const PENDING = {
  id: "7f1c2d3e-0000-4000-8000-000000000001",
  subject_user_id: "7f1c2d3e-0000-4000-8000-000000000002",
  requested_by_user_id: "7f1c2d3e-0000-4000-8000-000000000002",
  reason: "I no longer need a loan",
  status: "pending",
  reviewed_by_user_id: null,
  reviewed_at: null,
  review_note: null,
  pseudonym: null,
  report: {},
  created_at: "2026-12-07T09:00:00Z",
  completed_at: null,
};

function show() {
  const queryClient = new QueryClient({
    defaultOptions: { queries: { retry: false }, mutations: { retry: false } },
  });
  render(
    <QueryClientProvider client={queryClient}>
      <MemoryRouter initialEntries={["/privacy"]}>
        <PrivacyPage />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("your data page", () => {
  it("says what erasure deletes and keeps, and sends nothing until the form is complete", async () => {
    const posted: unknown[] = [];
    let requests: unknown[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        if (request.method === "POST") {
          posted.push(await request.json());
          requests = [PENDING];
          return json(201, PENDING);
        }
        return json(200, requests);
      }),
    );
    const user = userEvent.setup();
    show();
    expect(await screen.findByText("You have not asked for an erasure.")).toBeTruthy();
    expect(screen.getByText(/lending law \(ECOA/)).toBeTruthy();
    expect(screen.getByText(/encryption key is destroyed/)).toBeTruthy();

    await user.click(screen.getByRole("button", { name: "Ask for erasure" }));
    expect(await screen.findByText("This field is required.")).toBeTruthy();
    expect(screen.getByText("Tick this box to confirm you understand.")).toBeTruthy();
    await user.type(screen.getByLabelText(/Why do you want/), "I no longer need a loan");
    await user.click(screen.getByRole("button", { name: "Ask for erasure" }));
    expect(posted).toEqual([]); // not confirmed yet

    await user.click(screen.getByRole("checkbox"));
    await user.click(screen.getByRole("button", { name: "Ask for erasure" }));
    expect(await screen.findByText(/waiting for an administrator's review/)).toBeTruthy();
    expect(posted).toEqual([{ reason: "I no longer need a loan" }]);
    expect(screen.getByText("Waiting for review")).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Ask for erasure" })).toBeNull();
  });

  it("shows a rejected request with the reviewer's reason and offers the form again", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async () =>
        json(200, [{ ...PENDING, status: "rejected", review_note: "An open loan dispute" }]),
      ),
    );
    show();
    expect(await screen.findByText("Not approved")).toBeTruthy();
    expect(screen.getByText("The reviewer's reason: An open loan dispute")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Ask for erasure" })).toBeTruthy();
  });

  it("reads the download's file name from the server", () => {
    expect(downloadName('attachment; filename="omnifin-data-20261207-ab12cd34.zip"')).toBe(
      "omnifin-data-20261207-ab12cd34.zip",
    );
    expect(downloadName(null)).toBe("omnifin-data.zip");
  });
});
