// @vitest-environment jsdom
import "../i18n";

import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MemoryRouter } from "react-router";

import i18n from "../i18n";
import { PreferencesPage } from "./PreferencesPage";

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

const PREFERENCES = [
  {
    kind: "account.security",
    label: "Security and account mail (password reset, address confirmation)",
    email: true,
    in_app: false,
    essential: true,
  },
  {
    kind: "application.status_changed",
    label: "An application's status changes",
    email: true,
    in_app: true,
    essential: false,
  },
  { kind: "future.kind", label: "A kind newer than this build", email: false, in_app: true, essential: false },
];

function serve() {
  const patches: { path: string; body: unknown }[] = [];
  let items = PREFERENCES.map((item) => ({ ...item }));
  vi.stubGlobal(
    "fetch",
    vi.fn(async (request: Request) => {
      const path = new URL(request.url).pathname;
      if (request.method === "PATCH") {
        const body = (await request.json()) as Record<string, boolean>;
        patches.push({ path, body });
        const kind = decodeURIComponent(path.split("/").pop() ?? "");
        items = items.map((item) => (item.kind === kind ? { ...item, ...body } : item));
        return json(200, items.find((item) => item.kind === kind));
      }
      return json(200, items);
    }),
  );
  return patches;
}

function show() {
  const queryClient = new QueryClient({
    defaultOptions: { queries: { retry: false }, mutations: { retry: false } },
  });
  render(
    <QueryClientProvider client={queryClient}>
      <MemoryRouter initialEntries={["/notifications/preferences"]}>
        <PreferencesPage />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

afterEach(async () => {
  cleanup();
  vi.unstubAllGlobals();
  await i18n.changeLanguage("en");
});

describe("notification settings page", () => {
  it("lists each kind with its choices and saves one change with PATCH", async () => {
    const patches = serve();
    const user = userEvent.setup();
    show();
    const email = (await screen.findByRole("checkbox", {
      name: "E-mail: An application's status changes",
    })) as HTMLInputElement;
    const inApp = screen.getByRole("checkbox", {
      name: "In the app: An application's status changes",
    }) as HTMLInputElement;
    expect(email.checked).toBe(true);
    expect(inApp.checked).toBe(true);
    // A kind this build has no text for shows the server's label.
    expect(
      (screen.getByRole("checkbox", { name: "E-mail: A kind newer than this build" }) as HTMLInputElement)
        .checked,
    ).toBe(false);

    await user.click(email);
    await waitFor(() => expect(email.checked).toBe(false));
    expect(patches).toEqual([
      {
        path: "/api/v1/notifications/preferences/application.status_changed",
        body: { email: false },
      },
    ]);
    expect(inApp.checked).toBe(true);
  });

  it("shows essential mail as always on, with nothing to untick", async () => {
    serve();
    show();
    expect(
      await screen.findByText("Security and account mail (password reset, address confirmation)"),
    ).toBeTruthy();
    expect(screen.getByText(/Always on by e-mail/)).toBeTruthy();
    expect(screen.queryByRole("checkbox", { name: /Security and account mail/ })).toBeNull();
    expect(screen.getAllByRole("checkbox")).toHaveLength(4);
  });

  it("shows the error and keeps the choice when saving fails", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) =>
        request.method === "PATCH"
          ? json(422, { error: { code: "invalid_input", message: "Essential mail cannot be turned off." } })
          : json(200, PREFERENCES),
      ),
    );
    const user = userEvent.setup();
    show();
    const inApp = (await screen.findByRole("checkbox", {
      name: "In the app: An application's status changes",
    })) as HTMLInputElement;
    await user.click(inApp);
    expect(await screen.findByRole("alert")).toBeTruthy();
    expect(inApp.checked).toBe(true);
  });

  it("is in Chinese for a Chinese reader", async () => {
    serve();
    await i18n.changeLanguage("zh");
    show();
    expect(await screen.findByRole("checkbox", { name: "电子邮件：申请状态变更" })).toBeTruthy();
    expect(screen.getByText("安全与账户邮件（重置密码、确认地址）")).toBeTruthy();
  });
});
