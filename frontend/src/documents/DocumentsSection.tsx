// An application's documents. The borrower sees which required documents are still missing and
// uploads them (with progress); a broker (or an administrator) reviews each document: its file
// beside the fields read from it, any warning signals, and verify or reject with a reason.

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { ErrorMessage, Loading, QueryState } from "../components/ui";
import { formatDateTime, intlLocale } from "../lib/format";
import { PdfPreview } from "./PdfPreview";
import {
  documentKeys,
  fetchDocumentFile,
  rejectDocument,
  uploadDocument,
  useApplicationDocuments,
  useDocument,
  verifyDocument,
  type ApplicationDocuments,
  type DocumentRead,
  type DocumentSummary,
  type DocumentType,
} from "./queries";

type Requirement = ApplicationDocuments["completeness"]["requirements"][number];

export function StatusBadge({ status }: { status: DocumentSummary["status"] }) {
  const { t } = useTranslation();
  return <span className={`doc-status doc-status--${status}`}>{t(`documents.statuses.${status}`)}</span>;
}

function RequirementUpload({
  applicationId,
  requirement,
  onUploaded,
}: {
  applicationId: string;
  requirement: Requirement;
  onUploaded: (notice: string) => void;
}) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const inputId = useId();
  const [percent, setPercent] = useState<number | null>(null);
  const upload = useMutation({
    mutationFn: (file: File) =>
      uploadDocument(file, {
        applicationId,
        documentType: requirement.any_of[0] as DocumentType | undefined,
        onProgress: setPercent,
      }),
    onSuccess: (document) =>
      onUploaded(
        document.duplicate
          ? t("documents.duplicate", { name: document.filename })
          : t("documents.uploaded", { name: document.filename }),
      ),
    onSettled: () => {
      setPercent(null);
      void queryClient.invalidateQueries({ queryKey: documentKeys.application(applicationId) });
    },
  });
  const [dragging, setDragging] = useState(false);
  return (
    // A file dropped on the control takes the same upload path (and progress) as one picked.
    <div
      className={dragging ? "requirement__upload requirement__upload--dragging" : "requirement__upload"}
      onDragOver={(event) => {
        if (upload.isPending || !event.dataTransfer.types.includes("Files")) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = "copy";
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(event) => {
        event.preventDefault();
        setDragging(false);
        const file = event.dataTransfer.files[0];
        if (file && !upload.isPending) upload.mutate(file);
      }}
    >
      <input
        id={inputId}
        type="file"
        accept="application/pdf,image/png,image/jpeg"
        className="visually-hidden-focusable-input"
        disabled={upload.isPending}
        onChange={(event) => {
          const file = event.target.files?.[0];
          if (file) upload.mutate(file);
          event.target.value = "";
        }}
      />
      <label htmlFor={inputId} className="button button--small">
        {t("documents.upload", { label: requirement.label })}
      </label>
      <span className="requirement__drop-hint">{t("documents.dropHint")}</span>
      {percent !== null ? (
        <label className="upload-progress">
          {t("documents.uploading", { percent })}
          <progress max={100} value={percent} />
        </label>
      ) : null}
      {upload.isError ? <ErrorMessage error={upload.error} /> : null}
    </div>
  );
}

function Requirements({
  applicationId,
  data,
  canUpload,
  onUploaded,
}: {
  applicationId: string;
  data: ApplicationDocuments;
  canUpload: boolean;
  onUploaded: (notice: string) => void;
}) {
  const { t } = useTranslation();
  const { completeness } = data;
  return (
    <ul className="requirements">
      {completeness.requirements.map((requirement) => {
        const state = requirement.verified.length > 0
          ? "verified"
          : requirement.received.length > 0
            ? "received"
            : "missing";
        return (
          <li key={requirement.name} className={`requirement requirement--${state}`}>
            <p className="requirement__label">
              {requirement.label}{" "}
              <span className={`doc-status doc-status--${state}`}>{t(`documents.requirement.${state}`)}</span>
            </p>
            {canUpload && state === "missing" ? (
              <RequirementUpload
                applicationId={applicationId}
                requirement={requirement}
                onUploaded={onUploaded}
              />
            ) : null}
          </li>
        );
      })}
    </ul>
  );
}

/** The file itself: an image inline, a PDF's first page drawn, and a download link. */
function Preview({ document }: { document: DocumentSummary }) {
  const { t } = useTranslation();
  const [url, setUrl] = useState<string | null>(null);
  const [blob, setBlob] = useState<Blob | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const controller = new AbortController();
    let created: string | null = null;
    setUrl(null);
    setError(null);
    fetchDocumentFile(document.id, controller.signal)
      .then((file) => {
        created = URL.createObjectURL(file);
        setBlob(file);
        setUrl(created);
      })
      .catch((failure: unknown) => {
        if (!controller.signal.aborted) setError(failure);
      });
    return () => {
      controller.abort();
      if (created) URL.revokeObjectURL(created);
    };
  }, [document.id]);
  if (error) return <ErrorMessage error={error} />;
  if (url === null || blob === null) return <Loading label={t("documents.loadingFile")} />;
  const title = t("documents.previewOf", { name: document.filename });
  return (
    <div className="preview">
      {document.media_type.startsWith("image/") ? (
        <img src={url} alt={title} className="preview__image" />
      ) : document.media_type === "application/pdf" ? (
        <PdfPreview blob={blob} title={title} />
      ) : null}
      <p>
        <a href={url} download={document.filename}>
          {t("documents.download", { name: document.filename })}
        </a>
      </p>
    </div>
  );
}

function displayValue(value: unknown): string {
  if (value === null || value === undefined) return "—";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function Fields({ document }: { document: DocumentRead }) {
  const { t } = useTranslation();
  const fields = document.fields ?? [];
  if (fields.length === 0) return <p className="muted">{t("documents.noFields")}</p>;
  return (
    <table className="table fields-table">
      <caption className="visually-hidden">{t("documents.fields")}</caption>
      <thead>
        <tr>
          <th scope="col">{t("documents.field")}</th>
          <th scope="col">{t("documents.value")}</th>
          <th scope="col">{t("documents.confidence")}</th>
        </tr>
      </thead>
      <tbody>
        {fields.map((field) => (
          <tr key={field.name}>
            <td data-label={t("documents.field")}>{field.name.replace(/_/g, " ")}</td>
            <td data-label={t("documents.value")}>{displayValue(field.value)}</td>
            <td data-label={t("documents.confidence")}>{Math.round(field.confidence * 100)}%</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Review({ document, applicationId }: { document: DocumentRead; applicationId: string }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const reasonId = useId();
  const [reason, setReason] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: documentKeys.one(document.id) });
    void queryClient.invalidateQueries({ queryKey: documentKeys.application(applicationId) });
  };
  const verify = useMutation({ mutationFn: () => verifyDocument(document.id), onSuccess: refresh });
  const reject = useMutation({
    mutationFn: () => rejectDocument(document.id, reason.trim()),
    onSuccess: () => {
      setReason("");
      refresh();
    },
  });
  if (document.status === "verified" || document.status === "rejected") {
    return (
      <p className="form__status" role="status">
        {document.status === "verified"
          ? t("documents.verifiedNote")
          : t("documents.rejectedNote", { reason: document.status_reason ?? "" })}
      </p>
    );
  }
  function submitReject(event: FormEvent) {
    event.preventDefault();
    if (reason.trim().length < 3) {
      setProblem(t("documents.reasonTooShort"));
      return;
    }
    setProblem(null);
    reject.mutate();
  }
  const busy = verify.isPending || reject.isPending;
  return (
    <div className="review">
      <button type="button" className="button" disabled={busy} onClick={() => verify.mutate()}>
        {t("documents.verify")}
      </button>
      <form className="form review__reject" onSubmit={submitReject} noValidate>
        <div className={`field${problem ? " field--invalid" : ""}`}>
          <label htmlFor={reasonId} className="field__label">
            {t("documents.reason")}
          </label>
          <textarea
            id={reasonId}
            className="field__input"
            rows={2}
            value={reason}
            aria-invalid={problem ? true : undefined}
            aria-describedby={problem ? `${reasonId}-error` : undefined}
            onChange={(event) => setReason(event.target.value)}
          />
          {problem ? (
            <p id={`${reasonId}-error`} className="field__error">
              {problem}
            </p>
          ) : null}
        </div>
        <button type="submit" className="button button--danger" disabled={busy}>
          {t("documents.reject")}
        </button>
      </form>
      {verify.isError ? <ErrorMessage error={verify.error} /> : null}
      {reject.isError ? <ErrorMessage error={reject.error} /> : null}
    </div>
  );
}

function DocumentDetail({ documentId, applicationId }: { documentId: string; applicationId: string }) {
  const { t } = useTranslation();
  const document = useDocument(documentId);
  return (
    <QueryState query={document}>
      {(data) => (
        <section className="document-detail" aria-label={t("documents.reviewOf", { name: data.filename })}>
          <h3>{data.filename}</h3>
          <p>
            <StatusBadge status={data.status} /> · {t(`documents.types.${data.document_type}`)}
          </p>
          {data.review_reasons.length > 0 ? (
            <ul className="plain-list">
              {data.review_reasons.map((why) => (
                <li key={why}>{why}</li>
              ))}
            </ul>
          ) : null}
          <div className="document-detail__grid">
            <Preview document={data} />
            <div>
              <h4>{t("documents.fields")}</h4>
              <Fields document={data} />
              {(data.signals ?? []).length > 0 ? (
                <>
                  <h4>{t("documents.signals")}</h4>
                  <ul className="signals">
                    {(data.signals ?? []).map((signal, index) => (
                      <li key={`${signal.code}-${index}`} className={`signal signal--${signal.severity}`}>
                        <strong>{t(`documents.severity.${signal.severity}`)}</strong>: {signal.description}
                      </li>
                    ))}
                  </ul>
                </>
              ) : null}
            </div>
          </div>
          <Review document={data} applicationId={applicationId} />
        </section>
      )}
    </QueryState>
  );
}

export function DocumentsSection({
  applicationId,
  canUpload,
  canReview,
}: {
  applicationId: string;
  canUpload: boolean;
  canReview: boolean;
}) {
  const { t, i18n } = useTranslation();
  const locale = intlLocale(i18n.language);
  const documents = useApplicationDocuments(applicationId);
  const [open, setOpen] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  return (
    <section className="card" aria-labelledby="documents-title">
      <h2 id="documents-title">{t("documents.title")}</h2>
      <QueryState query={documents}>
        {(data) => (
          <>
            <Requirements
              applicationId={applicationId}
              data={data}
              canUpload={canUpload}
              onUploaded={setNotice}
            />
            {notice ? (
              <p className="form__status" role="status">
                {notice}
              </p>
            ) : null}
            {data.documents.length > 0 ? (
              <table className="table documents-table">
                <caption className="visually-hidden">{t("documents.received")}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t("documents.file")}</th>
                    <th scope="col">{t("documents.type")}</th>
                    <th scope="col">{t("documents.status")}</th>
                    <th scope="col">{t("documents.uploadedAt")}</th>
                    {canReview ? (
                      <th scope="col">
                        <span className="visually-hidden">{t("documents.review")}</span>
                      </th>
                    ) : null}
                  </tr>
                </thead>
                <tbody>
                  {data.documents.map((document) => (
                    <tr key={document.id}>
                      <td data-label={t("documents.file")}>{document.filename}</td>
                      <td data-label={t("documents.type")}>{t(`documents.types.${document.document_type}`)}</td>
                      <td data-label={t("documents.status")}>
                        <StatusBadge status={document.status} />
                      </td>
                      <td data-label={t("documents.uploadedAt")}>{formatDateTime(document.created_at, locale)}</td>
                      {canReview ? (
                        <td data-label="">
                          <button
                            type="button"
                            className="button button--secondary button--small"
                            aria-expanded={open === document.id}
                            aria-label={t("documents.reviewOf", { name: document.filename })}
                            onClick={() => setOpen(open === document.id ? null : document.id)}
                          >
                            {t("documents.review")}
                          </button>
                        </td>
                      ) : null}
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p className="muted">{t("documents.none")}</p>
            )}
            {canReview && open ? <DocumentDetail documentId={open} applicationId={applicationId} /> : null}
          </>
        )}
      </QueryState>
    </section>
  );
}
