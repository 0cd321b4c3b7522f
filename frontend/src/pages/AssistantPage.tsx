// The assistant's page: the person's latest conversation (or a new one), its history, and each
// turn streamed from POST .../runs (or .../approvals/{id}) through streamEvents() into chatReducer,
// rendered by <Chat>. After a dropped stream the turn goes on on the server; the page reloads the
// thread's history (the API's design: no Last-Event-ID resumption).

import { useQuery } from "@tanstack/react-query";
import { useCallback, useEffect, useReducer, useRef } from "react";
import { useTranslation } from "react-i18next";

import { api, unwrap, type Schemas } from "../api/client";
import { ApiError, NETWORK_ERROR } from "../api/errors";
import { endSession, getSession } from "../auth/session";
import { Chat } from "../chat/Chat";
import { stateFromHistory, turnStillRunning } from "../chat/history";
import { chatReducer } from "../chat/reducer";
import { eventStreamRequest, streamEvents } from "../chat/sse";
import { QueryState, useErrorText, usePageTitle } from "../components/ui";

type ThreadDetail = Schemas["ThreadDetail"];

async function readThread(threadId: string): Promise<ThreadDetail> {
  return unwrap(
    api.GET("/api/v1/chat/threads/{thread_id}", { params: { path: { thread_id: threadId } } }),
  );
}

/** The latest conversation, or a new one when there is none yet. */
export async function openThread(): Promise<ThreadDetail> {
  const threads = await unwrap(api.GET("/api/v1/chat/threads"));
  const latest = threads[0];
  if (latest) return readThread(latest.id);
  const created = await unwrap(
    api.POST("/api/v1/chat/threads", { body: { channel: "web" } }),
  );
  return readThread(created.id);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function ChatThread({ thread }: { thread: ThreadDetail }) {
  const errorText = useErrorText();
  const [state, dispatch] = useReducer(chatReducer, thread, (detail) => stateFromHistory(detail));
  const stateRef = useRef(state);
  stateRef.current = state;
  const aborter = useRef<AbortController | null>(null);

  useEffect(() => () => aborter.current?.abort(), []);

  /** After a drop: read the history until the turn has been written back (bounded). */
  const reload = useCallback(
    async (signal: AbortSignal) => {
      dispatch({ type: "local.connection", state: "reconnecting" });
      let lastError: unknown = null;
      for (let attempt = 1; attempt <= 10; attempt += 1) {
        await sleep(Math.min(500 * attempt, 3000));
        if (signal.aborted) return;
        try {
          const detail = await readThread(thread.id);
          if (signal.aborted) return;
          const running = turnStillRunning(detail);
          dispatch({ type: "local.loaded", state: stateFromHistory(detail, stateRef.current) });
          if (!running) return;
          dispatch({ type: "local.connection", state: "reconnecting" });
        } catch (error) {
          lastError = error;
        }
      }
      dispatch({
        type: "local.failed",
        error: lastError instanceof ApiError ? lastError.code : NETWORK_ERROR,
        detail: errorText(lastError ?? new ApiError({ status: 0, code: NETWORK_ERROR, detail: "" })),
      });
    },
    [thread.id, errorText],
  );

  const run = useCallback(
    async (path: string, body: unknown) => {
      aborter.current?.abort();
      const controller = new AbortController();
      aborter.current = controller;
      try {
        await streamEvents({
          // One attempt only: re-sending the POST would start the turn again.
          maxRetries: 0,
          signal: controller.signal,
          open: () =>
            eventStreamRequest(`${window.location.origin}${path}`, {
              body,
              token: getSession()?.accessToken ?? null,
              signal: controller.signal,
            }),
          onEvent: (event) => dispatch(event),
          onConnection: (connection) => dispatch({ type: "local.connection", state: connection }),
        });
      } catch (error) {
        if (controller.signal.aborted) return;
        if (error instanceof ApiError && error.status === 401) {
          endSession();
          return;
        }
        if (error instanceof ApiError && error.status !== 0) {
          dispatch({ type: "local.failed", error: error.code, detail: errorText(error) });
          return;
        }
        await reload(controller.signal);
      }
    },
    [reload, errorText],
  );

  const onSend = useCallback(
    (text: string) => {
      if (text === "") return; // attachments alone have nowhere to go yet
      dispatch({ type: "local.user_message", id: `local-${Date.now()}`, text });
      void run(`/api/v1/chat/threads/${encodeURIComponent(thread.id)}/runs`, { message: text });
    },
    [run, thread.id],
  );

  const onAnswer = useCallback(
    (approvalId: string, approved: boolean) => {
      dispatch({ type: "local.answering", approvalId, approved });
      void run(
        `/api/v1/chat/threads/${encodeURIComponent(thread.id)}/approvals/${encodeURIComponent(approvalId)}`,
        { approved, channel: "button" },
      );
    },
    [run, thread.id],
  );

  return <Chat state={state} onSend={onSend} onAnswer={onAnswer} />;
}

export function AssistantPage() {
  const { t } = useTranslation();
  usePageTitle(t("assistant.title"));
  const thread = useQuery({
    queryKey: ["chat", "thread"],
    queryFn: openThread,
    staleTime: Infinity,
    gcTime: 0,
    refetchOnWindowFocus: false,
    retry: false,
  });
  return (
    <div className="stack">
      <h1>{t("assistant.title")}</h1>
      <QueryState query={thread}>{(detail) => <ChatThread key={detail.id} thread={detail} />}</QueryState>
    </div>
  );
}
