// @vitest-environment jsdom
import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { ApiError } from "../api/errors";
import "../i18n";
import { VoiceButton, type VoiceGrant, type VoiceRoom } from "./VoiceButton";

afterEach(cleanup);

type Listener = (...args: unknown[]) => void;

/** LiveKit's Room at the interface the button uses: events are emitted by the test. */
class FakeRoom {
  listeners = new Map<string, Listener[]>();
  connected: { url: string; token: string } | null = null;
  microphone: boolean[] = [];
  disconnects = 0;
  connectError: Error | null = null;
  microphoneError: Error | null = null;
  localParticipant = {
    setMicrophoneEnabled: async (enabled: boolean) => {
      if (this.microphoneError) throw this.microphoneError;
      this.microphone.push(enabled);
      return undefined;
    },
  };
  on(event: string, listener: Listener) {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }
  emit(event: string, ...args: unknown[]) {
    for (const listener of this.listeners.get(event) ?? []) listener(...args);
  }
  async connect(url: string, token: string) {
    if (this.connectError) {
      // As LiveKit does: a failed connect also emits "disconnected" before it rejects.
      this.emit("disconnected");
      throw this.connectError;
    }
    this.connected = { url, token };
  }
  async disconnect() {
    this.disconnects += 1;
  }
  async startAudio() {}
  asRoom(): VoiceRoom {
    return this as unknown as VoiceRoom;
  }
}

const GRANT: VoiceGrant = { url: "wss://voice.example", token: "jwt" };

function agent(state: string) {
  return { identity: "agent-1", attributes: { "lk.agent.state": state } };
}

function setup(options: { room?: FakeRoom; session?: (threadId: string) => Promise<VoiceGrant> } = {}) {
  const room = options.room ?? new FakeRoom();
  const session = vi.fn(options.session ?? (async () => GRANT));
  const onActivity = vi.fn();
  render(
    <VoiceButton
      threadId="thread-7"
      onActivity={onActivity}
      createRoom={async () => room.asRoom()}
      requestSession={session}
    />,
  );
  return { room, session, onActivity, user: userEvent.setup() };
}

const status = () => screen.getByRole("status");

describe("VoiceButton", () => {
  it("asks for this thread's token, joins with the microphone on, then follows the agent's state", async () => {
    const { room, session, onActivity, user } = setup();
    await user.click(screen.getByRole("button", { name: "Voice" }));
    expect(session).toHaveBeenCalledWith("thread-7");
    await waitFor(() => expect(status().textContent).toMatch(/Waiting for the assistant/));
    expect(room.connected).toEqual({ url: "wss://voice.example", token: "jwt" });
    expect(room.microphone).toEqual([true]);

    act(() => room.emit("participantConnected", agent("listening")));
    expect(status().textContent).toBe("Listening");
    act(() => room.emit("participantAttributesChanged", {}, agent("thinking")));
    expect(status().textContent).toBe("Thinking");
    act(() => room.emit("participantAttributesChanged", {}, agent("speaking")));
    expect(status().textContent).toBe("Speaking");
    // Entering listening and speaking reloads the thread (the voice turns are written there).
    expect(onActivity).toHaveBeenCalledTimes(2);

    act(() =>
      room.emit("transcriptionReceived", [{ text: "Your loan is ready.", final: true }], agent("speaking")),
    );
    expect(screen.getByText(/Your loan is ready\./).textContent).toBe("Assistant: Your loan is ready.");
    expect(onActivity).toHaveBeenCalledTimes(3);
  });

  it("mutes and unmutes the microphone, and hangs up", async () => {
    const { room, user, onActivity } = setup();
    await user.click(screen.getByRole("button", { name: "Voice" }));
    await user.click(await screen.findByRole("button", { name: "Mute" }));
    expect(screen.getByRole("button", { name: "Unmute" }).getAttribute("aria-pressed")).toBe("true");
    await user.click(screen.getByRole("button", { name: "Unmute" }));
    expect(room.microphone).toEqual([true, false, true]);
    await user.click(screen.getByRole("button", { name: "Hang up" }));
    expect(room.disconnects).toBe(1);
    expect(screen.getByRole("button", { name: "Voice" })).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Mute" })).toBeNull();
    expect(onActivity).toHaveBeenCalled();
  });

  it("says voice is not configured and stays disabled on a 503", async () => {
    const { user, room } = setup({
      session: async () => {
        throw new ApiError({ status: 503, code: "ServiceUnavailable", detail: "Voice is not configured" });
      },
    });
    await user.click(screen.getByRole("button", { name: "Voice" }));
    expect(status().textContent).toBe("Voice is not configured on this platform.");
    expect((screen.getByRole("button", { name: "Voice" }) as HTMLButtonElement).disabled).toBe(true);
    expect(room.connected).toBeNull();
  });

  it("shows a clear error when the room cannot be reached, and can try again", async () => {
    const room = new FakeRoom();
    room.connectError = new Error("could not establish signal connection");
    const { user } = setup({ room });
    await user.click(screen.getByRole("button", { name: "Voice" }));
    await waitFor(() => expect(status().textContent).toMatch(/Could not reach the voice service/));
    expect(room.disconnects).toBe(1);
    const button = screen.getByRole("button", { name: "Voice" }) as HTMLButtonElement;
    expect(button.disabled).toBe(false);
  });

  it("leaves the room when the microphone is refused", async () => {
    const room = new FakeRoom();
    room.microphoneError = new DOMException("denied", "NotAllowedError");
    const { user } = setup({ room });
    await user.click(screen.getByRole("button", { name: "Voice" }));
    await waitFor(() => expect(status().textContent).toMatch(/microphone is not available/));
    expect(room.disconnects).toBe(1);
  });

  it("says so when the room drops the call", async () => {
    const { room, user } = setup();
    await user.click(screen.getByRole("button", { name: "Voice" }));
    await screen.findByRole("button", { name: "Hang up" });
    act(() => room.emit("disconnected"));
    expect(status().textContent).toBe("The voice call ended.");
    expect(screen.getByRole("button", { name: "Voice" })).toBeTruthy();
  });
});
