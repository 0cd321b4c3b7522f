// @vitest-environment jsdom
import i18n from "i18next";

import "../i18n";

import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, cleanup, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { MemoryRouter, Route, Routes, useLocation } from "react-router";

import { AuthProvider } from "../auth/AuthProvider";
import { setSession } from "../auth/session";
import { recordings } from "../chat/recorded";
import { AssistantPage } from "./AssistantPage";

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

function sse(text: string): Response {
  return new Response(text, { status: 200, headers: { "Content-Type": "text/event-stream" } });
}

const THREAD = {
  id: "thread-1",
  graph: "borrower",
  channel: "web",
  title: null,
  pending_approval: null,
  created_at: "2026-01-01T00:00:00Z",
  last_message_at: null,
};

function message(id: number, role: string, content: string) {
  return { id, run_id: "run-1", role, content, tool: null, created_at: "2026-01-01T00:00:00Z" };
}

type Route = (method: string, path: string, body: unknown) => Response | Promise<Response>;

function stubApi(route: Route) {
  const calls: { method: string; path: string; body: unknown; auth: string | null }[] = [];
  const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const text = await request.text();
    const body: unknown = text ? JSON.parse(text) : undefined;
    const path = new URL(request.url, "http://localhost").pathname;
    calls.push({ method: request.method, path, body, auth: request.headers.get("Authorization") });
    return route(request.method, path, body);
  });
  vi.stubGlobal("fetch", fetch);
  return calls;
}

function Where() {
  return <p data-testid="where">{useLocation().pathname}</p>;
}

function renderPage(path = "/assistant") {
  const queryClient = new QueryClient();
  render(
    <QueryClientProvider client={queryClient}>
      <MemoryRouter initialEntries={[path]}>
        <AuthProvider>
          <Routes>
            <Route path="/assistant" element={<AssistantPage />} />
            <Route path="/assistant/:threadId" element={<AssistantPage />} />
          </Routes>
          <Where />
        </AuthProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

const ME = {
  id: "user-1",
  email: "bea@example.com",
  full_name: "Bea",
  role: "borrower",
  scopes: ["chat:use"],
  voice_enabled: false,
};

beforeEach(() =>
  setSession({ accessToken: "tok", expiresAt: "2999-01-01T00:00:00Z", enrollmentOnly: false }),
);
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  setSession(null);
});

describe("<AssistantPage>", () => {
  it("starts a thread, sends a message and renders the streamed turn", async () => {
    const calls = stubApi((method, path) => {
      if (method === "GET" && path === "/api/v1/chat/threads") return json(200, []);
      if (method === "POST" && path === "/api/v1/chat/threads") return json(201, THREAD);
      if (method === "GET" && path === "/api/v1/chat/threads/thread-1") {
        return json(200, { ...THREAD, messages: [] });
      }
      if (method === "POST" && path === "/api/v1/chat/threads/thread-1/runs") {
        return sse(recordings.guidedIntake);
      }
      return json(404, { error: "NotFound", detail: "Not found." });
    });
    const user = userEvent.setup();
    renderPage();
    const box = await screen.findByRole("textbox", { name: "Message" });
    await user.type(box, "hi{Enter}");
    const transcript = screen.getByRole("list", { name: "Conversation" });
    expect(await within(transcript).findByText("What loan amount do you need?")).toBeTruthy();
    expect(within(transcript).getByText("hi")).toBeTruthy();
    expect(screen.getByText(/Guided mode/)).toBeTruthy();
    const run = calls.find((call) => call.path.endsWith("/runs"));
    expect(run).toMatchObject({ method: "POST", body: { message: "hi", language: "en" }, auth: "Bearer tok" });
    expect(calls.filter((call) => call.method === "POST" && call.path === "/api/v1/chat/threads")).toHaveLength(1);
  });

  it("sends the app's language with each message, and a switch made in the app", async () => {
    const calls = stubApi((method, path) => {
      if (method === "GET" && path === "/api/v1/chat/threads") return json(200, [THREAD]);
      if (method === "GET") return json(200, { ...THREAD, messages: [] });
      if (method === "POST" && path === "/api/v1/chat/threads/thread-1/runs") {
        return sse(recordings.guidedIntake);
      }
      return json(404, { error: "NotFound", detail: "Not found." });
    });
    const user = userEvent.setup();
    await i18n.changeLanguage("zh");
    try {
      renderPage();
      const box = await screen.findByRole("textbox", { name: "消息" });
      await user.type(box, "1{Enter}");
      await vi.waitFor(() => expect(calls.filter((call) => call.path.endsWith("/runs"))).toHaveLength(1));
      await act(() => i18n.changeLanguage("en"));
      await screen.findByRole("textbox", { name: "Message" });
      await user.type(screen.getByRole("textbox", { name: "Message" }), "yes{Enter}");
      await vi.waitFor(() => expect(calls.filter((call) => call.path.endsWith("/runs"))).toHaveLength(2));
      const runs = calls.filter((call) => call.path.endsWith("/runs")).map((call) => call.body);
      expect(runs).toEqual([
        { message: "1", language: "zh" },
        { message: "yes", language: "en" },
      ]);
    } finally {
      await i18n.changeLanguage("en");
    }
  });

  it("loads the latest thread's history, and reloads it after a dropped stream", async () => {
    let reads = 0;
    stubApi((method, path) => {
      if (method === "GET" && path === "/api/v1/chat/threads") return json(200, [THREAD]);
      if (method === "GET" && path === "/api/v1/chat/threads/thread-1") {
        reads += 1;
        const messages =
          reads === 1
            ? [message(1, "user", "hello"), message(2, "assistant", "Hi there.")]
            : [
                message(1, "user", "hello"),
                message(2, "assistant", "Hi there."),
                message(3, "user", "a personal loan"),
                message(4, "assistant", "I've started your application OMF-1."),
              ];
        return json(200, { ...THREAD, messages });
      }
      if (method === "POST" && path === "/api/v1/chat/threads/thread-1/runs") {
        // The connection drops after the run started: no terminal event.
        return sse(recordings.guidedIntake.split("event: token")[0] ?? "");
      }
      return json(404, { error: "NotFound", detail: "Not found." });
    });
    const user = userEvent.setup();
    renderPage();
    const transcript = await screen.findByRole("list", { name: "Conversation" });
    expect(await within(transcript).findByText("Hi there.")).toBeTruthy();
    await user.type(screen.getByRole("textbox", { name: "Message" }), "a personal loan{Enter}");
    expect(
      await within(transcript).findByText("I've started your application OMF-1.", {}, { timeout: 4000 }),
    ).toBeTruthy();
    expect(reads).toBe(2);
    expect(screen.queryByText(/Reconnecting/)).toBeNull();
  });

  it("says so when a turn is already running (409)", async () => {
    stubApi((method, path) => {
      if (method === "GET" && path === "/api/v1/chat/threads") return json(200, [THREAD]);
      if (method === "GET") return json(200, { ...THREAD, messages: [] });
      return json(409, {
        error: "Conflict",
        detail: "The assistant is still answering your previous message; wait for it to finish.",
      });
    });
    const user = userEvent.setup();
    renderPage();
    await user.type(await screen.findByRole("textbox", { name: "Message" }), "again{Enter}");
    expect((await screen.findByRole("alert")).textContent).toMatch(/still answering/);
  });

  it("answers a pending approval with the keyboard and streams the rest of the turn", async () => {
    const pending = {
      approval_id: "appr-1",
      tool: "submit_application",
      summary: "Submit application OMF-1 to Harbor Bank",
      payload: { reference: "OMF-1" },
    };
    const calls = stubApi((method, path) => {
      if (method === "GET" && path === "/api/v1/chat/threads") return json(200, [THREAD]);
      if (method === "GET") {
        return json(200, { ...THREAD, pending_approval: pending, messages: [message(1, "user", "submit")] });
      }
      if (path === "/api/v1/chat/threads/thread-1/approvals/appr-1") {
        return sse(recordings.approvalResume);
      }
      return json(404, { error: "NotFound", detail: "Not found." });
    });
    const user = userEvent.setup();
    renderPage();
    expect(await screen.findByText("Submit application OMF-1 to Harbor Bank")).toBeTruthy();
    const approve = screen.getByRole("button", { name: "Approve" });
    approve.focus();
    await user.keyboard("{Enter}");
    expect(await screen.findByText(/Offers usually arrive within minutes/)).toBeTruthy();
    expect(screen.getByText("Approved")).toBeTruthy();
    expect(calls.find((call) => call.path.includes("/approvals/"))).toMatchObject({
      method: "POST",
      body: { approved: true, channel: "button" },
    });
  });

  it("puts thumbs on each finished turn, remembers them and sends them", async () => {
    const calls = stubApi((method, path) => {
      if (method === "GET" && path === "/api/v1/chat/threads") return json(200, [THREAD]);
      if (method === "GET" && path === "/api/v1/chat/threads/thread-1") {
        return json(200, {
          ...THREAD,
          ratings: { "run-1": 1 },
          messages: [message(1, "user", "hello"), message(2, "assistant", "Hi there.")],
        });
      }
      if (method === "POST" && path === "/api/v1/chat/threads/thread-1/runs/run-1/feedback") {
        return json(201, { id: "f-1", run_id: "run-1", rating: -1, comment: null });
      }
      return json(404, { error: "NotFound", detail: "Not found." });
    });
    const user = userEvent.setup();
    renderPage();
    const up = await screen.findByRole("button", { name: "Helpful" });
    const down = screen.getByRole("button", { name: "Not helpful" });
    expect(up.getAttribute("aria-pressed")).toBe("true");
    expect(down.getAttribute("aria-pressed")).toBe("false");
    await user.click(down);
    expect(down.getAttribute("aria-pressed")).toBe("true");
    expect(up.getAttribute("aria-pressed")).toBe("false");
    expect(calls.find((call) => call.path.endsWith("/feedback"))).toMatchObject({
      method: "POST",
      body: { rating: -1 },
    });
  });

  it("takes a thumb back when the server refuses it", async () => {
    stubApi((method, path) => {
      if (method === "GET" && path === "/api/v1/chat/threads") return json(200, [THREAD]);
      if (method === "GET" && path === "/api/v1/chat/threads/thread-1") {
        return json(200, {
          ...THREAD,
          messages: [message(1, "user", "hello"), message(2, "assistant", "Hi there.")],
        });
      }
      return json(404, { error: "NotFound", detail: "No such turn in this conversation." });
    });
    const user = userEvent.setup();
    renderPage();
    const up = await screen.findByRole("button", { name: "Helpful" });
    await user.click(up);
    expect((await screen.findByRole("alert")).textContent).toMatch(/Not found/);
    expect(up.getAttribute("aria-pressed")).toBe("false");
  });

  it("lists the conversations and starts a new one", async () => {
    const other = { ...THREAD, id: "thread-2", title: "Car loan questions" };
    const calls = stubApi((method, path) => {
      if (method === "GET" && path === "/api/v1/chat/threads") return json(200, [THREAD, other]);
      if (method === "POST" && path === "/api/v1/chat/threads") {
        return json(201, { ...THREAD, id: "thread-3" });
      }
      if (method === "GET" && path.startsWith("/api/v1/chat/threads/")) {
        const id = path.split("/").pop() ?? "";
        return json(200, { ...THREAD, id, messages: [message(1, "user", `in ${id}`)] });
      }
      return json(404, { error: "NotFound", detail: "Not found." });
    });
    const user = userEvent.setup();
    renderPage("/assistant/thread-2");
    expect(await screen.findByText("in thread-2")).toBeTruthy();
    await user.click(screen.getByText(/Conversations/));
    const link = await screen.findByRole("link", { name: "Car loan questions" });
    expect(link.getAttribute("aria-current")).toBe("page");
    await user.click(screen.getByRole("button", { name: "New conversation" }));
    expect(await screen.findByText("in thread-3")).toBeTruthy();
    expect(screen.getByTestId("where").textContent).toBe("/assistant/thread-3");
    expect(calls.filter((call) => call.method === "POST")).toHaveLength(1);
  });

  it("asks for a voice session for this thread and says when voice is not configured", async () => {
    const calls = stubApi((method, path) => {
      if (path === "/api/v1/me") return json(200, { ...ME, voice_enabled: true });
      if (method === "GET" && path === "/api/v1/chat/threads") return json(200, [THREAD]);
      if (method === "GET") return json(200, { ...THREAD, messages: [] });
      if (method === "POST" && path === "/api/v1/voice/sessions") {
        return json(503, { error: "ServiceUnavailable", detail: "Voice is not configured" });
      }
      return json(404, { error: "NotFound", detail: "Not found." });
    });
    const user = userEvent.setup();
    renderPage();
    const button = await screen.findByRole("button", { name: "Voice" });
    await user.click(button);
    expect(await screen.findByText("Voice is not configured on this platform.")).toBeTruthy();
    expect((button as HTMLButtonElement).disabled).toBe(true);
    const asked = calls.filter((call) => call.path === "/api/v1/voice/sessions");
    expect(asked.map((call) => [call.method, call.body])).toEqual([["POST", { thread_id: THREAD.id }]]);
  });

  it("uploads attached files with progress, then sends them with the message", async () => {
    const sentForms: FormData[] = [];
    class FakeXhr {
      status = 0;
      statusText = "";
      responseText = "";
      upload: { onprogress: ((event: ProgressEvent) => void) | null } = { onprogress: null };
      onload: (() => void) | null = null;
      onerror: (() => void) | null = null;
      onabort: (() => void) | null = null;
      open() {}
      setRequestHeader() {}
      getAllResponseHeaders() {
        return "";
      }
      abort() {}
      send(body: FormData) {
        sentForms.push(body);
        this.upload.onprogress?.({ lengthComputable: true, loaded: 40, total: 100 } as ProgressEvent);
        setTimeout(() => {
          this.status = 201;
          this.responseText = JSON.stringify({ id: "doc-9" });
          this.onload?.();
        }, 30);
      }
    }
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    const calls = stubApi((method, path) => {
      if (path === "/api/v1/me") return json(200, ME);
      if (method === "GET" && path === "/api/v1/applications") {
        return json(200, { items: [{ id: "app-1", status: "draft" }], limit: 20, offset: 0 });
      }
      if (method === "GET" && path === "/api/v1/chat/threads") return json(200, [THREAD]);
      if (method === "GET") return json(200, { ...THREAD, messages: [] });
      if (method === "POST" && path === "/api/v1/chat/threads/thread-1/runs") {
        return sse(recordings.guidedIntake);
      }
      return json(404, { error: "NotFound", detail: "Not found." });
    });
    const user = userEvent.setup();
    renderPage();
    await screen.findByRole("textbox", { name: "Message" });
    await user.upload(
      screen.getByLabelText("Attach a file"),
      new File(["%PDF-1.4"], "paystub.pdf", { type: "application/pdf" }),
    );
    await user.click(screen.getByRole("button", { name: "Send" }));
    expect(await screen.findByText("Uploading paystub.pdf: 40%")).toBeTruthy();
    await vi.waitFor(() => expect(calls.some((call) => call.path.endsWith("/runs"))).toBe(true));
    expect(calls.find((call) => call.path.endsWith("/runs"))?.body).toEqual({
      message: "I've attached paystub.pdf.",
      language: "en",
      document_ids: ["doc-9"],
    });
    expect(sentForms[0]?.get("application_id")).toBe("app-1");
    expect(screen.queryByText(/Uploading paystub.pdf/)).toBeNull();
  });
});
