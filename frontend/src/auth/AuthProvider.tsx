// Who is signed in, for React: the tab's session (auth/session.ts) and the signed-in person's
// profile (GET /api/v1/me), with sign-in and sign-out.

import { useQuery, useQueryClient } from "@tanstack/react-query";
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useSyncExternalStore,
  type ReactNode,
} from "react";

import { api, unwrap, type Schemas } from "../api/client";
import { getSession, setSession, subscribe, type StoredSession } from "./session";

export type Me = Schemas["Me"];
export type TokenResponse = Schemas["TokenResponse"];

interface AuthContextValue {
  session: StoredSession | null;
  signIn: (token: TokenResponse) => void;
  /** Forget the session; `revoke: false` skips the server call (the token is already dead). */
  signOut: (options?: { revoke?: boolean }) => Promise<void>;
}

const AuthContext = createContext<AuthContextValue | null>(null);

export const ME_QUERY_KEY = ["me"] as const;

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const session = useSyncExternalStore(subscribe, getSession, getSession);

  useEffect(() => {
    // Whatever was cached belonged to the person who just left.
    if (session === null) queryClient.clear();
  }, [session, queryClient]);

  const signIn = useCallback(
    (token: TokenResponse) => {
      queryClient.clear();
      setSession({
        accessToken: token.access_token,
        expiresAt: token.expires_at,
        enrollmentOnly: token.mfa_enrollment_required ?? false,
      });
    },
    [queryClient],
  );

  const signOut = useCallback(async ({ revoke = true }: { revoke?: boolean } = {}) => {
    if (revoke && getSession() !== null) {
      // Revoke the token on the server; the tab forgets it whatever the answer.
      await unwrap(api.POST("/api/v1/auth/logout")).catch(() => undefined);
    }
    setSession(null);
  }, []);

  const value = useMemo(() => ({ session, signIn, signOut }), [session, signIn, signOut]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (value === null) throw new Error("useAuth() outside <AuthProvider>");
  return value;
}

/** The signed-in person's profile; disabled (no request) when nobody is signed in. */
export function useMe() {
  const { session } = useAuth();
  return useQuery({
    queryKey: ME_QUERY_KEY,
    queryFn: () => unwrap(api.GET("/api/v1/me")),
    enabled: session !== null,
    staleTime: 60_000,
  });
}

export function hasScope(me: Me | undefined, scope: string): boolean {
  return me?.scopes.includes(scope) ?? false;
}
