// Server-Sent Events over fetch: the chat runs are POSTs with a JSON body and a bearer token, which
// EventSource cannot send. SseParser follows the WHATWG event-stream rules; streamEvents reads a
// response body through it and reconnects after a network drop.

import { ApiError, NETWORK_ERROR, apiErrorFrom } from "../api/errors";
import { parseEvent, type ChatEvent } from "./events";

export interface SseFrame {
  event: string; // "message" when the frame names none
  data: string;
  id: string | null; // the last event id seen so far in the stream (ids carry over)
}

/** Incremental parser: feed it decoded text as it arrives, get the complete frames back. */
export class SseParser {
  private buffer = "";
  private started = false;
  private skipLeadingLf = false; // the previous chunk ended in CR: an LF next is the same newline
  private eventName = "";
  private dataLines: string[] = [];
  private hasData = false;
  lastEventId: string | null = null;
  retryMs: number | null = null;

  feed(text: string): SseFrame[] {
    let chunk = text;
    if (!this.started && chunk.length > 0) {
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1); // a byte-order mark
    }
    if (this.skipLeadingLf && chunk.startsWith("\n")) chunk = chunk.slice(1);
    this.skipLeadingLf = false;
    this.buffer += chunk;

    const frames: SseFrame[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i += 1) {
      const char = this.buffer[i];
      if (char !== "\n" && char !== "\r") continue;
      const line = this.buffer.slice(start, i);
      if (char === "\r") {
        if (i + 1 < this.buffer.length) {
          if (this.buffer[i + 1] === "\n") i += 1;
        } else {
          this.skipLeadingLf = true;
        }
      }
      start = i + 1;
      const frame = this.line(line);
      if (frame) frames.push(frame);
    }
    this.buffer = this.buffer.slice(start);
    return frames;
  }

  /** Forget a partly received frame (a new connection starts clean); keeps the id and retry. */
  reset(): void {
    this.buffer = "";
    this.started = false;
    this.skipLeadingLf = false;
    this.dispatch();
  }

  private line(line: string): SseFrame | null {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return null; // a comment (servers send these as keep-alives)
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.eventName = value;
        break;
      case "data":
        this.dataLines.push(value);
        this.hasData = true;
        break;
      case "id":
        if (!value.includes("\0")) this.lastEventId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
    return null;
  }

  private dispatch(): SseFrame | null {
    const frame: SseFrame | null = this.hasData
      ? { event: this.eventName || "message", data: this.dataLines.join("\n"), id: this.lastEventId }
      : null;
    this.eventName = "";
    this.dataLines = [];
    this.hasData = false;
    return frame;
  }
}

const TERMINAL: ReadonlySet<ChatEvent["type"]> = new Set(["run.completed", "error"]);

export interface StreamOptions {
  /**
   * Open (or re-open) the stream. attempt 0 is the first request (the POST that starts the run);
   * a later attempt resumes after a drop, with the last event id the server sent, if any — it must
   * not start the run again.
   */
  open: (resume: { attempt: number; lastEventId: string | null }) => Promise<Response>;
  onEvent: (event: ChatEvent) => void;
  onConnection?: (state: "online" | "reconnecting") => void;
  signal?: AbortSignal;
  maxRetries?: number;
  /** Delay before reconnection attempt n (1-based); the server's `retry:` replaces the base. */
  backoffMs?: (attempt: number, serverRetryMs: number | null) => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export function defaultBackoff(attempt: number, serverRetryMs: number | null): number {
  const base = serverRetryMs ?? 500;
  return Math.min(base * 2 ** (attempt - 1), 10_000);
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A dropped connection worth retrying (as opposed to an answer that will not change). */
class Dropped extends Error {}

/**
 * Read the turn's events until a terminal one (run.completed or error), reconnecting after network
 * drops and 5xx answers. A 4xx answer is final and rejects with its ApiError; so does running out
 * of retries. Resolves when the run's stream ends after its terminal event.
 */
export async function streamEvents(options: StreamOptions): Promise<void> {
  const maxRetries = options.maxRetries ?? 5;
  const backoff = options.backoffMs ?? defaultBackoff;
  const sleep = options.sleep ?? abortableSleep;
  const parser = new SseParser();
  let attempt = 0;
  let failures = 0;

  for (;;) {
    try {
      const response = await options.open({ attempt, lastEventId: parser.lastEventId });
      if (!response.ok) {
        const body: unknown = await response.json().catch(() => null);
        const error = apiErrorFrom(response, body);
        if (response.status >= 500) throw new Dropped(error.message);
        throw error;
      }
      if (!response.body) throw new Dropped("The response has no body.");
      if (attempt > 0) options.onConnection?.("online");
      parser.reset();

      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let finished = false;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const frame of parser.feed(value)) {
          const event = parseEvent(frame.event, frame.data);
          if (!event) continue;
          failures = 0; // progress: the next drop starts the backoff afresh
          options.onEvent(event);
          if (TERMINAL.has(event.type)) finished = true;
        }
      }
      if (finished) return;
      throw new Dropped("The stream ended before the run finished.");
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      if (error instanceof ApiError) throw error;
      failures += 1;
      if (failures > maxRetries) {
        throw new ApiError({
          status: 0,
          code: NETWORK_ERROR,
          detail: error instanceof Error ? error.message : String(error),
        });
      }
      options.onConnection?.("reconnecting");
      await sleep(backoff(failures, parser.retryMs), options.signal);
      attempt += 1;
    }
  }
}

/** fetch() for an event stream: bearer token, Last-Event-ID on resumption, JSON body if any. */
export function eventStreamRequest(
  url: string,
  init: { method?: string; body?: unknown; token?: string | null; lastEventId?: string | null; signal?: AbortSignal },
): Promise<Response> {
  const headers = new Headers({ Accept: "text/event-stream" });
  if (init.token) headers.set("Authorization", `Bearer ${init.token}`);
  if (init.lastEventId) headers.set("Last-Event-ID", init.lastEventId);
  if (init.body !== undefined) headers.set("Content-Type", "application/json");
  return fetch(url, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: init.signal,
    cache: "no-store",
  });
}
