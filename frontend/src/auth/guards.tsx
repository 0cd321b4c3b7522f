// Route guards: pages for signed-in people, and pages for people not signed in.

import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router";

import { useAuth } from "./AuthProvider";

/** Signed-in pages; an MFA-enrolment-only session may only reach the security page. */
export function RequireAuth({
  children,
  allowEnrollmentOnly = false,
}: {
  children: ReactNode;
  allowEnrollmentOnly?: boolean;
}) {
  const { session } = useAuth();
  const location = useLocation();
  if (session === null) {
    return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  }
  if (session.enrollmentOnly && !allowEnrollmentOnly) return <Navigate to="/security" replace />;
  return <>{children}</>;
}

/**
 * Sign-in and sign-up: somebody signed in goes on to where they were headed (the page that sent
 * them to sign in), or the start page; an enrolment-only session goes to set up MFA.
 */
export function RedirectIfSignedIn({ children }: { children: ReactNode }) {
  const { session } = useAuth();
  const location = useLocation();
  if (session === null) return <>{children}</>;
  const from = (location.state as { from?: unknown } | null)?.from;
  const next = typeof from === "string" && from.startsWith("/") ? from : "/";
  return <Navigate to={session.enrollmentOnly ? "/security" : next} replace />;
}
