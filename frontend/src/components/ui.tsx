// Small building blocks every page uses: form fields with their labels and errors, loading and
// error states for requests, copy buttons, page titles.

import {
  useEffect,
  useId,
  useState,
  type InputHTMLAttributes,
  type ReactNode,
  type Ref,
} from "react";
import { useTranslation } from "react-i18next";

import { ApiError, NETWORK_ERROR } from "../api/errors";
import type { Problem } from "../lib/validation";

/** Sets the document title ("Sign in · Omnifin"). */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Omnifin`;
  }, [title]);
}

/** The message to show for a failed request, in the reader's language where we know the case. */
export function useErrorText(): (error: unknown) => string {
  const { t, i18n } = useTranslation();
  return (error: unknown) => {
    if (!(error instanceof ApiError)) return t("errors.generic");
    const key = `errors.${error.code}`;
    let text: string;
    if (error.code === NETWORK_ERROR || i18n.exists(key)) {
      text = t(key as "errors.generic");
    } else {
      // Business rules (InvalidInput, Conflict, ...) come with a sentence from the server.
      text = error.readableDetail();
    }
    if (error.retryAfterSeconds !== null && (error.status === 429)) {
      text += ` ${t("errors.retryAfter", { seconds: error.retryAfterSeconds })}`;
    }
    return text;
  };
}

/** A problem found by client-side validation, or a message from the server, as text. */
export function useProblemText(): (problem: Problem | string | undefined) => string | undefined {
  const { t } = useTranslation();
  return (problem) => {
    if (problem === undefined || typeof problem === "string") return problem;
    // The keys are checked in lib/validation.ts; their values vary by key, which i18next's
    // per-key interpolation types cannot follow through a union.
    const translate = t as unknown as (key: string, values?: Record<string, number>) => string;
    return translate(problem.key, problem.values);
  };
}

interface FieldProps extends InputHTMLAttributes<HTMLInputElement> {
  label: string;
  hint?: string;
  error?: string | undefined;
  ref?: Ref<HTMLInputElement>;
}

/** A labelled input with its hint and error tied to it for assistive technology. */
export function Field({ label, hint, error, id, className, ref, ...input }: FieldProps) {
  const generated = useId();
  const inputId = id ?? generated;
  const hintId = `${inputId}-hint`;
  const errorId = `${inputId}-error`;
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(" ");
  return (
    <div className={`field${error ? " field--invalid" : ""}${className ? ` ${className}` : ""}`}>
      <label htmlFor={inputId} className="field__label">
        {label}
      </label>
      {hint ? (
        <p id={hintId} className="field__hint">
          {hint}
        </p>
      ) : null}
      <input
        ref={ref}
        id={inputId}
        className="field__input"
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy || undefined}
        {...input}
      />
      {error ? (
        <p id={errorId} className="field__error">
          {error}
        </p>
      ) : null}
    </div>
  );
}

export function Loading({ label }: { label?: string }) {
  const { t } = useTranslation();
  return (
    <p className="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      {label ?? t("app.loading")}
    </p>
  );
}

export function ErrorMessage({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  const errorText = useErrorText();
  return (
    <div className="banner banner--error" role="alert">
      <p>{errorText(error)}</p>
      {error instanceof ApiError && error.requestId ? (
        <p className="banner__meta">{t("app.requestId", { id: error.requestId })}</p>
      ) : null}
      {onRetry ? (
        <button type="button" className="button button--secondary button--small" onClick={onRetry}>
          {t("app.retry")}
        </button>
      ) : null}
    </div>
  );
}

interface QueryLike<T> {
  data: T | undefined;
  error: unknown;
  isPending: boolean;
  isError: boolean;
  refetch: () => unknown;
}

/** Loading, error (with retry) or the data: every request's three states in one place. */
export function QueryState<T>({
  query,
  children,
}: {
  query: QueryLike<T>;
  children: (data: T) => ReactNode;
}) {
  if (query.isError) return <ErrorMessage error={query.error} onRetry={() => void query.refetch()} />;
  if (query.isPending || query.data === undefined) return <Loading />;
  return <>{children(query.data)}</>;
}

export function CopyButton({ text, label }: { text: string; label?: string }) {
  const { t } = useTranslation();
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return undefined;
    const timer = setTimeout(() => setCopied(false), 2000);
    return () => clearTimeout(timer);
  }, [copied]);
  return (
    <button
      type="button"
      className="button button--secondary button--small"
      onClick={() => {
        void navigator.clipboard
          ?.writeText(text)
          .then(() => setCopied(true))
          .catch(() => setCopied(false));
      }}
    >
      <span aria-live="polite">{copied ? t("app.copied") : (label ?? t("app.copy"))}</span>
    </button>
  );
}
