// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { ApiError } from "../api/errors";
import { setSession } from "../auth/session";
import { uploadFile } from "./upload";

/** A stand-in XMLHttpRequest that records the request and plays back an answer. */
class FakeXhr {
  static last: FakeXhr | null = null;
  static answer: { status: number; body: string; headers?: string } = { status: 201, body: "{}" };
  method = "";
  url = "";
  headers: Record<string, string> = {};
  body: FormData | null = null;
  status = 0;
  statusText = "";
  responseText = "";
  upload: { onprogress: ((event: ProgressEvent) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;

  constructor() {
    FakeXhr.last = this;
  }
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  getAllResponseHeaders() {
    return FakeXhr.answer.headers ?? "";
  }
  abort() {
    this.onabort?.();
  }
  send(body: FormData) {
    this.body = body;
    for (const loaded of [25, 100]) {
      this.upload.onprogress?.({ lengthComputable: true, loaded, total: 100 } as ProgressEvent);
    }
    this.status = FakeXhr.answer.status;
    this.responseText = FakeXhr.answer.body;
    this.onload?.();
  }
}

beforeEach(() => {
  vi.stubGlobal("XMLHttpRequest", FakeXhr);
  setSession({ accessToken: "tok", expiresAt: "2999-01-01T00:00:00Z", enrollmentOnly: false });
});
afterEach(() => {
  vi.unstubAllGlobals();
  setSession(null);
});

describe("uploadFile", () => {
  it("sends the fields before the file with the bearer token and reports progress", async () => {
    FakeXhr.answer = { status: 201, body: JSON.stringify({ id: "doc-1" }) };
    const progress: number[] = [];
    const file = new File(["%PDF-1.4"], "paystub.pdf", { type: "application/pdf" });
    const answer = await uploadFile<{ id: string }>({
      url: "/api/v1/documents",
      file,
      fields: { application_id: "app-1", document_type: undefined },
      onProgress: (percent) => progress.push(percent),
    });
    expect(answer).toEqual({ id: "doc-1" });
    expect(progress).toEqual([25, 100, 100]);
    const sent = FakeXhr.last;
    expect(sent?.method).toBe("POST");
    expect(sent?.headers.Authorization).toBe("Bearer tok");
    expect([...(sent?.body?.keys() ?? [])]).toEqual(["application_id", "file"]);
    expect((sent?.body?.get("file") as File).name).toBe("paystub.pdf");
  });

  it("turns a refusal into the API's error", async () => {
    FakeXhr.answer = {
      status: 415,
      body: JSON.stringify({ error: "UnsupportedMediaType", detail: "Not a PDF or image.", request_id: "r-1" }),
    };
    const file = new File(["hello"], "notes.txt", { type: "text/plain" });
    const failure = await uploadFile({ url: "/api/v1/documents", file }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiError);
    expect((failure as ApiError).code).toBe("UnsupportedMediaType");
    expect((failure as ApiError).status).toBe(415);
    expect((failure as ApiError).requestId).toBe("r-1");
  });
});
