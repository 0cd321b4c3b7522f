// Client-side checks of form input, before a request is sent. The server checks again and has the
// last word (its answers are shown on the same fields); these only save a round trip.
// Each check returns the i18n key (and values) of the problem, or null.

export interface Problem {
  key:
    | "validation.required"
    | "validation.email"
    | "validation.passwordLength"
    | "validation.passwordTooLong"
    | "validation.otp"
    | "validation.totp"
    | "validation.hours";
  values?: Record<string, number>;
}

export type Problems<F extends string> = Partial<Record<F, Problem>>;

// The server's default policy (OMNIFIN_PASSWORD_MIN_LENGTH); a stricter server setting is reported
// by the server on the same field.
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 4096;

// Deliberately loose: one @, something on each side, a dot in the domain. The server decides.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const TOTP = /^\d{6}$/;
// A recovery code: letters, digits and dashes (the server's format may change; it checks).
const RECOVERY_CODE = /^[A-Za-z0-9-]{8,64}$/;

export function required(value: string): Problem | null {
  return value.trim() === "" ? { key: "validation.required" } : null;
}

export function email(value: string): Problem | null {
  return required(value) ?? (EMAIL.test(value.trim()) ? null : { key: "validation.email" });
}

export function newPassword(value: string, minLength = PASSWORD_MIN_LENGTH): Problem | null {
  if (value === "") return { key: "validation.required" };
  // Count characters as people see them (an emoji is one), like the server's len().
  const length = [...value].length;
  if (length < minLength) return { key: "validation.passwordLength", values: { min: minLength } };
  if (length > PASSWORD_MAX_LENGTH) {
    return { key: "validation.passwordTooLong", values: { max: PASSWORD_MAX_LENGTH } };
  }
  return null;
}

/** A sign-in second factor: a 6-digit TOTP code or a recovery code. */
export function otp(value: string): Problem | null {
  const code = value.replace(/\s/g, "");
  if (code === "") return { key: "validation.required" };
  return TOTP.test(code) || RECOVERY_CODE.test(code) ? null : { key: "validation.otp" };
}

/** A 6-digit code from the authenticator app (enrolment and confirmation take only these). */
export function totp(value: string): Problem | null {
  const code = value.replace(/\s/g, "");
  if (code === "") return { key: "validation.required" };
  return TOTP.test(code) ? null : { key: "validation.totp" };
}

/** Optional whole hours in 1..720 (an invitation's lifetime). */
export function optionalHours(value: string): Problem | null {
  const text = value.trim();
  if (text === "") return null;
  const hours = Number(text);
  return /^\d+$/.test(text) && hours >= 1 && hours <= 720 ? null : { key: "validation.hours" };
}

/** Run a check per field; the problems found (an empty object when the form is fine). */
export function validate<F extends string>(
  checks: Record<F, () => Problem | null>,
): Problems<F> {
  const problems: Problems<F> = {};
  for (const field of Object.keys(checks) as F[]) {
    const problem = checks[field]();
    if (problem) problems[field] = problem;
  }
  return problems;
}

export function hasProblems<F extends string>(problems: Problems<F>): boolean {
  return Object.keys(problems).length > 0;
}
