import { describe, expect, it } from "vitest";

import { apiErrorFrom } from "./errors";

function answer(status: number, body: unknown, headers: Record<string, string> = {}) {
  return apiErrorFrom(new Response(null, { status, headers }), body);
}

describe("ApiError from the API's envelope", () => {
  it("keeps the error name, detail and request id", () => {
    const error = answer(401, {
      error: "OtpRequired",
      detail: "This account uses two-factor authentication.",
      request_id: "abc",
    });
    expect(error).toMatchObject({ status: 401, code: "OtpRequired", requestId: "abc" });
    expect(error.readableDetail()).toBe("This account uses two-factor authentication.");
  });

  it("maps validation problems to their fields", () => {
    const error = answer(422, {
      error: "InvalidInput",
      detail: [
        { loc: ["body", "password"], msg: "Use at least 12 characters.", type: "password_policy" },
        { loc: ["body", "password"], msg: "Too common.", type: "password_policy" },
        { loc: ["body", "email"], msg: "Not an email.", type: "value_error" },
      ],
      request_id: null,
    });
    expect(error.fieldErrors()).toEqual({
      password: "Use at least 12 characters.",
      email: "Not an email.",
    });
    expect(error.readableDetail()).toBe("Use at least 12 characters. Not an email.");
  });

  it("reads Retry-After and survives a body that is not an envelope", () => {
    const error = answer(429, "busy", { "Retry-After": "30", "X-Request-ID": "r9" });
    expect(error).toMatchObject({ code: "HTTP429", retryAfterSeconds: 30, requestId: "r9" });
    expect(error.fieldErrors()).toEqual({});
  });
});
