// @vitest-environment jsdom
import "../i18n";

import { cleanup, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { Chat, ratableReplies } from "./Chat";
import { eventsOf, recordings } from "./recorded";
import { chatReducer, initialChatState, replay } from "./reducer";

afterEach(cleanup);

function renderChat(state = initialChatState) {
  const onSend = vi.fn();
  const onAnswer = vi.fn();
  const view = render(<Chat state={state} onSend={onSend} onAnswer={onAnswer} allowAttachments />);
  return { onSend, onAnswer, view };
}

describe("<Chat>", () => {
  it("offers no file attach where uploads have nowhere to go", () => {
    render(<Chat state={initialChatState} onSend={vi.fn()} onAnswer={vi.fn()} />);
    expect(screen.queryByText("Attach a file")).toBeNull();
  });

  it("shows tokens as they stream, and the guided-mode banner", () => {
    const events = eventsOf(recordings.guidedIntake);
    const { view } = renderChat(replay(events.slice(0, 3)));
    const transcript = screen.getByRole("list", { name: "Conversation" });
    expect(transcript).toHaveProperty("ariaBusy", "true");
    expect(within(transcript).getByText("What loan amount")).toBeTruthy();
    expect(screen.getByRole("status").textContent).toMatch(/Guided mode/);

    view.rerender(<Chat state={replay(events)} onSend={vi.fn()} onAnswer={vi.fn()} />);
    expect(within(transcript).getByText("What loan amount do you need?")).toBeTruthy();
    expect(transcript).toHaveProperty("ariaBusy", "false");
  });

  it("shows a working-on-it line per tool call and an approval card with buttons", async () => {
    const user = userEvent.setup();
    const { onAnswer } = renderChat(replay(eventsOf(recordings.approvalInterrupt)));
    expect(screen.getByText("Done: get application")).toBeTruthy();
    expect(screen.getByText("Working on it: submit application")).toBeTruthy();

    const card = screen.getByRole("region", { name: "Your approval is needed" });
    expect(within(card).getByText(/Send your application for \$25,000/)).toBeTruthy();
    expect(within(card).getByText("[redacted]")).toBeTruthy();
    expect(screen.getByText(/You can also type yes or no/)).toBeTruthy();

    await user.click(within(card).getByRole("button", { name: "Approve" }));
    expect(onAnswer).toHaveBeenCalledWith("appr-1", true);
  });

  it("disables the card's buttons while the answer is on its way, then shows the outcome", () => {
    const waiting = replay(eventsOf(recordings.approvalInterrupt));
    const answering = chatReducer(waiting, {
      type: "local.answering",
      approvalId: "appr-1",
      approved: false,
    });
    const { view } = renderChat(answering);
    expect(screen.getByRole("button", { name: "Reject" })).toHaveProperty("disabled", true);

    const resolved = chatReducer(answering, {
      type: "approval.resolved",
      approval_id: "appr-1",
      approved: false,
      channel: "button",
    });
    view.rerender(<Chat state={resolved} onSend={vi.fn()} onAnswer={vi.fn()} />);
    expect(screen.queryByRole("button", { name: "Reject" })).toBeNull();
    expect(screen.getByText("Rejected")).toBeTruthy();
  });

  it("sends with Enter (Shift+Enter is a new line), with attached files, keyboard only", async () => {
    const user = userEvent.setup();
    const { onSend } = renderChat();
    const send = screen.getByRole("button", { name: "Send" });
    expect(send).toHaveProperty("disabled", true);

    await user.tab();
    expect(document.activeElement).toBe(screen.getByRole("textbox", { name: "Message" }));
    await user.keyboard("Here is my pay stub{Shift>}{Enter}{/Shift}thanks");
    const file = new File(["%PDF-1.4"], "paystub.pdf", { type: "application/pdf" });
    await user.upload(screen.getByLabelText("Attach a file"), file);
    expect(screen.getByRole("button", { name: "Remove paystub.pdf" })).toBeTruthy();

    await user.click(screen.getByRole("textbox", { name: "Message" }));
    await user.keyboard("{Enter}");
    expect(onSend).toHaveBeenCalledWith("Here is my pay stub\nthanks", [file]);
    expect(screen.getByRole("textbox", { name: "Message" })).toHaveProperty("value", "");
    expect(screen.queryByRole("button", { name: "Remove paystub.pdf" })).toBeNull();
  });

  it("does not send while a run is streaming, and says when the connection is lost", () => {
    const running = chatReducer(
      chatReducer(initialChatState, { type: "local.user_message", id: "u", text: "hi" }),
      { type: "local.connection", state: "reconnecting" },
    );
    renderChat(running);
    expect(screen.getByText("Connection lost. Reconnecting…")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Send" })).toHaveProperty("disabled", true);
  });

  it("reports a run error as an alert", () => {
    renderChat(replay(eventsOf(recordings.toolFailure)));
    expect(screen.getByRole("alert").textContent).toMatch(/document service is not available/);
    expect(screen.getByText(/Could not finish: list documents/)).toBeTruthy();
  });

  it("shows the voice controls it is given, and none otherwise", () => {
    const { view } = renderChat();
    expect(screen.queryByRole("button", { name: "Voice" })).toBeNull();
    view.rerender(
      <Chat
        state={initialChatState}
        onSend={vi.fn()}
        onAnswer={vi.fn()}
        voice={<button type="button">Voice</button>}
      />,
    );
    expect(screen.getByRole("button", { name: "Voice" })).toBeTruthy();
  });

  it("offers thumbs on the last reply of each finished turn only", () => {
    const events = eventsOf(recordings.guidedIntake);
    const streaming = replay(events.slice(0, 3));
    expect(ratableReplies(streaming).size).toBe(0); // the turn is still running
    const done = replay(events);
    const ratable = ratableReplies(done);
    expect(ratable.size).toBe(1);
    const onRate = vi.fn();
    render(
      <Chat state={done} onSend={vi.fn()} onAnswer={vi.fn()} onRate={onRate} ratings={{}} />,
    );
    expect(screen.getAllByRole("button", { name: "Helpful" })).toHaveLength(1);
  });
});
