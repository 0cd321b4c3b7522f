// @vitest-environment jsdom
import "../i18n";

import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ReactNode } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MemoryRouter } from "react-router";

import { ResetPasswordPage, VerifyEmailPage } from "./AccountLinkPages";

function json(status: number, body: unknown): Response {
  return new Response(body === null ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

function show(page: ReactNode, path: string) {
  const queryClient = new QueryClient({ defaultOptions: { mutations: { retry: false } } });
  render(
    <QueryClientProvider client={queryClient}>
      <MemoryRouter initialEntries={[path]}>{page}</MemoryRouter>
    </QueryClientProvider>,
  );
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("account link pages", () => {
  it("asks for a reset link by e-mail address", async () => {
    const sent: unknown[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        sent.push([new URL(request.url).pathname, await request.json()]);
        return json(202, { detail: "If an account uses this address…" });
      }),
    );
    const user = userEvent.setup();
    show(<ResetPasswordPage />, "/reset-password");
    await user.type(screen.getByLabelText("Email"), "riley@example.com");
    await user.click(screen.getByRole("button", { name: "Send me a link" }));
    expect(await screen.findByText(/a link is on its way/)).toBeTruthy();
    expect(sent).toEqual([["/api/v1/auth/password-reset", { email: "riley@example.com" }]]);
  });

  it("sets the new password with the link's token", async () => {
    const sent: unknown[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        sent.push([new URL(request.url).pathname, await request.json()]);
        return new Response(null, { status: 204 });
      }),
    );
    const user = userEvent.setup();
    show(<ResetPasswordPage />, "/reset-password?token=abc123");
    await user.type(screen.getByLabelText("New password"), "lantern-harbor-quiet-77");
    await user.click(screen.getByRole("button", { name: "Set the new password" }));
    expect(await screen.findByText(/Your password is changed/)).toBeTruthy();
    expect(sent).toEqual([
      [
        "/api/v1/auth/password-reset/confirm",
        { token: "abc123", new_password: "lantern-harbor-quiet-77" },
      ],
    ]);
  });

  it("confirms an e-mail address on opening the link, and says when the link is used", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async () =>
        json(422, {
          error: "InvalidInput",
          detail: "This confirmation link is not valid, has expired or was already used.",
          request_id: "r1",
        }),
      ),
    );
    show(<VerifyEmailPage />, "/verify-email?token=used");
    expect(await screen.findByText(/already used/)).toBeTruthy();
  });
});
