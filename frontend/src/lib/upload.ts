// File uploads with progress: fetch() cannot report upload progress, XMLHttpRequest can. The file
// goes as multipart/form-data (the fields first, so the server can refuse before the bytes), with
// the tab's bearer token; failures become the same ApiError as every other call.

import { ApiError, NETWORK_ERROR, apiErrorFrom } from "../api/errors";
import { getSession } from "../auth/session";

export interface UploadOptions {
  url: string;
  file: File;
  fields?: Record<string, string | undefined>;
  onProgress?: (percent: number) => void;
  signal?: AbortSignal;
}

function headersOf(xhr: XMLHttpRequest): Headers {
  const headers = new Headers();
  for (const line of xhr.getAllResponseHeaders().trim().split(/[\r\n]+/)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return headers;
}

/** POST the file; resolves with the parsed JSON answer, rejects with an ApiError. */
export function uploadFile<T>({ url, file, fields = {}, onProgress, signal }: UploadOptions): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) {
      if (value !== undefined && value !== "") form.append(name, value);
    }
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    const token = getSession()?.accessToken;
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) {
        onProgress?.(Math.min(100, Math.round((event.loaded / event.total) * 100)));
      }
    };
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress?.(100);
        resolve(body as T);
        return;
      }
      const response = new Response(null, {
        status: xhr.status,
        statusText: xhr.statusText,
        headers: headersOf(xhr),
      });
      reject(apiErrorFrom(response, body));
    };
    const failed = (detail: string) => () =>
      reject(new ApiError({ status: 0, code: NETWORK_ERROR, detail }));
    xhr.onerror = failed("The upload could not reach the server.");
    xhr.onabort = failed("The upload was cancelled.");
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}
