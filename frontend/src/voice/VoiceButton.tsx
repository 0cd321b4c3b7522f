// The chat's voice button: asks the API for a LiveKit token for this conversation
// (POST /api/v1/voice/sessions), joins the room with the microphone on, and shows the assistant's
// state (listening / thinking / speaking) from the agent's `lk.agent.state` attribute. Mute and
// hang up act on the room. The voice turns are written to the same thread by the worker, so the
// page reloads the thread (onActivity) whenever the assistant changes state; a live caption of
// what is being said comes from LiveKit's transcription events.

import { useCallback, useEffect, useId, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import type { Participant, Room, TrackPublication, TranscriptionSegment } from "livekit-client";

import { api, unwrap } from "../api/client";
import { ApiError } from "../api/errors";

/** The part of LiveKit's Room the button uses: tests give a fake with the same interface. */
export type VoiceRoom = Pick<Room, "on" | "connect" | "disconnect" | "startAudio"> & {
  localParticipant: Pick<Room["localParticipant"], "setMicrophoneEnabled">;
};

export interface VoiceGrant {
  url: string;
  token: string;
}

export type VoiceStatus =
  | "idle"
  | "starting"
  | "connecting"
  | "waiting"
  | "listening"
  | "thinking"
  | "speaking"
  | "unavailable"
  | "error";

export type VoiceProblem = "unreachable" | "microphone" | "request" | "ended";

const IN_CALL = new Set<VoiceStatus>(["connecting", "waiting", "listening", "thinking", "speaking"]);
const AGENT_STATES: Record<string, VoiceStatus> = {
  initializing: "waiting",
  listening: "listening",
  thinking: "thinking",
  speaking: "speaking",
};

async function defaultRoom(): Promise<VoiceRoom> {
  // Loaded on first use: the LiveKit client stays out of the main bundle.
  const { Room } = await import("livekit-client");
  return new Room({ adaptiveStream: false, dynacast: false });
}

async function defaultSession(threadId: string): Promise<VoiceGrant> {
  return unwrap(api.POST("/api/v1/voice/sessions", { body: { thread_id: threadId } }));
}

export interface VoiceButtonProps {
  threadId: string;
  /** Something was said: reload the thread so the voice turns show in the chat. */
  onActivity: () => void;
  createRoom?: () => Promise<VoiceRoom>;
  requestSession?: (threadId: string) => Promise<VoiceGrant>;
}

interface Caption {
  speaker: "you" | "assistant";
  text: string;
}

export function VoiceButton({
  threadId,
  onActivity,
  createRoom = defaultRoom,
  requestSession = defaultSession,
}: VoiceButtonProps) {
  const { t } = useTranslation();
  const statusId = useId();
  const [status, setStatus] = useState<VoiceStatus>("idle");
  const [problem, setProblem] = useState<VoiceProblem | null>(null);
  const [muted, setMuted] = useState(false);
  const [caption, setCaption] = useState<Caption | null>(null);
  const room = useRef<VoiceRoom | null>(null);
  const audio = useRef<HTMLDivElement>(null);
  const hangingUp = useRef(false);
  const activity = useRef(onActivity);
  activity.current = onActivity;

  const leave = useCallback(async () => {
    const current = room.current;
    room.current = null;
    hangingUp.current = true;
    if (current) await current.disconnect().catch(() => undefined);
    if (audio.current) audio.current.replaceChildren();
  }, []);

  useEffect(() => () => void leave(), [leave]);

  const fail = useCallback(
    async (reason: VoiceProblem) => {
      await leave();
      setProblem(reason);
      setStatus("error");
    },
    [leave],
  );

  const start = useCallback(async () => {
    setProblem(null);
    setCaption(null);
    setMuted(false);
    setStatus("starting");
    let grant: VoiceGrant;
    try {
      grant = await requestSession(threadId);
    } catch (error) {
      if (error instanceof ApiError && error.status === 503) {
        setStatus("unavailable");
        return;
      }
      setProblem("request");
      setStatus("error");
      return;
    }
    setStatus("connecting");
    const joined = await createRoom();
    room.current = joined;
    hangingUp.current = false;
    const agentState = (participant: Participant) => {
      const state = participant.attributes["lk.agent.state"];
      const next = state ? AGENT_STATES[state] : undefined;
      if (!next || room.current !== joined) return;
      setStatus((before) => {
        if (before !== next && (next === "listening" || next === "speaking")) activity.current();
        return next;
      });
    };
    joined.on("participantConnected", agentState);
    joined.on("participantAttributesChanged", (_changed: Record<string, string>, participant: Participant) =>
      agentState(participant),
    );
    joined.on(
      "transcriptionReceived",
      (segments: TranscriptionSegment[], participant?: Participant) => {
        const text = segments.map((segment) => segment.text).join(" ").trim();
        if (!text) return;
        const speaker = participant && participant.identity.startsWith("user:") ? "you" : "assistant";
        setCaption({ speaker, text });
        if (segments.some((segment) => segment.final)) activity.current();
      },
    );
    joined.on("trackSubscribed", (track: { kind: string; attach: () => HTMLMediaElement }, _pub: TrackPublication) => {
      if (track.kind === "audio") audio.current?.append(track.attach());
    });
    // LiveKit also emits "disconnected" when connecting fails: that is the connect's error.
    let established = false;
    joined.on("disconnected", () => {
      if (room.current !== joined || !established) return;
      room.current = null;
      if (hangingUp.current) return;
      setProblem("ended");
      setStatus("error");
      activity.current();
    });
    try {
      await joined.connect(grant.url, grant.token);
    } catch {
      if (room.current === joined) await fail("unreachable");
      return;
    }
    if (room.current !== joined) return;
    established = true;
    setStatus((before) => (before === "connecting" ? "waiting" : before));
    try {
      await joined.localParticipant.setMicrophoneEnabled(true);
    } catch {
      if (room.current === joined) await fail("microphone");
      return;
    }
    await joined.startAudio().catch(() => undefined);
  }, [createRoom, requestSession, threadId, fail]);

  const hangUp = useCallback(async () => {
    await leave();
    setStatus("idle");
    setCaption(null);
    activity.current();
  }, [leave]);

  const toggleMute = useCallback(async () => {
    const current = room.current;
    if (!current) return;
    const next = !muted;
    await current.localParticipant.setMicrophoneEnabled(!next);
    setMuted(next);
  }, [muted]);

  const inCall = IN_CALL.has(status);
  const statusText =
    status === "unavailable"
      ? t("voice.notConfigured")
      : status === "error" && problem
        ? t(`voice.problem.${problem}`)
        : status === "idle" || status === "error"
          ? ""
          : t(`voice.state.${status}`);

  return (
    <div className="voice" role="group" aria-label={t("voice.button")}>
      {inCall ? (
        <>
          <button type="button" className="button button--secondary" aria-pressed={muted} onClick={() => void toggleMute()}>
            {muted ? t("voice.unmute") : t("voice.mute")}
          </button>
          <button type="button" className="button button--danger" onClick={() => void hangUp()}>
            {t("voice.hangUp")}
          </button>
        </>
      ) : (
        <button
          type="button"
          className="button button--secondary"
          aria-describedby={statusId}
          disabled={status === "unavailable" || status === "starting"}
          onClick={() => void start()}
        >
          {t("voice.button")}
        </button>
      )}
      <p id={statusId} className={`voice-note voice-note--${status}`} role="status" data-state={status}>
        {statusText}
      </p>
      {inCall && caption ? (
        <p className="voice-caption">
          {caption.speaker === "you" ? t("assistant.you") : t("assistant.assistantName")}
          {": "}
          {caption.text}
        </p>
      ) : null}
      <div ref={audio} hidden />
    </div>
  );
}
