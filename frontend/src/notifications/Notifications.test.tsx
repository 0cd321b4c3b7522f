// @vitest-environment jsdom
import "../i18n";

import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MemoryRouter, Route, Routes } from "react-router";

import { AuthProvider } from "../auth/AuthProvider";
import { setSession } from "../auth/session";
import { HomePage } from "../pages/HomePage";
import { Bell } from "./Bell";
import { NotificationsPage } from "./NotificationsPage";

const encoder = new TextEncoder();

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/** A stream the test writes to while the component reads it. */
function liveStream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  return {
    response: new Response(body, { headers: { "Content-Type": "text/event-stream" } }),
    send: (text: string) => controller.enqueue(encoder.encode(text)),
  };
}

function note(id: string, status: string, readAt: string | null = null) {
  return {
    id,
    kind: "application.status_changed",
    message: `Application OMF-7 is now ${status}.`,
    application_id: "app-7",
    document_id: null,
    data: { reference: "OMF-7", from_status: "submitted", to_status: status },
    read_at: readAt,
    created_at: "2026-12-07T09:00:00Z",
  };
}

type Route_ = (method: string, path: string, init?: RequestInit) => Response | Promise<Response>;

function stubFetch(route: Route_) {
  const calls: { method: string; path: string; headers: Headers }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn((input: RequestInfo | URL, init?: RequestInit) => {
      const request = typeof input === "string" || input instanceof URL ? null : input;
      const url = request ? request.url : String(input);
      const method = request ? request.method : (init?.method ?? "GET");
      const headers = request ? request.headers : new Headers(init?.headers);
      const path = new URL(url, "http://localhost").pathname;
      calls.push({ method, path, headers });
      return Promise.resolve(route(method, path, init));
    }),
  );
  return calls;
}

function renderAt(path: string, element: React.ReactNode, extra?: React.ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[path]}>
        <AuthProvider>
          <Bell />
          <Routes>
            <Route path={path} element={element} />
            {extra}
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

describe("<Bell>", () => {
  it("shows the unread count pushed by the stream and follows it without a reload", async () => {
    const live = liveStream();
    const calls = stubFetch((_method, path) =>
      path === "/api/v1/notifications/stream" ? live.response : json(404, { error: "NotFound" }),
    );
    renderAt("/", <p>home</p>);
    const bell = screen.getByRole("link", { name: "Notifications: 0 unread" });
    expect(bell.getAttribute("href")).toBe("/notifications");
    expect(screen.queryByTestId("bell-count")).toBeNull();

    live.send('retry: 2000\n\nevent: unread\nid: n-1\ndata: {"unread_count":1}\n\n');
    expect(await screen.findByRole("link", { name: "Notifications: 1 unread" })).toBeTruthy();
    expect(screen.getByTestId("bell-count").textContent).toBe("1");

    live.send(`event: notification\nid: n-2\ndata: ${JSON.stringify(note("n-2", "approved"))}\n\n`);
    live.send('event: unread\nid: n-2\ndata: {"unread_count":2}\n\n');
    expect(await screen.findByRole("link", { name: "Notifications: 2 unread" })).toBeTruthy();
    // Read out to screen readers, in the reader's language, from the kind and data.
    expect(screen.getByText("Application OMF-7: status now “Approved”.")).toBeTruthy();
    const stream = calls.find((call) => call.path === "/api/v1/notifications/stream");
    expect(stream?.headers.get("Authorization")).toBe("Bearer tok");
  });

  it("is not shown to somebody signed out", () => {
    setSession(null);
    const calls = stubFetch(() => json(404, {}));
    renderAt("/", <p>home</p>);
    expect(screen.queryByRole("link", { name: /Notifications/ })).toBeNull();
    expect(calls).toHaveLength(0);
  });
});

describe("<NotificationsPage>", () => {
  it("lists the notifications and marks one, then all, read", async () => {
    const items = [note("n-3", "funded"), note("n-2", "approved"), note("n-1", "submitted", "2026-12-07T09:01:00Z")];
    const calls = stubFetch((method, path) => {
      if (path === "/api/v1/notifications/stream") return liveStream().response;
      if (method === "GET" && path === "/api/v1/notifications") {
        return json(200, { items, unread_count: items.filter((item) => item.read_at === null).length });
      }
      if (method === "POST" && path === "/api/v1/notifications/n-3/read") {
        items[0] = { ...items[0]!, read_at: "2026-12-07T09:05:00Z" };
        return json(200, { marked: 1 });
      }
      if (method === "POST" && path === "/api/v1/notifications/read-all") {
        items[1] = { ...items[1]!, read_at: "2026-12-07T09:06:00Z" };
        return json(200, { marked: 1 });
      }
      return json(404, { error: "NotFound" });
    });
    renderAt("/notifications", <NotificationsPage />);
    expect(await screen.findByRole("heading", { name: "Notifications" })).toBeTruthy();
    expect(await screen.findByText("2 unread.")).toBeTruthy();
    const list = screen.getByRole("list");
    const rows = within(list).getAllByRole("listitem");
    expect(rows).toHaveLength(3);
    expect(within(rows[0]!).getByRole("link", { name: "Application OMF-7: status now “Funded”." }).getAttribute("href")).toBe(
      "/applications/app-7",
    );
    expect(within(rows[2]!).queryByRole("button", { name: "Mark read" })).toBeNull();

    await userEvent.click(within(rows[0]!).getByRole("button", { name: "Mark read" }));
    expect(await screen.findByText("1 unread.")).toBeTruthy();
    await userEvent.click(screen.getByRole("button", { name: "Mark all read" }));
    await waitFor(() => expect(screen.getByText("0 unread.")).toBeTruthy());
    expect(screen.queryByRole("button", { name: "Mark all read" })).toBeNull();
    expect(calls.filter((call) => call.method === "POST").map((call) => call.path)).toEqual([
      "/api/v1/notifications/n-3/read",
      "/api/v1/notifications/read-all",
    ]);
  });

  it("says when there is nothing, in Chinese too", async () => {
    const { setLanguage } = await import("../i18n");
    setLanguage("zh");
    try {
      stubFetch((_method, path) =>
        path === "/api/v1/notifications/stream"
          ? liveStream().response
          : json(200, { items: [], unread_count: 0 }),
      );
      renderAt("/notifications", <NotificationsPage />);
      expect(await screen.findByText(/暂无通知/)).toBeTruthy();
    } finally {
      setLanguage("en");
    }
  });
});

describe("<HomePage>", () => {
  const ROLES = [
    ["borrower", "/assistant"],
    ["broker", "/pipeline"],
    ["broker_manager", "/pipeline"],
    ["platform_admin", "/staff"],
    ["prompt_engineer", "/staff"],
  ] as const;

  it.each(ROLES)("takes a %s to %s after sign-in", async (role, landing) => {
    stubFetch((_method, path) => {
      if (path === "/api/v1/me") {
        return json(200, {
          id: "u-1",
          email: "x@example.com",
          full_name: "Xu",
          role,
          scopes: [],
          voice_enabled: false,
        });
      }
      return liveStream().response;
    });
    renderAt(
      "/",
      <HomePage />,
      ["/assistant", "/pipeline", "/staff"].map((target) => (
        <Route key={target} path={target} element={<p>landed on {target}</p>} />
      )),
    );
    expect(await screen.findByText(`landed on ${landing}`)).toBeTruthy();
  });
});
