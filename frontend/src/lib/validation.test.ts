import { describe, expect, it } from "vitest";

import * as check from "./validation";

describe("form checks", () => {
  it("requires a value", () => {
    expect(check.required("  ")).toEqual({ key: "validation.required" });
    expect(check.required("x")).toBeNull();
  });

  it("checks email addresses loosely (the server decides)", () => {
    expect(check.email("")).toEqual({ key: "validation.required" });
    expect(check.email("dana@example.com")).toBeNull();
    expect(check.email(" dana@example.com ")).toBeNull();
    for (const bad of ["dana", "dana@", "@example.com", "dana@example", "da na@example.com"]) {
      expect(check.email(bad)).toEqual({ key: "validation.email" });
    }
  });

  it("asks for a password at least as long as the server's policy", () => {
    expect(check.newPassword("")).toEqual({ key: "validation.required" });
    expect(check.newPassword("short")).toEqual({
      key: "validation.passwordLength",
      values: { min: 12 },
    });
    expect(check.newPassword("correct horse battery")).toBeNull();
    // Characters as a person counts them: eleven emoji are eleven characters, not 22 code units.
    expect(check.newPassword("🔒".repeat(11))).toMatchObject({ key: "validation.passwordLength" });
    expect(check.newPassword("x".repeat(4097))).toMatchObject({ key: "validation.passwordTooLong" });
  });

  it("takes a TOTP code or a recovery code as a second factor", () => {
    expect(check.otp("123456")).toBeNull();
    expect(check.otp("123 456")).toBeNull();
    expect(check.otp("k7m3p-x9q2w")).toBeNull();
    expect(check.otp("12")).toEqual({ key: "validation.otp" });
    expect(check.otp("")).toEqual({ key: "validation.required" });
  });

  it("takes only 6-digit codes when enrolling", () => {
    expect(check.totp("654321")).toBeNull();
    expect(check.totp("k7m3p-x9q2w")).toEqual({ key: "validation.totp" });
  });

  it("checks an optional invitation lifetime in hours", () => {
    expect(check.optionalHours("")).toBeNull();
    expect(check.optionalHours("72")).toBeNull();
    for (const bad of ["0", "721", "1.5", "-3", "soon"]) {
      expect(check.optionalHours(bad)).toEqual({ key: "validation.hours" });
    }
  });

  it("collects the problems of a whole form", () => {
    const problems = check.validate({
      email: () => check.email("nope"),
      password: () => check.newPassword("long enough passphrase"),
    });
    expect(problems).toEqual({ email: { key: "validation.email" } });
    expect(check.hasProblems(problems)).toBe(true);
    expect(check.hasProblems({})).toBe(false);
  });
});
