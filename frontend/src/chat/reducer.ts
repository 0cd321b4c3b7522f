// The chat transcript as a pure reducer over the turn's events (and a few local actions): what the
// Chat component renders. Pure, so recorded event sequences test it without a browser or server.

import type { ChatEvent, Mode } from "./events";

export interface UserItem {
  kind: "user";
  id: string;
  text: string;
  attachments: string[];
}

export interface AssistantItem {
  kind: "assistant";
  id: string; // the server's message_id once completed; a local id before
  runId: string | null; // the turn that wrote it (feedback is given per turn)
  text: string;
  streaming: boolean; // tokens are arriving into this bubble now
  completed: boolean; // message.completed has given its final text
}

export interface ToolItem {
  kind: "tool";
  id: string; // call_id
  tool: string;
  status: "running" | "done" | "failed";
  error: string | null;
}

export interface ApprovalItem {
  kind: "approval";
  id: string; // approval_id
  tool: string;
  summary: string;
  payload: Record<string, unknown>;
  // Set while the person's answer is on its way, then by approval.resolved.
  answering: boolean | null;
  resolution: { approved: boolean; channel: string } | null;
}

export type ChatItem = UserItem | AssistantItem | ToolItem | ApprovalItem;

export type ChatStatus = "idle" | "running" | "awaiting_approval" | "error";

export interface ChatState {
  threadId: string | null;
  runId: string | null;
  mode: Mode | null;
  modeReason: string | null;
  status: ChatStatus;
  connection: "online" | "reconnecting";
  items: ChatItem[];
  error: { error: string; detail: string } | null;
  lastRun: { latencyMs: number; inputTokens: number; outputTokens: number; cost: string } | null;
}

export type LocalAction =
  | { type: "local.user_message"; id: string; text: string; attachments?: string[] }
  | { type: "local.answering"; approvalId: string; approved: boolean }
  | { type: "local.connection"; state: "online" | "reconnecting" }
  | { type: "local.failed"; error: string; detail: string }
  // The whole view replaced, from the thread's stored history (opening it, or after a drop).
  | { type: "local.loaded"; state: ChatState };

export type ChatAction = ChatEvent | LocalAction;

export const initialChatState: ChatState = {
  threadId: null,
  runId: null,
  mode: null,
  modeReason: null,
  status: "idle",
  connection: "online",
  items: [],
  error: null,
  lastRun: null,
};

function lastStreaming(items: ChatItem[]): number {
  const index = items.length - 1;
  const last = items[index];
  return last?.kind === "assistant" && last.streaming ? index : -1;
}

/**
 * The bubble a message.completed finishes: the latest one built from tokens and not completed yet,
 * looking back no further than the person's last message. (The server completes a message before
 * the tool calls it makes, but a bubble a tool line closed early is still found.)
 */
function lastUncompleted(items: ChatItem[]): number {
  for (let index = items.length - 1; index >= 0; index -= 1) {
    const item = items[index];
    if (item?.kind === "user") return -1;
    if (item?.kind === "assistant" && !item.completed) return index;
  }
  return -1;
}

/** The transcript with the streaming bubble (if any) closed: later tokens start a new one. */
function closeStreaming(items: ChatItem[]): ChatItem[] {
  const index = lastStreaming(items);
  if (index < 0) return items;
  const copy = items.slice();
  copy[index] = { ...(copy[index] as AssistantItem), streaming: false };
  return copy;
}

function replace<T extends ChatItem>(
  items: ChatItem[],
  kind: T["kind"],
  id: string,
  update: (item: T) => T,
): ChatItem[] {
  return items.map((item) => (item.kind === kind && item.id === id ? update(item as T) : item));
}

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case "local.user_message":
      return {
        ...state,
        status: "running",
        error: null,
        items: [
          ...closeStreaming(state.items),
          { kind: "user", id: action.id, text: action.text, attachments: action.attachments ?? [] },
        ],
      };
    case "local.answering":
      return {
        ...state,
        items: replace<ApprovalItem>(state.items, "approval", action.approvalId, (item) => ({
          ...item,
          answering: action.approved,
        })),
      };
    case "local.connection":
      return { ...state, connection: action.state };
    case "local.loaded":
      return action.state;
    case "local.failed":
      return {
        ...state,
        status: "error",
        connection: "online",
        error: { error: action.error, detail: action.detail },
        items: closeStreaming(state.items),
      };

    case "run.started":
      return {
        ...state,
        threadId: action.thread_id,
        runId: action.run_id,
        mode: action.mode,
        status: "running",
        connection: "online",
        error: null,
      };
    case "token": {
      const index = lastStreaming(state.items);
      if (index < 0) {
        const id = `streaming-${state.runId ?? "run"}-${state.items.length}`;
        return {
          ...state,
          items: [
            ...state.items,
            {
              kind: "assistant",
              id,
              runId: state.runId,
              text: action.text,
              streaming: true,
              completed: false,
            },
          ],
        };
      }
      const items = state.items.slice();
      const bubble = items[index] as AssistantItem;
      items[index] = { ...bubble, text: bubble.text + action.text };
      return { ...state, items };
    }
    case "message.completed": {
      // The completed text is authoritative (tokens may have been missed across a reconnect).
      if (state.items.some((item) => item.kind === "assistant" && item.id === action.message_id)) {
        return state; // replayed after a reconnect
      }
      const done: AssistantItem = {
        kind: "assistant",
        id: action.message_id,
        runId: state.runId,
        text: action.text,
        streaming: false,
        completed: true,
      };
      const index = lastUncompleted(state.items);
      if (index < 0) return { ...state, items: [...state.items, done] };
      const items = state.items.slice();
      items[index] = done;
      return { ...state, items };
    }
    case "tool.started":
      if (state.items.some((item) => item.kind === "tool" && item.id === action.call_id)) {
        return state;
      }
      return {
        ...state,
        items: [
          ...closeStreaming(state.items),
          { kind: "tool", id: action.call_id, tool: action.tool, status: "running", error: null },
        ],
      };
    case "tool.finished": {
      const known = state.items.some((item) => item.kind === "tool" && item.id === action.call_id);
      const finished: ToolItem = {
        kind: "tool",
        id: action.call_id,
        tool: action.tool,
        status: action.ok ? "done" : "failed",
        error: action.ok ? null : (action.error ?? null),
      };
      return {
        ...state,
        items: known
          ? replace<ToolItem>(state.items, "tool", action.call_id, () => finished)
          : [...closeStreaming(state.items), finished],
      };
    }
    case "interrupt.requested":
      if (state.items.some((item) => item.kind === "approval" && item.id === action.approval_id)) {
        return state;
      }
      return {
        ...state,
        status: "awaiting_approval",
        items: [
          ...closeStreaming(state.items),
          {
            kind: "approval",
            id: action.approval_id,
            tool: action.tool,
            summary: action.summary,
            payload: action.payload,
            answering: null,
            resolution: null,
          },
        ],
      };
    case "approval.resolved": {
      const items = replace<ApprovalItem>(state.items, "approval", action.approval_id, (item) => ({
        ...item,
        answering: null,
        resolution: { approved: action.approved, channel: action.channel },
      }));
      const waiting = items.some((item) => item.kind === "approval" && item.resolution === null);
      return {
        ...state,
        items,
        status: state.status === "awaiting_approval" && !waiting ? "running" : state.status,
      };
    }
    case "mode.changed":
      return { ...state, mode: action.mode, modeReason: action.reason };
    case "run.completed": {
      const waiting = state.items.some(
        (item) => item.kind === "approval" && item.resolution === null,
      );
      return {
        ...state,
        status: action.status === "interrupted" || waiting ? "awaiting_approval" : "idle",
        connection: "online",
        items: closeStreaming(state.items),
        lastRun: {
          latencyMs: action.latency_ms,
          inputTokens: action.tokens.input_tokens,
          outputTokens: action.tokens.output_tokens,
          cost: String(action.cost),
        },
      };
    }
    case "error":
      return {
        ...state,
        status: "error",
        connection: "online",
        error: { error: action.error, detail: action.detail },
        items: closeStreaming(state.items),
      };
  }
}

/** Fold a whole recorded sequence (tests, and replaying a stored transcript). */
export function replay(actions: readonly ChatAction[], from: ChatState = initialChatState): ChatState {
  return actions.reduce(chatReducer, from);
}
