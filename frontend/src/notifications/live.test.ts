import { describe, expect, it, vi } from "vitest";

import { followBell, STREAM_URL, type LiveNotification } from "./live";

const encoder = new TextEncoder();

function stream(chunks: string[], options: { failAtEnd?: boolean } = {}): Response {
  const pending = [...chunks];
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = pending.shift();
      if (chunk !== undefined) controller.enqueue(encoder.encode(chunk));
      else if (options.failAtEnd) controller.error(new TypeError("network error"));
      else controller.close();
    },
  });
  return new Response(body, { headers: { "Content-Type": "text/event-stream" } });
}

const NOTE: LiveNotification = {
  id: "n-2",
  kind: "application.status_changed",
  message: "Application OMF-1 is now approved.",
  application_id: "a-1",
  document_id: null,
  data: { reference: "OMF-1", to_status: "approved" },
  read_at: null,
  created_at: "2026-12-07T09:00:00Z",
};

describe("followBell", () => {
  it("reports counts and notifications, and reconnects with the last event id", async () => {
    const stop = new AbortController();
    const counts: number[] = [];
    const notes: LiveNotification[] = [];
    const asked: (string | null | undefined)[] = [];
    const answers = [
      // The server ends the first stream (as it does every few minutes).
      stream(["retry: 1000\n\n", 'event: unread\nid: n-1\ndata: {"unread_count":1}\n\n']),
      // The network drops the second one mid-way.
      stream(
        [`event: notification\nid: n-2\ndata: ${JSON.stringify(NOTE)}\n\n`, 'event: unread\nid: n-2\ndata: {"unread_count":2}\n\n'],
        { failAtEnd: true },
      ),
      stream([": keep-alive\n\n", 'event: unread\nid: n-2\ndata: {"unread_count":0}\n\n']),
    ];
    const open = vi.fn((url: string, init: { token?: string | null; lastEventId?: string | null }) => {
      expect(url).toBe(STREAM_URL);
      expect(init.token).toBe("tok");
      asked.push(init.lastEventId);
      const next = answers.shift();
      if (next === undefined) {
        stop.abort();
        return Promise.reject(new DOMException("aborted", "AbortError"));
      }
      return Promise.resolve(next);
    });
    const waits: number[] = [];
    await followBell({
      token: () => "tok",
      onUnread: (count) => counts.push(count),
      onNotification: (note) => notes.push(note),
      signal: stop.signal,
      open,
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    });
    expect(counts).toEqual([1, 2, 0]);
    expect(notes).toEqual([NOTE]);
    expect(asked).toEqual([null, "n-1", "n-2", "n-2"]);
    // The server's retry after its own end; a backoff from the same base after the drop.
    expect(waits[0]).toBe(1000);
    expect(waits[1]).toBe(1000);
  });

  it("stops when the server refuses the person, and says why", async () => {
    const stop = new AbortController();
    const refused = vi.fn();
    const open = vi.fn(() =>
      Promise.resolve(
        new Response(JSON.stringify({ error: "NotAuthenticated", detail: "Sign in." }), {
          status: 401,
          headers: { "Content-Type": "application/json" },
        }),
      ),
    );
    await followBell({
      token: () => "tok",
      onUnread: () => undefined,
      onNotification: () => undefined,
      onRefused: refused,
      signal: stop.signal,
      open,
      sleep: () => Promise.resolve(),
    });
    expect(open).toHaveBeenCalledTimes(1);
    expect(refused.mock.calls[0]?.[0].code).toBe("NotAuthenticated");
  });

  it("does not open a stream without a token", async () => {
    const open = vi.fn();
    await followBell({
      token: () => null,
      onUnread: () => undefined,
      onNotification: () => undefined,
      signal: new AbortController().signal,
      open,
    });
    expect(open).not.toHaveBeenCalled();
  });
});
