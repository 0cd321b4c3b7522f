// A thread's stored history (GET /api/v1/chat/threads/{id}) as the reducer's state: what the page
// shows when it opens, and again after a dropped stream (the API has no Last-Event-ID resumption:
// a turn goes on on the server and its result is read back from the history).

import type { Schemas } from "../api/client";
import {
  initialChatState,
  type ApprovalItem,
  type ChatItem,
  type ChatState,
} from "./reducer";

type ThreadDetail = Schemas["ThreadDetail"];
type MessageRead = Schemas["MessageRead"];

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** One stored message as a transcript item; null for a role this view does not know. */
export function itemFromMessage(message: MessageRead): ChatItem | null {
  const id = `history-${message.id}`;
  const tool = message.tool ?? {};
  switch (message.role) {
    case "user":
      return { kind: "user", id, text: message.content, attachments: [] };
    case "assistant":
      return {
        kind: "assistant",
        id,
        runId: message.run_id ?? null,
        text: message.content,
        streaming: false,
        completed: true,
      };
    case "tool": {
      const ok = tool.ok !== false;
      const error = text(tool.error);
      return {
        kind: "tool",
        id,
        tool: text(tool.tool),
        status: ok ? "done" : "failed",
        error: ok || error === "" ? null : error,
      };
    }
    case "approval":
      return {
        kind: "approval",
        id,
        tool: text(tool.tool),
        summary: "",
        payload: {},
        answering: null,
        resolution: {
          approved: message.content === "approved",
          channel: text(tool.channel) || "text",
        },
      };
    default:
      return null;
  }
}

/** The approval card for the action the thread is waiting on, if any. */
export function pendingApprovalItem(pending: ThreadDetail["pending_approval"]): ApprovalItem | null {
  if (!pending) return null;
  const approvalId = text(pending.approval_id);
  if (approvalId === "") return null;
  const payload = pending.payload;
  return {
    kind: "approval",
    id: approvalId,
    tool: text(pending.tool),
    summary: text(pending.summary),
    payload:
      typeof payload === "object" && payload !== null && !Array.isArray(payload)
        ? (payload as Record<string, unknown>)
        : {},
    answering: null,
    resolution: null,
  };
}

/**
 * The view of a thread from its history. The mode (guided or model) is not stored with the
 * messages: it is kept from the state before, and set again by the next run.started.
 */
export function stateFromHistory(detail: ThreadDetail, before: ChatState = initialChatState): ChatState {
  const items: ChatItem[] = [];
  for (const message of detail.messages) {
    const item = itemFromMessage(message);
    if (item) items.push(item);
  }
  const pending = pendingApprovalItem(detail.pending_approval);
  if (pending) items.push(pending);
  return {
    ...initialChatState,
    threadId: detail.id,
    mode: before.threadId === detail.id ? before.mode : null,
    modeReason: before.threadId === detail.id ? before.modeReason : null,
    lastRun: before.threadId === detail.id ? before.lastRun : null,
    status: pending ? "awaiting_approval" : "idle",
    items,
  };
}

/** True while the thread's latest turn has not been written back yet (the person spoke last). */
export function turnStillRunning(detail: ThreadDetail): boolean {
  const last = detail.messages[detail.messages.length - 1];
  return last?.role === "user" && !detail.pending_approval;
}
