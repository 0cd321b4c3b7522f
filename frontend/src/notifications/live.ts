// The live bell's stream (GET /api/v1/notifications/stream): read over fetch (a bearer token, which
// EventSource cannot send) with the chat's SSE parser, and reopened for as long as the person is
// signed in: after the server ends it (every few minutes), after a network drop, after a 5xx. Each
// reconnection sends the last event id, so the server replays what was written meanwhile.

import { ApiError, apiErrorFrom } from "../api/errors";
import { SseParser, defaultBackoff, eventStreamRequest } from "../chat/sse";

export const STREAM_URL = "/api/v1/notifications/stream";

export interface LiveNotification {
  id: string;
  kind: string;
  message: string;
  application_id: string | null;
  document_id: string | null;
  data: Record<string, unknown>;
  read_at: string | null;
  created_at: string;
}

export interface BellOptions {
  token: () => string | null;
  onUnread: (count: number) => void;
  onNotification: (notification: LiveNotification) => void;
  /** A refusal that will not change by retrying (401: the session is over); the loop stops. */
  onRefused?: (error: ApiError) => void;
  signal: AbortSignal;
  open?: typeof eventStreamRequest;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

/** Follow the bell until `signal` aborts or the server refuses the person. */
export async function followBell(options: BellOptions): Promise<void> {
  const open = options.open ?? eventStreamRequest;
  const sleep = options.sleep ?? sleepFor;
  const parser = new SseParser();
  let failures = 0;
  while (!options.signal.aborted) {
    const token = options.token();
    if (token === null) return;
    try {
      const response = await open(STREAM_URL, {
        token,
        lastEventId: parser.lastEventId,
        signal: options.signal,
      });
      if (!response.ok) {
        const error = apiErrorFrom(response, await response.json().catch(() => null));
        if (response.status < 500 && response.status !== 429) {
          options.onRefused?.(error);
          return;
        }
        throw error;
      }
      if (!response.body) throw new Error("The response has no body.");
      parser.reset();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const frame of parser.feed(value)) {
          failures = 0;
          const data: unknown = JSON.parse(frame.data);
          if (frame.event === "unread") {
            options.onUnread((data as { unread_count: number }).unread_count);
          } else if (frame.event === "notification") {
            options.onNotification(data as LiveNotification);
          }
        }
      }
      // The server ended the stream on purpose: reopen after its `retry:` time.
      await sleep(parser.retryMs ?? 2000, options.signal);
    } catch {
      if (options.signal.aborted) return;
      failures += 1;
      await sleep(defaultBackoff(failures, parser.retryMs), options.signal);
    }
  }
}
