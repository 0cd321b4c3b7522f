// The chat: transcript (streaming tokens, a "working on it" line per tool call, approval cards),
// the guided-mode banner and the composer with file attach. It renders a ChatState and reports what
// the person does; the page that owns it talks to the API.

import {
  useEffect,
  useId,
  useRef,
  useState,
  type FormEvent,
  type KeyboardEvent,
  type ReactNode,
  type Ref,
} from "react";
import { useTranslation } from "react-i18next";

import type { ApprovalItem, ChatItem, ChatState, ToolItem } from "./reducer";

export interface Upload {
  name: string;
  percent: number;
}

export interface ChatProps {
  state: ChatState;
  onSend: (text: string, files: File[]) => void;
  onAnswer: (approvalId: string, approved: boolean) => void;
  uploads?: readonly Upload[];
  /** Show "Attach a file" only where uploads have somewhere to go (the documents API). */
  allowAttachments?: boolean;
  /** The person's thumbs on turns, by run id; with onRate, each turn's last reply gets thumbs. */
  ratings?: Readonly<Record<string, number>>;
  onRate?: (runId: string, rating: 1 | -1) => void;
  /** The voice controls (VoiceButton), shown beside Send when voice is configured. */
  voice?: ReactNode;
}

/** The ids of the replies that end each finished turn: where thumbs go (one rating per turn). */
export function ratableReplies(state: ChatState): Set<string> {
  const lastByRun = new Map<string, string>();
  for (const item of state.items) {
    if (item.kind === "assistant" && item.runId && item.completed && !item.streaming) {
      lastByRun.set(item.runId, item.id);
    }
  }
  if (state.status === "running" && state.runId) lastByRun.delete(state.runId);
  return new Set(lastByRun.values());
}

// A thumb drawn inline (no emoji font needed): Material Icons' "thumb_up" path (Apache-2.0);
// turned upside down for "not helpful".
function ThumbIcon({ down = false }: { down?: boolean }) {
  return (
    <svg
      viewBox="0 0 24 24"
      width="16"
      height="16"
      aria-hidden="true"
      focusable="false"
      style={down ? { transform: "rotate(180deg)" } : undefined}
    >
      <path
        fill="currentColor"
        d="M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z"
      />
    </svg>
  );
}

function Thumbs({
  runId,
  rating,
  onRate,
}: {
  runId: string;
  rating: number | undefined;
  onRate: NonNullable<ChatProps["onRate"]>;
}) {
  const { t } = useTranslation();
  return (
    <div className="thumbs" role="group" aria-label={t("feedback.up") + " / " + t("feedback.down")}>
      <button
        type="button"
        className="thumbs__button"
        aria-pressed={rating === 1}
        aria-label={t("feedback.up")}
        title={t("feedback.up")}
        onClick={() => onRate(runId, 1)}
      >
        <ThumbIcon />
      </button>
      <button
        type="button"
        className="thumbs__button"
        aria-pressed={rating === -1}
        aria-label={t("feedback.down")}
        title={t("feedback.down")}
        onClick={() => onRate(runId, -1)}
      >
        <ThumbIcon down />
      </button>
    </div>
  );
}

/** "submit_application" → "submit application": tool names as a person reads them. */
export function toolLabel(tool: string): string {
  return tool.replace(/[_.]+/g, " ").trim();
}

function ToolLine({ item }: { item: ToolItem }) {
  const { t } = useTranslation();
  const tool = toolLabel(item.tool);
  const text =
    item.status === "running"
      ? t("assistant.working", { tool })
      : item.status === "done"
        ? t("assistant.toolDone", { tool })
        : t("assistant.toolFailed", { tool });
  return (
    <p className={`chat-tool chat-tool--${item.status}`}>
      <span className="chat-tool__icon" aria-hidden="true" />
      {text}
      {item.error ? <span className="chat-tool__error"> — {item.error}</span> : null}
    </p>
  );
}

function displayValue(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
    return String(value);
  }
  return JSON.stringify(value);
}

/** The card asking a person to approve an irreversible action (chat interrupts, "Accept" on an
 * offer): the tool's summary, its arguments, Approve and Reject. */
export function ApprovalCard({
  item,
  onAnswer,
  headingRef,
}: {
  item: ApprovalItem;
  onAnswer: ChatProps["onAnswer"];
  headingRef?: Ref<HTMLHeadingElement>;
}) {
  const { t } = useTranslation();
  const titleId = useId();
  const entries = Object.entries(item.payload);
  return (
    <section className="approval-card" aria-labelledby={titleId}>
      <h3 id={titleId} className="approval-card__title" ref={headingRef} tabIndex={-1}>
        {t("assistant.approvalTitle")}
      </h3>
      <p>{item.summary}</p>
      {entries.length > 0 ? (
        <dl className="approval-card__details">
          {entries.map(([key, value]) => (
            <div key={key}>
              <dt>{key.replace(/_/g, " ")}</dt>
              <dd>{displayValue(value)}</dd>
            </div>
          ))}
        </dl>
      ) : null}
      {item.resolution ? (
        <p className="approval-card__resolution" role="status">
          {item.resolution.approved ? t("assistant.approved") : t("assistant.rejected")}
        </p>
      ) : (
        <div className="button-row">
          <button
            type="button"
            className="button"
            disabled={item.answering !== null}
            onClick={() => onAnswer(item.id, true)}
          >
            {t("assistant.approve")}
          </button>
          <button
            type="button"
            className="button button--secondary"
            disabled={item.answering !== null}
            onClick={() => onAnswer(item.id, false)}
          >
            {t("assistant.reject")}
          </button>
        </div>
      )}
    </section>
  );
}

function Item({ item, onAnswer }: { item: ChatItem; onAnswer: ChatProps["onAnswer"] }) {
  const { t } = useTranslation();
  switch (item.kind) {
    case "user":
      return (
        <div className="bubble bubble--user">
          <span className="visually-hidden">{t("assistant.you")}: </span>
          {item.text}
          {item.attachments.length > 0 ? (
            <ul className="bubble__files">
              {item.attachments.map((name) => (
                <li key={name}>{name}</li>
              ))}
            </ul>
          ) : null}
        </div>
      );
    case "assistant":
      return (
        <div className={`bubble bubble--assistant${item.streaming ? " bubble--streaming" : ""}`}>
          <span className="visually-hidden">{t("assistant.assistantName")}: </span>
          {item.text}
        </div>
      );
    case "tool":
      return <ToolLine item={item} />;
    case "approval":
      return <ApprovalCard item={item} onAnswer={onAnswer} />;
  }
}

export function Chat({
  state,
  onSend,
  onAnswer,
  uploads = [],
  allowAttachments = false,
  ratings = {},
  onRate,
  voice = null,
}: ChatProps) {
  const { t } = useTranslation();
  const [text, setText] = useState("");
  const [files, setFiles] = useState<File[]>([]);
  const fileInput = useRef<HTMLInputElement>(null);
  const end = useRef<HTMLLIElement>(null);
  const composerId = useId();
  const busy = state.status === "running";
  // While an approval waits, typing "yes" or "no" is an answer too: the composer stays open.
  const canSend = !busy && (text.trim() !== "" || files.length > 0);

  useEffect(() => {
    end.current?.scrollIntoView?.({ block: "end" });
  }, [state.items]);
  const ratable = onRate ? ratableReplies(state) : new Set<string>();

  function submit(event?: FormEvent) {
    event?.preventDefault();
    if (!canSend) return;
    onSend(text.trim(), files);
    setText("");
    setFiles([]);
    if (fileInput.current) fileInput.current.value = "";
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      submit();
      event.preventDefault();
    }
  }

  return (
    <div className="chat">
      {state.mode === "guided" ? (
        <p className="banner banner--info" role="status">
          {t("assistant.guidedBanner")}
        </p>
      ) : null}
      {state.connection === "reconnecting" ? (
        <p className="banner banner--warning" role="status">
          {t("assistant.reconnecting")}
        </p>
      ) : null}

      <ol className="chat__transcript" aria-label={t("assistant.transcript")} aria-live="polite" aria-busy={busy}>
        {state.items.map((item) => (
          <li key={`${item.kind}-${item.id}`} className={`chat__item chat__item--${item.kind}`}>
            <Item item={item} onAnswer={onAnswer} />
            {onRate && item.kind === "assistant" && item.runId && ratable.has(item.id) ? (
              <Thumbs runId={item.runId} rating={ratings[item.runId]} onRate={onRate} />
            ) : null}
          </li>
        ))}
        <li ref={end} className="chat__end" aria-hidden="true" />
      </ol>

      {state.status === "awaiting_approval" ? (
        <p className="chat__hint">{t("assistant.awaitingApproval")}</p>
      ) : null}
      {state.error ? (
        <p className="banner banner--error" role="alert">
          {t("assistant.runError", { detail: state.error.detail })}
        </p>
      ) : null}

      {uploads.length > 0 ? (
        <ul className="chat__uploads">
          {uploads.map((upload) => (
            <li key={upload.name}>
              <label>
                {t("assistant.uploading", { name: upload.name, percent: upload.percent })}
                <progress max={100} value={upload.percent} />
              </label>
            </li>
          ))}
        </ul>
      ) : null}

      <form className="composer" onSubmit={submit}>
        <label htmlFor={composerId} className="visually-hidden">
          {t("assistant.composerLabel")}
        </label>
        <textarea
          id={composerId}
          className="composer__input"
          rows={2}
          value={text}
          placeholder={t("assistant.composerPlaceholder")}
          onChange={(event) => setText(event.target.value)}
          onKeyDown={onKeyDown}
        />
        {files.length > 0 ? (
          <ul className="composer__files">
            {files.map((file) => (
              <li key={file.name} className="chip">
                {file.name}
                <button
                  type="button"
                  className="chip__remove"
                  aria-label={t("assistant.removeFile", { name: file.name })}
                  onClick={() => setFiles(files.filter((other) => other !== file))}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        ) : null}
        <div className="composer__actions">
          {allowAttachments ? (
            <>
              <input
                ref={fileInput}
                id={`${composerId}-file`}
                type="file"
                multiple
                className="visually-hidden-focusable-input"
                onChange={(event) => setFiles([...files, ...Array.from(event.target.files ?? [])])}
              />
              <label htmlFor={`${composerId}-file`} className="button button--secondary">
                {t("assistant.attach")}
              </label>
            </>
          ) : null}
          {voice}
          <button type="submit" className="button" disabled={!canSend}>
            {t("assistant.send")}
          </button>
        </div>
      </form>
    </div>
  );
}
