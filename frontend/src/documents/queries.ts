// Server state of the documents screens: an application's documents and completeness, one
// document with its extracted fields, uploads (with progress), review, and the file itself.

import { useQuery } from "@tanstack/react-query";

import { api, unwrap, type Schemas } from "../api/client";
import { ApiError, NETWORK_ERROR, apiErrorFrom } from "../api/errors";
import { getSession } from "../auth/session";
import { uploadFile } from "../lib/upload";

export type DocumentSummary = Schemas["DocumentSummary"];
export type DocumentType = Schemas["DocumentType"];
export type ApplicationDocuments = Schemas["ApplicationDocuments"];

export const documentKeys = {
  application: (id: string) => ["documents", "application", id] as const,
  one: (id: string) => ["documents", "one", id] as const,
};

export function useApplicationDocuments(applicationId: string) {
  return useQuery({
    queryKey: documentKeys.application(applicationId),
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/applications/{application_id}/documents", {
          params: { path: { application_id: applicationId } },
        }),
      ),
  });
}

export function useDocument(documentId: string | null) {
  return useQuery({
    queryKey: documentKeys.one(documentId ?? ""),
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/documents/{document_id}", {
          params: { path: { document_id: documentId ?? "" } },
        }),
      ),
    enabled: documentId !== null,
  });
}

/** Upload a file (to an application, or unattached for the chat); progress in percent. */
export function uploadDocument(
  file: File,
  options: { applicationId?: string; documentType?: DocumentType; onProgress?: (p: number) => void },
): Promise<DocumentRead> {
  return uploadFile<DocumentRead>({
    url: `${window.location.origin}/api/v1/documents`,
    file,
    fields: { application_id: options.applicationId, document_type: options.documentType },
    onProgress: options.onProgress,
  });
}

export function verifyDocument(documentId: string) {
  return unwrap(
    api.POST("/api/v1/documents/{document_id}/verify", {
      params: { path: { document_id: documentId } },
    }),
  );
}

export function rejectDocument(documentId: string, reason: string) {
  return unwrap(
    api.POST("/api/v1/documents/{document_id}/reject", {
      params: { path: { document_id: documentId } },
      body: { reason },
    }),
  );
}

/** The file's bytes (the download needs the bearer token, so no plain link can fetch it). */
export async function fetchDocumentFile(documentId: string, signal?: AbortSignal): Promise<Blob> {
  const headers = new Headers();
  const token = getSession()?.accessToken;
  if (token) headers.set("Authorization", `Bearer ${token}`);
  let response: Response;
  try {
    response = await fetch(
      `${window.location.origin}/api/v1/documents/${encodeURIComponent(documentId)}/content`,
      { headers, signal, cache: "no-store" },
    );
  } catch (cause) {
    throw new ApiError({ status: 0, code: NETWORK_ERROR, detail: String(cause) });
  }
  if (!response.ok) throw apiErrorFrom(response, await response.json().catch(() => null));
  return response.blob();
}

/** A document with its fields, as the client reads it (openapi-fetch widens tuples to arrays). */
export type DocumentRead = Awaited<ReturnType<typeof verifyDocument>>;
