import { describe, expect, it } from "vitest";

import type { Schemas } from "../api/client";
import { itemFromMessage, pendingApprovalItem, stateFromHistory, turnStillRunning } from "./history";
import { chatReducer, initialChatState } from "./reducer";

type MessageRead = Schemas["MessageRead"];
type ThreadDetail = Schemas["ThreadDetail"];

let nextId = 1;
function message(role: string, content = "", tool: MessageRead["tool"] = null): MessageRead {
  nextId += 1;
  return { id: nextId, run_id: "run-1", role, content, tool, created_at: "2026-01-01T00:00:00Z" };
}

function thread(messages: MessageRead[], pending: ThreadDetail["pending_approval"] = null): ThreadDetail {
  return {
    id: "thread-1",
    graph: "borrower",
    channel: "web",
    title: null,
    pending_approval: pending,
    created_at: "2026-01-01T00:00:00Z",
    last_message_at: null,
    messages,
  };
}

describe("history → view", () => {
  it("maps each stored role to its transcript item, in order", () => {
    const state = stateFromHistory(
      thread([
        message("user", "hi"),
        message("assistant", "What kind of loan are you looking for?"),
        message("tool", "", { tool: "start_application", ok: true, error: null }),
        message("tool", "", { tool: "upload_document", ok: false, error: "Too large." }),
        message("approval", "rejected", { tool: "submit_application", channel: "text" }),
        message("system", "not for the view"),
      ]),
    );
    expect(state.threadId).toBe("thread-1");
    expect(state.status).toBe("idle");
    expect(state.items.map((item) => item.kind)).toEqual([
      "user",
      "assistant",
      "tool",
      "tool",
      "approval",
    ]);
    expect(state.items[1]).toMatchObject({ text: "What kind of loan are you looking for?", completed: true, streaming: false });
    expect(state.items[2]).toMatchObject({ tool: "start_application", status: "done", error: null });
    expect(state.items[3]).toMatchObject({ status: "failed", error: "Too large." });
    expect(state.items[4]).toMatchObject({
      tool: "submit_application",
      resolution: { approved: false, channel: "text" },
    });
    // Ids are unique, so React keys are too.
    expect(new Set(state.items.map((item) => item.id)).size).toBe(state.items.length);
  });

  it("ends with an open approval card when the thread waits on one", () => {
    const pending = {
      approval_id: "appr-1",
      tool: "submit_application",
      summary: "Submit application OMF-1",
      payload: { reference: "OMF-1" },
    };
    const state = stateFromHistory(thread([message("user", "submit it")], pending));
    expect(state.status).toBe("awaiting_approval");
    expect(state.items.at(-1)).toEqual({
      kind: "approval",
      id: "appr-1",
      tool: "submit_application",
      summary: "Submit application OMF-1",
      payload: { reference: "OMF-1" },
      answering: null,
      resolution: null,
    });
    // approval.resolved from the continuation's stream finds that card.
    const after = chatReducer(state, {
      type: "approval.resolved",
      approval_id: "appr-1",
      approved: true,
      channel: "button",
    });
    expect(after.items.at(-1)).toMatchObject({ resolution: { approved: true, channel: "button" } });
    expect(turnStillRunning(thread([message("user", "submit it")], pending))).toBe(false);
  });

  it("ignores a malformed pending approval", () => {
    expect(pendingApprovalItem(null)).toBeNull();
    // The server's type says it cannot be malformed; the view still guards against it.
    type Pending = Parameters<typeof pendingApprovalItem>[0];
    expect(pendingApprovalItem({ tool: "x" } as unknown as Pending)).toBeNull();
    expect(
      pendingApprovalItem({ approval_id: "a", payload: [1] } as unknown as Pending)?.payload,
    ).toEqual({});
  });

  it("keeps the mode of the same thread across a reload, not of another", () => {
    const running = { ...initialChatState, threadId: "thread-1", mode: "guided" as const };
    expect(stateFromHistory(thread([]), running).mode).toBe("guided");
    expect(stateFromHistory(thread([]), { ...running, threadId: "other" }).mode).toBeNull();
  });

  it("tells a turn still being written from a finished one", () => {
    expect(turnStillRunning(thread([]))).toBe(false);
    expect(turnStillRunning(thread([message("user", "hi")]))).toBe(true);
    expect(turnStillRunning(thread([message("user", "hi"), message("assistant", "Hello")]))).toBe(false);
    expect(itemFromMessage(message("user", "hi"))).toMatchObject({ kind: "user", text: "hi" });
  });
});
