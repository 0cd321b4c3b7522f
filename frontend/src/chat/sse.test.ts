import { describe, expect, it, vi } from "vitest";

import { ApiError } from "../api/errors";
import type { ChatEvent } from "./events";
import { eventsOf, recordings } from "./recorded";
import {
  SseParser,
  defaultBackoff,
  eventStreamRequest,
  streamEvents,
  type SseFrame,
} from "./sse";

function feedAll(chunks: string[]): SseFrame[] {
  const parser = new SseParser();
  return chunks.flatMap((chunk) => parser.feed(chunk));
}

describe("SseParser", () => {
  it("reads the server's frames: event name and JSON data", () => {
    const frames = feedAll([recordings.guidedIntake]);
    expect(frames.map((frame) => frame.event)).toEqual([
      "run.started",
      "mode.changed",
      "token",
      "token",
      "message.completed",
      "run.completed",
    ]);
    expect(JSON.parse(frames[2]!.data)).toEqual({ type: "token", text: "What loan amount " });
  });

  it("gives the same frames however the bytes are split into chunks", () => {
    const whole = feedAll([recordings.approvalInterrupt]);
    const byChar = feedAll([...recordings.approvalInterrupt]);
    expect(byChar).toEqual(whole);
    for (const size of [2, 7, 64]) {
      const chunks = recordings.approvalInterrupt.match(new RegExp(`[\\s\\S]{1,${size}}`, "g"))!;
      expect(feedAll(chunks)).toEqual(whole);
    }
  });

  it("accepts CRLF, CR and LF line ends, including a CRLF split across chunks", () => {
    const expected = [{ event: "token", data: '{"text":"a"}', id: null }];
    expect(feedAll(['event: token\r\ndata: {"text":"a"}\r\n\r\n'])).toEqual(expected);
    expect(feedAll(['event: token\rdata: {"text":"a"}\r\r'])).toEqual(expected);
    expect(feedAll(['event: token\r', '\ndata: {"text":"a"}\r', "\n\r", "\n"])).toEqual(expected);
  });

  it("joins multi-line data, skips comments and frames without data", () => {
    const frames = feedAll([
      ": keep-alive\n\n",
      "event: ping\n\n",
      "data: first\ndata:second\ndata\n\n",
    ]);
    expect(frames).toEqual([{ event: "message", data: "first\nsecond\n", id: null }]);
  });

  it("keeps the last event id across frames and reads retry", () => {
    const parser = new SseParser();
    const frames = parser.feed("id: 7\nretry: 2500\ndata: a\n\ndata: b\n\nid: 8\ndata: c\n\n");
    expect(frames.map((frame) => frame.id)).toEqual(["7", "7", "8"]);
    expect(parser.lastEventId).toBe("8");
    expect(parser.retryMs).toBe(2500);
    parser.feed("retry: soon\n\n");
    expect(parser.retryMs).toBe(2500);
  });

  it("drops a byte-order mark and holds back an unfinished frame", () => {
    const parser = new SseParser();
    expect(parser.feed("\uFEFFdata: x\n")).toEqual([]);
    expect(parser.feed("\n")).toEqual([{ event: "message", data: "x", id: null }]);
    parser.feed("data: half");
    parser.reset();
    expect(parser.feed("data: whole\n\n")).toEqual([{ event: "message", data: "whole", id: null }]);
  });

  it("skips events this client does not know and data that is not JSON", () => {
    const events = eventsOf(
      'event: future.thing\ndata: {}\n\nevent: token\ndata: not json\n\nevent: token\ndata: {"text":"ok"}\n\n',
    );
    expect(events).toEqual([{ type: "token", text: "ok" }]);
  });
});

/** A Response whose body delivers these chunks, then ends (or fails, like a dropped connection). */
function streamResponse(chunks: string[], options: { failAtEnd?: boolean } = {}): Response {
  const encoder = new TextEncoder();
  const pending = [...chunks];
  // One chunk per read, so that an error comes after the chunks (erroring drops queued ones).
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

const noSleep = () => Promise.resolve();

describe("streamEvents", () => {
  it("delivers a run's events in order and resolves after run.completed", async () => {
    const received: ChatEvent[] = [];
    const open = vi.fn(() => Promise.resolve(streamResponse([recordings.guidedIntake])));
    await streamEvents({ open, onEvent: (event) => received.push(event), sleep: noSleep });
    expect(received).toEqual(eventsOf(recordings.guidedIntake));
    expect(open).toHaveBeenCalledTimes(1);
    expect(open).toHaveBeenCalledWith({ attempt: 0, lastEventId: null });
  });

  it("reconnects after a drop with the last event id, without starting the run again", async () => {
    const [first, ...rest] = recordings.guidedIntake.split(/(?<=\n\n)/);
    const received: string[] = [];
    const connection: string[] = [];
    const open = vi
      .fn<(resume: { attempt: number; lastEventId: string | null }) => Promise<Response>>()
      .mockResolvedValueOnce(streamResponse([`id: 1\n${first}`, "event: tok"], { failAtEnd: true }))
      .mockResolvedValueOnce(streamResponse(rest));
    await streamEvents({
      open,
      onEvent: (event) => received.push(event.type),
      onConnection: (state) => connection.push(state),
      sleep: noSleep,
    });
    expect(open.mock.calls.map(([resume]) => resume)).toEqual([
      { attempt: 0, lastEventId: null },
      { attempt: 1, lastEventId: "1" },
    ]);
    expect(received).toEqual(eventsOf(recordings.guidedIntake).map((event) => event.type));
    expect(connection).toEqual(["reconnecting", "online"]);
  });

  it("treats a stream that ends before the run finished as a drop", async () => {
    const open = vi
      .fn()
      .mockResolvedValueOnce(streamResponse(['event: token\ndata: {"text":"a"}\n\n']))
      .mockResolvedValueOnce(streamResponse([recordings.guidedIntake]));
    const onEvent = vi.fn();
    await streamEvents({ open, onEvent, sleep: noSleep });
    expect(open).toHaveBeenCalledTimes(2);
  });

  it("retries 5xx answers and network failures with growing delays", async () => {
    const delays: number[] = [];
    const open = vi
      .fn()
      .mockRejectedValueOnce(new TypeError("Failed to fetch"))
      .mockResolvedValueOnce(new Response(JSON.stringify({ error: "ServiceUnavailable" }), { status: 503 }))
      .mockResolvedValueOnce(streamResponse([recordings.guidedIntake]));
    await streamEvents({
      open,
      onEvent: () => undefined,
      sleep: (ms) => {
        delays.push(ms);
        return Promise.resolve();
      },
    });
    expect(delays).toEqual([500, 1000]);
  });

  it("gives up on a 4xx answer at once, with the API's error", async () => {
    const open = vi.fn(() =>
      Promise.resolve(
        new Response(
          JSON.stringify({ error: "NotFound", detail: "No such thread.", request_id: "r1" }),
          { status: 404, headers: { "Content-Type": "application/json" } },
        ),
      ),
    );
    const failure = streamEvents({ open, onEvent: () => undefined, sleep: noSleep });
    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await expect(failure).rejects.toMatchObject({ status: 404, code: "NotFound", requestId: "r1" });
    expect(open).toHaveBeenCalledTimes(1);
  });

  it("gives up after the retries are spent", async () => {
    const open = vi.fn(() => Promise.reject(new TypeError("Failed to fetch")));
    await expect(
      streamEvents({ open, onEvent: () => undefined, sleep: noSleep, maxRetries: 2 }),
    ).rejects.toMatchObject({ code: "NetworkError" });
    expect(open).toHaveBeenCalledTimes(3);
  });

  it("stops when aborted, without retrying", async () => {
    const controller = new AbortController();
    const open = vi.fn(() => {
      controller.abort(new DOMException("stopped", "AbortError"));
      return Promise.reject(new DOMException("stopped", "AbortError"));
    });
    await expect(
      streamEvents({ open, onEvent: () => undefined, signal: controller.signal, sleep: noSleep }),
    ).rejects.toMatchObject({ name: "AbortError" });
    expect(open).toHaveBeenCalledTimes(1);
  });

  it("backs off exponentially up to ten seconds, from the server's retry when given", () => {
    expect([1, 2, 3, 10].map((attempt) => defaultBackoff(attempt, null))).toEqual([
      500, 1000, 2000, 10_000,
    ]);
    expect(defaultBackoff(2, 3000)).toBe(6000);
  });
});

describe("eventStreamRequest", () => {
  it("POSTs the JSON body with the bearer token, and resumes with Last-Event-ID", async () => {
    const fetch = vi.fn((_url: string, _init: RequestInit) => Promise.resolve(new Response("")));
    vi.stubGlobal("fetch", fetch);
    await eventStreamRequest("/api/v1/chat/threads/t/runs", {
      body: { message: "hello" },
      token: "tok",
    });
    await eventStreamRequest("/resume", { token: "tok", lastEventId: "42" });
    vi.unstubAllGlobals();

    const [url, first] = fetch.mock.calls[0]!;
    const headers = new Headers(first.headers);
    expect(url).toBe("/api/v1/chat/threads/t/runs");
    expect(first.method).toBe("POST");
    expect(first.body).toBe('{"message":"hello"}');
    expect(headers.get("Authorization")).toBe("Bearer tok");
    expect(headers.get("Accept")).toBe("text/event-stream");
    expect(headers.get("Content-Type")).toBe("application/json");

    const [, second] = fetch.mock.calls[1]!;
    expect(second.method).toBe("GET");
    expect(new Headers(second.headers).get("Last-Event-ID")).toBe("42");
  });
});
