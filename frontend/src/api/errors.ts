// Failures of API calls as one Error class, read from the API's envelope
// {"error": "<ClassName>", "detail": ..., "request_id": ...}.

export interface FieldProblem {
  loc: (string | number)[];
  msg: string;
  type?: string;
}

export class ApiError extends Error {
  readonly status: number; // 0 when the request never got an answer
  override readonly name = "ApiError";
  readonly code: string; // the envelope's `error`: InvalidCredentials, OtpRequired, NotFound, ...
  readonly detail: unknown;
  readonly requestId: string | null;
  readonly retryAfterSeconds: number | null;

  constructor(options: {
    status: number;
    code: string;
    detail: unknown;
    requestId?: string | null;
    retryAfterSeconds?: number | null;
  }) {
    super(typeof options.detail === "string" ? options.detail : options.code);
    this.status = options.status;
    this.code = options.code;
    this.detail = options.detail;
    this.requestId = options.requestId ?? null;
    this.retryAfterSeconds = options.retryAfterSeconds ?? null;
  }

  /** Validation problems by field name (the last part of `loc`), first message of each. */
  fieldErrors(): Record<string, string> {
    const found: Record<string, string> = {};
    if (!Array.isArray(this.detail)) return found;
    for (const item of this.detail as unknown[]) {
      if (typeof item !== "object" || item === null) continue;
      const problem = item as Partial<FieldProblem>;
      const field = problem.loc?.[problem.loc.length - 1];
      if (typeof field === "string" && typeof problem.msg === "string" && !(field in found)) {
        found[field] = problem.msg;
      }
    }
    return found;
  }

  /** Something a person can read: the server's sentence, or the joined validation messages. */
  readableDetail(): string {
    if (typeof this.detail === "string") return this.detail;
    const messages = Object.values(this.fieldErrors());
    return messages.length > 0 ? messages.join(" ") : this.code;
  }
}

export const NETWORK_ERROR = "NetworkError";

/** Build an ApiError from a response and its (already parsed) body. */
export function apiErrorFrom(response: Response, body: unknown): ApiError {
  const envelope =
    typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  const retryAfter = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  return new ApiError({
    status: response.status,
    code: typeof envelope.error === "string" ? envelope.error : `HTTP${response.status}`,
    detail: envelope.detail ?? response.statusText,
    requestId:
      typeof envelope.request_id === "string"
        ? envelope.request_id
        : response.headers.get("X-Request-ID"),
    retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : null,
  });
}
