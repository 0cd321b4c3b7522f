import { describe, expect, it } from "vitest";

import type { ChatEvent } from "./events";
import { eventsOf, recordings } from "./recorded";
import { chatReducer, initialChatState, replay, type ChatState } from "./reducer";

function texts(state: ChatState): string[] {
  return state.items.map((item) => {
    switch (item.kind) {
      case "user":
        return `user: ${item.text}`;
      case "assistant":
        return `assistant${item.streaming ? " (streaming)" : ""}: ${item.text}`;
      case "tool":
        return `tool ${item.tool}: ${item.status}${item.error ? ` (${item.error})` : ""}`;
      case "approval":
        return `approval ${item.tool}: ${item.resolution ? (item.resolution.approved ? "approved" : "rejected") : "waiting"}`;
    }
  });
}

describe("chatReducer on recorded runs", () => {
  it("streams a guided-mode reply token by token, then completes it", () => {
    const events = eventsOf(recordings.guidedIntake);
    const midway = replay(events.slice(0, 3));
    expect(midway.mode).toBe("guided");
    expect(midway.modeReason).toBe("No language model is configured.");
    expect(midway.status).toBe("running");
    expect(texts(midway)).toEqual(["assistant (streaming): What loan amount "]);

    const state = replay(events);
    expect(texts(state)).toEqual(["assistant: What loan amount do you need?"]);
    expect(state.items[0]).toMatchObject({ id: "msg-1", completed: true });
    expect(state.status).toBe("idle");
    expect(state.threadId).toBe("thread-1");
    expect(state.lastRun).toEqual({ latencyMs: 12.5, inputTokens: 0, outputTokens: 0, cost: "0" });
  });

  it("shows each tool call and waits on an approval card after an interrupted run", () => {
    const state = replay([
      { type: "local.user_message", id: "u1", text: "Please submit my application" },
      ...eventsOf(recordings.approvalInterrupt),
    ]);
    expect(texts(state)).toEqual([
      "user: Please submit my application",
      "assistant: Let me check your application.",
      "tool get_application: done",
      "assistant: Everything is ready.",
      "tool submit_application: running",
      "approval submit_application: waiting",
    ]);
    expect(state.status).toBe("awaiting_approval");
    expect(state.mode).toBe("llm");
    expect(state.lastRun?.cost).toBe("0.00231");
    const card = state.items.at(-1);
    expect(card).toMatchObject({
      kind: "approval",
      id: "appr-1",
      summary: "Send your application for $25,000 over 36 months to 3 lenders?",
      payload: { amount: "25000.00", term_months: 36, ssn: "[redacted]" },
    });
  });

  it("resolves the approval when the next run resumes, and finishes the pending tool", () => {
    const waiting = replay(eventsOf(recordings.approvalInterrupt));
    const clicked = chatReducer(waiting, {
      type: "local.answering",
      approvalId: "appr-1",
      approved: true,
    });
    expect(clicked.items.at(-1)).toMatchObject({ kind: "approval", answering: true });

    const state = replay(eventsOf(recordings.approvalResume), clicked);
    expect(texts(state)).toEqual([
      "assistant: Let me check your application.",
      "tool get_application: done",
      "assistant: Everything is ready.",
      "tool submit_application: done",
      "approval submit_application: approved",
      "assistant: Submitted. Offers usually arrive within minutes.\nI will let you know.",
    ]);
    const card = state.items.find((item) => item.kind === "approval");
    expect(card).toMatchObject({ answering: null, resolution: { approved: true, channel: "button" } });
    expect(state.status).toBe("idle");
  });

  it("reports a failed tool and a run error, closing the half-streamed bubble", () => {
    const state = replay(eventsOf(recordings.toolFailure));
    expect(texts(state)).toEqual([
      "assistant: Looking up ",
      "tool list_documents: failed (The document service is not available.)",
    ]);
    expect(state.status).toBe("error");
    expect(state.error).toEqual({
      error: "ToolFailed",
      detail: "The document service is not available.",
    });
    expect(state.mode).toBe("guided");
  });
});

describe("chatReducer details", () => {
  it("ignores events replayed after a reconnect", () => {
    const events = eventsOf(recordings.approvalInterrupt);
    const once = replay(events);
    const replayed = replay(
      events.filter((event) =>
        ["message.completed", "tool.started", "interrupt.requested"].includes(event.type),
      ),
      once,
    );
    expect(texts(replayed)).toEqual(texts(once));
  });

  it("takes the completed text over the streamed tokens (some were lost)", () => {
    const state = replay([
      { type: "token", text: "Hel" },
      { type: "message.completed", message_id: "m", text: "Hello there." },
    ]);
    expect(texts(state)).toEqual(["assistant: Hello there."]);
  });

  it("starts a new bubble for tokens after a tool line", () => {
    const events: ChatEvent[] = [
      { type: "token", text: "One" },
      { type: "tool.started", call_id: "c", tool: "t", args: {} },
      { type: "token", text: "Two" },
    ];
    expect(texts(replay(events))).toEqual([
      "assistant: One",
      "tool t: running",
      "assistant (streaming): Two",
    ]);
  });

  it("does not complete a bubble from before the person's last message", () => {
    const state = replay([
      { type: "token", text: "Earlier" },
      { type: "error", error: "X", detail: "cut off" },
      { type: "local.user_message", id: "u", text: "hello?" },
      { type: "message.completed", message_id: "m2", text: "Hi." },
    ]);
    expect(texts(state)).toEqual(["assistant: Earlier", "user: hello?", "assistant: Hi."]);
    expect(state.error).toBeNull();
  });

  it("tracks the connection and a local failure", () => {
    let state = chatReducer(initialChatState, { type: "local.connection", state: "reconnecting" });
    expect(state.connection).toBe("reconnecting");
    state = chatReducer(state, { type: "local.failed", error: "NetworkError", detail: "offline" });
    expect(state).toMatchObject({ status: "error", connection: "online" });
  });

  it("records a rejection typed as text on the card", () => {
    const waiting = replay(eventsOf(recordings.approvalInterrupt));
    const state = chatReducer(waiting, {
      type: "approval.resolved",
      approval_id: "appr-1",
      approved: false,
      channel: "text",
    });
    expect(state.items.at(-1)).toMatchObject({ resolution: { approved: false, channel: "text" } });
  });
});
