// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";

import {
  endSession,
  getSession,
  restoreSession,
  sessionEndedByItself,
  setSession,
  subscribe,
} from "./session";

const LIVE = { accessToken: "t1", expiresAt: "2999-01-01T00:00:00Z", enrollmentOnly: false };

afterEach(() => {
  setSession(null);
  vi.useRealTimers();
});

describe("the tab's session", () => {
  it("survives a reload of the tab through sessionStorage, not localStorage", () => {
    setSession(LIVE);
    expect(JSON.parse(sessionStorage.getItem("omnifin.session")!)).toEqual(LIVE);
    expect(localStorage.getItem("omnifin.session")).toBeNull();
    expect(restoreSession()).toEqual(LIVE);
  });

  it("drops an expired or malformed stored session", () => {
    sessionStorage.setItem(
      "omnifin.session",
      JSON.stringify({ ...LIVE, expiresAt: "2000-01-01T00:00:00Z" }),
    );
    expect(restoreSession()).toBeNull();
    sessionStorage.setItem("omnifin.session", "{not json");
    expect(restoreSession()).toBeNull();
    expect(sessionStorage.getItem("omnifin.session")).toBeNull();
  });

  it("ends itself when the token expires, and says so until the next sign-in", () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2030-01-01T00:00:00Z"));
    const seen: unknown[] = [];
    const unsubscribe = subscribe((session) => seen.push(session));
    setSession({ ...LIVE, expiresAt: "2030-01-01T00:00:05Z" });
    vi.advanceTimersByTime(5_000);
    expect(getSession()).toBeNull();
    expect(seen).toHaveLength(2);
    expect(sessionEndedByItself()).toBe(true);
    setSession(LIVE);
    expect(sessionEndedByItself()).toBe(false);
    unsubscribe();
  });

  it("signing out is not a session that ended by itself", () => {
    setSession(LIVE);
    setSession(null);
    expect(sessionEndedByItself()).toBe(false);
    endSession(); // nothing to end
    expect(sessionEndedByItself()).toBe(false);
  });
});
