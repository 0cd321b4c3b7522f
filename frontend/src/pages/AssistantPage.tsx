// The assistant's page: the person's latest conversation (or a new one), its history, and each
// turn streamed from POST .../runs (or .../approvals/{id}) through streamEvents() into chatReducer,
// rendered by <Chat>. After a dropped stream the turn goes on on the server; the page reloads the
// thread's history (the API's design: no Last-Event-ID resumption).

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router";

import { api, unwrap, type Schemas } from "../api/client";
import { ApiError, NETWORK_ERROR } from "../api/errors";
import { useMe } from "../auth/AuthProvider";
import { endSession, getSession } from "../auth/session";
import { Chat, type Upload } from "../chat/Chat";
import { stateFromHistory, turnStillRunning } from "../chat/history";
import { chatReducer } from "../chat/reducer";
import { eventStreamRequest, streamEvents } from "../chat/sse";
import { ErrorMessage, QueryState, useErrorText, usePageTitle } from "../components/ui";
import { appLanguage } from "../i18n";
import { formatDateTime, intlLocale } from "../lib/format";
import { uploadFile } from "../lib/upload";
import { VoiceButton } from "../voice/VoiceButton";

type ThreadDetail = Schemas["ThreadDetail"];
type ThreadRead = Schemas["ThreadRead"];

const THREADS_KEY = ["chat", "threads"] as const;
// The documents API exists: the composer attaches files (uploaded first, then referenced by id).
const ATTACHMENTS = true;
const OPEN_STATUSES = new Set(["draft", "submitted", "under_review", "referred", "approved"]);

/** A borrower's one open application, where attached files go straight away; else none (the
 * upload waits unattached and the assistant attaches it). */
async function attachTarget(): Promise<string | undefined> {
  const list = await unwrap(api.GET("/api/v1/applications", { params: { query: { limit: 20 } } }));
  const open = list.items.filter((item) => OPEN_STATUSES.has(item.status));
  return open.length === 1 ? open[0]?.id : undefined;
}

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
  const queryClient = useQueryClient();
  const me = useMe();
  const [state, dispatch] = useReducer(chatReducer, thread, (detail) => stateFromHistory(detail));
  const stateRef = useRef(state);
  stateRef.current = state;
  const aborter = useRef<AbortController | null>(null);
  const [ratings, setRatings] = useState<Record<string, number>>(() => ({ ...thread.ratings }));
  const [feedbackError, setFeedbackError] = useState<unknown>(null);
  const [uploads, setUploads] = useState<Upload[]>([]);
  const { t, i18n } = useTranslation();

  useEffect(() => () => aborter.current?.abort(), []);
  // A finished turn changes the conversation list's order (and the thread's last message).
  useEffect(() => {
    if (state.status !== "running") void queryClient.invalidateQueries({ queryKey: THREADS_KEY });
  }, [state.status, queryClient]);

  const onRate = useCallback(
    (runId: string, rating: 1 | -1) => {
      const before = ratings[runId];
      setRatings((current) => ({ ...current, [runId]: rating }));
      setFeedbackError(null);
      unwrap(
        api.POST("/api/v1/chat/threads/{thread_id}/runs/{run_id}/feedback", {
          params: { path: { thread_id: thread.id, run_id: runId } },
          body: { rating },
        }),
      ).catch((error: unknown) => {
        setRatings((current) => {
          const next = { ...current };
          if (before === undefined) delete next[runId];
          else next[runId] = before;
          return next;
        });
        setFeedbackError(error);
      });
    },
    [ratings, thread.id],
  );

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

  const send = useCallback(
    async (text: string, files: File[]) => {
      let documentIds: string[] = [];
      if (files.length > 0) {
        setUploads(files.map((file) => ({ name: file.name, percent: 0 })));
        try {
          const applicationId = me.data?.role === "borrower" ? await attachTarget() : undefined;
          const uploaded = await Promise.all(
            files.map((file) =>
              uploadFile<{ id: string }>({
                url: `${window.location.origin}/api/v1/documents`,
                file,
                fields: { application_id: applicationId },
                onProgress: (percent) =>
                  setUploads((current) =>
                    current.map((upload) => (upload.name === file.name ? { ...upload, percent } : upload)),
                  ),
              }),
            ),
          );
          documentIds = uploaded.map((document) => document.id);
        } catch (error) {
          setUploads([]);
          dispatch({
            type: "local.failed",
            error: error instanceof ApiError ? error.code : "UploadFailed",
            detail: errorText(error),
          });
          return;
        }
        setUploads([]);
      }
      const names = files.map((file) => file.name);
      const message = text || t("documents.attachNote", { names: names.join(", ") });
      dispatch({ type: "local.user_message", id: `local-${Date.now()}`, text: message, attachments: names });
      // The app's language goes with every message: guided mode answers in it (a "1" or a
      // "yes" says nothing about a language), and follows a switch made here.
      const body: Schemas["RunCreate"] = {
        message,
        language: appLanguage(i18n.resolvedLanguage),
        ...(documentIds.length > 0 ? { document_ids: documentIds } : {}),
      };
      await run(`/api/v1/chat/threads/${encodeURIComponent(thread.id)}/runs`, body);
    },
    [run, thread.id, me.data?.role, errorText, t, i18n],
  );
  const onSend = useCallback(
    (text: string, files: File[]) => {
      if (text === "" && files.length === 0) return;
      void send(text, files);
    },
    [send],
  );

  /** A voice turn was heard or answered (the worker writes it to this thread): show it. A text
   * turn streaming here is left alone; its own stream brings it. */
  const refresh = useCallback(() => {
    if (stateRef.current.status === "running" && aborter.current && !aborter.current.signal.aborted) return;
    readThread(thread.id)
      .then((detail) => dispatch({ type: "local.loaded", state: stateFromHistory(detail, stateRef.current) }))
      .catch(() => undefined);
  }, [thread.id]);

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

  return (
    <>
      <Chat
        state={state}
        onSend={onSend}
        onAnswer={onAnswer}
        ratings={ratings}
        onRate={onRate}
        allowAttachments={ATTACHMENTS}
        uploads={uploads}
        voice={
          me.data?.voice_enabled ? <VoiceButton threadId={thread.id} onActivity={refresh} /> : null
        }
      />
      {feedbackError ? <ErrorMessage error={feedbackError} /> : null}
    </>
  );
}

function Conversations({ current }: { current: string | null }) {
  const { t, i18n } = useTranslation();
  const locale = intlLocale(i18n.language);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const threads = useQuery({
    queryKey: THREADS_KEY,
    queryFn: () => unwrap(api.GET("/api/v1/chat/threads")),
  });
  const create = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/chat/threads", { body: { channel: "web" } })),
    onSuccess: (created) => {
      void queryClient.invalidateQueries({ queryKey: THREADS_KEY });
      void navigate(`/assistant/${created.id}`);
    },
  });
  const title = (thread: ThreadRead): string =>
    thread.title ??
    t("conversations.untitled", {
      date: formatDateTime(thread.last_message_at ?? thread.created_at, locale),
    });
  return (
    <details className="conversations">
      <summary>
        {t("conversations.title")}
        {threads.data ? ` (${threads.data.length})` : ""}
      </summary>
      <div className="conversations__body">
        <button
          type="button"
          className="button button--secondary button--small"
          disabled={create.isPending}
          onClick={() => create.mutate()}
        >
          {t("conversations.new")}
        </button>
        {create.isError ? <ErrorMessage error={create.error} /> : null}
        <QueryState query={threads}>
          {(list) =>
            list.length === 0 ? (
              <p className="muted">{t("conversations.empty")}</p>
            ) : (
              <ul className="conversations__list">
                {list.map((thread) => (
                  <li key={thread.id}>
                    <Link
                      to={`/assistant/${thread.id}`}
                      aria-current={thread.id === current ? "page" : undefined}
                    >
                      {title(thread)}
                    </Link>
                    {thread.graph === "broker" ? (
                      <span className="muted"> · {t("conversations.broker")}</span>
                    ) : null}
                  </li>
                ))}
              </ul>
            )
          }
        </QueryState>
      </div>
    </details>
  );
}

export function AssistantPage() {
  const { t } = useTranslation();
  const { threadId } = useParams();
  usePageTitle(t("assistant.title"));
  const thread = useQuery({
    queryKey: ["chat", "thread", threadId ?? "latest"],
    queryFn: () => (threadId ? readThread(threadId) : openThread()),
    staleTime: Infinity,
    gcTime: 0,
    refetchOnWindowFocus: false,
    retry: false,
  });
  return (
    <div className="stack">
      <h1>{t("assistant.title")}</h1>
      <Conversations current={thread.data?.id ?? null} />
      <QueryState query={thread}>{(detail) => <ChatThread key={detail.id} thread={detail} />}</QueryState>
    </div>
  );
}
