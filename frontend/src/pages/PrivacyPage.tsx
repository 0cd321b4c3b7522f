// "Your data": download a copy of everything held about you (a ZIP of JSON and your original
// files), ask for your data to be erased (an administrator reviews it; what is kept, and why, is
// said before you ask), and the status of your requests.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { api, unwrap, type Schemas } from "../api/client";
import { ApiError, apiErrorFrom } from "../api/errors";
import { ErrorMessage, Field, QueryState, usePageTitle, useProblemText } from "../components/ui";
import { formatDateTime, intlLocale } from "../lib/format";
import * as check from "../lib/validation";

const REQUESTS_QUERY_KEY = ["privacy", "erasure-requests"] as const;
type ErasureStatus = "pending" | "rejected" | "completed";

/** The file name the server gave the download (Content-Disposition), or a plain one. */
export function downloadName(disposition: string | null): string {
  const found = disposition?.match(/filename\*?=(?:UTF-8'')?"?([^";]+)"?/i);
  return found?.[1] ? decodeURIComponent(found[1]) : "omnifin-data.zip";
}

async function downloadMyData(): Promise<string> {
  // The bearer token travels in a header, so the ZIP is fetched here and handed to the browser.
  const answer = await api.GET("/api/v1/privacy/export", { parseAs: "blob" });
  if (!answer.response.ok) throw apiErrorFrom(answer.response, answer.error);
  const name = downloadName(answer.response.headers.get("content-disposition"));
  const url = URL.createObjectURL(answer.data as Blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}

function DataCopy() {
  const { t } = useTranslation();
  const download = useMutation({ mutationFn: downloadMyData });
  return (
    <section className="card" aria-labelledby="copy-title">
      <h2 id="copy-title">{t("privacy.copyTitle")}</h2>
      <p>{t("privacy.copyHelp")}</p>
      <div>
        <button
          type="button"
          className="button"
          disabled={download.isPending}
          onClick={() => download.mutate()}
        >
          {download.isPending ? t("privacy.preparing") : t("privacy.download")}
        </button>
      </div>
      {download.isSuccess ? (
        <p className="banner banner--success" role="status">
          {t("privacy.downloaded", { name: download.data })}
        </p>
      ) : null}
      {download.isError ? <ErrorMessage error={download.error} /> : null}
    </section>
  );
}

function WhatHappens() {
  const { t } = useTranslation();
  return (
    <>
      <h3>{t("privacy.deletedTitle")}</h3>
      <ul>
        <li>{t("privacy.deletedProfile")}</li>
        <li>{t("privacy.deletedDocuments")}</li>
        <li>{t("privacy.deletedConversations")}</li>
        <li>{t("privacy.deletedAccount")}</li>
      </ul>
      <h3>{t("privacy.keptTitle")}</h3>
      <ul>
        <li>{t("privacy.keptDecisions")}</li>
        <li>{t("privacy.keptLedger")}</li>
        <li>{t("privacy.keptAudit")}</li>
      </ul>
      <p>{t("privacy.keptWhy")}</p>
    </>
  );
}

function ErasureForm() {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const problemText = useProblemText();
  const [reason, setReason] = useState("");
  const [understood, setUnderstood] = useState(false);
  const [problems, setProblems] = useState<Partial<Record<"reason" | "understood", string>>>({});
  const ask = useMutation({
    mutationFn: (body: Schemas["ErasureRequestCreate"]) =>
      unwrap(api.POST("/api/v1/privacy/erasure-requests", { body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: REQUESTS_QUERY_KEY }),
    onError: (error) => {
      if (error instanceof ApiError) setProblems(error.fieldErrors());
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    const found: Partial<Record<"reason" | "understood", string>> = {};
    const missing = check.required(reason);
    if (missing) found.reason = problemText(missing);
    else if (reason.trim().length < 3) found.reason = t("privacy.reasonShort");
    if (!understood) found.understood = t("privacy.confirmNeeded");
    setProblems(found);
    if (Object.keys(found).length === 0) ask.mutate({ reason: reason.trim() });
  }

  return (
    <form className="form" onSubmit={submit} noValidate>
      <Field
        label={t("privacy.reason")}
        hint={t("privacy.reasonHint")}
        name="reason"
        maxLength={2000}
        value={reason}
        onChange={(event) => setReason(event.target.value)}
        error={problems.reason}
      />
      <div className="field">
        <label className="checkbox">
          <input
            type="checkbox"
            checked={understood}
            aria-invalid={problems.understood ? true : undefined}
            aria-describedby={problems.understood ? "understood-error" : undefined}
            onChange={(event) => setUnderstood(event.target.checked)}
          />{" "}
          {t("privacy.confirm")}
        </label>
        {problems.understood ? (
          <p id="understood-error" className="field__error">
            {problems.understood}
          </p>
        ) : null}
      </div>
      <div>
        <button type="submit" className="button button--danger" disabled={ask.isPending}>
          {t("privacy.ask")}
        </button>
      </div>
      {ask.isError && !(ask.error instanceof ApiError && ask.error.fieldErrors().reason) ? (
        <ErrorMessage error={ask.error} />
      ) : null}
    </form>
  );
}

function RequestList({ requests }: { requests: Schemas["ErasureRequestRead"][] }) {
  const { t, i18n } = useTranslation();
  const locale = intlLocale(i18n.language);
  if (requests.length === 0) return <p>{t("privacy.noRequests")}</p>;
  return (
    <ul className="stack stack--tight" aria-label={t("privacy.requestsTitle")}>
      {requests.map((request) => (
        <li key={request.id}>
          <strong>{t(`privacy.status.${request.status as ErasureStatus}`)}</strong>{" "}
          <span>{t("privacy.askedOn", { when: formatDateTime(request.created_at, locale) })}</span>
          {request.status === "rejected" && request.review_note ? (
            <p>{t("privacy.rejectedBecause", { note: request.review_note })}</p>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

function Erasure() {
  const { t } = useTranslation();
  const requests = useQuery({
    queryKey: REQUESTS_QUERY_KEY,
    queryFn: () => unwrap(api.GET("/api/v1/privacy/erasure-requests")),
  });
  return (
    <section className="card" aria-labelledby="erasure-title">
      <h2 id="erasure-title">{t("privacy.erasureTitle")}</h2>
      <p>{t("privacy.erasureHelp")}</p>
      <WhatHappens />
      <QueryState query={requests}>
        {(rows) => (
          <>
            {rows.some((row) => row.status === "pending") ? (
              <p className="banner banner--info" role="status">
                {t("privacy.pending")}
              </p>
            ) : (
              <ErasureForm />
            )}
            <h3>{t("privacy.requestsTitle")}</h3>
            <RequestList requests={rows} />
          </>
        )}
      </QueryState>
    </section>
  );
}

export function PrivacyPage() {
  const { t } = useTranslation();
  usePageTitle(t("privacy.title"));
  return (
    <div className="stack">
      <h1>{t("privacy.title")}</h1>
      <DataCopy />
      <Erasure />
    </div>
  );
}
