// The bearer token of this browser tab.
//
// Kept in memory and mirrored to sessionStorage. sessionStorage survives a reload of the tab (so a
// refresh does not sign the person out) but is not shared with other tabs and is wiped when the tab
// closes, which keeps an opaque bearer token's life on this machine short. localStorage would keep
// it on disk indefinitely and hand it to every tab; a cookie would need CSRF defences the API (which
// takes bearer tokens only) does not have. Script injection could still read it either way: the
// API's CSP (script-src 'self', no inline scripts) is what guards against that.

export interface StoredSession {
  accessToken: string;
  expiresAt: string; // ISO 8601, from the API
  // The token can only enrol MFA (the organization requires it for this role).
  enrollmentOnly: boolean;
}

const STORAGE_KEY = "omnifin.session";

type Listener = (session: StoredSession | null) => void;

let current: StoredSession | null = null;
let endedUnasked = false; // the session ended without the person signing out
let expiryTimer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<Listener>();

function storage(): Storage | null {
  try {
    return typeof sessionStorage === "undefined" ? null : sessionStorage;
  } catch {
    return null; // storage disabled by the browser: memory only
  }
}

function isLive(session: StoredSession, now = Date.now()): boolean {
  const expires = Date.parse(session.expiresAt);
  return Number.isFinite(expires) && expires > now;
}

function scheduleExpiry(session: StoredSession | null): void {
  clearTimeout(expiryTimer);
  if (session === null) return;
  // setTimeout's delay is a signed 32-bit number of milliseconds.
  const delay = Math.min(Date.parse(session.expiresAt) - Date.now(), 2_147_483_647);
  expiryTimer = setTimeout(() => endSession(), Math.max(delay, 0));
}

export function getSession(): StoredSession | null {
  return current;
}

export function setSession(session: StoredSession | null): void {
  current = session !== null && isLive(session) ? session : null;
  if (current !== null) endedUnasked = false;
  const store = storage();
  if (current === null) store?.removeItem(STORAGE_KEY);
  else store?.setItem(STORAGE_KEY, JSON.stringify(current));
  scheduleExpiry(current);
  listeners.forEach((listener) => listener(current));
}

/** The session ended by itself: expired, or refused by the server (revoked, signed out elsewhere). */
export function endSession(): void {
  if (current !== null) endedUnasked = true;
  setSession(null);
}

/** Whether the last session ended by itself (until the next sign-in), for the sign-in page. */
export function sessionEndedByItself(): boolean {
  return endedUnasked;
}

export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Read the tab's stored session once, at start-up (dropping it when expired or malformed). */
export function restoreSession(): StoredSession | null {
  const raw = storage()?.getItem(STORAGE_KEY);
  let restored: StoredSession | null = null;
  if (raw) {
    try {
      const parsed = JSON.parse(raw) as Partial<StoredSession>;
      if (typeof parsed.accessToken === "string" && typeof parsed.expiresAt === "string") {
        restored = {
          accessToken: parsed.accessToken,
          expiresAt: parsed.expiresAt,
          enrollmentOnly: parsed.enrollmentOnly === true,
        };
      }
    } catch {
      restored = null;
    }
  }
  setSession(restored);
  return current;
}
