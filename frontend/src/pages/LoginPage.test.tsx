// @vitest-environment jsdom
import "../i18n";

import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MemoryRouter } from "react-router";

import { AuthProvider } from "../auth/AuthProvider";
import { getSession, setSession } from "../auth/session";
import { LoginPage } from "./LoginPage";

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

const TOKEN = {
  access_token: "tok",
  token_type: "bearer",
  expires_at: "2999-01-01T00:00:00Z",
  mfa_enrollment_required: false,
};

function renderLogin() {
  const queryClient = new QueryClient({ defaultOptions: { mutations: { retry: false } } });
  render(
    <QueryClientProvider client={queryClient}>
      <MemoryRouter>
        <AuthProvider>
          <LoginPage />
        </AuthProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

beforeEach(() => setSession(null));
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("<LoginPage>", () => {
  it("checks the fields before sending anything", async () => {
    const fetch = vi.fn();
    vi.stubGlobal("fetch", fetch);
    const user = userEvent.setup();
    renderLogin();
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    const email = screen.getByLabelText("Email");
    expect(email.getAttribute("aria-invalid")).toBe("true");
    expect(screen.getAllByText("This field is required.")).toHaveLength(2);
    expect(fetch).not.toHaveBeenCalled();
  });

  it("asks for the one-time code when the server says it is needed, then signs in", async () => {
    const bodies: unknown[] = [];
    const fetch = vi.fn(async (request: Request) => {
      const body: unknown = await request.json();
      bodies.push(body);
      return bodies.length === 1
        ? json(401, { error: "OtpRequired", detail: "send the code", request_id: "r1" })
        : json(200, TOKEN);
    });
    vi.stubGlobal("fetch", fetch);
    const user = userEvent.setup();
    renderLogin();

    expect(screen.queryByLabelText("Authentication code")).toBeNull();
    await user.type(screen.getByLabelText("Email"), "admin@omnifin.demo");
    await user.type(screen.getByLabelText("Password"), "demo-passphrase-2026");
    await user.click(screen.getByRole("button", { name: "Sign in" }));

    const otp = await screen.findByLabelText("Authentication code");
    expect(screen.getByText(/Enter the 6-digit code from your authenticator app/)).toBeTruthy();
    await user.type(otp, "123 456");
    await user.click(screen.getByRole("button", { name: "Sign in" }));

    await vi.waitFor(() => expect(getSession()?.accessToken).toBe("tok"));
    expect(bodies).toEqual([
      { email: "admin@omnifin.demo", password: "demo-passphrase-2026" },
      { email: "admin@omnifin.demo", password: "demo-passphrase-2026", otp: "123456" },
    ]);
  });

  it("shows a refusal in the reader's words, not as a field problem", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => json(401, { error: "InvalidCredentials", detail: "x", request_id: null })),
    );
    const user = userEvent.setup();
    renderLogin();
    await user.type(screen.getByLabelText("Email"), "someone@example.com");
    await user.type(screen.getByLabelText("Password"), "wrong password!");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect((await screen.findByRole("alert")).textContent).toBe(
      "The email or password is incorrect.",
    );
    expect(getSession()).toBeNull();
  });
});
