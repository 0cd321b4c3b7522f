// @vitest-environment jsdom
import "../i18n";

import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { setSession } from "../auth/session";
import { DocumentsSection } from "./DocumentsSection";

// jsdom cannot draw: the PDF preview is a stand-in that names what it was given.
vi.mock("./PdfPreview", () => ({
  PdfPreview: ({ blob, title }: { blob: Blob; title: string }) => (
    <p role="img" aria-label={title}>{`pdf of ${blob.size} bytes`}</p>
  ),
}));

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

const DOC = {
  id: "doc-1",
  application_id: "app-1",
  filename: "paystub.pdf",
  media_type: "application/pdf",
  size_bytes: 1234,
  sha256: "x",
  document_type: "pay_stub",
  declared_type: "pay_stub",
  suggested_type: "pay_stub",
  type_confidence: 0.98,
  status: "needs_review",
  status_reason: null,
  review_reasons: ["Gross pay differs from the stated income by 12%"],
  page_count: 1,
  uploaded_by_user_id: "b-1",
  reviewed_by_user_id: null,
  reviewed_at: null,
  created_at: "2026-01-02T10:00:00Z",
  updated_at: "2026-01-02T10:00:00Z",
};

function completeness(received: string[]) {
  return {
    completeness: {
      application_id: "app-1",
      product_type: "personal",
      requirements: [
        { name: "identity", label: "Government-issued photo ID", any_of: ["identification"], received: [], verified: [], satisfied: false },
        { name: "income", label: "Recent proof of income (pay stub or W-2)", any_of: ["pay_stub", "w2"], received, verified: [], satisfied: false },
      ],
      missing: received.length ? ["identity"] : ["identity", "income"],
      unverified: received.length ? ["income"] : [],
      complete: false,
    },
    documents: received.length ? [DOC] : [],
  };
}

/** A stand-in XMLHttpRequest for the upload: reports progress, answers 201. */
class FakeXhr {
  static sent: FormData | null = null;
  status = 0;
  statusText = "";
  responseText = "";
  upload: { onprogress: ((event: ProgressEvent) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  open() {}
  setRequestHeader() {}
  getAllResponseHeaders() {
    return "";
  }
  abort() {}
  send(body: FormData) {
    FakeXhr.sent = body;
    this.upload.onprogress?.({ lengthComputable: true, loaded: 50, total: 100 } as ProgressEvent);
    setTimeout(() => {
      this.status = 201;
      this.responseText = JSON.stringify({ ...DOC, status: "uploaded", duplicate: false, fields: [], signals: [], events: [] });
      this.onload?.();
    }, 20);
  }
}

beforeEach(() => {
  setSession({ accessToken: "tok", expiresAt: "2999-01-01T00:00:00Z", enrollmentOnly: false });
  vi.stubGlobal("XMLHttpRequest", FakeXhr);
  vi.stubGlobal("URL", Object.assign(URL, { createObjectURL: () => "blob:preview", revokeObjectURL: () => {} }));
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  setSession(null);
});

function renderSection(props: { canUpload: boolean; canReview: boolean }) {
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <DocumentsSection applicationId="app-1" {...props} />
    </QueryClientProvider>,
  );
}

describe("<DocumentsSection>", () => {
  it("lets the borrower upload a missing document, with progress", async () => {
    let uploaded = false;
    vi.stubGlobal(
      "fetch",
      vi.fn(async (input: RequestInfo | URL) => {
        const path = new URL(new Request(input).url, "http://localhost").pathname;
        if (path === "/api/v1/applications/app-1/documents") return json(200, completeness(uploaded ? ["doc-1"] : []));
        return json(404, { error: "NotFound", detail: "x" });
      }),
    );
    const user = userEvent.setup();
    renderSection({ canUpload: true, canReview: false });
    const income = (
      await screen.findByText(/Recent proof of income/, { selector: ".requirement__label" })
    ).closest("li") as HTMLElement;
    expect(within(income).getByText("Missing")).toBeTruthy();
    const input = within(income).getByLabelText("Upload: Recent proof of income (pay stub or W-2)");
    uploaded = true;
    await user.upload(input as HTMLInputElement, new File(["%PDF-1.4"], "paystub.pdf", { type: "application/pdf" }));
    expect(await screen.findByText("Uploading: 50%")).toBeTruthy();
    expect(await screen.findByText("paystub.pdf was uploaded.")).toBeTruthy();
    expect(FakeXhr.sent?.get("application_id")).toBe("app-1");
    expect(FakeXhr.sent?.get("document_type")).toBe("pay_stub");
    expect(await within(income).findByText("Received")).toBeTruthy();
    expect(screen.queryByRole("button", { name: /Review/ })).toBeNull();
  });

  it("uploads a file dropped on the control the same way, with progress", async () => {
    let uploaded = false;
    vi.stubGlobal(
      "fetch",
      vi.fn(async (input: RequestInfo | URL) => {
        const path = new URL(new Request(input).url, "http://localhost").pathname;
        if (path === "/api/v1/applications/app-1/documents") return json(200, completeness(uploaded ? ["doc-1"] : []));
        return json(404, { error: "NotFound", detail: "x" });
      }),
    );
    renderSection({ canUpload: true, canReview: false });
    const income = (
      await screen.findByText(/Recent proof of income/, { selector: ".requirement__label" })
    ).closest("li") as HTMLElement;
    const zone = within(income).getByText("or drop the file here").closest(".requirement__upload") as HTMLElement;
    const file = new File(["%PDF-1.4"], "dropped.pdf", { type: "application/pdf" });
    // Dragging something that is not a file (text) is not taken.
    fireEvent.dragOver(zone, { dataTransfer: { types: ["text/plain"], files: [], dropEffect: "none" } });
    expect(zone.className).not.toContain("requirement__upload--dragging");
    fireEvent.dragOver(zone, { dataTransfer: { types: ["Files"], files: [file], dropEffect: "none" } });
    expect(zone.className).toContain("requirement__upload--dragging");
    uploaded = true;
    fireEvent.drop(zone, { dataTransfer: { types: ["Files"], files: [file], dropEffect: "copy" } });
    expect(zone.className).not.toContain("requirement__upload--dragging");
    expect(await screen.findByText("Uploading: 50%")).toBeTruthy();
    expect(await screen.findByText(/was uploaded\./)).toBeTruthy(); // the name the server answers with
    expect((FakeXhr.sent?.get("file") as File | null)?.name).toBe("dropped.pdf");
    expect(FakeXhr.sent?.get("application_id")).toBe("app-1");
    expect(FakeXhr.sent?.get("document_type")).toBe("pay_stub");
    expect(await within(income).findByText("Received")).toBeTruthy();
  });

  it("shows a broker the fields beside the file, verifies, and asks a reason to reject", async () => {
    const calls: { method: string; path: string; body: unknown }[] = [];
    let status = "needs_review";
    vi.stubGlobal(
      "fetch",
      vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
        const request = new Request(input, init);
        const path = new URL(request.url, "http://localhost").pathname;
        const text = await request.text();
        calls.push({ method: request.method, path, body: text ? JSON.parse(text) : undefined });
        if (path === "/api/v1/applications/app-1/documents") return json(200, completeness(["doc-1"]));
        if (path === "/api/v1/documents/doc-1/content") return new Response("%PDF-1.4", { status: 200 });
        if (path === "/api/v1/documents/doc-1/verify") {
          status = "verified";
          return json(200, { ...DOC, status });
        }
        if (path === "/api/v1/documents/doc-1") {
          return json(200, {
            ...DOC,
            status,
            fields: [
              { name: "gross_pay", value: "4,120.00", confidence: 0.97, span: [10, 18], sensitive: false },
              { name: "employer_name", value: "Acme Corp", confidence: 0.9, span: null, sensitive: false },
            ],
            signals: [{ code: "income_mismatch", field: "gross_pay", expected: "7916.67", actual: "4120.00", severity: "medium", description: "Gross pay is below the stated income" }],
            events: [],
          });
        }
        return json(404, { error: "NotFound", detail: "x" });
      }),
    );
    const user = userEvent.setup();
    renderSection({ canUpload: false, canReview: true });
    await user.click(await screen.findByRole("button", { name: "Review paystub.pdf" }));
    const detail = await screen.findByRole("region", { name: "Review paystub.pdf" });
    const fields = await within(detail).findByRole("table", { name: "Fields read from the document" });
    expect(within(fields).getByText("gross pay")).toBeTruthy();
    expect(within(fields).getByText("97%")).toBeTruthy();
    expect(within(detail).getByText(/Gross pay is below the stated income/)).toBeTruthy();
    expect(await within(detail).findByRole("img", { name: "Preview of paystub.pdf" })).toBeTruthy();

    // Rejecting needs a reason; nothing is sent without one.
    await user.click(within(detail).getByRole("button", { name: "Reject" }));
    expect(within(detail).getByText(/at least 3 characters/)).toBeTruthy();
    expect(calls.some((call) => call.path.endsWith("/reject"))).toBe(false);

    await user.click(within(detail).getByRole("button", { name: "Verify" }));
    expect(await within(detail).findByText("Verified.")).toBeTruthy();
    expect(calls.find((call) => call.path.endsWith("/verify"))?.method).toBe("POST");
  });

  it("sends the reason when rejecting", async () => {
    const bodies: unknown[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
        const request = new Request(input, init);
        const path = new URL(request.url, "http://localhost").pathname;
        if (path === "/api/v1/applications/app-1/documents") return json(200, completeness(["doc-1"]));
        if (path === "/api/v1/documents/doc-1/content") return new Response("x", { status: 200 });
        if (path === "/api/v1/documents/doc-1/reject") {
          bodies.push(JSON.parse(await request.text()));
          return json(200, { ...DOC, status: "rejected", status_reason: "Blurry" });
        }
        if (path === "/api/v1/documents/doc-1") return json(200, { ...DOC, fields: [], signals: [], events: [] });
        return json(404, { error: "NotFound", detail: "x" });
      }),
    );
    const user = userEvent.setup();
    renderSection({ canUpload: false, canReview: true });
    await user.click(await screen.findByRole("button", { name: "Review paystub.pdf" }));
    const detail = await screen.findByRole("region", { name: "Review paystub.pdf" });
    await user.type(within(detail).getByLabelText("Reason for rejecting"), "The pages are blurry");
    await user.click(within(detail).getByRole("button", { name: "Reject" }));
    await vi.waitFor(() => expect(bodies).toEqual([{ reason: "The pages are blurry" }]));
  });
});
