// The events of an assistant turn, as the API streams them (one SSE frame each: `event:` is the
// type, `data:` the JSON). Mirrors agents/events.py; when the chat endpoints land in the OpenAPI
// document these can come from the generated schema instead.

export type Mode = "llm" | "guided";

export interface RunStarted {
  type: "run.started";
  run_id: string;
  thread_id: string;
  graph: string;
  mode: Mode;
}

export interface Token {
  type: "token";
  text: string;
}

export interface MessageCompleted {
  type: "message.completed";
  message_id: string;
  text: string;
}

/** Arguments are redacted by the server before they are sent. */
export interface ToolStarted {
  type: "tool.started";
  call_id: string;
  tool: string;
  args: Record<string, unknown>;
}

export interface ToolFinished {
  type: "tool.finished";
  call_id: string;
  tool: string;
  ok: boolean;
  result?: unknown;
  error?: string | null;
}

/** An irreversible action waits for an explicit yes or no. */
export interface InterruptRequested {
  type: "interrupt.requested";
  approval_id: string;
  tool: string;
  summary: string;
  payload: Record<string, unknown>;
}

export interface ApprovalResolved {
  type: "approval.resolved";
  approval_id: string;
  approved: boolean;
  channel: "text" | "button" | "voice" | "api";
  /** "expired": answered too late; nothing ran and the action is asked again. */
  outcome?: "approved" | "rejected" | "expired";
}

export interface ModeChanged {
  type: "mode.changed";
  mode: Mode;
  reason: string;
}

export interface RunCompleted {
  type: "run.completed";
  latency_ms: number;
  tokens: { input_tokens: number; output_tokens: number };
  cost: string; // a Decimal, in USD
  status: "completed" | "interrupted";
}

export interface RunError {
  type: "error";
  error: string;
  detail: string;
}

export type ChatEvent =
  | RunStarted
  | Token
  | MessageCompleted
  | ToolStarted
  | ToolFinished
  | InterruptRequested
  | ApprovalResolved
  | ModeChanged
  | RunCompleted
  | RunError;

export const EVENT_TYPES: ReadonlySet<ChatEvent["type"]> = new Set([
  "run.started",
  "token",
  "message.completed",
  "tool.started",
  "tool.finished",
  "interrupt.requested",
  "approval.resolved",
  "mode.changed",
  "run.completed",
  "error",
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The event of one SSE frame, or null for a frame this client does not know (a newer server may
 * add event types; they are skipped rather than breaking the stream). The frame's `event:` name
 * wins over a `type` inside the data.
 */
export function parseEvent(name: string, data: string): ChatEvent | null {
  if (!EVENT_TYPES.has(name as ChatEvent["type"])) return null;
  let body: unknown;
  try {
    body = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isObject(body)) return null;
  return { ...body, type: name } as ChatEvent;
}
